"""Finetuning: ``train`` a run, ``evaluate`` it, its ``metrics`` and ``plot``.

- :mod:`~titlegen.training.config`: the settings, their defaults and how a resumed run keeps
  them;
- :mod:`~titlegen.training.data`: the dataset split, framed, encoded and served in windows;
- :mod:`~titlegen.training.graph`: gpt-2-simple's model with its loss and optimizer;
- :mod:`~titlegen.training.loop`: one ``titlegen train`` command;
- :mod:`~titlegen.training.evaluate`, :mod:`~titlegen.training.metrics`,
  :mod:`~titlegen.training.plot`.

Nothing here imports TensorFlow until a function that needs it runs.
"""

from titlegen.training.config import (
    EVAL_EVERY,
    LEARNING_RATE,
    MAX_VAL_FRACTION,
    PRECISIONS,
    SCHEDULES,
    STEPS,
    VAL_FRACTION,
    Precision,
    TrainOptions,
)
from titlegen.training.evaluate import Score, evaluate
from titlegen.training.loop import Progress, Result, train

__all__ = [
    "EVAL_EVERY",
    "LEARNING_RATE",
    "MAX_VAL_FRACTION",
    "PRECISIONS",
    "SCHEDULES",
    "STEPS",
    "VAL_FRACTION",
    "Precision",
    "Progress",
    "Result",
    "Score",
    "TrainOptions",
    "evaluate",
    "train",
]
