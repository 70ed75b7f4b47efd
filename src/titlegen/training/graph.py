"""The training graph: gpt-2-simple's ``finetune``, rewritten so it can evaluate and fit large
models.

The same network (gpt-2-simple's, :mod:`titlegen.training.model`), loss, optimizers (Adam or
SGD, gradient accumulation with its ``AccumulatingOptimizer``), variables and checkpoint layout
(``model-N``, ``counter``, the base model's hparams/encoder/vocab copied in), so a run loads in
plain gpt-2-simple and can be resumed by either. What it adds: a loss on held-out tokens, a
learning rate fed every step (warmup, cosine decay), saving only improvements (``--keep-best``),
fp16 loss scaling with or without accumulation, progress by callback instead of prints, and for
the large models gradient checkpointing, Adafactor and training only the last blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from titlegen import runs, runtime
from titlegen.training.config import SAMPLE_LENGTH, Precision, TrainOptions

if TYPE_CHECKING:
    import numpy as np

EVAL_BATCH = 8  # windows per forward pass when evaluating


def load_hparams(folder: Path) -> Any:
    """gpt-2-simple's HParams from a run's or model's hparams.json."""
    values = runs.read_hparams(folder)
    runtime.tensorflow()  # first, so that gpt-2-simple's own import of it is a quiet one
    from gpt_2_simple.src import model

    hparams = model.default_hparams()
    try:
        hparams.override_from_dict(values)
    except (KeyError, ValueError, TypeError) as error:
        raise runs.RunError(
            f"{folder / 'hparams.json'} is not GPT-2's hparams: {error}."
        ) from error
    return hparams


def choose_precision(name: str, xla: bool | None = None, checkpointing: bool = False) -> Precision:
    """``auto``: fp16 on a GPU (grappler has no GPU bf16 pass); on a CPU bf16 where it has AMX
    (1.4-1.5x faster than float32 at GPT-2 124M's shape, the same loss: BENCHMARKS.md), else
    float32 (on an AVX-512-BF16 AMD EPYC without AMX, bf16 trained slower). XLA, unless given:
    on a GPU, except with gradient checkpointing (XLA does not keep the control dependency that
    makes a block's recomputation wait for its gradient, and would recompute everything at
    once)."""
    tf = runtime.tensorflow()
    gpus = tf.config.list_physical_devices("GPU")
    device = f"{len(gpus)} GPU(s): {', '.join(g.name for g in gpus)}" if gpus else "the CPU"
    if name == "auto":
        name = "fp16" if gpus else "bf16" if cpu_has_amx() else "fp32"
    if xla is None:
        xla = bool(gpus) and not checkpointing
    return Precision(name, device, bool(gpus), xla)


