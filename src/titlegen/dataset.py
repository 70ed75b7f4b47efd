"""The title dataset: a CSV with the header ``subreddit,title``, one post title a row.

Both fetch paths (BigQuery and local dumps) select rows with SQL and then pass them through
:func:`tidy` here, so the cleaning rules live in one place and the two paths agree.
"""

from __future__ import annotations

import csv
import html
import re
from pathlib import Path
from typing import TYPE_CHECKING

from titlegen.atomic import atomic_write
from titlegen.errors import TitlegenError

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = ["subreddit", "title"]
START = "<|startoftext|>"  # gpt-2-simple's document markers, encoded as ordinary text
END = "<|endoftext|>"
PLACEHOLDERS = frozenset({"", "[deleted]", "[removed]"})  # what Reddit leaves of a gone post

# \s in Python's re is Unicode-aware: it covers newlines, tabs and no-break spaces.
_WHITESPACE = re.compile(r"\s+")


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


def read_titles(path: Path) -> list[str]:
    """The titles of a dataset CSV (its ``title`` column, by name), or the lines of a text file.

    gpt-2-simple reads column 0 of a CSV, which in titlegen's CSV is the subreddit; reading the
    column by name avoids training on subreddit names.
    """
    try:
        with path.open(encoding="utf-8", newline="") as f:
            if path.suffix.lower() == ".csv":
                reader = csv.DictReader(f)
                if "title" not in (reader.fieldnames or []):
                    found = ", ".join(reader.fieldnames or []) or "no header"
                    raise TitlegenError(f"{path} has no title column (found: {found}).")
                titles = [row["title"] for row in reader]
            else:
                titles = f.read().splitlines()
    except FileNotFoundError as error:
        raise TitlegenError(f"{path} does not exist: make one with titlegen fetch.") from error
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise TitlegenError(f"Cannot read {path}: {error}.") from error
    titles = [t.strip() for t in titles if t and t.strip()]
    if not titles:
        raise TitlegenError(f"{path} holds no titles.")
    return titles


def documents(titles: list[str]) -> list[str]:
    """Each title as one training document, between gpt-2-simple's start and end markers."""
    return [f"{START}{title}{END}\n" for title in titles]
