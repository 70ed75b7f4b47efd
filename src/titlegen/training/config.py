"""What a ``titlegen train`` does: its settings, their defaults, and how a resumed run keeps
the settings it was trained with.

A run records its settings (``titlegen.json``); a resumed run goes on with them, and an option
given again wins and is said ("learning rate 1e-4 (was 3e-3)"). ``steps``, ``restore_from`` and
``overwrite`` belong to one command, not to the run.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from titlegen import paths, units
from titlegen.errors import TitlegenError

MODEL = "124M"
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
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
SCHEDULES = ("constant", "cosine")
OPTIMIZERS = ("adam", "sgd", "adafactor")
RESTORE = ("latest", "fresh")  # or a folder that holds a checkpoint

# One command's options, never carried over to the next train of the run.
SESSION = ("run_name", "checkpoint_dir", "steps", "restore_from", "overwrite", "memory")
PLACES = ("model_dir",)  # where things are, not how the run trains: changing it is not news
LABELS = {"lr_schedule": "learning rate schedule", "val_fraction": "validation fraction"}


@dataclass(frozen=True)
class TrainOptions:
    model: str = MODEL
    model_dir: Path = paths.MODEL_DIR
    run_name: str = "run1"
    checkpoint_dir: Path = paths.CHECKPOINT_DIR
    steps: int = STEPS
    restore_from: str = "latest"  # latest, fresh, or a folder with a checkpoint
    learning_rate: float = LEARNING_RATE
    batch_size: int = BATCH_SIZE
    accumulate_gradients: int = ACCUMULATE_GRADIENTS
    optimizer: str = "adam"  # adafactor: a few MB of state instead of 8 bytes per parameter
    only_train_transformer_layers: bool = False
    train_layers: int = 0  # only the last N transformer blocks; 0 = all (as gpt-2-simple)
    gradient_checkpointing: bool = False  # recompute activations: far less memory, ~1/3 slower
    memory: str = "auto"  # auto, off, or a size such as 16GB: see training.memory
    multi_gpu: bool = False
    print_every: int = PRINT_EVERY
    save_every: int = SAVE_EVERY
    sample_every: int = SAMPLE_EVERY
    overwrite: bool = False
    seed: int | None = None  # None: a random one, recorded, so a resumed run goes on alike
    precision: str = "auto"  # auto, fp32, bf16 or fp16: see Precision
    xla: bool | None = None  # compile with XLA; None: on a GPU unless gradient checkpointing
    condition: bool = True  # on the subreddit, when the dataset has that column
    keywords: bool = False  # each title after a few of its words, for generate --keywords
    val_fraction: float = VAL_FRACTION
    eval_every: int = EVAL_EVERY
    keep_best: bool = False  # save only checkpoints that lower the validation loss
    early_stop: int = 0  # stop after this many evaluations without improvement; 0 = never
    warmup_steps: int = 0
    lr_schedule: str = "constant"  # as gpt-2-simple; cosine decays to a tenth

    def __post_init__(self) -> None:
        object.__setattr__(self, "model_dir", Path(self.model_dir))
        object.__setattr__(self, "checkpoint_dir", Path(self.checkpoint_dir))
        paths.folder_name(self.run_name, "--run-name")
        paths.folder_name(self.model, "--model")
        for name in ("steps", "batch_size", "accumulate_gradients", "print_every", "save_every"):
            _at_least(name, getattr(self, name), 1)
        for name in ("eval_every",):
            _at_least(name, getattr(self, name), 1)
        for name in ("sample_every", "early_stop", "warmup_steps", "train_layers"):
            _at_least(name, getattr(self, name), 0)
        if not self.learning_rate > 0:
            raise TitlegenError(f"--learning-rate must be above 0, not {self.learning_rate}.")
        if self.memory not in ("auto", "off"):
            units.parse_size(self.memory)  # a size, or one sentence saying how to write one
        _one_of("precision", self.precision, PRECISIONS)
        _one_of("lr_schedule", self.lr_schedule, SCHEDULES)
        _one_of("optimizer", self.optimizer, OPTIMIZERS)
        if not 0 <= self.val_fraction <= MAX_VAL_FRACTION:
            raise TitlegenError(
                f"--val-fraction must be between 0 and {MAX_VAL_FRACTION}, not {self.val_fraction}."
            )
        if (self.keep_best or self.early_stop) and self.val_fraction == 0:
            raise TitlegenError(
                "--keep-best and --early-stop compare validation losses: set --val-fraction "
                "above 0."
            )

    @property
    def model_folder(self) -> Path:
        return self.model_dir / self.model

    def recorded(self) -> dict[str, Any]:
        """The settings a run keeps (JSON values)."""
        return {
            f.name: str(value) if isinstance(value := getattr(self, f.name), Path) else value
            for f in fields(self)
            if f.name not in SESSION
        }


def settle(given: dict[str, Any], recorded: dict[str, Any]) -> tuple[TrainOptions, list[str]]:
    """The options of a ``train``: the defaults, then the run's recorded settings, then the
    options given on this command; and, for each given one that changes a recorded setting,
    a phrase saying so. A new run without a seed gets a random one (recorded)."""
    known = {f.name for f in fields(TrainOptions)}
    kept = {k: v for k, v in recorded.items() if k in known and k not in SESSION}
    options = TrainOptions(**{**kept, **given})
    changes = [
        f"{_label(name)} {_show(getattr(options, name))} (was {_show(kept[name])})"
        for name in given
        if name in kept
        and name not in PLACES
        and _show(getattr(options, name)) != _show(kept[name])
    ]
    if options.seed is None:
        options = dataclasses.replace(options, seed=secrets.randbelow(2**31))
    return options, changes


def _label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " "))


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "auto"
    return str(value)


def _at_least(name: str, value: int, low: int) -> None:
    if value < low:
        raise TitlegenError(f"--{name.replace('_', '-')} must be at least {low}, not {value}.")


def _one_of(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise TitlegenError(
            f"--{name.replace('_', '-')} must be one of {', '.join(choices)}, not {value!r}."
        )


@dataclass(frozen=True)
class Precision:
    """How the training graph computes. Variables and the optimizer always stay float32; a
    grappler rewrite (``rewrite``) turns the matrix work into bf16 or fp16, and fp16 scales the
    loss so small gradients survive (a dynamic scale, halved and the step skipped on
    overflow)."""

    name: str  # fp32, bf16 or fp16
    device: str  # "the CPU" or "N GPU(s): ..."
    gpu: bool
    xla: bool = False  # the training graph compiled with XLA

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
        xla = (", with XLA" if self.gpu else ", --xla ignored on a CPU") if self.xla else ""
        return f"{self.name} ({how[self.name]}{xla}) on {self.device}"
