"""``titlegen new-model``: an untrained GPT-2 in the layout gpt-2-simple reads.

It writes ``hparams.json``, a byte-level BPE vocabulary trained on the dataset in GPT-2's own
format (``encoder.json`` and ``vocab.bpe``), and a TensorFlow checkpoint initialised the way
GPT-2 is. Small models train in minutes on a CPU, so this is the offline starting point for
``make demo`` and the tests, and a way to train a title model from scratch.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from titlegen import dataset, paths, runtime
from titlegen.errors import TitlegenError

LAYERS = 4  # transformer blocks; 124M has 12
EMBD = 256  # width of the residual stream; 124M has 768. Must divide by HEADS.
HEADS = 4  # attention heads
VOCAB_SIZE = 2048  # BPE tokens, the two markers included; a small corpus may give fewer
N_CTX = 1024  # gpt-2-simple always trains on 1024-token windows, so keep GPT-2's context
SEED = 0


@dataclass(frozen=True)
class Shape:
    layers: int = LAYERS
    embd: int = EMBD
    heads: int = HEADS
    vocab_size: int = VOCAB_SIZE

    def check(self) -> None:
        if min(self.layers, self.embd, self.heads) < 1:
            raise TitlegenError("--layers, --embd and --heads must be at least 1.")
        if self.embd % self.heads:
            raise TitlegenError(
                f"--embd ({self.embd}) must be a multiple of --heads ({self.heads})."
            )
        if self.vocab_size < 256 + len(dataset.MARKERS):
            raise TitlegenError(
                "--vocab-size must be at least 258 (256 bytes and the two markers)."
            )


def create(
    name: str,
    source: Path,
    *,
    model_dir: Path = paths.MODEL_DIR,
    shape: Shape = Shape(),
    seed: int = SEED,
    overwrite: bool = False,
) -> dict:
    """Create ``model_dir/name`` from the titles in ``source``; returns its hparams.

    The model is built in a temporary folder and moved into place at the end, so a failure
    leaves nothing behind, and an existing model is replaced only with ``overwrite``.
    """
    shape.check()
    folder = model_dir / paths.folder_name(name, "NAME")
    if folder.exists() and not overwrite:
        raise TitlegenError(f"{folder} already exists: choose another name or pass --overwrite.")
    rows = dataset.read_rows(source)  # subreddit names join the vocabulary
    texts = unmarked(dataset.documents(rows, condition=dataset.conditionable(rows)))
    model_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=model_dir, prefix=f".{name}.") as tmp:
        build = Path(tmp)
        encoder, merges = train_vocabulary(texts, shape.vocab_size)
        write_vocabulary(build, encoder, merges)
        hparams = {
            "n_vocab": len(encoder),
            "n_ctx": N_CTX,
            "n_embd": shape.embd,
            "n_head": shape.heads,
            "n_layer": shape.layers,
        }
        (build / "hparams.json").write_text(json.dumps(hparams, indent=2) + "\n")
        write_checkpoint(build, hparams, seed=seed)
        if folder.exists():
            shutil.rmtree(folder)
        build.rename(folder)
        build.mkdir()  # for TemporaryDirectory's cleanup
    return hparams


def unmarked(documents: list[str]) -> list[str]:
    """The text of ``documents`` between their markers, as ``encoding.Vocabulary`` encodes it:
    the markers are tokens of their own, so no merge is spent on their pieces."""
    split = re.compile("|".join(re.escape(marker) for marker in dataset.MARKERS))
    return [part for document in documents for part in split.split(document) if part]


def train_vocabulary(texts: list[str], vocab_size: int) -> tuple[dict[str, int], list[str]]:
    """A byte-level BPE vocabulary in GPT-2's format: token -> id, and the merges in rank order.

    Uses GPT-2's pre-tokenizer (its regex, no prefix space) and byte alphabet, so gpt-2-simple's
    own encoder reads the result. The markers are added last, each a single token (GPT-2's
    encoder.json ends with its end marker too); merges cannot make them, since the
    pre-tokenizer cuts them into pieces, so ``encoding.Vocabulary`` treats them as special.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(dataset.MARKERS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    state = json.loads(tokenizer.to_str())["model"]
    encoder = dict(sorted(state["vocab"].items(), key=lambda item: item[1]))
    for marker in dataset.MARKERS:  # the end marker last, as in GPT-2's (its 50256)
        encoder[marker] = len(encoder)
    merges = [m if isinstance(m, str) else " ".join(m) for m in state["merges"]]
    return encoder, merges


def write_vocabulary(folder: Path, encoder: dict[str, int], merges: list[str]) -> None:
    # UTF-8 whatever the locale: gpt-2-simple and encoding.Vocabulary read them as UTF-8.
    (folder / "encoder.json").write_text(json.dumps(encoder, ensure_ascii=False), encoding="utf-8")
    # gpt-2-simple skips the first line (the version) and the last (empty after the newline)
    merges_text = "#version: 0.2\n" + "".join(m + "\n" for m in merges)
    (folder / "vocab.bpe").write_text(merges_text, encoding="utf-8")


def write_checkpoint(folder: Path, hparams: dict, *, seed: int) -> None:
    """A TensorFlow checkpoint of GPT-2 with fresh weights, as gpt-2-simple's graph names them."""
    tf = runtime.tensorflow()  # first, so that gpt-2-simple's own import of it is a quiet one
    from gpt_2_simple.src import model

    params = model.default_hparams()
    params.override_from_dict(hparams)
    graph = tf.Graph()
    with graph.as_default():
        tf.compat.v1.set_random_seed(seed)
        tokens = tf.compat.v1.placeholder(tf.int32, [1, None])
        model.model(hparams=params, X=tokens)
        saver = tf.compat.v1.train.Saver(save_relative_paths=True)
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(folder / "model.ckpt"))
