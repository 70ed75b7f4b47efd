"""The title dataset: a CSV with the header ``subreddit,title``, one post title a row.

Both fetch paths (BigQuery and local dumps) select rows with SQL and then pass them through
:func:`tidy` here, so the cleaning rules live in one place and the two paths agree.
"""

from __future__ import annotations

import csv
import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from titlegen.atomic import atomic_write
from titlegen.errors import TitlegenError

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["subreddit", "title"]
START = "<|startoftext|>"  # gpt-2-simple's document markers, encoded as ordinary text
END = "<|endoftext|>"
# A conditioned document is <|startoftext|>NAME TITLE<|endoftext|>: the subreddit is the first
# word after the start marker. Unambiguous, since Reddit names are letters, digits and _ (no
# spaces), and learnable by a small model: GPT-2's tokenizer joins the space to the title's
# first word, so the name's last token sits right before the title. A marker between them
# (<|title|>) was tried: a 2-layer model trained 1,000 steps ignored the subreddit, the same
# model with the space followed it after 300 steps (README, "Subreddit conditioning").
SUBREDDIT_END = " "
SUBREDDIT_NAME = re.compile(r"[A-Za-z0-9_]{1,50}")  # Reddit's rule, generously long
MARKERS = (START, END)  # taken out of title text, so no title can end or start a document
PLACEHOLDERS = frozenset({"", "[deleted]", "[removed]"})  # what Reddit leaves of a gone post

# \s in Python's re is Unicode-aware: it covers newlines, tabs and no-break spaces.
_WHITESPACE = re.compile(r"\s+")
_PUNCTUATION = re.compile(r"[^\w\s]|_")


@dataclass(frozen=True)
class Row:
    subreddit: str | None  # None for a text file's lines
    title: str


def clean_title(title: str) -> str:
    """Undo Reddit's HTML escaping once, drop U+FFFD and collapse every whitespace run."""
    title = html.unescape(title).replace("\ufffd", "")
    return _WHITESPACE.sub(" ", title).strip()


def tidy(rows: pd.DataFrame) -> pd.DataFrame:
    """Clean titles, drop placeholders and repeats, sort by subreddit then score (best first).

    ``rows`` has ``subreddit`` and ``title`` columns and, usually, ``score``. Of a repeated
    (subreddit, title) pair the best-scoring row is kept.
    """
    rows = rows[rows["title"].notna() & rows["subreddit"].notna()]
    rows = rows.assign(title=rows["title"].astype(str).map(clean_title))
    rows = rows[~rows["title"].isin(PLACEHOLDERS)]
    keys = ["subreddit", "score", "title"] if "score" in rows else ["subreddit"]
    ascending = [True, False, True][: len(keys)]
    rows = rows.sort_values(keys, ascending=ascending, kind="stable", na_position="last")
    rows = rows.drop_duplicates(COLUMNS, keep="first")
    return rows[COLUMNS].reset_index(drop=True)


def write_dataset(rows: pd.DataFrame, path: Path) -> None:
    """Write ``rows`` (already tidied) as the CSV dataset, atomically."""
    with atomic_write(path, "w", encoding="utf-8", newline="") as out:
        rows[COLUMNS].to_csv(out, index=False, lineterminator="\n")


def read_rows(path: Path) -> list[Row]:
    """The rows of a dataset CSV (its ``title`` and, if present, ``subreddit`` columns, by
    name), or the lines of a text file as titles without a subreddit.

    gpt-2-simple reads column 0 of a CSV, which in titlegen's CSV is the subreddit; reading the
    columns by name avoids training on subreddit names as titles.
    """
    try:
        with path.open(encoding="utf-8", newline="") as f:
            if path.suffix.lower() == ".csv":
                reader = csv.DictReader(f)
                fields = reader.fieldnames or []
                if "title" not in fields:
                    found = ", ".join(fields) or "no header"
                    raise TitlegenError(f"{path} has no title column (found: {found}).")
                named = "subreddit" in fields
                rows = [Row(r["subreddit"] or None if named else None, r["title"]) for r in reader]
            else:
                rows = [Row(None, line) for line in f.read().splitlines()]
    except FileNotFoundError as error:
        raise TitlegenError(f"{path} does not exist: make one with titlegen fetch.") from error
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise TitlegenError(f"Cannot read {path}: {error}.") from error
    rows = [Row(r.subreddit, r.title.strip()) for r in rows if r.title and r.title.strip()]
    if not rows:
        raise TitlegenError(f"{path} holds no titles.")
    return rows


