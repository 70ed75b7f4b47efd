"""``titlegen fetch --source``: the same selection as on BigQuery, from local Reddit dumps.

A dump (such as ``RS_2019-08.zst``) is newline-delimited JSON, one submission a line, plain or
compressed (zstd, gzip, bz2, xz), or a Parquet file; each is recognised by content, not by name,
and a folder may mix them. JSON lines are streamed: a ``.zst`` is decompressed by the ``zstd``
program when it is installed (on another core), else in-process by python-zstandard; msgspec
decodes the nine fields needed (:mod:`titlegen.fetching.json_lines`). Parquet is read by duckdb
directly. Either way the posts land in one duckdb table, ``loaded``, which spills to a temporary
folder beyond :data:`MEMORY_LIMIT`. The filter rules are counted there, and the selection SQL
(queries/reddit_titles.duckdb.sql) reads the posts they keep through the view ``posts``.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import re
import shutil
import subprocess
import tempfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING

import titlegen.fetching.selection as sel
from titlegen.errors import SourceError
from titlegen.units import plural

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

QUERY_FILE = "reddit_titles.duckdb.sql"
DUMP_SUFFIXES = (
    *(".json", ".jsonl", ".ndjson", ".zst", ".zstd", ".gz", ".bz2", ".xz"),
    ".parquet",
)
ZSTD = "zstd"  # the zstd program, used when on PATH: it decompresses on a core of its own
ZSTD_WINDOW = 2**31  # monthly dumps are written with `zstd --long=31`; duckdb's reader refuses
BLOCK = 8 << 20  # decompressed bytes read from the zstd program at a time (beat 1 MB, measured)
CHUNK = 1 << 20  # compressed bytes read from a file at a time (in-process decompression)
# python-zstandard returns all the output of a decompress call at once: feed it this much at a
# time, so that a very compressible file (300x) gives ~20 MB pieces rather than 300 MB ones.
ZSTD_INPUT = 1 << 16
# duckdb's memory for the loaded posts (about 100 bytes a post) and the selection; beyond it the
# table spills to a temporary folder (in TMPDIR). The zstd window comes on top: up to 2 GiB.
MEMORY_LIMIT = "1GB"

_MAGIC = {  # first bytes of each format
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\x1f\x8b": "gzip",
    b"BZh": "bz2",
    b"\xfd7zXZ\x00": "xz",
    b"PAR1": "parquet",
}
# What the load keeps of a post: the selection's four fields, then the filter rules' fields.
_LOADED = {
    "subreddit": "VARCHAR",
    "title": "VARCHAR",
    "score": "BIGINT",
    "author": "VARCHAR",
    "over_18": "BOOLEAN",
    "quarantine": "BOOLEAN",
    "removed_by_category": "VARCHAR",
    "subreddit_type": "VARCHAR",
    "was_deleted_later": "BOOLEAN",
}
_TRUNCATED = ("premature end", "unexpected end")  # how the zstd program reports a cut file


@dataclass
class Stats:
    """What reading the dump found: posts kept, lines skipped, files that ended early."""

    files: int = 0
    posts: int = 0
    skipped: int = 0  # lines that are not a JSON object with a subreddit
    truncated: list[Path] = field(default_factory=list)
    left_out: dict[str, int] = field(default_factory=dict)  # posts each filter rule matched
    unavailable: tuple[str, ...] = ()  # rules no file could apply (they lack the field)
    seen: set[str] = field(default_factory=set, repr=False)  # filter columns some post had
    no_score: bool = False  # no post had a score: --min-score could not apply


def find_files(source: Path) -> list[Path]:
    """The dump files in ``source``: the file itself, or the dump files in a folder."""
    if not source.exists():
        raise SourceError(f"{source} does not exist: pass a Reddit dump file or a folder of them.")
    if source.is_file():
        return [source]
    entries = sorted(source.iterdir())
    files = [p for p in entries if p.is_file() and p.name.lower().endswith(DUMP_SUFFIXES)]
    if not files:
        kinds = ", ".join(DUMP_SUFFIXES)
        folders = [p.name for p in entries if p.is_dir()]
        inside = (
            f"; it has folders ({', '.join(folders[:5])}): pass one of those" if folders else ""
        )
        raise SourceError(
            f"{source} holds no dump files (looked for names ending in {kinds}; subfolders are "
            f"not searched{inside})."
        )
    return files


def select_titles(
    files: list[Path],
    selection: sel.Selection,
    *,
    on_progress: Callable[[int], object] | None = None,
) -> tuple[pd.DataFrame, Stats]:
    """Load the posts of ``files``, leave out what ``selection.rules`` say, run the selection.

    ``on_progress`` is called with the number of (compressed) bytes read since its last call.
    """
    import duckdb

    stats = Stats()
    progress = on_progress or (lambda _n: None)
    # The connection closes (inner) before its spill folder is removed (outer).
    with tempfile.TemporaryDirectory(prefix="titlegen-") as spill, duckdb.connect() as con:
        con.execute("SET preserve_insertion_order = false")  # lets big loads spill to disk
        con.execute("SET temp_directory = ?", [spill])
        con.execute("SET memory_limit = ?", [MEMORY_LIMIT])
        columns = ", ".join(f"{name} {kind}" for name, kind in _LOADED.items())
        con.execute(f"CREATE TABLE loaded ({columns})")
        for path in files:
            stats.files += 1
            load = _load_parquet if _kind(path) == "parquet" else _load_json
            posts, titles = stats.posts, _count(con, "title")
            with _duckdb_errors(f"Cannot read {path}", spill):
                load(con, path, stats, progress)
            if stats.posts > posts and _count(con, "title") == titles:
                raise SourceError(
                    f"None of the {plural(stats.posts - posts, 'post')} in {path} has a title: "
                    f"is it a comment dump (RC_)? titlegen reads submission dumps (RS_)."
                )
        _check_found(files, stats)
        with _duckdb_errors("The selection failed", spill):
            _fill_missing_scores(con, selection, stats)
            _count_rules(con, selection.rules, stats)
            con.execute(_posts_view(selection.rules, stats.unavailable))
            rows = con.execute(sel.read_query(QUERY_FILE), selection.parameters()).df()
    return rows, stats


@contextlib.contextmanager
def _duckdb_errors(what: str, spill: str) -> Iterator[None]:
    """duckdb's errors as one sentence: a file it cannot read (a damaged Parquet page), or a
    spill folder that is full or unwritable, which names TMPDIR."""
    import duckdb

    try:
        yield
    except duckdb.Error as error:
        reason = str(error).strip().splitlines()[0].rstrip(".") if str(error).strip() else ""
        if isinstance(error, (duckdb.IOException, duckdb.OutOfMemoryException)):
            raise SourceError(
                f"{what}: {reason}. The loaded posts spill to {spill}: give it more room, "
                f"or set TMPDIR to a folder on a larger disk."
            ) from error
        raise SourceError(f"{what}: {reason or type(error).__name__}.") from error


def _count(con: duckdb.DuckDBPyConnection, column: str) -> int:
    """The loaded posts that have ``column`` (one of this module's names, not user input).
    Checked after each file: a file without titles is a comment dump (``RC_``), whose lines
    have a subreddit and an author too and would skew which subreddits are chosen."""
    row = con.execute(f"SELECT count({column}) FROM loaded").fetchone()
    return int(row[0]) if row else 0


def _fill_missing_scores(
    con: duckdb.DuckDBPyConnection, selection: sel.Selection, stats: Stats
) -> None:
    """A source with no score at all (a list of titles, say) cannot rank by score: its posts
    all count as scoring --min-score, so the selection ranks subreddits by authors alone."""
    if _count(con, "score") == 0:
        con.execute("UPDATE loaded SET score = ?", [selection.min_score])
        stats.no_score = True


def _check_found(files: list[Path], stats: Stats) -> None:
    if stats.posts:
        return
    names = ", ".join(str(p) for p in files)
    found = (
        (
            "its one line is not a JSON object with a subreddit"
            if stats.skipped == 1
            else f"none of its {plural(stats.skipped, 'line')} is a JSON object with a subreddit"
        )
        if stats.skipped
        else "it is empty or holds only blank lines"
    )
    raise SourceError(
        f"No Reddit posts could be read from {names} ({found}): is it a submission dump?"
    )


def _count_rules(con: duckdb.DuckDBPyConnection, rules: tuple[sel.Rule, ...], stats: Stats) -> None:
    """Each applicable rule's count of posts it matches (independently: a post may count under
    two rules), in one scan; rules whose field no post had are unavailable instead."""
    applicable = [rule for rule in rules if rule.column in stats.seen]
    stats.unavailable = tuple(rule.name for rule in rules if rule not in applicable)
    if not applicable:
        return
    counts = ", ".join(f"count(*) FILTER (WHERE {_test(rule)})" for rule in applicable)
    values = con.execute(f"SELECT {counts} FROM loaded").fetchone() or ()
    stats.left_out = {rule.name: int(n) for rule, n in zip(applicable, values, strict=True)}


def _test(rule: sel.Rule) -> str:
    """The rule's test on ``loaded`` (whose columns are the fields' last names)."""
    return rule.test.format(column=rule.column)


def _posts_view(rules: tuple[sel.Rule, ...], unavailable: tuple[str, ...]) -> str:
    """The posts the rules keep, as the selection SQL's ``posts``. The conditions are this
    module's constants, not user input."""
    keep = [f"NOT {_test(rule)}" for rule in rules if rule.name not in unavailable]
    where = " AND ".join(keep) or "true"
    return f"CREATE VIEW posts AS SELECT subreddit, title, score, author FROM loaded WHERE {where}"


def _kind(path: Path) -> str:
    try:
        with path.open("rb") as f:
            head = f.read(8)
    except OSError as error:
        raise SourceError(f"Cannot read {path}: {error.strerror or error}.") from error
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), "plain")


# ---------------------------------------------------------------------------------- Parquet


def _load_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, stats: Stats, progress: Callable[[int], object]
) -> None:
    """duckdb reads only the needed columns; a column the file lacks is NULL (its rule is then
    unavailable), and ``_meta`` may be a struct, JSON text, or missing."""
    import duckdb

    try:
        have = {
            row[0]: row[1]
            for row in con.execute("DESCRIBE SELECT * FROM read_parquet(?)", [str(path)]).fetchall()
        }
    except duckdb.Error as error:
        reason = str(error).splitlines()[0]
        raise SourceError(
            f"Cannot read {path}: it is not a valid Parquet file ({reason})."
        ) from error
    missing = [name for name in ("subreddit", "title") if name not in have]
    if missing:
        raise SourceError(
            f"{path} is a Parquet file without a {' or '.join(missing)} column: titlegen needs "
            f"subreddit and title (and reads score, author and the filter fields if present)."
        )
    picked = [_parquet_column(path, name, kind, have) for name, kind in _LOADED.items()]
    stats.seen |= {name for name in _LOADED if name in have}
    if "was_deleted_later" in picked[-1]:
        stats.seen.add("was_deleted_later")
    total = con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()
    inserted = con.execute(
        f"INSERT INTO loaded SELECT {', '.join(picked)} FROM read_parquet(?) "
        f"WHERE subreddit IS NOT NULL",
        [str(path)],
    ).fetchone()
    posts = int(inserted[0]) if inserted else 0
    stats.posts += posts
    stats.skipped += (int(total[0]) if total else 0) - posts  # rows without a subreddit
    progress(path.stat().st_size)


def _parquet_column(path: Path, name: str, kind: str, have: dict[str, str]) -> str:
    """The SQL that gives ``loaded``'s column ``name`` from a Parquet file with columns
    ``have``. The names are this module's constants, quoted. A column of another type (a
    title that is a number, an over_18 that is text) is refused rather than read wrongly."""
    if name == "was_deleted_later":
        meta = have.get("_meta", "")
        if meta.startswith("STRUCT") and re.search(r'[(,]\s*"?was_deleted_later"?\s', meta):
            return 'TRY_CAST("_meta".was_deleted_later AS BOOLEAN)'
        if meta in ("JSON", "VARCHAR"):
            return "TRY_CAST(json_extract_string(\"_meta\", '$.was_deleted_later') AS BOOLEAN)"
        return "NULL::BOOLEAN"
    if name not in have:
        return f"NULL::{kind}"
    if not _PARQUET_TYPES[kind](have[name]):
        raise SourceError(
            f"{path}'s column {name} is {have[name]}, not {kind}: titlegen cannot read it."
        )
    return f'TRY_CAST("{name}" AS {kind})'


_NUMBERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "DECIMAL")
_PARQUET_TYPES: dict[str, Callable[[str], bool]] = {  # duckdb types read as each loaded type
    "VARCHAR": lambda kind: kind == "VARCHAR",
    "BOOLEAN": lambda kind: kind == "BOOLEAN",
    # Older dumps write scores as floats; unsigned integers are U-prefixed.
    "BIGINT": lambda kind: kind.lstrip("U").startswith(_NUMBERS),
}


