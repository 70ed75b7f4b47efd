"""`titlegen new-model`: a real, tiny GPT-2 that plain gpt-2-simple can read."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from conftest import TINY

from titlegen import dataset, encoding
from titlegen.cli import cli

TRICKY = (
    "<|startoftext|>What's your 🐶's name?! שלום, 你好  tabs\tand\u00a0no-break"
    " «quotes» & <|endoftext|>\n<|startoftext|>ELI5: 100% (really)?<|endoftext|>\n"
)


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_layout_is_what_gpt_2_simple_reads(tiny_model):
    assert sorted(p.name for p in tiny_model.iterdir()) == [
        "checkpoint",
        "encoder.json",
        "hparams.json",
        "model.ckpt.data-00000-of-00001",
        "model.ckpt.index",
        "model.ckpt.meta",
        "vocab.bpe",
    ]
    hparams = json.loads((tiny_model / "hparams.json").read_text())
    assert hparams == {"n_vocab": 400, "n_ctx": 1024, "n_embd": 32, "n_head": 2, "n_layer": 1}
    encoder = json.loads((tiny_model / "encoder.json").read_text(encoding="utf-8"))
    assert encoder["<|endoftext|>"] == len(encoder) - 1 == 399
    assert encoder["<|startoftext|>"] == 398
    assert sorted(encoder.values()) == list(range(400))


def test_gpt_2_simple_encoder_round_trips_any_text(tiny_model):
    from gpt_2_simple.src import encoder

    enc = encoder.get_encoder(str(tiny_model))
    tokens = enc.encode(TRICKY)

    assert enc.decode(tokens) == TRICKY
    assert max(tokens) < 400


def test_markers_are_single_tokens_and_no_merge_makes_their_pieces(tiny_model):
    # Learned from the documents with the markers, the merges spent tokens on "<|",
    # "startoftext" and "|>", which a model could then write one by one into a title.
    encoder = json.loads((tiny_model / "encoder.json").read_text(encoding="utf-8"))
    pieces = [t for t in encoder if re.search(r"<\||\|>|tartof|oftext", t)]
    assert sorted(pieces) == ["<|endoftext|>", "<|startoftext|>"]

    vocabulary = encoding.Vocabulary(tiny_model)
    tokens = vocabulary.encode(f"{dataset.START}aww Hi{dataset.END}\n").tolist()
    assert tokens[0] == 398 and tokens[-2] == 399
    assert vocabulary.decode(tokens[1:-2]) == "aww Hi"


def test_checkpoint_has_gpt2_variables_of_the_right_shapes(tiny_model):
    import tensorflow as tf

    shapes = dict(tf.train.list_variables(str(tiny_model / "model.ckpt")))

    assert shapes["model/wte"] == [400, 32]
    assert shapes["model/wpe"] == [1024, 32]
    assert shapes["model/h0/attn/c_attn/w"] == [1, 32, 96]
    assert "model/h1/attn/c_attn/w" not in shapes


def test_existing_model_is_not_replaced(tiny_model, titles_csv):
    before = (tiny_model / "model.ckpt.index").read_bytes()
    result = run(
        "new-model", "tiny", "--from", str(titles_csv), "--model-dir", str(tiny_model.parent), *TINY
    )
    assert result.exit_code == 1
    assert "already exists: choose another name or pass --overwrite" in result.output
    assert (tiny_model / "model.ckpt.index").read_bytes() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["../escape", "--from", "{csv}"], "NAME '../escape' is not a folder name"),
        (["m", "--from", "{missing}"], "does not exist: make one with titlegen fetch"),
        (["m", "--from", "{no_title}"], "has no title column (found: subreddit, text)"),
        (["m", "--from", "{empty}"], "holds no titles"),
        (
            ["m", "--from", "{csv}", "--embd", "30", "--heads", "4"],
            "--embd (30) must be a multiple of --heads (4)",
        ),
    ],
)
def test_bad_input(args, message, titles_csv, tmp_path):
    (tmp_path / "no_title.csv").write_text("subreddit,text\naww,hello\n")
    (tmp_path / "empty.csv").write_text("subreddit,title\n")
    paths = {
        "csv": titles_csv,
        "missing": tmp_path / "missing.csv",
        "no_title": tmp_path / "no_title.csv",
        "empty": tmp_path / "empty.csv",
    }
    models = tmp_path / "models"

    result = run("new-model", *[a.format(**paths) for a in args], "--model-dir", str(models))

    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not models.exists() or list(models.iterdir()) == []
