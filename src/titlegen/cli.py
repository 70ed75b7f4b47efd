"""titlegen's command line. Each command parses its options, calls the library, and echoes.

Heavy libraries (TensorFlow, BigQuery, pandas, duckdb) are imported only inside the library
functions that need them, so ``titlegen --help`` starts fast.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from click.core import ParameterSource

import titlegen.fetching.bigquery as bigquery
import titlegen.fetching.selection as sel
import titlegen.models.download as download
import titlegen.models.huggingface as huggingface
import titlegen.models.new_model as new_model
import titlegen.sampling.novelty as novelty
from titlegen import (
    __version__,
    encoding,
    fetching,
    paths,
    runs,
    sampling,
    serving,
    training,
    units,
)
from titlegen.atomic import atomic_write
from titlegen.errors import TitlegenError

FETCH_OUT = Path("data/reddit_titles.csv")  # where fetch writes, and train reads, by default


model_dir_option = click.option(
    "--model-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=paths.MODEL_DIR,
    show_default=True,
    envvar=runs.MODEL_DIR_ENV,
    show_envvar=True,
    help="Folder that holds one subfolder per base model.",
)
checkpoint_dir_option = click.option(
    "--checkpoint-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=paths.CHECKPOINT_DIR,
    show_default=True,
    envvar=runs.CHECKPOINT_DIR_ENV,
    show_envvar=True,
    help="Folder that holds one subfolder per training run.",
)


class _Group(click.Group):
    """Shows library errors as ``Error: <sentence>`` with exit code 1, never a traceback; Ctrl-C
    exits 130, as a shell expects."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TitlegenError as error:
            raise click.ClickException(str(error)) from error
        except KeyboardInterrupt:  # Ctrl-C outside training's own handling: nothing was saved
            click.echo("\nInterrupted.", err=True)
            ctx.exit(130)


class _ByteSize(click.ParamType):
    name = "SIZE"

    def convert(self, value: Any, param: Any, ctx: Any) -> int:
        if isinstance(value, int):
            return value
        try:
            return units.parse_size(str(value))
        except TitlegenError as error:
            self.fail(str(error), param, ctx)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="titlegen")
def cli() -> None:
    """Make a Reddit title generator: pull real titles, finetune GPT-2, sample new ones.

    \b
    Quick start, offline, on the bundled sample:
      titlegen fetch --source data/sample --per-subreddit 100

    \b
    From a month of Reddit posts (Arctic Shift's dumps; see the README):
      titlegen fetch --source RS_2026-01.zst --min-titles 10
      titlegen download 124M
      titlegen train data/reddit_titles.csv --steps 1000 --keep-best
      titlegen generate --subreddit AskReddit

    \b
    From BigQuery (needs a Google Cloud project):
      titlegen fetch --month 2019_08 --dry-run
    """


BIGQUERY_ONLY = (
    "table",
    "month",
    "months",
    "project",
    "dry_run",
    "max_bytes_billed",
    "query_file",
    "timeout",
)


