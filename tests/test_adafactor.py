"""The Adafactor optimizer on real TensorFlow graphs on the CPU: against a numpy reading of the
paper, its state's size, inside gpt-2-simple's gradient accumulation and fp16 loss scaling, and
training a tiny GPT-2."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from titlegen import runtime

SHAPES = {"conv": [1, 6, 4], "dense": [5, 3], "bias": [7], "embedding": [6, 4]}
LOOKUPS = [0, 2, 2, 5, 0, 2]  # rows of "embedding" read by tf.gather: 0 and 2 repeat
DIRECT = ["conv", "dense", "bias"]  # the variables the loss multiplies directly
STEPS = 4
LEARNING_RATE = 0.05


@pytest.fixture(scope="module")
def tf():
    return runtime.tensorflow()


def adafactor(**options: Any) -> Any:
    from titlegen.training.adafactor import Adafactor

    return Adafactor(**options)


def reference(
    start: dict[str, np.ndarray],
    steps: list[dict[str, np.ndarray]],
    *,
    learning_rate: float,
    beta1: float,
    relative_step: bool,
) -> dict[str, np.ndarray]:
    """The paper's Algorithms 4 and 5 (factored for rank >= 2 over the last two dimensions,
    written with its row and column sums), update clipping at d = 1, in float64."""
    x = {name: value.astype(np.float64) for name, value in start.items()}
    state: dict[str, dict[str, np.ndarray]] = {name: {} for name in x}
    for t, grads in enumerate(steps, start=1):
        beta2 = 1.0 - t**-0.8
        for name, g in grads.items():
            g = g.astype(np.float64)
            s, squared = state[name], g**2 + 1e-30
            if g.ndim >= 2:
                s["R"] = beta2 * s.get("R", 0.0) + (1 - beta2) * squared.sum(-1)
                s["C"] = beta2 * s.get("C", 0.0) + (1 - beta2) * squared.sum(-2)
                v = s["R"][..., :, None] * s["C"][..., None, :] / s["R"].sum(-1)[..., None, None]
            else:
                v = s["V"] = beta2 * s.get("V", 0.0) + (1 - beta2) * squared
            u = g / np.sqrt(v)
            u /= max(1.0, _rms(u) / 1.0)
            if relative_step:
                alpha = min(1e-2, 1 / np.sqrt(t)) * max(1e-3, _rms(x[name]))
            else:
                alpha = learning_rate
            update = alpha * u
            if beta1:
                update = s["M"] = beta1 * s.get("M", 0.0) + (1 - beta1) * update
            x[name] = x[name] - update
    return x


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def _gradients(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One step's gradients, each of them different (a constant gradient would make every
    second-moment estimate equal to its square, whatever the decay)."""
    grads = {name: rng.normal(size=shape) * rng.uniform(0.1, 3) for name, shape in SHAPES.items()}
    grads["embedding"] = np.zeros(SHAPES["embedding"])
    grads["embedding_rows"] = rng.normal(size=[len(LOOKUPS), 4])
    np.add.at(grads["embedding"], LOOKUPS, grads["embedding_rows"])
    return grads


