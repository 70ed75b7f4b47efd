"""``titlegen train``: finetune GPT-2 on titles with gpt-2-simple's ``finetune``.

What titlegen adds around it: a CSV's ``title`` column read by name, each title framed as one
document so generation can stop at its end; the dataset encoded with tiktoken (the
same tokens as gpt-2-simple's); clear errors before TensorFlow starts; a progress line with
tokens per second and time left; a seed; and a record of what produced the run
(``titlegen.json``) next to gpt-2-simple's own files, so the run stays loadable by
``gpt_2_simple.load_gpt2``.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from titlegen import __version__, dataset, download, encoding, paths, runtime
from titlegen.errors import TitlegenError

MODEL = "124M"
RUN_NAME = "run1"
LEARNING_RATE = 1e-4  # gpt-2-simple's default; try 1e-5 for less than 1 MB of text
BATCH_SIZE = 1
ACCUMULATE_GRADIENTS = 5  # gpt-2-simple's default: 5 batches per optimizer step
PRINT_EVERY = 10
SAVE_EVERY = 500
SAMPLE_EVERY = 0  # 0 = no samples during training (gpt-2-simple writes them under ./samples)
SAMPLE_LENGTH = 100  # tokens per training sample: a title or two
WINDOW = 1024  # gpt-2-simple always trains on 1024-token windows
PROVENANCE = "titlegen.json"  # what produced a run, beside gpt-2-simple's files
PRECISIONS = ("auto", "fp32", "bf16", "fp16")

_NOISE = (  # gpt-2-simple prints that titlegen says better or that does not apply
    "For larger models",
    "\tuse_memory_saving",
    "\tonly_train",
    "\taccumulate_gradients",
    "Loading dataset",
    "dataset has",
    "Training...",
)
_PROGRESS = re.compile(r"\[(\d+) \| ([\d.]+)\] loss=([\d.]+) avg=([\d.]+)")


@dataclass(frozen=True)
class TrainOptions:
    model: str = MODEL
    model_dir: Path = paths.MODEL_DIR
    run_name: str = RUN_NAME
    checkpoint_dir: Path = paths.CHECKPOINT_DIR
    steps: int = 1000
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
    average: float
    elapsed: float
    tokens_per_second: float

    @property
    def seconds_left(self) -> float:
        return (self.total - self.step) * self.elapsed / max(self.step, 1)


@dataclass(frozen=True)
class Result:
    run_folder: Path
    tokens: int  # in the dataset
    precision: Precision
    interrupted: bool
    last_step: int  # gpt-2-simple's counter: steps trained in this run folder so far


def train(
    source: Path,
    options: TrainOptions,
    *,
    on_progress: Callable[[Progress], object] = lambda _p: None,
    on_message: Callable[[str], object] = lambda _m: None,
) -> Result:
    """Finetune on ``source`` (titlegen's CSV, a text file, or an encoded .npz)."""
    run_folder, vocabulary = _check(source, options)
    with tempfile.TemporaryDirectory(prefix="titlegen-") as tmp:
        npz, tokens = _encoded(source, vocabulary, Path(tmp) / "dataset.npz")
        if tokens <= WINDOW:
            raise TitlegenError(
                f"{source} has {tokens:,} tokens, but training samples {WINDOW}-token windows: "
                f"give it more text (about {_titles_needed(source, tokens)} more titles)."
            )
        precision = choose_precision(options)
        on_message(f"Training in {precision.describe()}, {tokens:,} tokens of {source}.")
        run_folder.mkdir(parents=True, exist_ok=True)
        _record(run_folder, source, options, tokens)
        done = _counter(run_folder) if options.restore_from == "latest" else 0
        parser = _ProgressParser(options, done, on_progress, on_message)
        with contextlib.redirect_stdout(parser), contextlib.redirect_stderr(io.StringIO()):
            _finetune(npz, options, precision)  # stderr: gpt-2-simple's dataset-loading bar
        parser.flush()
    return Result(run_folder, tokens, precision, parser.interrupted, _counter(run_folder))


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
    if options.precision == "fp16" and options.accumulate_gradients < 2:
        raise TitlegenError(
            "--precision fp16 needs --accumulate-gradients 2 or more: with 1, gpt-2-simple "
            "takes gradients outside the optimizer, where the loss scaling cannot reach."
        )
    vocabulary = run_folder if (run_folder / "encoder.json").is_file() else model_folder
    return run_folder, vocabulary


def _encoded(source: Path, vocabulary: Path, out: Path) -> tuple[Path, int]:
    import numpy as np

    if source.suffix == ".npz":
        try:
            with np.load(source) as npz:
                sizes = [npz[name].size for name in npz.files]
        except (OSError, ValueError) as error:
            raise TitlegenError(f"{source} is not an .npz file of tokens: {error}.") from error
        # gpt-2-simple's Sampler needs more than a window per chunk, on average
        return source, sum(sizes) // max(len(sizes), 1)
    return out, encoding.encode_file(source, out, vocabulary).tokens


def _titles_needed(source: Path, tokens: int) -> str:
    try:
        per_title = tokens / len(dataset.read_titles(source))
    except TitlegenError:
        return "a few dozen"
    return f"{int((WINDOW + 1 - tokens) / per_title) + 1:,}"


def choose_precision(options: TrainOptions) -> Precision:
    """``auto``: fp16 on a GPU (grappler has no GPU bf16 pass), float32 on a CPU: on these
    machines' bfloat16-capable CPU, oneDNN's bf16 rewrite trained slower than its float32
    (BENCHMARKS.md), so bf16 is there to choose, not the default."""
    tf = runtime.tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU(s): {', '.join(g.name for g in gpus)}" if gpus else "the CPU"
    name = options.precision
    if name == "auto":  # fp16's loss scaling needs accumulated gradients (see _check)
        name = "fp16" if gpus and options.accumulate_gradients > 1 else "fp32"
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


@contextlib.contextmanager
def _loss_scaling(precision: Precision):
    """With fp16, the optimizer gpt-2-simple creates comes wrapped in TensorFlow's loss-scale
    optimizer: its compute_gradients scales the loss, apply_gradients unscales and skips
    steps whose gradients overflowed. (gpt-2-simple's AccumulatingOptimizer calls both.)"""
    if precision.name != "fp16":
        yield
        return
    from unittest import mock

    tf = runtime.tensorflow()
    train = tf.compat.v1.train

    def scaled(optimizer):
        def make(*args, **kwargs):
            return tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(
                optimizer(*args, **kwargs), loss_scale="dynamic"
            )

        return make

    with (
        mock.patch.object(train, "AdamOptimizer", scaled(train.AdamOptimizer)),
        mock.patch.object(
            train, "GradientDescentOptimizer", scaled(train.GradientDescentOptimizer)
        ),
    ):
        yield


def _record(run_folder: Path, source: Path, options: TrainOptions, tokens: int) -> None:
    """titlegen.json: the dataset, base model, document format and options of the run."""
    path = run_folder / PROVENANCE
    history = json.loads(path.read_text())["history"] if path.is_file() else []
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()}
    history.append(
        {
            "dataset": str(source),
            "tokens": tokens,
            "options": settings,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
    )
    record = {
        "titlegen": __version__,
        "base_model": options.model,
        "format": {"start": dataset.START, "end": dataset.END, "source": _format(source)},
        "history": history,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")


def _format(source: Path) -> str:
    if source.suffix == ".csv":
        return "titles"  # one title a document, between the markers
    return "npz" if source.suffix == ".npz" else "text"


def _finetune(npz: Path, options: TrainOptions, precision: Precision) -> None:
    import gpt_2_simple as gpt2
    import numpy as np

    tf = runtime.tensorflow()

    graph = tf.Graph()
    with graph.as_default():
        if options.seed is not None:
            random.seed(options.seed)  # gpt-2-simple's Sampler picks windows with `random`
            np.random.seed(options.seed)
            tf.compat.v1.set_random_seed(options.seed)
        session = tf.compat.v1.Session(config=session_config(precision, options.xla))
        with session, _loss_scaling(precision):
            gpt2.finetune(
                session,
                str(npz),
                steps=options.steps,
                model_name=options.model,
                model_dir=str(options.model_dir),
                batch_size=options.batch_size,
                learning_rate=options.learning_rate,
                accumulate_gradients=options.accumulate_gradients,
                restore_from=options.restore_from,
                run_name=options.run_name,
                checkpoint_dir=str(options.checkpoint_dir),
                sample_every=options.sample_every or 10**9,  # 0: never (the counter resumes)
                sample_length=SAMPLE_LENGTH,
                multi_gpu=options.multi_gpu,
                save_every=options.save_every,
                print_every=options.print_every,
                only_train_transformer_layers=options.only_train_transformer_layers,
                optimizer=options.optimizer,
                overwrite=options.overwrite,
            )


def _counter(run_folder: Path) -> int:
    try:
        return int((run_folder / "counter").read_text())
    except (OSError, ValueError):
        return 0


class _ProgressParser(io.TextIOBase):
    """Reads gpt-2-simple's prints: its progress lines become Progress, the rest messages."""

    def __init__(self, options: TrainOptions, done: int, on_progress, on_message) -> None:
        self.options, self.on_progress, self.on_message = options, on_progress, on_message
        self.done = done  # gpt-2-simple's step counter goes on from here when resuming
        self.pending, self.interrupted = "", False
        self.stderr = sys.stderr  # the callbacks print there; gpt-2-simple's stderr is muted
        self.tokens_per_step = options.batch_size * max(options.accumulate_gradients, 1) * WINDOW

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self._line(line)
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self._line(self.pending)
            self.pending = ""

    def _line(self, line: str) -> None:
        with contextlib.redirect_stderr(self.stderr):
            self._report(line)

    def _report(self, line: str) -> None:
        match = _PROGRESS.fullmatch(line.strip())
        if match is None:
            self.interrupted |= line.strip() == "interrupted"
            if line.strip() and not line.startswith(_NOISE):
                self.on_message(line)
            return
        counter, elapsed, loss, average = match.groups()
        step = int(counter) - self.done
        seconds = max(float(elapsed), 1e-9)
        self.on_progress(
            Progress(
                step,
                self.options.steps,
                float(loss),
                float(average),
                seconds,
                step * self.tokens_per_step / seconds,
            )
        )
