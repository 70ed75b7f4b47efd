"""A dataset made ready to train on: split, framed into documents, encoded, and served as
windows in an order that changes every pass.

gpt-2-simple shuffles nothing: it cuts random windows from the text as it is. titlegen's titles
were shuffled once, so every window of every pass saw the same neighbours and a small model
learned the order (its training loss fell far below its loss on the same titles in another
order). Here each pass over the data takes the titles in a new order, drawn from the seed and
the pass number, so the same seed gives the same batches and a resumed run goes on with the
pass and place where its checkpoint was saved.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from titlegen import dataset, encoding
from titlegen.errors import TitlegenError
from titlegen.units import plural

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Data:
    """A dataset ready to train on."""

    train: list[str]  # the training documents (titles framed), or one text / no text (npz)
    train_tokens: int  # tokens in one pass over them
    val: np.ndarray  # validation tokens, in the dataset's order; empty without validation
    rows: list[dataset.Row]  # every title, for the run's titles.csv (none for an .npz)
    held_out: list[dataset.Row]  # the validation titles among them
    condition: bool
    kind: str  # titles (a CSV), text or npz
    npz: np.ndarray | None = None  # an .npz's tokens
    framing: str = ""  # how the documents look: titles or text (an .npz: as encode says)
    subreddits: dict[str, int] = field(default_factory=dict)  # titles per subreddit
    keywords: dataset.Keywords | None = None  # how titles got their keywords, if they did


def kind_of(source: Path) -> str:
    if source.suffix == ".npz":
        return "npz"
    return "titles" if source.suffix.lower() == ".csv" else "text"


def prepare(
    source: Path,
    vocabulary: encoding.Vocabulary,
    *,
    condition: bool,
    keywords: dataset.Keywords | None = None,
    val_fraction: float,
    split_seed: int,
    window: int,
) -> Data:
    """Split ``source`` by ``split_seed``, frame its titles as the run's documents (with the
    subreddit when ``condition`` and the CSV names one for every title, and their
    ``keywords``) and encode them."""
    import numpy as np

    kind = kind_of(source)
    if keywords is not None and kind != "titles":
        raise TitlegenError(
            f"--keywords frames titles, and {source} is not a title dataset (a CSV from "
            "titlegen fetch): train on the CSV, or leave out --keywords."
        )
    if kind == "npz":
        tokens = npz_tokens(source, len(vocabulary.token_bytes))
        form = _npz_format(source)
        data = Data(
            [],
            len(tokens),
            tokens[:0],
            [],
            [],
            bool(form.get("condition")),
            kind,
            tokens,
            framing=form.get("source", "npz"),
            subreddits=dict(form.get("subreddits") or {}),
        )
    else:
        rows = dataset.read_rows(source)
        condition = condition and kind == "titles" and dataset.conditionable(rows)
        if condition:
            dataset.check_subreddit_names(rows, source)
        train_rows, val_rows = dataset.split(rows, val_fraction, split_seed)
        if not train_rows:
            raise TitlegenError(f"{source} has too few titles to hold any out: --val-fraction 0.")
        docs = dataset.frame(train_rows, kind=kind, condition=condition, keywords=keywords)
        val = dataset.frame(val_rows, kind=kind, condition=condition, keywords=keywords)
        data = Data(
            docs,
            len(vocabulary.encode("".join(docs))),
            vocabulary.encode("".join(val)) if val else np.zeros(0, np.int32),
            rows,
            val_rows,
            condition,
            kind,
            framing=kind,
            subreddits=dataset.subreddit_counts(rows),
            keywords=keywords,
        )
    if data.train_tokens <= window:
        raise TitlegenError(
            f"{source} has {plural(data.train_tokens, 'token')} to train on, but training "
            f"samples {window}-token windows: give it more text "
            f"(about {_titles_needed(data, window)} more titles)."
        )
    return data


def npz_tokens(source: Path, vocabulary_size: int) -> np.ndarray:
    """The tokens of an .npz (its arrays one after the other), checked against the vocabulary."""
    import numpy as np

    try:
        with np.load(source, allow_pickle=False) as npz:
            chunks = [npz[name] for name in npz.files]
    except FileNotFoundError as error:
        raise TitlegenError(f"{source} does not exist.") from error
    except (OSError, ValueError, EOFError) as error:
        raise TitlegenError(f"{source} is not an .npz file of tokens: {error}.") from error
    if any(not np.issubdtype(chunk.dtype, np.integer) for chunk in chunks):
        raise TitlegenError(f"{source} holds numbers that are not token ids (not integers).")
    tokens = np.concatenate([c.ravel() for c in chunks]).astype(np.int32) if chunks else None
    if tokens is None or tokens.size == 0:
        raise TitlegenError(f"{source} holds no tokens.")
    if tokens.min() < 0 or tokens.max() >= vocabulary_size:
        raise TitlegenError(
            f"{source} holds token ids outside this model's vocabulary (0-{vocabulary_size - 1}):"
            " encode the dataset with the run's model (titlegen encode --model ...)."
        )
    return tokens


def _npz_format(source: Path) -> dict:
    """How ``titlegen encode`` framed an .npz (its ``.npz.json``); an .npz from elsewhere is
    plain tokens."""
    import json

    path = encoding.format_file(source)
    try:
        form = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise TitlegenError(f"{path} is damaged ({error}): encode the dataset again.") from error
    return form if isinstance(form, dict) else {}


def _titles_needed(data: Data, window: int) -> str:
    if not data.rows:
        return "a few dozen"
    per_title = max(data.train_tokens, 1) / max(len(data.rows) - len(data.held_out), 1)
    return f"{int((window + 1 - data.train_tokens) / per_title) + 1:,}"


class Stream:
    """Training windows, one after the other through each pass over the data.

    A pass over titles takes them in an order drawn from ``(seed, pass)``; a text file or an
    .npz keeps its order (it may be prose), and each pass starts at a point drawn the same way.
    ``position`` (pass, offset) is recorded with each checkpoint, so a resumed run goes on from
    where the checkpoint was.
    """

    def __init__(
        self,
        data: Data,
        vocabulary: encoding.Vocabulary,
        *,
        seed: int,
        window: int,
        position: tuple[int, int] = (0, 0),
    ) -> None:
        self.data, self.vocabulary = data, vocabulary
        self.seed, self.window = seed & 0xFFFFFFFF, window
        self.pass_number, self.offset = position
        self._tokens = self._pass(self.pass_number)

    @property
    def position(self) -> tuple[int, int]:
        return self.pass_number, self.offset

    def windows(self, count: int) -> np.ndarray:
        """``count`` windows, ``[count, window]``."""
        import numpy as np

        need = count * self.window
        parts = []
        while need:
            if self.offset >= len(self._tokens):
                self.pass_number, self.offset = self.pass_number + 1, 0
                self._tokens = self._pass(self.pass_number)
            part = self._tokens[self.offset : self.offset + need]
            parts.append(part)
            self.offset += len(part)
            need -= len(part)
        return np.concatenate(parts).reshape(count, self.window)

    def _pass(self, number: int) -> np.ndarray:
        import numpy as np

        rng = np.random.default_rng([self.seed, number])
        if self.data.kind == "titles":
            order = rng.permutation(len(self.data.train))
            return self.vocabulary.encode("".join(self.data.train[i] for i in order))
        return np.roll(self._in_order, -int(rng.integers(len(self._in_order))))

    @functools.cached_property
    def _in_order(self) -> np.ndarray:
        if self.data.npz is not None:
            return self.data.npz
        return self.vocabulary.encode("".join(self.data.train))
