"""A training run: the folder ``checkpoint/<name>/`` and everything in it.

This module is the only one that names a run's files. A run holds gpt-2-simple's files (its
own ``hparams.json`` and vocabulary, copied from the base model once, ``model-N`` checkpoints,
``checkpoint`` and ``counter``) so plain gpt-2-simple loads it, and titlegen's:

- ``titlegen.json``: how the run was made (base model, document format, subreddits, the
  training settings in force, each ``train`` it went through, the validation loss of its
  checkpoint, where in the data it stands);
- ``titles.csv``: its titles and which side of the validation split each fell on;
- ``metrics.csv``, TensorBoard events and ``loss.png``: its losses;
- ``.lock``: held by the ``train`` that is training it.

Records are written whole or not at all (:func:`titlegen.atomic.atomic_write`); a damaged one
is reported in one sentence that names the file.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from titlegen import dataset, paths
from titlegen.atomic import atomic_write
from titlegen.errors import TitlegenError
from titlegen.units import plural

CHECKPOINT_DIR_ENV = "TITLEGEN_CHECKPOINT_DIR"  # where runs are, when --checkpoint-dir is not given
MODEL_DIR_ENV = "TITLEGEN_MODEL_DIR"  # where base models are, when --model-dir is not given
RUN_NAME = "run1"  # gpt-2-simple's default run name: what train makes when none is named

STATE = "checkpoint"  # TensorFlow's pointer to the latest model-N
COUNTER = "counter"  # gpt-2-simple's step counter
RECORD = "titlegen.json"
TITLES = "titles.csv"
METRICS = "metrics.csv"
PLOT = "loss.png"
LOCK = ".lock"
MODEL_FILES = ("hparams.json", "encoder.json", "vocab.bpe")  # as gpt-2-simple copies them
RESTORE_TRIES = 5  # a run being trained may replace its checkpoint while it is loaded

_STATE_LINE = re.compile(r'^model_checkpoint_path:\s*"(.*)"\s*$', re.MULTILINE)
_STEP = re.compile(r"-(\d+)$")


class RunError(TitlegenError):
    """A run is missing, damaged, or being trained by another process."""


@dataclass(frozen=True)
class Format:
    """How a run's documents look (from its titlegen.json)."""

    titles: bool = False  # titles between the markers (else a plain run or a base model)
    condition: bool = False  # each title after its subreddit: <|startoftext|>NAME TITLE
    source: str = ""  # titles (a CSV), text, npz; "" for a run titlegen did not make
    subreddits: dict[str, int] = field(default_factory=dict)  # titles per subreddit
    keywords: dataset.Keywords | None = None  # each title after some of its words: KWS ~ TITLE

    @classmethod
    def of(cls, folder: Path) -> Format:
        """The format of the run (or base model) in ``folder``."""
        return Run(folder).format()

    @classmethod
    def of_record(cls, record: dict | None) -> Format:
        if not record:
            return cls()  # a plain gpt-2-simple run or a base model
        form = record.get("format") or {}
        return cls(
            titles=form.get("source") == "titles",
            condition=form.get("subreddit_then") == dataset.SUBREDDIT_END,
            source=form.get("source", ""),
            subreddits=dict(record.get("subreddits") or {}),
            keywords=_keywords(form.get("keywords")),
        )

    def as_record(self) -> dict:
        form: dict[str, Any] = {"start": dataset.START, "end": dataset.END, "source": self.source}
        if self.condition:
            form["subreddit_then"] = dataset.SUBREDDIT_END  # <|startoftext|>NAME TITLE<|endoftext|>
        if self.keywords is not None:
            form["keywords"] = self.keywords.as_record()  # <|startoftext|>KWS ~ NAME TITLE
        return form


def _keywords(record: object) -> dataset.Keywords | None:
    """A run's keyword format from its titlegen.json; a damaged one is a RunError."""
    if not record:
        return None
    try:
        return dataset.Keywords.of_record(record)  # type: ignore[arg-type]
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise RunError(
            f"titlegen.json's format.keywords is damaged ({error}): train the run again with "
            f"--restore-from fresh, or restore titlegen.json."
        ) from error


@dataclass(frozen=True)
class Best:
    step: int
    val_loss: float


