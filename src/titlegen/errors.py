"""titlegen's exceptions. Each message is one sentence written for the user: it says what went
wrong and what to do next. The CLI prints it as ``Error: <message>`` and exits non-zero."""


class TitlegenError(Exception):
    """Something the user can fix: bad input, a missing file, an unreachable service."""


class SourceError(TitlegenError):
    """A local Reddit dump is missing, unreadable or holds no usable posts."""


class BigQueryError(TitlegenError):
    """BigQuery refused, could not be reached, or the query is not acceptable."""


class OutputError(TitlegenError):
    """An output file could not be written."""
