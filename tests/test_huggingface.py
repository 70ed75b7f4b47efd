"""`titlegen export` / `titlegen import`: a run as Hugging Face transformers loads it, and back.

Real components throughout: the exported folder is loaded by transformers on PyTorch (both from
the test extra) and compared with gpt-2-simple's own TensorFlow model restored from the same
checkpoint; imports are sampled by titlegen generate. Two vocabularies: new-model's, where the
markers are tokens, and one in GPT-2's own form, where titlegen encodes them as text.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import train_cli

from titlegen import dataset, encoding, runs, runtime
from titlegen.cli import cli
from titlegen.models import huggingface

TOLERANCE = 1e-4  # largest difference allowed between the two frameworks' logits
KINDS = ["new-model", "gpt-2"]
START, END = dataset.START, dataset.END
# Emoji, CJK, Hebrew, the markers alone and glued to text, a conditioned document, leading and
# trailing spaces: where two BPE implementations would part.
TEXTS = [
    f"{START}aww Cute cat{END}",
    f"{START}numbers 12 34 56{END}\n{START}whispers rain on moss{END}\n",
    "What's your 🐶's name?! שלום, 你好  tabs\tand\u00a0no-break «q» &",
    "   leading spaces, and trailing   ",
    f" {END} inside{START}text{END}{END}",
    "日本語のタイトル 🎉🎉 👩‍👩‍👧 e\u0301 I'm they're 1234",
]


def run(*args: object):
    return CliRunner().invoke(cli, [str(arg) for arg in args], catch_exceptions=False)


def hf():
    """torch and transformers, from the test extra; without them, a failure that says how."""
    try:
        import torch
        import transformers
    except ImportError as error:
        pytest.fail(
            f"{error.name} is not installed: run make test, which installs the test extra "
            "(torch and transformers)."
        )
    return torch, transformers


def refused(result, message: str) -> None:
    """Exit code 1 and one sentence that says ``message``."""
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert message in result.output


def checkpoint_weights(checkpoint: str, hparams: dict) -> dict[str, np.ndarray]:
    tf = runtime.tensorflow()
    reader = tf.train.load_checkpoint(checkpoint)
    return {w.variable: reader.get_tensor(w.variable) for w in huggingface.weights(hparams)}


# -- the two models ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def styled(styled_runs) -> Path:
    """A new-model run trained 200 steps on three subreddits, conditioned."""
    return styled_runs / "styled"


@pytest.fixture(scope="module")
def gpt2_model(styled, tmp_path_factory) -> Path:
    """A small random GPT-2 whose vocabulary has GPT-2's own form: <|endoftext|> is a token (the
    last id, as GPT-2's 50256) and <|startoftext|> is not, so titlegen encodes both markers as
    text. Its ids have a hole where the start marker was, and the model has 3 rows more than
    the vocabulary has ids (as a vocabulary padded for speed). The weights are drawn larger
    than an initialisation's, so the logits are far from uniform. The folder records the
    styled run's format, as an imported run does."""
    folder = tmp_path_factory.mktemp("gpt2-models") / "gpt2ish"
    folder.mkdir()
    encoder = json.loads((styled / "encoder.json").read_text(encoding="utf-8"))
    del encoder[START]
    (folder / "encoder.json").write_text(json.dumps(encoder), encoding="utf-8")
    shutil.copy(styled / "vocab.bpe", folder / "vocab.bpe")
    hparams = {"n_vocab": max(encoder.values()) + 4, "n_ctx": 128, "n_embd": 48, "n_head": 3,
               "n_layer": 2}  # fmt: skip
    (folder / "hparams.json").write_text(json.dumps(hparams, indent=2) + "\n")
    record = runs.Run(styled).record()
    runs.Run(folder).write_record({k: record[k] for k in ("format", "subreddits")})
    rng = np.random.default_rng(7)
    tensors = {}
    for weight in huggingface.weights(hparams):
        if weight.variable.endswith("/g"):
            value = 1 + 0.2 * rng.standard_normal(weight.shape)
        else:
            value = 0.2 * rng.standard_normal(weight.shape)
        tensors[weight.variable] = value.astype(np.float32)
    huggingface.write_checkpoint(folder, hparams, tensors)
    return folder


