"""Reading local Reddit dumps: formats, malformed lines, cut-off downloads, folders."""

from __future__ import annotations

import bz2
import csv
import json
import lzma

from click.testing import CliRunner
from conftest import dump_lines, write_gz, write_zst

from titlegen.cli import cli
from titlegen.fetching import dumps, json_lines
from titlegen.fetching.selection import Selection


def posts(n: int, subreddit: str = "aww") -> list[dict]:
    return [
        {"subreddit": subreddit, "title": f"title {i}", "score": i, "author": f"u{i}"}
        for i in range(n)
    ]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def titles(path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return [row["title"] for row in csv.DictReader(f)]


def test_malformed_lines_are_skipped_and_counted(tmp_path):
    good = dump_lines(posts(3))
    bad = (
        b"not json at all\n"
        b"[1, 2, 3]\n"  # JSON, but not a post
        b'{"title": "no subreddit", "score": 9}\n'
        b"\n   \n"  # blank lines are not malformed
        b"\xff\xfe broken utf-8\n"
        b'{"subreddit": "aww", "title": "cut in the mid'  # a truncated last line
    )
    dump = tmp_path / "RS.ndjson"
    dump.write_bytes(good + bad)
    out = tmp_path / "t.csv"

    result = run("fetch", "--source", str(dump), "--min-score", "0", "-o", str(out))

    assert result.exit_code == 0, result.output
    assert "read 3 posts, skipped 5 malformed lines" in result.output
    assert titles(out) == ["title 2", "title 1", "title 0"]


def test_truncated_zst_download_keeps_what_came_before_the_cut(tmp_path):
    whole = write_zst(tmp_path / "whole.zst", dump_lines(posts(30000)))
    cut = tmp_path / "RS_cut.zst"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    out = tmp_path / "t.csv"

    result = run("fetch", "--source", str(cut), "--per-subreddit", "100000", "-o", str(out))

    assert result.exit_code == 0, result.output
    assert "RS_cut.zst ended early" in result.output
    assert 0 < len(titles(out)) < 30000


def test_truncated_gzip_download_keeps_what_came_before_the_cut(tmp_path):
    whole = write_gz(tmp_path / "whole.gz", dump_lines(posts(30000)))
    cut = tmp_path / "RS_cut.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])

    rows, stats = dumps.select_titles([cut], Selection(per_subreddit=100000))

    assert stats.truncated == [cut]
    assert 0 < len(rows) < 30000


def test_every_compression_is_recognised_by_content(tmp_path):
    data = dump_lines(posts(10))
    files = [
        write_zst(tmp_path / "a.zst", data),
        write_gz(tmp_path / "b.gz", data),
        tmp_path / "c.bz2",
        tmp_path / "d.xz",
        tmp_path / "e.json",
        write_gz(tmp_path / "misnamed.json", data),  # gzip inside, whatever the name says
    ]
    files[2].write_bytes(bz2.compress(data))
    files[3].write_bytes(lzma.compress(data))
    files[4].write_bytes(data)

    for path in files:
        rows, stats = dumps.select_titles([path], Selection(min_score=0))
        assert (stats.posts, stats.skipped, len(rows)) == (10, 0, 10), path.name


def test_a_folder_reads_every_dump_and_ignores_other_files(tmp_path):
    write_zst(tmp_path / "RS_2019-08.zst", dump_lines(posts(4, "aww")))
    write_gz(tmp_path / "RS_2019-09.json.gz", dump_lines(posts(4, "Jokes")))
    (tmp_path / "README.txt").write_text("not a dump")
    (tmp_path / "notes.py").write_text("print('not a dump')")
    out = tmp_path / "t.csv"

    result = run("fetch", "--source", str(tmp_path), "--min-score", "0", "-o", str(out))

    assert result.exit_code == 0, result.output
    assert "Wrote 8 titles from 2 subreddits" in result.output
    assert "read 8 posts, skipped 0 malformed lines" in result.output


def test_lenient_reading_tolerates_older_field_types():
    line = json.dumps({"subreddit": "aww", "title": 12, "score": "7", "author": None})
    post = json_lines.lenient(line.encode())
    assert (post.subreddit, post.title, post.score, post.author) == ("aww", None, 7, None)
    post = json_lines.lenient(b'{"subreddit": "aww", "score": true}')
    assert (post.subreddit, post.title, post.score, post.author) == ("aww", None, None, None)
    assert json_lines.lenient(b'{"subreddit": 5}') is None


def test_a_file_without_posts_says_what_it_holds(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("just some text\n")
    empty = tmp_path / "empty.json"
    empty.write_text("\n")

    for path, found in [
        (notes, "its one line is not a JSON object with a subreddit"),
        (empty, "it is empty or holds only blank lines"),
    ]:
        result = run("fetch", "--source", str(path), "-o", str(tmp_path / "t.csv"))
        assert result.exit_code == 1
        assert f"Error: No Reddit posts could be read from {path} ({found})" in result.output