@pytest.mark.parametrize(
    ("relative_step", "beta1", "resource"),
    [
        (False, 0.0, True),
        (False, 0.9, True),
        (True, 0.0, True),
        (True, 0.9, True),
        (False, 0.9, False),  # tf.compat.v1's RefVariable: _apply_dense and _apply_sparse
    ],
)
def test_matches_a_numpy_reading_of_the_paper(tf, relative_step, beta1, resource):
    rng = np.random.default_rng(7)
    start = {name: rng.normal(size=shape).astype(np.float32) for name, shape in SHAPES.items()}
    start["bias"][:] = 0.0  # its scale is 0: relative_step's floor epsilon2 sets its step
    steps = [_gradients(rng) for _ in range(STEPS)]
    with tf.Graph().as_default():
        variables = {
            name: tf.compat.v1.get_variable(name, initializer=value, use_resource=resource)
            for name, value in start.items()
        }
        # loss = sum(var * c), so the gradient is c, fed each step; the embedding is read by a
        # gather, whose gradient is IndexedSlices with repeated rows.
        feeds = {name: tf.compat.v1.placeholder(tf.float32, SHAPES[name]) for name in DIRECT}
        feeds["embedding_rows"] = tf.compat.v1.placeholder(tf.float32, [len(LOOKUPS), 4])
        loss = tf.reduce_sum(tf.gather(variables["embedding"], LOOKUPS) * feeds["embedding_rows"])
        loss += tf.add_n([tf.reduce_sum(variables[name] * feeds[name]) for name in DIRECT])
        rate = tf.compat.v1.placeholder(tf.float32, [])
        opt = adafactor(learning_rate=rate, beta1=beta1, relative_step=relative_step)
        grads_and_vars = opt.compute_gradients(loss, list(variables.values()))
        assert isinstance(grads_and_vars[-1][0], tf.IndexedSlices)
        apply = opt.apply_gradients(grads_and_vars)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            for grads in steps:
                feed = {tensor: grads[name] for name, tensor in feeds.items()}
                session.run(apply, {**feed, rate: LEARNING_RATE})
            got = session.run(variables)
    dense_steps = [{name: grads[name] for name in SHAPES} for grads in steps]
    want = reference(
        start, dense_steps, learning_rate=LEARNING_RATE, beta1=beta1, relative_step=relative_step
    )
    for name in SHAPES:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-6, err_msg=name)
        # The changes too, relatively: relative_step's moves are ~1e-5 on the bias.
        moved, expected = got[name] - start[name], want[name] - start[name]
        np.testing.assert_allclose(moved, expected, rtol=1e-3, atol=1e-8, err_msg=name)


def test_state_is_factored_and_beta1_0_keeps_no_first_moment(tf):
    with tf.Graph().as_default():
        with tf.compat.v1.variable_scope("model"):
            weight = tf.compat.v1.get_variable("w", [1, 300, 200])  # a conv1d weight of GPT-2
            bias = tf.compat.v1.get_variable("b", [200])
        loss = tf.reduce_sum(weight) + tf.reduce_sum(bias)
        plain = adafactor()
        plain.minimize(loss)
        made = [v for v in tf.compat.v1.global_variables() if v not in (weight, bias)]
        assert sorted(plain.get_slot_names()) == ["v", "vc", "vr"]
        assert plain.get_slot(weight, "vr").shape == [1, 300]
        assert plain.get_slot(weight, "vc").shape == [1, 200]
        assert plain.get_slot(bias, "v").shape == [200]
        assert sorted(v.name for v in made) == sorted(v.name for v in plain.variables())
        # 500 floats for the weight, not 60,000; 200 for the bias; 1 for the step count.
        assert sum(v.shape.num_elements() for v in made) == 500 + 200 + 1
        # Optimizer state is not trainable: titlegen's Saver of trainable model/ variables
        # leaves it out, as it leaves out Adam's.
        assert set(tf.compat.v1.trainable_variables()) == {weight, bias}

        momentum = adafactor(beta1=0.9, name="Momentum")
        momentum.minimize(loss)
        assert sorted(momentum.get_slot_names()) == ["m", "v", "vc", "vr"]
        assert momentum.get_slot(weight, "m").shape == [1, 300, 200]


def _regression(tf, wrapping: set[str], data: tuple[np.ndarray, np.ndarray], steps: int = 5):
    """A least-squares fit of 4 micro-batches of 8 rows, trained by Adafactor wrapped as named:
    "accumulated" (gpt-2-simple's AccumulatingOptimizer, a micro-batch at a time) and/or
    "scaled" (dynamic loss scaling), or bare on the 4 micro-batches at once. The losses and
    the variables."""
    from gpt_2_simple.src.accumulate import AccumulatingOptimizer

    inputs, targets = data
    with tf.Graph().as_default():
        x = tf.compat.v1.get_variable("x", initializer=np.full([5, 3], 0.5, np.float32))
        b = tf.compat.v1.get_variable("b", initializer=np.zeros([3], np.float32))
        a = tf.compat.v1.placeholder(tf.float32, [None, 8, 5])
        y = tf.compat.v1.placeholder(tf.float32, [None, 8, 3])
        loss = tf.reduce_mean(tf.square(tf.einsum("bij,jk->bik", a, x) + b - y))
        rate = tf.compat.v1.placeholder(tf.float32, [])
        opt = adafactor(learning_rate=rate)
        if "scaled" in wrapping:
            opt = tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(opt, "dynamic")
        if "accumulated" in wrapping:
            accumulating = AccumulatingOptimizer(opt=opt, var_list=[x, b])
            reset, compute = accumulating.reset(), accumulating.compute_gradients(loss)
            apply = accumulating.apply_gradients()
        else:
            apply = opt.apply_gradients(opt.compute_gradients(loss, [x, b]))
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            losses = []
            for _ in range(steps):
                if "accumulated" in wrapping:
                    session.run(reset)
                    for i in range(len(inputs)):
                        session.run(compute, {a: inputs[i : i + 1], y: targets[i : i + 1]})
                    losses.append(session.run(apply, {rate: LEARNING_RATE}))
                else:
                    feed = {a: inputs, y: targets, rate: LEARNING_RATE}
                    losses.append(session.run((apply, loss), feed)[1])
            return losses, session.run([x, b])


