"""What ``titlegen fetch`` selects: the seed project's query, its defaults and its parameters.

Shared by the BigQuery path (:mod:`titlegen.fetching.bigquery`) and the local dump path
(:mod:`titlegen.fetching.dumps`), so both select exactly the same rows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from titlegen.errors import TitlegenError

MONTH = "2019_08"  # the newest month of fh-bigquery.reddit_posts seen in public queries
MONTH_DATASET = "fh-bigquery.reddit_posts"  # --month YYYY_MM is its table YYYY_MM
MAX_MONTHS = 240  # 20 years; a longer --months range is more likely a typo than a wish
MIN_SCORE = 5  # a subreddit is a candidate if it has posts scoring at least this
TOP_SUBREDDITS = 1000  # keep this many subreddits, those with the most different authors
PER_SUBREDDIT = 18  # then take this many top-scoring titles from each
EXCLUDED = ("me_irl", "2meirl4meirl", "anime_irl", "furry_irl", "cursedimages")  # the seed's
MIN_TITLES = 1  # drop subreddits left with fewer titles than this

TABLE_PLACEHOLDER = "${table}"  # where the validated table name goes in a .sql file

# BigQuery's own rules, kept strict: a project id is 6-30 lower-case letters, digits and
# hyphens starting with a letter; dataset names are letters, digits and underscores; table
# names add hyphens. Anything else (quotes, spaces, semicolons, backticks) is refused.
_TABLE = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]\.[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_-]{1,1024}")
_MONTH = re.compile(r"\d{4}_(0[1-9]|1[0-2])")
_PARAMETER = re.compile(r"(?<![@\w])@(\w+)")

_QUERIES = Path(__file__).resolve().parents[3] / "queries"  # a source checkout's queries/


@dataclass(frozen=True)
class Rule:
    """A safe-default filter: posts whose ``field`` passes ``test`` are left out.

    A source without ``field`` (an old dump, a table without the column) cannot apply the rule;
    it then removes nothing and ``fetch`` says so.
    """

    name: str  # as reported and as the key of the counts
    field: str  # the post's field, as in Reddit's JSON (``_meta.was_deleted_later`` is nested)
    kind: str  # its type: "BOOLEAN" or "VARCHAR" (BigQuery: BOOL, STRING)
    # When a post is left out, in SQL that BigQuery and duckdb both read; {column} is the
    # column. Never NULL: a post without the field is kept. A text is "set" when not empty.
    test: str
    description: str  # what its posts are, in the summary: "N posts {description}"

    @property
    def column(self) -> str:
        """The field's last name: the column of a flat table (``was_deleted_later``)."""
        return self.field.rsplit(".", 1)[-1]


_FLAG = "{column} IS TRUE"
_SET = "COALESCE({column}, '') <> ''"
RULES = (
    Rule("over_18", "over_18", "BOOLEAN", _FLAG, "marked over 18 (NSFW)"),
    Rule("quarantined", "quarantine", "BOOLEAN", _FLAG, "quarantined"),
    Rule("removed", "removed_by_category", "VARCHAR", _SET,
         "removed (by moderators, Reddit or their authors)"),
    Rule("deleted_later", "_meta.was_deleted_later", "BOOLEAN", _FLAG,
         "deleted later by their authors"),
    Rule("not_public", "subreddit_type", "VARCHAR",
         "COALESCE({column}, '') NOT IN ('', 'public')", "from subreddits that are not public"),
)  # fmt: skip


@dataclass(frozen=True)
class Selection:
    """Which titles to take. Subreddit names are matched case-insensitively."""

    min_score: int = MIN_SCORE
    top_subreddits: int = TOP_SUBREDDITS
    per_subreddit: int = PER_SUBREDDIT
    excluded: tuple[str, ...] = EXCLUDED
    subreddits: tuple[str, ...] = field(default=())  # when given: exactly these, no top-N
    include_nsfw: bool = False  # keep posts marked over 18
    min_titles: int = MIN_TITLES  # subreddits with fewer titles (after cleaning) are dropped

    def __post_init__(self) -> None:
        for name in ("top_subreddits", "per_subreddit", "min_titles"):
            if getattr(self, name) < 1:
                option = name.replace("_", "-")
                raise TitlegenError(f"--{option} must be at least 1, not {getattr(self, name)}.")
        if self.min_titles > self.per_subreddit:
            raise TitlegenError(
                f"--min-titles {self.min_titles} is more than --per-subreddit "
                f"{self.per_subreddit}, the most titles a subreddit can have: no subreddit "
                f"could stay. Lower --min-titles or raise --per-subreddit."
            )

    def parameters(self) -> dict[str, int | list[str]]:
        """The query parameters, by name, as both SQL files expect them."""
        return {
            "min_score": self.min_score,
            "top_subreddits": self.top_subreddits,
            "per_subreddit": self.per_subreddit,
            "excluded": sorted({name.lower() for name in self.excluded}),
            "subreddits": sorted({name.lower() for name in self.subreddits}),
        }

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The filters applied: all of :data:`RULES`, but over 18 with ``include_nsfw``."""
        return tuple(r for r in RULES if not (self.include_nsfw and r.name == "over_18"))


def tables_for(
    table: str | None = None, month: str | Sequence[str] = (), months: str | None = None
) -> tuple[str, ...]:
    """The checked tables to query: ``table``; or the fh-bigquery tables of each ``month``
    (repeatable) or of the ``months`` range (``2019_01:2019_06``); by default MONTH's."""
    month = (month,) if isinstance(month, str) else tuple(month)
    given = [
        flag
        for flag, value in (("--table", table), ("--month", month), ("--months", months))
        if value
    ]
    if len(given) > 1:
        raise TitlegenError(
            f"Pass {' or '.join(given)}, not {'both' if len(given) == 2 else 'all three'}."
        )
    if table:
        return (check_table(table),)
    chosen = month_range(months) if months else sorted({check_month(m) for m in month} or {MONTH})
    return tuple(month_table(m) for m in chosen)