@pytest.fixture(scope="module")
def exports(styled, gpt2_model, tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """kind -> (the run or model, its export)."""
    root = tmp_path_factory.mktemp("hf")
    result = run("export", root / "styled", "--run-name", "styled",
                 "--checkpoint-dir", styled.parent)  # fmt: skip
    assert result.exit_code == 0, result.output
    step = runs.Run(styled).step()
    assert result.output == (
        f"Exported styled (step {step}: 1 layer, 32 wide, 400 tokens) to {root / 'styled'}; "
        f"load it with GPT2LMHeadModel.from_pretrained({str(root / 'styled')!r}).\n"
    )
    result = run("export", root / "gpt2", "--model", "gpt2ish", "--model-dir", gpt2_model.parent)
    assert result.exit_code == 0, result.output
    return {"new-model": (styled, root / "styled"), "gpt-2": (gpt2_model, root / "gpt2")}


# -- export ------------------------------------------------------------------------------------


def test_export_writes_a_hugging_face_folder(exports, styled):
    _, out = exports["new-model"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [
            "README.md", "config.json", "generation_config.json", "merges.txt",
            "model.safetensors", "special_tokens_map.json", "titlegen.json", "tokenizer.json",
            "tokenizer_config.json", "vocab.json",
        ]
    )  # fmt: skip
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no build left
    umask = os.umask(0)
    os.umask(umask)  # the modes a plain mkdir and open give, not a temporary folder's 0700
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~umask
    assert {stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()} == {0o666 & ~umask}
    config = json.loads((out / "config.json").read_text())
    vocabulary = encoding.Vocabulary(styled)
    start, end = vocabulary.token_id(START), vocabulary.token_id(END)
    assert {k: config[k] for k in ("model_type", "vocab_size", "n_positions", "n_ctx", "n_embd",
            "n_layer", "n_head", "activation_function", "layer_norm_epsilon",
            "tie_word_embeddings", "bos_token_id", "eos_token_id", "pad_token_id")} == {
        "model_type": "gpt2", "vocab_size": 400, "n_positions": 1024, "n_ctx": 1024,
        "n_embd": 32, "n_layer": 1, "n_head": 2, "activation_function": "gelu_new",
        "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True, "bos_token_id": start,
        "eos_token_id": end, "pad_token_id": end,
    }  # fmt: skip
    generation = json.loads((out / "generation_config.json").read_text())
    assert generation == {
        "do_sample": True, "temperature": 0.7, "top_k": 0, "max_new_tokens": 64,
        "eos_token_id": [end, start], "bos_token_id": start, "pad_token_id": end,
    }  # fmt: skip
    assert (out / "vocab.json").read_bytes() == (styled / "encoder.json").read_bytes()
    assert (out / "merges.txt").read_bytes() == (styled / "vocab.bpe").read_bytes()
    record = json.loads((out / "titlegen.json").read_text())
    assert record["format"] == runs.Run(styled).record()["format"]
    assert record["subreddits"] == {"numbers": 150, "shouting": 150, "whispers": 150}


def test_the_model_card_says_what_the_model_is_and_how_to_use_it(exports, styled):
    _, out = exports["new-model"]
    card = (out / "README.md").read_text()
    front, body = card.split("---\n")[1], card.split("---\n", 2)[2]
    assert "library_name: transformers\n" in front and "pipeline_tag: text-generation\n" in front
    assert "tags:\n  - gpt2\n" in front
    step = runs.Run(styled).step()
    val = runs.Run(styled).checkpoint_loss().val_loss
    assert f"- Steps trained: {step}\n" in body
    assert f"- Validation loss of this checkpoint: {val:.3f}\n" in body
    assert "- Base model: `tiny`\n" in body and "styles.csv`" in body
    assert f"`{START}SUBREDDIT TITLE{END}`" in body
    usage = body.split("```python\n")[1].split("```")[0].splitlines()
    assert usage == [
        "from transformers import pipeline",
        f'generate = pipeline("text-generation", model="{out}")',
        f'print(generate("{START}whispers")[0]["generated_text"])',
    ]  # the most frequent subreddit, by name on a tie
    assert "**synthetic**" in body


def test_a_gpt_2_vocabulary_keeps_the_markers_as_text(exports, gpt2_model):
    _, out = exports["gpt-2"]
    config = json.loads((out / "config.json").read_text())
    end = encoding.Vocabulary(gpt2_model).token_id(END)
    assert config["vocab_size"] == end + 4  # rows past the vocabulary's ids are kept
    assert (config["bos_token_id"], config["eos_token_id"], config["pad_token_id"]) == (end,) * 3
    generation = json.loads((out / "generation_config.json").read_text())
    assert "stop_strings" not in generation  # transformers would need the tokenizer passed
    assert (generation["eos_token_id"], generation["pad_token_id"]) == (end, end)
    assert json.loads((out / "special_tokens_map.json").read_text()) == {
        "bos_token": END, "eos_token": END, "pad_token": END
    }  # fmt: skip
    tokenizer_config = json.loads((out / "tokenizer_config.json").read_text())
    assert tokenizer_config["split_special_tokens"] is True
    assert json.loads((out / "titlegen.json").read_text())["stop_strings"] == [END, START]
    card = (out / "README.md").read_text()
    assert f'print(generate("{START}whispers", stop_sequence="{END}")[0]["generated_text"])' in card
    assert "the tokenizer does the same (`split_special_tokens`)" in card


@pytest.mark.parametrize("kind", KINDS)
def test_logits_are_gpt_2_simples(kind, exports, capsys):
    torch, transformers = hf()
    folder, out = exports[kind]
    hparams = runs.read_hparams(folder)
    tokens = encoding.Vocabulary(folder).encode("".join(TEXTS)).tolist()[: hparams["n_ctx"]]

    model, loading = transformers.GPT2LMHeadModel.from_pretrained(out, output_loading_info=True)
    assert not any(loading.values()), loading  # no key missing, unexpected or mismatched
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()  # tied
    model.eval()
    with torch.no_grad():
        theirs = model(torch.tensor([tokens])).logits[0].numpy()
    ours = gpt_2_simple_logits(folder, tokens)

    difference = float(np.abs(theirs - ours).max())
    with capsys.disabled():
        print(f"\n{kind}: {len(tokens)} tokens, logits up to {np.abs(ours).max():.2f}, "
              f"max abs difference {difference:.2e}")  # fmt: skip
    assert theirs.shape == ours.shape == (len(tokens), hparams["n_vocab"])
    assert np.abs(ours).max() > 1  # far from uniform: the comparison means something
    assert difference <= TOLERANCE


def gpt_2_simple_logits(folder: Path, tokens: list[int]) -> np.ndarray:
    """gpt-2-simple's model.model on ``tokens``, in a TF1 graph with the checkpoint restored."""
    tf = runtime.tensorflow()
    from gpt_2_simple.src import model

    params = model.default_hparams()
    params.override_from_dict(runs.read_hparams(folder))
    graph = tf.Graph()
    with graph.as_default():
        given = tf.compat.v1.placeholder(tf.int32, [1, None])
        logits = model.model(hparams=params, X=given)["logits"]
        with tf.compat.v1.Session(graph=graph) as session:
            tf.compat.v1.train.Saver().restore(session, runs.Run(folder).checkpoint())
            return session.run(logits, {given: [tokens]})[0]


@pytest.mark.parametrize("kind", KINDS)
def test_the_tokenizer_gives_titlegens_tokens(kind, exports):
    _, transformers = hf()
    folder, out = exports[kind]
    tokenizer = transformers.AutoTokenizer.from_pretrained(out)
    vocabulary = encoding.Vocabulary(folder)
    for text in TEXTS:
        ours = vocabulary.encode(text).tolist()
        assert tokenizer(text)["input_ids"] == ours, text
        assert tokenizer.encode(text) == ours, text
        assert tokenizer.decode(ours) == text
    end, start = vocabulary.token_id(END), vocabulary.token_id(START)
    if kind == "new-model":  # the markers are one special token each
        assert tokenizer(END)["input_ids"] == [end]
        assert (tokenizer.bos_token_id, tokenizer.eos_token_id) == (start, end)
    else:  # text, in pieces, as the model was trained on them, though END is special
        assert len(tokenizer(END)["input_ids"]) > 1 and start is None
        assert (tokenizer.eos_token_id, tokenizer.pad_token_id) == (end, end)
        assert tokenizer.decode([end]) == END


def test_stop_strings_find_the_end_marker_written_as_text(exports):
    """GPT-2's vocabulary: the end marker is several tokens; the stop strings titlegen.json
    records (the model card passes them) end a row once all of them are written."""
    torch, transformers = hf()
    _, out = exports["gpt-2"]
    tokenizer = transformers.AutoTokenizer.from_pretrained(out)
    stops = json.loads((out / "titlegen.json").read_text())["stop_strings"]
    stop = transformers.StopStringCriteria(tokenizer, stops)
    rows = [f"{START}numbers 12 3{END}", f"{START}numbers 12 3{END[:-1]}", f"x{START}"]
    done = [bool(stop(torch.tensor([tokenizer.encode(row)]), None)[0]) for row in rows]
    assert done == [True, False, True]


@pytest.mark.parametrize("kind", KINDS)
def test_a_pipeline_writes_text_from_a_prompt_in_the_runs_format(kind, exports):
    torch, transformers = hf()
    folder, out = exports[kind]
    prompt = huggingface.example_prompt(runs.Format.of(folder))
    assert prompt == f"{START}whispers"
    generate = transformers.pipeline("text-generation", model=str(out))
    stop = {} if kind == "new-model" else {"stop_sequence": END}  # as the model card says
    torch.manual_seed(0)
    text = generate(prompt, max_new_tokens=12, **stop)[0]["generated_text"]
    assert isinstance(text, str) and len(text.replace(START, "")) > len("whispers"), text
    if kind == "new-model":  # a trained run: a title of its style follows, then the end
        torch.manual_seed(0)
        greedy = generate(prompt, do_sample=False, max_new_tokens=30, skip_special_tokens=False)
        assert greedy[0]["generated_text"].startswith(prompt + " ")
        assert greedy[0]["generated_text"].endswith(END)


# -- import ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_import_gives_back_the_same_model(kind, exports, tmp_path):
    tf = runtime.tensorflow()
    folder, out = exports[kind]
    models = tmp_path / "models"
    result = run("import", out, "back", "--model-dir", models)
    assert result.exit_code == 0, result.output
    back = models / "back"
    hparams = runs.read_hparams(folder)
    assert result.output == (
        f"Imported {out} as {back}, with its run's format and subreddits: "
        f"{hparams['n_layer']} layer{'s' if hparams['n_layer'] > 1 else ''}, "
        f"{hparams['n_embd']} wide, {hparams['n_vocab']} tokens. Sample it with "
        f"titlegen generate --model back --model-dir {models}.\n"
    )
    assert sorted(p.name for p in models.iterdir()) == ["back"]  # no build left
    assert runs.read_hparams(back) == hparams
    for name in ("encoder.json", "vocab.bpe"):
        assert (back / name).read_bytes() == (folder / name).read_bytes()
    assert (back / "checkpoint").is_file()
    imported = tf.train.load_checkpoint(str(back / "model.ckpt"))
    names = {w.variable for w in huggingface.weights(hparams)}
    assert set(imported.get_variable_to_shape_map()) == names
    original = checkpoint_weights(runs.Run(folder).checkpoint(), hparams)
    for name in names:
        assert imported.get_tensor(name).dtype == np.float32
        assert np.array_equal(imported.get_tensor(name), original[name]), name
    assert runs.Run(back).format() == runs.Run(folder).format()

    # The same weights and the same sampler: the same titles for the same seed.
    where = (["--run-name", "styled", "--checkpoint-dir", folder.parent] if kind == "new-model"
             else ["--model", folder.name, "--model-dir", folder.parent])  # fmt: skip
    options = ["--seed", "1", "--nsamples", "6", "--subreddit", "whispers", "--length", "24"]
    theirs = run("generate", "--model", "back", "--model-dir", models, *options)
    ours = run("generate", *where, *options)
    assert theirs.exit_code == ours.exit_code == 0, theirs.output + ours.output
    assert theirs.stdout == ours.stdout and len(ours.stdout.splitlines()) == 6


def test_import_reads_what_transformers_saves(exports, styled, tmp_path):
    """A folder written by save_pretrained itself, in bfloat16 (its own config.json, and only a
    tokenizer.json: transformers 5 writes no vocab.json or merges.txt), with no titlegen.json;
    its weights then renamed as GPT2Model spells them, with the causal-mask buffers older
    transformers saved and a tied lm_head.weight."""
    torch, transformers = hf()
    from safetensors.torch import load_file, save_file

    _, out = exports["new-model"]
    model = transformers.GPT2LMHeadModel.from_pretrained(out, dtype=torch.bfloat16)
    saved = tmp_path / "saved"
    model.save_pretrained(saved)
    transformers.AutoTokenizer.from_pretrained(out).save_pretrained(saved)
    assert not (saved / "vocab.json").exists() and not (saved / "titlegen.json").exists()
    tensors = {
        key.removeprefix("transformer."): value
        for key, value in load_file(saved / "model.safetensors").items()
    }
    tensors["h.0.attn.bias"] = torch.tril(torch.ones(1, 1, 8, 8, dtype=torch.bool))
    tensors["h.0.attn.masked_bias"] = torch.tensor(-1e4)
    tensors["lm_head.weight"] = tensors["wte.weight"].clone()
    save_file(tensors, saved / "model.safetensors", metadata={"format": "pt"})

    models = tmp_path / "models"
    result = run("import", saved, "resaved", "--model-dir", models)
    assert result.exit_code == 0, result.output
    assert "with its run's format" not in result.output
    hparams = runs.read_hparams(styled)
    imported = checkpoint_weights(str(models / "resaved" / "model.ckpt"), hparams)
    for name, value in checkpoint_weights(runs.Run(styled).checkpoint(), hparams).items():
        as_bf16 = torch.from_numpy(value).to(torch.bfloat16).to(torch.float32).numpy()
        assert np.array_equal(imported[name], as_bf16), name
    ours, theirs = encoding.Vocabulary(styled), encoding.Vocabulary(models / "resaved")
    for text in TEXTS:
        assert theirs.encode(text).tolist() == ours.encode(text).tolist()


# -- checkpoints of other precisions -------------------------------------------------------------


def test_a_bf16_run_keeps_float32_weights_and_exports_them(tiny_model, titles_csv, tmp_path):
    from safetensors.numpy import load_file

    trained = train_cli(titles_csv, tiny_model, tmp_path / "ck", "--steps", "2",
                        "--precision", "bf16", "--run-name", "bf16")  # fmt: skip
    assert trained.exit_code == 0, trained.output
    assert "bf16" in trained.output
    folder = tmp_path / "ck" / "bf16"
    hparams = runs.read_hparams(folder)
    weights = checkpoint_weights(runs.Run(folder).checkpoint(), hparams)
    assert {value.dtype for value in weights.values()} == {np.dtype(np.float32)}

    result = run(
        "export", tmp_path / "hf", "--run-name", "bf16", "--checkpoint-dir", tmp_path / "ck"
    )
    assert result.exit_code == 0, result.output
    exported = load_file(str(tmp_path / "hf" / "model.safetensors"))
    for weight in huggingface.weights(hparams):
        value = weights[weight.variable]
        expected = value[0] if weight.conv else value
        assert np.array_equal(exported[f"transformer.{weight.key}"], expected)


def test_a_bfloat16_checkpoint_is_cast_to_float32_exactly(gpt2_model, tmp_path):
    """A checkpoint whose weights are bfloat16 (titlegen writes float32, but a gpt-2-simple
    checkpoint made elsewhere may not): exported as the same numbers in float32."""
    import ml_dtypes
    from safetensors.numpy import load_file

    tf = runtime.tensorflow()
    folder = tmp_path / "models" / "half"
    shutil.copytree(gpt2_model, folder)
    hparams = runs.read_hparams(folder)
    halves = {
        name: value.astype(ml_dtypes.bfloat16)
        for name, value in checkpoint_weights(runs.Run(gpt2_model).checkpoint(), hparams).items()
    }
    for path in folder.glob("model.ckpt*"):
        path.unlink()
    graph = tf.Graph()
    with graph.as_default():
        for name, value in halves.items():
            tf.compat.v1.get_variable(name, initializer=tf.constant(value, dtype=tf.bfloat16))
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            tf.compat.v1.train.Saver(save_relative_paths=True).save(
                session, str(folder / "model.ckpt")
            )
    result = run("export", tmp_path / "hf", "--model", "half", "--model-dir", folder.parent)
    assert result.exit_code == 0, result.output
    exported = load_file(str(tmp_path / "hf" / "model.safetensors"))
    for weight in huggingface.weights(hparams):
        value = halves[weight.variable].astype(np.float32)
        got = exported[f"transformer.{weight.key}"]
        assert got.dtype == np.float32
        assert np.array_equal(got, value[0] if weight.conv else value)


# -- refusals: one sentence, exit code 1, nothing written ----------------------------------------


def broken_copy(exports, tmp_path: Path) -> Path:
    copy = tmp_path / "hf-copy"
    shutil.copytree(exports["new-model"][1], copy)
    return copy


def test_import_refuses_another_kind_of_model(exports, tmp_path):
    copy = broken_copy(exports, tmp_path)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    refused(run("import", copy, "x", "--model-dir", tmp_path / "models"),
            "holds a llama model, not a GPT-2 (model_type gpt2)")  # fmt: skip
    assert not (tmp_path / "models").exists()


def test_import_refuses_a_missing_tensor(exports, tmp_path):
    from safetensors.numpy import load_file, save_file

    copy = broken_copy(exports, tmp_path)
    tensors = load_file(str(copy / "model.safetensors"))
    del tensors["transformer.h.0.mlp.c_fc.bias"]
    save_file(tensors, str(copy / "model.safetensors"), metadata={"format": "pt"})
    refused(run("import", copy, "x", "--model-dir", tmp_path / "models"),
            "has no tensor h.0.mlp.c_fc.bias: it is not a complete GPT-2")  # fmt: skip
    assert not (tmp_path / "models").exists()


def test_import_refuses_tensors_of_another_shape(exports, tmp_path):
    copy = broken_copy(exports, tmp_path)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**config, "n_positions": 512}))
    refused(run("import", copy, "x", "--model-dir", tmp_path / "models"),
            "tensor wpe.weight is [1024, 32], but config.json makes [512, 32]")  # fmt: skip
    assert not (tmp_path / "models").exists()


