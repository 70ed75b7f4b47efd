"""The safe-default filters on local dumps: each rule, its count, --include-nsfw, and dumps that
lack the fields (nothing filtered, and the summary says so)."""

from __future__ import annotations

import csv

from click.testing import CliRunner
from conftest import dump_lines, write_gz

from titlegen.cli import cli
from titlegen.fetching import dumps
from titlegen.fetching.selection import RULES, Selection

EVERYTHING = Selection(min_score=0, per_subreddit=1000)


def full(title: str, **fields) -> dict:
    """A post with every field the rules read, none of them set."""
    post = {
        "subreddit": "aww",
        "title": title,
        "score": 10,
        "author": f"u_{title}",
        "over_18": False,
        "quarantine": False,
        "removed_by_category": None,
        "subreddit_type": "public",
        "_meta": {"was_deleted_later": False, "removal_type": None},
    }
    return post | fields


POSTS = [
    full("clean one"),
    full("clean two"),
    full("empty category is not removed", removed_by_category=""),
    full("nsfw", over_18=True),
    full("quarantined", quarantine=True),
    full("removed", removed_by_category="moderator"),
    full("deleted later", _meta={"was_deleted_later": True}),
    full("restricted", subreddit_type="restricted"),
    full("nsfw and removed", over_18=True, removed_by_category="reddit"),  # counts under both
]
KEPT = {"clean one", "clean two", "empty category is not removed"}
REMOVED = {"over_18": 2, "quarantined": 1, "removed": 2, "deleted_later": 1, "not_public": 1}


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def titles(path) -> set[str]:
    with path.open(encoding="utf-8", newline="") as f:
        return {row["title"] for row in csv.DictReader(f)}


def test_each_rule_leaves_its_posts_out_and_is_counted(tmp_path):
    dump = write_gz(tmp_path / "RS.gz", dump_lines(POSTS))

    rows, stats = dumps.select_titles([dump], EVERYTHING)

    assert set(rows["title"]) == KEPT
    assert stats.left_out == REMOVED
    assert list(stats.left_out) == [rule.name for rule in RULES]  # RULES order
    assert stats.unavailable == ()
    assert stats.posts == len(POSTS)


def test_the_summary_says_what_each_rule_left_out(tmp_path):
    dump = write_gz(tmp_path / "RS.gz", dump_lines(POSTS))
    out = tmp_path / "t.csv"

    result = run("fetch", "--source", str(dump), "--min-score", "0", "-o", str(out))

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[1] == (
        "Left out posts: 2 marked over 18 (NSFW); 1 quarantined; 2 removed (by moderators, "
        "Reddit or their authors); 1 deleted later by their authors; "
        "1 from subreddits that are not public."
    )
    assert "The source has no" not in result.output
    assert titles(out) == KEPT


def test_include_nsfw_takes_over_18_posts_back(tmp_path):
    dump = write_gz(tmp_path / "RS.gz", dump_lines(POSTS))
    out = tmp_path / "t.csv"

    rows, stats = dumps.select_titles([dump], Selection(min_score=0, include_nsfw=True))
    result = run(
        "fetch", "--source", str(dump), "--min-score", "0", "--include-nsfw", "-o", str(out)
    )

    assert set(rows["title"]) == KEPT | {"nsfw"}  # "nsfw and removed" is still removed
    assert "over_18" not in stats.left_out and stats.left_out["removed"] == 2
    assert "marked over 18" not in result.output
    assert titles(out) == KEPT | {"nsfw"}


def test_a_dump_without_the_fields_filters_nothing_and_says_so(tmp_path):
    bare = [{"subreddit": "aww", "title": f"t{i}", "score": 5, "author": "a"} for i in range(3)]
    dump = write_gz(tmp_path / "RS_2015.gz", dump_lines(bare))
    out = tmp_path / "t.csv"

    rows, stats = dumps.select_titles([dump], EVERYTHING)
    result = run("fetch", "--source", str(dump), "-o", str(out))

    assert len(rows) == 3
    assert stats.left_out == {}
    assert stats.unavailable == tuple(rule.name for rule in RULES)
    assert (
        "The source has no over_18, quarantine (quarantined), removed_by_category "
        "(removed), _meta.was_deleted_later (deleted_later), subreddit_type (not_public): "
        "those filters removed nothing."
    ) in result.output
    assert "Left out posts" not in result.output


def test_a_field_present_but_null_everywhere_is_applied_and_removes_nothing(tmp_path):
    # As on BigQuery, where the column exists: the rule applies; it just matches no post.
    posts = [
        {"subreddit": "aww", "title": "a", "score": 5, "removed_by_category": None, "_meta": {}},
        {"subreddit": "aww", "title": "b", "score": 5, "removed_by_category": None},
    ]
    dump = write_gz(tmp_path / "RS.gz", dump_lines(posts))

    rows, stats = dumps.select_titles([dump], EVERYTHING)

    assert len(rows) == 2
    assert stats.left_out == {"removed": 0}
    assert stats.unavailable == ("over_18", "quarantined", "deleted_later", "not_public")


def test_a_field_any_file_has_applies_to_all_files(tmp_path):
    old = write_gz(
        tmp_path / "RS_2015.gz", dump_lines([{"subreddit": "aww", "title": "old", "score": 1}])
    )
    new = write_gz(tmp_path / "RS_2026.gz", dump_lines([full("new nsfw", over_18=True)]))

    rows, stats = dumps.select_titles([old, new], EVERYTHING)

    assert set(rows["title"]) == {"old"}
    assert stats.unavailable == ()
    assert stats.left_out == {
        "over_18": 1,
        "quarantined": 0,
        "removed": 0,
        "deleted_later": 0,
        "not_public": 0,
    }


def test_every_rule_has_its_column_in_the_loaded_table():
    assert {rule.column for rule in RULES} <= set(dumps._LOADED)
