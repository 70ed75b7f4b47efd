"""Keyword conditioning: `train --keywords` puts a few of each title's words before it, and
`generate --keywords` asks for titles about them. The model tests use `keyword_run`, the tiny
model of `styled_runs` trained 400 steps with --keywords on three subreddits whose styles a
rule tells apart (tests/styles.py)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from styles import SOFT, STYLES

from titlegen import dataset, runs
from titlegen.cli import cli
from titlegen.errors import TitlegenError


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def where(folder: Path) -> list[str]:
    return ["--checkpoint-dir", str(folder.parent), "--run-name", folder.name]


# -- picking keywords ------------------------------------------------------------------------


def test_content_words_leave_out_stop_words_case_and_repeats():
    words = dataset.content_words("My Cat’s 2 cats and THE cat: why is it a cat? Cat!")
    assert words == ["cat's", "cats", "cat"]
    assert dataset.content_words("What is this? I can't even.") == ["even"]


def test_a_title_of_stop_words_only_has_an_empty_keyword_field():
    keywords = dataset.Keywords(seed=1)
    assert keywords.of("What is this?") == []
    (doc,) = dataset.documents([dataset.Row("aww", "What is this?")], condition=True,
                               keywords=keywords)  # fmt: skip
    assert doc == "<|startoftext|> ~ aww What is this?<|endoftext|>\n"


def test_keywords_are_a_few_content_words_drawn_by_the_seed_and_the_title_alone():
    title = "Vacuum cleaner terrifies my old cat during thunderstorm tonight"
    content = dataset.content_words(title)
    first = dataset.Keywords(seed=5, without=0)
    picks = [first.of(title) for _ in range(3)]
    assert picks[0] == picks[1] == picks[2]  # the same seed, the same keywords
    assert picks[0] == dataset.Keywords(seed=5, without=0).of(title)
    assert 1 <= len(picks[0]) <= dataset.MAX_KEYWORDS
    assert len(set(picks[0])) == len(picks[0]) and set(picks[0]) <= set(content)
    others = {tuple(dataset.Keywords(seed=s, without=0).of(title)) for s in range(40)}
    assert len(others) > 20  # another seed, other picks
    assert {len(p) for p in others} == {1, 2, 3}  # "a few": 1 to 3
    # Drawn in a random order, not the title's: the order a user asks in must not matter.
    assert any(list(p) != sorted(p, key=content.index) for p in others)
    # A quarter of titles go without: a prompt without keywords asks for any title.
    empty = sum(dataset.Keywords(seed=s).of(title) == [] for s in range(400))
    assert 70 <= empty <= 130, empty


def test_documents_put_the_keywords_before_the_subreddit_and_the_title():
    keywords = dataset.Keywords(seed=2, without=0)
    row = dataset.Row("aww", "My cat hates the vacuum <|endoftext|>")
    words = keywords.of("My cat hates the vacuum")
    assert words and set(words) <= {"cat", "hates", "vacuum"}
    (conditioned,) = dataset.documents([row], condition=True, keywords=keywords)
    (alone,) = dataset.documents([row], keywords=keywords)
    # Keywords joined without a space: tokens apart from the title's words, which a small model
    # finds and copies; the subreddit stays right before the title, where a small model
    # follows it.
    field = ",".join(words)
    assert conditioned == f"<|startoftext|>{field} ~ aww My cat hates the vacuum<|endoftext|>\n"
    assert alone == f"<|startoftext|>{field} ~ My cat hates the vacuum<|endoftext|>\n"
    assert dataset.documents([row], condition=True) == [
        "<|startoftext|>aww My cat hates the vacuum<|endoftext|>\n"
    ]  # without keywords, as before


def test_asked_keywords_are_framed_as_training_frames_them():
    keywords = dataset.Keywords(seed=0)
    assert keywords.asked("Cat, the VACUUM") == ["cat", "vacuum"]
    assert keywords.asked(["rain", "tea nap"]) == ["rain", "tea", "nap"]
    with pytest.raises(TitlegenError, match=r"^No keyword left in 'the, my': keywords are"):
        keywords.asked("the, my")
    with pytest.raises(TitlegenError, match=r"^Ask for at most 3 keywords .*, not 4: a1, b2"):
        keywords.asked("a1, b2, c3 d4")
    with pytest.raises(TitlegenError, match="at most 200 characters, not 201"):
        keywords.asked("x" * 201)


def test_the_format_round_trips_through_the_record():
    keywords = dataset.Keywords(seed=9, then="\n", most=2, without=0.5)
    form = runs.Format(titles=True, condition=True, source="titles", keywords=keywords)
    record = form.as_record()
    assert record["keywords"] == {"join": ",", "then": "\n", "most": 2, "without": 0.5, "seed": 9,
                                  "case": "lower", "order": "drawn",
                                  "place": "before the subreddit"}  # fmt: skip
    assert runs.Format.of_record({"format": record}).keywords == form.keywords
    assert runs.Format.of_record({"format": {"source": "titles"}}).keywords is None


# -- a run trained with --keywords -----------------------------------------------------------


def test_the_run_records_its_keyword_format(keyword_run):
    record = json.loads((keyword_run / "titlegen.json").read_text())
    assert record["format"]["subreddit_then"] == " "
    assert record["format"]["keywords"] == {
        "join": ",", "then": " ~ ", "most": 3, "without": 0.25, "seed": 1, "case": "lower",
        "order": "drawn", "place": "before the subreddit",
    }  # fmt: skip
    assert record["settings"]["keywords"] is True
    listed = run("runs", "--checkpoint-dir", str(keyword_run.parent), "--json")
    assert listed.exit_code == 0, listed.output


def test_the_prompt_is_framed_as_training_framed_the_documents(keyword_run):
    from titlegen import encoding, sampling

    generator = sampling.Generator(keyword_run)
    try:
        prompt = generator._context("", "whispers", ["rain", "tea"])
        with_prefix = generator._context("soft", "whispers", ["rain"])
        unnamed = generator._context("", None, ["rain"])
        plain = generator._context("", "whispers")
    finally:
        generator.close()
    vocabulary = encoding.Vocabulary(keyword_run)
    assert vocabulary.decode(prompt) == "<|startoftext|>rain,tea ~ whispers"
    assert vocabulary.decode(with_prefix) == "<|startoftext|>rain ~ whispers soft"
    assert vocabulary.decode(unnamed) == "<|startoftext|>rain ~"  # the model names one
    assert vocabulary.decode(plain) == "<|startoftext|> ~ whispers"  # an empty field: any title
    # Each prompt's tokens are the start of a training document's tokens: the title's first
    # token (and the name, after the separator) carries its space, as in training.
    for tokens, doc in [
        (prompt, "<|startoftext|>rain,tea ~ whispers soft rain<|endoftext|>"),
        (unnamed, "<|startoftext|>rain ~ whispers soft rain<|endoftext|>"),
        (plain, "<|startoftext|> ~ whispers soft rain<|endoftext|>"),
    ]:
        assert vocabulary.encode(doc).tolist()[: len(tokens)] == tokens


@pytest.mark.parametrize(("subreddit", "words"), [("whispers", "rain"), ("numbers", "42, 7")])
def test_titles_asked_with_keywords_are_titles_of_the_asked_subreddit(
    keyword_run, subreddit, words
):
    # What a 400-step model learns of the keyword field: it is a field, the title comes after
    # the name, in its style. Whether titles contain the words is measured on the demo model
    # (benchmarks/quality.py): a model this small does not learn to copy them here.
    result = run("generate", *where(keyword_run), "--subreddit", subreddit, "--keywords", words,
                 "--nsamples", "30", "--seed", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    titles = result.stdout.splitlines()
    assert len(titles) == 30
    leaks = [t for t in titles if "~" in t or "," in t]  # the keyword field's separators
    assert len(leaks) <= 2, titles
    assert sum(bool(STYLES[subreddit].fullmatch(t)) for t in titles) >= 24, titles


def test_keywords_alone_let_the_model_pick_the_subreddit(keyword_run, tmp_path):
    out = tmp_path / "titles.jsonl"
    result = run("generate", *where(keyword_run), "--keywords", "moss, tea", "--nsamples", "20",
                 "--seed", "4", "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 20
    assert all(r["keywords"] == "moss, tea" for r in records)
    assert {r["subreddit"] for r in records} <= {*STYLES, ""}
    named = [r for r in records if r["subreddit"]]
    assert len(named) >= 16, records  # the model names one after the keywords, as trained
    assert sum(bool(STYLES[r["subreddit"]].fullmatch(r["title"])) for r in named) >= 0.8 * len(
        named
    ), records


def test_without_keywords_a_keyword_run_writes_any_title_of_the_runs(keyword_run, tmp_path):
    out = tmp_path / "titles.csv"
    result = run("generate", *where(keyword_run), "--nsamples", "20", "--seed", "2", "-o",
                 str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    with out.open(newline="") as f:
        records = list(csv.DictReader(f))
    assert len(records) == 20
    assert not [r for r in records if "~" in r["title"]], records  # no keyword field
    assert {r["subreddit"] for r in records} <= {*STYLES, ""}
    assert len({r["subreddit"] for r in records}) >= 2  # the model chooses, as trained
    agree = sum(r["subreddit"] in STYLES and bool(STYLES[r["subreddit"]].fullmatch(r["title"]))
                for r in records)  # fmt: skip
    assert agree >= 16, records


def test_a_prefix_on_a_keyword_run_starts_the_title(keyword_run):
    result = run("generate", *where(keyword_run), "--subreddit", "whispers", "--prefix",
                 "quiet rain", "--nsamples", "10", "--seed", "3")  # fmt: skip
    assert result.exit_code == 0, result.output
    titles = result.stdout.splitlines()
    assert len(titles) == 10 and all(t.startswith("quiet rain") for t in titles), titles
    assert sum(bool(STYLES["whispers"].fullmatch(t)) for t in titles) >= 8, titles


def test_truncate_cuts_the_title_not_the_keyword_field(keyword_run):
    result = run("generate", *where(keyword_run), "--subreddit", "whispers", "--truncate", " ",
                 "--nsamples", "10", "--seed", "5")  # fmt: skip
    assert result.exit_code == 0, result.output
    titles = result.stdout.splitlines()
    assert len(titles) == 10 and all(t and " " not in t for t in titles), titles
    assert all(t in SOFT for t in titles), titles


def test_evaluate_frames_held_out_titles_with_their_training_keywords(keyword_run):
    result = run("evaluate", *where(keyword_run))
    assert result.exit_code == 0, result.output
    # The validation loss train measured on the same titles, framed with the same keywords:
    # keywords drawn anew (another seed, or none) would score otherwise.
    saved = json.loads((keyword_run / "titlegen.json").read_text())["checkpoint"]["val_loss"]
    assert f"on its held-out titles: loss {saved:.3f}," in result.stdout, (result.stdout, saved)


@pytest.mark.parametrize(
    ("asked", "message"),
    [
        ("rain, tea, moss, nap", "Ask for at most 3 keywords (the run was trained with 1 to 3"),
        ("the, a", "No keyword left in 'the, a'"),
    ],
)
def test_bad_keywords_are_one_sentence(keyword_run, asked, message):
    result = run("generate", *where(keyword_run), "--keywords", asked)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_a_run_trained_without_keywords_refuses_them(styled_runs):
    result = run("generate", *where(styled_runs / "styled"), "--keywords", "rain")
    assert result.exit_code == 1
    assert result.output == (
        "Error: styled was trained without keywords, so --keywords cannot steer it: train a "
        "run with titlegen train --keywords.\n"
    )


def test_a_resumed_run_keeps_its_keywords_and_a_mismatch_is_one_sentence(
    keyword_run, styled_runs, styles_csv, tmp_path
):
    copy = tmp_path / "ck" / "keywords"
    shutil.copytree(keyword_run, copy)
    before = json.loads((copy / "titlegen.json").read_text())["format"]
    model_dir = ["--model-dir", str(keyword_run.parent.parent)]
    goes_on = run("train", str(styles_csv), *model_dir, *where(copy), "--steps", "1",
                  "--print-every", "1")  # fmt: skip
    assert goes_on.exit_code == 0, goes_on.output
    assert "conditioned on the subreddit and keywords" in goes_on.output
    assert json.loads((copy / "titlegen.json").read_text())["format"] == before
    refused = run("train", str(styles_csv), *model_dir, *where(copy), "--steps", "1",
                  "--no-keywords")  # fmt: skip
    assert refused.exit_code == 1
    assert (
        refused.output.startswith(
            "Error: keywords was trained with keywords, so it cannot go on without them: leave "
            "out --no-keywords"
        )
        and refused.output.count("\n") == 1
    ), refused.output
    plain = tmp_path / "ck" / "styled"
    shutil.copytree(styled_runs / "styled", plain)
    refused = run("train", str(styles_csv), *model_dir, *where(plain), "--steps", "1",
                  "--keywords")  # fmt: skip
    assert refused.exit_code == 1
    assert refused.output.startswith(
        "Error: styled was trained without keywords, so it cannot go on with them: leave out "
        "--keywords, train another run, or pass --restore-from fresh"
    ), refused.output


def test_keywords_need_a_title_dataset(tiny_model, tmp_path):
    text = tmp_path / "titles.txt"
    text.write_text("a title\n" * 50)
    result = run("train", str(text), "--model", tiny_model.name, "--model-dir",
                 str(tiny_model.parent), "--checkpoint-dir", str(tmp_path / "ck"), "--keywords",
                 "--steps", "1")  # fmt: skip
    assert result.exit_code == 1
    assert "--keywords frames titles, and" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "ck").exists()


def test_an_export_describes_the_keyword_format_and_prompts_in_it():
    from titlegen.models import huggingface

    keywords = dataset.Keywords(seed=1)
    form = runs.Format(titles=True, condition=True, source="titles", keywords=keywords,
                       subreddits={"aww": 3, "Jokes": 1})  # fmt: skip
    assert huggingface.example_prompt(form) == "<|startoftext|> ~ aww"
    unnamed = runs.Format(titles=True, source="titles", keywords=keywords)
    assert huggingface.example_prompt(unnamed) == "<|startoftext|> ~"
    line = huggingface._format_line(form)
    assert line.startswith("`<|startoftext|>KEYWORDS ~ SUBREDDIT TITLE<|endoftext|>`"), line
