"""The training loop: gpt-2-simple's ``finetune``, rewritten so it can evaluate.

The same network (gpt-2-simple's ``model.model``), loss, optimizers (Adam or SGD, gradient
accumulation with its ``AccumulatingOptimizer``), variables and checkpoint layout (``model-N``,
``counter``, the base model's hparams/encoder/vocab copied in), so a run loads in plain
gpt-2-simple and can be resumed by either. What it adds: a loss on held-out tokens, a learning
rate fed every step (warmup, cosine decay), saving only improvements (``--keep-best``), fp16
loss scaling with or without accumulation, and progress by callback instead of prints.
"""

from __future__ import annotations

import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from titlegen import runtime
from titlegen.atomic import atomic_write

if TYPE_CHECKING:
    import numpy as np

    from titlegen.training import Precision, TrainOptions

EVAL_BATCH = 8  # windows per forward pass when evaluating
COPIED = ("hparams.json", "encoder.json", "vocab.bpe")  # as gpt-2-simple copies them


def load_hparams(folder: Path) -> Any:
    import json

    runtime.tensorflow()  # first, so that gpt-2-simple's own import of it is a quiet one
    from gpt_2_simple.src import model

    hparams = model.default_hparams()
    hparams.override_from_dict(json.loads((folder / "hparams.json").read_text()))
    return hparams


def windows(tokens: np.ndarray, size: int) -> list[np.ndarray]:
    """``tokens`` cut into consecutive windows of ``size`` (the last may be shorter, but has at
    least two tokens: one to read, one to predict)."""
    cuts = [tokens[i : i + size] for i in range(0, len(tokens), size)]
    return [cut for cut in cuts if len(cut) >= 2]