def test_import_refuses_an_untied_output_layer(exports, tmp_path):
    from safetensors.numpy import load_file, save_file

    copy = broken_copy(exports, tmp_path)
    tensors = load_file(str(copy / "model.safetensors"))
    tensors["lm_head.weight"] = tensors["transformer.wte.weight"] * 2
    save_file(tensors, str(copy / "model.safetensors"), metadata={"format": "pt"})
    refused(run("import", copy, "x", "--model-dir", tmp_path / "models"),
            "output layer is not its token embedding (lm_head.weight differs from wte")  # fmt: skip
    assert not (tmp_path / "models").exists()


def test_import_refuses_weights_without_safetensors(exports, tmp_path):
    torch, _ = hf()
    copy = broken_copy(exports, tmp_path)
    (copy / "model.safetensors").unlink()
    torch.save({"transformer.wte.weight": torch.zeros(2, 2)}, copy / "pytorch_model.bin")
    refused(run("import", copy, "x", "--model-dir", tmp_path / "models"),
            "save the model again with safetensors")  # fmt: skip
    (copy / "pytorch_model.bin").unlink()
    (copy / "model.safetensors.index.json").write_text("{}")
    refused(run("import", copy, "x", "--model-dir", tmp_path / "models"),
            "holds its weights in several safetensors shards")  # fmt: skip
    assert not (tmp_path / "models").exists()


