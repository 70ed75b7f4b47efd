"""Dump lines into columns, for :mod:`titlegen.fetching.dumps`.

msgspec decodes only the nine fields titlegen needs (a dump line has about seventy), a whole
block of lines at a time. A block holding a line it refuses is redone one line at a time, and a
refused line gets the lenient reading titlegen has always had (:func:`lenient`): a score written
as text, a title that is not a string, a lone surrogate. Lines that are not a post are skipped
and counted. Imported only when a dump is read: ``titlegen --help`` does not load msgspec.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from operator import attrgetter
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

BATCH = 100_000  # posts per batch handed to duckdb (about 10-20 MB as Arrow)

# The columns of a batch, in the order of dumps' `loaded` table. The last five feed the filter
# rules; for them, a field missing from the JSON (UNSET) differs from a null: a rule whose field
# no post has cannot apply, and fetch says so.
COLUMNS = (
    "subreddit",
    "title",
    "score",
    "author",
    "over_18",
    "quarantine",
    "removed_by_category",
    "subreddit_type",
    "was_deleted_later",
)
RULE_COLUMNS = COLUMNS[4:]

_BIGINT = msgspec.Meta(ge=-(2**63), le=2**63 - 1)  # duckdb's BIGINT; beyond it: lenient, NULL
_FLAGS = {"true": True, "false": False, 1: True, 0: False}  # as msgspec's strict=False reads
_SURROGATE = re.compile("[\ud800-\udfff]")  # a lone "\ud800" escape: valid JSON, not UTF-8


class _Meta(msgspec.Struct, gc=False):
    was_deleted_later: bool | UnsetType | None = UNSET


class Post(msgspec.Struct, gc=False):
    """The fields of a post titlegen reads; the others are skipped unparsed."""

    subreddit: str
    title: str | None = None
    score: Annotated[int, _BIGINT] | None = None
    author: str | None = None
    over_18: bool | UnsetType | None = UNSET
    quarantine: bool | UnsetType | None = UNSET
    removed_by_category: str | UnsetType | None = UNSET
    subreddit_type: str | UnsetType | None = UNSET
    meta: _Meta | None = msgspec.field(default=None, name="_meta")


# strict=False: "12" -> 12 and "false" -> False, as older dumps write them. Duplicate keys: the
# last one wins, as with json.loads.
_DECODER = msgspec.json.Decoder(Post, strict=False)
_GETTERS = {name: attrgetter(name) for name in COLUMNS[:8]}


class LineReader:
    """Reads blocks of decompressed bytes into column batches; counts posts and skipped lines,
    and notes which filter fields any post had."""

    def __init__(self) -> None:
        self.posts = 0
        self.skipped = 0  # lines that are not a JSON object with a subreddit (blank: not counted)
        self.seen: set[str] = set()  # RULE_COLUMNS that some post had

    def batches(self, chunks: Iterable[bytes], size: int = BATCH) -> Iterator[dict[str, list]]:
        """Column lists of at most about ``size`` posts each (None for a null or absent value)."""
        columns: dict[str, list[Any]] = {name: [] for name in COLUMNS}
        for block in whole_lines(chunks):
            try:
                posts = _DECODER.decode_lines(block)
            except ValueError:  # msgspec.DecodeError, and UnicodeDecodeError for invalid UTF-8
                posts = self._one_by_one(block)
            self.posts += len(posts)
            for name, get in _GETTERS.items():
                columns[name].extend(map(get, posts))
            columns["was_deleted_later"].extend(
                UNSET if post.meta is None else post.meta.was_deleted_later for post in posts
            )
            if len(columns["subreddit"]) >= size:
                yield self._finish(columns)
                columns = {name: [] for name in COLUMNS}
        if columns["subreddit"]:
            yield self._finish(columns)

    def _one_by_one(self, block: bytes | memoryview) -> list[Post]:
        posts = []
        for line in bytes(block).split(b"\n"):
            try:
                posts.append(_DECODER.decode(line))
            except ValueError:
                post = lenient(line)
                if post is None:
                    self.skipped += line.strip() != b""
                else:
                    posts.append(post)
        return posts

    def _finish(self, columns: dict[str, list[Any]]) -> dict[str, list[Any]]:
        """UNSET (the field was absent) becomes None, once its column's presence is noted.
        list.count runs at C speed; most columns are all set or all absent."""
        for name in RULE_COLUMNS:
            values = columns[name]
            absent = values.count(UNSET)
            if absent < len(values):
                self.seen.add(name)
            if absent == len(values):
                columns[name] = [None] * absent
            elif absent:
                columns[name] = [None if v is UNSET else v for v in values]
        return columns


MAX_LINE = 64 << 20  # bytes: a longer line is malformed (real posts are at most ~100 KB)
OVERLONG = b"<a line longer than MAX_LINE>\n"  # what stands for one: not JSON, so skipped


def whole_lines(chunks: Iterable[bytes], max_line: int = MAX_LINE) -> Iterator[bytes | memoryview]:
    """Pieces of whole lines from chunks cut anywhere. Only the joint of two chunks is copied;
    the rest of a chunk goes on as a memoryview. A line may span many chunks; one longer than
    ``max_line`` bytes (no real post is: a file without newlines, say) is not kept whole: it
    becomes one malformed line, so memory stays bounded."""
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        first = chunk.find(b"\n")
        if first < 0:
            if size <= max_line:
                pending.append(chunk)
            size += len(chunk)
            continue
        yield OVERLONG if size > max_line else b"".join([*pending, chunk[: first + 1]])
        last = chunk.rfind(b"\n")
        if last > first:
            yield memoryview(chunk)[first + 1 : last + 1]
        pending, size = [chunk[last + 1 :]], len(chunk) - last - 1
    if size:
        # A cut-off last line: refused, then skipped and counted.
        yield OVERLONG if size > max_line else b"".join(pending)


def lenient(line: bytes) -> Post | None:
    """A line msgspec refused, read the forgiving way: a title or author that is not a string
    becomes None, a score "12" or 12.0 becomes 12 and one beyond 64 bits None, a lone surrogate
    becomes U+FFFD (the post is kept: it still counts for its subreddit). None if the line is
    not a JSON object with a string subreddit (NaN, trailing text, invalid UTF-8, a list)."""
    try:
        post = json.loads(line, parse_constant=_refuse)
    except ValueError:  # includes invalid UTF-8
        return None
    if not isinstance(post, dict) or not isinstance(post.get("subreddit"), str):
        return None
    meta = post.get("_meta")
    return Post(
        subreddit=_text(post["subreddit"]),  # type: ignore[arg-type]  # a str, checked above
        title=_text(post.get("title")),
        score=_int(post.get("score")),
        author=_text(post.get("author")),
        over_18=_flag(post, "over_18"),
        quarantine=_flag(post, "quarantine"),
        removed_by_category=_text(post["removed_by_category"])
        if "removed_by_category" in post
        else UNSET,
        subreddit_type=_text(post["subreddit_type"]) if "subreddit_type" in post else UNSET,
        meta=_Meta(_flag(meta, "was_deleted_later")) if isinstance(meta, dict) else None,
    )


def _refuse(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")  # NaN, Infinity: the line is skipped


def _text(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return _SURROGATE.sub("\ufffd", value)  # duckdb and Arrow only take UTF-8


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (str, float)):
        try:
            value = int(value)  # type: ignore[call-overload]  # "12" or 12.0 in older dumps
        except (TypeError, ValueError, OverflowError):
            return None
    if isinstance(value, int) and -(2**63) <= value < 2**63:
        return value
    return None


def _flag(post: dict, key: str) -> bool | UnsetType | None:
    if key not in post:
        return UNSET
    value = post[key]
    if isinstance(value, bool):
        return value
    if isinstance(value, (str, int)):
        return _FLAGS.get(value)
    return None
