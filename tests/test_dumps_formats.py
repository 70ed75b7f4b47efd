"""Reading dumps: Parquet, folders mixing formats, the pitfall lines, a cut or corrupt .zst on
both decompression paths (the zstd program and python-zstandard), no zstd process left behind,
bounded memory."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import pandas as pd
import psutil
import pytest
from click.testing import CliRunner
from conftest import dump_lines, write_gz, write_zst

from titlegen.cli import cli
from titlegen.errors import SourceError
from titlegen.fetching import dumps, json_lines
from titlegen.fetching.selection import Selection

EVERYTHING = Selection(min_score=0, per_subreddit=100_000)
HAS_ZSTD = shutil.which(dumps.ZSTD) is not None


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def post(i: int, subreddit: str = "aww", **fields) -> dict:
    return {
        "subreddit": subreddit,
        "title": f"title {i} ❤️ עברית",
        "score": i % 50,
        "author": f"u{i % 7}",
        "over_18": i % 11 == 0,
        "quarantine": False,
        "removed_by_category": "moderator" if i % 13 == 0 else None,
        "subreddit_type": "public",
        "_meta": {"was_deleted_later": i % 17 == 0},
        **fields,
    }


def many(n: int) -> list[dict]:
    return [post(i, ["aww", "Jokes", "AskReddit"][i % 3]) for i in range(n)]


def write_parquet(path, posts):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(posts), path)
    return path


@pytest.fixture(params=["zstd program", "python-zstandard"])
def zstd_path(request, monkeypatch):
    """Both ways a .zst is decompressed: the zstd program when it is on PATH, else in-process.
    The switch is dumps.ZSTD, the program's name: a name that is not on PATH means in-process."""
    if request.param == "zstd program":
        assert HAS_ZSTD, "the zstd program is not installed: `make test` installs it"
    else:
        monkeypatch.setattr(dumps, "ZSTD", "no-such-zstd-program")
    return request.param


# ---------------------------------------------------------------------------------- Parquet


def test_a_parquet_file_gives_the_same_as_the_same_posts_in_json(tmp_path):
    posts = many(300)
    parquet = write_parquet(tmp_path / "RS.parquet", posts)
    jsonl = tmp_path / "RS.jsonl"
    jsonl.write_bytes(dump_lines(posts))

    rows_p, stats_p = dumps.select_titles([parquet], EVERYTHING)
    rows_j, stats_j = dumps.select_titles([jsonl], EVERYTHING)

    assert rows_p.equals(rows_j)
    assert (stats_p.posts, stats_p.left_out, stats_p.unavailable) == (
        stats_j.posts,
        stats_j.left_out,
        stats_j.unavailable,
    )
    assert stats_p.left_out["over_18"] == 28 and stats_p.unavailable == ()


def test_a_parquet_without_meta_or_filter_columns_reports_those_rules(tmp_path):
    posts = [{"subreddit": "aww", "title": f"t{i}", "score": i, "over_18": False} for i in range(5)]
    parquet = write_parquet(tmp_path / "old.parquet", posts)

    rows, stats = dumps.select_titles([parquet], EVERYTHING)

    assert len(rows) == 5
    assert stats.left_out == {"over_18": 0}
    assert stats.unavailable == ("quarantined", "removed", "deleted_later", "not_public")


def test_a_parquet_without_subreddit_or_title_is_one_sentence(tmp_path):
    parquet = write_parquet(tmp_path / "x.parquet", [{"subreddit": "aww", "body": "a comment"}])
    out = tmp_path / "t.csv"

    result = run("fetch", "--source", str(parquet), "-o", str(out))

    assert result.exit_code == 1
    assert result.output == (
        f"Error: {parquet} is a Parquet file without a title column: titlegen needs subreddit "
        "and title (and reads score, author and the filter fields if present).\n"
    )
    assert not out.exists()


def test_parquet_is_recognised_by_content_and_in_folders(tmp_path):
    write_parquet(tmp_path / "a.parquet", many(30))
    write_parquet(tmp_path / "b.parquet", many(30))
    (tmp_path / "c.bin").write_bytes((tmp_path / "a.parquet").read_bytes())  # not in a folder

    assert dumps.find_files(tmp_path) == [tmp_path / "a.parquet", tmp_path / "b.parquet"]
    _, stats = dumps.select_titles([tmp_path / "c.bin"], EVERYTHING)
    assert stats.posts == 30


