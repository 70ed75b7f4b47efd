"""Subreddit conditioning: a tiny real GPT-2, made and trained here on three subreddits whose
styles a rule tells apart, must write in the style it is asked for."""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import TINY

from titlegen.cli import cli

LOUD = [
    "WOW",
    "HUGE",
    "NEWS",
    "BIG",
    "LOOK",
    "THIS",
    "NOW",
    "BEST",
    "EVER",
    "WIN",
    "GOAL",
    "YES",
    "STOP",
    "FIRE",
]
SOFT = [
    "quiet",
    "soft",
    "calm",
    "slow",
    "rain",
    "moss",
    "tea",
    "sleep",
    "gentle",
    "hush",
    "dusk",
    "mist",
    "leaf",
    "nap",
]
STYLES = {  # how a title of each subreddit looks
    "numbers": re.compile(r"\d+( \d+)*"),
    "shouting": re.compile(r"[A-Z]+( [A-Z]+)*!"),
    "whispers": re.compile(r"[a-z]+( [a-z]+)*"),
}


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def style(title: str) -> str | None:
    return next((name for name, rule in STYLES.items() if rule.fullmatch(title)), None)


@pytest.fixture(scope="module")
def styles_csv(tmp_path_factory) -> Path:
    rng = random.Random(0)
    path = tmp_path_factory.mktemp("styles") / "styles.csv"
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["subreddit", "title"])
        for _ in range(150):
            words = rng.randint(3, 6)
            writer.writerow(["numbers", " ".join(str(rng.randint(1, 99)) for _ in range(words))])
            writer.writerow(["shouting", " ".join(rng.choices(LOUD, k=words)) + "!"])
            writer.writerow(["whispers", " ".join(rng.choices(SOFT, k=words))])
    return path


@pytest.fixture(scope="module")
def runs(styles_csv, tmp_path_factory) -> Path:
    """checkpoint/styled: 200 steps, conditioned (the default); checkpoint/plain: unconditioned."""
    root = tmp_path_factory.mktemp("conditioning")
    made = run("new-model", "tiny", "--from", str(styles_csv), "--model-dir", str(root), *TINY)
    assert made.exit_code == 0, made.output
    common = ["--model", "tiny", "--model-dir", str(root), "--checkpoint-dir", str(root / "ck")]
    common += ["--accumulate-gradients", "1", "--print-every", "100", "--seed", "1"]
    styled = run("train", str(styles_csv), *common, "--run-name", "styled", "--steps", "200",
                 "--learning-rate", "3e-3")  # fmt: skip
    assert styled.exit_code == 0, styled.output
    assert "conditioned on the subreddit" in styled.output
    plain = run("train", str(styles_csv), *common, "--run-name", "plain", "--steps", "1",
                "--no-condition")  # fmt: skip
    assert plain.exit_code == 0, plain.output
    assert "conditioned" not in plain.output
    return root / "ck"


def at(runs: Path, name: str) -> list[str]:
    return ["--run-name", name, "--checkpoint-dir", str(runs)]


@pytest.mark.parametrize("subreddit", sorted(STYLES))
def test_titles_come_in_the_requested_style(runs, subreddit):
    result = run("generate", *at(runs, "styled"), "--subreddit", subreddit, "--nsamples", "30",
                 "--seed", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    titles = result.stdout.splitlines()
    assert len(titles) == 30
    matching = sum(style(title) == subreddit for title in titles)
    assert matching >= 27, titles  # 90%; a model that ignored the subreddit would give ~33%


def test_prefix_goes_after_the_subreddit(runs):
    result = run("generate", *at(runs, "styled"), "--subreddit", "shouting", "--prefix", "WOW",
                 "--nsamples", "10", "--seed", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    titles = result.stdout.splitlines()
    assert all(t.startswith("WOW") for t in titles)
    assert sum(style(t) == "shouting" for t in titles) >= 8, titles


def test_records_carry_the_subreddit_and_titles_are_spread_evenly(runs, tmp_path):
    out = tmp_path / "titles.jsonl"
    result = run("generate", *at(runs, "styled"), "--subreddit", "numbers", "--subreddit",
                 "whispers", "--nsamples", "5", "--seed", "1", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["subreddit"] for r in records] == ["numbers"] * 3 + ["whispers"] * 2


def test_unasked_the_model_names_the_subreddit_it_wrote_for(runs, tmp_path):
    out = tmp_path / "titles.csv"
    result = run("generate", *at(runs, "styled"), "--nsamples", "30", "--seed", "3", "-o",
                 str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open(newline="") as f:
        records = list(csv.DictReader(f))
    assert len(records) == 30
    assert {r["subreddit"] for r in records} <= set(STYLES)
    assert len({r["subreddit"] for r in records}) >= 2  # the model chooses, not one fixed name
    agree = sum(style(r["title"]) == r["subreddit"] for r in records)
    assert agree >= 27, records


def test_subreddits_lists_names_with_counts(runs):
    result = run("subreddits", *at(runs, "styled"))
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["numbers", "150", "shouting", "150", "whispers", "150"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("numbrs", "styled was not trained on r/numbrs: did you mean numbers?"),
        ("pizza", "styled was not trained on r/pizza: titlegen subreddits --run-name styled"),
    ],
)
def test_unknown_subreddit_suggests_the_closest(runs, name, message):
    result = run("generate", *at(runs, "styled"), "--subreddit", name)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_subreddit_names_match_whatever_the_case(runs):
    result = run("generate", *at(runs, "styled"), "--subreddit", "r/NUMBERS", "--nsamples", "3",
                 "--seed", "1")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_run_trained_without_conditioning_refuses_subreddit(runs):
    result = run("generate", *at(runs, "plain"), "--subreddit", "numbers")
    assert result.exit_code == 1
    assert "plain was trained without subreddits, so --subreddit cannot steer it" in result.output
    listed = run("subreddits", *at(runs, "plain"))
    assert listed.exit_code == 0  # it still knows what its dataset held
    assert "numbers" in listed.output
