"""``titlegen train``: finetune GPT-2 on titles, on gpt-2-simple's model and checkpoints.

What titlegen adds: a CSV's ``title`` column read by name, each title framed as one document
(after its subreddit, when conditioning) so generation can stop at its end and be asked for a
subreddit; titles held out for a validation loss, logged with the training loss to
``metrics.csv``, TensorBoard and ``loss.png``; keep-best, early stop, warmup and cosine decay;
clear errors before TensorFlow starts; progress with tokens per second and time left; a seed;
and a record of what produced the run (``titlegen.json``, ``titles.csv``) next to
gpt-2-simple's own files, so the run stays loadable by ``gpt_2_simple.load_gpt2``.
"""

from __future__ import annotations

import csv
import functools
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from titlegen import __version__, dataset, download, encoding, metrics, paths, runtime
from titlegen import training_loop as loop
from titlegen.atomic import atomic_write
from titlegen.errors import TitlegenError

if TYPE_CHECKING:
    import numpy as np

MODEL = "124M"
RUN_NAME = "run1"
STEPS = 1000
LEARNING_RATE = 1e-4  # gpt-2-simple's default; try 1e-5 for less than 1 MB of text
BATCH_SIZE = 1
ACCUMULATE_GRADIENTS = 5  # gpt-2-simple's default: 5 batches per optimizer step
PRINT_EVERY = 10
SAVE_EVERY = 500
SAMPLE_EVERY = 0  # 0 = no samples during training
SAMPLE_LENGTH = 100  # tokens per training sample: a title or two
WINDOW = 1024  # tokens per training window, as gpt-2-simple (at most the model's n_ctx)
VAL_FRACTION = 0.05  # of the distinct titles, held out; 0 = no validation
MAX_VAL_FRACTION = 0.5
EVAL_EVERY = 100  # steps between validation losses
EVAL_WINDOWS = 32  # validation windows per evaluation (the same ones each time)
PROVENANCE = "titlegen.json"  # what produced a run, beside gpt-2-simple's files
TITLES = "titles.csv"  # the run's titles and which side of the split each fell on
PLOT = "loss.png"
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class TrainOptions:
    model: str = MODEL
    model_dir: Path = paths.MODEL_DIR
    run_name: str = RUN_NAME
    checkpoint_dir: Path = paths.CHECKPOINT_DIR
    steps: int = STEPS
    restore_from: str = "latest"  # latest, fresh, or a folder with a checkpoint
    learning_rate: float = LEARNING_RATE
    batch_size: int = BATCH_SIZE
    accumulate_gradients: int = ACCUMULATE_GRADIENTS
    optimizer: str = "adam"
    only_train_transformer_layers: bool = False
    multi_gpu: bool = False
    print_every: int = PRINT_EVERY
    save_every: int = SAVE_EVERY
    sample_every: int = SAMPLE_EVERY
    overwrite: bool = False
    seed: int | None = None
    precision: str = "auto"  # auto, fp32, bf16 or fp16: see Precision
    xla: bool = False  # compile the training graph with XLA (for GPUs)
    condition: bool = True  # on the subreddit, when the dataset has that column
    val_fraction: float = VAL_FRACTION
    eval_every: int = EVAL_EVERY
    keep_best: bool = False  # save only checkpoints that lower the validation loss
    early_stop: int = 0  # stop after this many evaluations without improvement; 0 = never
    warmup_steps: int = 0
    lr_schedule: str = "constant"  # as gpt-2-simple; cosine decays to a tenth

    @property
    def run_folder(self) -> Path:
        return self.checkpoint_dir / paths.folder_name(self.run_name, "--run-name")

    @property
    def model_folder(self) -> Path:
        return self.model_dir / paths.folder_name(self.model, "--model")


