"""The large models' tools on tiny real models: gradient checkpointing (same numbers, less kept),
--train-layers, Adafactor through train, and the memory plan (its arithmetic, --memory auto's
choices, the refusal before anything loads, the peak measured after the first step)."""

from __future__ import annotations

import itertools
import json
import re
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import TINY, _run, train_cli

from titlegen.training import memory
from titlegen.training.config import TrainOptions

GPT2 = {  # GPT-2's published shapes and parameter counts
    "124M": (12, 768, 12, 124_439_808),
    "355M": (24, 1024, 16, 354_823_168),
    "774M": (36, 1280, 20, 774_030_080),
    "1558M": (48, 1600, 25, 1_557_611_200),
}


def _hparams(layers, width, heads, vocab=50257, ctx=1024):
    return SimpleNamespace(n_layer=layers, n_embd=width, n_head=heads, n_vocab=vocab, n_ctx=ctx)


@pytest.fixture(scope="module")
def two_blocks(titles_csv, tmp_path_factory):
    """A tiny model with two blocks, so one can be trained and the other not."""
    models = tmp_path_factory.mktemp("models")
    shape = ["--layers", "2", *TINY[2:]]
    result = _run("new-model", "two", "--from", str(titles_csv), "--model-dir", str(models), *shape)
    assert result.exit_code == 0, result.output
    return models / "two"


def _graph_numbers(hparams, tokens, checkpointing, values=None):
    """Loss and gradients of every variable of titlegen's training network."""
    import tensorflow as tf

    import titlegen.training.model as model

    with tf.Graph().as_default():
        context = tf.compat.v1.placeholder(tf.int32, [None, None])
        logits = model.logits(hparams, context, checkpointing=checkpointing)
        loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=context[:, 1:], logits=logits[:, :-1]
            )
        )
        variables = tf.compat.v1.trainable_variables()
        gradients = [tf.convert_to_tensor(g) for g in tf.gradients(loss, variables)]
        with tf.compat.v1.Session() as session:
            session.run(tf.compat.v1.global_variables_initializer())
            if values is not None:  # the same weights in both graphs
                for variable in variables:
                    variable.load(values[variable.name], session)
            found = session.run([loss, *gradients], {context: tokens})
            weights = {v.name: session.run(v) for v in variables}
            ops = {op.name for op in tf.compat.v1.get_default_graph().get_operations()}
    return found[0], dict(zip([v.name for v in variables], found[1:], strict=True)), weights, ops


def test_gradient_checkpointing_gives_the_same_loss_and_gradients():
    hparams = _hparams(3, 32, 4, vocab=97, ctx=24)
    tokens = np.random.default_rng(0).integers(0, 97, (2, 24))
    loss, grads, weights, plain_ops = _graph_numbers(hparams, tokens, False)
    loss2, grads2, _, ops = _graph_numbers(hparams, tokens, True, values=weights)
    assert sorted(grads2) == sorted(grads)  # the same variables, named as gpt-2-simple names them
    assert "model/h2/mlp/c_proj/w:0" in grads
    assert abs(loss - loss2) <= 1e-5
    for name in grads:
        assert np.abs(grads[name] - grads2[name]).max() <= 1e-5, name
    # The blocks are built again inside the gradient: that is the recomputation.
    assert not any("_grad/model/h1/attn" in op for op in plain_ops)
    assert any(re.search(r"_grad/model/h\d/attn", op) for op in ops)