def test_a_mixed_folder_gives_the_same_csv_as_one_file(tmp_path):
    posts = many(2000)
    folder, single = tmp_path / "months", tmp_path / "single"
    folder.mkdir()
    single.mkdir()
    write_parquet(folder / "RS_2019-05.parquet", posts[:500])
    write_zst(folder / "RS_2019-06.zst", dump_lines(posts[500:1000]))
    write_gz(folder / "RS_2019-07.jsonl.gz", dump_lines(posts[1000:1500]))
    (folder / "RS_2019-08.jsonl").write_bytes(dump_lines(posts[1500:]))
    write_zst(single / "RS_all.zst", dump_lines(posts))

    mixed = run("fetch", "--source", str(folder), "-o", str(tmp_path / "mixed.csv"))
    one = run("fetch", "--source", str(single / "RS_all.zst"), "-o", str(tmp_path / "one.csv"))

    assert mixed.exit_code == 0 and one.exit_code == 0, mixed.output + one.output
    assert (tmp_path / "mixed.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()
    assert mixed.output.split("\n", 1)[1] == one.output.split("\n", 1)[1]  # filters, spread
    assert "(read 2,000 posts, skipped 0 malformed lines)" in mixed.output


# --------------------------------------------------------------------------------- pitfalls


def test_pitfall_lines_are_kept_or_skipped_and_counted(tmp_path):
    good = dump_lines([post(i) for i in range(1, 4)])
    lines = (
        b'{"subreddit": "aww", "title": "huge score", "score": 123456789012345678901234567890}\n'
        b'{"subreddit": "aww", "title": "lone \\ud800 surrogate", "score": 1}\n'
        b'{"subreddit": "aww", "title": "first", "title": "duplicate key", "score": 1}\n'
        b'{"subreddit": "aww", "title": "as text", "score": "7", "over_18": "false"}\n'
        b"\n   \n"  # blank lines: not counted
        b'{"subreddit": "aww", "title": "nan", "score": NaN}\n'
        b"[1, 2]\n"
        b'{"subreddit": null, "title": "no subreddit"}\n'
        b'{"subreddit": "aww", "title": "bad \xff\xfe utf-8"}\n'
        b'{"subreddit": "aww", "title": "trailing"} garbage\n'
        b'{"subreddit": "aww", "title": "cut in the mid'  # the cut-off last line
    )
    dump = tmp_path / "RS.jsonl"
    dump.write_bytes(good + lines)

    rows, stats = dumps.select_titles([dump], EVERYTHING)

    assert (stats.posts, stats.skipped) == (7, 6)
    scores = dict(zip(rows["title"], rows["score"], strict=True))
    assert pd.isna(scores["huge score"])  # NULL, the post kept
    assert scores["lone \ufffd surrogate"] == 1  # replaced, the post kept
    assert scores["duplicate key"] == 1 and "first" not in scores  # the last key wins
    assert scores["as text"] == 7


def test_every_block_is_cut_on_line_ends_whatever_the_chunks():
    data = dump_lines(many(200)) + b'{"subreddit": "aww", "title": "' + b"x" * 50_000 + b'"}\n'
    rng = random.Random(14)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 300)))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        pieces = [bytes(p) for p in json_lines.whole_lines(chunks)]
        assert b"".join(pieces) == data
        assert all(p.endswith(b"\n") for p in pieces)


# ------------------------------------------------------------------- cut and corrupt .zst


def test_a_cut_zst_keeps_the_posts_before_the_cut(tmp_path, zstd_path):
    whole = write_zst(tmp_path / "whole.zst", dump_lines(many(30000)))
    cut = tmp_path / "RS_cut.zst"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    out = tmp_path / "t.csv"

    result = run("fetch", "--source", str(cut), "--per-subreddit", "100000", "-o", str(out))

    assert result.exit_code == 0, result.output
    assert f"{cut} ended early (an incomplete download?); used the posts before the cut." in (
        result.output
    )
    posts = int(result.output.split("(read ")[1].split(" posts")[0].replace(",", ""))
    assert 5000 < posts < 30000


