"""`titlegen fetch` given what a new user gives it: each mistake is one sentence that says what
to change, and nothing is lost or left behind. (Found by trying the README as a new user.)"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import dump_lines, write_zst

from titlegen.cli import cli


def post(i: int, subreddit: str = "aww", **fields) -> dict:
    return {"subreddit": subreddit, "title": f"{subreddit} title {i}", "score": 10 + i,
            "author": f"u{i}", **fields}  # fmt: skip


def fetch(*args: str):
    return CliRunner().invoke(cli, ["fetch", "--min-score", "0", *args])


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def test_everything_left_out_by_the_safe_defaults_says_so(tmp_path):
    dump = tmp_path / "RS.jsonl"
    dump.write_bytes(dump_lines([post(i, over_18=True) for i in range(4)]))

    result = fetch("--source", str(dump), "-o", str(tmp_path / "t.csv"))

    assert result.exit_code == 1
    assert result.output == (
        "Error: No titles matched the selection, so nothing was written: no subreddit has a "
        "post scoring at least --min-score 0 among the posts the safe defaults kept (they left "
        "out 4 marked over 18 (NSFW)) (--include-nsfw keeps posts marked over 18).\n"
    )
    kept = fetch("--source", str(dump), "--include-nsfw", "-o", str(tmp_path / "t.csv"))
    assert kept.exit_code == 0 and "Wrote 4 titles" in kept.output


def test_a_source_without_scores_selects_by_authors(tmp_path):
    # A list of titles with only subreddit and title (the README's minimum) still gives titles.
    dump = tmp_path / "titles.jsonl"
    lines = [{"subreddit": s, "title": f"{s} {i}"} for s in ("aww", "Jokes") for i in range(3)]
    dump.write_bytes(dump_lines(lines))
    out = tmp_path / "t.csv"

    result = CliRunner().invoke(cli, ["fetch", "--source", str(dump), "-o", str(out)])

    assert result.exit_code == 0, result.output
    assert len(rows(out)) == 6
    assert "No post of the source has a score: --min-score left out nothing" in result.output


def test_a_comment_dump_is_refused(tmp_path):
    comments = tmp_path / "RC_2026-01.jsonl"
    comments.write_bytes(
        dump_lines([{"subreddit": "aww", "body": "so cute", "author": "u1", "score": 3}] * 5)
    )
    submissions = tmp_path / "RS_2026-01.jsonl"
    submissions.write_bytes(dump_lines([post(i) for i in range(3)]))

    result = fetch("--source", str(tmp_path), "-o", str(tmp_path / "out" / "t.csv"))

    assert result.exit_code == 1
    assert result.output == (
        f"Error: None of the 5 posts in {comments} has a title: is it a comment dump (RC_)? "
        "titlegen reads submission dumps (RS_).\n"
    )


def test_source_is_repeatable_and_reads_every_one(tmp_path):
    first, second = tmp_path / "RS_1.jsonl", tmp_path / "RS_2.zst"
    first.write_bytes(dump_lines([post(i, "aww") for i in range(3)]))
    write_zst(second, dump_lines([post(i, "Jokes") for i in range(2)]))
    out = tmp_path / "t.csv"

    result = fetch("--source", str(first), "--source", str(second), "--source", str(first),
                   "-o", str(out))  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "read 5 posts" in result.output  # the file given twice is read once
    assert {row["subreddit"] for row in rows(out)} == {"aww", "Jokes"}


def test_out_cannot_be_a_dump_being_read(tmp_path):
    dump = tmp_path / "RS.jsonl"
    data = dump_lines([post(i) for i in range(3)])
    dump.write_bytes(data)

    result = fetch("--source", str(tmp_path), "-o", str(dump))

    assert result.exit_code == 1
    assert result.output == (
        f"Error: -o {dump} is one of the dumps being read: write the CSV elsewhere.\n"
    )
    assert dump.read_bytes() == data


def test_out_must_name_a_file(tmp_path):
    dump = tmp_path / "RS.jsonl"
    dump.write_bytes(dump_lines([post(i) for i in range(3)]))

    for out in ["", f"{tmp_path}/new/"]:
        result = fetch("--source", str(dump), "-o", out)
        assert result.exit_code == 2, result.output
        assert f"Invalid value for -o: {out!r} is not a file name" in result.output
        assert "Traceback" not in result.output
    assert not (tmp_path / "new").exists()


def test_a_subreddit_without_titles_is_named(tmp_path):
    dump = tmp_path / "RS.jsonl"
    dump.write_bytes(dump_lines([post(i, "aww") for i in range(3)]))
    out = tmp_path / "t.csv"

    typo = fetch("--source", str(dump), "--subreddit", "AWW", "--subreddit", "awe", "-o", str(out))
    only_typo = fetch("--source", str(dump), "--subreddit", "awe", "-o", str(out))

    assert typo.exit_code == 0, typo.output
    assert "Warning: The source has no titles for --subreddit awe (names match regardless of " \
        "case)." in typo.output  # fmt: skip
    assert only_typo.exit_code == 1
    assert "the source has no titles for --subreddit awe (check the names)." in only_typo.output


def test_folder_names_match_regardless_of_case_and_subfolders_are_named(tmp_path):
    upper = tmp_path / "upper"
    upper.mkdir()
    (upper / "RS_2026-01.JSONL").write_bytes(dump_lines([post(i) for i in range(3)]))
    nested = tmp_path / "reddit"
    (nested / "submissions").mkdir(parents=True)

    found = fetch("--source", str(upper), "-o", str(tmp_path / "t.csv"))
    missing = fetch("--source", str(nested), "-o", str(tmp_path / "t.csv"))

    assert found.exit_code == 0 and "read 3 posts" in found.output, found.output
    assert missing.exit_code == 1
    assert "subfolders are not searched; it has folders (submissions): pass one of those" in (
        missing.output
    )


def test_a_parquet_column_of_another_type_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "RS.parquet"
    table = pa.table({"subreddit": ["aww"] * 3, "title": ["a", "b", "c"],
                      "over_18": ["yes", "no", "no"]})  # fmt: skip
    pq.write_table(table, path)

    result = fetch("--source", str(path), "-o", str(tmp_path / "t.csv"))

    assert result.exit_code == 1
    assert result.output == (
        f"Error: {path}'s column over_18 is VARCHAR, not BOOLEAN: titlegen cannot read it.\n"
    )


@pytest.mark.parametrize("delay", [0.0, 0.4], ids=["reading", "later"])
@pytest.mark.parametrize(
    ("stop", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"]
)
def test_a_stopped_fetch_removes_its_spill_folder_and_writes_nothing(tmp_path, stop, code, delay):
    # duckdb swallows a signal that arrives mid-query or turns it into its own error: whenever
    # it comes, the fetch must stop, clean up, and exit as interrupted.
    posts = [post(i, f"s{i % 50}") for i in range(400_000)]
    dump = write_zst(tmp_path / "RS.zst", dump_lines(posts))
    spill_root = tmp_path / "tmp"
    spill_root.mkdir()
    out = tmp_path / "t.csv"
    env = {**os.environ, "TMPDIR": str(spill_root)}
    script = "import sys\nfrom titlegen.cli import cli\ncli(sys.argv[1:])"
    child = subprocess.Popen(
        [sys.executable, "-c", script, "fetch", "--source", str(dump), "-o", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not any(spill_root.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)  # the spill folder exists once reading has begun
    assert any(spill_root.iterdir()), "the fetch never started reading"
    time.sleep(delay)
    child.send_signal(stop)
    _, err = child.communicate(timeout=30)

    assert child.returncode == code, err.decode()
    assert "Traceback" not in err.decode()
    assert list(spill_root.iterdir()) == []
    assert not out.exists()


def test_a_damaged_parquet_page_is_one_sentence(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "RS.parquet"
    titles = [f"title number {i} here" for i in range(200)]
    pq.write_table(pa.table({"subreddit": ["aww"] * 200, "title": titles}), path,
                   compression="none", use_dictionary=False)  # fmt: skip
    data = bytearray(path.read_bytes())
    at = data.find(b"title number 100")
    data[at : at + 5] = b"\xff\xfe\xff\xfe\xff"  # not UTF-8, inside a data page
    path.write_bytes(bytes(data))

    result = fetch("--source", str(path), "-o", str(tmp_path / "t.csv"))

    assert result.exit_code == 1
    assert result.output.startswith(f"Error: Cannot read {path}: Invalid Input Error: ")
    assert result.output.count("\n") == 1 and "Traceback" not in result.output


def test_a_line_beyond_the_cap_is_one_malformed_line():
    from titlegen.fetching import json_lines

    chunks = [b'{"subreddit": "a"}\n' + b"x" * 40, b"y" * 40, b'z\n{"subreddit": "b"}\n']
    pieces = [bytes(p) for p in json_lines.whole_lines(chunks, max_line=64)]

    assert pieces == [b'{"subreddit": "a"}\n', json_lines.OVERLONG, b'{"subreddit": "b"}\n']
    whole = [bytes(p) for p in json_lines.whole_lines(chunks, max_line=1000)]
    assert b"".join(whole) == b"".join(chunks)
