"""Rows where the model began another document are dropped, sampled again and counted: a start
marker, pieces of a marker, or on a conditioned run a subreddit's name where the title begins."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from titlegen import sampling
from titlegen.cli import cli

PIECES = re.compile(r"<\||\|>|startoftext|endoftext")
DROPPED = re.compile(r"Dropped (\d+) titles? where the model began another document\.")


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_no_marker_piece_reaches_the_output_and_the_drops_are_counted(styled_runs):
    # Hot enough that the tiny model now and then skips the end marker and begins another
    # document (another subreddit's, or this one's again).
    args = ["--run-name", "styled", "--checkpoint-dir", str(styled_runs)]
    for asked in (["--subreddit", "whispers"], []):
        result = run("generate", *args, *asked, "--nsamples", "64", "--temperature", "1.5",
                     "--seed", "1")  # fmt: skip
        assert result.exit_code == 0, result.output
        titles = result.stdout.splitlines()
        assert len(titles) == 64
        assert not [t for t in titles if PIECES.search(t)], titles
        dropped = DROPPED.search(result.stderr)
        assert dropped and int(dropped[1]) >= 1, result.stderr


@pytest.fixture(scope="module")
def styled(styled_runs):
    generator = sampling.Generator(styled_runs / "styled")
    yield generator
    generator.close()


@pytest.mark.parametrize(
    ("subreddit", "row", "expected"),
    [
        ("whispers", " calm rain", ("calm rain", "whispers")),
        ("whispers", " shouting WOW BIG!", None),  # another subreddit's name, then its title
        ("whispers", "<|startoftext|>whispers calm", None),
        ("whispers", " calm rain<|startoftext|>numbers 1 2", None),  # no end marker, then
        ("whispers", " calm startoftext rain", None),
        ("whispers", " calm <|", None),
        ("whispers", " calm artoftext|>rain", None),  # a broken piece is a piece too
        ("whispers", " calm|end", None),
        ("whispers", " calm rain<|endoftext|><|startoftext|>", ("calm rain", "whispers")),
        ("whispers", " whispers", ("whispers", "whispers")),  # one word: a title
        # Unasked, the model writes the name itself: one name, then the title.
        (None, "numbers 12 40<|endoftext|>", ("12 40", "numbers")),
        (None, "numbers shouting WOW!", None),
        (None, "startoftext numbers 12", None),
    ],
)
def test_a_row_that_begins_another_document_is_dropped(styled, subreddit, row, expected):
    tokens = styled.vocabulary.encode(row).tolist()
    sample = styled._sample(tokens, sampling.SampleOptions(), subreddit)
    assert (sample and (sample.title, sample.subreddit)) == expected


def test_the_count_is_a_sentence():
    assert sampling.restarts_summary(1) == (
        "Dropped 1 title where the model began another document."
    )
    assert sampling.restarts_summary(3) == (
        "Dropped 3 titles where the model began another document."
    )
