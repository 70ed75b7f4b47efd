"""A training run's losses: ``metrics.csv`` (a row per step) and TensorBoard scalars, both in
the run folder, so ``tensorboard --logdir checkpoint`` shows every run beside gpt-2-simple's.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from typing import Any

from titlegen import runtime
from titlegen.atomic import atomic_write
from titlegen.errors import TitlegenError
from titlegen.runs import COLUMNS, Row, Run, read_metrics

TAGS = {"train_loss": "loss/train", "val_loss": "loss/validation", "learning_rate": "learning_rate"}


class Log:
    """Appends a row per step to metrics.csv and the same values to TensorBoard.

    A resumed run keeps its rows up to the step of its checkpoint (``keep_to``): the steps
    after it are trained again. Each row is flushed as it is written, so a killed process
    loses at most the row it was writing (skipped on the next read)."""

    def __init__(
        self, run: Run, *, keep_to: int, on_message: Callable[[str], object] = lambda _m: None
    ) -> None:
        self.path = run.metrics_file
        kept = []
        if keep_to > 0 and self.path.is_file():
            try:
                kept = read_metrics(run, on_message)
            except TitlegenError as error:
                on_message(f"Warning: {error} It is started anew.")
        with atomic_write(self.path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(_cells(row) for row in kept if row.step <= keep_to)
        self.file = self.path.open("a", encoding="utf-8", newline="")
        self.csv = csv.writer(self.file, lineterminator="\n")
        tf = runtime.tensorflow()
        with tf.Graph().as_default():  # FileWriter refuses to start in eager mode
            self.events = tf.compat.v1.summary.FileWriter(str(run.folder))
        self.summary = tf.compat.v1.Summary

    def write(self, row: Row) -> None:
        self.csv.writerow(_cells(row))
        self.file.flush()
        values = [
            self.summary.Value(tag=tag, simple_value=value)
            for name, tag in TAGS.items()
            if (value := getattr(row, name)) is not None and math.isfinite(value)
        ]
        self.events.add_summary(self.summary(value=values), row.step)

    def close(self) -> None:
        self.file.close()
        self.events.close()

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def _cells(row: Row) -> list[str]:
    values = (row.train_loss, row.val_loss, row.learning_rate)
    return [str(row.step)] + ["" if v is None else f"{v:.6g}" for v in values]