@dataclass(frozen=True)
class Precision:
    """How the training graph computes. Variables and the optimizer always stay float32; a
    grappler rewrite (``rewrite``) turns the matrix work into bf16 or fp16, and fp16 scales the
    loss so small gradients survive (a dynamic scale, halved and the step skipped on
    overflow)."""

    name: str  # fp32, bf16 or fp16
    device: str  # "the CPU" or "N GPU(s): ..."
    gpu: bool

    @property
    def rewrite(self) -> str | None:
        """The grappler option that turns the precision on."""
        if self.name == "bf16":
            return "auto_mixed_precision_onednn_bfloat16"  # oneDNN: CPU bf16 (AVX512-BF16, AMX)
        if self.name == "fp16" and self.gpu:
            # On a CPU the loss scaling runs but the arithmetic stays float32: TensorFlow's
            # float16 emulation pass (auto_mixed_precision_cpu) crashes in TF 2.21.
            return "auto_mixed_precision"
        return None

    def describe(self) -> str:
        how = {
            "fp32": "float32",
            "bf16": "bfloat16 mixed precision",
            "fp16": "float16 mixed precision with loss scaling"
            if self.gpu
            else "loss scaling only: float16 arithmetic needs a GPU",
        }
        return f"{self.name} ({how[self.name]}) on {self.device}"


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

    @property
    def seconds_left(self) -> float:
        return (self.total - self.step) * self.elapsed / max(self.step, 1)


@dataclass(frozen=True)
class Best:
    step: int
    val_loss: float


@dataclass(frozen=True)
class Result:
    run_folder: Path
    tokens: int  # training tokens
    precision: Precision
    interrupted: bool
    last_step: int  # the step of the run's checkpoint (gpt-2-simple's counter)
    reached: int  # the step training got to (after --keep-best, maybe past last_step)
    best: Best | None = None  # the lowest validation loss of this command
    stopped_early: bool = False
    plot: Path | None = None


@dataclass(frozen=True)
class Data:
    """A dataset ready to train on: tokens for training and for validation."""

    train: np.ndarray
    val: np.ndarray  # empty without validation
    rows: list[dataset.Row]  # every title, for the run's titles.csv (none for an .npz)
    held_out: list[dataset.Row]  # the validation titles among them
    condition: bool
    kind: str  # titles (a CSV), text or npz


def train(
    source: Path,
    options: TrainOptions,
    *,
    on_progress: Callable[[Progress], object] = lambda _p: None,
    on_message: Callable[[str], object] = lambda _m: None,
) -> Result:
    """Finetune on ``source`` (titlegen's CSV, a text file, or an encoded .npz)."""
    run_folder, vocabulary = _check(source, options)
    data = prepare(source, options, encoding.Vocabulary(vocabulary), _split_seed(options))
    precision = choose_precision(options)
    held = ""
    if data.val.size:
        held = f"; {len(data.val):,} tokens ({len(data.held_out):,} titles) held out for validation"
    if data.kind == "npz" and options.val_fraction > 0:
        held = "; no validation (an .npz holds tokens, not titles: train on the CSV for one)"
    on_message(
        f"Training in {precision.describe()}, {len(data.train):,} tokens of {source}"
        + (" conditioned on the subreddit" if data.condition else "")
        + f"{held}."
    )
    run_folder.mkdir(parents=True, exist_ok=True)
    if (options.model_folder / "hparams.json").is_file():
        loop.copy_vocabulary(options.model_folder, run_folder)
    _record(run_folder, source, options, data)
    result = _Run(run_folder, data, options, precision, on_progress, on_message).run()
    if (run_folder / metrics.FILE).is_file():
        from titlegen import plot

        result = replace(result, plot=plot.write(run_folder))
    return result


def _check(source: Path, options: TrainOptions) -> tuple[Path, Path]:
    """Everything that can be checked before TensorFlow starts; returns the run folder and the
    folder whose vocabulary encodes the dataset."""
    run_folder, model_folder = options.run_folder, options.model_folder
    if not source.is_file():
        raise TitlegenError(f"{source} does not exist: make a dataset with titlegen fetch.")
    resuming = options.restore_from == "latest" and (run_folder / "checkpoint").is_file()
    if options.restore_from not in ("latest", "fresh"):
        if not (Path(options.restore_from) / "checkpoint").is_file():
            raise TitlegenError(f"--restore-from {options.restore_from} holds no checkpoint.")
    elif not resuming and not (model_folder / "checkpoint").is_file():
        raise TitlegenError(
            f"Model {options.model} is not in {options.model_dir}/: run "
            f"{download.how_to_get(options.model, str(source))}."
        )
    if options.steps < 1:
        raise TitlegenError("--steps must be at least 1.")
    if options.precision not in PRECISIONS:
        raise TitlegenError(f"--precision must be one of {', '.join(PRECISIONS)}.")
    if options.lr_schedule not in SCHEDULES:
        raise TitlegenError(f"--lr-schedule must be one of {', '.join(SCHEDULES)}.")
    if not 0 <= options.val_fraction <= MAX_VAL_FRACTION:
        raise TitlegenError(
            f"--val-fraction must be between 0 and {MAX_VAL_FRACTION}, not {options.val_fraction}."
        )
    if (options.keep_best or options.early_stop) and options.val_fraction == 0:
        raise TitlegenError(
            "--keep-best and --early-stop compare validation losses: set --val-fraction above 0."
        )
    has_vocabulary = (model_folder / "encoder.json").is_file()
    return run_folder, model_folder if has_vocabulary else run_folder


