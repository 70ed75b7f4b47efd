"""``titlegen fetch`` on BigQuery: run the title query with parameters and cost guards.

google-cloud-bigquery and pandas are imported inside the functions, so ``titlegen --help``
stays fast. ``BIGQUERY_EMULATOR_HOST`` (``host:port`` or a URL) points the client at an
emulator with anonymous credentials; that is how the tests run without Google Cloud.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
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
    left_out: dict[str, int] = field(default_factory=dict)  # posts each filter rule matched
    unavailable: tuple[str, ...] = ()  # rules the table cannot apply (it lacks the column)
    no_score: bool = False  # no table has a score column


def price(nbytes: int) -> float:
    """On-demand price in US dollars of scanning ``nbytes``, before the free monthly TiB."""
    return nbytes / 2**40 * USD_PER_TIB


POST_COLUMNS = ("subreddit", "title", "score", "author")  # what the selection reads
POSTS_PLACEHOLDER = "${posts}"  # where the posts of every chosen table go in a .sql file
LEFT_OUT = "left_out_"  # a result column left_out_RULE holds the posts RULE matched


@dataclass(frozen=True)
class Query:
    """The SQL to run, its parameters, and which filter rules it could apply."""

    sql: str
    parameters: dict[str, Any]
    applied: tuple[str, ...] = ()  # rules applied on at least one table, RULES order
    unavailable: tuple[str, ...] = ()  # rules no table has the column for
    no_score: bool = False  # no table has a score column: --min-score can leave out nothing


def posts_sql(
    schemas: Mapping[str, Sequence[bigquery.SchemaField]], rules: Sequence[sel.Rule]
) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """What ``${posts}`` becomes for ``schemas`` (table name -> its schema), and the rules
    applied and unavailable.

    One line, a parenthesized SELECT per table joined with UNION ALL: the post columns, then one
    BOOL column per rule of :data:`~titlegen.fetching.selection.RULES`, TRUE when ``rules``
    holds it and the table has its column and the post matches. A rule some of the tables
    lack is applied on the others.
    """
    selects, found = [], set()
    scored = any(_has(schema, "score") for schema in schemas.values())
    for table, schema in schemas.items():
        flags = _post_columns(table, schema, scored)
        for rule in sel.RULES:
            column = _column(table, schema, rule) if rule in rules else None
            found |= {rule.name} if column else set()
            expression = rule.test.format(column=column) if column else "FALSE"
            flags.append(f"{expression} AS {rule.name}")
        columns = ", ".join(flags)
        selects.append(f"SELECT {columns} FROM `{sel.check_table(table)}`")
    applied = tuple(rule.name for rule in rules if rule.name in found)
    unavailable = tuple(rule.name for rule in rules if rule.name not in found)
    return f"({' UNION ALL '.join(selects)})", applied, unavailable


def _has(schema: Sequence[bigquery.SchemaField], name: str) -> bool:
    return any(field.name.lower() == name for field in schema)  # names ignore case


def _post_columns(table: str, schema: Sequence[bigquery.SchemaField], scored: bool) -> list[str]:
    """:data:`POST_COLUMNS` from ``table``: subreddit and title are needed; a missing author is
    NULL (it only counts authors), a missing score NULL, or, when no table has scores,
    @min_score, so the selection ranks subreddits by authors alone (as on a dump)."""
    missing = [name for name in ("subreddit", "title") if not _has(schema, name)]
    if missing:
        raise BigQueryError(
            f"{table} has no {' or '.join(missing)} column: titlegen needs subreddit and title "
            f"(and reads score and author where the table has them)."
        )
    if _has(schema, "score"):
        score = "score"
    else:
        score = "CAST(NULL AS INT64) AS score" if scored else "@min_score AS score"
    author = "author" if _has(schema, "author") else "CAST(NULL AS STRING) AS author"
    return ["subreddit", "title", score, author]


def _column(table: str, schema: Sequence[bigquery.SchemaField], rule: sel.Rule) -> str | None:
    """The column of ``rule`` as SQL (``_meta.was_deleted_later``), or None if the table lacks
    it. A column of another type is refused: reading it would fail or mean something else."""
    fields: Sequence[Any] = schema
    found = None
    for part in rule.field.split("."):
        # Column names are case-insensitive in BigQuery.
        found = next((f for f in fields if f.name.lower() == part.lower()), None)
        if found is None:
            return None
        fields = found.fields or ()
    wanted = {"BOOLEAN": "BOOL", "VARCHAR": "STRING"}[rule.kind]
    kind = {"BOOLEAN": "BOOL", "INTEGER": "INT64"}.get(found.field_type, found.field_type)
    if kind != wanted or found.mode == "REPEATED":
        raise BigQueryError(
            f"{table} has a column {rule.field} of type {found.field_type}"
            f"{' (repeated)' if found.mode == 'REPEATED' else ''}, not {wanted}: titlegen "
            f"cannot apply its {rule.name} filter; load that column as {wanted}."
        )
    return rule.field


def build_query(
    selection: sel.Selection,
    *,
    tables: Sequence[str],
    query_file: Path | None = None,
    schemas: Callable[[], Mapping[str, Sequence[bigquery.SchemaField]]] | None = None,
) -> Query:
    """The SQL with the validated table names in it, and the parameters it uses.

    ``schemas()`` gives each table's schema; it is called only when the SQL reads
    ``${posts}`` (the bundled query does; a ``--query`` file may read ``${table}`` instead).
    """
    sql = _read_sql(query_file)
    uses_posts = POSTS_PLACEHOLDER in sql
    if len(tables) > 1 and (sel.TABLE_PLACEHOLDER in sql or not uses_posts):
        raise TitlegenError(
            f"--query {query_file} reads one table (${{table}}), not "
            f"{sel.describe_tables(tables)}: write ${{posts}} in it for the posts of every "
            f"month, or pass one --month."
        )
    applied: tuple[str, ...] = ()
    unavailable: tuple[str, ...] = ()
    no_score = False
    if uses_posts:
        if schemas is None:
            raise ValueError("build_query needs schemas() for a query that reads ${posts}")
        found = schemas()
        posts, applied, unavailable = posts_sql(found, selection.rules)
        no_score = not any(_has(schema, "score") for schema in found.values())
        sql = sql.replace(POSTS_PLACEHOLDER, posts)
    if sel.TABLE_PLACEHOLDER in sql:
        sql = sel.render(sql, tables[0])
    used = sel.parameters_used(sql)
    parameters = {k: v for k, v in selection.parameters().items() if k in used}
    return Query(sql, parameters, applied, unavailable, no_score)


def _read_sql(query_file: Path | None) -> str:
    if query_file is None:
        return sel.read_query(QUERY_FILE)
    try:
        return query_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise TitlegenError(f"Cannot read the query file {query_file}: {error}.") from error


def read_schemas(
    client: bigquery.Client, tables: Sequence[str], timeout: float = TIMEOUT
) -> dict[str, Sequence[bigquery.SchemaField]]:
    """Each table's schema: a metadata call per table, which scans and bills nothing. A
    missing or forbidden table is named here, before any query runs."""
    from google.cloud.bigquery.retry import DEFAULT_RETRY

    schemas = {}
    for table in tables:
        with _translated_errors(table, timeout):
            found = client.get_table(table, retry=DEFAULT_RETRY.with_timeout(timeout))
        schemas[table] = found.schema
    return schemas


def dry_run(
    selection: sel.Selection,
    *,
    tables: Sequence[str],
    query_file: Path | None = None,
    project: str | None = None,
    timeout: float = TIMEOUT,
) -> int:
    """Bytes the query would scan. Nothing is run or billed."""
    with _translated_errors(sel.describe_tables(tables), timeout):
        client = make_client(project)
        query = build_query(
            selection,
            tables=tables,
            query_file=query_file,
            schemas=lambda: read_schemas(client, tables, timeout),
        )
        config = _job_config(query.parameters, dry_run=True, use_query_cache=False)
        job = client.query(
            query.sql,
            job_config=config,
            timeout=timeout,
            **_retries(timeout, rerun_failed_jobs=False),
        )
        return int(job.total_bytes_processed or 0)


def fetch(
    selection: sel.Selection,
    *,
    tables: Sequence[str],
    query_file: Path | None = None,
    project: str | None = None,
    max_bytes_billed: int = MAX_BYTES_BILLED,
    timeout: float = TIMEOUT,
) -> Result:
    """Run the query and return its rows; BigQuery refuses it if it would scan too much."""
    with _translated_errors(sel.describe_tables(tables), timeout, max_bytes_billed):
        client = make_client(project)
        query = build_query(
            selection,
            tables=tables,
            query_file=query_file,
            schemas=lambda: read_schemas(client, tables, timeout),
        )
        config = _job_config(query.parameters, maximum_bytes_billed=max_bytes_billed or None)
        job = client.query(
            query.sql,
            job_config=config,
            timeout=timeout,
            **_retries(timeout, rerun_failed_jobs=False),
        )
        rows = _frame(job.result(**_retries(timeout)))
        missing = {"subreddit", "title"} - set(rows.columns)
        if missing:
            raise BigQueryError(
                f"The query must return subreddit and title columns; it returned "
                f"{', '.join(rows.columns) or 'no columns'}."
            )
        left_out = _left_out(rows, query.applied)
        rows = rows.drop(columns=[c for c in rows.columns if c.startswith(LEFT_OUT)])
        rows = rows[rows["subreddit"].notna()]  # the counts' own row when nothing was selected
        return Result(rows, job.total_bytes_processed, left_out, query.unavailable, query.no_score)


def _left_out(rows: pd.DataFrame, applied: Sequence[str]) -> dict[str, int]:
    """The posts each applied rule matched, from the left_out_RULE columns (the same on every
    row); none when there are no rows, or the query (a --query file) does not return them."""
    columns = {name: LEFT_OUT + name for name in applied}
    if rows.empty or not all(column in rows.columns for column in columns.values()):
        return {}
    return {name: int(rows[column].iloc[0]) for name, column in columns.items()}


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
