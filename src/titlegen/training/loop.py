"""``titlegen train``: finetune GPT-2 on titles, on gpt-2-simple's model and checkpoints.

One call trains one run (``checkpoint/<name>/``) for ``steps`` steps. A new run takes its base
model's hparams and vocabulary; a resumed run keeps its own, and its recorded settings unless
they are given again. Steps, validation, checkpoints, metrics and the record of the run happen
here; the graph is in :mod:`titlegen.training.graph`, the data in :mod:`titlegen.training.data`.
"""

from __future__ import annotations

import functools
import math
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import titlegen.models.download as download
import titlegen.training.metrics as metrics
from titlegen import __version__, dataset, encoding, runs
from titlegen.errors import TitlegenError
from titlegen.runs import Best, Run
from titlegen.sampling.generate import row_seed
from titlegen.training.config import (
    EVAL_WINDOWS,
    RESTORE,
    WINDOW,
    Precision,
    TrainOptions,
    settle,
)
from titlegen.training.data import Data, Stream, prepare
from titlegen.units import plural


@dataclass(frozen=True)
class Progress:
    step: int  # optimizer steps done in this run of the command
    total: int
    loss: float
    average: float  # exponential moving average of the loss (decay 0.99)
    elapsed: float
    tokens_per_second: float
    learning_rate: float
    val_loss: float | None = None  # on the steps that evaluate
    first: int = 0  # the run's step when this command started: the run is at first + step

    @property
    def seconds_left(self) -> float:
        return (self.total - self.step) * self.elapsed / max(self.step, 1)


@dataclass(frozen=True)
class Result:
    run: Run
    options: TrainOptions  # the settings this command trained with
    tokens: int  # training tokens per pass
    precision: Precision
    interrupted: int  # 0, or the signal that stopped training (SIGINT, SIGTERM)
    start: int  # the step this command started from
    last_step: int  # the step of the run's checkpoint (gpt-2-simple's counter)
    reached: int  # the step training got to (after --keep-best, maybe past last_step)
    best: Best | None = None  # the validation loss of the checkpoint kept, if measured
    lowest: Best | None = None  # the lowest validation loss this command measured
    stopped_early: bool = False
    plot: Path | None = None

    @property
    def run_folder(self) -> Path:
        return self.run.folder


def train(
    source: Path,
    given: dict[str, Any],
    *,
    on_progress: Callable[[Progress], object] = lambda _p: None,
    on_message: Callable[[str], object] = lambda _m: None,
) -> Result:
    """Finetune on ``source`` (titlegen's CSV, a text file, or an encoded .npz) with the
    options in ``given`` (TrainOptions' fields: those given on the command line; a resumed
    run's recorded settings fill in the rest)."""
    checkpoint_dir = runs.checkpoint_dir(given.get("checkpoint_dir"))
    run = Run.named(given.get("run_name", runs.RUN_NAME), checkpoint_dir)
    if not source.is_file():
        raise TitlegenError(f"{source} does not exist: make a dataset with titlegen fetch.")
    made = [folder for folder in (checkpoint_dir, run.folder) if not folder.exists()]
    try:
        with run.lock():  # first: the run's state is read by the one train that holds it
            return _train_locked(run, source, given, checkpoint_dir, on_progress, on_message)
    except BaseException:
        if made and not run.trained:  # a run that never started leaves no folder behind
            shutil.rmtree(run.folder, ignore_errors=True)
            if checkpoint_dir in made:
                shutil.rmtree(checkpoint_dir, ignore_errors=True)
        raise


def _train_locked(run, source, given, checkpoint_dir, on_progress, on_message) -> Result:
    restore_from = given.get("restore_from", "latest")
    resuming = restore_from == "latest" and run.trained
    # A run started again (fresh) keeps its settings and base model unless they are given.
    recorded = run.settings() if run.trained and restore_from in RESTORE else {}
    _check_base_model(run, given, resuming, recorded)
    try:
        options, changes = settle({**given, "checkpoint_dir": checkpoint_dir}, recorded)
    except (TypeError, ValueError) as error:
        raise runs.RunError(
            f"{run.file(runs.RECORD)} holds settings titlegen cannot use ({error}): fix or "
            "delete its settings."
        ) from error
    start_from = _starting_checkpoint(run, options, resuming)
    session = _Session(run, source, options, resuming, start_from, on_progress, on_message)
    # --memory auto changes neither an option given now nor a setting the run recorded.
    fixed = set(given) | set(recorded)
    session.prepare(fixed)  # the data and the memory are checked before anything is written
    if changes:
        on_message(f"Changed from the run's recorded settings: {'; '.join(changes)}.")
    return session.run()