@cli.command(
    epilog="""\b
Examples:
  titlegen fetch --source data/sample --per-subreddit 100 -o data/sample_titles.csv
  titlegen fetch --source RS_2026-01.zst --min-titles 10
  titlegen fetch --source dumps/            # .zst, .gz, .parquet... mixed
  titlegen fetch --month 2019_08 --dry-run
  titlegen fetch --months 2019_01:2019_06 --dry-run
  titlegen fetch --table my-project.reddit.posts --subreddit AskReddit --subreddit Jokes
"""
)
@click.option(
    "--source",
    "sources",
    type=click.Path(path_type=Path),
    multiple=True,
    help="Read local Reddit submission dumps (a file, or a folder of them: JSON "
    "lines, plain or .zst/.gz/.bz2/.xz, or Parquet; repeatable) instead of BigQuery.",
)
@click.option(
    "--table",
    metavar="PROJECT.DATASET.TABLE",
    help="BigQuery table of Reddit posts (subreddit, title, score, author).",
)
@click.option(
    "--month",
    multiple=True,
    metavar="YYYY_MM",
    help=f"Use {sel.MONTH_DATASET}.YYYY_MM; repeatable, one query over them all.  "
    f"[default: {sel.MONTH}]",
)
@click.option(
    "--months",
    metavar="START:END",
    help="Use every month from START to END, both included (2019_01:2019_06), in one query.",
)
@click.option(
    "--min-score",
    type=int,
    default=sel.MIN_SCORE,
    show_default=True,
    help="A subreddit is a candidate if it has posts scoring at least this.",
)
@click.option(
    "--top-subreddits",
    type=click.IntRange(min=1),
    default=sel.TOP_SUBREDDITS,
    show_default=True,
    help="Keep this many subreddits, those with most authors.",
)
@click.option(
    "--per-subreddit",
    type=click.IntRange(min=1),
    default=sel.PER_SUBREDDIT,
    show_default=True,
    help="Take this many top-scoring titles from each subreddit.",
)
@click.option(
    "--exclude",
    multiple=True,
    metavar="NAME",
    help=f"Leave out this subreddit; repeatable, replaces the default list "
    f"({', '.join(sel.EXCLUDED)}). --exclude '' excludes none.",
)
@click.option(
    "--subreddit",
    "subreddits",
    multiple=True,
    metavar="NAME",
    help="Use exactly this subreddit (repeatable) instead of the top ones.",
)
@click.option(
    "--min-titles",
    type=click.IntRange(min=1),
    default=sel.MIN_TITLES,
    show_default=True,
    help="Leave out subreddits with fewer titles than this (too few to learn).",
)
@click.option(
    "--include-nsfw",
    is_flag=True,
    help="Keep posts marked over 18 (left out by default, as are quarantined, removed and "
    "later-deleted posts and those of subreddits that are not public).",
)
@click.option(
    "--query",
    "query_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Run this SQL file instead (BigQuery; must return subreddit and title columns; "
    "may use ${table}, or ${posts} for several months, and the @parameters).",
)
@click.option(
    "--project",
    envvar="GOOGLE_CLOUD_PROJECT",
    help="Google Cloud project billed for the query.  [default: your gcloud project]",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Only report how much the query would scan and cost; nothing is billed.",
)
@click.option(
    "--max-bytes-billed",
    type=_ByteSize(),
    default=units.format_size(bigquery.MAX_BYTES_BILLED).replace(" ", ""),
    show_default=True,
    help="BigQuery refuses a query that would scan more (0 = no cap).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=bigquery.TIMEOUT,
    show_default=True,
    help="Seconds to keep trying to reach BigQuery.",
)
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False),
    default=str(FETCH_OUT),
    show_default=True,
    callback=lambda _ctx, _param, value: _file_name(value, "-o"),
    help="CSV file to write (subreddit,title).",
)
@click.pass_context
def fetch(
    ctx: click.Context,
    sources: tuple[Path, ...],
    out: Path,
    dry_run: bool,
    exclude: tuple[str, ...],
    subreddits: tuple[str, ...],
    min_score: int,
    top_subreddits: int,
    per_subreddit: int,
    min_titles: int,
    include_nsfw: bool,
    **bigquery_options: Any,
) -> None:
    """Pull Reddit titles into a CSV dataset.

    Reads BigQuery, or a local Reddit dump with --source. Selects like the seed project's
    query: the subreddits with the most different authors among posts scoring at least
    --min-score, then each one's top --per-subreddit titles. Before that, on every source,
    posts marked over 18 (unless --include-nsfw), quarantined, removed, deleted later or from
    subreddits that are not public are left out and counted.
    Titles are cleaned (HTML entities, stray characters, whitespace); deleted, removed and
    repeated ones are dropped. The file is written only when everything succeeded.
    """
    selection = sel.Selection(
        min_score=min_score,
        top_subreddits=top_subreddits,
        per_subreddit=per_subreddit,
        excluded=tuple(name for name in exclude if name) if exclude else sel.EXCLUDED,
        subreddits=subreddits,
        include_nsfw=include_nsfw,
        min_titles=min_titles,
    )
    if sources:
        _refuse_bigquery_options(ctx)
        with _interruptible() as check:  # a stopped fetch still removes its spill folder
            summary = _fetch_local(sources, selection, out, check)
    elif dry_run:
        click.echo(fetching.dry_run(selection, **bigquery_options).describe())
        return
    else:
        summary = fetching.fetch_bigquery(
            selection,
            out,
            **bigquery_options,
            on_message=lambda m: click.echo(m, err=True),
            on_warning=lambda m: click.echo(f"Warning: {m}", err=True),
        )
    click.echo(summary.describe())


def _file_name(value: str, flag: str) -> Path:
    """``value`` as a file to write: refused in one sentence when it names no file."""
    if not value.strip() or value.endswith(("/", os.sep)):
        raise click.BadParameter(
            f"{value!r} is not a file name: name the file, for example data/titles.csv.",
            param_hint=flag,
        )
    return Path(value)


@contextlib.contextmanager
def _interruptible() -> Iterator[Callable[[], None]]:
    """Ctrl-C and SIGTERM (``kill``, a job scheduler's stop) during the block unwind it: context
    managers run, so temporary files and spill folders are removed; then the command exits 130
    (with "Interrupted.") or 143. duckdb catches a signal that arrives mid-query and raises its
    own error ("Query interrupted") instead, or, between queries, drops it: so whatever the
    block raises after a signal counts as the interruption, and the block calls the function it
    is given (between blocks of a dump) to stop if a signal was swallowed. The previous handlers
    are put back after (in the main thread only: signals cannot be set elsewhere)."""
    caught: list[int] = []

    def check() -> None:
        if caught:
            raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield check
        return

    def stop(signum: int, _frame: Any) -> None:
        caught.append(signum)
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield check
    except BaseException:
        if not caught:
            raise
        if caught[0] == signal.SIGTERM:
            raise SystemExit(128 + signal.SIGTERM) from None
        raise KeyboardInterrupt from None
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _refuse_bigquery_options(ctx: click.Context) -> None:
    for name in BIGQUERY_ONLY:
        if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:
            flag = "--query" if name == "query_file" else "--" + name.replace("_", "-")
            raise TitlegenError(f"{flag} is for BigQuery and cannot be used with --source.")


def _fetch_local(
    sources: tuple[Path, ...],
    selection: sel.Selection,
    out: Path,
    check: Callable[[], None] = lambda: None,
) -> fetching.Summary:
    """fetching.fetch_local with a progress bar over the bytes of the dump; ``check`` is called
    with each block read (it raises to stop)."""
    from tqdm import tqdm

    with tqdm(unit="B", unit_scale=True, desc="Reading dump", disable=None, leave=False) as bar:

        def warn(message: str) -> None:
            bar.clear()  # keep the warning clear of the bar
            click.echo(f"Warning: {message}", err=True)
            bar.refresh()

        return fetching.fetch_local(
            sources,
            selection,
            out,
            on_total=lambda total: bar.reset(total=total),
            on_progress=lambda n: (check(), bar.update(n)),
            on_warning=warn,
        )


