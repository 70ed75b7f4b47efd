"""``titlegen fetch``: Reddit titles from BigQuery or a local dump, as a CSV dataset.

- :mod:`~titlegen.fetching.selection`: what is selected (defaults, parameters, table names);
- :mod:`~titlegen.fetching.bigquery`: the query on BigQuery, its cost guards and errors;
- :mod:`~titlegen.fetching.dumps`: the same selection on local dumps, with duckdb;
- :mod:`~titlegen.fetching.fetch`: either one, tidied and written.
"""

from titlegen.fetching.fetch import DryRun, Spread, Summary, dry_run, fetch_bigquery, fetch_local

__all__ = ["DryRun", "Spread", "Summary", "dry_run", "fetch_bigquery", "fetch_local"]
