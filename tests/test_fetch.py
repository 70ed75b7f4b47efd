"""`titlegen fetch` end to end, on BigQuery (a real emulator) and on local dumps: both paths must
write the same CSV for the same posts, and that CSV must be exactly what the selection means."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import dump_lines, write_gz, write_zst

from titlegen.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"


def post(subreddit, title, score, author):
    return {"subreddit": subreddit, "title": title, "score": score, "author": author}


# Posts chosen to exercise every rule of the selection and of the cleaning.
POSTS = [
    post("AskReddit", "What&#39;s your &quot;comfort&quot; food?", 50, "a1"),
    post("AskReddit", "Best advice, ever?\nGo.", 40, "a2"),
    post("AskReddit", "[deleted]", 30, "a3"),
    post("AskReddit", None, 100, "a4"),  # no title: not a candidate, but its author counts
    post("AskReddit", "Low score, still top 3", 1, "a1"),  # the score filter is for subreddits
    post("AskReddit", "Too low to make the cut", 0, "a2"),
    post("worldnews", "Talks resume &amp; markets rally", 20, "w1"),
    post("worldnews", "Talks resume & markets rally", 10, "w2"),  # the same title once cleaned
    post("worldnews", "שלום: ceasefire holds, officials say", 15, "w1"),
    post("worldnews", "Tab\tand\u00a0nbsp  spaces\ufffd here ", 5, "w2"),
    post("aww", '🐶 good boy, "very" good', 5, "x1"),
    post("aww", "[removed]", 3, "x1"),
    post("aww", "  \n ", 2, "x1"),
    post("LOWSCORE", "never a candidate by score", 4, "l1"),
    post("CursedImages", "excluded whatever its case", 50, "c1"),
    *[post("me_irl", f"me_irl {i}", 999 - i, f"m{i}") for i in range(5)],
]

EXPECTED = """\
subreddit,title
AskReddit,"What's your ""comfort"" food?"
AskReddit,"Best advice, ever? Go."
AskReddit,"Low score, still top 3"
AskReddit,Too low to make the cut
aww,"🐶 good boy, ""very"" good"
worldnews,Talks resume & markets rally
worldnews,"שלום: ceasefire holds, officials say"
worldnews,Tab and nbsp spaces here
"""

# (options, expected subreddit/title pairs) checked on both paths.
OPTION_CASES = {
    "top 2 subreddits, 2 titles each": (
        ["--top-subreddits", "2", "--per-subreddit", "2"],
        [
            ("AskReddit", 'What\'s your "comfort" food?'),
            ("AskReddit", "Best advice, ever? Go."),
            ("worldnews", "Talks resume & markets rally"),
            ("worldnews", "שלום: ceasefire holds, officials say"),
        ],
    ),
    "exactly these subreddits": (
        ["--subreddit", "aww", "--subreddit", "lowscore"],
        [("LOWSCORE", "never a candidate by score"), ("aww", '🐶 good boy, "very" good')],
    ),
    "--exclude replaces the default list": (
        [
            "--exclude",
            "AskReddit",
            "--exclude",
            "worldnews",
            "--exclude",
            "aww",
            "--exclude",
            "cursedimages",
            "--per-subreddit",
            "2",
        ],
        [("me_irl", "me_irl 0"), ("me_irl", "me_irl 1")],
    ),
    "higher --min-score": (
        ["--min-score", "30"],
        [
            ("AskReddit", 'What\'s your "comfort" food?'),
            ("AskReddit", "Best advice, ever? Go."),
            ("AskReddit", "Low score, still top 3"),
            ("AskReddit", "Too low to make the cut"),
        ],
    ),
}


def run(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def read_pairs(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return [(row["subreddit"], row["title"]) for row in csv.DictReader(f)]


def test_local_zst_dump_gives_exactly_the_selection(tmp_path):
    dump = write_zst(tmp_path / "RS_2019-08.zst", dump_lines(POSTS))
    out = tmp_path / "titles.csv"

    result = run("fetch", "--source", str(dump), "-o", str(out))

    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == EXPECTED
    assert "Wrote 8 titles from 3 subreddits" in result.output
    assert f"read {len(POSTS)} posts, skipped 0 malformed lines" in result.output


def test_one_title_is_one_title(tmp_path):
    dump = write_gz(tmp_path / "RS.gz", dump_lines([post("aww", "a good dog", 9, "x")]) + b"{\n")
    out = tmp_path / "titles.csv"

    result = run("fetch", "--source", str(dump), "-o", str(out))

    assert result.exit_code == 0, result.output
    assert result.output == (
        f"Wrote 1 title from 1 subreddit to {out} (read 1 post, skipped 1 malformed line).\n"
        "The source has no over_18, quarantine (quarantined), removed_by_category "
        "(removed), _meta.was_deleted_later (deleted_later), subreddit_type (not_public): those "
        "filters removed nothing.\n"
        "Titles per subreddit: 1.\n"
    )


def test_the_zst_fixture_needs_the_large_window(tmp_path):
    # Guards the test above: the fixture really is a `zstd --long=31` stream, which a decoder
    # with default limits (duckdb's among them) refuses.
    import zstandard

    dump = write_zst(tmp_path / "RS.zst", dump_lines(POSTS))
    with pytest.raises(zstandard.ZstdError, match="too much memory"):
        zstandard.ZstdDecompressor().stream_reader(dump.open("rb")).read()


def test_bigquery_gives_exactly_the_selection(bigquery_table, tmp_path):
    table = bigquery_table(POSTS)
    out = tmp_path / "titles.csv"

    result = run("fetch", "--table", table, "-o", str(out))

    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == EXPECTED
    assert "BigQuery processed" in result.output


@pytest.mark.parametrize("case", OPTION_CASES, ids=list(OPTION_CASES))
def test_options_select_the_same_rows_on_both_paths(case, bigquery_table, tmp_path):
    options, expected = OPTION_CASES[case]
    table = bigquery_table(POSTS)
    dump = write_gz(tmp_path / "RS.jsonl.gz", dump_lines(POSTS))

    local = run("fetch", "--source", str(dump), "-o", str(tmp_path / "local.csv"), *options)
    remote = run("fetch", "--table", table, "-o", str(tmp_path / "bq.csv"), *options)

    assert local.exit_code == 0, local.output
    assert remote.exit_code == 0, remote.output
    assert read_pairs(tmp_path / "local.csv") == expected
    assert read_pairs(tmp_path / "bq.csv") == expected


def test_bundled_sample_is_the_same_on_bigquery_and_locally(bigquery_table, tmp_path):
    posts = [json.loads(line) for line in (SAMPLE / "RS_2019-08_sample.jsonl").open()]
    # The sample has the safe defaults' fields of 2019 (not _meta): the table has them too.
    columns = ("over_18", "quarantine", "removed_by_category", "subreddit_type")
    bigquery_table(posts, name="fh-bigquery.reddit_posts.2019_08", columns=columns)

    remote = run("fetch", "-o", str(tmp_path / "bq.csv"))  # the default: --month 2019_08
    local = run("fetch", "--source", str(SAMPLE), "-o", str(tmp_path / "local.csv"))

    assert remote.exit_code == 0, remote.output
    assert "fh-bigquery.reddit_posts.2019_08" in remote.output
    assert local.exit_code == 0, local.output
    assert (tmp_path / "bq.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    left_out = (
        "Left out posts: 3 marked over 18 (NSFW); 1 quarantined; 2 removed (by moderators, "
        "Reddit or their authors); 1 from subreddits that are not public.\n"
        "The source has no _meta.was_deleted_later (deleted_later): those filters removed "
        "nothing.\n"
    )
    assert left_out in remote.output and left_out in local.output
    pairs = read_pairs(tmp_path / "local.csv")
    per_subreddit = {s: sum(1 for sub, _ in pairs if sub == s) for s, _ in pairs}
    assert len(per_subreddit) >= 12 and "me_irl" not in per_subreddit
    assert max(per_subreddit.values()) == 18
    assert [s for s, _ in pairs] == sorted(s for s, _ in pairs)


def test_sample_is_big_and_varied_enough():
    posts = [json.loads(line) for line in (SAMPLE / "RS_2019-08_sample.jsonl").open()]
    subreddits = {p["subreddit"] for p in posts}
    assert len(posts) >= 600 and len(subreddits) >= 12
    assert len({p["title"] for p in posts}) >= 600
    assert all({"subreddit", "title", "score", "author"} <= p.keys() for p in posts)


def test_dry_run_reports_bytes_and_price_and_writes_nothing(bigquery_table, tmp_path):
    table = bigquery_table(POSTS)
    out = tmp_path / "titles.csv"

    result = run("fetch", "--table", table, "--dry-run", "-o", str(out))

    assert result.exit_code == 0, result.output
    assert f"The query on {table} would process 0 B" in result.output
    assert "$6.25 per TiB" in result.output and "first 1 TiB each month is free" in result.output
    assert "Nothing was run or billed" in result.output
    assert not out.exists()


def test_custom_query_file(bigquery_table, tmp_path):
    table = bigquery_table(POSTS)
    query = tmp_path / "mine.sql"
    query.write_text(
        "SELECT subreddit, title FROM `${table}`\n"
        "WHERE score >= @min_score AND subreddit = 'worldnews'\n"
    )
    out = tmp_path / "titles.csv"

    result = run(
        "fetch", "--table", table, "--query", str(query), "--min-score", "15", "-o", str(out)
    )

    assert result.exit_code == 0, result.output
    assert sorted(read_pairs(out)) == [
        ("worldnews", "Talks resume & markets rally"),
        ("worldnews", "שלום: ceasefire holds, officials say"),
    ]


def test_custom_query_without_a_title_column_is_refused(bigquery_table, tmp_path):
    table = bigquery_table(POSTS)
    query = tmp_path / "bad.sql"
    query.write_text("SELECT subreddit, score FROM `${table}`")
    out = tmp_path / "titles.csv"

    result = run("fetch", "--table", table, "--query", str(query), "-o", str(out))

    assert result.exit_code == 1
    assert "must return subreddit and title columns; it returned subreddit, score" in (
        result.output
    )
    assert not out.exists()


def test_missing_table_is_one_clear_sentence(bqemu_client, tmp_path):
    out = tmp_path / "titles.csv"

    result = run("fetch", "--table", "test-project.reddit.nothing_here", "-o", str(out))

    assert result.exit_code == 1
    assert result.output.startswith("Querying")
    assert "Error: BigQuery found no table test-project.reddit.nothing_here" in result.output
    assert "--source" in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_csv_is_parseable_and_round_trips(tmp_path):
    dump = write_zst(tmp_path / "RS.zst", dump_lines(POSTS))
    out = tmp_path / "titles.csv"
    run("fetch", "--source", str(dump), "-o", str(out))

    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))

    assert rows[0] == ["subreddit", "title"]
    assert all(len(row) == 2 for row in rows)
    assert ("aww", '🐶 good boy, "very" good') in [tuple(r) for r in rows]
