"""``titlegen generate``: sample titles from a training run (or a base model).

Samples with ``sampling_graph`` (gpt-2-simple's model and sampling code, so temperature, top-k
and top-p mean exactly what they mean there; top-p wins when both are set; faster: it stops at
the end of the titles), builds that graph once per process and settings instead of on every
call, samples any number of titles in batches, and returns clean titles: the markers removed,
cut at the end of the title (or at a literal ``--truncate`` string), whitespace collapsed.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from titlegen import __version__, dataset, download, encoding, paths, runtime, sampling_graph
from titlegen.atomic import atomic_write
from titlegen.errors import TitlegenError

NSAMPLES = 10
BATCH_SIZE = 64  # titles sampled at once (at most --nsamples); gpt-2-simple's default is 1
LENGTH = 64  # tokens at most per title; titles average about 20
MAX_LENGTH = 1023  # GPT-2's context is 1024 tokens
TEMPERATURE = 0.7  # higher is wilder; 0.7-1.0 is the usual range
EMPTY_RETRIES = 10  # batches allowed per batch needed, when samples come out empty
FORMATS = (".txt", ".csv", ".jsonl")

_WHITESPACE = re.compile(r"\s+")
_LEADING_STARTS = re.compile(r"^(?:\s*" + re.escape(dataset.START) + r")+")
# Markers, and the pieces of them an undertrained model emits ("<|", "startoftext|>").
_MARKER_PIECES = re.compile(r"<\|(?:startoftext|endoftext)?(?:\|>)?|(?:startoftext|endoftext)?\|>")


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

    def check(self) -> None:
        if self.temperature <= 0:
            raise TitlegenError(f"--temperature must be above 0, not {self.temperature}.")
        if not 0 <= self.top_p <= 1:
            raise TitlegenError(f"--top-p must be between 0 and 1, not {self.top_p}.")
        if self.top_k < 0:
            raise TitlegenError(f"--top-k must be 0 (off) or more, not {self.top_k}.")
        if self.nsamples < 1 or self.batch_size < 1:
            raise TitlegenError("--nsamples and --batch-size must be at least 1.")
        if not 1 <= self.length <= MAX_LENGTH:
            raise TitlegenError(f"--length must be between 1 and {MAX_LENGTH}, not {self.length}.")


def find_folder(
    *,
    run_name: str | None = None,
    checkpoint_dir: Path = paths.CHECKPOINT_DIR,
    model: str | None = None,
    model_dir: Path = paths.MODEL_DIR,
) -> Path:
    """The run (or, with ``model``, the base model) to sample from."""
    if model is not None:
        folder = model_dir / paths.folder_name(model, "--model")
        if not (folder / "checkpoint").is_file():
            raise TitlegenError(
                f"Model {model} is not in {model_dir}/: run {download.how_to_get(model)}."
            )
        return folder
    run_name = run_name or "run1"
    folder = checkpoint_dir / paths.folder_name(run_name, "--run-name")
    if not (folder / "checkpoint").is_file():
        raise TitlegenError(
            f"There is no trained run {run_name} in {checkpoint_dir}/: train one "
            f"with titlegen train DATASET --run-name {run_name}."
        )
    return folder


def titles_format(folder: Path) -> bool:
    """Whether the run was trained on titles framed by the start and end markers."""
    record = folder / "titlegen.json"
    try:
        return json.loads(record.read_text())["format"]["source"] == "titles"
    except (OSError, ValueError, KeyError, TypeError):
        return False  # a plain gpt-2-simple run or a base model


class Generator:
    """A model loaded once, with a sampling graph built once per set of sampling settings."""

    def __init__(self, folder: Path) -> None:
        tf = runtime.tensorflow()
        from gpt_2_simple.src import model

        self.folder = folder
        self.titles = titles_format(folder)
        self.vocabulary = encoding.Vocabulary(folder)
        self.end_token = self.vocabulary.token_id(dataset.END)
        self.hparams = model.default_hparams()
        self.hparams.override_from_dict(json.loads((folder / "hparams.json").read_text()))
        self.checkpoint = tf.train.latest_checkpoint(str(folder))
        if self.checkpoint is None:
            raise TitlegenError(f"{folder} holds no checkpoint.")
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        self.samplers: dict[tuple, Any] = {}

    def close(self) -> None:
        self.session.close()

    def generate(self, options: SampleOptions) -> list[str]:
        options.check()
        options = replace(options, batch_size=min(options.batch_size, options.nsamples))
        context = self._context(options.prefix)
        length = min(options.length, MAX_LENGTH - len(context))
        if length < 1:
            raise TitlegenError("--prefix is too long: it leaves no room to generate.")
        run = self._sampler(options, length)
        titles: list[str] = []
        batches = math.ceil(options.nsamples / options.batch_size)
        for _ in range(batches * EMPTY_RETRIES):
            out = run(context)
            for row in out:
                title = self._title(row[len(context) :].tolist(), options)
                if title:
                    titles.append(title)
            if len(titles) >= options.nsamples:
                return titles[: options.nsamples]
        raise TitlegenError(
            f"The model produced only {len(titles)} non-empty titles in "
            f"{batches * EMPTY_RETRIES} batches: train it longer."
        )

    def _context(self, prefix: str) -> list[int]:
        """The prompt's tokens; with none, GPT-2's document separator, as gpt-2-simple does."""
        text = (dataset.START if self.titles else "") + prefix
        return self.vocabulary.encode(text).tolist() if text else [self.end_token]

    def _sampler(self, options: SampleOptions, length: int):
        import numpy as np
        import tensorflow as tf

        settings = sampling_graph.Settings(
            options.batch_size, length, options.temperature, options.top_k, options.top_p
        )
        key = (settings, options.truncate, options.seed)
        if key not in self.samplers:
            with self.graph.as_default():
                tf.compat.v1.set_random_seed(options.seed)
                context = tf.compat.v1.placeholder(tf.int32, [options.batch_size, None])
                tokens = sampling_graph.build(
                    hparams=self.hparams,
                    context=context,
                    settings=settings,
                    stops=[stop.encode() for stop in self._stops(options)],
                    vocabulary=self._token_bytes(),
                    openers=[dataset.START.encode()] if self.titles else [],
                )
                if not self.samplers:  # the first sampler creates the model's variables
                    tf.compat.v1.train.Saver().restore(self.session, self.checkpoint)
            self.samplers[key] = (context, tokens)
        context, tokens = self.samplers[key]

        def run(prompt: list[int]) -> np.ndarray:
            return self.session.run(tokens, {context: [prompt] * options.batch_size})

        return run

    def _stops(self, options: SampleOptions) -> list[str]:
        """Where a title ends: the end marker, or the --truncate string (and the end marker
        too, for a titlegen run)."""
        stops = [options.truncate or dataset.END]
        return [*stops, dataset.END] if self.titles and options.truncate else stops

    def _token_bytes(self) -> list[bytes]:
        """Each sampled id's bytes: the model's logits may cover more ids than its vocabulary."""
        table = self.vocabulary.token_bytes[: self.hparams.n_vocab]
        return table + [b""] * (self.hparams.n_vocab - len(table))

    def _title(self, tokens: list[int], options: SampleOptions) -> str:
        text = self.vocabulary.decode(tokens)
        if self.titles:
            # Titles are trained as <|startoftext|>TITLE<|endoftext|>: a start marker after
            # the title's text begins another title (an undertrained model may skip the end
            # marker); start markers before any text are skipped.
            text = _LEADING_STARTS.sub("", text)
            text = text.split(dataset.START, 1)[0]
        for stop in self._stops(options):
            if stop in text:
                text = text[: text.index(stop)]
        if options.include_prefix:
            text = options.prefix + text
        return _WHITESPACE.sub(" ", _MARKER_PIECES.sub(" ", text)).strip()


def records(titles: list[str], folder: Path, options: SampleOptions) -> list[dict]:
    """Each title with what made it, marked synthetic as the seed project recommends."""
    made_by = {"synthetic": True, "generator": f"titlegen {__version__}", "model": str(folder)}
    settings = {k: v for k, v in asdict(options).items() if k not in ("nsamples", "batch_size")}
    return [{"title": title, **made_by, **settings} for title in titles]


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
