"""The dump reader of titlegen 0.1 (src/titlegen/fetching/dumps.py at commit 763310a), kept
unchanged as a reference for benchmarks/dumps.py: python-zstandard in-process, json.loads per
line, pandas batches into duckdb; no filter rules. Not used by titlegen itself.

Its docstring, as it was:

``titlegen fetch --source``: the same selection as on BigQuery, from a local Reddit dump.

A dump (such as ``RS_2019-08.zst``) is newline-delimited JSON, one submission a line, plain or
compressed (zstd, gzip, bz2, xz; recognised by content, not by name). Files are streamed: only
four fields of each post are kept, in a duckdb table that spills to disk when it outgrows
memory, and the selection SQL (queries/reddit_titles.duckdb.sql) runs on that table.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import titlegen.fetching.selection as sel
from titlegen.errors import SourceError
from titlegen.units import plural

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

QUERY_FILE = "reddit_titles.duckdb.sql"
DUMP_SUFFIXES = (".json", ".jsonl", ".ndjson", ".zst", ".zstd", ".gz", ".bz2", ".xz")
ZSTD_WINDOW = 2**31  # monthly dumps are written with `zstd --long=31`; duckdb's reader refuses
BATCH = 50_000  # posts handed to duckdb at a time
CHUNK = 1 << 20  # bytes read from a file at a time
PROGRESS_EVERY = 10_000  # lines between progress reports

_MAGIC = {  # first bytes of each compressed format
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
}
_FIELDS = ("subreddit", "title", "score", "author")


@dataclass
class Stats:
    """What reading the dump found: posts kept, lines skipped, files that ended early."""

    files: int = 0
    posts: int = 0
    skipped: int = 0  # lines that are not a JSON object with a subreddit
    truncated: list[Path] = field(default_factory=list)
    removed: dict[str, int] = field(default_factory=dict)  # posts each filter rule left out
    unavailable: tuple[str, ...] = ()  # rules no file could apply (they lack the field)


def find_files(source: Path) -> list[Path]:
    """The dump files in ``source``: the file itself, or the dump files in a folder."""
    if not source.exists():
        raise SourceError(f"{source} does not exist: pass a Reddit dump file or a folder of them.")
    if source.is_file():
        return [source]
    files = sorted(p for p in source.iterdir() if p.is_file() and p.name.endswith(DUMP_SUFFIXES))
    if not files:
        kinds = ", ".join(DUMP_SUFFIXES)
        raise SourceError(f"{source} holds no dump files (looked for names ending in {kinds}).")
    return files


def select_titles(
    files: list[Path],
    selection: sel.Selection,
    *,
    on_progress: Callable[[int], object] | None = None,
) -> tuple[pd.DataFrame, Stats]:
    """Load the posts of ``files`` and run the selection on them.

    ``on_progress`` is called with the number of (compressed) bytes read since its last call.
    """
    import duckdb

    stats = Stats()
    with duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = false")  # lets big loads spill to disk
        con.execute(
            "CREATE TABLE posts (subreddit VARCHAR, title VARCHAR, score BIGINT, author VARCHAR)"
        )
        for path in files:
            _load(con, path, stats, on_progress or (lambda _n: None))
        if stats.posts == 0:
            names = ", ".join(str(p) for p in files)
            found = (
                f"none of its {plural(stats.skipped, 'line')} is a JSON object with a subreddit"
                if stats.skipped
                else "it holds no lines"
            )
            raise SourceError(
                f"No Reddit posts could be read from {names} ({found}): is it a submission dump?"
            )
        rows = con.execute(sel.read_query(QUERY_FILE), selection.parameters()).df()
    return rows, stats


def _load(
    con: duckdb.DuckDBPyConnection, path: Path, stats: Stats, on_progress: Callable[[int], object]
) -> None:
    columns: dict[str, list[Any]] = {name: [] for name in _FIELDS}
    stats.files += 1
    try:
        raw = path.open("rb")
    except OSError as error:
        raise SourceError(f"Cannot read {path}: {error.strerror or error}.") from error
    with raw:
        reported = 0
        for count, line in enumerate(_split_lines(_chunks(raw, path, stats)), start=1):
            post = parse_post(line)
            if post is None:
                stats.skipped += line.strip() != b""  # blank lines are not malformed
            else:
                stats.posts += 1
                for name, value in zip(_FIELDS, post, strict=True):
                    columns[name].append(value)
                if len(columns["subreddit"]) >= BATCH:
                    _insert(con, columns)
            if count % PROGRESS_EVERY == 0:
                on_progress(raw.tell() - reported)
                reported = raw.tell()
        _insert(con, columns)
        on_progress(path.stat().st_size - reported)


def parse_post(line: bytes) -> tuple[str, str | None, int | None, str | None] | None:
    """``(subreddit, title, score, author)`` of one dump line, or None if it is not a post."""
    try:
        post = json.loads(line)
    except ValueError:  # includes invalid UTF-8
        return None
    if not isinstance(post, dict) or not isinstance(post.get("subreddit"), str):
        return None
    title, score, author = post.get("title"), post.get("score"), post.get("author")
    return (
        post["subreddit"],
        title if isinstance(title, str) else None,
        _int(score),
        author if isinstance(author, str) else None,
    )


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, (str, float)):
        return None
    try:
        return int(value)  # type: ignore[call-overload]  # "12" or 12.0 in older dumps
    except (TypeError, ValueError, OverflowError):
        return None


def _insert(con: duckdb.DuckDBPyConnection, columns: dict[str, list[Any]]) -> None:
    import pandas as pd

    if not columns["subreddit"]:
        return
    batch = pd.DataFrame(
        {
            "subreddit": pd.array(columns["subreddit"], dtype="string"),
            "title": pd.array(columns["title"], dtype="string"),
            "score": pd.array(columns["score"], dtype="Int64"),
            "author": pd.array(columns["author"], dtype="string"),
        }
    )
    con.register("batch", batch)
    con.execute("INSERT INTO posts SELECT subreddit, title, score, author FROM batch")
    con.unregister("batch")
    for values in columns.values():
        values.clear()


def _chunks(raw: io.BufferedReader, path: Path, stats: Stats) -> Iterator[bytes]:
    """The decompressed bytes of a dump. A stream cut short (an interrupted download) ends
    early and is noted in ``stats``; a corrupt one is an error."""
    kind = next((k for magic, k in _MAGIC.items() if raw.peek(8).startswith(magic)), "plain")
    if kind == "zstd":
        yield from _zstd_chunks(raw, path, stats)
        return
    openers: dict[str, Callable[[IO[bytes]], IO[bytes]]] = {
        "gzip": lambda f: gzip.GzipFile(fileobj=f),
        "bz2": bz2.BZ2File,
        "xz": lzma.LZMAFile,
        "plain": lambda f: f,
    }
    stream = openers[kind](raw)
    try:
        while chunk := stream.read1(CHUNK):  # read1: keep what came before a cut
            yield chunk
    except EOFError:
        stats.truncated.append(path)
    except (OSError, zlib.error, lzma.LZMAError) as error:
        message = f"Cannot read {path}: it is not a valid {kind} file ({error})."
        raise SourceError(message) from error


def _zstd_chunks(raw: IO[bytes], path: Path, stats: Stats) -> Iterator[bytes]:
    # zstandard's stream_reader ends silently on a cut frame; decompressobj tells whether the
    # frame ended. A dump may hold several frames back to back.
    import zstandard

    decompressor = zstandard.ZstdDecompressor(max_window_size=ZSTD_WINDOW)
    frame, in_frame = decompressor.decompressobj(), False
    try:
        while chunk := raw.read(CHUNK):
            while chunk:
                yield frame.decompress(chunk)
                in_frame = not frame.eof
                chunk = b"" if in_frame else frame.unused_data
                if not in_frame:
                    frame = decompressor.decompressobj()
    except zstandard.ZstdError as error:
        raise SourceError(f"Cannot read {path}: it is not a valid zstd file ({error}).") from error
    if in_frame:
        stats.truncated.append(path)


def _split_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Lines (without their newline) from a stream of byte chunks."""
    pending = b""
    for chunk in chunks:
        lines = (pending + chunk).split(b"\n")
        pending = lines.pop()
        yield from lines
    if pending:
        yield pending
