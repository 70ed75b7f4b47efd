"""`titlegen encode` / `decode`: the same tokens as gpt-2-simple, and back to the same text."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from titlegen import dataset, encoding
from titlegen.cli import cli

# Emoji, CJK, right-to-left, whitespace runs, contractions, digits and the marker strings glued
# to punctuation: the places where a BPE re-implementation would drift.
CORPUS = [
    "<|startoftext|>What's your 🐶's name?! שלום, 你好  tabs\tand\u00a0no-break «q» &"
    " <|endoftext|>\n",
    "I'm   they're we've  you'll he'd 's 't  123 4567 ١٢٣ ～ ???!!!<|endoftext|><|endoftext|>",
    "\n\n\n   leading and trailing   \n",
    "e\u0301 combining, ﬁ ligature, 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, zero\u200bwidth, مرحبا بالعالم",
]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def vocab(model) -> list[str]:
    return ["--model", model.name, "--model-dir", str(model.parent)]


def reference(folder, text: str) -> list[int]:
    """gpt-2-simple's tokens for ``text``; where the start marker is a token (new-model's
    vocabularies), the text between the markers encoded by gpt-2-simple, each marker its token."""
    from gpt_2_simple.src import encoder

    enc = encoder.get_encoder(str(folder))
    if dataset.START not in enc.encoder:
        return enc.encode(text)
    tokens = []
    for part in re.split("(" + "|".join(map(re.escape, dataset.MARKERS)) + ")", text):
        tokens += [enc.encoder[part]] if part in dataset.MARKERS else enc.encode(part)
    return tokens


@pytest.fixture(scope="module")
def gpt2_style(tiny_model, tmp_path_factory):
    """tiny_model's vocabulary without its start marker: like GPT-2's own, which has
    <|endoftext|> (50256) but no start token, so both markers are encoded as text."""
    folder = tmp_path_factory.mktemp("gpt2-style")
    encoder = json.loads((tiny_model / "encoder.json").read_text(encoding="utf-8"))
    del encoder[dataset.START]
    (folder / "encoder.json").write_text(json.dumps(encoder), encoding="utf-8")
    (folder / "vocab.bpe").write_bytes((tiny_model / "vocab.bpe").read_bytes())
    return folder


@pytest.mark.parametrize("text", CORPUS)
@pytest.mark.parametrize("kind", ["new-model", "gpt-2"])
def test_tokens_are_gpt_2_simples(text, kind, tiny_model, gpt2_style):
    from gpt_2_simple.src import encoder

    folder = tiny_model if kind == "new-model" else gpt2_style
    vocabulary = encoding.Vocabulary(folder)

    assert vocabulary.encode(text).tolist() == reference(folder, text)
    if kind == "gpt-2":  # the markers as pieces: exactly gpt-2-simple's own tokens
        assert vocabulary.encode(text).tolist() == encoder.get_encoder(str(folder)).encode(text)
    assert vocabulary.decode(vocabulary.encode(text)) == text


def test_markers_are_one_token_each_where_the_start_marker_is_a_token(tiny_model, gpt2_style):
    document = f"{dataset.START}aww My cat!{dataset.END}\n{dataset.START}pics Dusk{dataset.END}"
    ours = encoding.Vocabulary(tiny_model)
    start, end = ours.token_id(dataset.START), ours.token_id(dataset.END)

    tokens = ours.encode(document).tolist()

    assert tokens.count(start) == tokens.count(end) == 2
    assert tokens[0] == start and tokens[-1] == end
    assert ours.decode(tokens) == document
    # GPT-2's own vocabulary has no start token: both markers stay text, cut into pieces.
    theirs = encoding.Vocabulary(gpt2_style)
    assert len(theirs.encode(dataset.START)) > 1 and len(theirs.encode(dataset.END)) > 1


def test_encode_csv_then_decode(tiny_model, titles_csv, tmp_path):
    out = tmp_path / "titles.npz"

    result = run("encode", str(titles_csv), str(out), *vocab(tiny_model))

    assert result.exit_code == 0, result.output

    # Framed as train frames it: the subreddit, then the title (the CSV names both).
    text = "".join(dataset.documents(dataset.read_rows(titles_csv), condition=True))
    with np.load(out) as npz:
        (chunk,) = [npz[name] for name in npz.files]
    assert chunk.tolist() == reference(tiny_model, text)
    assert f"Wrote {chunk.size:,} tokens" in result.output

    decoded = run("decode", str(out), *vocab(tiny_model))
    assert decoded.exit_code == 0
    assert decoded.stdout == text
    assert decoded.stdout.startswith("<|startoftext|>AskReddit What")


def test_the_npz_is_what_gpt_2_simple_loads(tiny_model, titles_csv, tmp_path):
    from gpt_2_simple.src import encoder
    from gpt_2_simple.src.load_dataset import load_dataset

    out = tmp_path / "titles.npz"
    run("encode", str(titles_csv), str(out), *vocab(tiny_model))

    chunks = load_dataset(encoder.get_encoder(str(tiny_model)), str(out), 50000)

    text = "".join(dataset.documents(dataset.read_rows(titles_csv), condition=True))
    assert [c.tolist() for c in chunks] == [reference(tiny_model, text)]


def test_encode_text_file_and_decode_to_a_file(tiny_model, tmp_path):
    source = tmp_path / "corpus.txt"
    source.write_text("".join(CORPUS), encoding="utf-8")

    run("encode", str(source), str(tmp_path / "c.npz"), *vocab(tiny_model))
    result = run("decode", str(tmp_path / "c.npz"), str(tmp_path / "back.txt"), *vocab(tiny_model))

    assert result.exit_code == 0
    assert (tmp_path / "back.txt").read_text(encoding="utf-8") == "".join(CORPUS)


def test_run_vocabulary(tiny_model, titles_csv, tmp_path):
    run_dir = tmp_path / "checkpoint" / "run1"
    run_dir.mkdir(parents=True)
    for name in encoding.VOCABULARY:
        (run_dir / name).write_bytes((tiny_model / name).read_bytes())

    result = run(
        "encode",
        str(titles_csv),
        str(tmp_path / "t.npz"),
        "--run-name",
        "run1",
        "--checkpoint-dir",
        str(tmp_path / "checkpoint"),
    )

    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["encode", "{csv}", "{tmp}/o.npz", "--model-dir", "{tmp}/none"],
            "has no GPT-2 vocabulary (encoder.json, vocab.bpe): run: titlegen download 124M",
        ),
        (
            ["encode", "{csv}", "{tmp}/o.npz", "--model", "mine", "--model-dir", "{tmp}/none"],
            "create it with titlegen new-model mine --from DATASET",
        ),
        (
            ["encode", "{csv}", "{tmp}/o.npz", "--run-name", "../x"],
            "--run-name '../x' is not a folder name",
        ),
        (["encode", "{csv}", "{tmp}/o.txt", "{vocab}"], "The output must be an .npz file"),
        (["encode", "{tmp}/missing.csv", "{tmp}/o.npz", "{vocab}"], "missing.csv does not exist"),
        (["decode", "{tmp}/missing.npz", "{vocab}"], "missing.npz does not exist"),
        (["decode", "{csv}", "{vocab}"], "is not an .npz file of tokens"),
        (["decode", "{big}", "{vocab}"], "holds token ids outside this vocabulary (0-399)"),
    ],
)
def test_bad_input(args, message, tiny_model, titles_csv, tmp_path):
    np.savez_compressed(tmp_path / "big.npz", np.array([1, 2, 50000]))
    values = {"csv": titles_csv, "tmp": tmp_path, "big": tmp_path / "big.npz"}
    argv = []
    for arg in args:
        argv += vocab(tiny_model) if arg == "{vocab}" else [arg.format(**values)]

    result = run(*argv)

    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o.npz").exists()


@pytest.mark.parametrize("kind", ["new-model", "gpt-2"])
def test_long_text_is_cut_into_pieces_without_changing_the_tokens(kind, tiny_model, gpt2_style):
    folder = tiny_model if kind == "new-model" else gpt2_style
    text = "".join(CORPUS) * (2 * encoding.PIECE_CHARS // len("".join(CORPUS)) + 1)
    assert len(text) > 2 * encoding.PIECE_CHARS  # several pieces

    tokens = encoding.Vocabulary(folder).encode(text).tolist()

    assert tokens == reference(folder, text)
