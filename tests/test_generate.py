"""`titlegen generate` on a tiny run trained by the tests (real TensorFlow on the CPU)."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from titlegen import sampling
from titlegen.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def run_args(trained) -> list[str]:
    folder = trained[0]
    return ["--run-name", folder.name, "--checkpoint-dir", str(folder.parent)]


def titles(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def test_default_output_is_clean_titles(run_args):
    lines = titles(run("generate", *run_args, "--seed", "1"))
    assert len(lines) == 10
    for line in lines:
        assert line and line == line.strip() and "  " not in line
        assert "<|" not in line and "|>" not in line  # no markers, nor pieces of them


def test_nsamples_need_not_be_a_multiple_of_the_batch(run_args):
    assert len(titles(run("generate", *run_args, "--nsamples", "5", "--batch-size", "2"))) == 5


def test_same_seed_same_titles(run_args):
    first = titles(run("generate", *run_args, "--seed", "7", "--nsamples", "4"))
    again = titles(run("generate", *run_args, "--seed", "7", "--nsamples", "4"))
    other = titles(run("generate", *run_args, "--seed", "8", "--nsamples", "4"))
    assert first == again
    assert first != other


def test_a_command_in_its_own_process_is_quiet_and_repeatable(run_args):
    import subprocess
    import sys

    command = [sys.executable, "-m", "titlegen", "generate", *run_args, "--seed", "7"]
    first = subprocess.run(command, capture_output=True, text=True, check=True)
    again = subprocess.run(command, capture_output=True, text=True, check=True)
    assert first.stdout == again.stdout and len(first.stdout.splitlines()) == 10
    # TensorFlow's C++ start-up logs (absl, before its log level applies) are muted.
    for noise in ("cudart_stub", "cuInit", "port.cc", "absl::InitializeLog"):
        assert noise not in first.stderr, first.stderr


def test_top_k_1_is_greedy(run_args):
    # With a subreddit named: on this conditioned run a prefix alone draws each title's
    # subreddit by --seed.
    greedy = [*run_args, "--top-k", "1", "--nsamples", "3", "--prefix", "What"]
    greedy += ["--subreddit", "aww"]
    one = titles(run("generate", *greedy, "--seed", "1"))
    two = titles(run("generate", *greedy, "--seed", "2"))
    assert one == two and len(set(one)) == 1


@pytest.mark.parametrize(
    "options",
    [
        ["--top-p", "0.5"],
        ["--top-k", "5", "--top-p", "0.9"],
        ["--temperature", "1.5"],
        ["--length", "3"],
    ],
)
def test_sampling_options(run_args, options):
    assert len(titles(run("generate", *run_args, "--nsamples", "3", *options))) == 3


def test_top_k_beside_top_p_is_said_to_be_ignored(run_args):
    result = run("generate", *run_args, "--nsamples", "2", "--top-k", "5", "--top-p", "0.9")
    assert len(titles(result)) == 2
    assert "--top-k 5 is ignored: --top-p is set, and wins as in gpt-2-simple." in result.stderr
    alone = run("generate", *run_args, "--nsamples", "2", "--top-k", "5")
    assert "ignored" not in alone.stderr


def test_no_replacement_characters_where_a_row_ends_inside_a_character(run_args):
    # One token a title, nearly uniform: many are lone bytes of a multi-byte character, which
    # decode to U+FFFD. Those titles are empty once it is removed, and sampled again.
    wild = ["--length", "1", "--temperature", "20", "--nsamples", "40", "--seed", "1"]
    wild += ["--subreddit", "aww"]  # else that one token would be the subreddit's name
    lines = titles(run("generate", *run_args, *wild))
    assert len(lines) == 40 and all(line for line in lines)
    assert not [line for line in lines if "\ufffd" in line]


def test_out_dash_is_standard_output(run_args):
    common = [*run_args, "--nsamples", "3", "--seed", "1"]
    assert titles(run("generate", *common, "-o", "-")) == titles(run("generate", *common))


def test_prefix_and_include_prefix(run_args):
    common = [*run_args, "--seed", "4", "--nsamples", "4", "--prefix", "What"]
    included = titles(run("generate", *common))
    excluded = titles(run("generate", *common, "--no-include-prefix"))
    assert all(t.startswith("What") for t in included)
    assert [t.removeprefix("What").strip() for t in included] == excluded


def test_truncate_is_literal(run_args):
    # As a regular expression "." would cut every title at its first character.
    lines = titles(run("generate", *run_args, "--truncate", ".", "--nsamples", "8", "--seed", "5"))
    assert len(lines) == 8 and all("." not in t for t in lines)
    assert any(len(t) > 1 for t in lines)


@pytest.mark.parametrize("suffix", [".txt", ".csv", ".jsonl"])
def test_output_files(run_args, tmp_path, suffix):
    out = tmp_path / f"titles{suffix}"
    result = run(
        "generate", *run_args, "--nsamples", "3", "--seed", "1", "--top-k", "40", "-o", str(out)
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    text = out.read_text(encoding="utf-8")
    if suffix == ".txt":
        assert len(text.splitlines()) == 3
        return
    rows = (
        [json.loads(line) for line in text.splitlines()]
        if suffix == ".jsonl"
        else list(csv.DictReader(text.splitlines()))
    )
    assert len(rows) == 3
    assert all(str(r["synthetic"]) == "True" and str(r["top_k"]) == "40" for r in rows)
    assert all(str(r["seed"]) == "1" and r["title"] for r in rows)
    assert list(rows[0])[:2] == ["subreddit", "title"]  # a dataset's columns, in its order


def test_sampling_graph_is_built_once(trained):
    generator = sampling.Generator(trained[0])
    options = sampling.SampleOptions(nsamples=3, batch_size=2, seed=1)
    try:
        generator.generate(options)
        size = len(generator.graph.get_operations())
        generator.generate(options)
        generator.generate(options)
        assert len(generator.graph.get_operations()) == size
    finally:
        generator.close()


def test_a_plain_gpt_2_simple_run_works(tiny_model, titles_csv, tmp_path):
    import gpt_2_simple as gpt2
    import tensorflow as tf

    text = tmp_path / "titles.txt"
    text.write_text(
        "".join(
            f"<|startoftext|>{t}<|endoftext|>\n" for t in titles_csv.read_text().splitlines()[1:]
        )
    )
    with tf.Graph().as_default():
        session = gpt2.start_tf_sess()
        gpt2.finetune(
            session,
            str(text),
            steps=2,
            model_name=tiny_model.name,
            model_dir=str(tiny_model.parent),
            checkpoint_dir=str(tmp_path / "ck"),
            run_name="plain",
            accumulate_gradients=1,
            print_every=1,
        )
        session.close()

    result = run(
        "generate",
        "--run-name",
        "plain",
        "--checkpoint-dir",
        str(tmp_path / "ck"),
        "--nsamples",
        "3",
        "--seed",
        "1",
    )

    assert len(titles(result)) == 3


@pytest.mark.parametrize(
    ("args", "message", "code"),
    [
        (
            ["--temperature", "0"],
            "Error: --temperature must be at least 0.001; for the likeliest token every time use "
            "--top-k 1.",
            1,
        ),
        (["--temperature", "-1"], "--temperature must be at least 0.001", 1),
        (["--temperature", "1e-300"], "--temperature must be at least 0.001", 1),
        (["--temperature", "inf"], "--temperature must be a finite number, not inf.", 1),
        (["--top-k", "100000", "--nsamples", "1"], "", 0),  # beyond the vocabulary: no top-k
        (["--top-p", "1.5"], "'--top-p': 1.5 is not in the range 0<=x<=1", 2),
        (["--top-k", "-1"], "'--top-k': -1 is not in the range x>=0", 2),
        (["--nsamples", "0"], "'--nsamples': 0 is not in the range x>=1", 2),
        (["--length", "2000"], "'--length': 2000 is not in the range 1<=x<=1023", 2),
        (["--run-name", "nope"], "There is no trained run nope in", 1),
        (["--run-name", "../x"], "--run-name '../x' is not a folder name", 1),
        (["--model", "124M", "--model-dir", "{tmp}"], "Model 124M is not in", 1),
        (["-o", "{tmp}/t.xlsx"], "-o must end in .txt, .csv, .jsonl, not t.xlsx", 1),
    ],
)
def test_bad_input(args, message, code, tmp_path, trained):
    folder = trained[0]
    result = run(
        "generate", "--checkpoint-dir", str(folder.parent), *[a.format(tmp=tmp_path) for a in args]
    )
    assert result.exit_code == code, result.output
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "t.xlsx").exists()


def test_records_carry_the_seed_even_when_none_was_given(trained, tmp_path):
    where = ["--run-name", trained[0].name, "--checkpoint-dir", str(trained[0].parent)]
    out = tmp_path / "titles.jsonl"
    made = CliRunner().invoke(cli, ["generate", *where, "--nsamples", "3", "-o", str(out)])
    assert made.exit_code == 0, made.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    seed = records[0]["seed"]
    assert isinstance(seed, int) and all(r["seed"] == seed for r in records)
    again = CliRunner().invoke(cli, ["generate", *where, "--nsamples", "3", "--seed", str(seed)])
    assert again.stdout.splitlines() == [r["title"] for r in records]
