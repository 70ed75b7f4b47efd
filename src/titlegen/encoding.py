"""``titlegen encode`` / ``decode``: datasets to GPT-2 tokens and back, like gpt-2-simple's
``encode_dataset`` but reading the title column of titlegen's CSV by name.

Tokens come from Hugging Face ``tokenizers`` built from the model's own ``encoder.json`` and
``vocab.bpe`` with GPT-2's pre-tokenizer: the same tokens as gpt-2-simple's pure-Python encoder
(the tests compare them), without importing TensorFlow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from titlegen import dataset, download, paths
from titlegen.atomic import atomic_write
from titlegen.errors import TitlegenError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

VOCABULARY = ("encoder.json", "vocab.bpe")
PIECE_CHARS = 64_000  # characters encoded together; pieces go to all cores at once
_SAFE_CUT = re.compile(r"(?<=\n)(?=\S)")  # GPT-2's pre-tokenizer always splits here


@dataclass(frozen=True)
class Encoded:
    tokens: int
    chunks: int


def vocabulary_folder(
    *,
    model: str | None = None,
    model_dir: Path = paths.MODEL_DIR,
    run_name: str | None = None,
    checkpoint_dir: Path = paths.CHECKPOINT_DIR,
) -> Path:
    """The folder whose vocabulary to use: a training run's, or else a base model's."""
    if run_name is not None:
        folder = checkpoint_dir / paths.folder_name(run_name, "--run-name")
        hint = f"train it first with titlegen train --run-name {run_name}"
    else:
        model = model or "124M"
        folder = model_dir / paths.folder_name(model, "--model")
        command = download.how_to_get(model)
        hint = f"run: {command}" if " download " in command else f"create it with {command}"
    missing = [name for name in VOCABULARY if not (folder / name).is_file()]
    if missing:
        raise TitlegenError(f"{folder} has no GPT-2 vocabulary ({', '.join(missing)}): {hint}.")
    return folder


def load_tokenizer(folder: Path) -> Tokenizer:
    """GPT-2's byte-level BPE from ``encoder.json`` and ``vocab.bpe`` in ``folder``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    try:
        bpe = models.BPE.from_file(str(folder / "encoder.json"), str(folder / "vocab.bpe"))
    except Exception as error:  # tokenizers raises plain Exception for unreadable files
        raise TitlegenError(f"{folder} holds no readable GPT-2 vocabulary: {error}.") from error
    tokenizer = Tokenizer(bpe)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    return tokenizer


def dataset_text(source: Path) -> str:
    """The text gpt-2-simple would train on: a CSV's titles, each between the start and end
    markers, or a text file as it is."""
    if source.suffix.lower() == ".csv":
        return "".join(dataset.documents(dataset.read_titles(source)))
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise TitlegenError(f"{source} does not exist.") from error
    except (OSError, UnicodeDecodeError) as error:
        raise TitlegenError(f"Cannot read {source}: {error}.") from error
    if not text.strip():
        raise TitlegenError(f"{source} is empty.")
    return text


def encode(text: str, tokenizer: Tokenizer) -> list[int]:
    """GPT-2's tokens for ``text``, encoded in pieces on all cores.

    The pieces are cut only after a newline that is followed by a non-space character: GPT-2's
    pre-tokenizer always ends a token there, so the tokens are those of the whole text.
    """
    pieces, piece, size = [], [], 0
    for line in _SAFE_CUT.split(text):
        piece.append(line)
        size += len(line)
        if size >= PIECE_CHARS:
            pieces.append("".join(piece))
            piece, size = [], 0
    pieces.append("".join(piece))
    encodings = tokenizer.encode_batch_fast(pieces)  # no offsets: only the ids are needed
    return [token for encoded in encodings for token in encoded.ids]


def encode_file(source: Path, out: Path, folder: Path) -> Encoded:
    """Encode ``source`` with the vocabulary in ``folder`` into ``out`` (an .npz that
    gpt-2-simple's finetune also reads). One chunk per file, as gpt-2-simple makes for a CSV."""
    import numpy as np

    if out.suffix != ".npz":
        raise TitlegenError(f"The output must be an .npz file, not {out.name}.")
    tokens = np.asarray(encode(dataset_text(source), load_tokenizer(folder)), dtype=np.int32)
    with atomic_write(out, "wb") as f:
        np.savez_compressed(f, tokens)
    return Encoded(tokens=int(tokens.size), chunks=1)


def decode_file(source: Path, folder: Path) -> str:
    """The text of an .npz of tokens, its chunks one after the other."""
    import numpy as np

    try:
        with np.load(source) as npz:
            chunks = [npz[name] for name in npz.files]
    except FileNotFoundError as error:
        raise TitlegenError(f"{source} does not exist.") from error
    except (OSError, ValueError) as error:
        raise TitlegenError(f"{source} is not an .npz file of tokens: {error}.") from error
    tokenizer = load_tokenizer(folder)
    size = tokenizer.get_vocab_size()
    for chunk in chunks:
        if chunk.size and (chunk.min() < 0 or chunk.max() >= size):
            raise TitlegenError(
                f"{source} holds token ids outside this vocabulary (0-{size - 1}): was it "
                f"encoded with another model?"
            )
    return "".join(tokenizer.decode(chunk.tolist(), skip_special_tokens=False) for chunk in chunks)