@pytest.mark.parametrize("wrapping", [{"accumulated"}, {"scaled"}, {"accumulated", "scaled"}])
def test_wrapped_trains_as_bare(tf, wrapping):
    rng = np.random.default_rng(3)
    data = rng.normal(size=[4, 8, 5]), rng.normal(size=[4, 8, 3])
    losses, got = _regression(tf, wrapping, data)
    bare_losses, want = _regression(tf, set(), data)
    assert losses[-1] < 0.9 * losses[0]
    # AccumulatingOptimizer applies the sum of its 4 gradients, the bare one their mean:
    # Adafactor's update does not change when the gradients are scaled (but for epsilon1).
    np.testing.assert_allclose(losses, bare_losses, rtol=1e-5)
    for value, expected in zip(got, want, strict=True):
        np.testing.assert_allclose(value, expected, rtol=0, atol=1e-6)


def test_a_step_skipped_for_overflow_is_not_counted(tf):
    with tf.Graph().as_default():
        x = tf.compat.v1.get_variable("x", initializer=[1.0, 2.0])
        scale = tf.compat.v1.placeholder(tf.float32, [])
        inner = adafactor(learning_rate=0.1)
        opt = tf.compat.v1.mixed_precision.MixedPrecisionLossScaleOptimizer(inner, "dynamic")
        apply = opt.minimize(tf.reduce_sum(tf.square(x)) * scale)
        [count] = [v for v in inner.variables() if v.name == "Adafactor_step:0"]
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            session.run(apply, {scale: 1.0})
            before = session.run(x)
            session.run(apply, {scale: np.inf})  # the gradients overflow: no step
            assert session.run(count) == 1.0
            np.testing.assert_array_equal(session.run(x), before)
            session.run(apply, {scale: 1.0})
            assert session.run(count) == 2.0


def test_trains_a_tiny_gpt2(tf):
    from gpt_2_simple.src import model

    hparams = model.default_hparams()
    hparams.override_from_dict(dict(n_layer=1, n_embd=32, n_head=2, n_vocab=50, n_ctx=16))
    batch = np.random.default_rng(5).integers(0, 50, size=[4, 16])
    with tf.Graph().as_default():
        tf.compat.v1.set_random_seed(5)
        context = tf.compat.v1.placeholder(tf.int32, [4, 16])
        logits = model.model(hparams=hparams, X=context)["logits"]
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=context[:, 1:], logits=logits[:, :-1]
            )
        )
        rate = tf.compat.v1.placeholder(tf.float32, [])
        opt = adafactor(learning_rate=rate)
        grads_and_vars = opt.compute_gradients(loss, tf.compat.v1.trainable_variables())
        # The position embedding is only read by tf.gather, each row once per batch row: its
        # gradient is IndexedSlices with repeated indices. The token embedding's is dense, as
        # it is also the output layer's weight.
        sparse = [v.name for g, v in grads_and_vars if isinstance(g, tf.IndexedSlices)]
        assert sparse == ["model/wpe:0"]
        apply = opt.apply_gradients(grads_and_vars)
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            losses = [
                session.run((apply, loss), {context: batch, rate: 1e-2})[1] for _ in range(30)
            ]
    assert all(np.isfinite(losses))
    assert losses[-1] < 0.5 * losses[0], losses
