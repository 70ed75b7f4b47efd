"""The library under `titlegen fetch` (titlegen.fetching), called directly: what it returns and
what it reports through its callbacks. The CLI's output is tested in test_fetch.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import dump_lines, write_gz, write_zst

from titlegen import fetching
from titlegen.errors import TitlegenError
from titlegen.fetching.selection import MONTH, RULES, Selection, describe_tables, tables_for

TABLE = "my-project.reddit.posts"


def posts(n: int, subreddit: str = "aww") -> list[dict]:
    return [
        {"subreddit": subreddit, "title": f"title {i}", "score": i, "author": f"u{i}"}
        for i in range(n)
    ]


def test_fetch_local_reports_progress_and_returns_a_summary(tmp_path):
    dump = write_gz(tmp_path / "RS.gz", dump_lines(posts(3) + posts(2, "Jokes")))
    out = tmp_path / "t.csv"
    totals, steps, warnings = [], [], []

    summary = fetching.fetch_local(
        dump,
        Selection(min_score=0),
        out,
        on_total=totals.append,
        on_progress=steps.append,
        on_warning=warnings.append,
    )

    spread = fetching.Spread(subreddits=2, least=2, median=2.5, most=3)
    no_fields = tuple(rule.name for rule in RULES)  # these posts have none of the rules' fields
    assert summary == fetching.Summary(
        out, titles=5, subreddits=2, posts=5, skipped=0, unavailable=no_fields, spread=spread
    )
    assert totals == [dump.stat().st_size] and sum(steps) == dump.stat().st_size
    assert warnings == []
    assert out.read_text().splitlines()[:2] == ["subreddit,title", "Jokes,title 1"]


def test_fetch_local_warns_of_a_dump_that_ends_early(tmp_path):
    whole = write_zst(tmp_path / "whole.zst", dump_lines(posts(30000)))
    cut = tmp_path / "RS_cut.zst"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    warnings: list[str] = []

    summary = fetching.fetch_local(
        cut, Selection(per_subreddit=100000), tmp_path / "t.csv", on_warning=warnings.append
    )

    assert warnings == [
        f"{cut} ended early (an incomplete download?); used the posts before the cut."
    ]
    assert 0 < summary.titles < 30000


def test_nothing_selected_writes_nothing(tmp_path):
    dump = write_gz(tmp_path / "RS.gz", dump_lines(posts(3)))
    out = tmp_path / "t.csv"

    with pytest.raises(TitlegenError, match="No titles matched the selection"):
        fetching.fetch_local(dump, Selection(subreddits=("nosuchsub",)), out)

    assert not out.exists()


def test_fetch_bigquery_returns_a_summary(bigquery_table, tmp_path):
    table = bigquery_table(posts(4) + posts(1, "Jokes"))
    out = tmp_path / "t.csv"
    messages: list[str] = []

    summary = fetching.fetch_bigquery(
        Selection(min_score=0), out, table=table, on_message=messages.append
    )

    assert (summary.titles, summary.subreddits, summary.bigquery) == (5, 2, True)
    assert summary.describe() == (
        f"Wrote 5 titles from 2 subreddits to {out} (BigQuery processed "
        f"{'unknown' if summary.bytes_processed is None else '0 B'}).\n"
        "The source has no over_18, quarantine (quarantined), removed_by_category "
        "(removed), _meta.was_deleted_later (deleted_later), subreddit_type (not_public): "
        "those filters removed nothing.\n"
        "Titles per subreddit: 1 to 4, median 2.5."
    )
    assert len(messages) == 1 and messages[0].startswith(f"Querying {table} on 127.0.0.1:")


def test_dry_run_returns_bytes_price_and_the_cap(bigquery_table):
    table = bigquery_table(posts(2))

    result = fetching.dry_run(Selection(), table=table, max_bytes_billed=1000)

    assert result == fetching.DryRun(table, nbytes=0, max_bytes_billed=1000)
    assert (result.price, result.over_cap) == (0.0, False)


def test_a_dry_run_over_the_cap_says_how_to_raise_it():
    # bqemulator reports 0 bytes for every query, so a big one is built here.
    result = fetching.DryRun("p-roject.d.t", nbytes=2**40, max_bytes_billed=50 * 2**30)

    assert result.over_cap and result.price == 6.25
    assert result.describe().splitlines() == [
        "The query on p-roject.d.t would process 1 TiB: about $6.25 at $6.25 per TiB on demand "
        "(the first 1 TiB each month is free). Nothing was run or billed.",
        "That is over the --max-bytes-billed cap of 50 GiB: raise it, for example "
        "--max-bytes-billed 2TiB",
    ]
    assert not fetching.DryRun("p-roject.d.t", nbytes=2**40, max_bytes_billed=0).over_cap


def test_summaries_count_in_words():
    one = fetching.Summary(Path("t.csv"), titles=1, subreddits=1, posts=1, skipped=1)
    many = fetching.Summary(Path("t.csv"), titles=1234, subreddits=2, posts=5000, skipped=0)

    assert one.describe() == (
        "Wrote 1 title from 1 subreddit to t.csv (read 1 post, skipped 1 malformed line)."
    )
    assert many.describe() == (
        "Wrote 1,234 titles from 2 subreddits to t.csv (read 5,000 posts, "
        "skipped 0 malformed lines)."
    )


def test_tables_for():
    assert tables_for() == (f"fh-bigquery.reddit_posts.{MONTH}",)
    assert tables_for(month="2019_01") == ("fh-bigquery.reddit_posts.2019_01",)
    assert tables_for(TABLE) == (TABLE,)
    # Repeated months: each once, in order.
    assert tables_for(month=["2019_03", "2018_12", "2019_03"]) == (
        "fh-bigquery.reddit_posts.2018_12",
        "fh-bigquery.reddit_posts.2019_03",
    )
    assert tables_for(months="2018_11:2019_02") == tuple(
        f"fh-bigquery.reddit_posts.{m}" for m in ("2018_11", "2018_12", "2019_01", "2019_02")
    )
    assert tables_for(months="2019_05:2019_05") == ("fh-bigquery.reddit_posts.2019_05",)


REFUSALS = {
    "table and month": ({"table": TABLE, "month": "2019_01"}, "Pass --table or --month, not both."),
    "table and months": (
        {"table": TABLE, "months": "2019_01:2019_02"},
        "Pass --table or --months, not both.",
    ),
    "month and months": (
        {"month": ["2019_01"], "months": "2019_01:2019_02"},
        "Pass --month or --months, not both.",
    ),
    "all three": (
        {"table": TABLE, "month": ["2019_01"], "months": "2019_01:2019_02"},
        "Pass --table or --month or --months, not all three.",
    ),
    "backwards": (
        {"months": "2019_06:2019_01"},
        "--months 2019_06:2019_01 starts after it ends: put the earlier month first.",
    ),
    "one month": (
        {"months": "2019_01"},
        "--months must be two YYYY_MM months joined by ':', like 2019_01:2019_06, not '2019_01'.",
    ),
    "dashes": ({"months": "2019-01:2019-06"}, "--months must be two YYYY_MM months joined by"),
    "month 13": ({"months": "2019_01:2019_13"}, "--months must be two YYYY_MM months joined by"),
    "three": ({"months": "2019_01:2019_02:2019_03"}, "--months must be two YYYY_MM months"),
    "SQL": ({"months": "2019_01:2019_02`; DROP"}, "--months must be two YYYY_MM months"),
    "too long": (
        {"months": "1999_01:2029_01"},
        "--months 1999_01:2029_01 spans 361 months, more than 240: query a shorter range.",
    ),
    "a bad --month among good ones": (
        {"month": ["2019_01", "2019_1"]},
        "--month must look like 2019_08 (YYYY_MM), not '2019_1'.",
    ),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_tables_for_refuses_in_one_sentence(case):
    arguments, message = REFUSALS[case]
    with pytest.raises(TitlegenError) as refused:
        tables_for(**arguments)
    assert str(refused.value).startswith(message)


def test_describe_tables_names_the_months():
    def months(*names: str) -> list[str]:
        return [f"fh-bigquery.reddit_posts.{name}" for name in names]

    assert describe_tables(["p-roject.d.t"]) == "p-roject.d.t"
    assert describe_tables(months("2018_12", "2019_01", "2019_02", "2019_05")) == (
        "4 months of fh-bigquery.reddit_posts (2018_12 to 2019_02, 2019_05)"
    )
    assert describe_tables(months("2019_01", "2019_03")) == (
        "2 months of fh-bigquery.reddit_posts (2019_01, 2019_03)"
    )
