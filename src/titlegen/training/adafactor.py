"""Adafactor, an Adam-like optimizer whose state is a few MB, for gpt-2-simple's TF1 graphs.

Shazeer & Stern, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost" (2018,
arXiv:1804.04235), as tensor2tensor's ``AdafactorOptimizer`` and Hugging Face's ``Adafactor``
read it. Each step, for a gradient ``G`` of a weight ``X`` at step ``t`` (from 1)::

    beta2_t = 1 - t ** -decay_rate                      # 0 at t = 1: no bias correction needed
    V_t     = beta2_t * V + (1 - beta2_t) * (G**2 + epsilon1)
    U       = G / sqrt(V_t)
    U       = U / max(1, RMS(U) / clipping_threshold)   # update clipping, scale-free
    step    = learning_rate, or with relative_step: min(0.01, 1/sqrt(t)) * max(epsilon2, RMS(X))
    M       = beta1 * M + (1 - beta1) * step * U        # only when beta1 > 0
    X       = X - (M, or step * U)

For a weight of rank 2 or more, ``V`` is never stored: it is rebuilt from the running means of
``G**2 + epsilon1`` over its rows (``R``) and over its columns (``C``), ``V = R C / mean(R)``,
the factoring being over the last two dimensions (gpt-2-simple's conv1d weights are
``[1, nx, nf]``). An ``[n, m]`` weight keeps ``n + m`` floats instead of Adam's ``2 n m``.

Why titlegen has it: Adam's two moments cost 8 bytes per parameter, 6.2 GB for GPT-2 774M and
12.5 GB for 1558M, on top of the weights and their gradients; Adafactor's factored state is
5.6 MB and 9.1 MB (with ``beta1 > 0`` add a first moment, 4 bytes per parameter). For the two
largest models that can decide whether training fits on one GPU at all.

Settings for finetuning (Hugging Face's, from T5 finetuning): a fixed learning rate around
1e-3 with a warmup (titlegen feeds its schedule through a placeholder), ``relative_step=False``
(the default here), update clipping at 1.0 and no other gradient clipping. The paper's own
schedule, ``relative_step=True``, is meant for training from scratch and ignores the learning
rate.

Its slots are ``vr``/``vc`` (factored), ``v`` (rank < 2) and ``m`` (``beta1 > 0``), as variables
named like Adam's (``model/h0/mlp/c_fc/w/Adafactor``, ``..._1``); the step count is a non-slot
variable, ``Adafactor_step``, as Adam keeps ``beta1_power``. None is trainable, so titlegen's
Saver, of the trainable ``model`` variables, does not checkpoint them: a resumed run starts
Adafactor afresh (its step count too), as gpt-2-simple's runs restart Adam.

TensorFlow is imported when this module is: only the training graph imports it, inside a
function, so ``titlegen --help`` never loads TensorFlow.
"""

from __future__ import annotations

from typing import Any

from titlegen import runtime

tf = runtime.tensorflow()

LEARNING_RATE = 1e-3  # Hugging Face's for finetuning; ignored when relative_step is on
BETA1 = 0.0  # first-moment decay; 0 keeps no first moment at all (4 bytes per parameter saved)
DECAY_RATE = 0.8  # beta2_t = 1 - t**-0.8: the second moment's memory grows with the step
EPSILON1 = 1e-30  # added to the squared gradient, so a zero gradient divides by no zero
EPSILON2 = 1e-3  # relative_step's floor on a weight's scale, so a zero weight can move
CLIPPING_THRESHOLD = 1.0  # largest RMS of an update before the step size; the paper's d
RELATIVE_STEP_CAP = 1e-2  # relative_step's step size is min(this, 1/sqrt(t))


