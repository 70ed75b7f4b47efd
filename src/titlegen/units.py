"""Numbers for people: byte sizes as they write them (``50GB``, ``1.5TiB``, ``200000000``) and
counts with their noun (``1 title``, ``1,234 titles``)."""

from __future__ import annotations

import re

from titlegen.errors import TitlegenError

_UNITS = {"": 1, "b": 1}
for _power, _letter in enumerate("kmgtp", start=1):
    _UNITS[_letter] = _UNITS[_letter + "b"] = 1000**_power
    _UNITS[_letter + "ib"] = 1024**_power
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*")


def parse_size(text: str) -> int:
    """``"50GB"`` -> ``50_000_000_000``; ``"1KiB"`` -> ``1024``; a bare number is bytes."""
    match = _SIZE.fullmatch(text.lower())
    if not match or match.group(2) not in _UNITS:
        raise TitlegenError(f"{text!r} is not a size: write it like 50GB, 1.5TiB or 2000000.")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def format_size(nbytes: float) -> str:
    """``1536`` -> ``"1.5 KiB"``; ``50 * 2**30`` -> ``"50 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(nbytes) < 1024 or unit == "TiB":
            number = f"{nbytes:.0f}" if unit == "B" else f"{nbytes:.2f}".rstrip("0").rstrip(".")
            return f"{number} {unit}"
        nbytes /= 1024
    raise AssertionError("unreachable")


def plural(count: int, word: str, many: str | None = None) -> str:
    """``plural(1, "title")`` -> ``"1 title"``; ``plural(1234, "title")`` -> ``"1,234 titles"``.

    ``many`` is the plural when adding an ``s`` is wrong: ``plural(2, "query", "queries")``.
    """
    return f"{count:,} {word if count == 1 else many or word + 's'}"
