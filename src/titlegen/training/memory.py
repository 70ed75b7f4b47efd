"""What a training step needs in memory, before anything is loaded, and what fits the device.

The plan counts float32 bytes (weights and optimizer state stay float32 in every precision):

- weights: every parameter, 4 bytes;
- optimizer state: Adam's two moments, 8 bytes per trained parameter; Adafactor's factored
  second moment, a row and a column per matrix (a few MB); SGD none;
- gradients: each weight is updated as soon as its gradient exists, so a block's worth at a
  time (and the embeddings'); all of them with fp16's loss scaling (every gradient is checked
  for overflow before any is applied), and as much again with gradient accumulation's sums;
  Adam's updates held about 1.5x the trained weights at once (measured);
- activations: what the backward pass keeps, per window of ``batch x window`` tokens: about
  ``ACTIVATION_FLOATS`` floats per token and width and ``ATTENTION_FLOATS`` per head and token
  pair, in every block, or with gradient checkpointing each block's input and one block at a
  time; and the logits, their softmax and its gradient (the vocabulary is 50,257 wide);
- the runtime: TensorFlow itself, and on a GPU its CUDA context.

The coefficients were fitted to the peak resident memory of one step measured at GPT-2's four
shapes on a CPU (``make bench-memory``, BENCHMARKS.md); on a GPU the same tensors live in its
memory. ``--memory auto`` changes, in this order, what the command line did not set: gradient
checkpointing, then Adafactor, then training the transformer blocks only, then fewer of them.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from typing import Any

import titlegen.training.model as model
from titlegen import runtime
from titlegen.errors import TitlegenError
from titlegen.training.config import TrainOptions
from titlegen.units import parse_size, plural

FLOAT = 4  # bytes: weights, gradients and optimizer state are float32 in every precision
ACTIVATION_FLOATS = 32  # kept per token and unit of width in a block (norms, MLP, projections)
ATTENTION_FLOATS = 5  # attention score matrices kept per block (scores, mask, softmax)
LOGIT_FLOATS = 4  # logits, their slice, softmax and gradient: per token and vocabulary entry
RUNTIME = 10**9  # TensorFlow, Python and the data (CPU), or the CUDA context (GPU)
ADAM_UPDATES = 1.5  # Adam's gradients and updates held at once, per trained weight byte
HEADROOM = 0.9  # plan to use at most this share of the device's memory
# What --memory auto may change, cheapest first.
MEMORY_SETTINGS = ("gradient_checkpointing", "optimizer", "only_train_transformer_layers",
                   "train_layers")  # fmt: skip


@dataclass(frozen=True)
class Device:
    name: str  # "the CPU", "GPU 0 (NVIDIA A100-SXM4-40GB)"
    size: int | None  # bytes to plan for; None when it could not be read
    gpu: bool
    told: bool = False  # --memory SIZE: the size given, not the device's
    free: int | None = None  # a CPU's RAM not in use now (size is all of it)

    def describe(self) -> str:
        if self.size is None:
            return f"{self.name} (memory unknown)"
        if self.told:
            return f"{self.name} ({gb(self.size)} given with --memory)"
        if self.gpu:
            return f"{self.name} ({gb(self.size)} free)"
        return f"{self.name} ({gb(self.size)} of RAM, {gb(self.free or 0)} free now)"


@dataclass(frozen=True)
class Plan:
    weights: int
    optimizer: int
    gradients: int
    activations: int
    runtime: int = RUNTIME

    @property
    def total(self) -> int:
        return self.weights + self.optimizer + self.gradients + self.activations + self.runtime

    def describe(self) -> str:
        return (
            f"weights {gb(self.weights)}, optimizer state {gb(self.optimizer)}, gradients "
            f"{gb(self.gradients)}, activations {gb(self.activations)}, runtime "
            f"{gb(self.runtime)}: {gb(self.total)}"
        )


def gb(size: float) -> str:
    """``3.10 GB``, ``12.4 GB``, ``68 MB``, ``<1 MB``: enough digits to tell plans apart."""
    if size >= 9.95e9:
        return f"{size / 1e9:.1f} GB"
    if size >= 0.995e9:
        return f"{size / 1e9:.2f} GB"
    if size >= 0.5e6 or size == 0:
        return f"{size / 1e6:.0f} MB"
    return "<1 MB"


def plan(hparams: Any, options: TrainOptions, window: int, *, loss_scaling: bool = False) -> Plan:
    """The bytes one training step needs with ``options`` (``loss_scaling``: fp16's, which
    checks every gradient before it applies any)."""
    shapes = model.variables(hparams)
    trained = {
        name: FLOAT * _count(shape)
        for name, shape in shapes.items()
        if model.trains(name, hparams.n_layer, options.train_layers,
                        options.only_train_transformer_layers)
    }  # fmt: skip
    weights = FLOAT * sum(_count(shape) for shape in shapes.values())
    every = sum(trained.values())
    if options.optimizer == "adam":
        state = 2 * every
    elif options.optimizer == "adafactor":
        state = FLOAT * sum(_factored(shapes[name]) for name in trained)
    else:
        state = 0
    # Each weight's update runs as soon as its gradient exists: a block's gradients at a time
    # (the recomputed block's, all at once), and those of the embeddings and the final norm.
    blocks: dict[str, int] = {}
    for name, size in trained.items():
        part = name.split("/")[1]
        key = part if part[:1] == "h" and part[1:].isdigit() else "outside"
        blocks[key] = blocks.get(key, 0) + size
    outside = blocks.pop("outside", 0)
    as_they_come = max(blocks.values(), default=0) + outside
    if options.accumulate_gradients > 1:
        gradients = every + as_they_come  # the running sums, and each batch's as they come
    elif loss_scaling:
        gradients = every  # all of them, checked for overflow before any is applied
    elif options.optimizer == "adam":
        gradients = int(ADAM_UPDATES * every)
    else:
        gradients = as_they_come
    return Plan(weights, state, gradients, _activations(hparams, options, window))


def _activations(hparams: Any, options: TrainOptions, window: int) -> int:
    batch, width, heads = options.batch_size, hparams.n_embd, hparams.n_head
    layers = hparams.n_layer
    tokens = batch * window
    block = ACTIVATION_FLOATS * tokens * width + ATTENTION_FLOATS * batch * heads * window**2
    through = options.train_layers or layers  # the backward pass stops below the trained blocks
    if options.gradient_checkpointing:
        kept = layers * tokens * width + block  # block inputs, and one block recomputed
    else:
        kept = through * block + (layers - through) * tokens * width
    logits = LOGIT_FLOATS * tokens * hparams.n_vocab
    return FLOAT * (kept + logits)


def _count(shape: tuple[int, ...]) -> int:
    count = 1
    for size in shape:
        count *= size
    return count


def _factored(shape: tuple[int, ...]) -> int:
    """Adafactor's state for a weight: a row and a column for a matrix, else a full copy."""
    dims = [size for size in shape if size > 1]
    return dims[0] + dims[1] if len(dims) >= 2 else _count(shape)


