"""Subreddit conditioning: a tiny real GPT-2, made and trained here on three subreddits whose
styles a rule tells apart, must write in the style it is asked for."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from styles import STYLES

from titlegen.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def style(title: str) -> str | None:
    return next((name for name, rule in STYLES.items() if rule.fullmatch(title)), None)


@pytest.fixture(scope="module")
def styled(styled_runs: Path) -> list[str]:
    return ["--run-name", "styled", "--checkpoint-dir", str(styled_runs)]


@pytest.fixture(scope="module")
def plain(styled_runs: Path) -> list[str]:
    return ["--run-name", "plain", "--checkpoint-dir", str(styled_runs)]


@pytest.mark.parametrize("subreddit", sorted(STYLES))
def test_titles_come_in_the_requested_style(styled, subreddit):
    result = run("generate", *styled, "--subreddit", subreddit, "--nsamples", "30",
                 "--seed", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    titles = result.stdout.splitlines()
    assert len(titles) == 30
    matching = sum(style(title) == subreddit for title in titles)
    assert matching >= 27, titles  # 90%; a model that ignored the subreddit would give ~33%


def test_prefix_goes_after_the_subreddit(styled):
    result = run("generate", *styled, "--subreddit", "shouting", "--prefix", "WOW",
                 "--nsamples", "10", "--seed", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    titles = result.stdout.splitlines()
    assert all(t.startswith("WOW") for t in titles)
    assert sum(style(t) == "shouting" for t in titles) >= 8, titles


def test_a_prefix_alone_draws_each_subreddit_from_the_runs_own(styled, tmp_path):
    # The prompt is <|startoftext|>NAME PREFIX: a prefix right after the marker was read as
    # the name, and the model's first word glued onto it ("WOWHUGE!", "WOW12 40").
    def generate(seed: str) -> list[dict]:
        out = tmp_path / f"titles-{seed}.jsonl"
        result = run("generate", *styled, "--prefix", "WOW", "--nsamples", "20",
                     "--seed", seed, "-o", str(out))  # fmt: skip
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in out.read_text().splitlines()]

    records = generate("42")
    assert len(records) == 20
    for record in records:
        assert re.fullmatch(r"WOW(?:[ !?.,:].*)?", record["title"]), records
    assert {r["subreddit"] for r in records} <= set(STYLES)
    assert len({r["subreddit"] for r in records}) >= 2  # drawn as trained: 150 titles each
    assert [(r["subreddit"], r["title"]) for r in generate("42")] == [
        (r["subreddit"], r["title"]) for r in records
    ]


@pytest.mark.parametrize("subreddit", [None, "whispers"])
def test_truncate_at_a_space_gives_one_word_titles(styled, subreddit, tmp_path):
    # A conditioned title starts with a space (and, unasked, after the subreddit's name): a
    # cut there would leave nothing, and "train it more".
    out = tmp_path / "titles.csv"
    asked = ["--subreddit", subreddit] if subreddit else []
    result = run("generate", *styled, *asked, "--truncate", " ", "--nsamples", "12",
                 "--seed", "1", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open(newline="") as f:
        records = list(csv.DictReader(f))
    assert len(records) == 12
    assert all(r["title"] and " " not in r["title"] for r in records), records
    # Unasked, the model names the subreddit first; a 200-step model sometimes skips the name
    # (its title is kept, with no subreddit), never writes another one.
    assert {r["subreddit"] for r in records} <= {*STYLES, ""}, records
    assert sum(r["subreddit"] in STYLES for r in records) >= 10, records
    if subreddit:
        assert sum(style(r["title"]) == subreddit for r in records) >= 10, records


def test_records_carry_the_subreddit_and_titles_are_spread_evenly(styled, tmp_path):
    out = tmp_path / "titles.jsonl"
    result = run("generate", *styled, "--subreddit", "numbers", "--subreddit",
                 "whispers", "--nsamples", "5", "--seed", "1", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["subreddit"] for r in records] == ["numbers"] * 3 + ["whispers"] * 2


def test_unasked_the_model_names_the_subreddit_it_wrote_for(styled, tmp_path):
    out = tmp_path / "titles.csv"
    result = run("generate", *styled, "--nsamples", "30", "--seed", "3", "-o",
                 str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open(newline="") as f:
        records = list(csv.DictReader(f))
    assert len(records) == 30
    assert {r["subreddit"] for r in records} <= set(STYLES)
    assert len({r["subreddit"] for r in records}) >= 2  # the model chooses, not one fixed name
    agree = sum(style(r["title"]) == r["subreddit"] for r in records)
    assert agree >= 27, records


def test_subreddits_lists_names_with_counts(styled):
    result = run("subreddits", *styled)
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["numbers", "150", "shouting", "150", "whispers", "150"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("numbrs", "styled was not trained on r/numbrs: did you mean numbers?"),
        ("pizza", "styled was not trained on r/pizza: titlegen subreddits --run-name styled"),
    ],
)
def test_unknown_subreddit_suggests_the_closest(styled, name, message):
    result = run("generate", *styled, "--subreddit", name)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_subreddit_names_match_whatever_the_case(styled):
    result = run("generate", *styled, "--subreddit", "r/NUMBERS", "--nsamples", "3",
                 "--seed", "1")  # fmt: skip
    assert result.exit_code == 0, result.output


def test_a_run_trained_without_conditioning_refuses_subreddit(plain):
    result = run("generate", *plain, "--subreddit", "numbers")
    assert result.exit_code == 1
    assert "plain was trained without subreddits, so --subreddit cannot steer it" in result.output
    listed = run("subreddits", *plain)
    assert listed.exit_code == 0  # it still knows what its dataset held
    assert "numbers" in listed.output


def test_one_sampling_graph_serves_every_subreddit(styled_runs):
    from titlegen import sampling

    generator = sampling.Generator(styled_runs / "styled")
    try:
        samples = generator.generate(
            sampling.SampleOptions(nsamples=10, seed=1), ["numbers", "shouting", "whispers"]
        )
    finally:
        generator.close()
    assert [s.subreddit for s in samples] == ["numbers"] * 4 + ["shouting"] * 3 + ["whispers"] * 3
    assert len(generator.samplers) == 1  # shares of 4, 3 and 3 titles, one batch size
