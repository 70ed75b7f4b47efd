"""The title dataset: a CSV with the header ``subreddit,title``, one post title a row.

Both fetch paths (BigQuery and local dumps) select rows with SQL and then pass them through
:func:`tidy` here, so the cleaning rules live in one place and the two paths agree.
"""

from __future__ import annotations

import csv
import hashlib
import html
import random
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
# A keyword document is <|startoftext|>KW,KW ~ NAME TITLE<|endoftext|> (NAME only with
# subreddit conditioning): a few of the title's content words joined by KEYWORDS_JOIN, then
# this separator, then the document as without keywords. Keywords are lower-case words
# without "~", so its first occurrence ends them. The name stays right before the title: with
# the keywords between them, a small model lost the subreddit (README, "Keyword
# conditioning"; benchmarks/keywords_separator.py).
KEYWORDS_THEN = " ~ "
KEYWORDS_JOIN = ","  # between keywords: no space, so a keyword is not the token of a title word
MAX_KEYWORDS = 3  # a title's keywords are 1 to 3 of its content words: "a few", as asked for
# A share of titles is trained with an empty keyword field, so a prompt without keywords
# (generate without --keywords) asks for any title, not for one of stop words only.
WITHOUT_KEYWORDS = 0.25
MAX_KEYWORDS_TEXT = 200  # characters of keywords a user may ask with
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


def documents(
    rows: list[Row], *, condition: bool = False, keywords: Keywords | None = None
) -> list[str]:
    """Each title as one training document between gpt-2-simple's start and end markers;
    with ``condition``, its subreddit first: ``<|startoftext|>aww My dog<|endoftext|>``; with
    ``keywords``, some of its words before: ``<|startoftext|>dog ~ aww My dog<|endoftext|>``."""
    docs = []
    for row in rows:
        title = _unmarked(row.title)
        head = keywords.field(keywords.of(title)) if keywords is not None else ""
        head += f"{row.subreddit}{SUBREDDIT_END}" if condition else ""
        docs.append(f"{START}{head}{title}{END}\n")
    return docs


def frame(
    rows: list[Row], *, kind: str, condition: bool, keywords: Keywords | None = None
) -> list[str]:
    """The documents a run trains on, and is evaluated and encoded with: for a title dataset
    each title between the markers (after its subreddit, with ``condition``, and its
    ``keywords``); for a text file, its lines as they are."""
    if kind == "text":  # a text file may be prose, not titles: no markers
        return [row.title + "\n" for row in rows]
    return documents(rows, condition=condition, keywords=keywords)


# -- keywords ---------------------------------------------------------------------------------

# Function words that say nothing of what a title is about: never keywords. Small on purpose
# (no NLTK download); lower case, with the apostrophe of contractions as ' (see _words).
STOP_WORDS = frozenset(
    """
    a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can can't could couldn't did didn't do does doesn't
    doing don't down during each few for from further get got had hadn't has hasn't have haven't
    having he he'd he'll he's her here here's hers herself him himself his how how's i i'd i'll
    i'm i've if in into is isn't it it's its itself just let's me more most much my myself no
    nor not now of off on once only or other our ours ourselves out over own same she she'd
    she'll she's should shouldn't so some such than that that's the their theirs them
    themselves then there there's these they they'd they'll they're they've this those through
    to too under until up us very was wasn't we we'd we'll we're we've were weren't what
    what's when when's where where's which while who who's whom why why's will with won't would
    wouldn't you you'd you'll you're you've your yours yourself yourselves also ever still
    really like one
    """.split()  # noqa: SIM905 (a list literal would take 40 lines)
)
_WORDS = re.compile(r"[^\W_]+(?:'[^\W_]+)*")  # letters and digits, with inner apostrophes


def content_words(text: str) -> list[str]:
    """The words of ``text`` that can be keywords, lower-cased, each once, in order: not stop
    words, not single characters ("My cat's 2 new toys!" -> cat's, new, toys)."""
    words = _WORDS.findall(text.casefold().replace("\u2019", "'"))
    return list(dict.fromkeys(w for w in words if len(w) > 1 and w not in STOP_WORDS))


@dataclass(frozen=True)
class Keywords:
    """How a keyword run picks each title's keywords (recorded in its titlegen.json, so
    evaluate frames held-out titles as train did, and a resumed run keeps it)."""

    seed: int  # the run's (first) seed: the same title gets the same keywords
    then: str = KEYWORDS_THEN  # between the keywords and the rest of the document
    most: int = MAX_KEYWORDS  # 1 to this many keywords per title
    without: float = WITHOUT_KEYWORDS  # the share of titles trained without keywords
    join: str = KEYWORDS_JOIN  # between keywords

    def of(self, title: str) -> list[str]:
        """1 to ``most`` of the title's content words, drawn by the seed and the title alone
        (so a title gets the same ones in any dataset), in a drawn order: the order a user
        gives them in means nothing, so training must not teach one. None for a title of
        stop words only ("What is this?"), and for a ``without`` share of titles."""
        words = content_words(title)
        digest = hashlib.blake2b(f"{self.seed}\0{title}".encode(), digest_size=8).digest()
        draw = random.Random(int.from_bytes(digest, "big"))
        if not words or draw.random() < self.without:
            return []
        return draw.sample(words, draw.randint(1, min(self.most, len(words))))

    def field(self, words: list[str]) -> str:
        """The keyword field of a document: ``cat,vacuum ~ `` (empty: `` ~ ``)."""
        return self.join.join(words) + self.then

    def asked(self, text: str | list[str]) -> list[str]:
        """Keywords a user asks for ("cat, vacuum", or a list), as training frames them:
        lower-cased words, stop words left out; an error if none is left or too many are."""
        items = [text] if isinstance(text, str) else list(text)
        joined = " ".join(items)
        if len(joined) > MAX_KEYWORDS_TEXT:
            raise TitlegenError(
                f"Keywords can be at most {MAX_KEYWORDS_TEXT} characters, not {len(joined)}."
            )
        words = content_words(joined.replace(",", " "))
        if not words:
            raise TitlegenError(
                f"No keyword left in {joined!r}: keywords are words of a title other than "
                "stop words such as the, my, what."
            )
        if len(words) > self.most:
            raise TitlegenError(
                f"Ask for at most {self.most} keywords (the run was trained with 1 to "
                f"{self.most} a title), not {len(words)}: {', '.join(words)}."
            )
        return words

    def as_record(self) -> dict:
        return {"join": self.join, "then": self.then, "most": self.most, "without": self.without,
                "seed": self.seed, "case": "lower", "order": "drawn",
                "place": "before the subreddit"}  # fmt: skip

    @classmethod
    def of_record(cls, record: dict) -> Keywords:
        try:
            return cls(int(record["seed"]), str(record["then"]), int(record["most"]),
                       float(record["without"]), str(record["join"]))  # fmt: skip
        except KeyError as error:  # reported as a damaged titlegen.json
            raise ValueError(f"its keywords name no {error}") from error


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