def device(options: TrainOptions) -> Device:
    """What the settings must fit: the GPU's free memory (all GPUs' with --multi-gpu), or the
    size given with ``--memory``; on a CPU its RAM, all of it (what is free now comes and goes,
    and the system can page other programs out: the plan says when it needs more than that)."""
    tf = runtime.tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    if options.memory not in ("auto", "off"):
        name = "GPU" if gpus else "the CPU"
        return Device(name, parse_size(options.memory), bool(gpus), told=True)
    if gpus:
        return _gpu_memory(gpus, options.multi_gpu)
    import psutil

    ram = psutil.virtual_memory()
    return Device("the CPU", ram.total, gpu=False, free=ram.available)


def _gpu_memory(gpus: list[Any], every: bool) -> Device:
    """The free memory of the first visible GPU (of every visible GPU with ``every``), from
    NVIDIA's management library (``titlegen[gpu]`` installs it): asking TensorFlow would
    reserve the memory it is asked about."""
    import os

    tf = runtime.tensorflow()
    details = tf.config.experimental.get_device_details(gpus[0])
    name = f"GPU 0 ({details.get('device_name', gpus[0].name)})"
    if every and len(gpus) > 1:
        name = f"{len(gpus)} GPUs"
    try:
        import pynvml

        pynvml.nvmlInit()
        visible = os.environ.get("CUDA_VISIBLE_DEVICES", "")
        order = [int(i) for i in visible.split(",") if i.strip().isdigit()] or list(
            range(len(gpus))
        )  # TensorFlow's GPU:N is the N-th visible device; NVML counts them all
        free = [
            pynvml.nvmlDeviceGetMemoryInfo(pynvml.nvmlDeviceGetHandleByIndex(i)).free
            for i in order[: len(gpus) if every else 1]
        ]
    except Exception:  # no NVML (not installed, not NVIDIA): the plan is printed, not enforced
        return Device(name, None, gpu=True)
    return Device(name, sum(free), gpu=True)