@cli.command(
    "download",
    epilog="""\b
Examples:
  titlegen download                 # 124M, the smallest, into models/124M/
  titlegen download 355M --model-dir ~/gpt2-models
  TITLEGEN_MODEL_URL=https://mirror.example/gpt-2 titlegen download 774M
""",
)
@click.argument("model", default="124M", metavar="[MODEL]")
@model_dir_option
@click.option(
    "--base-url",
    envvar=download.BASE_URL_ENV,
    default=download.BASE_URL,
    show_default=True,
    help=f"Where the models are: a mirror of OpenAI's storage.  [env var: {download.BASE_URL_ENV}]",
)
@click.option("--force", is_flag=True, help="Download every file again, even complete ones.")
def download_command(model: str, model_dir: Path, base_url: str, force: bool) -> None:
    """Download a GPT-2 model from OpenAI.

    MODEL is 124M (the default), 355M, 774M or 1558M; the old names 117M and 345M mean 124M and
    355M. Files are checked against the size the
    server announces and renamed into place only when complete; run the command again to
    resume an interrupted download.
    """
    from tqdm import tqdm

    name = download.canonical(model)
    with tqdm(unit="B", unit_scale=True, desc=f"GPT-2 {name}", disable=None) as bar:

        def on_total(total: int, done: int) -> None:
            bar.reset(total=total)
            bar.update(done)

        report = download.download(
            name,
            model_dir=model_dir,
            url=base_url,
            force=force,
            on_total=on_total,
            on_progress=bar.update,
        )
    if report.fetched:
        skipped = len(report.skipped)
        click.echo(
            f"Downloaded {units.plural(len(report.fetched), 'file')} "
            f"({units.format_size(report.nbytes)}) of GPT-2 {name} to {report.folder}"
            + (
                f"; {skipped} {'was' if skipped == 1 else 'were'} already complete."
                if skipped
                else "."
            )
        )
    else:
        click.echo(f"GPT-2 {name} is already complete in {report.folder}.")


@cli.command(
    "new-model",
    epilog="""\b
Examples:
  titlegen new-model titles-small --from data/reddit_titles.csv
  titlegen new-model titles-wide --from data/reddit_titles.csv --layers 6 --embd 384 --heads 6
""",
)
@click.argument("name")
@click.option(
    "--from",
    "source",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Dataset whose titles the vocabulary is learned from (CSV with a title column, or text).",
)
@model_dir_option
@click.option(
    "--layers",
    type=click.IntRange(min=1),
    default=new_model.LAYERS,
    show_default=True,
    help="Transformer blocks (124M has 12).",
)
@click.option(
    "--embd",
    type=click.IntRange(min=1),
    default=new_model.EMBD,
    show_default=True,
    help="Width, a multiple of --heads (124M has 768).",
)
@click.option(
    "--heads",
    type=click.IntRange(min=1),
    default=new_model.HEADS,
    show_default=True,
    help="Attention heads (124M has 12).",
)
@click.option(
    "--vocab-size",
    type=click.IntRange(min=258),
    default=new_model.VOCAB_SIZE,
    show_default=True,
    help="BPE vocabulary size; a small dataset may give fewer.",
)
@click.option(
    "--seed",
    type=int,
    default=new_model.SEED,
    show_default=True,
    help="Seed of the random initial weights.",
)
@click.option("--overwrite", is_flag=True, help="Replace an existing model of that name.")
def new_model_command(
    name: str, source: Path, model_dir: Path, seed: int, overwrite: bool, **shape: int
) -> None:
    """Create an untrained GPT-2 from a dataset.

    Its BPE vocabulary is learned from the dataset's titles. The model has GPT-2's layout and
    can be trained with titlegen train (or gpt-2-simple) from
    scratch: small ones learn titles in minutes on a CPU, without downloading anything.
    """
    new_model.Shape(**shape).check()  # before the message that work has begun
    click.echo(f"Learning a vocabulary from {source} and initialising the weights...", err=True)
    hparams = new_model.create(
        name,
        source,
        model_dir=model_dir,
        shape=new_model.Shape(**shape),
        seed=seed,
        overwrite=overwrite,
    )
    click.echo(
        f"Created {model_dir / name}: {units.plural(hparams['n_layer'], 'layer')}, "
        f"{hparams['n_embd']} wide, {units.plural(hparams['n_head'], 'head')}, "
        f"{units.plural(hparams['n_vocab'], 'token')}."
    )


def vocabulary_options(command: Any) -> Any:
    """--model/--model-dir or --run-name/--checkpoint-dir: whose vocabulary to use."""
    options = [
        click.option(
            "--model", default="124M", show_default=True, help="Base model whose vocabulary to use."
        ),
        model_dir_option,
        click.option("--run-name", help="Use this training run's vocabulary instead."),
        checkpoint_dir_option,
    ]
    return _stacked(command, options)


def _stacked(command: Any, options: list[Any]) -> Any:
    """``command`` with ``options`` applied so that --help lists them in this order."""
    for option in reversed(options):
        command = option(command)
    return command