def _check_base_model(run: Run, given: dict, resuming: bool, recorded: dict) -> None:
    """A resumed run goes on from its own weights: another --model cannot apply to it."""
    base = (run.base_model() or recorded.get("model")) if resuming else None
    model = given.get("model")
    if resuming and base and model and model != base:
        raise TitlegenError(
            f"{run.name} was trained from {base}, not {model}: leave out --model to go on with "
            f"it, or pass --restore-from fresh to start it again from {model}."
        )


def _check_same_documents(run: Run, source: Path, data: Data) -> None:
    """A resumed run trains on documents like those it was trained on: a dataset without
    subreddits cannot go on with a conditioned run (nor the other way round)."""
    form = run.format()
    if form.source and (form.keywords is None) != (data.keywords is None):
        if form.keywords is None:
            how = "without keywords, so it cannot go on with them: leave out --keywords"
        else:
            how = "with keywords, so it cannot go on without them: leave out --no-keywords"
        raise TitlegenError(
            f"{run.name} was trained {how}, train another run, or pass --restore-from fresh to "
            "start this one again."
        )
    if not form.source or (data.framing, data.condition) == (form.source, form.condition):
        return

    def describe(framing: str, condition: bool) -> str:
        if framing != "titles":
            return f"{framing} documents"
        return "titles after their subreddit" if condition else "titles without a subreddit"

    raise TitlegenError(
        f"{run.name} was trained on {describe(form.source, form.condition)} and {source} makes "
        f"{describe(data.framing, data.condition)}: train another run on it, or pass "
        "--restore-from fresh to start this one again."
    )


def _starting_checkpoint(run: Run, options: TrainOptions, resuming: bool) -> str:
    """The checkpoint to start from (checked before TensorFlow starts): the run's own when
    resuming, the base model's (or --restore-from PATH's) otherwise."""
    if resuming:
        run.checkpoint()  # damaged files are reported now, in one sentence
        if not run.has_model_files():
            raise runs.RunError(
                f"{run.folder} has a checkpoint but no hparams.json/encoder.json/vocab.bpe: copy "
                "them from its base model, or start again with --restore-from fresh."
            )
        return run.checkpoint()
    if options.restore_from not in RESTORE:
        folder = Path(options.restore_from)
        if not (folder / runs.STATE).is_file():
            raise TitlegenError(f"--restore-from {options.restore_from} holds no checkpoint.")
        return Run(folder).checkpoint()
    if not (options.model_folder / runs.STATE).is_file():
        raise TitlegenError(
            f"Model {options.model} is not in {options.model_dir}/: run "
            f"{download.how_to_get(options.model)}."
        )
    return Run(options.model_folder).checkpoint()