# ------------------------------------------------------------------------------- JSON lines


def _load_json(
    con: duckdb.DuckDBPyConnection, path: Path, stats: Stats, progress: Callable[[int], object]
) -> None:
    import pyarrow as pa

    from titlegen.fetching.json_lines import LineReader

    types = {"VARCHAR": pa.string(), "BIGINT": pa.int64(), "BOOLEAN": pa.bool_()}
    schema = pa.schema([(name, types[kind]) for name, kind in _LOADED.items()])
    reader = LineReader()
    with closing(_decompressed(path, stats, progress)) as chunks:
        for columns in reader.batches(chunks):
            batch = pa.table(columns, schema=schema)
            con.register("batch", batch)
            con.execute("INSERT INTO loaded SELECT * FROM batch")
            con.unregister("batch")
    stats.posts += reader.posts
    stats.skipped += reader.skipped
    stats.seen |= reader.seen


def _decompressed(path: Path, stats: Stats, progress: Callable[[int], object]) -> Iterator[bytes]:
    """The decompressed bytes of a JSON-lines dump, reporting the compressed bytes read. A file
    cut short (an interrupted download) ends early and is noted in ``stats``; a corrupt one is
    a SourceError."""
    kind = _kind(path)
    try:
        raw = path.open("rb")
    except OSError as error:
        raise SourceError(f"Cannot read {path}: {error.strerror or error}.") from error
    binary = shutil.which(ZSTD) if kind == "zstd" else None
    with raw:
        chunks = _zstd_program(binary, raw, path, stats) if binary else None
        if chunks is None:
            chunks = _chunks(raw, kind, path, stats)
        with closing(chunks):
            reported = 0
            for chunk in chunks:
                yield chunk
                # The zstd program shares raw's file offset: this is how far it has read.
                position = os.lseek(raw.fileno(), 0, os.SEEK_CUR)
                progress(position - reported)
                reported = position
        progress(path.stat().st_size - reported)


def _zstd_program(binary: str, raw: IO[bytes], path: Path, stats: Stats) -> Iterator[bytes] | None:
    """The zstd program's output, or None if it cannot be started (then python-zstandard
    decompresses in-process)."""
    errors = tempfile.TemporaryFile()  # noqa: SIM115  # closed by _zstd_output
    try:
        process = subprocess.Popen(
            [binary, "-dcq", "--long=31"], stdin=raw, stdout=subprocess.PIPE, stderr=errors
        )
    except OSError:  # on PATH but not runnable
        errors.close()
        return None
    return _zstd_output(process, errors, path, stats)


def _zstd_output(
    process: subprocess.Popen[bytes], errors: IO[bytes], path: Path, stats: Stats
) -> Iterator[bytes]:
    """Read the zstd program's output; it reads the file through the caller's descriptor. The
    process is killed if reading stops early (an error, or Ctrl-C): no child is left behind."""
    with errors:
        assert process.stdout is not None  # stdout=PIPE
        try:
            while block := process.stdout.read(BLOCK):
                yield block
            code = process.wait()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdout.close()
        if code:
            errors.seek(0)
            message = errors.read().decode(errors="replace").strip()
            if any(text in message for text in _TRUNCATED):
                stats.truncated.append(path)
                return
            reason = message.splitlines()[-1] if message else f"zstd exited with {code}"
            raise SourceError(f"Cannot read {path}: it is not a valid zstd file ({reason}).")


def _chunks(raw: IO[bytes], kind: str, path: Path, stats: Stats) -> Iterator[bytes]:
    """In-process decompression (and plain files)."""
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
        while chunk := stream.read1(CHUNK):  # type: ignore[attr-defined]  # keep what came before a cut
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
        while chunk := raw.read(ZSTD_INPUT):
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
