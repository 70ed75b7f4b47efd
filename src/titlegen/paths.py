"""Where titlegen keeps models and training runs, in gpt-2-simple's layout, and the one rule for
their names."""

from __future__ import annotations

import re
from pathlib import Path

from titlegen.errors import TitlegenError

MODEL_DIR = Path("models")  # base models: models/<name>/, as gpt-2-simple looks for them
CHECKPOINT_DIR = Path("checkpoint")  # training runs: checkpoint/<run_name>/

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def folder_name(name: str, option: str) -> str:
    """``name`` if it is one plain folder name; never a path that leaves its parent folder."""
    if not _NAME.fullmatch(name) or set(name) == {"."}:
        raise TitlegenError(
            f"{option} {name!r} is not a folder name: use letters, digits, '.', '_' and '-'."
        )
    return name