def prepare(
    source: Path, options: TrainOptions, vocabulary: encoding.Vocabulary, split_seed: int | None
) -> Data:
    """Split (by ``split_seed``), frame and encode ``source``: titles shuffled (seeded) into
    training documents, the held-out ones into validation documents."""

    if source.suffix == ".npz":
        if options.keep_best or options.early_stop:
            raise TitlegenError(
                "--keep-best and --early-stop need validation, and an .npz holds tokens, not "
                "titles: train on the CSV instead."
            )
        tokens = _npz_tokens(source)
        data = Data(tokens, tokens[:0], [], [], False, "npz")
    else:
        rows = dataset.read_rows(source)
        kind = "titles" if source.suffix.lower() == ".csv" else "text"
        condition = options.condition and kind == "titles" and dataset.conditionable(rows)
        if condition:
            dataset.check_subreddit_names(rows, source)
        train_rows, val_rows = dataset.split(rows, options.val_fraction, split_seed)
        if not train_rows:
            raise TitlegenError(f"{source} has too few titles to hold any out: --val-fraction 0.")
        data = Data(
            _tokens(train_rows, kind, condition, vocabulary, options.seed),
            _tokens(val_rows, kind, condition, vocabulary, options.seed),
            rows,
            val_rows,
            condition,
            kind,
        )
    if len(data.train) <= WINDOW:
        raise TitlegenError(
            f"{source} has {len(data.train):,} tokens to train on, but training samples "
            f"{WINDOW}-token windows: give it more text "
            f"(about {_titles_needed(data, len(data.train))} more titles)."
        )
    return data


def _split_seed(options: TrainOptions) -> int | None:
    """The seed of the run's first session when resuming, so the held-out titles stay held
    out whatever --seed a later session gets (a larger --val-fraction only adds titles)."""
    record = options.run_folder / PROVENANCE
    if options.restore_from != "latest" or not record.is_file():
        return options.seed
    try:
        return json.loads(record.read_text())["history"][0]["options"]["seed"]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return options.seed


def _tokens(
    rows: list[dataset.Row], kind: str, condition: bool, vocabulary, seed: int | None
) -> np.ndarray:
    import numpy as np

    if not rows:
        return np.zeros(0, np.int32)
    if kind == "text":  # a text file keeps its order: it may be prose, not titles
        return vocabulary.encode("\n".join(row.title for row in rows) + "\n")
    docs = dataset.documents(rows, condition=condition)
    order = np.random.default_rng(seed).permutation(len(docs))  # windows mix subreddits
    return vocabulary.encode("".join(docs[i] for i in order))


def _npz_tokens(source: Path) -> np.ndarray:
    import numpy as np

    try:
        with np.load(source) as npz:
            chunks = [npz[name].astype(np.int32) for name in npz.files]
    except (OSError, ValueError) as error:
        raise TitlegenError(f"{source} is not an .npz file of tokens: {error}.") from error
    return np.concatenate(chunks) if chunks else np.zeros(0, np.int32)


def _titles_needed(data: Data, tokens: int) -> str:
    if not data.rows:
        return "a few dozen"
    per_title = max(tokens, 1) / max(len(data.rows) - len(data.held_out), 1)
    return f"{int((WINDOW + 1 - tokens) / per_title) + 1:,}"


