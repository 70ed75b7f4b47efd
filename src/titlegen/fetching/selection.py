"""What ``titlegen fetch`` selects: the seed project's query, its defaults and its parameters.

Shared by the BigQuery path (:mod:`titlegen.fetching.bigquery`) and the local dump path
(:mod:`titlegen.fetching.dumps`), so both select exactly the same rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from titlegen.errors import TitlegenError

MONTH = "2019_08"  # the newest month of fh-bigquery.reddit_posts seen in public queries
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
    """A safe-default filter: posts for which ``field`` is set are left out.

    A source without ``field`` (an old dump, a table without the column) cannot apply the rule;
    it then removes nothing and ``fetch`` says so.
    """

    name: str  # as reported and as the key of the counts
    field: str  # the post's field, as in Reddit's JSON (``_meta.was_deleted_later`` is nested)
    removed: str  # "N posts {removed}" in the summary


RULES = (
    Rule("over_18", "over_18", "marked over 18 (NSFW)"),
    Rule("quarantined", "quarantine", "quarantined"),
    Rule("removed", "removed_by_category", "removed by moderators or Reddit"),
    Rule("deleted_later", "_meta.was_deleted_later", "deleted later by their authors"),
    Rule("not_public", "subreddit_type", "from subreddits that are not public"),
)


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


def table_for(table: str | None = None, month: str | None = None) -> str:
    """The checked table to query: ``table``, or ``month``'s fh-bigquery table, or MONTH's."""
    if table and month:
        raise TitlegenError("Pass --table or --month, not both.")
    return check_table(table) if table else month_table(month or MONTH)


def month_table(month: str) -> str:
    """``2019_08`` -> ``fh-bigquery.reddit_posts.2019_08``."""
    if not _MONTH.fullmatch(month):
        raise TitlegenError(f"--month must look like 2019_08 (YYYY_MM), not {month!r}.")
    return f"fh-bigquery.reddit_posts.{month}"


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