def fit(
    hparams: Any, options: TrainOptions, window: int, given: set[str], where: Device
) -> tuple[TrainOptions, Plan, list[str]]:
    """``options`` changed, with ``--memory auto``, until their plan fits ``where``: the
    cheapest change first, never an option in ``given``; and what was changed and why. Raises
    TitlegenError when they cannot fit."""
    scaling = options.precision == "fp16" or (options.precision == "auto" and where.gpu)
    needed = plan(hparams, options, window, loss_scaling=scaling)
    if options.memory == "off" or where.size is None:
        return options, needed, []
    room = int(where.size * HEADROOM)
    if needed.total <= room:
        return options, needed, []
    changes: list[tuple[dict[str, Any], int]] = []  # each change, and the plan before it
    for change in _cheapest_first(hparams, options, given):
        if not (changes and "train_layers" in change and "train_layers" in changes[-1][0]):
            changes.append((change, needed.total))
        else:  # one block fewer at a time, said once: from where the first began
            changes[-1] = (change, changes[-1][1])
        options = dataclasses.replace(options, **change)
        needed = plan(hparams, options, window, loss_scaling=scaling)
        if needed.total <= room:
            return options, needed, _said(changes, needed.total)
    even = f"even with {'; '.join(_said(changes, needed.total))}: " if changes else ""
    raise TitlegenError(
        f"Training a {hparams.n_layer}-layer, {hparams.n_embd}-wide GPT-2 needs "
        f"{gb(needed.total)} ({even}{needed.describe()}; {describe(options)}) and "
        f"{where.describe()} allows {gb(room)}: {_advice(given)}"
    )


def _cheapest_first(hparams: Any, options: TrainOptions, given: set[str]) -> list[dict[str, Any]]:
    """The changes ``--memory auto`` may make, cheapest first."""
    steps: list[dict[str, Any]] = []
    free = [name for name in MEMORY_SETTINGS if name not in given]
    # With XLA given, checkpointing would not save anything: XLA recomputes every block at once.
    if "gradient_checkpointing" in free and not options.gradient_checkpointing and not options.xla:
        steps.append({"gradient_checkpointing": True})
    if "optimizer" in free and options.optimizer == "adam":
        steps.append({"optimizer": "adafactor"})
    if "train_layers" in free and not options.train_layers:
        if "only_train_transformer_layers" in free and not options.only_train_transformer_layers:
            steps.append({"only_train_transformer_layers": True})
        steps += [{"train_layers": n} for n in range(hparams.n_layer - 1, 0, -1)]
    return steps


def _said(changes: list[tuple[dict[str, Any], int]], last: int) -> list[str]:
    """Each change with the plan's total before and after it."""
    afters = [before for _, before in changes[1:]] + [last]
    return [
        f"{_say(change)} ({gb(before)} -> {gb(after)})"
        for (change, before), after in zip(changes, afters, strict=True)
    ]


def _say(change: dict[str, Any]) -> str:
    (name, value), *_ = change.items()
    if name == "gradient_checkpointing":
        return "gradient checkpointing on"
    if name == "optimizer":
        return f"the {value} optimizer"
    if name == "only_train_transformer_layers":
        return "the embeddings frozen"
    return f"only the last {plural(value, 'block')} trained"


def describe(options: TrainOptions) -> str:
    """The settings that decide the memory, in words."""
    layers = (
        f"the last {plural(options.train_layers, 'block')}"
        if options.train_layers
        else "the blocks only"
        if options.only_train_transformer_layers
        else "every layer"
    )
    return (
        f"{options.optimizer}, {layers} trained, gradient checkpointing "
        f"{'on' if options.gradient_checkpointing else 'off'}, batch {options.batch_size}"
    )


def _advice(fixed: set[str]) -> str:
    kept = [
        flag
        for name, flag in (
            ("optimizer", "--optimizer"),
            ("train_layers", "--train-layers"),
            ("gradient_checkpointing", "--[no-]gradient-checkpointing"),
            ("only_train_transformer_layers", "--only-train-transformer-layers"),
        )
        if name in fixed
    ]
    why = (
        f"{', '.join(kept)} {'is' if len(kept) == 1 else 'are'} set (on the command line or in "
        "the run), so --memory auto keeps them; give them as you need, "
        if kept
        else ""
    )
    return (
        f"{why}lower --batch-size or --accumulate-gradients, train a smaller model, or pass "
        "--memory off to try anyway."
    )


def peak(where: Device) -> int | None:
    """The most memory this process has held so far: the GPU allocator's peak on a GPU, the
    peak resident set on a CPU."""
    if where.gpu:
        try:
            return int(runtime.tensorflow().config.experimental.get_memory_info("GPU:0")["peak"])
        except (ValueError, RuntimeError):
            return None
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024  # macOS counts bytes, Linux KiB
