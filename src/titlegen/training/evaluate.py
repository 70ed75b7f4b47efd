"""``titlegen evaluate``: a run's loss on a dataset, or on the titles it held out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import titlegen.training.data as data
from titlegen import dataset, encoding, runs
from titlegen.errors import TitlegenError
from titlegen.runs import Run
from titlegen.training.config import EVAL_WINDOWS, WINDOW


@dataclass(frozen=True)
class Score:
    loss: float  # mean loss per predicted token (nats)
    tokens: int  # tokens predicted
    step: int  # the step of the checkpoint scored


def evaluate(run: Run, source: Path | None = None) -> Score:
    """The run's loss on ``source`` (every title, framed as the run was trained), or, without
    one, on its held-out titles exactly as ``train`` scores them (the same windows), so the
    figure matches the validation loss train reported for the checkpoint."""
    import titlegen.training.graph as graphs

    run.checkpoint()  # a missing or damaged one is reported before TensorFlow starts
    form = run.format()
    vocabulary = encoding.Vocabulary(run.folder)
    hparams = graphs.load_hparams(run.folder)
    limit = None
    if source is None:
        try:
            held = [row for row, is_held in run.titles() if is_held]
        except runs.RunError as error:
            raise TitlegenError(f"{error} Name a DATASET to score it on.") from error
        if not held:
            raise TitlegenError(
                f"{run.name} held no titles out (--val-fraction 0): name a DATASET."
            )
        tokens = _encode(held, form.source or "titles", form, vocabulary)
        limit = EVAL_WINDOWS
    elif not source.is_file():
        raise TitlegenError(f"{source} does not exist.")
    elif data.kind_of(source) == "npz":
        tokens = data.npz_tokens(source, hparams.n_vocab)
    else:
        rows = dataset.read_rows(source)
        kind = data.kind_of(source)
        if form.condition and not (kind == "titles" and dataset.conditionable(rows)):
            raise TitlegenError(
                f"{run.name} was trained with subreddits, and {source} has no subreddit "
                "for every title."
            )
        tokens = _encode(rows, kind, form, vocabulary)
    # The precision the run trained in (fp32 for runs recorded before titlegen said).
    precision = graphs.choose_precision(str((run.record() or {}).get("precision") or "fp32"))
    graph = graphs.EvalGraph(hparams, min(WINDOW, hparams.n_ctx), precision)
    try:
        checkpoint = run.restore_latest(graph.saver, graph.session)
        loss, count = graph.evaluate(tokens, limit=limit)
    finally:
        graph.close()
    return Score(loss, count, runs.step_of(checkpoint))


def _encode(rows, kind: str, form: runs.Format, vocabulary: encoding.Vocabulary):
    """The titles framed as the run recorded (its subreddits, its keywords: same seed, same
    separator, so a held-out title gets the keywords it had in training)."""
    docs = dataset.frame(rows, kind=kind, condition=form.condition, keywords=form.keywords)
    return vocabulary.encode("".join(docs))