def choose_precision(options: TrainOptions) -> Precision:
    """``auto``: fp16 on a GPU (grappler has no GPU bf16 pass), float32 on a CPU: on these
    machines' bfloat16-capable CPU, oneDNN's bf16 rewrite trained slower than its float32
    (BENCHMARKS.md), so bf16 is there to choose, not the default."""
    tf = runtime.tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU(s): {', '.join(g.name for g in gpus)}" if gpus else "the CPU"
    name = options.precision
    if name == "auto":
        name = "fp16" if gpus else "fp32"
    return Precision(name, device, bool(gpus))


def session_config(precision: Precision, xla: bool):
    """gpt-2-simple's session settings, plus the precision's rewrite and XLA."""
    from tensorflow.core.protobuf import rewriter_config_pb2

    tf = runtime.tensorflow()
    config = tf.compat.v1.ConfigProto()
    config.gpu_options.allow_growth = True
    rewrites = config.graph_options.rewrite_options
    rewrites.layout_optimizer = rewriter_config_pb2.RewriterConfig.OFF  # as gpt-2-simple
    if precision.rewrite:
        setattr(rewrites, precision.rewrite, rewriter_config_pb2.RewriterConfig.ON)
    if xla:
        config.graph_options.optimizer_options.global_jit_level = tf.compat.v1.OptimizerOptions.ON_1
    return config