class _Session:
    """One ``titlegen train`` command: steps, evaluations, checkpoints and metrics."""

    def __init__(self, run, source, options, resuming, start_from, on_progress, on_message):
        self.run_, self.source, self.options = run, source, options
        self.resuming, self.start_from = resuming, start_from
        self.on_progress, self.on_message = on_progress, on_message
        self.record = (run.record() or {}) if resuming else {}
        self.start = run.step() if resuming else 0
        self.best: Best | None = None  # what --keep-best must beat: a checkpoint's loss
        self.lowest: Best | None = None  # the lowest validation loss measured
        self.stale = 0  # evaluations since the lowest
        self.reached = self.start
        self.stop_signal = 0
        self.saved: int | None = None  # the step this command last saved

    def prepare(self, given: set[str]) -> None:
        """Read, split, frame and encode the dataset with the vocabulary the run trains with;
        plan the memory (``given``: the options set on the command line, which the plan never
        changes)."""
        import titlegen.training.graph as graphs

        options = self.options
        self.model_files = self.run_.folder if self.resuming else self._model_files_source()
        vocabulary = encoding.Vocabulary(self.model_files)
        hparams = graphs.load_hparams(self.model_files)
        window = min(WINDOW, hparams.n_ctx)
        data = prepare(
            self.source,
            vocabulary,
            condition=options.condition,
            keywords=self._keywords(),
            val_fraction=options.val_fraction,
            split_seed=self._split_seed(),
            window=window,
        )
        if data.kind == "npz" and (options.keep_best or options.early_stop):
            raise TitlegenError(
                "--keep-best and --early-stop need validation, and an .npz holds tokens, not "
                "titles: train on the CSV instead."
            )
        if self.resuming:
            _check_same_documents(self.run_, self.source, data)
        self.data, self.window, self.vocabulary, self.hparams = data, window, vocabulary, hparams
        self._plan_memory(given)

    def _plan_memory(self, given: set[str]) -> None:
        import titlegen.training.memory as memory

        options, hparams = self.options, self.hparams
        if options.train_layers > hparams.n_layer:
            raise TitlegenError(
                f"--train-layers {options.train_layers}"
                + ("" if "train_layers" in given else " (recorded in the run)")
                + f" is more than the model's {plural(hparams.n_layer, 'block')}."
            )
        self.device = memory.device(options)
        self.options, self.plan, changes = memory.fit(
            hparams, options, self.window, given, self.device
        )
        self.memory_notes = [
            f"Memory plan for one step on {self.device.describe()}: {self.plan.describe()} "
            f"({memory.describe(self.options)})."
        ]
        if changes:
            self.memory_notes.append(
                f"To fit in {memory.gb(self.device.size or 0)}, --memory auto chose: "
                f"{'; '.join(changes)} (never an option given here or recorded in the run)."
            )
        if options.xla and self.options.gradient_checkpointing and self.device.gpu:
            self.memory_notes.append(
                "--xla with gradient checkpointing: XLA may recompute every block at once, "
                "saving less memory than planned; the peak after the first step will tell."
            )
        if self.device.size is None:
            self.memory_notes.append(
                "The GPU's free memory could not be read (NVIDIA's NVML: pip install "
                "nvidia-ml-py, which titlegen[gpu] installs), so nothing was checked: pass "
                "--memory SIZE to plan for a size."
            )
        free = self.device.free
        if free is not None and self.plan.total > free:
            self.memory_notes.append(
                f"That is more than the {memory.gb(free)} of RAM free now: the system will "
                "page other programs out, or training will be slow."
            )

    def run(self) -> Result:
        """Train, with Ctrl-C and SIGTERM asking to stop (after the step under way) from the
        moment the graph is built to the last save."""
        with _stop_on_signals(self):
            return self._run()

    def _run(self) -> Result:
        import titlegen.training.graph as graphs

        run, options, data, window = self.run_, self.options, self.data, self.window
        precision = graphs.choose_precision(
            options.precision, options.xla, options.gradient_checkpointing
        )
        self.on_message(_describe(self.source, data, precision, options))
        for note in self.memory_notes:
            self.on_message(note)
        self.precision = precision
        self.graph = graphs.Graph(options, precision, self.hparams, window)
        stopped = False
        self.on_message(f"Loading checkpoint {self.start_from}")
        try:
            self.graph.restore(self.start_from)
            if not self.resuming:
                if run.trained:
                    # Started again over an older run: the new weights go in first, so a
                    # process killed now leaves the older run (or the new one) whole.
                    self.graph.save(run, 0)
                run.take_model_files(self.model_files)
            self._record_start()
            self.stream = Stream(
                data, self.vocabulary, seed=options.seed, window=window, position=self._position()
            )
            if options.overwrite:
                run.remove_events()  # gpt-2-simple's --overwrite; one checkpoint is kept anyway
            with metrics.Log(run, keep_to=self.start, on_message=self.on_message) as log:
                stopped = self._steps(log)
        finally:
            self.graph.close()
        result = Result(
            run,
            options,
            data.train_tokens,
            precision,
            self.stop_signal,
            self.start,
            run.step(),
            self.reached,
            self.best if options.keep_best else run.checkpoint_loss(),
            self.lowest,
            stopped,
        )
        if run.metrics_file.is_file():
            import titlegen.training.plot as plot

            result = replace(result, plot=plot.write(run))
        return result

    def _model_files_source(self) -> Path:
        options = self.options
        if options.restore_from not in RESTORE:
            folder = Path(options.restore_from)
            if all((folder / name).is_file() for name in runs.MODEL_FILES):
                return folder
        return options.model_folder

    def _split_seed(self) -> int:
        """The seed of the run's first session, so the held-out titles stay held out whatever
        --seed a later session gets (a larger --val-fraction only adds titles)."""
        recorded = (self.record.get("data") or {}).get("split_seed")
        if recorded is None and self.record.get("history"):
            recorded = self.record["history"][0].get("options", {}).get("seed")
        return int(recorded) if recorded is not None else int(self.options.seed or 0)

    def _keywords(self) -> dataset.Keywords | None:
        """How titles get their keywords, with --keywords: as the run recorded it when it goes
        on (its separator and seed, so its documents stay the same), else drawn by the split
        seed (the run's first seed) with today's separator."""
        if not self.options.keywords:
            return None
        recorded = self.run_.format().keywords if self.resuming else None
        return recorded or dataset.Keywords(
            self._split_seed(), then=dataset.KEYWORDS_THEN, join=dataset.KEYWORDS_JOIN
        )

    def _position(self) -> tuple[int, int]:
        """Where in the data the checkpoint was: the same place if the data is the same, the
        next pass otherwise."""
        data = self.record.get("data") or {}
        if "pass" not in data:
            return 0, 0
        if data.get("train_tokens") == self.data.train_tokens:
            return int(data["pass"]), int(data["offset"])
        return int(data["pass"]) + 1, 0

    def _base_model(self) -> str:
        """What the run was made from: its recorded base when it goes on; the model, or for
        --restore-from PATH that run's base model (else the folder)."""
        if self.resuming:
            return self.record.get("base_model") or self.options.model
        if self.options.restore_from not in RESTORE:
            return Run(Path(self.options.restore_from)).base_model() or self.options.restore_from
        return self.options.model

    def _record_start(self) -> None:
        """titlegen.json: the dataset, base model, document format, subreddits and settings
        of the run, and this session; titles.csv: its titles and their side of the split."""
        run, data, options = self.run_, self.data, self.options
        history = list(self.record.get("history") or [])
        history.append(
            {
                "dataset": str(self.source),
                "tokens": data.train_tokens,
                "validation_tokens": len(data.val),
                "options": {**options.recorded(), "steps": options.steps},
                "started": runs.now(),
                "from_step": self.start,
            }
        )
        subreddits = data.subreddits
        if self.resuming:
            old = self.record.get("subreddits") or {}
            subreddits = dict(sorted({**old, **subreddits}.items()))
        form = runs.Format(
            titles=data.framing == "titles",
            condition=data.condition,
            source=data.framing,
            keywords=data.keywords,
        )
        self.record = {
            **self.record,
            "titlegen": __version__,
            "base_model": self._base_model(),
            "format": form.as_record(),
            "subreddits": subreddits,
            "settings": options.recorded(),
            "precision": self.precision.name,  # what auto resolved to: evaluate computes alike
            "history": history,
            "data": {**(self.record.get("data") or {}), "split_seed": self._split_seed()},
        }
        if not self.resuming:
            self.record.pop("checkpoint", None)
        run.write_record(self.record)
        if data.rows:
            held = {id(row) for row in data.held_out}  # the same objects as in data.rows
            lines = [(row, id(row) in held) for row in data.rows]
            run.write_titles(lines, keep_old=self.resuming)

    # -- the steps ---------------------------------------------------------------------------

    def _steps(self, log: metrics.Log) -> bool:
        """Train; returns whether it stopped early. A signal (Ctrl-C, SIGTERM) ends training
        after the step under way, and the steps completed are saved."""
        options = self.options
        clock = Clock(options.batch_size * options.accumulate_gradients * self.window)
        self._measure_start(log)
        schedule_start, schedule_steps = self._schedule()
        average = (0.0, 0.0)
        done, val_loss = 0, None
        for done in range(1, options.steps + 1):
            if self.stop_signal:  # asked before this step began
                done -= 1
                break
            step = self.start + done
            rate = learning_rate(
                step - 1 - schedule_start,
                schedule_steps,
                peak=options.learning_rate,
                warmup=options.warmup_steps,
                schedule=options.lr_schedule,
            )
            batches = self.stream.windows(options.batch_size * options.accumulate_gradients)
            loss = self.graph.step(_split(batches, options.accumulate_gradients), rate)
            if done == 1:
                self._say_peak()
            average = (average[0] * 0.99 + loss, average[1] * 0.99 + 1)
            last = done == options.steps
            evaluate = bool(self.data.val.size) and (step % options.eval_every == 0 or last)
            val_loss = self._validate(step) if evaluate else None
            log.write(metrics.Row(step, loss, val_loss, rate))
            self.reached = step
            if done % options.print_every == 0 or last or evaluate:
                self.on_progress(
                    Progress(done, options.steps, loss, average[0] / average[1], clock.elapsed(),
                             clock.rate(done), rate, val_loss, self.start)
                )  # fmt: skip
            self._maybe_save(step, val_loss)
            if options.sample_every and step % options.sample_every == 0:
                self._sample(step)
            if self.stop_signal:
                break
            if options.early_stop and self.stale >= options.early_stop:
                self.on_message(
                    f"Stopping early: the validation loss has not improved for "
                    f"{plural(self.stale, 'evaluation')}."
                )
                self._finish(step, val_loss)
                return True
        self._finish(self.start + done, val_loss)
        return False

    def _say_peak(self) -> None:
        import titlegen.training.memory as memory

        peak = memory.peak(self.device)
        if peak is not None:
            where = "GPU memory" if self.device.gpu else "resident memory of this process"
            self.on_message(
                f"Peak {where} after the first step: {memory.gb(peak)} (planned "
                f"{memory.gb(self.plan.total)})."
            )

    def _measure_start(self, log: metrics.Log) -> None:
        """The validation loss of the weights training starts from: a new run's is its first
        row; a resumed run's is what its checkpoint scores, what --keep-best must beat."""
        if not self.data.val.size:
            return
        loss = self._validate(self.start)
        if not self.resuming:
            log.write(metrics.Row(0, val_loss=loss))
        else:
            self.on_message(
                f"Validation loss at step {self.start}, where the run stands: {loss:.3f}."
            )
            self.record["checkpoint"] = {
                **(self.record.get("checkpoint") or {}),
                "step": self.start,
                "val_loss": loss,
            }
            self.run_.write_record(self.record)
        self.best = Best(self.start, loss)

    def _schedule(self) -> tuple[int, int]:
        """The steps the warmup and the cosine decay span: a resumed run goes on with the
        schedule it was in (Ctrl-C then the printed command does not warm up again); once a
        schedule is over, a train starts a new one over its --steps."""
        recorded = self.record.get("schedule") or {}
        start, steps = int(recorded.get("start", 0)), int(recorded.get("steps", 0))
        if not (self.resuming and start < self.start < start + steps):
            start, steps = self.start, self.options.steps
        self.record["schedule"] = {"start": start, "steps": steps}
        self.run_.write_record(self.record)
        return start, steps

    def _maybe_save(self, step: int, val_loss: float | None) -> None:
        """--keep-best: a checkpoint each time the validation loss improves; else every
        --save-every steps."""
        if self.options.keep_best:
            if val_loss is not None and self.best and val_loss < self.best.val_loss:
                self.best = Best(step, val_loss)
                self._save(step, val_loss)
        elif step % self.options.save_every == 0:
            self._save(step, val_loss)

    def _finish(self, step: int, val_loss: float | None) -> None:
        """The last save: the step reached, if training got anywhere and it is not saved yet
        (a new run is saved even if not); with --keep-best the best was saved already, and a
        new run whose starting weights were never beaten keeps those."""
        if self.options.keep_best:
            if self.saved is None and not self.resuming:
                self.graph.restore(self.start_from)
                self._save(self.start, self.best.val_loss if self.best else None)
            return
        if self.saved != step and (step > self.start or not self.resuming):
            self._save(step, val_loss)

    def _save(self, step: int, val_loss: float | None) -> None:
        path = self.graph.save(self.run_, step)
        self.saved = step
        # One checkpoint is kept, as gpt-2-simple keeps one per session: the older ones (of
        # earlier sessions, or of the run a fresh start replaces) go once the new one is in.
        self.run_.remove_checkpoints(keep=path)
        pass_number, offset = self.stream.position
        self.record["checkpoint"] = {"step": step, "val_loss": val_loss, "saved": runs.now()}
        self.record["data"] = {
            **self.record.get("data", {}),
            "pass": pass_number,
            "offset": offset,
            "train_tokens": self.data.train_tokens,
        }
        self.run_.write_record(self.record)

    def _validate(self, step: int) -> float:
        loss, _ = self.graph.evaluate(self.data.val, limit=EVAL_WINDOWS)
        if self.lowest is None or loss < self.lowest.val_loss:
            self.lowest, self.stale = Best(step, loss), 0
        else:
            self.stale += 1
        return loss

    @functools.cached_property
    def _sample_vocabulary(self) -> encoding.Vocabulary:
        return encoding.Vocabulary(self.run_.folder)  # read once, for --sample-every

    def _sample(self, step: int) -> None:
        vocabulary = self._sample_vocabulary
        start = vocabulary.encode(dataset.START if self.data.framing == "titles" else "")
        opening = start.tolist() or [vocabulary.token_id(dataset.END) or 0]
        table = vocabulary.byte_table(self.graph.hparams.n_vocab)
        seed = row_seed(self.options.seed or 0, slot=step, attempt=0)  # the same with --seed
        tokens = self.graph.sample(opening, [dataset.END.encode()], table, seed=seed)
        self.on_message(f"sample at step {step}: {vocabulary.decode(tokens)}")