def test_the_plan_counts_gpt_2s_parameters():
    for layers, width, heads, parameters in GPT2.values():
        hparams = _hparams(layers, width, heads)
        adam = memory.plan(hparams, TrainOptions(accumulate_gradients=1), 1024, loss_scaling=True)
        assert adam.weights == 4 * parameters
        assert adam.optimizer == 8 * parameters and adam.gradients == 4 * parameters
        # Accumulating keeps the gradients' running sums, and a batch's come as they come.
        block = 12 * width**2 + 13 * width
        outside = 50257 * width + 1024 * width + 2 * width  # embeddings and ln_f
        accumulating = memory.plan(hparams, TrainOptions(), 1024)
        assert accumulating.gradients == 4 * parameters + 4 * (block + outside)
        small = memory.plan(
            hparams,
            TrainOptions(
                accumulate_gradients=1, optimizer="adafactor", gradient_checkpointing=True
            ),
            1024,
        )
        assert small.optimizer < 0.01 * adam.optimizer  # rows and columns, not every entry
        assert small.activations < adam.activations / 3
        # Updated as they come: one block's gradients at a time, the embeddings' and ln_f's.
        assert small.gradients == 4 * (block + outside)
    # The last 6 of 48 blocks: their weights' gradients only, and no embedding's.
    hparams = _hparams(48, 1600, 25)
    options = TrainOptions(accumulate_gradients=1, train_layers=6)
    last = memory.plan(hparams, options, 1024, loss_scaling=True)
    assert last.gradients == 4 * 6 * (12 * 1600**2 + 13 * 1600)


def test_train_layers_changes_only_the_last_blocks(two_blocks, titles_csv, tmp_path):
    result = train_cli(titles_csv, two_blocks, tmp_path, "--steps", "3", "--train-layers", "1")
    assert result.exit_code == 0, result.output
    assert "the last 1 block trained" in result.output
    before, after = _weights(two_blocks), _weights(tmp_path / "run1")
    changed = {name for name in before if not np.array_equal(before[name], after[name])}
    assert changed and all(name.startswith("model/h1/") for name in changed)
    assert "model/h1/mlp/c_fc/w" in changed
    record = json.loads((tmp_path / "run1" / "titlegen.json").read_text())
    assert record["settings"]["train_layers"] == 1


def test_train_layers_beyond_the_model_is_one_sentence(tiny_model, titles_csv, tmp_path):
    result = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "1", "--train-layers", "3")
    assert result.exit_code == 1
    assert result.output == "Error: --train-layers 3 is more than the model's 1 block.\n"
    assert not (tmp_path / "run1").exists()


def _weights(folder):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(folder)))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def _plans(model_folder, **options):
    """The plans of the tiny model without and with each of --memory auto's changes."""
    from titlegen import runs

    values = runs.read_hparams(model_folder)
    hparams = SimpleNamespace(**values)
    base = {"accumulate_gradients": 1, **options}
    return {
        "none": memory.plan(hparams, TrainOptions(**base), values["n_ctx"]).total,
        "checkpointing": memory.plan(
            hparams, TrainOptions(**base, gradient_checkpointing=True), values["n_ctx"]
        ).total,
        "adafactor": memory.plan(
            hparams,
            TrainOptions(**base, gradient_checkpointing=True, optimizer="adafactor"),
            values["n_ctx"],
        ).total,
    }


def _room_for(total):
    """A --memory SIZE whose usable share just holds ``total`` bytes."""
    return str(int(total / memory.HEADROOM) + 1)


def test_memory_auto_turns_on_checkpointing_first(two_blocks, titles_csv, tmp_path):
    plans = _plans(two_blocks)
    assert plans["none"] > plans["checkpointing"] > plans["adafactor"]
    size = _room_for(plans["checkpointing"])
    result = train_cli(titles_csv, two_blocks, tmp_path, "--steps", "1", "--memory", size)
    assert result.exit_code == 0, result.output
    assert "--memory auto chose: gradient checkpointing on (" in result.output
    assert "adafactor" not in result.output.split("chose:")[1].split("\n")[0]
    settings = json.loads((tmp_path / "run1" / "titlegen.json").read_text())["settings"]
    assert settings["gradient_checkpointing"] is True and settings["optimizer"] == "adam"
    assert "memory" not in settings  # a size for this command, not the run's