@cli.command(
    epilog="""\b
Examples:
  titlegen encode data/reddit_titles.csv data/reddit_titles.npz --model 124M
  titlegen encode data/reddit_titles.csv data/titles.npz --model titles-small
""",
)
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@vocabulary_options
@click.option(
    "--condition/--no-condition",
    default=True,
    show_default=True,
    help="Put each title's subreddit before it, as train does (needs the CSV's subreddit column).",
)
def encode(source: Path, out: Path, condition: bool, **vocabulary: Any) -> None:
    """Encode a dataset into GPT-2 tokens (.npz).

    SOURCE is a CSV with a title column, or a text file. Like gpt-2-simple's encode_dataset,
    but a CSV's title column is read by name and each title is framed as titlegen train frames
    it: <|startoftext|>SUBREDDIT TITLE<|endoftext|> (--no-condition: no subreddit). The .npz
    can be trained on directly; OUT.json beside it records the framing for train.
    """
    folder = encoding.vocabulary_folder(**vocabulary)
    result = encoding.encode_file(source, out, folder, condition=condition)
    framed = ", titles after their subreddit" if result.condition else ""
    click.echo(
        f"Wrote {units.plural(result.tokens, 'token')} to {out} (vocabulary of {folder}{framed})."
    )


@cli.command(
    epilog="""\b
Examples:
  titlegen decode data/reddit_titles.npz | head
  titlegen decode data/reddit_titles.npz data/reddit_titles_decoded.txt --model 124M
""",
)
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", required=False, type=click.Path(dir_okay=False, path_type=Path))
@vocabulary_options
def decode(source: Path, out: Path | None, **vocabulary: Any) -> None:
    """Turn GPT-2 tokens (.npz) back into text.

    Writes to OUT, or to standard output.
    """
    text = encoding.decode_file(source, encoding.vocabulary_folder(**vocabulary))
    if out is None:
        click.echo(text, nl=False)
        return
    with atomic_write(out, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    click.echo(f"Wrote {len(text):,} characters to {out}.", err=True)


@cli.command(
    epilog="""\b
Examples:
  titlegen train data/reddit_titles.csv --model 124M --steps 1000
  titlegen train data/reddit_titles.csv --model 355M --learning-rate 1e-5 --run-name medium
  titlegen train data/reddit_titles.csv --steps 500          # run1 goes on, same settings
  titlegen train data/titles.npz --restore-from fresh --overwrite
  titlegen train data/reddit_titles.csv --model 1558M --memory 16GB   # picks what fits
  titlegen train data/reddit_titles.csv --model 774M --gradient-checkpointing \\
      --optimizer adafactor --learning-rate 1e-4
  titlegen train data/reddit_titles.csv --keep-best --early-stop 5 --lr-schedule cosine
""",
)
@click.argument("source", metavar="DATASET", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--model",
    default=training.config.MODEL,
    show_default=True,
    help="Base model a new run starts from (see titlegen download and new-model); a run "
    "that goes on keeps its own.",
)
@model_dir_option
@click.option(
    "--run-name",
    default=runs.RUN_NAME,
    show_default=True,
    help="Subfolder of --checkpoint-dir that holds this run.",
)
@checkpoint_dir_option
@click.option(
    "--steps",
    type=click.IntRange(min=1),
    default=training.STEPS,
    show_default=True,
    help="Optimizer steps to train in this command.",
)
@click.option(
    "--restore-from",
    default="latest",
    show_default=True,
    metavar="latest|fresh|PATH",
    help="latest: go on from the run's last checkpoint (or the base model if none); "
    "fresh: start again from the base model; PATH: a folder with a checkpoint.",
)
@click.option(
    "--learning-rate",
    type=click.FloatRange(min=0, min_open=True),
    default=training.config.LEARNING_RATE,
    show_default=True,
    help="The optimizer's step size; 1e-5 suits less than 1 MB of text.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=training.config.BATCH_SIZE,
    show_default=True,
    help="1024-token windows per batch.",
)
@click.option(
    "--accumulate-gradients",
    type=click.IntRange(min=1),
    default=training.config.ACCUMULATE_GRADIENTS,
    show_default=True,
    help="Batches averaged into each optimizer step.",
)
@click.option(
    "--optimizer",
    type=click.Choice(training.config.OPTIMIZERS),
    default="adam",
    show_default=True,
    help="How the weights follow the gradients.",
)
@click.option(
    "--only-train-transformer-layers",
    is_flag=True,
    help="Freeze the embeddings (saves memory on large models).",
)
@click.option(
    "--train-layers",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="Train only the last N transformer blocks (the embeddings and the final norm stay as "
    "they are), for the largest models on small cards; 0 = all.",
)
@click.option(
    "--gradient-checkpointing/--no-gradient-checkpointing",
    default=False,
    show_default=True,
    help="Recompute each block's activations in the backward pass instead of keeping them: "
    "a fraction of the memory, about a third slower.",
)
@click.option(
    "--memory",
    default="auto",
    show_default=True,
    metavar="auto|SIZE|off",
    help="auto: print what a step needs and, if that does not fit 90% of the GPU's free "
    "memory (of the RAM on a CPU), turn on in this order gradient checkpointing, Adafactor, "
    "frozen embeddings, fewer trained blocks (never an option given here or recorded in the "
    "run); SIZE (16GB): plan for that much; off: change nothing.",
)
@click.option("--multi-gpu", is_flag=True, help="Spread the model over all visible GPUs.")
@click.option(
    "--print-every",
    type=click.IntRange(min=1),
    default=training.config.PRINT_EVERY,
    show_default=True,
    help="Steps between progress lines.",
)
@click.option(
    "--save-every",
    type=click.IntRange(min=1),
    default=training.config.SAVE_EVERY,
    show_default=True,
    help="Steps between checkpoints (one is kept).",
)
@click.option(
    "--sample-every",
    type=click.IntRange(min=0),
    default=training.config.SAMPLE_EVERY,
    show_default=True,
    help="Steps between samples printed during training; 0 = none.",
)
@click.option(
    "--overwrite",
    is_flag=True,
    help="Start the run's TensorBoard events anew (gpt-2-simple's option; one checkpoint is "
    "kept either way).",
)
@click.option(
    "--seed",
    type=int,
    help="Seed for the validation split and the order of the titles.  [default: random, "
    "recorded in the run]",
)
@click.option(
    "--precision",
    type=click.Choice(training.PRECISIONS),
    default="auto",
    show_default=True,
    help="Arithmetic of the matrix work: auto = fp16 on a GPU, bf16 on a CPU with AMX (1.4x "
    "faster there), else fp32. Weights and optimizer stay float32; fp16 scales the loss.",
)
@click.option(
    "--xla/--no-xla",
    default=None,
    help="Compile the training graph with XLA (a GPU speed-up; TensorFlow ignores it on a "
    "CPU).  [default: on a GPU, unless --gradient-checkpointing]",
)
@click.option(
    "--condition/--no-condition",
    default=True,
    show_default=True,
    help="Put each title's subreddit before it, so generate --subreddit can ask for one "
    "(needs the CSV's subreddit column).",
)
@click.option(
    "--keywords/--no-keywords",
    default=False,
    show_default=True,
    help="Put 1 to 3 of each title's words before it (KEYWORDS ~ SUBREDDIT TITLE), so "
    "generate --keywords can ask for titles about them (needs a CSV).",
)
@click.option(
    "--val-fraction",
    type=click.FloatRange(0, training.MAX_VAL_FRACTION),
    default=training.VAL_FRACTION,
    show_default=True,
    help="Share of the distinct titles held out for the validation loss; 0 = none.",
)
@click.option(
    "--eval-every",
    type=click.IntRange(min=1),
    default=training.EVAL_EVERY,
    show_default=True,
    help="Steps between validation losses (and at the last step).",
)
@click.option(
    "--keep-best/--no-keep-best",
    default=False,
    help="Save only checkpoints that lower the validation loss: the run ends at its best.",
)
@click.option(
    "--early-stop",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="Stop after N evaluations without a lower validation loss; 0 = never.",
)
@click.option(
    "--warmup-steps",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Raise the learning rate linearly from 0 over this many steps.",
)
@click.option(
    "--lr-schedule",
    type=click.Choice(training.SCHEDULES),
    default="constant",
    show_default=True,
    help="After warmup: constant (as gpt-2-simple), or cosine decay to a tenth by the last step.",
)
@click.pass_context
def train(ctx: click.Context, source: Path, **options: Any) -> None:
    """Finetune GPT-2 on a title dataset.

    DATASET is the CSV that titlegen fetch writes (its title column, each title one
    document between <|startoftext|> and <|endoftext|>), a text file, or an .npz from titlegen
    encode. A CSV's subreddit column is put before each title (--no-condition: titles only).
    --val-fraction of the titles are held out; every --eval-every steps their loss is shown
    next to the training loss. Both go to RUN/metrics.csv, TensorBoard events and RUN/loss.png.

    The run is saved to checkpoint/RUN_NAME in gpt-2-simple's layout, with the settings it was
    trained with. Training an existing run goes on from its checkpoint with its own model and
    settings (options given again win, and are said). Ctrl-C saves and prints the command
    that goes on.
    """
    given = {
        name: value
        for name, value in options.items()
        if name in training.config.SESSION
        or ctx.get_parameter_source(name)
        in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)
    }

    def progress(p: training.Progress) -> None:
        left = time.strftime("%H:%M:%S", time.gmtime(p.seconds_left))
        val = "" if p.val_loss is None else f"  val {p.val_loss:.3f}"
        click.echo(
            f"step {p.first + p.step}/{p.first + p.total}  loss {p.loss:.3f}  "
            f"avg {p.average:.3f}{val}  {p.tokens_per_second:,.0f} tokens/s  {left} left",
            err=True,
        )

    result = training.train(
        source, given, on_progress=progress, on_message=lambda m: click.echo(m, err=True)
    )
    if not result.interrupted:
        click.echo(
            f"Trained {result.run_folder} to step {result.reached} "
            f"in {result.precision.describe()}."
        )
    _echo_validation(result)
    if result.plot is not None:
        click.echo(f"Loss curves: {result.plot} (and metrics.csv, TensorBoard events).")
    if result.interrupted:
        click.echo(
            f"Interrupted: saved {result.run_folder} at step {result.last_step}. Go on with:"
        )
        click.echo(_resume_command(source, result))  # the last line, on its own
        ctx.exit(128 + result.interrupted)


