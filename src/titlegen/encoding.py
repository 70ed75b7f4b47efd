"""``titlegen encode`` / ``decode``: datasets to GPT-2 tokens and back, like gpt-2-simple's
``encode_dataset`` but reading the title column of titlegen's CSV by name.

Tokens come from tiktoken's BPE (Rust) with ranks built from the model's own ``encoder.json`` and
``vocab.bpe``: the same tokens as gpt-2-simple's pure-Python encoder (the tests compare them on
emoji, CJK, right-to-left text, whitespace runs and the markers), several times faster, and
without importing TensorFlow.

A vocabulary made by ``titlegen new-model`` has both markers as tokens of their own, and those
are special: the text is split on them and each marker becomes its one token, as a
``<|endoftext|>`` does in GPT-2's training data. GPT-2's pre-tokenizer would cut a marker into
``<|``, ``startoftext`` and ``|>``, which no merge can join again, and a model that writes
those pieces one by one can stop half-way and leak them into a title. Other vocabularies (GPT-2's
own has ``<|endoftext|>`` but no start marker) encode the markers as text, as gpt-2-simple does.
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import titlegen.models.download as download
from titlegen import dataset, paths, runs
from titlegen.atomic import atomic_write
from titlegen.errors import TitlegenError

if TYPE_CHECKING:
    import numpy as np

VOCABULARY = ("encoder.json", "vocab.bpe")
PIECE_CHARS = 64_000  # characters encoded together; pieces go to all cores at once
# GPT-2's pre-tokenizer: gpt-2-simple's regex, in tiktoken's spelling of the contractions.
PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
_SAFE_CUT = re.compile(r"\n(?=\S)")  # GPT-2's pre-tokenizer always ends a token after it


@dataclass(frozen=True)
class Encoded:
    tokens: int
    chunks: int
    condition: bool = False  # titles after their subreddit


@functools.cache
def byte_to_char() -> dict[int, str]:
    """GPT-2's ``bytes_to_unicode``: each byte as the printable character encoder.json uses."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    chars, extra = {}, 0
    for byte in range(256):
        if byte in printable:
            chars[byte] = chr(byte)
        else:
            chars[byte] = chr(256 + extra)
            extra += 1
    return chars


class Vocabulary:
    """A model's byte-level BPE: encode as gpt-2-simple does, decode, and each token's bytes.

    tiktoken merges the pair whose joined bytes rank lowest, so a token's rank is the position
    of the merge that made it (after the 256 bytes); ``ids`` maps ranks back to the model's ids.
    tiktoken's own GPT-2 loader cannot be used: it assumes GPT-2's id order, which vocabularies
    made by ``new-model`` do not follow.
    """

    def __init__(self, folder: Path) -> None:
        import numpy as np
        import tiktoken

        try:
            encoder = json.loads((folder / "encoder.json").read_text(encoding="utf-8"))
            lines = (folder / "vocab.bpe").read_text(encoding="utf-8").split("\n")
        except (OSError, ValueError) as error:
            raise TitlegenError(f"{folder} holds no readable GPT-2 vocabulary: {error}.") from error
        char_to_byte = {char: byte for byte, char in byte_to_char().items()}
        try:
            self.token_bytes = [b""] * (max(encoder.values(), default=-1) + 1)
            for token, i in encoder.items():
                self.token_bytes[i] = bytes(char_to_byte[c] for c in token)
            ranks = {bytes([byte]): byte for byte in range(256)}
            ids = [encoder[byte_to_char()[byte]] for byte in range(256)]
            for line in lines[1:]:  # the first line is the format's version
                if not line.strip():
                    continue
                first, second = line.split()
                token = bytes(char_to_byte[c] for c in first + second)
                if token not in ranks:
                    ranks[token] = len(ranks)
                    ids.append(encoder[first + second])
        except (KeyError, ValueError, AttributeError, TypeError) as error:
            raise TitlegenError(
                f"{folder}'s encoder.json and vocab.bpe do not match: {error!r}."
            ) from error
        self.encoder = encoder
        # Special only where the start marker is a token (new-model's vocabularies); tiktoken
        # ranks them after the merges, and ``ids`` maps those ranks to their ids too.
        self.special = marker_tokens(encoder)
        special = {marker: len(ranks) + i for i, marker in enumerate(self.special)}
        ids += self.special.values()
        self.ids = np.asarray(ids, dtype=np.int32)
        self._bpe = tiktoken.Encoding(
            f"titlegen:{folder}", pat_str=PATTERN, mergeable_ranks=ranks, special_tokens=special
        )

    def byte_table(self, size: int) -> list[bytes]:
        """Each id's bytes for ids ``0..size-1``: a model's logits may cover more ids than its
        vocabulary (those have no bytes)."""
        table = self.token_bytes[:size]
        return table + [b""] * (size - len(table))

    def token_id(self, token: str) -> int | None:
        return self.encoder.get(token)

    def encode(self, text: str) -> np.ndarray:
        """GPT-2's tokens for ``text`` (int32), encoded in pieces on all cores.

        The pieces are cut only after a newline followed by a non-space character: GPT-2's
        pre-tokenizer always ends a token there, so the tokens are those of the whole text.
        """
        import numpy as np

        pieces, start = [], 0
        while start < len(text):
            cut = _SAFE_CUT.search(text, start + PIECE_CHARS)
            end = cut.end() if cut else len(text)
            pieces.append(text[start:end])
            start = end
        threads = os.cpu_count() or 1
        if self.special:  # tiktoken splits on the markers, in Rust: as fast as without them
            ranks = self._bpe.encode_batch(pieces, num_threads=threads, allowed_special="all")
        else:
            ranks = self._bpe.encode_ordinary_batch(pieces, num_threads=threads)
        flat = [np.asarray(piece, dtype=np.int64) for piece in ranks]
        return self.ids[np.concatenate(flat)] if flat else np.zeros(0, np.int32)

    def decode(self, tokens) -> str:
        """The text of ``tokens``; bytes that are not valid UTF-8 become U+FFFD, as in
        gpt-2-simple."""
        table = self.token_bytes
        return b"".join(table[int(t)] for t in tokens).decode("utf-8", errors="replace")