class Run:
    """One training run's folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __repr__(self) -> str:
        return f"Run({str(self.folder)!r})"

    @classmethod
    def named(cls, name: str, checkpoint_dir: Path) -> Run:
        return cls(checkpoint_dir / paths.folder_name(name, "--run-name"))

    @property
    def name(self) -> str:
        return self.folder.name

    def file(self, name: str) -> Path:
        return self.folder / name

    @property
    def metrics_file(self) -> Path:
        return self.folder / METRICS

    @property
    def plot_file(self) -> Path:
        return self.folder / PLOT

    # -- checkpoints -------------------------------------------------------------------------

    @property
    def trained(self) -> bool:
        """Whether it holds a checkpoint (TensorFlow's pointer file)."""
        return (self.folder / STATE).is_file()

    def checkpoint(self) -> str:
        """The path prefix of the latest checkpoint, checked for its files; an error naming the
        file otherwise."""
        state = self.folder / STATE
        try:
            text = state.read_text(encoding="utf-8")
        except FileNotFoundError as error:
            raise RunError(f"{self.folder} holds no trained checkpoint: train it first.") from error
        except (OSError, UnicodeDecodeError) as error:
            raise RunError(f"Cannot read {state}: {error}.") from error
        found = _STATE_LINE.search(text)
        if not found:
            raise RunError(
                f"{state} is damaged (no model_checkpoint_path): train the run again with "
                "--restore-from fresh."
            )
        prefix = Path(found.group(1))
        # A run's checkpoints are in its folder, even if the pointer names the absolute path
        # the folder had when it was saved (a run copied or moved elsewhere).
        path = self.folder / prefix.name
        if prefix.is_absolute() and not path.with_name(path.name + ".index").is_file():
            path = prefix
        for suffix in (".index", ".data-00000-of-00001"):
            part = path.with_name(path.name + suffix)
            if not part.is_file() or part.stat().st_size == 0:
                raise RunError(
                    f"{part} is missing or empty, so the run's checkpoint cannot be loaded: "
                    "train the run again with --restore-from fresh."
                )
        return str(path)

    def restore_latest(self, saver: Any, session: Any) -> str:
        """Load the latest checkpoint into ``session``; returns it. If a ``train`` of the run
        saved a newer one meanwhile (and removed this one), the newer one is loaded."""
        checkpoint = self.checkpoint()
        for _ in range(RESTORE_TRIES - 1):
            try:
                restore(saver, session, checkpoint)
                return checkpoint
            except RunError:
                newer = self.checkpoint()
                if newer == checkpoint:
                    raise
                checkpoint = newer
        restore(saver, session, checkpoint)
        return checkpoint

    def step(self) -> int:
        """The step of the latest checkpoint: its name says it (``model-N``); gpt-2-simple's
        counter file only when the name does not (a base model's ``model.ckpt``)."""
        if self.trained and _STEP.search(self.checkpoint()):
            return step_of(self.checkpoint())
        try:
            return int((self.folder / COUNTER).read_text())
        except (OSError, ValueError):
            return 0

    def write_counter(self, step: int) -> None:
        with atomic_write(self.folder / COUNTER, "w") as f:
            f.write(f"{step}\n")

    def remove_checkpoints(self, *, keep: str | None = None) -> None:
        """Delete ``model-*`` files (and, without ``keep``, the pointer), except those of
        ``keep``: a fresh start's old checkpoints, once the new one is saved."""
        kept = Path(keep).name if keep else None
        for path in self.folder.glob("model-*"):
            if kept is None or not path.name.startswith(kept + "."):
                path.unlink(missing_ok=True)

    def remove_events(self) -> None:
        for path in self.folder.glob("events.out.tfevents.*"):
            path.unlink(missing_ok=True)

    # -- the base model's files --------------------------------------------------------------

    def has_model_files(self) -> bool:
        return all((self.folder / name).is_file() for name in MODEL_FILES)

    def take_model_files(self, source: Path) -> None:
        """The base model's hparams and vocabulary, copied in (atomically) as gpt-2-simple
        does; only when a run starts, never over a run's own."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in MODEL_FILES:
            try:
                data = (source / name).read_bytes()
            except OSError as error:
                raise RunError(
                    f"Cannot read {source / name}: {error.strerror or error}."
                ) from error
            with atomic_write(self.folder / name, "wb") as f:
                f.write(data)

    # -- the record --------------------------------------------------------------------------

    def record(self) -> dict | None:
        """titlegen.json, or None for a run titlegen did not make."""
        path = self.folder / RECORD
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise RunError(
                f"{path} is damaged ({error}): restore it from a backup, or delete it to treat "
                f"{self.name} as a plain gpt-2-simple run."
            ) from error
        kinds = {"format": dict, "subreddits": dict, "settings": dict, "checkpoint": dict,
                 "data": dict, "schedule": dict, "history": list}  # fmt: skip
        wrong = [] if isinstance(record, dict) else ["not a JSON object"]
        wrong += [
            f"{key} is not a {kind.__name__}"
            for key, kind in kinds.items()
            if isinstance(record, dict) and key in record and not isinstance(record[key], kind)
        ]
        if wrong:
            raise RunError(
                f"{path} is damaged ({wrong[0]}): restore it from a backup, or delete it to "
                f"treat {self.name} as a plain gpt-2-simple run."
            )
        return record

    def write_record(self, record: dict) -> None:
        with atomic_write(self.folder / RECORD, "w", encoding="utf-8") as f:
            f.write(json.dumps(record, indent=2) + "\n")

    def update_record(self, **changes: Any) -> None:
        record = self.record() or {}
        record.update(changes)
        self.write_record(record)

    def format(self) -> Format:
        return Format.of_record(self.record())

    def settings(self) -> dict:
        """The training settings recorded by the last ``train`` (empty for other runs)."""
        return dict((self.record() or {}).get("settings") or {})

    def base_model(self) -> str | None:
        return (self.record() or {}).get("base_model")

    def checkpoint_loss(self) -> Best | None:
        """The validation loss of the saved checkpoint, when it was measured."""
        saved = (self.record() or {}).get("checkpoint") or {}
        if saved.get("val_loss") is None:
            return None
        return Best(int(saved["step"]), float(saved["val_loss"]))

    # -- titles ------------------------------------------------------------------------------

    def titles(self) -> list[tuple[dataset.Row, bool]]:
        """Each title the run was trained on, and whether it was held out for validation."""
        path = self.folder / TITLES
        try:
            with path.open(encoding="utf-8", newline="") as f:
                return [
                    (dataset.Row(row["subreddit"] or None, row["title"]), row["split"] == "val")
                    for row in csv.DictReader(f)
                ]
        except FileNotFoundError as error:
            raise RunError(
                f"{self.name} has no {TITLES}: train the run with titlegen train on a title "
                "dataset (a run of plain gpt-2-simple has none)."
            ) from error
        except (OSError, UnicodeDecodeError, KeyError, csv.Error) as error:
            raise RunError(
                f"{path} is damaged ({error}): train the run again on its dataset to rewrite it."
            ) from error

    def write_titles(self, lines: list[tuple[dataset.Row, bool]], *, keep_old: bool) -> None:
        """The run's titles and their side of the split; with ``keep_old``, the titles of
        earlier sessions' datasets are kept too (they were trained on as well)."""
        if keep_old and (self.folder / TITLES).is_file():
            new = {(row.subreddit, row.title) for row, _ in lines}
            try:
                old = [
                    line for line in self.titles() if (line[0].subreddit, line[0].title) not in new
                ]
            except RunError:
                old = []  # unreadable: the current dataset's titles only
            lines = old + lines
        with atomic_write(self.folder / TITLES, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(["subreddit", "title", "split"])
            writer.writerows(
                [row.subreddit or "", row.title, "val" if held else "train"] for row, held in lines
            )

    # -- the lock ----------------------------------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[None]:
        """Held while one ``train`` trains the run; another is refused, naming the holder.

        An OS lock (``flock``) on ``.lock``: the kernel releases it when its process ends,
        however it ends, so the lock of a process that is gone is simply taken over."""
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as error:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                raise RunError(
                    f"{self.name} is being trained by another titlegen train (process "
                    f"{holder}): wait for it to end, or stop it first."
                ) from error
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
            yield
        finally:
            os.close(fd)  # releases the lock

    # -- for listings ------------------------------------------------------------------------

    def last_trained(self) -> float:
        """When its latest checkpoint was saved (seconds since the epoch): as recorded, so a
        copied run keeps its date; else the pointer file's time (a plain gpt-2-simple run)."""
        try:
            saved = ((self.record() or {}).get("checkpoint") or {}).get("saved")
            if saved:
                return datetime.fromisoformat(saved).timestamp()
        except (RunError, ValueError, TypeError, AttributeError):
            pass
        try:
            return (self.folder / STATE).stat().st_mtime
        except OSError:
            return 0.0


def step_of(checkpoint: str) -> int:
    """The step in a checkpoint's name (``model-1600`` -> 1600; 0 for ``model.ckpt``)."""
    found = _STEP.search(checkpoint)
    return int(found.group(1)) if found else 0


def checkpoint_dir(given: Path | None = None) -> Path:
    return given or Path(os.environ.get(CHECKPOINT_DIR_ENV) or paths.CHECKPOINT_DIR)


def all_runs(folder: Path) -> list[Run]:
    """The trained runs in a checkpoint folder, the most recently trained first."""
    if not folder.is_dir():
        return []
    runs = [Run(path) for path in folder.iterdir() if path.is_dir() and Run(path).trained]
    return sorted(runs, key=lambda run: (-run.last_trained(), run.name))


def find(name: str | None, folder: Path) -> tuple[Run, bool]:
    """The run ``name`` in ``folder``, or, without a name, the most recently trained one;
    and whether it was chosen that way (so the caller can say which)."""
    if name is not None:
        run = Run.named(name, folder)
        if run.trained:
            return run, False
        others = all_runs(folder)
        listed = f" (titlegen runs lists the {len(others)} there)" if others else ""
        raise RunError(
            f"There is no trained run {name} in {folder}/: train one with titlegen train "
            f"DATASET --run-name {name}{listed}."
        )
    runs = all_runs(folder)
    if not runs:
        raise RunError(
            f"There is no trained run in {folder}/: train one with titlegen train DATASET "
            f"(or make demo), or name the folder with --checkpoint-dir or {CHECKPOINT_DIR_ENV}."
        )
    return runs[0], True


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_hparams(folder: Path) -> dict:
    """A run's or model's hparams.json, or an error naming the file."""
    path = folder / "hparams.json"
    try:
        hparams = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise RunError(f"{folder} has no hparams.json, so its model's shape is unknown.") from error
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise RunError(f"{path} is damaged ({error}).") from error
    if not isinstance(hparams, dict) or not {"n_vocab", "n_embd", "n_layer"} <= set(hparams):
        raise RunError(f"{path} is damaged (not GPT-2's hparams).")
    return hparams


def restore(saver: Any, session: Any, checkpoint: str) -> None:
    """``saver.restore``, with a damaged or foreign checkpoint reported in one sentence."""
    import tensorflow as tf

    try:
        shapes = dict(tf.train.list_variables(checkpoint))
        _check_shapes(session, checkpoint, shapes)
        saver.restore(session, checkpoint)
    except (tf.errors.OpError, ValueError) as error:
        raise RunError(
            f"The checkpoint {checkpoint} cannot be loaded ({_cause(error)}): it is damaged or "
            "was made for another model shape; train the run again with --restore-from fresh "
            "(a base model: download or create it again)."
        ) from error


def _check_shapes(session: Any, checkpoint: str, shapes: dict[str, list[int]]) -> None:
    """TensorFlow restores a tensor of another shape without a word and fails later, in the
    middle of a step: compare them first."""
    import tensorflow as tf

    for variable in session.graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES):
        name, wanted = variable.op.name, variable.shape.as_list()
        if name in shapes and list(shapes[name]) != wanted:
            raise RunError(
                f"The checkpoint {checkpoint} holds {name} of shape {list(shapes[name])}, but "
                f"hparams.json beside it makes {wanted}: they belong to different models; put "
                "back the hparams.json of the model the run was made from, or train again with "
                "--restore-from fresh."
            )


def _cause(error: Exception) -> str:
    """TensorFlow's reason, without its graph trace: "Read less bytes than requested"."""
    lines = str(getattr(error, "message", error)).splitlines()
    noise = ("Graph execution error", "Detected at node", "Node:", "File ", "[[", "\t")
    reasons = [
        line.strip() for line in lines if line.strip() and not line.lstrip().startswith(noise)
    ]
    return (reasons[-1] if reasons else type(error).__name__)[:200]


# -- metrics.csv: a row per step (written by titlegen.training.metrics.Log) ------------------

COLUMNS = ("step", "train_loss", "val_loss", "learning_rate")


@dataclass(frozen=True)
class Row:
    step: int
    train_loss: float | None = None  # None on a row that only evaluates (step 0)
    val_loss: float | None = None  # only on the steps that evaluate
    learning_rate: float | None = None


def read_metrics(run: Run, on_warning: Callable[[str], object] = lambda _m: None) -> list[Row]:
    """The rows of a run's metrics.csv. A damaged row (a process killed mid-write, an edit)
    is skipped with a warning: the rest of the history stays."""
    path = run.metrics_file
    try:
        with path.open(encoding="utf-8", newline="") as f:
            lines = list(csv.reader(f))
    except FileNotFoundError as error:
        raise RunError(
            f"{path} does not exist: train the run with titlegen train to record its losses."
        ) from error
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise RunError(f"Cannot read {path}: {error}.") from error
    if not lines or tuple(lines[0]) != COLUMNS:
        raise RunError(f"{path} is not a metrics file titlegen wrote (its header differs).")
    rows, bad = [], []
    for number, cells in enumerate(lines[1:], start=2):
        try:
            if len(cells) != len(COLUMNS):
                raise ValueError(cells)
            rows.append(Row(int(cells[0]), *(_number(cell) for cell in cells[1:])))
        except ValueError:
            bad.append(number)
    if bad:
        on_warning(
            f"Warning: skipped {plural(len(bad), 'damaged row')} of {path} (line "
            f"{', '.join(map(str, bad[:5]))}{', ...' if len(bad) > 5 else ''})."
        )
    return rows


def _number(text: str) -> float | None:
    return float(text) if text else None


def lowest(rows: list[Row]) -> Row | None:
    """The row with the lowest validation loss, if any."""
    scored = [row for row in rows if row.val_loss is not None]
    return min(scored, key=lambda row: row.val_loss or 0.0, default=None)


# -- titlegen runs --------------------------------------------------------------------------


def summary(run: Run) -> dict[str, Any]:
    """What ``titlegen runs`` shows of a run (JSON values); a damaged file shows as such
    rather than stopping the listing."""
    try:
        record = run.record() or {}
        damaged = False
    except RunError:
        record, damaged = {}, True
    try:
        step: int | None = run.step()
    except RunError:
        step = None  # its checkpoint cannot be loaded
    try:
        best = lowest(read_metrics(run)) if run.metrics_file.is_file() else None
    except RunError:
        best = None
    saved = record.get("checkpoint")
    saved = saved if isinstance(saved, dict) else {}
    try:
        form = Format.of_record(record)
    except (AttributeError, TypeError, ValueError):
        form, damaged = Format(), True
    return {
        "name": run.name,
        "folder": str(run.folder),
        "base_model": record.get("base_model"),
        "step": step,
        "last_trained": datetime.fromtimestamp(run.last_trained(), timezone.utc).isoformat(
            timespec="seconds"
        ),
        "checkpoint_val_loss": saved.get("val_loss") if saved.get("step") == step else None,
        "best_val_loss": best.val_loss if best else None,
        "best_step": best.step if best else None,
        "conditioned": form.condition,
        "subreddits": len(form.subreddits),
        "titlegen": bool(record),
        "damaged": damaged,
    }


def table(summaries: list[dict[str, Any]]) -> str:
    """``summaries`` as an aligned text table."""
    head = ("NAME", "BASE", "STEP", "LAST TRAINED", "VAL LOSS", "BEST VAL (STEP)", "SUBREDDITS")
    lines = [head]
    for s in summaries:
        best = "-" if s["best_val_loss"] is None else f"{s['best_val_loss']:.3f} ({s['best_step']})"
        lines.append(
            (
                s["name"],
                "damaged titlegen.json" if s["damaged"] else s["base_model"] or "?",
                "damaged" if s["step"] is None else str(s["step"]),
                s["last_trained"].replace("T", " ")[:16],
                "-" if s["checkpoint_val_loss"] is None else f"{s['checkpoint_val_loss']:.3f}",
                best,
                str(s["subreddits"]) if s["conditioned"] else "not conditioned",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )
