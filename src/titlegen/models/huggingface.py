"""``titlegen export`` / ``titlegen import``: a GPT-2 to and from Hugging Face's layout.

``export`` writes a run (or a base model) as a folder that Hugging Face transformers loads with
``GPT2LMHeadModel.from_pretrained`` and ``AutoTokenizer.from_pretrained``: ``config.json``,
``model.safetensors`` (float32, written with numpy: PyTorch is not needed), the vocabulary
(``vocab.json`` and ``merges.txt`` are GPT-2's ``encoder.json`` and ``vocab.bpe`` under
Hugging Face's names; ``tokenizer.json`` says how to use them), ``generation_config.json`` with
titlegen's sampling defaults, a model card (``README.md``) and the run's document format and
subreddits (``titlegen.json``). ``import`` does the reverse, into ``models/NAME/`` in
gpt-2-simple's layout, so ``train`` and ``generate --model NAME`` (and plain gpt-2-simple) use it
like a downloaded GPT-2.

The numbers are the same both ways: the weights are copied, never recomputed (a TensorFlow
``conv1d`` weight of shape [1, in, out] is Hugging Face's ``Conv1D`` [in, out]; the output layer
is the token embedding, tied, as in GPT-2), and the exported tokenizer gives titlegen's tokens
(see :func:`tokenizer_json`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from titlegen import __version__, dataset, encoding, paths, runs, runtime, sampling
from titlegen.errors import TitlegenError
from titlegen.units import plural

if TYPE_CHECKING:
    import numpy as np

CONFIG = "config.json"
WEIGHTS = "model.safetensors"
VOCAB = "vocab.json"  # encoder.json's content, under Hugging Face's name
MERGES = "merges.txt"  # vocab.bpe's content, under Hugging Face's name
TOKENIZER = "tokenizer.json"
TOKENIZER_CONFIG = "tokenizer_config.json"
SPECIAL_TOKENS = "special_tokens_map.json"
GENERATION = "generation_config.json"
CARD = "README.md"
RECORD = runs.RECORD  # titlegen.json: the document format and subreddits, for import
MODEL_FILES = ("hparams.json", "encoder.json", "vocab.bpe")

LAYER_NORM_EPSILON = 1e-5  # gpt-2-simple's norm() always uses it
# gpt-2-simple's gelu() is GPT-2's tanh approximation: transformers calls it gelu_new (and
# gelu_pytorch_tanh, the same function computed by PyTorch's own kernel).
ACTIVATIONS = ("gelu_new", "gelu_pytorch_tanh")
# OpenAI's GPT-2s on the Hugging Face Hub, for the model card's base_model.
HUB_NAMES = {
    "124M": "openai-community/gpt2",
    "355M": "openai-community/gpt2-medium",
    "774M": "openai-community/gpt2-large",
    "1558M": "openai-community/gpt2-xl",
}
# Buffers that older transformers saved with the weights (the causal mask): not weights.
BUFFERS = re.compile(r"h\.\d+\.attn\.(?:masked_)?bias")
_BLOCK = (
    "ln_1/g", "ln_1/b", "attn/c_attn/w", "attn/c_attn/b", "attn/c_proj/w", "attn/c_proj/b",
    "ln_2/g", "ln_2/b", "mlp/c_fc/w", "mlp/c_fc/b", "mlp/c_proj/w", "mlp/c_proj/b",
)  # fmt: skip


class HubError(TitlegenError):
    """A folder cannot be exported or imported."""


@dataclass(frozen=True)
class Weight:
    """One tensor of GPT-2: its name in gpt-2-simple's checkpoint and in Hugging Face's file."""

    variable: str  # model/h0/attn/c_attn/w
    key: str  # h.0.attn.c_attn.weight (transformer.h.0... in GPT2LMHeadModel's file)
    shape: tuple[int, ...]  # in the TensorFlow checkpoint

    @property
    def conv(self) -> bool:
        """A conv1d weight: [1, in, out] in TensorFlow, [in, out] in Hugging Face's Conv1D."""
        return len(self.shape) == 3

    @property
    def hf_shape(self) -> tuple[int, ...]:
        return self.shape[1:] if self.conv else self.shape


def weights(hparams: dict) -> list[Weight]:
    """Every weight of the GPT-2 that ``hparams`` describes, in gpt-2-simple's order."""
    vocab, ctx, embd = hparams["n_vocab"], hparams["n_ctx"], hparams["n_embd"]
    shapes = {
        "ln_1/g": (embd,), "ln_1/b": (embd,), "ln_2/g": (embd,), "ln_2/b": (embd,),
        "attn/c_attn/w": (1, embd, 3 * embd), "attn/c_attn/b": (3 * embd,),
        "attn/c_proj/w": (1, embd, embd), "attn/c_proj/b": (embd,),
        "mlp/c_fc/w": (1, embd, 4 * embd), "mlp/c_fc/b": (4 * embd,),
        "mlp/c_proj/w": (1, 4 * embd, embd), "mlp/c_proj/b": (embd,),
    }  # fmt: skip
    found = [Weight("model/wpe", "wpe.weight", (ctx, embd))]
    found.append(Weight("model/wte", "wte.weight", (vocab, embd)))
    for layer in range(hparams["n_layer"]):
        for part in _BLOCK:
            scope, last = part.rsplit("/", 1)
            key = f"h.{layer}.{scope.replace('/', '.')}.{'weight' if last in 'gw' else 'bias'}"
            found.append(Weight(f"model/h{layer}/{part}", key, shapes[part]))
    found.append(Weight("model/ln_f/g", "ln_f.weight", (embd,)))
    found.append(Weight("model/ln_f/b", "ln_f.bias", (embd,)))
    return found


# -- export ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    folder: Path  # what was written
    source: Path  # the run or base model
    step: int
    hparams: dict


def export(source: Path, out: Path, *, overwrite: bool = False) -> Exported:
    """Write the run or base model in ``source`` (its latest complete checkpoint) as a Hugging
    Face folder ``out``, built beside it and renamed into place at the end."""
    _check_out(out, overwrite)
    run = runs.Run(source)
    hparams = runs.read_hparams(source)
    vocabulary = encoding.Vocabulary(source)  # checks encoder.json and vocab.bpe agree
    _check_vocabulary_size(source, vocabulary, hparams)
    tensors, checkpoint = _read_latest(run, hparams)
    record = run.record() or {}
    step = runs.step_of(checkpoint) or run.step()  # a base model's model.ckpt: its counter
    tokens = Tokens.of(vocabulary, runs.Format.of_record(record))
    with _building(out, replace=overwrite) as build:
        _write_weights(build / WEIGHTS, tensors)
        (build / VOCAB).write_bytes((source / "encoder.json").read_bytes())
        (build / MERGES).write_bytes((source / "vocab.bpe").read_bytes())
        (build / TOKENIZER).write_text(tokenizer_json(vocabulary, source), encoding="utf-8")
        _write_json(build / TOKENIZER_CONFIG, tokenizer_config(hparams, tokens))
        _write_json(build / SPECIAL_TOKENS, tokens.special_map())
        _write_json(build / CONFIG, config(hparams, tokens))
        _write_json(build / GENERATION, generation_config(tokens))
        _write_json(build / RECORD, _export_record(source, record, step, tokens))
        card = model_card(source, record, hparams, step=step, tokens=tokens, folder=out)
        (build / CARD).write_text(card, encoding="utf-8")
    return Exported(out, source, step, hparams)


def _read_latest(run: runs.Run, hparams: dict) -> tuple[dict[str, np.ndarray], str]:
    """The weights of the run's latest complete checkpoint, and which it was: a train of the
    run may save a newer one meanwhile and remove this one; then the newer one is read."""
    checkpoint = run.checkpoint()
    for _ in range(runs.RESTORE_TRIES - 1):
        try:
            return read_checkpoint(checkpoint, hparams), checkpoint
        except HubError:
            newer = run.checkpoint()
            if newer == checkpoint:
                raise
            checkpoint = newer
    return read_checkpoint(checkpoint, hparams), checkpoint


def _check_out(out: Path, overwrite: bool) -> None:
    if out.is_file() or (out.exists() and not out.is_dir()):
        raise HubError(f"{out} is a file, not a folder: choose a folder to export to.")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise HubError(
                f"{out} already exists and is not empty: choose another folder, or pass "
                "--overwrite to replace an earlier export."
            )
        if not (out / CONFIG).is_file():  # never replace a folder export did not write
            raise HubError(
                f"{out} holds files but no {CONFIG}, so it is not an earlier export that "
                "--overwrite may replace: choose another folder."
            )


def _check_vocabulary_size(source: Path, vocabulary: encoding.Vocabulary, hparams: dict) -> None:
    """Token ids must be rows of the embedding; the model may have more rows than tokens
    (those are never sampled: they have no text)."""
    if len(vocabulary.token_bytes) > hparams["n_vocab"]:
        raise HubError(
            f"{source}'s encoder.json has ids up to {len(vocabulary.token_bytes) - 1}, but its "
            f"hparams.json gives the model {hparams['n_vocab']} token rows: they belong to "
            "different models."
        )


def read_checkpoint(checkpoint: str, hparams: dict) -> dict[str, np.ndarray]:
    """GPT-2's weights in a gpt-2-simple checkpoint, by Hugging Face's names, in float32 and
    Hugging Face's shapes. Anything else the checkpoint holds (an optimizer's state) is left."""
    import numpy as np

    tf = runtime.tensorflow()
    try:
        reader = tf.train.load_checkpoint(checkpoint)
        shapes = reader.get_variable_to_shape_map()
        dtypes = reader.get_variable_to_dtype_map()
    except (tf.errors.OpError, ValueError) as error:
        raise HubError(
            f"The checkpoint {checkpoint} cannot be read ({_reason(error)}): it is damaged; "
            "train the run again."
        ) from error
    tensors = {}
    for weight in weights(hparams):
        if weight.variable not in shapes:
            raise HubError(
                f"The checkpoint {checkpoint} has no {weight.variable}, so it is not a GPT-2 "
                "of the shape its hparams.json gives."
            )
        if tuple(shapes[weight.variable]) != weight.shape:
            raise HubError(
                f"The checkpoint {checkpoint} holds {weight.variable} of shape "
                f"{list(shapes[weight.variable])}, but hparams.json beside it makes "
                f"{list(weight.shape)}: they belong to different models."
            )
        if not dtypes[weight.variable].is_floating:
            raise HubError(
                f"The checkpoint {checkpoint} holds {weight.variable} as "
                f"{dtypes[weight.variable].name}, not as floating-point numbers."
            )
        # float32 whatever the checkpoint holds: titlegen keeps float32 weights even when it
        # computes in bf16 or fp16, but a checkpoint written otherwise is cast exactly (every
        # bfloat16 and float16 number is a float32 number).
        value = np.asarray(reader.get_tensor(weight.variable)).astype(np.float32)
        tensors[weight.key] = np.ascontiguousarray(value[0] if weight.conv else value)
    return tensors


def _write_weights(path: Path, tensors: dict[str, np.ndarray]) -> None:
    from safetensors.numpy import save_file

    # GPT2LMHeadModel's own names (transformer.h.0...); lm_head.weight is left out, as
    # save_pretrained leaves it out: it is wte, tied (config.json's tie_word_embeddings).
    # "format": "pt" is what transformers expects of a safetensors file's metadata.
    named = {f"transformer.{key}": value for key, value in tensors.items()}
    save_file(named, str(path), metadata={"format": "pt"})


@dataclass(frozen=True)
class Tokens:
    """The special tokens of an export, from its vocabulary and document format.

    Where the start marker is a token (new-model's vocabularies), titlegen encodes each marker
    as its one token: both are special here too, and generation ends at the end marker's id.
    In any other vocabulary (GPT-2's own) titlegen and gpt-2-simple encode the markers as text
    (``<|``, ``endoftext``, ``|>``) and the model was trained on those pieces, while Hugging
    Face's GPT-2 tokenizer makes ``<|endoftext|>`` the one token 50256. The export keeps
    ``<|endoftext|>`` as the special token (eos, pad: what generate and a batching pipeline
    use) but sets ``split_special_tokens``, so text is encoded exactly as titlegen encodes it;
    a title's end, written in pieces, is then found by ``stop_strings`` given with each call
    (see :func:`generation_config` for why not in the file).
    """

    start: int | None  # <|startoftext|>'s id where it is one token (new-model's vocabularies)
    end: int | None  # <|endoftext|>'s id where the vocabulary has it (GPT-2's 50256)
    markers: bool  # the markers are tokens, each a special one (else text)
    stops: tuple[str, ...]  # where a title ends: titlegen's sampler stops there

    @classmethod
    def of(cls, vocabulary: encoding.Vocabulary, form: runs.Format) -> Tokens:
        markers = bool(vocabulary.special)
        return cls(
            start=vocabulary.token_id(dataset.START) if markers else None,
            end=vocabulary.token_id(dataset.END),
            markers=markers,
            # The end marker, and in a titlegen run the start marker too: the model began
            # another document without ending this one.
            stops=(dataset.END, dataset.START) if form.titles else (dataset.END,),
        )

    @property
    def bos(self) -> int | None:
        return self.start if self.markers else self.end  # GPT-2's config names 50256 for both

    def stop_ids(self) -> list[int]:
        """The ids generation ends at: those of the stops that are one token."""
        ids = {dataset.END: self.end, dataset.START: self.start}
        return [ids[stop] for stop in self.stops if ids[stop] is not None]

    def special_map(self) -> dict[str, str]:
        """special_tokens_map.json."""
        if self.end is None:
            return {}
        bos = dataset.START if self.markers else dataset.END
        return {"bos_token": bos, "eos_token": dataset.END, "pad_token": dataset.END}

    def ids(self) -> dict[str, int]:
        """Each special token's id."""
        found = {dataset.START: self.start, dataset.END: self.end}
        return {token: i for token, i in found.items() if i is not None}


def config(hparams: dict, tokens: Tokens) -> dict[str, Any]:
    """config.json of a GPT2LMHeadModel with these hparams."""
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": hparams["n_vocab"],
        "n_positions": hparams["n_ctx"],
        "n_ctx": hparams["n_ctx"],
        "n_embd": hparams["n_embd"],
        "n_layer": hparams["n_layer"],
        "n_head": hparams["n_head"],
        "n_inner": None,  # 4 * n_embd, as in GPT-2
        "activation_function": "gelu_new",  # gpt-2-simple's gelu: the tanh approximation
        "layer_norm_epsilon": LAYER_NORM_EPSILON,
        "initializer_range": 0.02,
        # gpt-2-simple trains without dropout, so finetuning further here trains alike.
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
        "scale_attn_weights": True,
        "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False,
        "tie_word_embeddings": True,  # the output layer is wte, as in GPT-2
        "use_cache": True,
        "bos_token_id": tokens.bos,
        "eos_token_id": tokens.end,
        "pad_token_id": tokens.end,
        "dtype": "float32",
    }


def generation_config(tokens: Tokens) -> dict[str, Any]:
    """titlegen generate's defaults: sampled, temperature 0.7, no top-k, 64 new tokens; and
    the end of a title, where the markers are tokens: their ids.

    Where they are text (GPT-2's vocabulary) the end of a title is several tokens, which only
    ``stop_strings`` finds; but transformers (5.23) refuses stop_strings read from this file
    unless every caller passes the tokenizer to generate, and its text-generation pipeline does
    not (huggingface/transformers#34571): a plain ``pipeline(...)(prompt)`` would fail. So they
    are given with each call instead (the model card shows how: the pipeline's
    ``stop_sequence``), and recorded in titlegen.json.
    """
    settings: dict[str, Any] = {
        "do_sample": True,
        "temperature": sampling.TEMPERATURE,
        "top_k": 0,  # off, as titlegen generate's --top-k 0
        "max_new_tokens": sampling.LENGTH,
    }
    ids = tokens.stop_ids()
    if ids:
        settings["eos_token_id"] = ids if len(ids) > 1 else ids[0]
    if tokens.end is not None:
        settings["bos_token_id"] = tokens.bos
        settings["pad_token_id"] = tokens.end
    return settings


def tokenizer_json(vocabulary: encoding.Vocabulary, source: Path) -> str:
    """tokenizer.json: GPT-2's byte-level BPE with this vocabulary, written by the tokenizers
    library: GPT-2's pre-tokenizer (the same regex as titlegen's), its byte alphabet and the
    merges in vocab.bpe's order, so it gives exactly titlegen's tokens. The markers are added
    tokens only where titlegen encodes each as one token (see :class:`Tokens`)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    lines = (source / "vocab.bpe").read_text(encoding="utf-8").split("\n")[1:]
    merges = [tuple(line.split()) for line in lines if line.strip()]
    tokenizer = Tokenizer(models.BPE(vocab=dict(vocabulary.encoder), merges=merges))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    tokenizer.add_special_tokens(
        [AddedToken(marker, special=True, normalized=False) for marker in vocabulary.special]
    )
    return tokenizer.to_str(pretty=True)


def tokenizer_config(hparams: dict, tokens: Tokens) -> dict[str, Any]:
    """tokenizer_config.json: GPT-2's tokenizer class, decoding exactly (no clean-up of
    spaces), padding on the left (for generation), and the special tokens (see
    :class:`Tokens`)."""
    special = tokens.special_map()
    return {
        "tokenizer_class": "GPT2Tokenizer",
        "add_prefix_space": False,
        "add_bos_token": False,
        "clean_up_tokenization_spaces": False,
        "errors": "replace",  # bytes that are not UTF-8 become U+FFFD, as in gpt-2-simple
        "model_max_length": hparams["n_ctx"],
        "padding_side": "left",
        # Stated even when null: GPT2Tokenizer's defaults would name <|endoftext|> otherwise.
        "bos_token": special.get("bos_token"),
        "eos_token": special.get("eos_token"),
        "pad_token": special.get("pad_token"),
        "unk_token": None,
        # Markers that are text for titlegen stay text here, special or not.
        "split_special_tokens": not tokens.markers,
        "added_tokens_decoder": {
            str(token_id): {
                "content": token,
                "lstrip": False,
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
            for token, token_id in sorted(tokens.ids().items(), key=lambda item: item[1])
        },
    }


def _export_record(source: Path, record: dict, step: int, tokens: Tokens) -> dict[str, Any]:
    """What import brings back into titlegen: the document format and the subreddits (so
    generate --subreddit works on the imported model); and where the weights came from, and
    where a title ends."""
    return {
        "titlegen": __version__,
        "exported_from": source.name,
        "base_model": record.get("base_model"),
        "step": step,
        "val_loss": _checkpoint_loss(record, step),
        "stop_strings": [] if tokens.markers else list(tokens.stops),
        "format": record.get("format") or {},
        "subreddits": record.get("subreddits") or {},
    }


def _checkpoint_loss(record: dict, step: int) -> float | None:
    saved = record.get("checkpoint") or {}
    return saved.get("val_loss") if saved.get("step") == step else None


def model_card(
    source: Path, record: dict, hparams: dict, *, step: int, tokens: Tokens, folder: Path
) -> str:
    """README.md: what the model is, how it was trained, its document format and how to use
    it, with YAML front matter for the Hub."""
    form = runs.Format.of_record(record)
    base = record.get("base_model") or (None if record else source.name)
    datasets = sorted({str(h.get("dataset")) for h in record.get("history") or [] if h})
    val = _checkpoint_loss(record, step)
    front = ["---", "library_name: transformers", "pipeline_tag: text-generation", "tags:"]
    front += [f"  - {tag}" for tag in ("gpt2", "titlegen", "gpt-2-simple", "reddit")]
    if base in HUB_NAMES:
        front.append(f"base_model: {HUB_NAMES[base]}")
    what = (
        "a titlegen training run" if record.get("history") else "a GPT-2 in gpt-2-simple's layout"
    )
    lines = [
        *front,
        "---",
        "",
        f"# {source.name}",
        "",
        f"A GPT-2 exported by [titlegen](https://github.com/titlegen/titlegen) from {what}"
        f" (`{source.name}`, step {step}).",
        "",
        f"- Base model: {_base_line(base)}",
        f"- Dataset: {', '.join(f'`{d}`' for d in datasets) or 'none recorded'}",
        f"- Steps trained: {step}",
        f"- Validation loss of this checkpoint: {'not measured' if val is None else f'{val:.3f}'}",
        f"- Shape: {_shape_line(hparams)}",
        f"- Document format: {_format_line(form)}",
        "",
        "## Use it",
        "",
        "```python",
        "from transformers import pipeline",
        f'generate = pipeline("text-generation", model="{folder}")',
        f'print(generate("{example_prompt(form)}"{_stop_argument(tokens, form)})'
        '[0]["generated_text"])',
        "```",
        "",
        _tokens_line(tokens, form),
        "",
        "`generation_config.json` holds titlegen's sampling defaults: sampled at temperature "
        f"{sampling.TEMPERATURE}, no top-k, at most {sampling.LENGTH} new tokens.",
        "",
        "Everything this model writes is **synthetic**: made-up titles, not posts from Reddit, "
        "and some may repeat titles it was trained on.",
        "",
    ]
    return "\n".join(lines)


def example_prompt(form: runs.Format) -> str:
    """A prompt in the run's document format: the start marker and, for a conditioned run, its
    most frequent subreddit (as titlegen generate --subreddit prompts); for a model of plain
    text, a few words."""
    if not form.titles:
        return "Today I learned"
    # A keyword run's prompt starts with its keyword field, empty here: any title.
    field = form.keywords.field([]) if form.keywords is not None else ""
    if form.condition and form.subreddits:
        name = max(form.subreddits, key=lambda n: (form.subreddits[n], n))
        return f"{dataset.START}{field}{name}"
    return dataset.START + field.rstrip(" ")


def _stop_argument(tokens: Tokens, form: runs.Format) -> str:
    """Where the end marker is text, the pipeline's stop_sequence finds it (generation_config
    cannot hold it: see generation_config)."""
    return "" if tokens.markers or not form.titles else f', stop_sequence="{dataset.END}"'


def _base_line(base: str | None) -> str:
    if base in HUB_NAMES:
        return (
            f"OpenAI's GPT-2 {base} ([{HUB_NAMES[base]}](https://huggingface.co/{HUB_NAMES[base]}))"
        )
    return f"`{base}`" if base else "unknown"


def _shape_line(hparams: dict) -> str:
    return (
        f"{plural(hparams['n_layer'], 'layer')}, {hparams['n_embd']} wide, "
        f"{plural(hparams['n_head'], 'head')}, {plural(hparams['n_vocab'], 'token')}, "
        f"a {hparams['n_ctx']}-token context"
    )


def _format_line(form: runs.Format) -> str:
    if form.keywords is not None:
        k = form.keywords
        name = "SUBREDDIT " if form.condition else ""
        then = f" and its subreddit ({plural(len(form.subreddits), 'subreddit')})"
        return (
            f"`{dataset.START}KEYWORDS{k.then}{name}TITLE{dataset.END}`: 1 to {k.most} of the "
            f"title's words, lower-cased, joined by {k.join!r}, then {k.then!r}"
            + (then if form.condition else "")
            + " before it; an empty keyword field asks for any title"
        )
    if form.condition:
        return (
            f"`{dataset.START}SUBREDDIT TITLE{dataset.END}`: a title after its subreddit's name "
            f"and a space ({plural(len(form.subreddits), 'subreddit')})"
        )
    if form.titles:
        return f"`{dataset.START}TITLE{dataset.END}`"
    return "plain text"


def _tokens_line(tokens: Tokens, form: runs.Format) -> str:
    if tokens.markers:
        return (
            f"`{dataset.START}` and `{dataset.END}` are special tokens, one each (ids "
            f"{tokens.start} and {tokens.end}), as titlegen trained on them; generation ends at "
            "the end marker by itself."
        )
    line = (
        f"In this vocabulary (GPT-2's own) titlegen encodes the markers as text, "
        f"`{dataset.END}` as `<|`, `endoftext`, `|>`, and the model was trained on those "
        "pieces: the tokenizer does the same (`split_special_tokens`), although "
        f"`{dataset.END}` stays its special token for padding and for an end written as one "
        "token."
    )
    if form.titles:
        line += (
            " A title ends where the pieces spell the marker: pass `stop_sequence` to the "
            f'pipeline as above, or `stop_strings=["{dataset.END}"], tokenizer=tokenizer` to '
            "`model.generate` (transformers cannot take them from generation_config.json "
            "without the tokenizer)."
        )
    return line


# -- import ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    folder: Path
    hparams: dict
    record: bool  # titlegen.json was brought back (the run's format and subreddits)


def import_model(
    source: Path, name: str, *, model_dir: Path = paths.MODEL_DIR, overwrite: bool = False
) -> Imported:
    """Bring the GPT-2 in Hugging Face folder ``source`` into ``model_dir/name`` in
    gpt-2-simple's layout. Everything is read and checked before anything is written; the
    model is built beside its place and renamed into it."""
    folder = model_dir / paths.folder_name(name, "NAME")
    if folder.exists() and not overwrite:
        raise HubError(f"{folder} already exists: choose another name or pass --overwrite.")
    if not source.is_dir():
        raise HubError(
            f"{source} is not a folder: import reads a folder saved by transformers' "
            "save_pretrained (or downloaded with hf download MODEL --local-dir DIR)."
        )
    hparams = hparams_of(source)
    tensors = read_safetensors(source, hparams)
    encoder, merges = _read_vocabulary(source, hparams)
    record = _import_record(source)
    with _building(folder, replace=overwrite) as build:
        _write_json(build / "hparams.json", hparams)
        (build / "encoder.json").write_bytes(encoder)
        (build / "vocab.bpe").write_bytes(merges)
        encoding.Vocabulary(build)  # as titlegen reads it: every byte, every merge's token
        if record is not None:
            _write_json(build / RECORD, record)
        write_checkpoint(build, hparams, tensors)
    return Imported(folder, hparams, record is not None)


def _read_config(source: Path) -> dict:
    path = source / CONFIG
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise HubError(
            f"{source} has no {CONFIG}: it is not a model folder saved by transformers."
        ) from error
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise HubError(f"{path} is damaged ({error}).") from error
    if not isinstance(config, dict):
        raise HubError(f"{path} is damaged (not a JSON object).")
    return config


def hparams_of(source: Path) -> dict:
    """gpt-2-simple's hparams for the model in ``source``'s config.json; refuses what
    gpt-2-simple's GPT-2 cannot compute alike."""
    config = _read_config(source)
    kind = config.get("model_type")
    if kind != "gpt2":
        raise HubError(
            f"{source} holds a {kind or 'model without a model_type'} model, not a GPT-2 "
            "(model_type gpt2): titlegen imports GPT-2 models only."
        )
    try:
        hparams = {
            "n_vocab": int(config["vocab_size"]),
            "n_ctx": int(config.get("n_positions", config.get("n_ctx", 1024))),
            "n_embd": int(config["n_embd"]),
            "n_head": int(config["n_head"]),
            "n_layer": int(config["n_layer"]),
        }
    except (KeyError, TypeError, ValueError) as error:
        raise HubError(
            f"{source / CONFIG} lacks GPT-2's {error} (or it is not a number)."
        ) from error
    embd = hparams["n_embd"]
    differences = [
        (config.get("activation_function", "gelu_new") not in ACTIVATIONS, "activation_function"),
        (config.get("layer_norm_epsilon", 1e-5) != LAYER_NORM_EPSILON, "layer_norm_epsilon"),
        (config.get("n_inner") not in (None, 4 * embd), "n_inner"),
        (not config.get("scale_attn_weights", True), "scale_attn_weights"),
        (config.get("scale_attn_by_inverse_layer_idx", False), "scale_attn_by_inverse_layer_idx"),
        (config.get("add_cross_attention", False), "add_cross_attention"),
        (min(hparams.values()) < 1 or embd % hparams["n_head"], "n_embd / n_head"),
    ]
    for differs, setting in differences:
        if differs:
            raise HubError(
                f"{source / CONFIG} sets {setting} to {config.get(setting, 'another value')}, "
                "which gpt-2-simple's GPT-2 does not compute: titlegen imports GPT-2's own "
                "architecture only."
            )
    return hparams


def read_safetensors(source: Path, hparams: dict) -> dict[str, np.ndarray]:
    """The weights in ``source``'s model.safetensors, by gpt-2-simple's variable names, in
    float32 and TensorFlow's shapes; refuses a file that is not this GPT-2's, whole."""
    import numpy as np

    path = source / WEIGHTS
    if not path.is_file():
        raise HubError(_no_safetensors(source))
    raw = _read_tensors(path)
    tied = raw.pop("lm_head.weight", None)
    expected = {weight.key: weight for weight in weights(hparams)}
    names = {key.removeprefix("transformer."): key for key in raw}
    missing = [key for key in expected if key not in names]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise HubError(
            f"{path} has no tensor {missing[0]}{more}: it is not a complete GPT-2 of the shape "
            f"its {CONFIG} gives."
        )
    extra = sorted(set(names) - set(expected))
    if extra:
        raise HubError(
            f"{path} holds tensors a GPT-2 language model has not ({', '.join(extra[:3])}): "
            "titlegen imports GPT2LMHeadModel's weights only."
        )
    tensors = {}
    for key, weight in expected.items():
        value = raw[names[key]]
        if tuple(value.shape) != weight.hf_shape:
            raise HubError(
                f"{path}'s tensor {key} is {list(value.shape)}, but {CONFIG} makes "
                f"{list(weight.hf_shape)}: the two belong to different models."
            )
        tensors[weight.variable] = value.reshape(weight.shape)
    untied = _read_config(source).get("tie_word_embeddings") is False
    if (tied is not None and not np.array_equal(tied, tensors["model/wte"])) or (
        untied and tied is None
    ):
        raise HubError(
            f"{path}'s output layer is not its token embedding (lm_head.weight differs from wte, "
            "or is missing though config.json unties them): gpt-2-simple's GPT-2 ties the two, "
            "so an untied output layer cannot be imported."
        )
    return tensors


def _no_safetensors(source: Path) -> str:
    if (source / f"{WEIGHTS}.index.json").is_file():
        return (
            f"{source} holds its weights in several safetensors shards: save the model again "
            "in one file, with model.save_pretrained(DIR, max_shard_size='100GB')."
        )
    if any((source / name).is_file() for name in ("pytorch_model.bin", "tf_model.h5")):
        return (
            f"{source} holds its weights in PyTorch's or Keras's format, not in {WEIGHTS}: "
            "save the model again with safetensors, model.save_pretrained(DIR), and import that."
        )
    return f"{source} has no {WEIGHTS}, so it holds no weights titlegen can read."


# safetensors' dtype names -> numpy's; bfloat16 (which numpy lacks) is read as its 16 bits.
_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2"}


def _read_tensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a safetensors file but the attention buffers, as float32 (a float16 or
    bfloat16 number is a float32 number exactly)."""
    import numpy as np

    try:
        with path.open("rb") as f:
            size = int.from_bytes(f.read(8), "little")
            header = json.loads(f.read(size))
        data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
        tensors = {}
        for key, info in header.items():
            if key == "__metadata__" or BUFFERS.fullmatch(key.removeprefix("transformer.")):
                continue  # buffers of older transformers: a mask, not weights (any dtype)
            if info["dtype"] not in _DTYPES:
                raise HubError(
                    f"{path} holds {key} as {info['dtype']}, not as floating-point numbers: "
                    "titlegen imports float32, float16 or bfloat16 weights only."
                )
            begin, end = info["data_offsets"]
            value = data[begin:end].view(_DTYPES[info["dtype"]])
            if info["dtype"] == "BF16":  # bfloat16 is float32's upper 16 bits
                value = (value.astype(np.uint32) << 16).view(np.float32)
            tensors[key] = value.astype(np.float32).reshape(info["shape"])
    except HubError:
        raise
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError) as error:
        raise HubError(f"{path} is not a readable safetensors file ({error}).") from error
    return tensors


def _read_vocabulary(source: Path, hparams: dict) -> tuple[bytes, bytes]:
    """encoder.json and vocab.bpe for gpt-2-simple: vocab.json and merges.txt, which are the
    same formats (copied byte for byte where they are complete), or else the BPE inside
    tokenizer.json (transformers 5 saves only that). Tokens added to the tokenizer beyond the
    vocabulary join it, as the markers of a new-model vocabulary are in its encoder.json."""
    if (source / VOCAB).is_file() and (source / MERGES).is_file():
        encoder_bytes = (source / VOCAB).read_bytes()
        try:
            encoder = json.loads(encoder_bytes.decode("utf-8"))
            merges = (source / MERGES).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise HubError(f"{source}'s {VOCAB} or {MERGES} is damaged ({error}).") from error
        if not _is_vocabulary(encoder):
            raise HubError(f"{source / VOCAB} is not a vocabulary (token -> id).")
    elif (source / TOKENIZER).is_file():
        encoder, merges = _bpe_of_tokenizer_json(source / TOKENIZER)
        encoder_bytes = b""
    else:
        raise HubError(
            f"{source} has no {VOCAB} and {MERGES}, nor a {TOKENIZER}: save the model's "
            "tokenizer into it too, with tokenizer.save_pretrained(DIR)."
        )
    added = _added_tokens(source, encoder)
    if added or not encoder_bytes:
        encoder_bytes = json.dumps({**encoder, **added}, ensure_ascii=False).encode("utf-8")
        encoder = {**encoder, **added}
    if encoder and max(encoder.values()) >= hparams["n_vocab"]:
        raise HubError(
            f"{source}'s vocabulary has ids up to {max(encoder.values())}, but {CONFIG} gives "
            f"the model {hparams['n_vocab']} token rows: they belong to different models."
        )
    # gpt-2-simple's reader drops the first line (the version) and the last (after the final
    # newline): make sure those are the ones it drops.
    if not merges.startswith("#version"):
        merges = "#version: 0.2\n" + merges
    if not merges.endswith("\n"):
        merges += "\n"
    return encoder_bytes, merges.encode("utf-8")


def _is_vocabulary(encoder: Any) -> bool:
    return isinstance(encoder, dict) and all(
        isinstance(token, str) and isinstance(i, int) for token, i in encoder.items()
    )


def _bpe_of_tokenizer_json(path: Path) -> tuple[dict[str, int], str]:
    """The vocabulary and merges (in vocab.bpe's text) of GPT-2's byte-level BPE in a
    tokenizer.json; refuses another kind of tokenizer."""
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
        model, pre = spec.get("model") or {}, spec.get("pre_tokenizer") or {}
    except (OSError, UnicodeDecodeError, ValueError, AttributeError) as error:
        raise HubError(f"{path} is damaged ({error}).") from error
    if model.get("type") != "BPE" or pre.get("type") != "ByteLevel":
        raise HubError(
            f"{path} is not GPT-2's byte-level BPE tokenizer ({model.get('type')} model, "
            f"{pre.get('type')} pre-tokenizer), so gpt-2-simple could not read its vocabulary."
        )
    merges = model.get("merges") or []
    lines = [m if isinstance(m, str) else " ".join(m) for m in merges]
    if not _is_vocabulary(model.get("vocab")):
        raise HubError(f"{path} is damaged (its vocabulary is not token -> id).")
    return model["vocab"], "#version: 0.2\n" + "".join(line + "\n" for line in lines)


def _added_tokens(source: Path, encoder: dict[str, int]) -> dict[str, int]:
    """Tokens the tokenizer added beyond its vocabulary (tokenizer.json's added_tokens, or a
    legacy added_tokens.json), spelled in the byte alphabet of encoder.json."""
    found: dict[str, int] = {}
    try:
        if (source / TOKENIZER).is_file():
            spec = json.loads((source / TOKENIZER).read_text(encoding="utf-8"))
            found.update({t["content"]: int(t["id"]) for t in spec.get("added_tokens") or []})
        if (source / "added_tokens.json").is_file():
            found.update(json.loads((source / "added_tokens.json").read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise HubError(f"{source}'s tokenizer files are damaged ({e}).") from e
    chars = encoding.byte_to_char()
    taken = set(encoder.values())
    added = {}
    for content, token_id in sorted(found.items(), key=lambda item: item[1]):
        spelled = "".join(chars[byte] for byte in content.encode("utf-8"))
        if spelled not in encoder and token_id not in taken:
            added[spelled] = token_id
            taken.add(token_id)
    return added


def _import_record(source: Path) -> dict | None:
    """The exported run's format and subreddits, as a model folder's titlegen.json (generate
    reads them: titles between markers, --subreddit); None where the folder has none."""
    path = source / RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise HubError(f"{path} is damaged ({error}): delete it to import without it.") from error
    if not isinstance(record, dict) or not all(
        isinstance(record.get(key) or {}, dict) for key in ("format", "subreddits")
    ):
        raise HubError(f"{path} is not a record titlegen export wrote: delete it to import.")
    return {
        "titlegen": __version__,
        "imported_from": str(source),
        "base_model": record.get("base_model"),
        "format": record.get("format") or {},
        "subreddits": record.get("subreddits") or {},
    }


def write_checkpoint(folder: Path, hparams: dict, tensors: dict[str, np.ndarray]) -> None:
    """``tensors`` as a TensorFlow checkpoint ``model.ckpt`` (and its ``checkpoint`` file), with
    gpt-2-simple's variable names: its own graph makes the variables, so the names and shapes
    are the ones gpt-2-simple and titlegen restore."""
    tf = runtime.tensorflow()  # first, so that gpt-2-simple's own import of it is a quiet one
    from gpt_2_simple.src import model

    params = model.default_hparams()
    params.override_from_dict(hparams)
    graph = tf.Graph()
    with graph.as_default():
        model.model(hparams=params, X=tf.compat.v1.placeholder(tf.int32, [1, None]))
        variables = graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES)
        if {variable.op.name for variable in variables} != set(tensors):
            raise HubError("gpt-2-simple's GPT-2 names other variables than titlegen expects.")
        saver = tf.compat.v1.train.Saver(save_relative_paths=True)
        with tf.compat.v1.Session(graph=graph) as session:
            for variable in variables:  # each value fed in, never a constant in the graph
                session.run(
                    variable.initializer, {variable.initial_value: tensors[variable.op.name]}
                )
            saver.save(session, str(folder / "model.ckpt"))


# -- shared ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _building(target: Path, *, replace: bool) -> Iterator[Path]:
    """A temporary folder beside ``target`` to build in; renamed to ``target`` if the block
    succeeds (replacing it with ``replace``), removed if not. A failure leaves ``target`` as it
    was."""
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}."))
    except OSError as error:
        raise HubError(f"Cannot write in {parent}: {error.strerror or error}.") from error
    try:
        yield build
        _usual_modes(build)  # mkdtemp's and mkstemp's 0700/0600 would keep others out
        if target.exists() and not replace and any(target.iterdir()):
            raise HubError(f"{target} appeared while it was being built: nothing was replaced.")
        old = None
        if target.exists():  # moved aside first, and put back if the rename fails
            old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.old.")) / "old"
            os.replace(target, old)
        try:
            os.replace(build, target)
        except OSError:
            if old is not None:
                os.replace(old, target)
            raise
        if old is not None:
            shutil.rmtree(old.parent, ignore_errors=True)
    except OSError as error:
        raise HubError(f"Cannot write {target}: {error.strerror or error}.") from error
    finally:
        if build.exists():
            shutil.rmtree(build, ignore_errors=True)


def _usual_modes(folder: Path) -> None:
    """The modes a plain ``mkdir`` and ``open`` would have given, under the user's umask."""
    umask = os.umask(0)
    os.umask(umask)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~umask)


def _write_json(path: Path, value: Any) -> None:
    path.write_text(json.dumps(value, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _reason(error: Exception) -> str:
    """TensorFlow's first line of reason, without its graph trace."""
    lines = str(getattr(error, "message", error)).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:200]
