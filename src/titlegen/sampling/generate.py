"""``titlegen generate``: sample titles from a training run (or a base model).

Samples with ``sampling_graph`` (gpt-2-simple's model and sampling code, so temperature, top-k
and top-p mean exactly what they mean there; top-p wins when both are set; faster: it stops at
the end of the titles), builds that graph once per process and settings instead of on every
call, samples any number of titles in batches, and returns clean titles: cut at the end of the
title (or at a literal ``--truncate`` string), whitespace collapsed. A row where the model began
another document (a start marker, pieces of a marker, or, on a conditioned run, a second
subreddit name) is no title of the one asked for: it is dropped, counted, and sampled again.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import itertools
import json
import math
import random
import re
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import titlegen.models.download as download
import titlegen.sampling.graph as sampling_graph
from titlegen import __version__, dataset, encoding, paths, runs, runtime
from titlegen.atomic import atomic_write
from titlegen.errors import TitlegenError
from titlegen.runs import Format as RunFormat
from titlegen.sampling.novelty import Filter
from titlegen.units import plural

NSAMPLES = 10
BATCH_SIZE = 64  # titles sampled at once (at most --nsamples); gpt-2-simple's default is 1
LENGTH = 64  # tokens at most per title; titles average about 20
MAX_LENGTH = 1023  # GPT-2's context is 1024 tokens
TEMPERATURE = 0.7  # higher is wilder; 0.7-1.0 is the usual range
MIN_TEMPERATURE = 0.001  # below, the logits divided by it overflow float32
RETRIES = 10  # rows sampled per title asked (on average), when titles come out empty or dropped
FORMATS = (".txt", ".csv", ".jsonl")

_WHITESPACE = re.compile(r"\s+")
# Markers, and the pieces of them a model writes where a marker is several tokens ("<|",
# "startoftext", "endoftext|>"), alone or together: taken out of a plain run's text.
_MARKER_PIECES = re.compile(r"(?:<\|)?(?:startoftext|endoftext)(?:\|>)?|<\||\|>")
# Any piece of a marker, even a broken one ("artoftext", "|end"): a titlegen run's row that
# holds one began another document.
_MARKER_TRACES = re.compile(r"<\||\|>|oftext|\|(?:start|end)|text\|")
_BLANKS = " \t\n\r\x0b\x0c"  # space, as the graph's stop matcher counts it (bytes.split())
_WORD = re.compile(f"[^{re.escape(_BLANKS)}]+")


@dataclass(frozen=True)
class SampleOptions:
    nsamples: int = NSAMPLES
    batch_size: int = BATCH_SIZE
    length: int = LENGTH
    temperature: float = TEMPERATURE
    top_k: int = 0  # 0 = off
    top_p: float = 0.0  # 0 = off; when set, it is used instead of top_k (as in gpt-2-simple)
    prefix: str = ""
    truncate: str | None = None  # a literal string; titles always end at <|endoftext|>
    include_prefix: bool = True
    seed: int | None = None
    keywords: str = ""  # "cat, vacuum": titles about them, on a run trained with keywords

    def check(self) -> None:
        if not math.isfinite(self.temperature):
            raise TitlegenError(f"--temperature must be a finite number, not {self.temperature}.")
        if not self.temperature >= MIN_TEMPERATURE:  # 0 would divide the logits by zero
            raise TitlegenError(
                f"--temperature must be at least {MIN_TEMPERATURE}; for the likeliest token "
                "every time use --top-k 1."
            )
        if not 0 <= self.top_p <= 1:
            raise TitlegenError(f"--top-p must be between 0 and 1, not {self.top_p}.")
        if self.top_k < 0:
            raise TitlegenError(f"--top-k must be 0 (off) or more, not {self.top_k}.")
        if self.nsamples < 1 or self.batch_size < 1:
            raise TitlegenError("--nsamples and --batch-size must be at least 1.")
        if not 1 <= self.length <= MAX_LENGTH:
            raise TitlegenError(f"--length must be between 1 and {MAX_LENGTH}, not {self.length}.")

    def ignored(self) -> str | None:
        """An option these options make useless, said in a sentence (or None)."""
        if self.top_k and self.top_p:
            return f"--top-k {self.top_k} is ignored: --top-p is set, and wins as in gpt-2-simple."
        return None


def model_folder(model: str, model_dir: Path = paths.MODEL_DIR) -> Path:
    """A base model to sample from (runs are found by :func:`titlegen.runs.find`)."""
    folder = model_dir / paths.folder_name(model, "--model")
    if not runs.Run(folder).trained:
        raise TitlegenError(
            f"Model {model} is not in {model_dir}/: run {download.how_to_get(model)}."
        )
    return folder


@dataclass(frozen=True)
class Sample:
    title: str
    subreddit: str | None = None  # asked for, or (unasked) the one the model wrote


def subreddits(folder: Path) -> dict[str, int]:
    """The subreddits a run was trained on, with their title counts."""
    form = RunFormat.of(folder)
    if not form.subreddits:
        raise TitlegenError(
            f"{folder.name} records no subreddits: it was trained on a dataset without a "
            "subreddit column, by plain gpt-2-simple, or by an older titlegen."
        )
    return form.subreddits


def resolve_subreddits(folder: Path, names: list[str], *, lister: str = "") -> list[str]:
    """``names`` as the run spells them; an error for a run without conditioning or an
    unknown name (with the closest known ones, or else what lists them: ``lister``)."""
    if not names:
        return []
    form = RunFormat.of(folder)
    if not form.condition:
        raise TitlegenError(
            f"{folder.name} was trained without subreddits, so --subreddit cannot steer it: "
            "train on a CSV with a subreddit column (without --no-condition)."
        )
    by_case = {name.casefold(): name for name in form.subreddits}
    resolved = []
    for name in names:
        known = by_case.get(name.removeprefix("r/").casefold())
        if known is None:
            close = difflib.get_close_matches(name.casefold(), list(by_case), n=3, cutoff=0.5)
            hint = (
                f"did you mean {' or '.join(by_case[c] for c in close)}?"
                if close
                else f"{lister or f'titlegen subreddits --run-name {folder.name}'} lists its "
                f"{len(by_case)} subreddits."
            )
            raise TitlegenError(f"{folder.name} was not trained on r/{name}: {hint}")
        resolved.append(known)
    return resolved


def resolve_keywords(
    folder: Path, text: str, *, form: RunFormat | None = None, name: str = "--keywords"
) -> list[str]:
    """The keywords asked for (``"cat, vacuum"``) as the run's training framed them (lower
    case, no stop words, at most as many as it was trained with); an error on a run trained
    without keywords."""
    if not text:
        return []
    form = form or RunFormat.of(folder)
    if form.keywords is None:
        raise TitlegenError(
            f"{folder.name} was trained without keywords, so {name} cannot steer it: train a "
            "run with titlegen train --keywords."
        )
    return form.keywords.asked(text)


def spread(nsamples: int, subreddits: list[str]) -> list[tuple[str | None, int]]:
    """``nsamples`` shared as evenly as possible among ``subreddits`` (or one unnamed share)."""
    if not subreddits:
        return [(None, nsamples)]
    share, extra = divmod(nsamples, len(subreddits))
    counts = [(name, share + (i < extra)) for i, name in enumerate(subreddits)]
    return [(name, n) for name, n in counts if n]


@dataclass(frozen=True)
class Row:
    """One title being sampled: what may differ between the rows of one batch."""

    prompt: tuple[int, ...]  # the tokens it starts from, at least one
    seed: int  # the row's own random stream, 0 to 2**64 - 1 (see row_seed)
    temperature: float
    length: int  # tokens to sample at most


@dataclass(frozen=True)
class Kind:
    """What rows must share to be sampled in one batch. top-k and top-p are fed to the graph;
    one graph is built per ``truncate`` and ``cut_after`` (and shared start, see ``_head``)."""

    top_k: int
    top_p: float
    truncate: str | None
    cut_after: int  # words a --truncate match must start after; 1 without --truncate


def row_seed(seed: int, slot: int, attempt: int) -> int:
    """The random stream of a title's ``attempt``-th row: from the request's seed and the
    title's place in it only, so a title is the same however rows were batched."""
    digest = hashlib.blake2b(f"{seed}/{slot}/{attempt}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


class Generator:
    """A model loaded once, with its sampling graphs built once (see :class:`Kind`).

    ``sample`` samples any rows of one kind, each from its own prompt and seed, in one batch;
    ``generate`` makes titles of them (:class:`Job`). ``titlegen serve`` batches the rows of
    many requests into one ``sample`` call.
    """

    def __init__(self, folder: Path) -> None:
        tf = runtime.tensorflow()
        from gpt_2_simple.src import model

        self.folder = folder
        self.format = RunFormat.of(folder)
        self.titles = self.format.titles
        self.vocabulary = encoding.Vocabulary(folder)
        self.end_token = self.vocabulary.token_id(dataset.END)
        # Every prompt of a titlegen run starts with these: run once per batch, then shared.
        self.start_tokens = tuple(self.vocabulary.encode(dataset.START).tolist())
        self.hparams = model.default_hparams()
        self.hparams.override_from_dict(runs.read_hparams(folder))
        self.checkpoint = runs.Run(folder).checkpoint()  # the latest complete one
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.samplers: dict[tuple, Any] = {}
        self.ran: set[tuple] = set()  # samplers run at least once
        self.restarts = 0  # rows dropped: the model began another document

    def close(self) -> None:
        self.session.close()

    def generate(
        self,
        options: SampleOptions,
        subreddits: list[str] = (),
        keep: Filter | None = None,
    ) -> list[Sample]:
        """``options.nsamples`` titles, spread evenly over ``subreddits`` (for a conditioned
        run); with ``keep``, only titles it admits, sampling on until there are enough.
        Rows are sampled ``options.batch_size`` at a time."""
        job = self.job(options, subreddits, keep)
        while not job.done:
            rows = job.round()
            tokens = []
            for at in range(0, len(rows), options.batch_size):
                tokens += self.sample(rows[at : at + options.batch_size], job.kind)
            job.take(tokens)
        self.restarts += job.restarts
        return job.samples()

    def job(
        self, options: SampleOptions, subreddits: list[str] = (), keep: Filter | None = None
    ) -> Job:
        """The titles ``options`` ask for, as a :class:`Job` to be sampled."""
        options.check()
        if subreddits:
            slots: list[str | None] = [
                n for n, count in spread(options.nsamples, list(subreddits)) for _ in range(count)
            ]
        else:
            slots = self._draw(options) or [None] * options.nsamples
        return Job(self, options, slots, keep or Filter())

    def sample(self, rows: list[Row], kind: Kind) -> list[list[int]]:
        """Each row's sampled tokens (its prompt not included), in one batch per shared start."""
        import numpy as np

        heads: dict[tuple[int, ...], list[int]] = {}
        for at, row in enumerate(rows):
            heads.setdefault(self._head(row.prompt), []).append(at)
        out: list[list[int]] = [[] for _ in rows]
        for head, picked in heads.items():
            given, tokens, key = self._sampler(kind, prefilled=bool(head))
            tails = [rows[at].prompt[len(head) :] for at in picked]
            width = max(len(tail) for tail in tails)
            feed = {
                given.head: [head],
                given.tails: [[*tail, *[0] * (width - len(tail))] for tail in tails],
                given.lengths: [len(tail) for tail in tails],
                given.limits: [rows[at].length for at in picked],
                given.temperatures: [rows[at].temperature for at in picked],
                given.seeds: np.array([rows[at].seed for at in picked], np.uint64).view(np.int64),
                given.top_k: kind.top_k,
                given.top_p: kind.top_p,
            }
            # The first run of a graph is where TensorFlow's C++ logs oneDNN's kernel choices.
            with runtime.native_logs_muted(key not in self.ran):
                self.ran.add(key)
                sampled = self.session.run(tokens, feed)
            for at, tail, row in zip(picked, tails, sampled, strict=True):
                out[at] = row[len(tail) : len(tail) + rows[at].length].tolist()
        return out

    def _head(self, prompt: tuple[int, ...]) -> tuple[int, ...]:
        """The start a prompt shares with every prompt of the run, if it has more after it."""
        start = self.start_tokens if self.titles else ()
        if len(prompt) > len(start) and prompt[: len(start)] == start:
            return start
        return ()

    def _picks_subreddits(self, options: SampleOptions) -> bool:
        """Whether a title needs a subreddit the user did not name: a conditioned run's prompt
        is <|startoftext|>NAME TITLE, so a prefix right after the marker is read as the name
        (and the model's first word taken for the subreddit glues onto it)."""
        return bool(options.prefix) and self.format.condition and bool(self.format.subreddits)

    def keywords(self, options: SampleOptions) -> list[str]:
        """The keywords asked for, as training framed them (an error on a run without)."""
        return resolve_keywords(self.folder, options.keywords, form=self.format)

    def _draw(self, options: SampleOptions) -> list[str]:
        """A subreddit for each title, each as likely as its share of the run's training
        titles (seeded by --seed: the same seed draws the same), if titles need one."""
        if not self._picks_subreddits(options):
            return []
        counts = self.format.subreddits
        draw = random.Random(options.seed)
        return draw.choices(list(counts), weights=list(counts.values()), k=options.nsamples)

    def _context(
        self, prefix: str, subreddit: str | None = None, keywords: list[str] | None = None
    ) -> list[int]:
        """The prompt's tokens; with none, GPT-2's document separator, as gpt-2-simple does.
        A keyword run's prompt starts with its keyword field, ``cat,vacuum ~ `` (empty
        without keywords: any title, as the run was trained for a share of its titles)."""
        text = dataset.START if self.titles else ""
        # No space after the name without a prefix: in training the space starts the title's
        # first token, and a lone trailing space is a token the model never saw.
        if subreddit is not None:
            rest = subreddit + (dataset.SUBREDDIT_END + prefix if prefix else "")
        else:
            rest = prefix
        form = self.format.keywords
        if form is not None:
            field = form.field(keywords or [])
            text += (field if rest else field.rstrip(" ")) + rest  # the same space rule
        else:
            text += rest
        return self.vocabulary.encode(text).tolist() if text else [self.end_token]

    def _sampler(self, kind: Kind, *, prefilled: bool) -> tuple[Any, Any, tuple]:
        import tensorflow as tf

        # top-k and top-p are fed: a graph per value would grow without end under serve.
        key = (kind.truncate, kind.cut_after, prefilled)
        if key not in self.samplers:
            with self.graph.as_default():
                given = sampling_graph.inputs()
                tokens = sampling_graph.build(
                    hparams=self.hparams,
                    given=given,
                    stops=[stop.encode() for stop in self._stops(kind.truncate)],
                    vocabulary=self.vocabulary.byte_table(self.hparams.n_vocab),
                    cuts=[kind.truncate.encode()] if kind.truncate else [],
                    cut_after=kind.cut_after,
                    prefilled=prefilled,
                )
                if not self.samplers:  # the first sampler creates the model's variables
                    self._restore(tf.compat.v1.train.Saver())
            self.samplers[key] = (given, tokens)
        return (*self.samplers[key], key)

    def _restore(self, saver: Any) -> None:
        self.checkpoint = runs.Run(self.folder).restore_latest(saver, self.session)

    def _stops(self, truncate: str | None) -> list[str]:
        """Where a row ends, wherever they occur: the end marker (unless a plain run is cut
        with --truncate instead), and for a titlegen run the start marker too, since its
        titles are trained as <|startoftext|>TITLE<|endoftext|>: a start marker means the
        model began another document (an undertrained one may skip the end marker)."""
        if self.titles:
            return [dataset.END, dataset.START]
        return [] if truncate else [dataset.END]

    def _cut_after(self, options: SampleOptions, subreddit: str | None) -> int:
        """How many words of a row a --truncate match must start after: a title has begun
        once its first non-space character is written (a conditioned title starts with a
        space), so 0 after an included prefix, 2 where the model first writes the subreddit."""
        if options.include_prefix and options.prefix.strip():
            return 0
        return 2 if self.format.condition and subreddit is None else 1

    def _sample(
        self, tokens: list[int], options: SampleOptions, subreddit: str | None
    ) -> Sample | None:
        """The title in a row of sampled tokens, or None where the model began another
        document."""
        text, restarted = self._row_text(self.vocabulary.decode(tokens), options, subreddit)
        if self.titles and (restarted or _MARKER_TRACES.search(text)):
            return None
        if self._began_keywords(text):
            return None  # another document's keyword field, where the title should be
        if self.format.condition and subreddit is None:
            # Unasked, the model writes the subreddit itself, the first word: NAME TITLE.
            name, _, text = text.lstrip(_BLANKS).partition(dataset.SUBREDDIT_END)
            subreddit = name if name in self.format.subreddits else None
        if self.format.condition and not options.prefix and self._named(text):
            return None  # a name where the title begins: another document's
        if options.include_prefix:
            text = options.prefix + text
        # U+FFFD: the bytes of a character the row ended in the middle of (at --length).
        text = _MARKER_PIECES.sub(" ", text).replace("\ufffd", "")
        return Sample(_WHITESPACE.sub(" ", text).strip(), subreddit)

    def _row_text(
        self, text: str, options: SampleOptions, subreddit: str | None
    ) -> tuple[str, bool]:
        """``text`` up to where the graph ended its row (the other rows of a batch may go on
        sampling), and whether that was at a start marker: the first stop string, or
        --truncate match that starts after the title's first word began."""
        ends = []  # (where the match ends, where it starts, whether a document began there)
        for stop in self._stops(options.truncate):
            at = text.find(stop)
            if at >= 0:
                ends.append((at + len(stop), at, stop == dataset.START))
        if options.truncate:
            at = _find_after_words(text, options.truncate, self._cut_after(options, subreddit))
            if at >= 0:
                ends.append((at + len(options.truncate), at, False))
        if not ends:
            return text, False
        _, at, restarted = min(ends)
        return text[:at], restarted

    def _began_keywords(self, text: str) -> bool:
        """Whether a keyword run's row holds the keywords' separator (`` ~ ``) or starts with
        its mark: the model wrote a keyword field (another document's) instead of a title."""
        form = self.format.keywords
        mark = form.then.strip(_BLANKS) if form is not None else ""
        if form is None or not mark:
            return False
        return form.then in text or text.lstrip(_BLANKS).startswith(mark)

    def _named(self, text: str) -> bool:
        """Whether ``text`` begins with one of the run's subreddit names (exact case) and a
        space, as a document does."""
        first, space, _ = text.lstrip(_BLANKS).partition(dataset.SUBREDDIT_END)
        return bool(space) and first in self.format.subreddits


class Job:
    """The titles of one request: a slot per title, each sampled until it holds a title (a
    row is dropped where the model began another document, or where ``keep`` refuses it).

    Rows come in rounds, one per open slot, and a round is taken back whole, in slot order:
    the titles depend on the options and the seed only, not on how the rounds were cut into
    batches or shared a batch with other requests' rows.
    """

    def __init__(
        self, generator: Generator, options: SampleOptions, slots: list[str | None], keep: Filter
    ) -> None:
        self.generator, self.options, self.slots, self.keep = generator, options, slots, keep
        self.seed = secrets.randbits(63) if options.seed is None else options.seed
        cut_after = generator._cut_after(options, slots[0]) if options.truncate else 1
        # k at or above the vocabulary's size keeps every token: the same as no top-k.
        top_k = options.top_k if options.top_k < generator.hparams.n_vocab else 0
        self.kind = Kind(top_k, options.top_p, options.truncate, cut_after)
        self.keywords = generator.keywords(options)
        prompts = {
            name: tuple(generator._context(options.prefix, name, self.keywords))
            for name in set(slots)
        }
        self.prompts = [prompts[name] for name in slots]
        if MAX_LENGTH - max(len(prompt) for prompt in prompts.values()) < 1:
            raise TitlegenError("--prefix is too long: it leaves no room to generate.")
        self.found: list[Sample | None] = [None] * len(slots)
        self.attempts = [0] * len(slots)
        self.open = list(range(len(slots)))  # slots without a title yet
        self.restarts = 0  # rows dropped: the model began another document

    @property
    def done(self) -> bool:
        return not self.open

    def round(self) -> list[Row]:
        """A row for each open slot."""
        o = self.options
        return [
            Row(
                prompt=self.prompts[slot],
                seed=row_seed(self.seed, slot, self.attempts[slot]),
                temperature=o.temperature,
                length=min(o.length, MAX_LENGTH - len(self.prompts[slot])),
            )
            for slot in self.open
        ]

    def take(self, tokens: list[list[int]]) -> None:
        """The sampled tokens of the last round's rows, in its order."""
        for slot, row in zip(self.open, tokens, strict=True):
            self.attempts[slot] += 1
            sample = self.generator._sample(row, self.options, self.slots[slot])
            if sample is None:
                self.restarts += 1
            elif sample.title and self.keep.admit(sample.title):
                self.found[slot] = sample
        self.open = [slot for slot in self.open if self.found[slot] is None]
        tries = sum(self.attempts)
        if self.open and tries >= RETRIES * len(self.slots):  # a budget the slots share
            found = len(self.slots) - len(self.open)
            raise TitlegenError(_shortfall(found, len(self.slots), tries, self.keep, self.restarts))

    def samples(self) -> list[Sample]:
        return [sample for sample in self.found if sample is not None]


def _find_after_words(text: str, needle: str, words: int) -> int:
    """Where ``needle`` first occurs in ``text`` after the ``words``-th word began (-1 if
    nowhere), as the graph's stop matcher finds a cut: a word is a run of non-space."""
    if words == 0:
        return text.find(needle)
    begins = [word.start() for word in itertools.islice(_WORD.finditer(text), words)]
    return text.find(needle, begins[-1] + 1) if len(begins) == words else -1


def restarts_summary(count: int) -> str:
    """How many rows were dropped because the model began another document, as a sentence."""
    return f"Dropped {plural(count, 'title')} where the model began another document."


def _shortfall(found: int, wanted: int, tries: int, keep: Filter, restarts: int = 0) -> str:
    if keep.copies or keep.repeats:
        return (
            f"Only {found} of {wanted} titles were new after {tries} tries "
            f"({keep.summary().removeprefix('Dropped ').rstrip('.')} dropped): the model mostly "
            "copies; raise --temperature, or train less (--keep-best stops where it still "
            "generalises)."
        )
    began = f", and {restarts} rows where it began another document" if restarts else ""
    return (
        f"The model produced only {found} non-empty titles in {tries} tries{began}: train it more."
    )


def records(samples: list[Sample], folder: Path, options: SampleOptions) -> list[dict]:
    """Each title with its subreddit and what made it, marked synthetic as the seed project
    recommends."""
    made_by = {"synthetic": True, "generator": f"titlegen {__version__}", "model": str(folder)}
    settings = {k: v for k, v in asdict(options).items() if k not in ("nsamples", "batch_size")}
    # subreddit, title first: the two columns of a dataset (fetch's CSV), in its order
    return [
        {"subreddit": s.subreddit or "", "title": s.title, **made_by, **settings} for s in samples
    ]


def check_output(out: Path) -> None:
    if out.suffix.lower() not in FORMATS:
        raise TitlegenError(f"-o must end in {', '.join(FORMATS)}, not {out.name}.")


def write(rows: list[dict], out: Path) -> None:
    """Write records as .txt (titles only), .csv or .jsonl, atomically."""
    check_output(out)
    suffix = out.suffix.lower()
    with atomic_write(out, "w", encoding="utf-8", newline="") as f:
        if suffix == ".txt":
            f.writelines(row["title"] + "\n" for row in rows)
        elif suffix == ".jsonl":
            f.writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        else:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