def test_a_cut_second_frame_keeps_the_whole_first(tmp_path, zstd_path):
    first = write_zst(tmp_path / "a.zst", dump_lines(many(1000))).read_bytes()
    second = write_zst(tmp_path / "b.zst", dump_lines(many(30000))).read_bytes()
    dump = tmp_path / "RS.zst"
    dump.write_bytes(first + second[: len(second) // 2])

    _, stats = dumps.select_titles([dump], EVERYTHING)

    assert stats.truncated == [dump]
    assert 1000 < stats.posts < 31000


def test_a_corrupt_zst_is_one_sentence(tmp_path, zstd_path):
    data = bytearray(write_zst(tmp_path / "whole.zst", dump_lines(many(3000))).read_bytes())
    for i in range(200, len(data), 101):
        data[i] ^= 0x55
    bad = tmp_path / "RS_bad.zst"
    bad.write_bytes(bytes(data))
    out = tmp_path / "t.csv"

    result = run("fetch", "--source", str(bad), "-o", str(out))

    assert result.exit_code == 1
    assert result.output.startswith(f"Error: Cannot read {bad}: it is not a valid zstd file (")
    assert result.output.count("\n") == 1 and "Traceback" not in result.output
    assert not out.exists()


def test_a_zstd_program_that_cannot_start_falls_back_to_python_zstandard(tmp_path, monkeypatch):
    broken = tmp_path / "zstd"
    broken.write_text("#!/no/such/interpreter\n", encoding="utf-8")
    broken.chmod(0o755)  # on PATH and executable, but exec fails
    monkeypatch.setattr(dumps, "ZSTD", str(broken))
    dump = write_zst(tmp_path / "RS.zst", dump_lines(many(300)))

    _, stats = dumps.select_titles([dump], EVERYTHING)

    assert (stats.posts, stats.skipped, stats.truncated) == (300, 0, [])


def test_progress_counts_the_compressed_bytes(tmp_path, zstd_path):
    dump = write_zst(tmp_path / "RS.zst", dump_lines(many(20000)))
    steps: list[int] = []

    dumps.select_titles([dump], EVERYTHING, on_progress=steps.append)

    assert sum(steps) == dump.stat().st_size and all(n >= 0 for n in steps)


# --------------------------------------------------------------- no child left, memory bound


def big_zst(path, megabytes: int, *, long_window: bool = True):
    """A dump of about ``megabytes`` decompressed, quick to make: posts padded with selftext."""
    import zstandard

    pad = "lorem ipsum dolor " * 200
    line = [
        json.dumps(post(i, f"sub{i % 300}", selftext=pad + str(i))).encode() + b"\n"
        for i in range(2000)
    ]
    block = b"".join(line)
    params = zstandard.ZstdCompressionParameters.from_level(
        1, window_log=31 if long_window else 20, enable_ldm=long_window
    )
    with (
        path.open("wb") as raw,
        zstandard.ZstdCompressor(compression_params=params).stream_writer(raw) as out,
    ):
        for _ in range(megabytes * 2**20 // len(block) + 1):
            out.write(block)
    return path


def test_closing_the_reader_ends_the_zstd_process(tmp_path):
    dump = big_zst(tmp_path / "RS.zst", 40)
    chunks = dumps._decompressed(dump, dumps.Stats(), lambda _n: None)

    next(chunks)
    (child,) = [p for p in psutil.Process().children() if p.name() == "zstd"]
    chunks.close()

    assert not child.is_running()  # killed and reaped: not even a zombie


def test_ctrl_c_leaves_no_zstd_process_behind(tmp_path):
    dump = big_zst(tmp_path / "RS.zst", 200)
    mark = uuid.uuid4().hex  # the zstd process inherits the environment: find it by this
    script = textwrap.dedent(f"""
        from pathlib import Path
        from titlegen.fetching import dumps, selection
        try:
            dumps.select_titles([Path({str(dump)!r})], selection.Selection())
        except KeyboardInterrupt:
            raise SystemExit(130)
    """)
    reader = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "MARK": mark})
    try:
        deadline = time.monotonic() + 20
        while not _marked(mark, "zstd") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _marked(mark, "zstd"), "zstd never started"
        reader.send_signal(signal.SIGINT)  # to the Python process only, not its group
        assert reader.wait(timeout=20) == 130
    finally:
        reader.kill()
    time.sleep(0.2)
    assert not _marked(mark, "zstd")


def _marked(mark: str, name: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if (
                process.info["name"] == name
                and process.environ().get("MARK") == mark
                and process.status() != psutil.STATUS_ZOMBIE
            ):
                found.append(process)
        except psutil.Error:
            continue
    return found


def test_memory_stays_bounded_whatever_the_size(tmp_path, zstd_path):
    # 30 MB and 300 MB decompressed (a 1 MiB window, so that the window does not count; the
    # data compresses 300x): the reader's peak memory must not grow with the file.
    small = big_zst(tmp_path / "small.zst", 30, long_window=False)
    large = big_zst(tmp_path / "large.zst", 300, long_window=False)
    script = textwrap.dedent("""
        import resource, sys
        from pathlib import Path
        from titlegen.fetching import dumps, selection
        dumps.ZSTD = sys.argv[1]
        for name in sys.argv[2:]:
            _, stats = dumps.select_titles([Path(name)], selection.Selection())
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            print(stats.posts, peak)
    """)
    result = subprocess.run(
        [sys.executable, "-c", script, dumps.ZSTD, str(small), str(large)],
        capture_output=True,
        text=True,
        check=True,
    )
    (posts_small, peak_small), (posts_large, peak_large) = (
        map(int, line.split()) for line in result.stdout.splitlines()
    )

    assert posts_large >= 8 * posts_small
    assert peak_large - peak_small < 100, result.stdout  # MB, for 270 MB more to read


def test_a_missing_file_in_the_list_is_one_sentence(tmp_path):
    with pytest.raises(SourceError, match="Cannot read"):
        dumps.select_titles([tmp_path / "gone.zst"], EVERYTHING)