def _record(run_folder: Path, source: Path, options: TrainOptions, data: Data) -> None:
    """titlegen.json: the dataset, base model, document format, subreddits and options of the
    run; titles.csv: its titles and their side of the split (what ``--novel`` compares with)."""
    path = run_folder / PROVENANCE
    history = json.loads(path.read_text())["history"] if path.is_file() else []
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()}
    history.append(
        {
            "dataset": str(source),
            "tokens": len(data.train),
            "validation_tokens": len(data.val),
            "options": settings,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )
    form = {"start": dataset.START, "end": dataset.END, "source": data.kind}
    if data.condition:
        form["subreddit_then"] = dataset.SUBREDDIT_END  # <|startoftext|>NAME TITLE<|endoftext|>
    record = {
        "titlegen": __version__,
        "base_model": options.model,
        "format": form,
        "subreddits": dict(sorted(Counter(r.subreddit for r in data.rows if r.subreddit).items())),
        "history": history,
    }
    with atomic_write(path, "w", encoding="utf-8") as f:
        f.write(json.dumps(record, indent=2) + "\n")
    if data.rows:
        _write_titles(run_folder / TITLES, data, resumed=options.restore_from == "latest")


def _write_titles(path: Path, data: Data, *, resumed: bool) -> None:
    """The run's titles and their side of the split; a resumed run keeps the titles of its
    earlier sessions' datasets too (they were trained on as well)."""
    held = {id(row) for row in data.held_out}  # the same objects as in data.rows
    lines = [
        [row.subreddit or "", row.title, "val" if id(row) in held else "train"] for row in data.rows
    ]
    if resumed and path.is_file():
        new = {(subreddit, title) for subreddit, title, _ in lines}
        try:
            with path.open(encoding="utf-8", newline="") as f:
                old = [[r["subreddit"], r["title"], r["split"]] for r in csv.DictReader(f)]
        except (OSError, KeyError, csv.Error):
            old = []  # unreadable: the current dataset's titles only
        lines = [line for line in old if (line[0], line[1]) not in new] + lines
    with atomic_write(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["subreddit", "title", "split"])
        writer.writerows(lines)


def _counter(run_folder: Path) -> int:
    try:
        return int((run_folder / "counter").read_text())
    except (OSError, ValueError):
        return 0


def _best_so_far(run_folder: Path, step: int) -> Best | None:
    """The lowest validation loss logged up to ``step`` (resuming), if any."""
    if step == 0:
        return None
    rows = [r for r in metrics.read_or_empty(run_folder) if r.val_loss is not None]
    rows = [r for r in rows if r.step <= step]
    best = min(rows, key=lambda r: r.val_loss or 0.0, default=None)
    return Best(best.step, best.val_loss) if best and best.val_loss is not None else None


def _checkpoint(options: TrainOptions, run_folder: Path) -> str:
    """What to start from, as gpt-2-simple chooses it."""
    tf = runtime.tensorflow()
    if options.restore_from == "latest":
        found = tf.train.latest_checkpoint(str(run_folder))
        return found or tf.train.latest_checkpoint(str(options.model_folder))
    if options.restore_from == "fresh":
        return tf.train.latest_checkpoint(str(options.model_folder))
    return tf.train.latest_checkpoint(options.restore_from)


class _Run:
    """One ``titlegen train`` command: steps, evaluations, checkpoints and metrics."""

    def __init__(self, run_folder, data, options, precision, on_progress, on_message) -> None:
        import numpy as np

        self.folder, self.data, self.options = run_folder, data, options
        self.on_progress, self.on_message = on_progress, on_message
        hparams = loop.load_hparams(run_folder)
        self.window = min(WINDOW, hparams.n_ctx)
        self.graph = loop.Graph(options, precision, hparams, self.window)
        self.precision = precision
        self.rng = np.random.default_rng(options.seed)
        self.start = _counter(run_folder) if options.restore_from == "latest" else 0
        self.best = _best_so_far(run_folder, self.start)  # what --keep-best must beat
        self.saved = False
        self.stale = 0  # evaluations since the best
        self.reached = self.start

    def run(self) -> Result:
        options, folder = self.options, self.folder
        checkpoint = _checkpoint(options, folder)
        self.on_message(f"Loading checkpoint {checkpoint}")
        try:
            self.graph.restore(checkpoint)
            if options.overwrite and options.restore_from == "latest":
                loop.remove_old(folder)
                self._save(self.start)
            with metrics.Log(folder, resume_from=self.start, fresh=self.start == 0) as log:
                interrupted, stopped = self._steps(log)
            if options.keep_best and not self.saved and not self._resumed():
                # Nothing beat the starting weights: keep those.
                self.graph.restore(checkpoint)
                self._save(self.start)
        finally:
            self.graph.close()
        return Result(
            folder,
            len(self.data.train),
            self.precision,
            interrupted,
            _counter(folder),
            self.reached,
            self.best,
            stopped,
        )

    def _resumed(self) -> bool:
        """Whether the run's own checkpoint is where this command started."""
        latest = self.options.restore_from == "latest"
        return latest and (self.folder / "checkpoint").is_file()

    def _steps(self, log: metrics.Log) -> tuple[bool, bool]:
        """Train; returns (interrupted, stopped early)."""
        options = self.options
        tokens_per_step = options.batch_size * options.accumulate_gradients * self.window
        clock = loop.Clock(tokens_per_step)
        if self.data.val.size and self.start == 0:
            log.write(metrics.Row(0, val_loss=self._validate(0)))
        average = (0.0, 0.0)
        done = completed = 0
        try:
            for done in range(1, options.steps + 1):
                step = self.start + done
                rate = loop.learning_rate(
                    done - 1,
                    options.steps,
                    peak=options.learning_rate,
                    warmup=options.warmup_steps,
                    schedule=options.lr_schedule,
                )
                loss = self.graph.step(self._batches(), rate)
                completed = done
                average = (average[0] * 0.99 + loss, average[1] * 0.99 + 1)
                evaluate = self.data.val.size and (
                    step % options.eval_every == 0 or done == options.steps
                )
                val_loss = self._validate(step) if evaluate else None
                log.write(metrics.Row(step, loss, val_loss, rate))
                if done % options.print_every == 0 or done == options.steps or evaluate:
                    self.on_progress(
                        Progress(
                            done,
                            options.steps,
                            loss,
                            average[0] / average[1],
                            clock.elapsed(),
                            clock.rate(done),
                            rate,
                            val_loss,
                        )
                    )
                if options.keep_best:
                    if val_loss is not None and self.best and self.best.step == step:
                        self._save(step)
                elif step % options.save_every == 0:
                    self._save(step)
                if options.sample_every and step % options.sample_every == 0:
                    self._sample(step)
                if options.early_stop and self.stale >= options.early_stop:
                    self.on_message(
                        f"Stopping early: the validation loss has not improved for "
                        f"{self.stale} evaluations."
                    )
                    self._finish(step)
                    return False, True
        except KeyboardInterrupt:
            self.on_message("interrupted")
            self._finish(self.start + completed, always=True)
            return True, False
        self._finish(self.start + done)
        return False, False

    def _finish(self, step: int, *, always: bool = False) -> None:
        """The last save: the step reached, if training got anywhere (or ``always``, as on
        Ctrl-C); with --keep-best the best was saved already."""
        self.reached = step
        if not self.options.keep_best and (step > self.start or always):
            self._save(step)

    def _save(self, step: int) -> None:
        self.graph.save(self.folder, step)
        self.saved = True

    def _batches(self) -> list[np.ndarray]:
        import numpy as np

        train, window = self.data.train, self.window
        batches = []
        for _ in range(self.options.accumulate_gradients):
            starts = self.rng.integers(0, len(train) - window + 1, self.options.batch_size)
            batches.append(np.stack([train[s : s + window] for s in starts]))
        return batches

    def _validate(self, step: int) -> float:
        loss, _ = self.graph.evaluate(self.data.val, limit=EVAL_WINDOWS)
        if self.best is None or loss < self.best.val_loss:
            self.best, self.stale = Best(step, loss), 0
        else:
            self.stale += 1
        return loss

    @functools.cached_property
    def vocabulary(self) -> encoding.Vocabulary:
        return encoding.Vocabulary(self.folder)  # read once, for --sample-every

    def _sample(self, step: int) -> None:
        vocabulary = self.vocabulary
        start = vocabulary.encode(dataset.START if self.data.kind == "titles" else "")
        opening = start.tolist() or [vocabulary.token_id(dataset.END) or 0]
        table = vocabulary.byte_table(self.graph.hparams.n_vocab)
        tokens = self.graph.sample(opening, [dataset.END.encode()], table)
        self.on_message(f"sample at step {step}: {vocabulary.decode(tokens)}")


def evaluate(source: Path | None, run_folder: Path) -> tuple[float, int]:
    """Loss per token of a run, and the tokens scored, on ``source`` (all its titles, framed
    as the run was trained), or on the titles the run held out for validation."""
    from titlegen import sampling

    if not (run_folder / "checkpoint").is_file():
        raise TitlegenError(f"{run_folder} holds no trained checkpoint: train it first.")
    form = sampling.RunFormat.of(run_folder)
    vocabulary = encoding.Vocabulary(run_folder)
    if source is None:
        tokens = _tokens(_held_out(run_folder), "titles", form.condition, vocabulary, 0)
    elif not source.is_file():
        raise TitlegenError(f"{source} does not exist.")
    elif source.suffix == ".npz":
        tokens = _npz_tokens(source)
    else:
        rows = dataset.read_rows(source)
        kind = "titles" if source.suffix.lower() == ".csv" else "text"
        if form.condition and not (kind == "titles" and dataset.conditionable(rows)):
            raise TitlegenError(
                f"{run_folder.name} was trained with subreddits, and {source} has no subreddit "
                "for every title."
            )
        tokens = _tokens(rows, kind, form.condition, vocabulary, 0)
    hparams = loop.load_hparams(run_folder)
    options = TrainOptions(val_fraction=0, condition=form.condition, batch_size=1)
    precision = Precision("fp32", "the device TensorFlow chooses", False)
    graph = loop.Graph(options, precision, hparams, min(WINDOW, hparams.n_ctx))
    try:
        graph.restore(runtime.tensorflow().train.latest_checkpoint(str(run_folder)))
        return graph.evaluate(tokens)
    finally:
        graph.close()


def _held_out(run_folder: Path) -> list[dataset.Row]:
    """The titles a run held out for validation (its titles.csv)."""
    path = run_folder / TITLES
    try:
        with path.open(encoding="utf-8", newline="") as f:
            held = [
                dataset.Row(row["subreddit"] or None, row["title"])
                for row in csv.DictReader(f)
                if row["split"] == "val"
            ]
    except FileNotFoundError as error:
        raise TitlegenError(
            f"{run_folder} has no {TITLES} (not trained by titlegen on titles): name a DATASET."
        ) from error
    except (OSError, KeyError, csv.Error) as error:
        raise TitlegenError(f"Cannot read {path}: {error}.") from error
    if not held:
        raise TitlegenError(
            f"{run_folder.name} held no titles out (--val-fraction 0): name a DATASET."
        )
    return held