def test_import_refuses_an_existing_model(exports, tmp_path):
    (tmp_path / "models" / "x").mkdir(parents=True)
    refused(run("import", exports["new-model"][1], "x", "--model-dir", tmp_path / "models"),
            "already exists: choose another name or pass --overwrite")  # fmt: skip
    assert list((tmp_path / "models" / "x").iterdir()) == []


def test_export_refuses_a_folder_that_is_not_empty(styled, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    where = ["--run-name", "styled", "--checkpoint-dir", styled.parent]
    refused(run("export", out, *where), "already exists and is not empty")
    refused(run("export", out, *where, "--overwrite"), "is not an earlier export")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in out.iterdir()] == ["notes.txt"]


def test_export_overwrites_an_earlier_export(exports, styled, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(exports["gpt-2"][1], out)
    result = run("export", out, "--run-name", "styled", "--checkpoint-dir", styled.parent,
                 "--overwrite")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((out / "config.json").read_text())["vocab_size"] == 400
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_export_refuses_a_missing_run(styled, tmp_path):
    refused(run("export", tmp_path / "out", "--run-name", "nope", "--checkpoint-dir",
                styled.parent), "There is no trained run nope")  # fmt: skip
    refused(run("export", tmp_path / "out", "--model", "nope", "--model-dir", tmp_path),
            "Model nope is not in")  # fmt: skip
    refused(run("export", tmp_path / "out", "--model", "a", "--run-name", "b"),
            "Give --run-name or --model, not both.")  # fmt: skip
    assert list(tmp_path.iterdir()) == []