def marker_tokens(encoder: dict[str, int]) -> dict[str, int]:
    """The markers that are tokens of their own, with their ids: both of them in a vocabulary
    that has the start marker as a token, none in any other."""
    if dataset.START not in encoder:
        return {}
    return {marker: encoder[marker] for marker in dataset.MARKERS if marker in encoder}


def vocabulary_folder(
    *,
    model: str | None = None,
    model_dir: Path = paths.MODEL_DIR,
    run_name: str | None = None,
    checkpoint_dir: Path = paths.CHECKPOINT_DIR,
) -> Path:
    """The folder whose vocabulary to use: a training run's, or else a base model's."""
    if run_name is not None:
        folder = runs.Run.named(run_name, checkpoint_dir).folder
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


def dataset_text(source: Path, *, condition: bool = True) -> tuple[str, dict]:
    """The text ``titlegen train`` trains on (:func:`titlegen.dataset.frame`: a CSV's titles
    between the markers, after their subreddit with ``condition`` when the CSV names one for
    every title; a text file as it is), and the format that describes it."""
    if source.suffix.lower() == ".csv":
        rows = dataset.read_rows(source)
        condition = condition and dataset.conditionable(rows)
        if condition:
            dataset.check_subreddit_names(rows, source)
        text = "".join(dataset.frame(rows, kind="titles", condition=condition))
        counts = dataset.subreddit_counts(rows)
        return text, {"source": "titles", "condition": condition, "subreddits": counts}
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise TitlegenError(f"{source} does not exist.") from error
    except (OSError, UnicodeDecodeError) as error:
        raise TitlegenError(f"Cannot read {source}: {error}.") from error
    if not text.strip():
        raise TitlegenError(f"{source} is empty.")
    return text, {"source": "text", "condition": False, "subreddits": {}}


def format_file(npz: Path) -> Path:
    """Where ``encode`` says how an .npz's documents are framed (``titles.npz.json``), so that
    ``train`` on the .npz records the run's format, conditioning included. gpt-2-simple reads
    every array of an .npz as tokens, so this cannot live inside it."""
    return npz.with_name(npz.name + ".json")


def encode_file(source: Path, out: Path, folder: Path, *, condition: bool = True) -> Encoded:
    """Encode ``source`` with the vocabulary in ``folder`` into ``out`` (an .npz that
    gpt-2-simple's finetune also reads), framed as ``train`` frames it. One chunk per file, as
    gpt-2-simple makes for a CSV."""
    import json

    import numpy as np

    if out.suffix != ".npz":
        raise TitlegenError(f"The output must be an .npz file, not {out.name}.")
    text, form = dataset_text(source, condition=condition)
    tokens = Vocabulary(folder).encode(text)
    with atomic_write(out, "wb") as f:
        np.savez_compressed(f, tokens)
    with atomic_write(format_file(out), "w", encoding="utf-8") as f:
        f.write(json.dumps({"vocabulary": str(folder), **form}, indent=2) + "\n")
    return Encoded(tokens=int(tokens.size), chunks=1, condition=form["condition"])


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
    vocabulary = Vocabulary(folder)
    size = len(vocabulary.token_bytes)
    for chunk in chunks:
        if chunk.size and (chunk.min() < 0 or chunk.max() >= size):
            raise TitlegenError(
                f"{source} holds token ids outside this vocabulary (0-{size - 1}): was it "
                f"encoded with another model?"
            )
    return "".join(vocabulary.decode(chunk) for chunk in chunks)
