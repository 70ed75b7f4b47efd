"""`titlegen train` on a tiny real GPT-2 (made by new-model) with real TensorFlow on the CPU."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from conftest import train_cli as train

from titlegen.cli import cli
from titlegen.training import graph


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_train_writes_a_gpt_2_simple_run(trained):
    folder, first, _ = trained
    assert first.exit_code == 0, first.output
    auto = "bf16 (bfloat16 mixed precision)" if graph.cpu_has_amx() else "fp32 (float32)"
    assert f"Training in {auto} on the CPU" in first.output  # auto, on a CPU
    assert "step 2/4" in first.output and "step 4/4" in first.output
    assert "tokens/s" in first.output and " left" in first.output
    names = {p.name for p in folder.iterdir()}
    assert {"checkpoint", "counter", "hparams.json", "encoder.json", "vocab.bpe"} <= names
    assert any(n.startswith("model-") and n.endswith(".index") for n in names)


def test_resume_from_latest_goes_on_counting(trained):
    folder, first, second = trained
    assert "to step 4 in " in first.stdout and "on the CPU." in first.stdout
    assert second.exit_code == 0, second.output
    assert "Loading checkpoint" in second.output and "model-4" in second.output
    assert "step 6/6" in second.output  # the run's steps: it went on from 4
    assert "to step 6 in " in second.stdout
    assert (folder / "counter").read_text().strip() == "6"


def test_provenance_is_recorded(trained, tiny_model, titles_csv):
    folder, _, _ = trained
    record = json.loads((folder / "titlegen.json").read_text())
    assert record["base_model"] == tiny_model.name
    assert record["format"] == {
        "start": "<|startoftext|>",
        "end": "<|endoftext|>",
        "source": "titles",
        "subreddit_then": " ",  # the CSV names subreddits: conditioned by default
    }
    assert sum(record["subreddits"].values()) == len(titles_csv.read_text().splitlines()) - 1
    assert [h["options"]["steps"] for h in record["history"]] == [4, 2]
    assert record["history"][0]["dataset"] == str(titles_csv)


def test_plain_gpt_2_simple_loads_and_samples_the_run(trained):
    import gpt_2_simple as gpt2
    import tensorflow as tf

    folder, _, _ = trained
    with tf.Graph().as_default():
        session = gpt2.start_tf_sess()
        gpt2.load_gpt2(session, run_name=folder.name, checkpoint_dir=str(folder.parent))
        texts = gpt2.generate(
            session,
            run_name=folder.name,
            checkpoint_dir=str(folder.parent),
            length=8,
            nsamples=1,
            batch_size=1,
            prefix="<|startoftext|>",
            return_as_list=True,
            seed=1,
        )
        session.close()
    assert len(texts) == 1 and texts[0].startswith("<|startoftext|>")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "missing.csv does not exist: make a dataset with titlegen fetch"),
        (["{no_title}"], "has no title column (found: subreddit, text)"),
        (["{short}"], "to train on, but training samples 1024-token windows: give it more text"),
        (["{csv}", "--run-name", "../x"], "--run-name '../x' is not a folder name"),
        (["{csv}", "--restore-from", "{tmp}/nowhere"], "holds no checkpoint"),
    ],
)
def test_bad_input(args, message, tiny_model, titles_csv, tmp_path):
    (tmp_path / "no_title.csv").write_text("subreddit,text\naww,hello\n")
    (tmp_path / "short.csv").write_text("subreddit,title\naww,a good dog\naww,another one\n")
    values = {
        "missing": tmp_path / "missing.csv",
        "no_title": tmp_path / "no_title.csv",
        "short": tmp_path / "short.csv",
        "csv": titles_csv,
        "tmp": tmp_path,
    }

    result = train(
        *[a.format(**values) for a in args[:1]],
        tiny_model,
        tmp_path / "ck",
        *[a.format(**values) for a in args[1:]],
    )

    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "ck").exists()


def test_model_that_is_not_downloaded(titles_csv, tmp_path):
    result = run(
        "train",
        str(titles_csv),
        "--model-dir",
        str(tmp_path / "models"),
        "--checkpoint-dir",
        str(tmp_path / "ck"),
    )
    assert result.exit_code == 1
    assert f"Model 124M is not in {tmp_path / 'models'}/: run titlegen download 124M" in (
        result.output
    )


def test_empty_dataset(tiny_model, tmp_path):
    (tmp_path / "empty.csv").write_text("subreddit,title\n")
    result = train(tmp_path / "empty.csv", tiny_model, tmp_path / "ck")
    assert result.exit_code == 1
    assert "empty.csv holds no titles" in result.output


def test_train_on_an_encoded_npz(tiny_model, titles_csv, tmp_path):
    npz = tmp_path / "titles.npz"
    encoded = run(
        "encode",
        str(titles_csv),
        str(npz),
        "--model",
        tiny_model.name,
        "--model-dir",
        str(tiny_model.parent),
    )
    assert encoded.exit_code == 0, encoded.output

    assert "titles after their subreddit" in encoded.output

    result = train(npz, tiny_model, tmp_path / "ck", "--steps", "2")

    assert result.exit_code == 0, result.output
    assert "conditioned on the subreddit" in result.output
    record = json.loads((tmp_path / "ck" / "run1" / "titlegen.json").read_text())
    # encode framed the titles as train does, and said so beside the .npz: the run knows it.
    assert record["format"]["source"] == "titles" and record["format"]["subreddit_then"] == " "
    assert sum(record["subreddits"].values()) == len(titles_csv.read_text().splitlines()) - 1
    asked = run("generate", "--run-name", "run1", "--checkpoint-dir", str(tmp_path / "ck"),
                "--subreddit", "aww", "--nsamples", "2", "--seed", "1")  # fmt: skip
    assert asked.exit_code == 0, asked.output


def variable(folder, name: str):
    import tensorflow as tf

    return tf.train.load_variable(tf.train.latest_checkpoint(str(folder)), name)


def test_only_train_transformer_layers_leaves_the_embeddings(tiny_model, titles_csv, tmp_path):
    import numpy as np

    result = train(titles_csv, tiny_model, tmp_path, "--steps", "2", "--learning-rate", "1e-2",
                   "--only-train-transformer-layers", "--optimizer", "sgd")  # fmt: skip
    assert result.exit_code == 0, result.output
    run = tmp_path / "run1"
    assert np.array_equal(variable(run, "model/wte"), variable(tiny_model, "model/wte"))
    changed = variable(run, "model/h0/attn/c_attn/w") - variable(
        tiny_model, "model/h0/attn/c_attn/w"
    )
    assert np.abs(changed).max() > 0


def test_sample_every_prints_a_sample(tiny_model, titles_csv, tmp_path):
    result = train(titles_csv, tiny_model, tmp_path, "--steps", "2", "--sample-every", "2")
    assert result.exit_code == 0, result.output
    assert "sample at step 2: " in result.output


def test_multi_gpu_without_gpus_trains_on_the_cpu(tiny_model, titles_csv, tmp_path):
    result = train(titles_csv, tiny_model, tmp_path, "--steps", "2", "--multi-gpu")
    assert result.exit_code == 0, result.output  # no GPU here: the layers stay on the CPU


def test_overwrite_keeps_one_checkpoint(tiny_model, titles_csv, tmp_path):
    assert train(titles_csv, tiny_model, tmp_path, "--steps", "2").exit_code == 0
    result = train(titles_csv, tiny_model, tmp_path, "--steps", "2", "--overwrite")
    assert result.exit_code == 0, result.output
    indexes = sorted(p.name for p in (tmp_path / "run1").glob("model-*.index"))
    assert indexes == ["model-4.index"]
    assert len(list((tmp_path / "run1").glob("events.*"))) == 1