def _resume_command(source: Path, result: training.Result) -> str:
    """A command that, run from the same folder, goes on with the run: its settings are
    recorded in the run, so only where it is and the steps left are needed."""
    import shlex

    done = result.last_step - result.start
    words = ["titlegen", "train", str(source), "--run-name", result.run.name]
    if result.run.folder.parent != paths.CHECKPOINT_DIR:
        words += ["--checkpoint-dir", str(result.run.folder.parent)]
    words += ["--steps", str(max(result.options.steps - done, 1))]
    return shlex.join(words)


def _echo_validation(result: training.Result) -> None:
    if result.options.keep_best and result.best is not None:
        click.echo(
            f"Kept the checkpoint with the lowest validation loss: {result.best.val_loss:.3f} "
            f"at step {result.best.step}."
        )
    elif result.lowest is not None:
        click.echo(
            f"Lowest validation loss of this train: {result.lowest.val_loss:.3f} at step "
            f"{result.lowest.step}"
            + (
                f"; the checkpoint (step {result.best.step}) scores {result.best.val_loss:.3f}."
                if result.best is not None and result.best.step != result.lowest.step
                else "."
            )
        )


@cli.command(
    epilog="""\b
Examples:
  titlegen generate                                  # 10 titles from the latest run
  titlegen generate --nsamples 100 --temperature 0.9 --top-p 0.9 -o titles.jsonl
  titlegen generate --prefix "TIL" --seed 42
  titlegen generate --model 124M --prefix "Breaking:" --truncate "."
  titlegen generate --subreddit aww --subreddit Jokes --nsamples 20 -o titles.csv
  titlegen generate --subreddit AskReddit --prefix "What if" --novel --unique
  titlegen generate --keywords "cat, vacuum" --subreddit aww   # a run trained with --keywords
""",
)
@click.option(
    "--run-name", help="Training run to sample from.  [default: the most recently trained]"
)
@checkpoint_dir_option
@click.option("--model", help="Sample this base model instead of a run.")
@model_dir_option
@click.option(
    "--nsamples",
    type=click.IntRange(min=1),
    default=sampling.NSAMPLES,
    show_default=True,
    help="How many titles.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=sampling.BATCH_SIZE,
    show_default=True,
    help="Titles sampled at once (any --nsamples works).",
)
@click.option(
    "--length",
    type=click.IntRange(1, sampling.MAX_LENGTH),
    default=sampling.LENGTH,
    show_default=True,
    help="Most tokens per title; sampling stops once every title in a batch has ended.",
)
@click.option(
    "--temperature",
    type=float,  # checked by SampleOptions, whose message points to --top-k 1 for 0
    default=sampling.TEMPERATURE,
    show_default=True,
    help="Above 0; higher is wilder, 0.7 to 1.0 is usual.",
)
@click.option(
    "--top-k",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Sample from the k likeliest tokens; 0 = off. 40 tames wild output.",
)
@click.option(
    "--top-p",
    type=click.FloatRange(0, 1),
    default=0.0,
    show_default=True,
    help="Nucleus sampling: the likeliest tokens up to this probability; 0 = off. "
    "When set, it is used instead of --top-k.",
)
@click.option(
    "--prefix",
    default="",
    help="Text every title starts with (without --subreddit, on a run trained with "
    "subreddits, each title's subreddit is drawn as often as the run saw it).",
)
@click.option(
    "--truncate",
    help="End each title at this literal text (titles of a titlegen run "
    "always end at <|endoftext|>); sampling stops there too.",
)
@click.option(
    "--include-prefix/--no-include-prefix",
    default=True,
    show_default=True,
    help="Keep --prefix in the output.",
)
@click.option("--seed", type=int, help="The same seed and options give the same titles.")
@click.option(
    "--subreddit",
    "subreddits",
    multiple=True,
    metavar="NAME",
    help="Titles in this subreddit's style (repeatable: titles are shared evenly). "
    "See titlegen subreddits.",
)
@click.option(
    "--keywords",
    default="",
    metavar="WORDS",
    help='Titles about these words ("cat, vacuum"; at most 3), on a run trained with --keywords.',
)
@click.option("--novel", is_flag=True, help="Drop titles that are in the run's training data.")
@click.option("--unique", is_flag=True, help="Drop titles already in this output.")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Write to .txt (a title a line), .csv or .jsonl (with the subreddit and the options "
    "used, marked synthetic) instead of standard output; - is standard output.",
)
def generate(
    run_name: str | None,
    checkpoint_dir: Path,
    model: str | None,
    model_dir: Path,
    out: Path | None,
    subreddits: tuple[str, ...],
    novel: bool,
    unique: bool,
    **options: Any,
) -> None:
    """Generate titles from a trained run.

    Prints one clean title a line: no markers, whitespace collapsed. A run trained by titlegen
    needs no flags: it knows its titles start and end with markers, and, if it was trained with
    subreddits, --subreddit asks for one (--prefix then starts the title); if it was trained
    with --keywords, --keywords asks for titles about some words. --novel and
    --unique drop copies and keep sampling until there are --nsamples titles, as generate
    always does with rows where the model began another document (counted on standard error).
    Plain gpt-2-simple runs and base models work too.
    """
    if options["seed"] is None:  # drawn here, so the records of -o say how to make them again
        import secrets

        options["seed"] = secrets.randbelow(2**31)
    settings = sampling.SampleOptions(**options)
    settings.check()
    if settings.ignored():
        click.echo(settings.ignored(), err=True)
    if out == Path("-"):
        out = None  # titles, one a line, as without -o
    if out is not None:
        sampling.check_output(out)  # before the minutes of sampling, not after
    if model is not None:
        folder = sampling.model_folder(model, model_dir)
    else:
        folder = _find_run(run_name, checkpoint_dir).folder
    names = sampling.resolve_subreddits(folder, list(subreddits))
    sampling.resolve_keywords(folder, settings.keywords)  # refused before TensorFlow loads
    keep = novelty.Filter(novelty.known_titles(folder) if novel else None, unique=unique)
    generator = sampling.Generator(folder)
    try:
        samples = generator.generate(settings, names, keep)
    finally:
        generator.close()
    if out is None:
        for sample in samples:
            click.echo(sample.title)
    else:
        sampling.write(sampling.records(samples, folder, settings), out)
        click.echo(f"Wrote {len(samples)} synthetic titles to {out}.", err=True)
    if generator.restarts:
        click.echo(sampling.restarts_summary(generator.restarts), err=True)
    if novel or unique:
        click.echo(keep.summary(), err=True)


