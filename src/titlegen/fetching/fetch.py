"""``titlegen fetch``: Reddit titles, from BigQuery or a local dump, into the CSV dataset.

Each path selects rows with its own SQL (:mod:`~titlegen.fetching.bigquery`,
:mod:`~titlegen.fetching.dumps`); both
then go through :func:`titlegen.dataset.tidy` and are written atomically, so a failed fetch
leaves any existing file as it was. The functions report through callbacks and return what they
did; they never print.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import titlegen.fetching.bigquery as bigquery
import titlegen.fetching.dumps as dumps
import titlegen.fetching.selection as sel
from titlegen import dataset
from titlegen.errors import TitlegenError
from titlegen.units import format_size, plural

if TYPE_CHECKING:
    import pandas as pd


NO_SCORE = (
    "No post of the source has a score: --min-score left out nothing, and each subreddit's "
    "titles were taken in alphabetical order."
)


@dataclass(frozen=True)
class Spread:
    """Titles per subreddit in what was written, and what ``--min-titles`` dropped."""

    subreddits: int
    least: int
    median: float
    most: int
    dropped_subreddits: int = 0
    dropped_titles: int = 0
    min_titles: int = sel.MIN_TITLES

    def describe(self) -> str:
        if self.least == self.most:
            text = f"Titles per subreddit: {self.most}"
        else:
            text = f"Titles per subreddit: {self.least} to {self.most}, median {self.median:g}"
        if self.dropped_subreddits:
            text += (
                f"; left out {plural(self.dropped_subreddits, 'subreddit')} with fewer than "
                f"--min-titles {self.min_titles} ({plural(self.dropped_titles, 'title')})"
            )
        return text + "."


@dataclass(frozen=True)
class Summary:
    """What a fetch wrote, and what its source gave."""

    out: Path
    titles: int
    subreddits: int
    posts: int | None = None  # posts read from a dump
    skipped: int | None = None  # malformed lines of a dump
    bytes_processed: int | None = None  # what BigQuery scanned (None: it did not say)
    bigquery: bool = False
    left_out: Mapping[str, int] = field(default_factory=dict)  # posts each rule matched
    unavailable: tuple[str, ...] = ()  # rules the source could not apply: it lacks the field
    spread: Spread | None = None

    def describe(self) -> str:
        if self.bigquery:
            scanned = self.bytes_processed
            source = f"BigQuery processed {'unknown' if scanned is None else format_size(scanned)}"
        else:
            source = (
                f"read {plural(self.posts or 0, 'post')}, "
                f"skipped {plural(self.skipped or 0, 'malformed line')}"
            )
        lines = [
            f"Wrote {plural(self.titles, 'title')} from {plural(self.subreddits, 'subreddit')} "
            f"to {self.out} ({source})."
        ]
        filters = describe_filters(self.left_out, self.unavailable)
        lines += [filters] if filters else []
        lines += [self.spread.describe()] if self.spread else []
        return "\n".join(lines)


def describe_filters(left_out: Mapping[str, int], unavailable: tuple[str, ...]) -> str:
    """A line for each kind: posts each rule left out, rules the source could not apply."""
    rules = {rule.name: rule for rule in sel.RULES}
    lines = []
    if left_out:
        lines.append(f"Left out posts: {_counts(left_out)}.")
    if unavailable:
        fields = ", ".join(
            rules[name].field if rules[name].field == name else f"{rules[name].field} ({name})"
            for name in unavailable
        )
        lines.append(f"The source has no {fields}: those filters removed nothing.")
    return "\n".join(lines)


def _counts(left_out: Mapping[str, int]) -> str:
    """``14,689 marked over 18 (NSFW); 198 quarantined``: the posts each rule matched."""
    rules = {rule.name: rule for rule in sel.RULES}
    return "; ".join(f"{n:,} {rules[name].description}" for name, n in left_out.items())


@dataclass(frozen=True)
class DryRun:
    """What a query would scan and cost; nothing was run or billed."""

    table: str  # the table, or several months' tables: sel.describe_tables
    nbytes: int
    max_bytes_billed: int  # 0: no cap

    @property
    def price(self) -> float:
        """US dollars on demand, before the free monthly TiB."""
        return bigquery.price(self.nbytes)

    @property
    def over_cap(self) -> bool:
        return bool(self.max_bytes_billed) and self.nbytes > self.max_bytes_billed

    def describe(self) -> str:
        text = (
            f"The query on {self.table} would process {format_size(self.nbytes)}: about "
            f"${self.price:.2f} at ${bigquery.USD_PER_TIB:g} per TiB on demand "
            f"(the first 1 TiB each month is free). Nothing was run or billed."
        )
        if self.over_cap:
            raise_to = format_size(self.nbytes * 2).replace(" ", "")
            text += (
                f"\nThat is over the --max-bytes-billed cap of "
                f"{format_size(self.max_bytes_billed)}: raise it, for example "
                f"--max-bytes-billed {raise_to}"
            )
        return text


def fetch_local(
    source: Path | Sequence[Path],
    selection: sel.Selection,
    out: Path,
    *,
    on_total: Callable[[int], object] | None = None,
    on_progress: Callable[[int], object] | None = None,
    on_warning: Callable[[str], object] | None = None,
) -> Summary:
    """Select titles from dump files (or folders of them) and write them to ``out``.

    ``on_total(nbytes)`` is called once with the size of the files, ``on_progress(n)`` with
    each block of bytes read, ``on_warning(sentence)`` for a file that ended early or a
    --subreddit name without titles.
    """
    sources = [source] if isinstance(source, Path) else list(source)
    files = list(dict.fromkeys(path for each in sources for path in dumps.find_files(each)))
    if out.resolve() in {path.resolve() for path in files}:
        raise TitlegenError(f"-o {out} is one of the dumps being read: write the CSV elsewhere.")
    if on_total:
        on_total(sum(path.stat().st_size for path in files))
    rows, stats = dumps.select_titles(files, selection, on_progress=on_progress)
    for path in stats.truncated:
        if on_warning:
            on_warning(
                f"{path} ended early (an incomplete download?); used the posts before the cut."
            )
    if stats.no_score and on_warning:
        on_warning(NO_SCORE)
    titles, spread = _write(rows, out, selection, stats.left_out, on_warning)
    return Summary(
        out,
        titles,
        spread.subreddits,
        posts=stats.posts,
        skipped=stats.skipped,
        left_out=stats.left_out,
        unavailable=stats.unavailable,
        spread=spread,
    )


def fetch_bigquery(
    selection: sel.Selection,
    out: Path,
    *,
    table: str | None = None,
    month: str | Sequence[str] = (),
    months: str | None = None,
    query_file: Path | None = None,
    project: str | None = None,
    max_bytes_billed: int = bigquery.MAX_BYTES_BILLED,
    timeout: float = bigquery.TIMEOUT,
    on_message: Callable[[str], object] | None = None,
    on_warning: Callable[[str], object] | None = None,
) -> Summary:
    """Run the selection on BigQuery (``table``; or the fh-bigquery tables of each ``month`` or
    of the ``months`` range ``2019_01:2019_06``, in one query; by default the newest month) and
    write the titles to ``out``. ``on_message`` hears where the query goes, ``on_warning`` about
    --subreddit names without titles."""
    tables = sel.tables_for(table, month, months)
    if on_message:
        on_message(f"Querying {sel.describe_tables(tables)} on {bigquery.endpoint()}...")
    result = bigquery.fetch(
        selection,
        tables=tables,
        query_file=query_file,
        project=project,
        max_bytes_billed=max_bytes_billed,
        timeout=timeout,
    )
    if result.no_score and on_warning:
        on_warning(NO_SCORE)
    titles, spread = _write(result.rows, out, selection, result.left_out, on_warning)
    return Summary(
        out,
        titles,
        spread.subreddits,
        bytes_processed=result.bytes_processed,
        bigquery=True,
        left_out=result.left_out,
        unavailable=result.unavailable,
        spread=spread,
    )


def dry_run(
    selection: sel.Selection,
    *,
    table: str | None = None,
    month: str | Sequence[str] = (),
    months: str | None = None,
    query_file: Path | None = None,
    project: str | None = None,
    max_bytes_billed: int = bigquery.MAX_BYTES_BILLED,
    timeout: float = bigquery.TIMEOUT,
) -> DryRun:
    """How much the query of :func:`fetch_bigquery` would scan and cost; runs nothing."""
    tables = sel.tables_for(table, month, months)
    nbytes = bigquery.dry_run(
        selection, tables=tables, query_file=query_file, project=project, timeout=timeout
    )
    return DryRun(sel.describe_tables(tables), nbytes, max_bytes_billed)


def _write(
    rows: pd.DataFrame,
    out: Path,
    selection: sel.Selection,
    left_out: Mapping[str, int],
    on_warning: Callable[[str], object] | None,
) -> tuple[int, Spread]:
    """Tidy ``rows``, drop the subreddits with fewer than ``selection.min_titles`` titles, and
    write the rest to ``out``; returns the titles written and their spread over subreddits."""
    min_titles = selection.min_titles
    titles = dataset.tidy(rows)
    counts = titles["subreddit"].value_counts()
    small = counts[counts < min_titles]
    titles = titles[~titles["subreddit"].isin(small.index)]
    if titles.empty:
        raise TitlegenError(
            "No titles matched the selection, so nothing was written: "
            + _why_nothing(selection, left_out, dropped=len(small))
        )
    missing = _missing_subreddits(selection, counts.index)
    if missing and on_warning:
        on_warning(
            f"The source has no titles for --subreddit {', '.join(missing)} (names match "
            f"regardless of case)."
        )
    dataset.write_dataset(titles, out)
    kept = counts[counts >= min_titles]
    spread = Spread(
        subreddits=len(kept),
        least=int(kept.min()),
        median=float(statistics.median(kept.tolist())),
        most=int(kept.max()),
        dropped_subreddits=len(small),
        dropped_titles=int(small.sum()),
        min_titles=min_titles,
    )
    return len(titles), spread


def _why_nothing(selection: sel.Selection, left_out: Mapping[str, int], dropped: int) -> str:
    """The reason a selection gave no titles, and what to change."""
    if dropped:
        return f"every subreddit had fewer than --min-titles {selection.min_titles} titles."
    if selection.subreddits:
        names = ", ".join(selection.subreddits)
        return f"the source has no titles for --subreddit {names} (check the names)."
    reason = f"no subreddit has a post scoring at least --min-score {selection.min_score}"
    matched = {name: n for name, n in left_out.items() if n}
    if not matched:
        return f"{reason}: try a lower --min-score."
    hint = " (--include-nsfw keeps posts marked over 18)" if "over_18" in matched else ""
    return (
        f"{reason} among the posts the safe defaults kept (they left out {_counts(matched)}){hint}."
    )


def _missing_subreddits(selection: sel.Selection, found: Iterable[str]) -> list[str]:
    """The ``--subreddit`` names with no title in the output, as the user wrote them."""
    have = {name.lower() for name in found}
    return [name for name in dict.fromkeys(selection.subreddits) if name.lower() not in have]