def read_titles(path: Path) -> list[str]:
    """The titles of a dataset CSV or the lines of a text file (see :func:`read_rows`)."""
    return [row.title for row in read_rows(path)]


def conditionable(rows: list[Row]) -> bool:
    """Whether every row names its subreddit, so training can condition on it."""
    return all(row.subreddit for row in rows)


def subreddit_counts(rows: list[Row]) -> dict[str, int]:
    """Titles per subreddit, by name."""
    counts: dict[str, int] = {}
    for row in rows:
        if row.subreddit:
            counts[row.subreddit] = counts.get(row.subreddit, 0) + 1
    return dict(sorted(counts.items()))


def check_subreddit_names(rows: list[Row], path: Path) -> None:
    """Conditioning needs Reddit-style names: the first space ends the name."""
    for row in rows:
        if row.subreddit and not SUBREDDIT_NAME.fullmatch(row.subreddit):
            raise TitlegenError(
                f"{path} names a subreddit {row.subreddit!r}, but names are letters, digits "
                "and _ only: fix the column, or train with --no-condition."
            )


def documents(rows: list[Row], *, condition: bool = False) -> list[str]:
    """Each title as one training document between gpt-2-simple's start and end markers;
    with ``condition``, its subreddit first: ``<|startoftext|>aww My dog<|endoftext|>``."""
    docs = []
    for row in rows:
        title = _unmarked(row.title)
        head = f"{row.subreddit}{SUBREDDIT_END}" if condition else ""
        docs.append(f"{START}{head}{title}{END}\n")
    return docs


def frame(rows: list[Row], *, kind: str, condition: bool) -> list[str]:
    """The documents a run trains on, and is evaluated and encoded with: for a title dataset
    each title between the markers (after its subreddit, with ``condition``); for a text file,
    its lines as they are."""
    if kind == "text":  # a text file may be prose, not titles: no markers
        return [row.title + "\n" for row in rows]
    return documents(rows, condition=condition)


def _unmarked(title: str) -> str:
    """The title without the markers' text, so no title can end or start a document."""
    for marker in MARKERS:
        title = title.replace(marker, " ")
    return _WHITESPACE.sub(" ", title).strip()


def normalize(title: str) -> str:
    """A title for comparison: case folded, punctuation dropped, whitespace collapsed
    ("TIL: cats  sleep!" and "til cats sleep" are the same title)."""
    return _WHITESPACE.sub(" ", _PUNCTUATION.sub(" ", title.casefold())).strip()


def split(rows: list[Row], fraction: float, seed: int | None) -> tuple[list[Row], list[Row]]:
    """(training rows, validation rows): ``fraction`` of the distinct titles held out.

    Split by title, so a title posted to two subreddits (or twice with other punctuation)
    lands on one side only. Deterministic: a title is held out when a hash of the seed and the
    title falls in the first ``fraction`` of the hash's range (at least one title is), so the
    same seed puts a title on the same side in any dataset.
    """
    if fraction <= 0:
        return rows, []
    keys = {normalize(row.title) for row in rows}

    def rank(key: str) -> bytes:
        return hashlib.blake2b(f"{seed or 0}\0{key}".encode(), digest_size=8).digest()

    # A title's side depends on the seed and the title alone, not on the rest of the dataset:
    # a title held out stays held out when the dataset grows or changes.
    held = {key for key in keys if int.from_bytes(rank(key), "big") < fraction * 2**64}
    held = held or {min(keys, key=rank)}
    sides: tuple[list[Row], list[Row]] = ([], [])
    for row in rows:
        sides[normalize(row.title) in held].append(row)
    return sides
