"""``titlegen generate --novel`` and ``--unique``: keep titles that are new.

Titles are compared after :func:`titlegen.dataset.normalize` (case, whitespace and punctuation
do not count), against the titles a run was trained on (its ``titles.csv``, both sides of the
validation split: a held-out title is a real title too) and against the output so far.
"""

from __future__ import annotations

from pathlib import Path

from titlegen import dataset
from titlegen.errors import TitlegenError
from titlegen.units import plural


def known_titles(run_folder: Path) -> set[str]:
    """The normalised titles of the dataset a run was trained on."""
    from titlegen.runs import Run, RunError

    try:
        return {dataset.normalize(row.title) for row, _ in Run(run_folder).titles()}
    except RunError as error:
        raise TitlegenError(
            f"--novel compares with the titles a run was trained on, and {error}"
        ) from error


class Filter:
    """Admits a title unless it copies a known title (``known``) or, with ``unique``, one
    admitted before; counts what it dropped."""

    def __init__(self, known: set[str] | None = None, *, unique: bool = False) -> None:
        self.known = known or set()
        self.unique = unique
        self.seen: set[str] = set()
        self.copies = 0  # dropped: in the training data
        self.repeats = 0  # dropped: already in the output

    def admit(self, title: str) -> bool:
        key = dataset.normalize(title)
        if key in self.known:
            self.copies += 1
            return False
        if self.unique and key in self.seen:
            self.repeats += 1
            return False
        self.seen.add(key)
        return True

    def summary(self) -> str:
        """What was dropped, as a sentence."""
        parts = []
        if self.copies:
            parts.append(f"{plural(self.copies, 'copy', 'copies')} of training titles")
        if self.repeats:
            parts.append(plural(self.repeats, "repeat"))
        return f"Dropped {' and '.join(parts)}." if parts else "Dropped none: every title was new."