def month_range(months: str) -> list[str]:
    """``2019_11:2020_02`` -> ``["2019_11", "2019_12", "2020_01", "2020_02"]`` (inclusive)."""
    start, _, end = months.partition(":")
    if not (_MONTH.fullmatch(start) and _MONTH.fullmatch(end)):
        raise TitlegenError(
            f"--months must be two YYYY_MM months joined by ':', like 2019_01:2019_06, "
            f"not {months!r}."
        )
    if start > end:
        raise TitlegenError(f"--months {months} starts after it ends: put the earlier month first.")
    first, last = _month_number(start), _month_number(end)
    if last - first + 1 > MAX_MONTHS:
        raise TitlegenError(
            f"--months {months} spans {last - first + 1} months, more than {MAX_MONTHS}: "
            f"query a shorter range."
        )
    return [_month_name(n) for n in range(first, last + 1)]


def _month_number(month: str) -> int:
    """Months since year 0: ``2019_08`` -> 24235, so that ranges are plain integer ranges."""
    year, number = month.split("_")
    return int(year) * 12 + int(number) - 1


def _month_name(number: int) -> str:
    return f"{number // 12:04d}_{number % 12 + 1:02d}"


def check_month(month: str) -> str:
    """Return ``month`` if it looks like ``2019_08``; refuse anything else."""
    if not _MONTH.fullmatch(month):
        raise TitlegenError(f"--month must look like 2019_08 (YYYY_MM), not {month!r}.")
    return month


def month_table(month: str) -> str:
    """``2019_08`` -> ``fh-bigquery.reddit_posts.2019_08``."""
    return f"{MONTH_DATASET}.{check_month(month)}"


def describe_tables(tables: Sequence[str]) -> str:
    """For messages: the one table's name, or ``6 months of fh-bigquery.reddit_posts
    (2019_01 to 2019_06)``, runs of consecutive months shortened."""
    if len(tables) == 1:
        return tables[0]
    dataset = tables[0].rpartition(".")[0]
    numbers = [_month_number(t.rpartition(".")[2]) for t in tables]
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    spans = [
        _month_name(r[0]) if len(r) == 1 else f"{_month_name(r[0])} to {_month_name(r[-1])}"
        for r in runs
    ]
    return f"{len(tables)} months of {dataset} ({', '.join(spans)})"


def check_table(table: str) -> str:
    """Return ``table`` if it is a plain PROJECT.DATASET.TABLE name; refuse anything else.

    Table names cannot be query parameters, so this check is what keeps SQL out of them.
    """
    if not _TABLE.fullmatch(table):
        raise TitlegenError(
            f"--table must be PROJECT.DATASET.TABLE made of letters, digits, '_' and '-' "
            f"(for example fh-bigquery.reddit_posts.2019_08), not {table!r}."
        )
    return table


def read_query(name: str) -> str:
    """The text of a bundled query: from the installed package, else from a source checkout."""
    bundled = resources.files("titlegen") / "queries" / name
    if bundled.is_file():
        return bundled.read_text(encoding="utf-8")
    return (_QUERIES / name).read_text(encoding="utf-8")


def render(sql: str, table: str) -> str:
    """Put a validated table name into ``sql`` in place of ``${table}``."""
    return sql.replace(TABLE_PLACEHOLDER, check_table(table))


def parameters_used(sql: str) -> set[str]:
    """The ``@name`` parameters that ``sql`` refers to (BigQuery refuses unknown ones)."""
    return set(_PARAMETER.findall(sql))
