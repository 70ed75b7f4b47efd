"""`titlegen generate --novel` and `--unique`, on the tiny conditioned run of conftest."""

from __future__ import annotations

import csv
import re
import shutil

import pytest
from click.testing import CliRunner
from conftest import train_cli

from titlegen.cli import cli
from titlegen.dataset import normalize
from titlegen.sampling import generate
from titlegen.sampling.novelty import Filter

WHISPERS = ["--subreddit", "whispers", "--nsamples", "40", "--seed", "1"]


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def titles(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


@pytest.fixture
def copied(styled_runs, tmp_path):
    """A copy of the styled run, whose titles.csv a test may change: (args, folder)."""
    shutil.copytree(styled_runs / "styled", tmp_path / "styled")
    return ["--run-name", "styled", "--checkpoint-dir", str(tmp_path)], tmp_path / "styled"


def test_novel_drops_training_titles_and_samples_on(copied):
    args, folder = copied
    first = titles(run("generate", *args, *WHISPERS))
    # Make every title of that first output a training title: with the same seed, --novel then
    # meets all of them again, drops them, and must sample on for new ones.
    with (folder / "titles.csv").open("a", newline="") as f:
        csv.writer(f).writerows(["whispers", title, "train"] for title in first)
    with (folder / "titles.csv").open(newline="") as f:
        known = {normalize(row["title"]) for row in csv.DictReader(f)}

    result = run("generate", *args, *WHISPERS, "--novel")

    out = titles(result)
    assert len(out) == 40
    assert not [t for t in out if normalize(t) in known]
    dropped = re.search(r"Dropped (\d+) copies of training titles\.", result.stderr)
    assert dropped and int(dropped[1]) >= 40, result.stderr


def test_unique_drops_repeats(copied):
    args, _ = copied
    short = [*WHISPERS, "--length", "2"]  # two tokens: few possible titles, so repeats
    plain = titles(run("generate", *args, *short))
    assert len({normalize(t) for t in plain}) < len(plain)
    result = run("generate", *args, *short, "--unique")
    out = titles(result)
    assert len(out) == 40 and len({normalize(t) for t in out}) == 40
    assert re.search(r"Dropped \d+ repeats?\.", result.stderr), result.stderr


def test_novel_needs_the_runs_titles(trained, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(trained[0], copy)
    (copy / "titles.csv").unlink()  # as a run trained by plain gpt-2-simple
    result = run("generate", "--run-name", "copy", "--checkpoint-dir", str(tmp_path), "--novel")
    assert result.exit_code == 1
    assert "has no titles.csv: train the run with titlegen train" in result.output


def test_filter_counts_what_it_drops():
    keep = Filter({normalize("TIL: cats sleep")}, unique=True)
    admitted = [
        t for t in ["til cats sleep!", "Dogs bark", "dogs  bark.", "New one"] if keep.admit(t)
    ]
    assert admitted == ["Dogs bark", "New one"]
    assert keep.summary() == "Dropped 1 copy of training titles and 1 repeat."
    assert Filter(unique=True).summary() == "Dropped none: every title was new."


def test_a_model_that_only_copies_gets_a_clear_message():
    keep = Filter({"a"})
    keep.copies = 95
    message = generate._shortfall(5, 10, 20, keep)
    assert message.startswith("Only 5 of 10 titles were new after 20 tries (95 copies of ")
    assert "the model mostly copies; raise --temperature" in message


def test_a_run_resumed_on_other_data_remembers_both(tiny_model, titles_csv, styles_csv, tmp_path):
    assert train_cli(titles_csv, tiny_model, tmp_path, "--steps", "1").exit_code == 0
    result = train_cli(styles_csv, tiny_model, tmp_path, "--steps", "1")
    assert result.exit_code == 0, result.output
    with (tmp_path / "run1" / "titles.csv").open(newline="") as f:
        remembered = {row["title"] for row in csv.DictReader(f)}
    for source in (titles_csv, styles_csv):
        with source.open(newline="") as f:
            assert {row["title"] for row in csv.DictReader(f)} <= remembered