@dataclass
class Graph:
    """A session holding gpt-2-simple's model with its training loss and optimizer, and an
    evaluation branch over the same variables."""

    options: TrainOptions
    precision: Precision
    hparams: Any
    window: int

    def __post_init__(self) -> None:
        from gpt_2_simple.src import model
        from gpt_2_simple.src.accumulate import AccumulatingOptimizer

        from titlegen.training import session_config

        tf = runtime.tensorflow()
        options = self.options
        self.graph = tf.Graph()
        with self.graph.as_default():
            if options.seed is not None:
                tf.compat.v1.set_random_seed(options.seed)
            self.context = tf.compat.v1.placeholder(tf.int32, [options.batch_size, None])
            gpus = _gpus() if options.multi_gpu else []
            logits = model.model(hparams=self.hparams, X=self.context, gpus=gpus)["logits"]
            self.loss = tf.reduce_mean(_token_losses(self.context, logits))
            # Evaluation: any number of windows; summed, so every token weighs the same.
            self.eval_context = tf.compat.v1.placeholder(tf.int32, [None, None])
            eval_logits = model.model(hparams=self.hparams, X=self.eval_context, reuse=True)
            self.eval_sum = tf.reduce_sum(_token_losses(self.eval_context, eval_logits["logits"]))

            all_vars = [v for v in tf.compat.v1.trainable_variables() if "model" in v.name]
            train_vars = (
                [v for v in all_vars if "/h" in v.name]
                if options.only_train_transformer_layers
                else all_vars
            )
            self.learning_rate = tf.compat.v1.placeholder(tf.float32, [])
            if options.optimizer == "sgd":
                opt = tf.compat.v1.train.GradientDescentOptimizer(self.learning_rate)
            else:
                opt = tf.compat.v1.train.AdamOptimizer(self.learning_rate)
            if self.precision.name == "fp16":
                # Scales the loss in compute_gradients; apply_gradients unscales and skips a
                # step whose gradients overflowed, halving the scale (dynamic loss scaling).
                opt = tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(
                    opt, loss_scale="dynamic"
                )
            if options.accumulate_gradients > 1:
                accumulating = AccumulatingOptimizer(opt=opt, var_list=train_vars)
                self.reset = accumulating.reset()
                self.compute = accumulating.compute_gradients(self.loss)
                self.apply = accumulating.apply_gradients()  # returns the mean loss
            else:
                self.apply = opt.apply_gradients(opt.compute_gradients(self.loss, train_vars))
            self.saver = tf.compat.v1.train.Saver(var_list=all_vars, max_to_keep=1)
            self.session = tf.compat.v1.Session(config=session_config(self.precision, options.xla))
            self.session.run(tf.compat.v1.global_variables_initializer())
        self.sampler: Any = None

    def restore(self, checkpoint: str) -> None:
        self.saver.restore(self.session, checkpoint)

    def step(self, batches: list[np.ndarray], learning_rate: float) -> float:
        """One optimizer step over ``batches`` (one per accumulated gradient); the mean loss."""
        run = self.session.run
        if self.options.accumulate_gradients > 1:
            run(self.reset)
            for batch in batches:
                run(self.compute, {self.context: batch})
            return float(run(self.apply, {self.learning_rate: learning_rate}))
        feed = {self.context: batches[0], self.learning_rate: learning_rate}
        return float(run((self.apply, self.loss), feed)[1])

    def evaluate(self, tokens: np.ndarray, *, limit: int | None = None) -> tuple[float, int]:
        """Mean loss per predicted token of ``tokens`` (in consecutive windows, at most
        ``limit`` of them), and how many tokens were predicted."""
        import numpy as np

        cuts = windows(tokens, self.window)[:limit]
        total, count = 0.0, 0
        for size in sorted({len(cut) for cut in cuts}, reverse=True):
            same = [cut for cut in cuts if len(cut) == size]
            for i in range(0, len(same), EVAL_BATCH):
                batch = np.stack(same[i : i + EVAL_BATCH])
                total += float(self.session.run(self.eval_sum, {self.eval_context: batch}))
                count += batch.shape[0] * (size - 1)
        return total / max(count, 1), count

    def save(self, run_folder: Path, step: int) -> None:
        """gpt-2-simple's checkpoint: ``model-STEP`` and the ``counter`` file."""
        self.saver.save(self.session, str(run_folder / "model"), global_step=step)
        with atomic_write(run_folder / "counter", "w") as f:
            f.write(f"{step}\n")

    def sample(self, start: list[int], stops: list[bytes], vocabulary: list[bytes]) -> list[int]:
        """One sample of up to ``SAMPLE_LENGTH`` tokens after ``start``, as gpt-2-simple's
        training samples (temperature 1, top-k 40), from the weights being trained."""
        from titlegen import sampling_graph
        from titlegen.training import SAMPLE_LENGTH

        tf = runtime.tensorflow()
        if self.sampler is None:
            with self.graph.as_default():
                context = tf.compat.v1.placeholder(tf.int32, [1, None])
                settings = sampling_graph.Settings(1, SAMPLE_LENGTH, 1.0, 40, 0.0)
                tokens = sampling_graph.build(
                    hparams=self.hparams,
                    context=context,
                    settings=settings,
                    stops=stops,
                    vocabulary=vocabulary,
                )
            self.sampler = (context, tokens)
        context, tokens = self.sampler
        return self.session.run(tokens, {context: [start]})[0, len(start) :].tolist()

    def close(self) -> None:
        self.session.close()


def _token_losses(context: Any, logits: Any) -> Any:
    import tensorflow as tf

    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=context[:, 1:], logits=logits[:, :-1]
    )


def _gpus() -> list[str]:
    tf = runtime.tensorflow()
    return [device.name for device in tf.config.list_logical_devices("GPU")]


def copy_vocabulary(model_folder: Path, run_folder: Path) -> None:
    """The base model's hparams and vocabulary into the run, as gpt-2-simple does."""
    for name in COPIED:
        shutil.copyfile(model_folder / name, run_folder / name)


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


def remove_old(run_folder: Path) -> None:
    """``--overwrite``: gpt-2-simple's cleanup of a run's old checkpoints and event files."""
    for path in run_folder.iterdir():
        if path.is_file() and path.name.startswith(("model", "events")):
            path.unlink()
