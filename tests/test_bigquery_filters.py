"""`titlegen fetch` on BigQuery (the emulator): the safe-default filters on the columns a table
has, their counts, several months in one query, and the same posts giving the same CSV and the
same counts through a dump."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FILTER_COLUMNS, POST_FIELDS, dump_lines, write_gz

from titlegen import fetching
from titlegen.cli import cli
from titlegen.errors import TitlegenError
from titlegen.fetching import bigquery
from titlegen.fetching.selection import RULES, Selection


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def post(title: str, score: int = 10, subreddit: str = "aww", **fields) -> dict:
    return {"subreddit": subreddit, "title": title, "score": score, "author": title, **fields}


# One post per rule, two posts matching two rules each, and posts each rule lets through
# (false, NULL, empty, 'public', a _meta without the flag).
POSTS = [
    post("kept plain"),
    post(
        "kept with every field",
        over_18=False,
        quarantine=False,
        removed_by_category="",
        subreddit_type="public",
        _meta={"was_deleted_later": False},
    ),
    post("kept, _meta without the flag", _meta={"removal_type": None}),
    post("nsfw", over_18=True),
    post("quarantined", quarantine=True),
    post("removed", removed_by_category="moderator"),
    post("deleted later", _meta={"was_deleted_later": True, "removal_type": "deleted"}),
    post("private", subreddit_type="private"),
    post("nsfw and removed", over_18=True, removed_by_category="reddit"),
    post("quarantined, restricted", quarantine=True, subreddit_type="restricted"),
    post("jokes kept", subreddit="Jokes", subreddit_type="public"),
]
KEPT = ["kept plain", "kept with every field", "kept, _meta without the flag"]
COUNTS = {"over_18": 2, "quarantined": 2, "removed": 2, "deleted_later": 1, "not_public": 2}


def titles(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return [row["title"] for row in csv.DictReader(f)]


def test_every_filter_and_its_count(bigquery_table, tmp_path):
    table = bigquery_table(POSTS, columns=FILTER_COLUMNS)
    out = tmp_path / "t.csv"

    summary = fetching.fetch_bigquery(Selection(min_score=0), out, table=table)

    assert titles(out) == ["jokes kept", *sorted(KEPT)]  # by score, then title
    assert dict(summary.left_out) == COUNTS and list(summary.left_out) == [r.name for r in RULES]
    assert summary.unavailable == ()
    assert summary.describe().splitlines()[1] == (
        "Left out posts: 2 marked over 18 (NSFW); 2 quarantined; 2 removed (by moderators, "
        "Reddit or their authors); 1 deleted later by their authors; "
        "2 from subreddits that are not public."
    )


def test_include_nsfw_takes_over_18_posts_back(bigquery_table, tmp_path):
    table = bigquery_table(POSTS, columns=FILTER_COLUMNS)
    out = tmp_path / "t.csv"

    result = run("fetch", "--table", table, "--min-score", "0", "--include-nsfw", "-o", str(out))

    assert result.exit_code == 0, result.output
    assert titles(out) == ["jokes kept", *sorted([*KEPT, "nsfw"])]  # not "nsfw and removed"
    assert (
        "Left out posts: 2 quarantined; 2 removed (by moderators, Reddit or their authors);"
        in result.output
    )
    assert "over 18" not in result.output and "The source has no" not in result.output


def test_a_table_without_the_columns_filters_nothing_and_says_so(bigquery_table, tmp_path):
    # Like fh-bigquery's monthly tables: over_18 and quarantine, none of the newer fields.
    table = bigquery_table(POSTS, columns=("over_18", "quarantine"))
    out = tmp_path / "t.csv"

    summary = fetching.fetch_bigquery(Selection(min_score=0), out, table=table)

    assert dict(summary.left_out) == {"over_18": 2, "quarantined": 2}
    assert summary.unavailable == ("removed", "deleted_later", "not_public")
    assert titles(out) == ["jokes kept", *sorted([*KEPT, "deleted later", "private", "removed"])]
    assert summary.describe().splitlines()[1:3] == [
        "Left out posts: 2 marked over 18 (NSFW); 2 quarantined.",
        "The source has no removed_by_category (removed), _meta.was_deleted_later "
        "(deleted_later), subreddit_type (not_public): those filters removed nothing.",
    ]


def test_a_meta_record_without_the_flag_is_unavailable(bqemu_client, tmp_path):
    from google.cloud import bigquery as bq

    name = f"test-project.reddit.meta_{uuid.uuid4().hex[:8]}"
    schema = [bq.SchemaField(n, "INT64" if n == "score" else "STRING") for n in POST_FIELDS]
    schema.append(bq.SchemaField("_meta", "RECORD", fields=[bq.SchemaField("x", "STRING")]))
    bqemu_client.create_dataset("test-project.reddit", exists_ok=True)
    table = bqemu_client.create_table(bq.Table(name, schema=schema))
    assert bqemu_client.insert_rows_json(table, [post("one")]) == []

    summary = fetching.fetch_bigquery(Selection(min_score=0), tmp_path / "t.csv", table=name)

    assert summary.unavailable == tuple(rule.name for rule in RULES) and summary.left_out == {}


def test_a_column_of_another_type_is_refused(bqemu_client, tmp_path):
    from google.cloud import bigquery as bq

    name = f"test-project.reddit.typed_{uuid.uuid4().hex[:8]}"
    schema = [bq.SchemaField(n, "INT64" if n == "score" else "STRING") for n in POST_FIELDS]
    schema.append(bq.SchemaField("over_18", "STRING"))
    bqemu_client.create_dataset("test-project.reddit", exists_ok=True)
    bqemu_client.create_table(bq.Table(name, schema=schema))

    with pytest.raises(TitlegenError) as refused:
        fetching.fetch_bigquery(Selection(), tmp_path / "t.csv", table=name)

    assert str(refused.value) == (
        f"{name} has a column over_18 of type STRING, not BOOL: titlegen cannot apply its "
        "over_18 filter; load that column as BOOL."
    )


# --- several months ------------------------------------------------------------------------


@pytest.fixture
def months(bqemu_client, bigquery_table):
    """fh-bigquery.reddit_posts.2011_01 to 2011_04 (2011_03 without over_18, as an older month
    might be); dropped afterwards, since the emulator lives for the whole session."""
    posts = {
        "2011_01": [post("jan top", 90), post("jan low", 1), post("jan nsfw", 95, over_18=True)],
        "2011_02": [post("feb top", 80), post("feb nsfw", 99, over_18=True)],
        "2011_03": [post("mar top", 85), post("mar unmarked", 97)],
        "2011_04": [post("apr top", 99), post("apr nsfw", 98, over_18=True)],
    }
    names = {}
    for month, rows in posts.items():
        columns = () if month == "2011_03" else ("over_18",)
        names[month] = bigquery_table(rows, f"fh-bigquery.reddit_posts.{month}", columns)
    yield names
    for name in names.values():
        bqemu_client.delete_table(name, not_found_ok=True)


def test_a_range_of_months_is_one_query(months, tmp_path):
    out = tmp_path / "t.csv"

    result = run("fetch", "--months", "2011_01:2011_03", "--per-subreddit", "3", "-o", str(out))

    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "Querying 3 months of fh-bigquery.reddit_posts (2011_01 to 2011_03) on 127.0.0.1:"
    )
    # The top 3 over the three months together; the nsfw posts of January and February are
    # left out, March has no over_18 column (the rule applies where the column is).
    assert titles(out) == ["mar unmarked", "jan top", "mar top"]
    assert "Left out posts: 2 marked over 18 (NSFW)." in result.output


def test_repeated_month_options_are_one_query(months, tmp_path):
    out = tmp_path / "t.csv"

    messages: list[str] = []

    summary = fetching.fetch_bigquery(
        Selection(min_score=0), out, month=["2011_04", "2011_01"], on_message=messages.append
    )

    assert messages[0].startswith(
        "Querying 2 months of fh-bigquery.reddit_posts (2011_01, 2011_04) on"
    )
    assert titles(out) == ["apr top", "jan top", "jan low"]
    assert summary.left_out == {"over_18": 2}


def test_a_dry_run_of_several_months_names_them(months, tmp_path):
    result = run("fetch", "--months", "2011_02:2011_04", "--dry-run", "-o", str(tmp_path / "t"))

    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "The query on 3 months of fh-bigquery.reddit_posts (2011_02 to 2011_04) would process 0 B"
    )
    assert not (tmp_path / "t").exists()


def test_a_missing_month_is_named_before_the_query(months, tmp_path):
    result = run("fetch", "--months", "2011_03:2011_05", "-o", str(tmp_path / "t.csv"))

    assert result.exit_code == 1
    assert "Error: BigQuery found no table fh-bigquery.reddit_posts.2011_05" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "t.csv").exists()


def test_a_query_file_reads_several_months_through_posts(months, tmp_path):
    query = tmp_path / "mine.sql"
    query.write_text(
        "SELECT subreddit, title, score FROM ${posts}\n"
        "WHERE NOT over_18 AND score >= @min_score ORDER BY score DESC\n"
    )
    out = tmp_path / "t.csv"

    result = run(
        "fetch", "--months", "2011_01:2011_04", "--query", str(query), "--min-score", "85",
        "-o", str(out),
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert titles(out) == ["apr top", "mar unmarked", "jan top", "mar top"]


def test_a_query_file_with_one_table_refuses_several_months(months, tmp_path):
    query = tmp_path / "mine.sql"
    query.write_text("SELECT subreddit, title FROM `${table}`")

    result = run("fetch", "--month", "2011_01", "--month", "2011_02", "--query", str(query))

    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        f"Error: --query {query} reads one table (${{table}}), not 2 months of "
        "fh-bigquery.reddit_posts (2011_01 to 2011_02): write ${posts} in it for the posts of "
        "every month, or pass one --month."
    )


MONTH_REFUSALS = [
    (["--months", "2019_06:2019_01"], "--months 2019_06:2019_01 starts after it ends"),
    (["--months", "2019_01-2019_06"], "--months must be two YYYY_MM months joined by ':'"),
    (["--month", "2019_01", "--months", "2019_01:2019_02"], "Pass --month or --months, not"),
    (["--table", "p-roject.d.t", "--months", "2019_01:2019_02"], "Pass --table or --months"),
    (["--table", "p-roject.d.t", "--month", "2019_01", "--month", "2019_02"], "Pass --table or"),
]


@pytest.mark.parametrize(("args", "message"), MONTH_REFUSALS)
def test_month_options_refused_before_any_request(args, message, tmp_path, monkeypatch):
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", "127.0.0.1:9")  # nothing listens there

    result = run("fetch", *args, "--timeout", "1", "-o", str(tmp_path / "t.csv"))

    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {message}") and "Querying" not in result.output


def test_the_posts_sql_is_one_line_of_checked_tables():
    from google.cloud.bigquery import SchemaField

    post = [SchemaField(name, "STRING") for name in ("subreddit", "title", "author")]
    schema = [*post, SchemaField("over_18", "BOOLEAN"), SchemaField("Subreddit_Type", "STRING")]
    sql, applied, unavailable = bigquery.posts_sql(
        {"p-roject.d.2019_01": schema, "p-roject.d.2019_02": post}, Selection().rules
    )

    assert "\n" not in sql and sql.count(" UNION ALL ") == 1
    assert sql.count("@min_score AS score") == 2  # no table has scores
    assert "over_18 IS TRUE AS over_18" in sql and "FALSE AS quarantined" in sql
    assert "COALESCE(subreddit_type, '') NOT IN ('', 'public') AS not_public" in sql
    assert (applied, unavailable) == (
        ("over_18", "not_public"),
        ("quarantined", "removed", "deleted_later"),
    )


# --- the same posts on both paths ----------------------------------------------------------


def test_the_same_posts_give_the_same_csv_and_counts_on_both_paths(bigquery_table, tmp_path):
    posts = [*POSTS, *(post(f"more {i}", i, "news", over_18=i % 3 == 0) for i in range(12))]
    table = bigquery_table(posts, columns=FILTER_COLUMNS)
    dump = write_gz(tmp_path / "RS.gz", dump_lines(posts))

    for selection in (Selection(min_score=0, per_subreddit=5), Selection(include_nsfw=True)):
        remote = fetching.fetch_bigquery(selection, tmp_path / "bq.csv", table=table)
        local = fetching.fetch_local(dump, selection, tmp_path / "local.csv")

        assert (tmp_path / "bq.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
        assert (dict(remote.left_out), remote.unavailable) == (dict(local.left_out), ())
        assert list(remote.left_out) == list(local.left_out)


def test_missing_fields_are_reported_alike_on_both_paths(bigquery_table, tmp_path):
    posts = [{k: v for k, v in p.items() if k in {*POST_FIELDS, "over_18"}} for p in POSTS]
    table = bigquery_table(posts, columns=("over_18",))
    dump = write_gz(tmp_path / "RS.gz", dump_lines(posts))

    remote = fetching.fetch_bigquery(Selection(min_score=0), tmp_path / "bq.csv", table=table)
    local = fetching.fetch_local(dump, Selection(min_score=0), tmp_path / "local.csv")

    assert (tmp_path / "bq.csv").read_bytes() == (tmp_path / "local.csv").read_bytes()
    assert (dict(remote.left_out), remote.unavailable) == (dict(local.left_out), local.unavailable)
    assert remote.unavailable == ("quarantined", "removed", "deleted_later", "not_public")


def test_everything_left_out_says_so_as_on_a_dump(bigquery_table, tmp_path):
    # The counts come back even when no title is selected, so BigQuery's error names them too.
    posts = [{"subreddit": "aww", "title": f"t{i}", "score": 5, "author": f"u{i}",
              "over_18": True} for i in range(4)]  # fmt: skip
    table = bigquery_table(posts, columns=("over_18",))
    dump = tmp_path / "RS.jsonl"
    dump.write_bytes(dump_lines(posts))

    by_query = CliRunner().invoke(
        cli, ["fetch", "--table", table, "--min-score", "0", "-o", str(tmp_path / "a.csv")]
    )
    by_dump = CliRunner().invoke(
        cli, ["fetch", "--source", str(dump), "--min-score", "0", "-o", str(tmp_path / "b.csv")]
    )

    assert by_query.exit_code == by_dump.exit_code == 1
    error = (
        "Error: No titles matched the selection, so nothing was written: no subreddit has a "
        "post scoring at least --min-score 0 among the posts the safe defaults kept (they left "
        "out 4 marked over 18 (NSFW)) (--include-nsfw keeps posts marked over 18).\n"
    )
    assert by_query.output.endswith(error)
    assert by_dump.output == error


def test_a_table_with_only_subreddit_and_title_gives_what_a_dump_gives(bqemu_client, tmp_path):
    from google.cloud import bigquery as bq

    name = f"{bigquery.EMULATOR_PROJECT}.reddit.titles_{uuid.uuid4().hex[:8]}"
    bqemu_client.create_dataset(name.rsplit(".", 1)[0], exists_ok=True)
    schema = [bq.SchemaField("subreddit", "STRING"), bq.SchemaField("title", "STRING")]
    table = bqemu_client.create_table(bq.Table(name, schema=schema))
    rows = [{"subreddit": s, "title": f"{s} {i}"} for s in ("aww", "Jokes") for i in range(3)]
    assert bqemu_client.insert_rows_json(table, rows) == []
    dump = tmp_path / "titles.jsonl"
    dump.write_bytes(dump_lines(rows))
    remote, local = tmp_path / "remote.csv", tmp_path / "local.csv"

    by_query = CliRunner().invoke(cli, ["fetch", "--table", name, "-o", str(remote)])
    by_dump = CliRunner().invoke(cli, ["fetch", "--source", str(dump), "-o", str(local)])

    assert by_query.exit_code == 0, by_query.output
    assert by_dump.exit_code == 0, by_dump.output
    assert remote.read_bytes() == local.read_bytes()
    assert len(remote.read_text(encoding="utf-8").splitlines()) == 7
    warning = "No post of the source has a score: --min-score left out nothing"
    assert warning in by_query.output and warning in by_dump.output


def test_a_table_without_titles_is_one_sentence(bqemu_client, tmp_path):
    from google.cloud import bigquery as bq

    name = f"{bigquery.EMULATOR_PROJECT}.reddit.comments_{uuid.uuid4().hex[:8]}"
    bqemu_client.create_dataset(name.rsplit(".", 1)[0], exists_ok=True)
    schema = [bq.SchemaField("subreddit", "STRING"), bq.SchemaField("body", "STRING")]
    bqemu_client.create_table(bq.Table(name, schema=schema))

    result = CliRunner().invoke(cli, ["fetch", "--table", name, "-o", str(tmp_path / "t.csv")])

    assert result.exit_code == 1
    assert result.output.endswith(
        f"Error: {name} has no title column: titlegen needs subreddit and title (and reads "
        "score and author where the table has them).\n"
    )
