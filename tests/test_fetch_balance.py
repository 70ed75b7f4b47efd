"""`titlegen fetch --min-titles`: subreddits with too few titles to learn are left out, on both
paths, and the summary reports the spread of titles per subreddit."""

from __future__ import annotations

import csv
from collections import Counter

from click.testing import CliRunner
from conftest import dump_lines

from titlegen.cli import cli


def posts(subreddit: str, n: int) -> list[dict]:
    return [
        {
            "subreddit": subreddit,
            "title": f"{subreddit} title {i}",
            "score": 10 + i,
            "author": f"u{i}",
        }
        for i in range(n)
    ]


POSTS = posts("big", 6) + posts("middle", 3) + posts("tiny", 1) + posts("pair", 2)


def fetch(*args: str):
    return CliRunner().invoke(cli, ["fetch", "--min-score", "0", *args])


def subreddits(path) -> Counter:
    with path.open(encoding="utf-8", newline="") as f:
        return Counter(row["subreddit"] for row in csv.DictReader(f))


def test_min_titles_drops_small_subreddits_and_reports_the_spread(tmp_path):
    dump = tmp_path / "RS.jsonl"
    dump.write_bytes(dump_lines(POSTS))
    out = tmp_path / "t.csv"

    result = fetch("--source", str(dump), "--min-titles", "3", "-o", str(out))

    assert result.exit_code == 0, result.output
    assert subreddits(out) == {"big": 6, "middle": 3}
    assert "Wrote 9 titles from 2 subreddits" in result.output
    assert (
        "Titles per subreddit: 3 to 6, median 4.5; left out 2 subreddits with fewer than "
        "--min-titles 3 (3 titles)." in result.output
    )


def test_without_min_titles_every_subreddit_is_kept(tmp_path):
    dump = tmp_path / "RS.jsonl"
    dump.write_bytes(dump_lines(POSTS))
    out = tmp_path / "t.csv"

    result = fetch("--source", str(dump), "-o", str(out))

    assert result.exit_code == 0, result.output
    assert subreddits(out) == {"big": 6, "middle": 3, "pair": 2, "tiny": 1}
    assert "Titles per subreddit: 1 to 6, median 2.5." in result.output


def test_min_titles_counts_titles_after_cleaning(tmp_path):
    # Three posts, but one is [deleted] and one repeats another once cleaned: two titles.
    rows = [
        {"subreddit": "s", "title": "Same &amp; title", "score": 3, "author": "a"},
        {"subreddit": "s", "title": "Same & title", "score": 2, "author": "b"},
        {"subreddit": "s", "title": "[deleted]", "score": 1, "author": "c"},
        *posts("big", 3),
    ]
    dump = tmp_path / "RS.jsonl"
    dump.write_bytes(dump_lines(rows))
    out = tmp_path / "t.csv"

    result = fetch("--source", str(dump), "--min-titles", "2", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert subreddits(out) == {"big": 3}


def test_min_titles_above_every_subreddit_writes_nothing(tmp_path):
    dump = tmp_path / "RS.jsonl"
    dump.write_bytes(dump_lines(POSTS))
    out = tmp_path / "t.csv"
    out.write_text("subreddit,title\nkeep,me\n", encoding="utf-8")

    result = fetch("--source", str(dump), "--min-titles", "7", "-o", str(out))

    assert result.exit_code == 1
    assert (
        "Error: No titles matched the selection, so nothing was written: every subreddit "
        "had fewer than --min-titles 7 titles." in result.output
    )
    assert "Traceback" not in result.output
    assert out.read_text(encoding="utf-8") == "subreddit,title\nkeep,me\n"


def test_min_titles_must_be_positive(tmp_path):
    result = fetch("--source", str(tmp_path), "--min-titles", "0")
    assert result.exit_code == 2
    assert "--min-titles" in result.output and "0" in result.output


def test_min_titles_on_bigquery(bigquery_table, tmp_path):
    table = bigquery_table(POSTS)
    out = tmp_path / "t.csv"

    result = fetch("--table", table, "--min-titles", "3", "-o", str(out))

    assert result.exit_code == 0, result.output
    assert subreddits(out) == {"big": 6, "middle": 3}
    assert "left out 2 subreddits with fewer than --min-titles 3 (3 titles)" in result.output


def test_min_titles_above_per_subreddit_is_refused_before_reading(tmp_path):
    result = fetch("--source", str(tmp_path / "missing.zst"), "--min-titles", "19")

    assert result.exit_code == 1
    assert result.output == (
        "Error: --min-titles 19 is more than --per-subreddit 18, the most titles a subreddit "
        "can have: no subreddit could stay. Lower --min-titles or raise --per-subreddit.\n"
    )


def test_a_repeated_title_takes_one_place_on_both_paths(bigquery_table, tmp_path):
    # The same month read twice (or a repost): each title is one candidate, so a subreddit
    # still gets --per-subreddit different titles.
    twice = POSTS + POSTS
    dump = tmp_path / "RS.jsonl"
    dump.write_bytes(dump_lines(twice))
    table = bigquery_table(twice)
    local, remote = tmp_path / "local.csv", tmp_path / "remote.csv"

    by_dump = fetch("--source", str(dump), "--per-subreddit", "3", "-o", str(local))
    by_query = fetch("--table", table, "--per-subreddit", "3", "-o", str(remote))

    assert by_dump.exit_code == 0 and by_query.exit_code == 0, by_dump.output + by_query.output
    assert subreddits(local) == {"big": 3, "middle": 3, "pair": 2, "tiny": 1}
    assert local.read_bytes() == remote.read_bytes()
