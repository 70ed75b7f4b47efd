"""``titlegen generate``: titles sampled from a run or a base model.

- :mod:`~titlegen.sampling.generate`: options, subreddits, batches, clean titles, output files;
- :mod:`~titlegen.sampling.graph`: the sampling loop as a TensorFlow graph;
- :mod:`~titlegen.sampling.novelty`: ``--novel`` and ``--unique``.
"""

from titlegen.sampling.generate import (
    BATCH_SIZE,
    LENGTH,
    MAX_LENGTH,
    MIN_TEMPERATURE,
    NSAMPLES,
    TEMPERATURE,
    Generator,
    Job,
    Kind,
    Row,
    Sample,
    SampleOptions,
    check_output,
    model_folder,
    records,
    resolve_keywords,
    resolve_subreddits,
    restarts_summary,
    subreddits,
    write,
)

__all__ = [
    "BATCH_SIZE",
    "LENGTH",
    "MAX_LENGTH",
    "MIN_TEMPERATURE",
    "NSAMPLES",
    "TEMPERATURE",
    "Generator",
    "Job",
    "Kind",
    "Row",
    "Sample",
    "SampleOptions",
    "check_output",
    "model_folder",
    "records",
    "resolve_keywords",
    "resolve_subreddits",
    "restarts_summary",
    "subreddits",
    "write",
]