def cpu_has_amx() -> bool:
    """Whether the CPU has AMX's bfloat16 matrix units (Intel Xeon since Sapphire Rapids),
    which oneDNN's bf16 kernels use. Linux only; elsewhere no."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            return any(line.startswith("flags") and " amx_bf16" in line for line in info)
    except OSError:
        return False


def session_config(precision: Precision | None = None, xla: bool = False):
    """gpt-2-simple's session settings, plus the precision's rewrite and XLA."""
    from tensorflow.core.protobuf import rewriter_config_pb2

    tf = runtime.tensorflow()
    config = tf.compat.v1.ConfigProto()
    config.gpu_options.allow_growth = True
    rewrites = config.graph_options.rewrite_options
    rewrites.layout_optimizer = rewriter_config_pb2.RewriterConfig.OFF  # as gpt-2-simple
    if precision is not None and precision.rewrite:
        setattr(rewrites, precision.rewrite, rewriter_config_pb2.RewriterConfig.ON)
    if xla:
        config.graph_options.optimizer_options.global_jit_level = tf.compat.v1.OptimizerOptions.ON_1
    return config


def windows(tokens: np.ndarray, size: int) -> list[np.ndarray]:
    """``tokens`` cut into consecutive windows of ``size`` (the last may be shorter, but has at
    least two tokens: one to read, one to predict)."""
    cuts = [tokens[i : i + size] for i in range(0, len(tokens), size)]
    return [cut for cut in cuts if len(cut) >= 2]


@dataclass
class Graph:
    """A session holding gpt-2-simple's model with its training loss and optimizer, and an
    evaluation branch over the same variables. Its weights are loaded by :meth:`restore`."""

    options: TrainOptions
    precision: Precision
    hparams: Any
    window: int

    def __post_init__(self) -> None:
        tf = runtime.tensorflow()
        from gpt_2_simple.src.accumulate import AccumulatingOptimizer

        import titlegen.training.model as model

        options = self.options
        self.graph = tf.Graph()
        with self.graph.as_default():
            if options.seed is not None:
                tf.compat.v1.set_random_seed(options.seed)
            self.context = tf.compat.v1.placeholder(tf.int32, [options.batch_size, None])
            gpus = _gpus() if options.multi_gpu else []
            logits = model.logits(
                self.hparams,
                self.context,
                checkpointing=options.gradient_checkpointing,
                gpus=gpus,
            )
            self.loss = tf.reduce_mean(_token_losses(self.context, logits))
            # Evaluation reads the same variables (reuse): no second copy of the weights.
            self.eval_context, self.eval_sum = _evaluation(self.hparams, reuse=True)

            all_vars = [v for v in tf.compat.v1.trainable_variables() if "model" in v.name]
            train_vars = trained(all_vars, options, self.hparams.n_layer)
            self.learning_rate = tf.compat.v1.placeholder(tf.float32, [])
            opt = _optimizer(options.optimizer, self.learning_rate)
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
            self.saver = tf.compat.v1.train.Saver(
                var_list=all_vars,
                max_to_keep=1,
                save_relative_paths=True,  # a run can move
            )
            self.session = tf.compat.v1.Session(
                config=session_config(self.precision, self.precision.xla)
            )
            # The optimizer's variables start here; the weights come from restore(), which
            # must follow: initializing them too would hold a second copy while it loads.
            saved = {v.ref() for v in all_vars}
            state = [v for v in tf.compat.v1.global_variables() if v.ref() not in saved]
            self.session.run(tf.compat.v1.variables_initializer(state))
        self.sampler: Any = None

    def restore(self, checkpoint: str) -> None:
        with self.graph.as_default():  # a graph's Saver, whether or not eager mode is on
            runs.restore(self.saver, self.session, checkpoint)

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
        return _evaluate(self, tokens, limit)

    def save(self, run: runs.Run, step: int) -> str:
        """gpt-2-simple's checkpoint: ``model-STEP`` and the ``counter`` file. TensorFlow writes
        the checkpoint's files before it points ``checkpoint`` at them, so a process killed
        mid-save leaves the previous checkpoint loadable."""
        with self.graph.as_default():
            path = self.saver.save(self.session, str(run.folder / "model"), global_step=step)
        run.write_counter(step)
        return path

    def sample(
        self, start: list[int], stops: list[bytes], vocabulary: list[bytes], *, seed: int
    ) -> list[int]:
        """One sample of up to ``SAMPLE_LENGTH`` tokens after ``start``, as gpt-2-simple's
        training samples (temperature 1, top-k 40), from the weights being trained."""
        import numpy as np

        import titlegen.sampling.graph as sampling_graph

        if self.sampler is None:
            with self.graph.as_default():
                given = sampling_graph.inputs()
                tokens = sampling_graph.build(
                    hparams=self.hparams,
                    given=given,
                    stops=stops,
                    vocabulary=vocabulary,
                    prefilled=False,  # the whole start is fed to the loop
                )
            self.sampler = (given, tokens)
        given, tokens = self.sampler
        feed = {
            given.tails: [start],
            given.lengths: [len(start)],
            given.limits: [SAMPLE_LENGTH],
            given.temperatures: [1.0],
            given.seeds: np.array([seed], np.uint64).view(np.int64),
            given.top_k: 40,
            given.top_p: 0.0,
        }
        return self.session.run(tokens, feed)[0, len(start) : len(start) + SAMPLE_LENGTH].tolist()

    def close(self) -> None:
        self.session.close()


def trained(variables: list[Any], options: TrainOptions, n_layer: int) -> list[Any]:
    """The variables a step changes (see :func:`titlegen.training.model.trains`)."""
    import titlegen.training.model as model

    return [
        v
        for v in variables
        if model.trains(v.name, n_layer, options.train_layers,
                        options.only_train_transformer_layers)
    ]  # fmt: skip


def _optimizer(name: str, learning_rate: Any) -> Any:
    tf = runtime.tensorflow()
    if name == "sgd":
        return tf.compat.v1.train.GradientDescentOptimizer(learning_rate)
    if name == "adafactor":
        import titlegen.training.adafactor as adafactor

        return adafactor.Adafactor(learning_rate)
    return tf.compat.v1.train.AdamOptimizer(learning_rate)


class EvalGraph:
    """The model and its loss only, for ``titlegen evaluate``: no optimizer, no slots."""

    def __init__(self, hparams: Any, window: int, precision: Precision | None = None) -> None:
        """``precision``: the run's, so that its losses are those training measured."""
        tf = runtime.tensorflow()
        self.hparams, self.window = hparams, window
        self.graph = tf.Graph()
        with self.graph.as_default():
            self.eval_context, self.eval_sum = _evaluation(hparams, reuse=False)
            names = [v for v in tf.compat.v1.global_variables() if "model" in v.name]
            self.saver = tf.compat.v1.train.Saver(var_list=names)
            self.session = tf.compat.v1.Session(config=session_config(precision))

    def restore(self, checkpoint: str) -> None:
        with self.graph.as_default():  # a graph's Saver, whether or not eager mode is on
            runs.restore(self.saver, self.session, checkpoint)

    def evaluate(self, tokens: np.ndarray, *, limit: int | None = None) -> tuple[float, int]:
        return _evaluate(self, tokens, limit)

    def close(self) -> None:
        self.session.close()


def _evaluation(hparams: Any, *, reuse: bool) -> tuple[Any, Any]:
    """A placeholder for any number of windows, and their summed loss (so every token weighs
    the same)."""
    import tensorflow as tf
    from gpt_2_simple.src import model

    context = tf.compat.v1.placeholder(tf.int32, [None, None])
    logits = model.model(hparams=hparams, X=context, reuse=reuse)["logits"]
    return context, tf.reduce_sum(_token_losses(context, logits))


def _evaluate(graph: Any, tokens: np.ndarray, limit: int | None) -> tuple[float, int]:
    import numpy as np

    cuts = windows(tokens, graph.window)[:limit]
    total, count = 0.0, 0
    for size in sorted({len(cut) for cut in cuts}, reverse=True):
        same = [cut for cut in cuts if len(cut) == size]
        for i in range(0, len(same), EVAL_BATCH):
            batch = np.stack(same[i : i + EVAL_BATCH])
            total += float(graph.session.run(graph.eval_sum, {graph.eval_context: batch}))
            count += batch.shape[0] * (size - 1)
    return total / max(count, 1), count


def _token_losses(context: Any, logits: Any) -> Any:
    import tensorflow as tf

    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=context[:, 1:], logits=logits[:, :-1]
    )


def _gpus() -> list[str]:
    tf = runtime.tensorflow()
    return [device.name for device in tf.config.list_logical_devices("GPU")]