@cli.command(
    epilog="""\b
Examples:
  titlegen serve                                 # the latest run, at http://127.0.0.1:8000
  titlegen serve --run-name run1 --port 8080
  TITLEGEN_API_KEY=s3cret titlegen serve --host 0.0.0.0   # the network, with a key
  curl -s localhost:8000/api/titles -d '{"n": 3, "subreddit": "aww", "seed": 1}'
""",
)
@click.option("--run-name", help="Training run to serve.  [default: the most recently trained]")
@checkpoint_dir_option
@click.option("--model", help="Serve this base model instead of a run.")
@model_dir_option
@click.option(
    "--host",
    default=serving.HOST,
    show_default=True,
    help="Address to listen on; 0.0.0.0 lets the network in (give --api-key then).",
)
@click.option("--port", type=click.IntRange(0, 65535), default=serving.PORT, show_default=True)
@click.option(
    "--api-key",
    envvar="TITLEGEN_API_KEY",
    show_envvar=True,
    help="Every /api/ call then needs 'Authorization: Bearer KEY' (the page asks for it).",
)
@click.option(
    "--max-batch",
    type=click.IntRange(min=1),
    default=serving.MAX_BATCH,
    show_default=True,
    help="Titles sampled at once, shared by the requests that wait together.",
)
@click.option(
    "--max-titles",
    type=click.IntRange(min=1),
    default=serving.MAX_TITLES,
    show_default=True,
    help="Most titles one request may ask for.",
)
@click.option(
    "--max-waiting",
    type=click.IntRange(min=1),
    default=serving.MAX_WAITING,
    show_default=True,
    help="Requests allowed to wait; past it, a request is answered 503 at once.",
)
def serve(
    run_name: str | None,
    checkpoint_dir: Path,
    model: str | None,
    model_dir: Path,
    host: str,
    api_key: str | None,
    **limits: Any,
) -> None:
    """Serve titles over HTTP: a page for people, a JSON API for programs.

    Loads the run once and answers until Ctrl-C (or SIGTERM), which finishes the requests
    already taken and exits 0. Requests that arrive together are sampled together, up to
    --max-batch titles at once. The page is at /, the API's documentation at /docs:
    GET /api/health, GET /api/subreddits, POST /api/titles with a JSON object of n,
    subreddit, keywords, prefix, temperature, top_k, top_p, max_tokens, seed, novel, unique
    (all optional, generate's defaults). Every title is marked synthetic.
    """
    from titlegen.serving import server  # uvicorn and FastAPI: only when serving

    if model is not None:
        folder = sampling.model_folder(model, model_dir)
    else:
        folder = _find_run(run_name, checkpoint_dir).folder

    def ready(url: str) -> None:
        if server.exposed(host) and not api_key:  # said once the address is known to work
            click.echo(
                f"Warning: listening on {host} without --api-key: anyone who can reach this "
                "machine can use it.",
                err=True,
            )
        click.echo(f"Serving {folder.name} at {url}/ (API: {url}/docs). Ctrl-C stops.", err=True)

    server.serve(folder, host=host, api_key=api_key, ready=ready, **limits)


