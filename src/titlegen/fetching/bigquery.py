"""``titlegen fetch`` on BigQuery: run the title query with parameters and cost guards.

google-cloud-bigquery and pandas are imported inside the functions, so ``titlegen --help``
stays fast. ``BIGQUERY_EMULATOR_HOST`` (``host:port`` or a URL) points the client at an
emulator with anonymous credentials; that is how the tests run without Google Cloud.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import titlegen.fetching.selection as sel
from titlegen.errors import BigQueryError, TitlegenError
from titlegen.units import plural

if TYPE_CHECKING:
    import pandas as pd
    from google.cloud import bigquery

USD_PER_TIB = 6.25  # on-demand query price (cloud.google.com/bigquery/pricing); 1st TiB/month free
MAX_BYTES_BILLED = 50 * 2**30  # refuse queries scanning more than this (about $0.31); 0 = no cap
TIMEOUT = 60.0  # seconds to keep retrying to reach BigQuery before giving up
JOB_RETRY_TIMEOUT = 600.0  # seconds to keep rerunning a query that failed transiently
TRANSIENT_JOB_ERRORS = frozenset(
    {  # BigQuery's error reasons worth running the query again for
        "backendError",
        "internalError",
        "rateLimitExceeded",
        "jobBackendError",
        "jobInternalError",
        "jobRateLimitExceeded",
    }
)
QUERY_FILE = "reddit_titles.sql"
EMULATOR_PROJECT = "titlegen-local"  # billing project when talking to an emulator
EMULATOR_ENV = "BIGQUERY_EMULATOR_HOST"

NEXT_STEPS = "point --table at your own copy, or use --source with a Reddit dump"


@dataclass(frozen=True)
class Result:
    """Selected rows (``subreddit, title, score``) and what BigQuery processed to get them."""

    rows: pd.DataFrame
    bytes_processed: int | None
    removed: dict[str, int] = field(default_factory=dict)  # posts each filter rule left out
    unavailable: tuple[str, ...] = ()  # rules the table cannot apply (it lacks the column)


def price(nbytes: int) -> float:
    """On-demand price in US dollars of scanning ``nbytes``, before the free monthly TiB."""
    return nbytes / 2**40 * USD_PER_TIB


def build_query(
    selection: sel.Selection, *, table: str, query_file: Path | None = None
) -> tuple[str, dict[str, Any]]:
    """The SQL with the validated table name in it, and the parameters it uses."""
    if query_file is None:
        sql = sel.read_query(QUERY_FILE)
    else:
        try:
            sql = query_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise TitlegenError(f"Cannot read the query file {query_file}: {error}.") from error
    sql = sel.render(sql, table)
    used = sel.parameters_used(sql)
    return sql, {k: v for k, v in selection.parameters().items() if k in used}


def dry_run(
    selection: sel.Selection,
    *,
    table: str,
    query_file: Path | None = None,
    project: str | None = None,
    timeout: float = TIMEOUT,
) -> int:
    """Bytes the query would scan. Nothing is run or billed."""
    sql, parameters = build_query(selection, table=table, query_file=query_file)
    with _translated_errors(table, timeout):
        client = make_client(project)
        config = _job_config(parameters, dry_run=True, use_query_cache=False)
        job = client.query(
            sql, job_config=config, timeout=timeout, **_retries(timeout, rerun_failed_jobs=False)
        )
        return int(job.total_bytes_processed or 0)


def fetch(
    selection: sel.Selection,
    *,
    table: str,
    query_file: Path | None = None,
    project: str | None = None,
    max_bytes_billed: int = MAX_BYTES_BILLED,
    timeout: float = TIMEOUT,
) -> Result:
    """Run the query and return its rows; BigQuery refuses it if it would scan too much."""
    sql, parameters = build_query(selection, table=table, query_file=query_file)
    with _translated_errors(table, timeout, max_bytes_billed):
        client = make_client(project)
        config = _job_config(parameters, maximum_bytes_billed=max_bytes_billed or None)
        job = client.query(
            sql, job_config=config, timeout=timeout, **_retries(timeout, rerun_failed_jobs=False)
        )
        rows = _frame(job.result(**_retries(timeout)))
        missing = {"subreddit", "title"} - set(rows.columns)
        if missing:
            raise BigQueryError(
                f"The query must return subreddit and title columns; it returned "
                f"{', '.join(rows.columns) or 'no columns'}."
            )
        return Result(rows=rows, bytes_processed=job.total_bytes_processed)


def _frame(result: Any) -> pd.DataFrame:
    # A few thousand rows at most: built from the REST rows directly, which needs neither the
    # Storage API (another endpoint and permission) nor the deprecated to_dataframe().
    import pandas as pd

    columns = [field.name for field in result.schema]
    return pd.DataFrame([tuple(row.values()) for row in result], columns=columns)


def make_client(project: str | None) -> bigquery.Client:
    """A client for BigQuery, or for the emulator named by ``BIGQUERY_EMULATOR_HOST``."""
    from google.cloud import bigquery

    emulator = os.environ.get(EMULATOR_ENV)
    if not emulator:
        return bigquery.Client(project=project)
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials

    endpoint = emulator if "://" in emulator else f"http://{emulator}"
    return bigquery.Client(
        project=project or EMULATOR_PROJECT,
        credentials=AnonymousCredentials(),
        client_options=ClientOptions(api_endpoint=endpoint),
    )


def endpoint() -> str:
    """Where queries go, for messages."""
    return os.environ.get(EMULATOR_ENV) or "BigQuery"


def _job_config(parameters: dict[str, Any], **options: Any) -> bigquery.QueryJobConfig:
    from google.cloud import bigquery

    def parameter(name: str, value: Any) -> Any:
        if isinstance(value, list):
            return bigquery.ArrayQueryParameter(name, "STRING", value)
        return bigquery.ScalarQueryParameter(name, "INT64", value)

    query_parameters = [parameter(name, value) for name, value in sorted(parameters.items())]
    return bigquery.QueryJobConfig(query_parameters=query_parameters, **options)


def _retries(timeout: float, *, rerun_failed_jobs: bool = True) -> dict[str, Any]:
    """Retry policies: requests are retried for ``timeout`` seconds; a failed job is rerun for
    up to 10 minutes, but only for BigQuery's transient job errors.

    The client's own job retry also wraps the job's creation and reruns it when requests could
    not be sent at all, which hangs for 10 minutes on an unreachable endpoint whatever
    ``timeout`` says; so ``client.query`` gets ``rerun_failed_jobs=False`` and the job is rerun
    from ``job.result`` instead.
    """
    from google.api_core.retry import Retry
    from google.cloud.bigquery.retry import DEFAULT_RETRY

    job_retry = Retry(predicate=_transient_job_error, timeout=JOB_RETRY_TIMEOUT)
    return {
        "retry": DEFAULT_RETRY.with_timeout(timeout),
        "job_retry": job_retry if rerun_failed_jobs else None,
    }


def _transient_job_error(error: Exception) -> bool:
    details = getattr(error, "errors", None) or []
    reason = details[0].get("reason") if details and isinstance(details[0], dict) else None
    return reason in TRANSIENT_JOB_ERRORS


@contextlib.contextmanager
def _translated_errors(
    table: str, timeout: float, max_bytes_billed: int | None = None
) -> Iterator[None]:
    """Turn the client's exceptions into one sentence that says what to do next."""
    try:
        yield
    except TitlegenError:
        raise
    except Exception as error:
        translated = translate(error, table, timeout, max_bytes_billed)
        if translated is None:
            raise
        raise translated from error