class Adafactor(tf.compat.v1.train.Optimizer):
    """Adafactor for tf.compat.v1 graphs; see the module's docstring."""

    def __init__(
        self,
        learning_rate: float | Any = LEARNING_RATE,
        *,
        beta1: float = BETA1,
        decay_rate: float = DECAY_RATE,
        epsilon1: float = EPSILON1,
        epsilon2: float = EPSILON2,
        clipping_threshold: float = CLIPPING_THRESHOLD,
        factored: bool = True,
        relative_step: bool = False,
        name: str = "Adafactor",
    ) -> None:
        """``learning_rate``: a float, a tensor (a placeholder fed every step) or a callable
        returning one; ignored when ``relative_step``. ``factored=False`` keeps a full second
        moment for every weight, as Adam does."""
        if not 0.0 <= beta1 < 1.0:
            raise ValueError(f"beta1 must be in [0, 1), not {beta1}")
        if decay_rate <= 0 or clipping_threshold <= 0 or epsilon1 <= 0 or epsilon2 <= 0:
            raise ValueError("decay_rate, clipping_threshold and the epsilons must be > 0")
        super().__init__(use_locking=False, name=name)
        self._lr = learning_rate
        self._beta1 = beta1
        self._decay_rate = decay_rate
        self._epsilon1 = epsilon1
        self._epsilon2 = epsilon2
        self._clipping_threshold = clipping_threshold
        self._factored = factored
        self._relative_step = relative_step

    def _factors(self, var: Any) -> bool:
        return self._factored and var.shape.rank >= 2

    def _create_slots(self, var_list: list[Any]) -> None:
        # One count for all variables, next to the first by name (as Adam's beta powers).
        first = min(var_list, key=lambda v: v.name)
        self._create_non_slot_variable(0.0, f"{self._name}_step", colocate_with=first)
        zeros = tf.compat.v1.zeros_initializer()
        for var in var_list:
            shape = var.shape.as_list()
            if self._factors(var):
                rows, columns = shape[:-1], [*shape[:-2], shape[-1]]
                self._slot_with(var, zeros, rows, "vr")
                self._slot_with(var, zeros, columns, "vc")
            else:
                self._slot_with(var, zeros, shape, "v")
            if self._beta1:
                self._slot_with(var, zeros, shape, "m")

    def _slot_with(self, var: Any, initializer: Any, shape: list[int], slot: str) -> None:
        self._get_or_make_slot_with_initializer(
            var, initializer, tf.TensorShape(shape), tf.float32, slot, self._name
        )

    def _step(self) -> Any:
        with tf.init_scope():
            graph = None if tf.executing_eagerly() else tf.compat.v1.get_default_graph()
            return self._get_non_slot_variable(f"{self._name}_step", graph=graph)

    def _prepare(self) -> None:
        """The scalars every variable's update shares, read once per apply_gradients."""
        t = tf.cast(self._step(), tf.float32) + 1.0
        self._beta2_t = 1.0 - tf.pow(t, -self._decay_rate)
        if self._relative_step:
            self._step_size_t = tf.minimum(RELATIVE_STEP_CAP, tf.math.rsqrt(t))
        else:
            lr = self._call_if_callable(self._lr)
            self._step_size_t = tf.cast(tf.convert_to_tensor(lr, name="learning_rate"), tf.float32)

    def _resource_apply_dense(self, grad: Any, var: Any) -> Any:
        grad = tf.cast(grad, tf.float32)
        step_size = self._step_size_t
        if self._relative_step:  # "multiply_by_parameter_scale"
            step_size *= tf.maximum(self._epsilon2, _rms(tf.cast(var, tf.float32)))
        if self._factors(var):
            update, moments = self._factored_update(grad, var)
        else:
            update, moments = self._full_update(grad, var)
        # Clip and scale as one scalar, so that one full-size product is made, not two.
        update *= step_size / tf.maximum(1.0, _rms(update) / self._clipping_threshold)
        if self._beta1:
            m = self.get_slot(var, "m")
            update = self._beta1 * m + (1.0 - self._beta1) * update
            moments.append(m.assign(update))
        change = var.assign_sub(tf.cast(update, var.dtype.base_dtype))
        return tf.group(change, *moments)

    def _factored_update(self, grad: Any, var: Any) -> tuple[Any, list[Any]]:
        """G / sqrt(V) with V rebuilt from the row and column means of G**2 + epsilon1."""
        beta2 = self._beta2_t
        squared = tf.square(grad) + self._epsilon1
        vr, vc = self.get_slot(var, "vr"), self.get_slot(var, "vc")
        rows = beta2 * vr + (1.0 - beta2) * tf.reduce_mean(squared, axis=-1)
        columns = beta2 * vc + (1.0 - beta2) * tf.reduce_mean(squared, axis=-2)
        row_factor = tf.math.rsqrt(rows / tf.reduce_mean(rows, axis=-1, keepdims=True))
        column_factor = tf.math.rsqrt(columns)
        update = grad * row_factor[..., :, None] * column_factor[..., None, :]
        return update, [vr.assign(rows), vc.assign(columns)]

    def _full_update(self, grad: Any, var: Any) -> tuple[Any, list[Any]]:
        beta2 = self._beta2_t
        v = self.get_slot(var, "v")
        second = beta2 * v + (1.0 - beta2) * (tf.square(grad) + self._epsilon1)
        return grad * tf.math.rsqrt(second), [v.assign(second)]

    def _resource_apply_sparse_duplicate_indices(self, grad: Any, var: Any, indices: Any) -> Any:
        # The factored means need the whole gradient, zero rows included: make it dense.
        # unsorted_segment_sum adds up repeated indices (wte's gradient repeats every token
        # that occurs twice), so TensorFlow's own deduplication is not needed first.
        return self._resource_apply_dense(_densify(grad, indices, var), var)

    def _resource_apply_sparse(self, grad: Any, var: Any, indices: Any) -> Any:
        return self._resource_apply_sparse_duplicate_indices(grad, var, indices)

    def _apply_dense(self, grad: Any, var: Any) -> Any:
        return self._resource_apply_dense(grad, var)  # the same ops work on a RefVariable

    def _apply_sparse_duplicate_indices(self, grad: Any, var: Any) -> Any:
        return self._apply_dense(_densify(grad.values, grad.indices, var), var)

    def _apply_sparse(self, grad: Any, var: Any) -> Any:
        return self._apply_sparse_duplicate_indices(grad, var)

    def _finish(self, update_ops: list[Any], name_scope: str) -> Any:
        # Once per apply_gradients, after every variable's update has read the count.
        with tf.control_dependencies(update_ops):
            step = self._step()
            with tf.compat.v1.colocate_with(step):
                count = step.assign_add(1.0)
        return tf.group(*update_ops, count, name=name_scope)


def _rms(x: Any) -> Any:
    return tf.sqrt(tf.reduce_mean(tf.square(x)))


def _densify(values: Any, indices: Any, var: Any) -> Any:
    rows = var.shape[0] if var.shape[0] is not None else tf.shape(var)[0]
    return tf.math.unsorted_segment_sum(values, indices, num_segments=rows)