def run_options(command: Any) -> Any:
    """--run-name and --checkpoint-dir: which training run."""
    options = [
        click.option("--run-name", help="The training run.  [default: the most recently trained]"),
        checkpoint_dir_option,
    ]
    return _stacked(command, options)


def _find_run(run_name: str | None, checkpoint_dir: Path) -> runs.Run:
    """The named run, or the most recently trained one (said on stderr)."""
    run, latest = runs.find(run_name, checkpoint_dir)
    if latest:
        click.echo(
            f"Using run {run.name} (the most recently trained in {checkpoint_dir}; "
            "--run-name picks another).",
            err=True,
        )
    return run


@cli.command(
    epilog="""\b
Examples:
  titlegen subreddits
  titlegen subreddits --run-name medium
"""
)
@run_options
def subreddits(run_name: str | None, checkpoint_dir: Path) -> None:
    """List the subreddits a run was trained on, with their title counts.

    These are the names generate --subreddit accepts.
    """
    counts = sampling.subreddits(_find_run(run_name, checkpoint_dir).folder)
    width = max(len(name) for name in counts)
    for name, count in sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold())):
        click.echo(f"{name:<{width}}  {count:>7,}")


@cli.command(
    epilog="""\b
Examples:
  titlegen evaluate                          # the latest run on the titles it held out
  titlegen evaluate data/new_month.csv --run-name medium
"""
)
@click.argument(
    "source", metavar="[DATASET]", required=False, type=click.Path(dir_okay=False, path_type=Path)
)
@run_options
def evaluate(source: Path | None, run_name: str | None, checkpoint_dir: Path) -> None:
    """Loss and perplexity of a run on a dataset.

    Without DATASET, on the titles the run held out for validation, scored as train scores
    them (the same windows: the figure train reported for the checkpoint). Titles are framed
    as the run was trained (with the subreddit, if it was conditioned) and scored in
    1024-token windows. Lower is better; a perplexity of N means the model is as unsure as a
    fair choice among N tokens.
    """
    import math

    run = _find_run(run_name, checkpoint_dir)
    score = training.evaluate(run, source)
    what = source or "its held-out titles"
    click.echo(
        f"{run.name} (step {score.step}) on {what}: loss {score.loss:.3f}, perplexity "
        f"{math.exp(score.loss):,.1f} ({units.plural(score.tokens, 'token')})."
    )


