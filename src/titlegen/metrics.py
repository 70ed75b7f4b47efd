"""A training run's losses: ``metrics.csv`` (a row per step) and TensorBoard scalars, both in
the run folder, so ``tensorboard --logdir checkpoint`` shows every run beside gpt-2-simple's.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from titlegen import runtime
from titlegen.atomic import atomic_write
from titlegen.errors import TitlegenError

FILE = "metrics.csv"
COLUMNS = ("step", "train_loss", "val_loss", "learning_rate")
TAGS = {"train_loss": "loss/train", "val_loss": "loss/validation", "learning_rate": "learning_rate"}


@dataclass(frozen=True)
class Row:
    step: int
    train_loss: float | None = None  # None on a row that only evaluates (step 0)
    val_loss: float | None = None  # only on the steps that evaluate
    learning_rate: float | None = None


def read(run_folder: Path) -> list[Row]:
    """The rows of a run's metrics.csv."""
    path = run_folder / FILE
    try:
        with path.open(encoding="utf-8", newline="") as f:
            return [
                Row(int(r["step"]), *(_number(r[name]) for name in COLUMNS[1:]))
                for r in csv.DictReader(f)
            ]
    except FileNotFoundError as error:
        raise TitlegenError(
            f"{path} does not exist: train the run with titlegen train to record its losses."
        ) from error
    except (OSError, ValueError, KeyError, TypeError, csv.Error) as error:
        raise TitlegenError(f"{path} is not a metrics file titlegen wrote: {error}.") from error


def _number(text: str) -> float | None:
    return float(text) if text else None


class Log:
    """Appends a row per step to metrics.csv and the same values to TensorBoard.

    Resuming keeps the rows up to the step the run resumes from (a later step's rows, from
    after the checkpoint that ``--keep-best`` kept, would be repeated); ``fresh`` starts anew.
    """

    def __init__(self, run_folder: Path, *, resume_from: int, fresh: bool) -> None:
        self.path = run_folder / FILE
        kept = [] if fresh or not self.path.is_file() else read_or_empty(run_folder)
        with atomic_write(self.path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(COLUMNS)
            writer.writerows(_cells(row) for row in kept if row.step <= resume_from)
        self.file = self.path.open("a", encoding="utf-8", newline="")
        self.csv = csv.writer(self.file, lineterminator="\n")
        tf = runtime.tensorflow()
        with tf.Graph().as_default():  # FileWriter refuses to start in eager mode
            self.events = tf.compat.v1.summary.FileWriter(str(run_folder))
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


def read_or_empty(run_folder: Path) -> list[Row]:
    """:func:`read`, or no rows when there is no readable log."""
    try:
        return read(run_folder)
    except TitlegenError:
        return []  # an unreadable old log is replaced rather than stopping training


def _cells(row: Row) -> list[str]:
    values = (row.train_loss, row.val_loss, row.learning_rate)
    return [str(row.step)] + ["" if v is None else f"{v:.6g}" for v in values]
