"""`titlegen fetch` given what a new user gives it: each mistake is one sentence that says what
to change, and nothing is lost or left behind. (Found by trying the README as a new user.)"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

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


def test_sigterm_removes_the_spill_folder_and_the_partial_csv(tmp_path):
    dump = write_zst(
        tmp_path / "RS.zst", dump_lines([post(i, f"s{i % 50}") for i in range(400_000)])
    )
    spill_root = tmp_path / "tmp"
    spill_root.mkdir()
    out = tmp_path / "t.csv"
    env = {**os.environ, "TMPDIR": str(spill_root)}
    script = textwrap.dedent("""
        import sys
        from titlegen.cli import cli
        cli(sys.argv[1:])
    """)
    child = subprocess.Popen(
        [sys.executable, "-c", script, "fetch", "--source", str(dump), "-o", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not any(spill_root.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.02)  # the spill folder exists once reading has begun
    assert any(spill_root.iterdir()), "the fetch never started reading"
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=30)

    assert child.returncode == 128 + signal.SIGTERM
    assert list(spill_root.iterdir()) == []
    assert not out.exists()
    assert tempfile.gettempdir() != str(spill_root)  # this process's own TMPDIR is untouched