@cli.command(
    epilog="""\b
Examples:
  titlegen plot                          # the latest run's loss.png
  titlegen plot --run-name medium -o medium-loss.png
"""
)
@run_options
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="PNG file to write.  [default: RUN/loss.png]",
)
def plot(run_name: str | None, checkpoint_dir: Path, out: Path | None) -> None:
    """Draw a run's training and validation loss against step (PNG).

    Reads RUN/metrics.csv, which train writes (and draws too, at the end of every run).
    """
    import titlegen.training.plot as plotting

    run = _find_run(run_name, checkpoint_dir)
    written = plotting.write(run, out, on_warning=lambda m: click.echo(m, err=True))
    click.echo(f"Wrote {written}.")


@cli.command(
    "runs",
    epilog="""\b
Examples:
  titlegen runs
  titlegen runs --json | jq '.[0].name'
  titlegen runs --checkpoint-dir data/experiments
""",
)
@checkpoint_dir_option
@click.option("--json", "as_json", is_flag=True, help="A JSON list instead of a table.")
def runs_command(checkpoint_dir: Path, as_json: bool) -> None:
    """List the training runs, the most recently trained first.

    For each: its base model, the step of its checkpoint, when it was last trained, the
    validation loss of its checkpoint and the lowest one measured (with its step), and its
    subreddits (conditioned runs).
    """
    import json

    found = [runs.summary(run) for run in runs.all_runs(checkpoint_dir)]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    if not found:
        click.echo(f"No trained runs in {checkpoint_dir}/: train one with titlegen train DATASET.")
        return
    click.echo(runs.table(found))


@cli.command(
    "export",
    epilog="""\b
Examples:
  titlegen export hf/run1                          # the latest run
  titlegen export hf/medium --run-name medium --overwrite
  titlegen export hf/gpt2 --model 124M
  hf upload my-name/reddit-titles hf/run1        # then to the Hub (huggingface_hub's hf)
""",
)
@click.argument("out", metavar="OUT_DIR", type=click.Path(file_okay=False, path_type=Path))
@click.option("--run-name", help="Training run to export.  [default: the most recently trained]")
@checkpoint_dir_option
@click.option("--model", help="Export this base model instead of a run.")
@model_dir_option
@click.option("--overwrite", is_flag=True, help="Replace OUT_DIR if it holds an earlier export.")
def export_command(
    out: Path,
    run_name: str | None,
    checkpoint_dir: Path,
    model: str | None,
    model_dir: Path,
    overwrite: bool,
) -> None:
    """Export a run or base model for Hugging Face transformers.

    OUT_DIR gets what GPT2LMHeadModel.from_pretrained and AutoTokenizer.from_pretrained load:
    config.json, model.safetensors (the latest checkpoint's weights, float32), the vocabulary
    and a tokenizer that gives titlegen's tokens, generation_config.json with generate's
    defaults, a model card (README.md) and the run's format (titlegen.json). The folder is
    built beside OUT_DIR and renamed into place when complete. PyTorch is not needed.
    """
    if model is not None and run_name is not None:
        raise TitlegenError("Give --run-name or --model, not both.")
    if model is not None:
        folder = sampling.model_folder(model, model_dir)
    else:
        folder = _find_run(run_name, checkpoint_dir).folder
    done = huggingface.export(folder, out, overwrite=overwrite)
    hparams = done.hparams
    click.echo(
        f"Exported {folder.name} (step {done.step}: {units.plural(hparams['n_layer'], 'layer')}, "
        f"{hparams['n_embd']} wide, {units.plural(hparams['n_vocab'], 'token')}) to {out}; "
        f"load it with GPT2LMHeadModel.from_pretrained({str(out)!r})."
    )


@cli.command(
    "import",
    epilog="""\b
Examples:
  titlegen import hf/run1 run1-back
  titlegen generate --model run1-back --nsamples 5
  hf download openai-community/gpt2 --local-dir hf/gpt2 && titlegen import hf/gpt2 gpt2
""",
)
@click.argument("source", metavar="HF_DIR", type=click.Path(file_okay=False, path_type=Path))
@click.argument("name")
@model_dir_option
@click.option("--overwrite", is_flag=True, help="Replace an existing model of that name.")
def import_command(source: Path, name: str, model_dir: Path, overwrite: bool) -> None:
    """Import a GPT-2 saved by Hugging Face transformers as a base model.

    HF_DIR holds model.safetensors, config.json and the tokenizer (vocab.json and merges.txt,
    or tokenizer.json): what save_pretrained writes, or titlegen export. It becomes
    --model-dir/NAME in gpt-2-simple's layout (hparams.json, encoder.json, vocab.bpe, a
    TensorFlow checkpoint), which train, generate --model NAME and gpt-2-simple use like a
    downloaded GPT-2; a titlegen export brings back its run's format and subreddits. Nothing
    is written unless all of it reads.
    """
    done = huggingface.import_model(source, name, model_dir=model_dir, overwrite=overwrite)
    hparams = done.hparams
    kept = ", with its run's format and subreddits" if done.record else ""
    click.echo(
        f"Imported {source} as {done.folder}{kept}: {units.plural(hparams['n_layer'], 'layer')}, "
        f"{hparams['n_embd']} wide, {units.plural(hparams['n_vocab'], 'token')}. Sample it with "
        f"titlegen generate --model {name}"
        + ("" if model_dir == paths.MODEL_DIR else f" --model-dir {model_dir}")
        + "."
    )
