"""`titlegen train --precision` and `--xla`: real training runs on the CPU in each precision.

This machine's CPU has bfloat16 instructions, so bf16 runs natively. fp16 is a GPU precision: on
the CPU its loss scaling runs for real (the optimizer wrapping, the dynamic scale) but the
arithmetic stays float32, because TensorFlow 2.21's CPU emulation of float16
(auto_mixed_precision_cpu) crashes the process; the GPU rewrite option is checked in the config.
"""

from __future__ import annotations

import pytest
from conftest import train_cli

from titlegen import training
from titlegen.training import graph

STEPS = ["--steps", "8", "--print-every", "1", "--restore-from", "fresh"]


def losses(output: str) -> list[float]:
    return [
        float(line.split("loss ")[1].split()[0])
        for line in output.splitlines()
        if line.startswith("step ")
    ]


@pytest.fixture(scope="module")
def fp32(tiny_model, titles_csv, tmp_path_factory):
    checkpoint_dir = tmp_path_factory.mktemp("fp32")
    result = train_cli(titles_csv, tiny_model, checkpoint_dir, *STEPS, "--precision", "fp32")
    assert result.exit_code == 0, result.output
    assert "Training in fp32 (float32) on the CPU" in result.output
    return losses(result.output)


def test_bf16_loss_is_within_2_percent_of_fp32(fp32, tiny_model, titles_csv, tmp_path):
    result = train_cli(titles_csv, tiny_model, tmp_path, *STEPS, "--precision", "bf16")
    assert result.exit_code == 0, result.output
    assert "Training in bf16 (bfloat16 mixed precision) on the CPU" in result.output
    bf16 = losses(result.output)
    assert len(bf16) == len(fp32) == 8
    assert fp32[-1] < fp32[0]  # it learns
    assert bf16[-1] == pytest.approx(fp32[-1], rel=0.02)


@pytest.mark.parametrize("accumulate", ["1", "2"])
def test_fp16_scales_the_loss_and_trains(accumulate, tiny_model, titles_csv, tmp_path):
    args = [*STEPS, "--precision", "fp16", "--accumulate-gradients", accumulate]
    result = train_cli(titles_csv, tiny_model, tmp_path, *args)
    assert result.exit_code == 0, result.output
    assert "fp16 (loss scaling only: float16 arithmetic needs a GPU) on the CPU" in result.output
    fp16 = losses(result.output)
    assert len(fp16) == 8 and fp16[-1] < fp16[0]


def test_xla_run_trains(tiny_model, titles_csv, tmp_path):
    result = train_cli(titles_csv, tiny_model, tmp_path, *STEPS, "--precision", "fp32", "--xla")
    assert result.exit_code == 0, result.output
    assert len(losses(result.output)) == 8


@pytest.mark.parametrize(
    ("name", "gpu", "option"),
    [
        ("bf16", False, "auto_mixed_precision_onednn_bfloat16"),
        ("fp16", True, "auto_mixed_precision"),
    ],
)
def test_session_config_turns_the_rewrite_on(name, gpu, option):
    from tensorflow.core.protobuf import rewriter_config_pb2

    precision = training.Precision(name, "a device", gpu)
    config = graph.session_config(precision, xla=True)
    rewrites = config.graph_options.rewrite_options
    assert getattr(rewrites, option) == rewriter_config_pb2.RewriterConfig.ON
    assert rewrites.layout_optimizer == rewriter_config_pb2.RewriterConfig.OFF
    assert config.graph_options.optimizer_options.global_jit_level > 0
    plain = graph.session_config(training.Precision("fp32", "a device", gpu), xla=False)
    assert plain.graph_options.rewrite_options.auto_mixed_precision == 0
    assert plain.graph_options.optimizer_options.global_jit_level == 0


def test_auto_is_bf16_on_a_cpu_with_amx(monkeypatch):
    # The CPU's flags are stubbed: each answer of cpu_has_amx is checked on any machine.
    from titlegen.training import graph

    monkeypatch.setattr(graph, "cpu_has_amx", lambda: True)
    assert graph.choose_precision("auto").name == "bf16"
    assert graph.choose_precision("fp32").name == "fp32"  # given wins
    monkeypatch.setattr(graph, "cpu_has_amx", lambda: False)
    assert graph.choose_precision("auto").name == "fp32"