def test_memory_auto_then_adafactor_and_an_explicit_option_wins(two_blocks, titles_csv, tmp_path):
    plans = _plans(two_blocks)
    size = _room_for(plans["adafactor"])
    result = train_cli(titles_csv, two_blocks, tmp_path, "--steps", "1", "--memory", size)
    assert result.exit_code == 0, result.output
    assert "gradient checkpointing on (" in result.output
    assert "the adafactor optimizer (" in result.output
    # --optimizer adam given: auto may not change it, so it freezes the embeddings instead.
    result = train_cli(
        titles_csv, two_blocks, tmp_path / "b", "--steps", "1", "--memory", size, "--optimizer",
        "adam",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "adafactor" not in result.output
    assert "the embeddings frozen" in result.output
    settings = json.loads((tmp_path / "b" / "run1" / "titlegen.json").read_text())["settings"]
    assert settings["optimizer"] == "adam" and settings["only_train_transformer_layers"] is True


def test_settings_that_cannot_fit_are_refused_before_loading(two_blocks, titles_csv, tmp_path):
    result = train_cli(titles_csv, two_blocks, tmp_path, "--steps", "1", "--memory", "100MB")
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: Training a 2-layer, 32-wide GPT-2 needs")
    assert "given with --memory" in lines[0] and "allows 90 MB" in lines[0]
    assert "Loading checkpoint" not in result.output
    assert not (tmp_path / "run1").exists()
    result = train_cli(titles_csv, two_blocks, tmp_path, "--steps", "1", "--memory", "lots")
    assert result.exit_code == 1 and "'lots' is not a size" in result.output


def test_memory_off_changes_nothing(two_blocks, titles_csv, tmp_path):
    result = train_cli(titles_csv, two_blocks, tmp_path, "--steps", "1", "--memory", "off")
    assert result.exit_code == 0, result.output
    assert "chose" not in result.output


def test_train_prints_its_plan_and_the_peak(tiny_model, titles_csv, tmp_path):
    result = train_cli(
        titles_csv, tiny_model, tmp_path, "--steps", "2", "--gradient-checkpointing",
        "--optimizer", "adafactor", "--learning-rate", "3e-3",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    plan = re.search(
        r"Memory plan for one step on the CPU \(([\d.]+) GB of RAM, ([\d.]+) GB free now\): "
        r"weights",
        result.output,
    )
    assert plan, result.output
    assert "adafactor, every layer trained, gradient checkpointing on, batch 1" in result.output
    peak = re.search(r"Peak resident memory of this process after the first step: ([\d.]+) GB",
                     result.output)  # fmt: skip
    assert peak and 0.2 < float(peak.group(1)) < 20


def test_a_run_trained_with_the_memory_savers_loads_in_gpt_2_simple(
    two_blocks, titles_csv, tmp_path
):
    import gpt_2_simple as gpt2
    import tensorflow as tf

    result = train_cli(
        titles_csv, two_blocks, tmp_path, "--steps", "2", "--gradient-checkpointing",
        "--optimizer", "adafactor", "--train-layers", "1",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with tf.Graph().as_default():
        session = gpt2.start_tf_sess()
        gpt2.load_gpt2(session, run_name="run1", checkpoint_dir=str(tmp_path))
        texts = gpt2.generate(
            session, run_name="run1", checkpoint_dir=str(tmp_path), length=6, nsamples=1,
            batch_size=1, prefix="<|startoftext|>", return_as_list=True, seed=1,
        )  # fmt: skip
        session.close()
    assert texts[0].startswith("<|startoftext|>")


@pytest.mark.parametrize(("accumulate", "optimizer"), [(1, "adam"), (3, "adafactor")])
def test_one_copy_of_the_weights(tiny_model, accumulate, optimizer):
    """Evaluation and the training samples read the trained variables (no second copy), and
    without accumulation no gradient accumulator exists."""
    import titlegen.training.graph as graphs
    import titlegen.training.model as model
    from titlegen.training.config import Precision

    hparams = graphs.load_hparams(tiny_model)
    options = TrainOptions(
        accumulate_gradients=accumulate, optimizer=optimizer, gradient_checkpointing=True
    )
    graph = graphs.Graph(options, Precision("fp32", "the CPU", False), hparams, 64)
    try:
        graph.restore(str(tiny_model / "model.ckpt"))
        table = [bytes([i % 256]) for i in range(400)]
        graph.sample([1, 2], [b"<|endoftext|>"], table, seed=1)
        with graph.graph.as_default():
            import tensorflow as tf

            trainable = {
                v.name.split(":")[0]
                for v in tf.compat.v1.trainable_variables()
                if v.name.startswith("model/")  # not the accumulators (gpt-2-simple's, trainable)
            }
            full_size = [
                v.name
                for v in tf.compat.v1.global_variables()
                if v.shape.as_list() == [400, 32] and v.name != "model/wte:0"
            ]
    finally:
        graph.close()
    assert trainable == set(model.variables(hparams))
    expected = {"adam": ["model/wte/Adam:0", "model/wte/Adam_1:0"], "adafactor": []}[optimizer]
    accumulators = 1 if accumulate > 1 else 0  # gpt-2-simple's sum of the batches' gradients
    assert len(full_size) == len(expected) + accumulators, full_size
    assert set(expected) <= set(full_size)


def test_xla_is_on_by_default_on_a_gpu_unless_checkpointing(monkeypatch):
    # A stub: these machines have no GPU, so TensorFlow is told it sees one.
    import tensorflow as tf

    import titlegen.training.graph as graphs

    assert graphs.choose_precision("auto").xla is False  # the CPU
    gpu = SimpleNamespace(name="/physical_device:GPU:0")
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: [gpu])
    auto = graphs.choose_precision("auto")
    assert (auto.name, auto.xla) == ("fp16", True)
    assert "with XLA) on 1 GPU(s)" in auto.describe()
    assert graphs.choose_precision("auto", None, checkpointing=True).xla is False
    assert graphs.choose_precision("fp32", False).xla is False
    assert graphs.choose_precision("fp32", True, checkpointing=True).xla is True  # given wins


def test_fewer_blocks_are_said_once():
    hparams = _hparams(48, 1600, 25)
    where = memory.Device("GPU 0 (a card)", 11 * 10**9, gpu=True)
    options, needed, said = memory.fit(
        hparams, TrainOptions(accumulate_gradients=1), 1024, {"accumulate_gradients"}, where
    )
    assert needed.total <= 11 * 10**9 * memory.HEADROOM
    assert options.gradient_checkpointing and options.optimizer == "adafactor"
    assert [s.split(" (")[0] for s in said] == [
        "gradient checkpointing on",
        "the adafactor optimizer",
        "the embeddings frozen",
        f"only the last {options.train_layers} blocks trained",
    ]
    assert said[-1].endswith(f"-> {memory.gb(needed.total)})")
    # Each step starts where the one before ended.
    for before, after in itertools.pairwise(said):
        assert before.split("-> ")[1].rstrip(")") == after.split("(")[-1].split(" ->")[0]


def test_a_resumed_run_keeps_its_recorded_settings(two_blocks, titles_csv, tmp_path):
    result = train_cli(titles_csv, two_blocks, tmp_path, "--steps", "1")
    assert result.exit_code == 0, result.output
    record = json.loads((tmp_path / "run1" / "titlegen.json").read_text())
    assert record["precision"] in ("fp32", "bf16")  # what auto was on this machine
    # Checkpointing would fit this size, but the run was recorded without it: refused.
    size = _room_for(_plans(two_blocks)["checkpointing"])
    result = train_cli(titles_csv, two_blocks, tmp_path, "--steps", "1", "--memory", size)
    assert result.exit_code == 1
    assert "are set (on the command line or in the run), so --memory auto keeps them" in (
        result.output
    )
    # Given again, a setting changes, and the plan fits.
    result = train_cli(
        titles_csv, two_blocks, tmp_path, "--steps", "1", "--memory", size,
        "--gradient-checkpointing",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "gradient checkpointing on (was off)" in result.output


def test_a_recomputed_block_stays_on_its_device():
    # tf.gradients builds each gradient colocated with its op: the recomputation of a block
    # spread to a device (--multi-gpu) runs there, not on the default device.
    import tensorflow as tf

    import titlegen.training.model as model

    hparams = _hparams(2, 16, 2, vocab=31, ctx=8)
    with tf.Graph().as_default() as graph:
        tokens = tf.compat.v1.placeholder(tf.int32, [1, 8])
        logits = model.logits(hparams, tokens, checkpointing=True, gpus=("/device:CPU:0",))
        tf.gradients(tf.reduce_sum(logits), tf.compat.v1.trainable_variables())
        again = [
            op
            for op in graph.get_operations()
            if re.search(r"_grad/model/h\d/", op.name) and op.type != "ReadVariableOp"
        ]  # a variable's reads are placed with the variable
    off = [op.name for op in again if not op.device.endswith("CPU:0")]
    assert again and not off, off[:3]