def _split(windows: Any, parts: int) -> list[Any]:
    """``[parts * batch, window]`` as ``parts`` batches of ``[batch, window]``."""
    size = len(windows) // parts
    return [windows[i * size : (i + 1) * size] for i in range(parts)]


def _describe(source: Path, data: Data, precision: Precision, options: TrainOptions) -> str:
    held = ""
    if data.val.size:
        held = (
            f"; {plural(len(data.val), 'token')} ({plural(len(data.held_out), 'title')}) held "
            "out for validation"
        )
    if data.kind == "npz" and options.val_fraction > 0:
        held = "; no validation (an .npz holds tokens, not titles: train on the CSV for one)"
    return (
        f"Training in {precision.describe()}, {plural(data.train_tokens, 'token')} of {source}"
        + (" conditioned on the subreddit" if data.condition else "")
        + (" and keywords" if data.condition and data.keywords else "")
        + (" conditioned on keywords" if data.keywords and not data.condition else "")
        + f"{held}."
    )


@contextmanager
def _stop_on_signals(session: _Session) -> Iterator[None]:
    """Ctrl-C (SIGINT) or SIGTERM ask training to stop after the step under way, so the save
    that follows is never cut in half; a second Ctrl-C stops at once."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def ask(signum: int, _frame: Any) -> None:
        if session.stop_signal and signum == signal.SIGINT:
            raise KeyboardInterrupt
        session.stop_signal = signum

    previous = {sig: signal.signal(sig, ask) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def learning_rate(step: int, steps: int, *, peak: float, warmup: int, schedule: str) -> float:
    """The rate for ``step`` (0-based) of ``steps``: a linear warmup over ``warmup`` steps,
    then constant, or a cosine decay to a tenth of ``peak`` at the last step (nanoGPT's
    ``min_lr``)."""
    if step < warmup:
        return peak * (step + 1) / warmup
    if schedule == "constant":
        return peak
    progress = (step - warmup) / max(steps - 1 - warmup, 1)
    floor = peak / 10
    return floor + 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))) * (peak - floor)


class Clock:
    """Seconds since the first step, and tokens per second over them."""

    def __init__(self, tokens_per_step: int) -> None:
        self.start = time.perf_counter()
        self.tokens_per_step = tokens_per_step

    def elapsed(self) -> float:
        return max(time.perf_counter() - self.start, 1e-9)

    def rate(self, steps: int) -> float:
        return steps * self.tokens_per_step / self.elapsed()
