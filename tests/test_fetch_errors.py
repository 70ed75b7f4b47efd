"""Bad input to `titlegen fetch`: one clear sentence, a non-zero exit, no traceback, and no file
written (an existing one is left as it was)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import dump_lines, write_gz

from titlegen.cli import cli
from titlegen.fetching import bigquery

POSTS = [{"subreddit": "aww", "title": "a good dog", "score": 9, "author": "x"}]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def out(tmp_path) -> Path:
    """An output file that already holds a good dataset: failures must leave it untouched."""
    path = tmp_path / "titles.csv"
    path.write_text("subreddit,title\naww,the old file\n", encoding="utf-8")
    return path


def assert_refused(result, out: Path, message: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert out.read_text(encoding="utf-8") == "subreddit,title\naww,the old file\n"
    assert [p.name for p in out.parent.iterdir()] == [out.name] or all(
        not p.name.endswith(".tmp") for p in out.parent.iterdir()
    )


@pytest.mark.parametrize(
    "table",
    [
        "test-project.reddit.posts` WHERE 1=1; DROP TABLE x; --",
        "test-project.reddit.posts; SELECT 1",
        "test-project.reddit",
        "Test-Project.reddit.posts",
        "test-project.reddit.posts\nUNION ALL",
    ],
)
def test_table_names_with_sql_are_refused_before_any_request(table, out, monkeypatch):
    # Nothing listens at this endpoint: a request would fail with "Could not reach" instead.
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", f"127.0.0.1:{closed_port()}")

    result = run("fetch", "--table", table, "--timeout", "1", "-o", str(out))

    assert_refused(result, out, "Error: --table must be PROJECT.DATASET.TABLE")
    assert "Querying" not in result.output


def test_unreachable_endpoint(out, monkeypatch):
    port = closed_port()
    monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", f"127.0.0.1:{port}")

    result = run("fetch", "--table", "test-project.reddit.posts", "--timeout", "1", "-o", str(out))

    assert_refused(result, out, f"Error: Could not reach 127.0.0.1:{port} within 1 s")
    assert "--source" in result.output


def test_missing_credentials(out, tmp_path, monkeypatch):
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))

    result = run("fetch", "--month", "2019_08", "-o", str(out))

    assert_refused(result, out, "Error: No Google Cloud credentials were found")
    assert "gcloud auth application-default login" in result.output


def test_missing_billing_project(out, tmp_path, monkeypatch):
    # Well-formed user credentials with no project in them or in the environment: the client
    # stops before any request is made.
    key = tmp_path / "user.json"
    key.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "id",
                "client_secret": "secret",
                "refresh_token": "token",
            }
        )
    )
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))

    result = run("fetch", "--month", "2019_08", "-o", str(out))

    assert_refused(result, out, "Error: No Google Cloud project is set")
    assert "--project" in result.output


# bqemulator has no IAM and does not enforce maximum_bytes_billed, so these two answers of
# real BigQuery cannot be produced here: the errors below are built as the client raises them.
def test_access_denied_says_what_to_do_next():
    from google.api_core import exceptions as api

    error = api.Forbidden(
        "Access Denied: Table fh-bigquery:reddit_posts.2019_08: User does not have permission "
        "to query table fh-bigquery:reddit_posts.2019_08.",
        errors=[{"reason": "accessDenied"}],
    )

    message = str(bigquery.translate(error, "fh-bigquery.reddit_posts.2019_08", 60))

    assert message.startswith("BigQuery denied access to fh-bigquery.reddit_posts.2019_08")
    assert "--table" in message and "--source" in message and "--project" in message


def test_bytes_billed_cap_says_how_to_raise_it():
    from google.api_core import exceptions as api

    error = api.BadRequest(
        "Query exceeded limit for bytes billed: 1000. 10485760 or higher required.",
        errors=[{"reason": "bytesBilledLimitExceeded"}],
    )

    message = str(bigquery.translate(error, "p-roject.d.t", 60, max_bytes_billed=1000))

    assert "more than 1,000 bytes" in message
    assert "--dry-run" in message and "--max-bytes-billed 200GB" in message


def test_missing_source(out, tmp_path):
    result = run("fetch", "--source", str(tmp_path / "RS_2019-08.zst"), "-o", str(out))
    assert_refused(result, out, "RS_2019-08.zst does not exist")


def test_folder_without_dumps(out, tmp_path):
    (tmp_path / "empty").mkdir()
    result = run("fetch", "--source", str(tmp_path / "empty"), "-o", str(out))
    assert_refused(result, out, "holds no dump files")


def test_corrupt_gzip(out, tmp_path):
    bad = tmp_path / "RS.gz"
    bad.write_bytes(b"\x1f\x8b" + b"not really gzip" * 50)
    result = run("fetch", "--source", str(bad), "-o", str(out))
    assert_refused(result, out, "is not a valid gzip file")


def test_file_that_is_not_a_dump(out, tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("just some text\nnot json at all\n")
    result = run("fetch", "--source", str(text), "-o", str(out))
    assert_refused(result, out, "No Reddit posts could be read")


def test_nothing_selected(out, tmp_path):
    dump = write_gz(tmp_path / "RS.gz", dump_lines(POSTS))
    result = run("fetch", "--source", str(dump), "--subreddit", "nosuchsub", "-o", str(out))
    assert_refused(result, out, "No titles matched the selection, so nothing was written")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--per-subreddit", "0"], "'--per-subreddit': 0 is not in the range x>=1"),
        (["--top-subreddits", "-3"], "'--top-subreddits': -3 is not in the range x>=1"),
        (["--max-bytes-billed", "lots"], "'lots' is not a size"),
        (["--timeout", "0"], "'--timeout': 0.0 is not in the range x>0"),
    ],
)
def test_bad_numbers_are_usage_errors(args, message, out, tmp_path):
    dump = write_gz(tmp_path / "RS.gz", dump_lines(POSTS))
    result = run("fetch", "--source", str(dump), "-o", str(out), *args)
    assert_refused(result, out, message, code=2)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--dry-run"], "--dry-run is for BigQuery and cannot be used with --source"),
        (["--table", "test-project.a.b"], "--table is for BigQuery"),
        (["--month", "2019_08"], "--month is for BigQuery"),
        (["--months", "2019_01:2019_06"], "--months is for BigQuery"),
    ],
)
def test_bigquery_options_with_source(args, message, out, tmp_path):
    dump = write_gz(tmp_path / "RS.gz", dump_lines(POSTS))
    result = run("fetch", "--source", str(dump), "-o", str(out), *args)
    assert_refused(result, out, message)


def test_table_and_month_together(out):
    result = run("fetch", "--table", "test-project.a.b", "--month", "2019_08", "-o", str(out))
    assert_refused(result, out, "Pass --table or --month, not both")


@pytest.mark.parametrize("month", ["2019-08", "2019_13", "19_08", "2019_08; DROP"])
def test_bad_month(month, out):
    result = run("fetch", "--month", month, "-o", str(out))
    assert_refused(result, out, "--month must look like 2019_08")


@pytest.mark.parametrize(
    "months", ["2019_08", "2019_01:2019_13", "2019_01:2019_06`; DROP", "2019_06:2019_01"]
)
def test_bad_months(months, out):
    result = run("fetch", "--months", months, "-o", str(out))
    assert_refused(result, out, "Error: --months ")
    assert "Querying" not in result.output


def test_table_and_months_together(out):
    result = run(
        "fetch", "--table", "test-project.a.b", "--months", "2019_01:2019_02", "-o", str(out)
    )
    assert_refused(result, out, "Pass --table or --months, not both")


def test_unwritable_output(tmp_path):
    dump = write_gz(tmp_path / "RS.gz", dump_lines(POSTS))
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")

    result = run("fetch", "--source", str(dump), "-o", str(blocker / "titles.csv"))

    assert result.exit_code == 1
    assert "Error: Cannot write" in result.output and "Traceback" not in result.output