def translate(
    error: Exception, table: str, timeout: float, max_bytes_billed: int | None = None
) -> BigQueryError | None:
    """The user-facing error for a google-cloud-bigquery exception, or None if unexpected."""
    import requests
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    if isinstance(error, auth.DefaultCredentialsError):
        return BigQueryError(
            "No Google Cloud credentials were found: run `gcloud auth application-default "
            "login` (or set GOOGLE_APPLICATION_CREDENTIALS), or use --source with a Reddit dump."
        )
    if isinstance(error, auth.RefreshError):
        return BigQueryError(
            f"Your Google Cloud credentials were refused ({_first_line(error)}): run "
            "`gcloud auth application-default login` again."
        )
    if isinstance(error, OSError) and "Project was not passed" in str(error):
        return BigQueryError(
            "No Google Cloud project is set to bill the query to: pass --project YOUR_PROJECT "
            "or run `gcloud config set project YOUR_PROJECT`."
        )
    if isinstance(error, (requests.ConnectionError, api.RetryError, api.ServiceUnavailable)):
        return BigQueryError(
            f"Could not reach {endpoint()} within {timeout:g} s: check your network "
            f"(or {EMULATOR_ENV}) and try again, raise --timeout, or use --source with a dump."
        )
    if not isinstance(error, api.GoogleAPICallError):
        return None
    reasons = {detail.get("reason") for detail in error.errors or [] if isinstance(detail, dict)}
    message = _first_line(error)
    if "bytesBilledLimitExceeded" in reasons or "limit for bytes billed" in message:
        limit = plural(max_bytes_billed, "byte") if max_bytes_billed else "the limit"
        return BigQueryError(
            f"BigQuery refused the query because it would scan more than {limit} "
            f"(--max-bytes-billed): check the cost with --dry-run, then raise the cap, "
            f"for example --max-bytes-billed 200GB."
        )
    if isinstance(error, api.Forbidden):
        return BigQueryError(
            f"BigQuery denied access to {table} ({message}); the public fh-bigquery Reddit "
            f"tables have refused many users since 2025: {NEXT_STEPS}, or pass --project "
            f"with a project that has BigQuery enabled."
        )
    if isinstance(error, api.NotFound):
        return BigQueryError(
            f"BigQuery found no table {table} ({message}): check --month or --table, or "
            f"{NEXT_STEPS}."
        )
    if isinstance(error, api.BadRequest):
        return BigQueryError(f"BigQuery rejected the query: {message}.")
    return BigQueryError(f"BigQuery failed: {message}.")


def _first_line(error: BaseException) -> str:
    text = getattr(error, "message", None) or str(error)
    return text.strip().splitlines()[0].rstrip(".") if text.strip() else type(error).__name__
