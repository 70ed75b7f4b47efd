"""The run as one thing (issue 10): resume keeps the run's model and settings, commands chain
without --run-name, `titlegen runs`, keep-best names a checkpoint that exists, Ctrl-C and
kill -9 leave a run that goes on, one `train` per run, damaged files give one sentence.

Real tiny GPT-2s trained on the CPU; the signal tests run `titlegen` in a child process."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import train_cli

from titlegen import encoding
from titlegen.cli import cli
from titlegen.runs import Run, read_metrics
from titlegen.training import data as training_data


def run(*args: str, env: dict | None = None):
    return CliRunner(env=env).invoke(cli, list(args), catch_exceptions=False)


def at(folder: Path) -> list[str]:
    return ["--run-name", folder.name, "--checkpoint-dir", str(folder.parent)]


def copy_run(trained, tmp_path: Path) -> Path:
    """A copy of the session's trained run, to change without touching the original."""
    folder = tmp_path / "ck" / "run1"
    shutil.copytree(trained[0], folder)
    return folder


@pytest.fixture(scope="module")
def other_base(titles_csv, tiny_model) -> Path:
    """A second model named 124M beside `tiny`, with another vocabulary and shape: what a
    resumed run must never take."""
    made = run("new-model", "124M", "--from", str(titles_csv), "--model-dir",
               str(tiny_model.parent), "--layers", "1", "--embd", "16", "--heads", "2",
               "--vocab-size", "300")  # fmt: skip
    assert made.exit_code == 0, made.output
    yield tiny_model.parent / "124M"
    shutil.rmtree(tiny_model.parent / "124M")


def test_resume_keeps_the_runs_own_model(other_base, tiny_model, titles_csv, tmp_path):
    first = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "2")
    assert first.exit_code == 0, first.output
    folder = tmp_path / "run1"
    hparams = (folder / "hparams.json").read_text()
    # No --model: the default (124M) exists in --model-dir, yet the run goes on with its own.
    again = run("train", str(titles_csv), "--model-dir", str(tiny_model.parent),
                "--checkpoint-dir", str(tmp_path), "--steps", "2")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert (folder / "hparams.json").read_text() == hparams
    assert "to step 4" in again.stdout
    assert json.loads((folder / "titlegen.json").read_text())["base_model"] == "tiny"
    made = run("generate", *at(folder), "--nsamples", "2", "--seed", "1")
    assert made.exit_code == 0, made.output


def test_another_model_for_a_run_is_refused_unless_fresh(other_base, tiny_model, titles_csv,
                                                         tmp_path):  # fmt: skip
    assert train_cli(titles_csv, tiny_model, tmp_path, "--steps", "1").exit_code == 0
    refused = run("train", str(titles_csv), "--model", "124M", "--model-dir",
                  str(tiny_model.parent), "--checkpoint-dir", str(tmp_path),
                  "--steps", "1")  # fmt: skip
    assert refused.exit_code == 1
    assert (
        "run1 was trained from tiny, not 124M: leave out --model to go on with it, or pass "
        "--restore-from fresh to start it again from 124M." in refused.output
    )
    fresh = run("train", str(titles_csv), "--model", "124M", "--model-dir",
                str(tiny_model.parent), "--checkpoint-dir", str(tmp_path), "--steps", "1",
                "--restore-from", "fresh", "--accumulate-gradients", "1")  # fmt: skip
    assert fresh.exit_code == 0, fresh.output
    folder = tmp_path / "run1"
    assert json.loads((folder / "hparams.json").read_text())["n_embd"] == 16
    assert json.loads((folder / "titlegen.json").read_text())["base_model"] == "124M"
    assert sorted(p.name for p in folder.glob("model-*.index")) == ["model-1.index"]


def test_resume_keeps_the_recorded_settings(tiny_model, titles_csv, tmp_path):
    first = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "2", "--learning-rate", "3e-3")
    assert first.exit_code == 0, first.output
    plain = run("train", str(titles_csv), "--checkpoint-dir", str(tmp_path), "--steps", "2")
    assert plain.exit_code == 0, plain.output
    assert "Changed" not in plain.output
    rows = read_metrics(Run(tmp_path / "run1"))
    assert [r.learning_rate for r in rows if r.step > 2] == [3e-3, 3e-3]
    settings = json.loads((tmp_path / "run1" / "titlegen.json").read_text())["settings"]
    assert settings["accumulate_gradients"] == 1 and settings["seed"] == 3
    changed = run("train", str(titles_csv), "--checkpoint-dir", str(tmp_path), "--steps", "1",
                  "--learning-rate", "1e-4")  # fmt: skip
    assert changed.exit_code == 0, changed.output
    assert "Changed from the run's recorded settings: learning rate 0.0001 (was 0.003)." in (
        changed.output
    )
    assert read_metrics(Run(tmp_path / "run1"))[-1].learning_rate == 1e-4


def test_keep_best_on_a_resumed_run_names_a_checkpoint_that_exists(trained, tmp_path):
    folder = copy_run(trained, tmp_path)
    # A validation loss logged at a step that was never saved must not count as the best.
    metrics = folder / "metrics.csv"
    lines = metrics.read_text().splitlines()
    lines.insert(2, "1,5.0,0.5,0.0001")  # step 1 was never saved: only model-6 exists
    metrics.write_text("\n".join(lines) + "\n")
    result = run("train", _dataset(folder), *at(folder), "--steps", "2", "--keep-best",
                 "--eval-every", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    kept = result.stdout.split("Kept the checkpoint with the lowest validation loss: ")[1]
    loss, step = float(kept.split()[0]), int(kept.split("at step ")[1].split(".")[0])
    assert loss != 0.5
    assert (folder / "counter").read_text().strip() == str(step)
    assert f"model-{step}.index" in {p.name for p in folder.glob("model-*.index")}
    scored = run("evaluate", *at(folder))
    assert scored.exit_code == 0, scored.output
    assert f"loss {loss:.3f}," in scored.stdout


def _dataset(folder: Path) -> str:
    return json.loads((folder / "titlegen.json").read_text())["history"][0]["dataset"]


def test_commands_chain_to_the_latest_run(tiny_model, titles_csv, tmp_path):
    for name in ("older", "newer"):
        made = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "1", "--run-name", name)
        assert made.exit_code == 0, made.output
    env = {"TITLEGEN_CHECKPOINT_DIR": str(tmp_path)}
    made = run("generate", "--nsamples", "2", "--seed", "1", env=env)
    assert made.exit_code == 0, made.output
    assert "Using run newer (the most recently trained in" in made.stderr
    for command in (["evaluate"], ["plot"], ["subreddits"]):
        result = run(*command, env=env)
        assert result.exit_code == 0, result.output
        assert "Using run newer" in result.stderr
    named = run("evaluate", "--run-name", "older", env=env)
    assert named.exit_code == 0 and "older (step 1)" in named.stdout and "Using" not in named.stderr


def test_runs_lists_the_runs(tiny_model, titles_csv, tmp_path):
    for name in ("first", "second"):
        made = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "2", "--run-name", name)
        assert made.exit_code == 0, made.output
    table = run("runs", "--checkpoint-dir", str(tmp_path))
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "BASE", "STEP"]
    assert [line.split()[0] for line in lines[1:]] == ["second", "first"]
    assert lines[1].split()[1:3] == ["tiny", "2"]
    listed = json.loads(run("runs", "--checkpoint-dir", str(tmp_path), "--json").stdout)
    assert [r["name"] for r in listed] == ["second", "first"]
    evaluated = run("evaluate", "--run-name", "first", "--checkpoint-dir", str(tmp_path))
    loss = float(evaluated.stdout.split("loss ")[1].split(",")[0])
    first = listed[1]
    assert first["step"] == 2 and first["conditioned"] and first["subreddits"] == 15
    assert first["checkpoint_val_loss"] == pytest.approx(loss, abs=1e-3)
    assert first["best_step"] in (0, 2)
    empty = run("runs", "--checkpoint-dir", str(tmp_path / "none"))
    assert empty.exit_code == 0 and "No trained runs in" in empty.stdout


def test_stream_reshuffles_every_pass(titles_csv, tiny_model):
    vocabulary = encoding.Vocabulary(tiny_model)
    data = training_data.prepare(titles_csv, vocabulary, condition=True, val_fraction=0.05,
                                 split_seed=1, window=64)  # fmt: skip
    per_pass = data.train_tokens // 64

    def passes(seed, count, position=(0, 0)):
        stream = training_data.Stream(data, vocabulary, seed=seed, window=64, position=position)
        return stream, stream.windows(per_pass * count)

    _, two = passes(1, 2)
    first, second = two[: per_pass // 2], two[per_pass : per_pass + per_pass // 2]
    assert not np.array_equal(first, second)  # another order in the second pass
    assert np.array_equal(passes(1, 2)[1], two)  # the same seed: the same windows
    assert not np.array_equal(passes(2, 1)[1], two[:per_pass])
    # A pass holds every training document once.
    start = vocabulary.encode("<|startoftext|>")
    text = vocabulary.decode(np.concatenate(passes(1, 1)[1]).tolist())
    assert text.count(vocabulary.decode(start.tolist())) >= len(data.train) - 2
    # Going on from a recorded position gives what the uninterrupted stream gives.
    stream, _ = passes(1, 1)
    position = stream.position
    assert np.array_equal(
        training_data.Stream(data, vocabulary, seed=1, window=64, position=position).windows(3),
        stream.windows(3),
    )


def test_the_data_position_is_recorded_with_the_checkpoint(trained):
    record = json.loads((trained[0] / "titlegen.json").read_text())
    assert record["checkpoint"]["step"] == 6
    assert set(record["data"]) >= {"pass", "offset", "train_tokens", "split_seed"}
    assert record["data"]["offset"] > 0 or record["data"]["pass"] > 0


def _child(cwd: Path, *args: str) -> subprocess.Popen:
    # A shell that starts the suite in the background (as CI may) ignores SIGINT, and a child
    # Python that inherits that never sees it: give the child the default, as a terminal does.
    return subprocess.Popen(
        [sys.executable, "-m", "titlegen", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def _training(cwd: Path, titles_csv: Path, model: Path, *args: str) -> subprocess.Popen:
    """A `titlegen train` in a child process that would go on for a long time, into cwd/ck."""
    return _child(cwd, "train", str(titles_csv), "--model", model.name, "--model-dir",
                  str(model.parent), "--checkpoint-dir", "ck", "--steps", "100000",
                  "--accumulate-gradients", "1", "--print-every", "1", *args)  # fmt: skip


def _kill_9_after_steps(process: subprocess.Popen, count: int) -> None:
    try:
        _wait_for_steps(process, count)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        process.kill()


def _wait_for_steps(process: subprocess.Popen, count: int) -> None:
    seen = 0
    for line in process.stderr:
        if line.startswith("step "):
            seen += 1
            if seen >= count:
                return
    raise AssertionError("training ended before it printed its steps")


def test_ctrl_c_saves_exits_130_and_prints_a_command_that_goes_on(tiny_model, titles_csv,
                                                                   tmp_path):  # fmt: skip
    shutil.copy(titles_csv, tmp_path / "my titles.csv")
    shutil.copytree(tiny_model, tmp_path / "models" / "tiny")
    process = _child(tmp_path, "train", "my titles.csv", "--model", "tiny", "--checkpoint-dir",
                     "my runs", "--steps", "100000", "--accumulate-gradients", "1",
                     "--print-every", "1", "--learning-rate", "3e-3")  # fmt: skip
    try:
        _wait_for_steps(process, 3)
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, out
    assert "Interrupted: saved" in out
    command = out.strip().splitlines()[-1]
    assert command.startswith("titlegen train ")
    folder = tmp_path / "my runs" / "run1"
    saved = int((folder / "counter").read_text())
    assert saved >= 3
    assert f"--steps {100000 - saved}" in command
    words = shlex.split(command)
    # Verbatim, from the same folder (with fewer steps, to keep the test short).
    words[words.index("--steps") + 1] = "2"
    again = subprocess.run([sys.executable, "-m", "titlegen", *words[1:]], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"to step {saved + 2}" in again.stdout
    rows = read_metrics(Run(folder))
    assert rows[-1].learning_rate == 3e-3  # the run's own setting, not the default


def test_kill_9_leaves_a_run_that_loads_and_goes_on(tiny_model, titles_csv, tmp_path):
    process = _training(tmp_path, titles_csv, tiny_model, "--save-every", "1")
    _kill_9_after_steps(process, 6)
    folder = tmp_path / "ck" / "run1"
    rows_before = read_metrics(Run(folder))
    assert len(rows_before) >= 6
    scored = run("evaluate", *at(folder))
    assert scored.exit_code == 0, scored.output
    again = run("train", str(titles_csv), *at(folder), "--steps", "1")
    assert again.exit_code == 0, again.output
    step = int((folder / "counter").read_text())
    assert [r.step for r in read_metrics(Run(folder))] == list(range(step + 1))


def test_a_second_train_of_a_run_is_refused(tiny_model, titles_csv, tmp_path):
    folder = tmp_path / "run1"
    with Run(folder).lock():
        refused = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "1")
    assert refused.exit_code == 1
    assert (
        f"run1 is being trained by another titlegen train (process {os.getpid()}): wait for it"
        in refused.output
    )
    # The lock of a process that is gone (its pid left in the file) is taken over.
    (folder / ".lock").write_text("999999\n")
    taken = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "1")
    assert taken.exit_code == 0, taken.output


def _damage_checkpoint(folder: Path) -> None:
    data = next(folder.glob("model-*.data-*"))
    data.write_bytes(data.read_bytes()[:100])


@pytest.mark.parametrize("command", ["generate", "evaluate", "train"])
def test_a_truncated_checkpoint_is_one_sentence(command, trained, titles_csv, tmp_path):
    folder = copy_run(trained, tmp_path)
    _damage_checkpoint(folder)
    args = [command, *at(folder)] if command != "train" else [command, str(titles_csv), *at(folder)]
    result = run(*args, "--steps", "1") if command == "train" else run(*args)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert "cannot be loaded" in line and "model-6" in line


def test_a_damaged_record_is_one_sentence(trained, tmp_path):
    folder = copy_run(trained, tmp_path)
    (folder / "titlegen.json").write_text('{"format": {')
    result = run("generate", *at(folder))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "titlegen.json is damaged" in result.output


def test_a_bad_metrics_row_is_skipped_not_the_history(trained, titles_csv, tmp_path):
    folder = copy_run(trained, tmp_path)
    metrics = folder / "metrics.csv"
    metrics.write_text(metrics.read_text().replace("\n3,", "\n3,not a number,", 1))
    result = run("train", str(titles_csv), *at(folder), "--steps", "1")
    assert result.exit_code == 0, result.output
    assert "Warning: skipped 1 damaged row of" in result.output
    assert [r.step for r in read_metrics(Run(folder))] == [0, 1, 2, 4, 5, 6, 7]


def test_missing_vocabulary_and_foreign_npz(trained, tmp_path):
    folder = copy_run(trained, tmp_path)
    (folder / "encoder.json").unlink()
    result = run("generate", *at(folder))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "holds no readable GPT-2 vocabulary" in result.output
    foreign = tmp_path / "floats.npz"
    np.savez(foreign, np.linspace(0, 1, 5000))
    scored = run("evaluate", str(foreign), *at(trained[0]))
    assert scored.exit_code == 1 and "Traceback" not in scored.output
    assert "holds numbers that are not token ids" in scored.output


def test_print_every_0_is_refused_in_the_library():
    from titlegen.errors import TitlegenError
    from titlegen.training import TrainOptions

    with pytest.raises(TitlegenError, match="--print-every must be at least 1, not 0"):
        TrainOptions(print_every=0)


def test_encode_frames_titles_as_train_does(titles_csv, tiny_model, tmp_path):
    out = tmp_path / "titles.npz"
    made = run("encode", str(titles_csv), str(out), "--model", "tiny", "--model-dir",
               str(tiny_model.parent))  # fmt: skip
    assert made.exit_code == 0, made.output
    vocabulary = encoding.Vocabulary(tiny_model)
    with np.load(out) as npz:
        text = vocabulary.decode(npz[npz.files[0]].tolist())
    first = text.split("<|endoftext|>")[0]
    assert first.startswith("<|startoftext|>AskReddit ")  # the subreddit, as train frames it


def test_generate_reads_a_run_while_it_is_trained(tiny_model, titles_csv, tmp_path):
    # Saving every step, the run's checkpoint is replaced (and the older one removed) while
    # generate loads it: generate must always find a complete one.
    process = _training(tmp_path, titles_csv, tiny_model, "--save-every", "1")
    try:
        _wait_for_steps(process, 3)
        for seed in range(4):
            made = run("generate", *at(tmp_path / "ck" / "run1"), "--nsamples", "2",
                       "--seed", str(seed))  # fmt: skip
            assert made.exit_code == 0, made.output
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130


def test_conditioning_cannot_be_switched_on_a_resumed_run(trained, titles_csv, tmp_path):
    folder = copy_run(trained, tmp_path)
    result = run("train", str(titles_csv), *at(folder), "--steps", "1", "--no-condition")
    assert result.exit_code == 1
    assert (
        "run1 was trained on titles after their subreddit and " in result.output
        and "makes titles without a subreddit: train another run on it, or pass --restore-from "
        "fresh to start this one again."
        in result.output
    )
    assert json.loads((folder / "titlegen.json").read_text())["format"]["subreddit_then"] == " "


def test_a_copied_run_keeps_its_date_and_a_damaged_record_is_listed(trained, tmp_path):
    import time

    folder = copy_run(trained, tmp_path)
    time.sleep(1.1)  # a copy made later gets newer file times
    later = tmp_path / "ck" / "copy"
    shutil.copytree(folder, later)
    (later / "titlegen.json").write_text("{")
    listed = run("runs", "--checkpoint-dir", str(tmp_path / "ck"))
    assert listed.exit_code == 0, listed.output
    rows = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert "damaged titlegen.json" in rows["copy"]
    # A run copied later (newer file times) trained a day earlier is not the latest run.
    record = json.loads((folder / "titlegen.json").read_text())
    record["checkpoint"]["saved"] = "2020-01-01T00:00:00+00:00"
    older = tmp_path / "ck2" / "older"
    shutil.copytree(folder, tmp_path / "ck2" / "newer")
    time.sleep(1.1)
    shutil.copytree(folder, older)
    (older / "titlegen.json").write_text(json.dumps(record))
    chosen = run("subreddits", "--checkpoint-dir", str(tmp_path / "ck2"))
    assert chosen.exit_code == 0, chosen.output
    assert "Using run newer" in chosen.stderr


def test_a_fresh_start_killed_before_its_first_save_leaves_a_run_that_loads(
    other_base, tiny_model, titles_csv, tmp_path
):
    assert train_cli(titles_csv, tiny_model, tmp_path / "ck", "--steps", "2").exit_code == 0
    process = _training(tmp_path, titles_csv, other_base, "--restore-from", "fresh",
                        "--save-every", "100000")  # fmt: skip
    _kill_9_after_steps(process, 3)
    folder = tmp_path / "ck" / "run1"
    scored = run("evaluate", *at(folder))
    assert scored.exit_code == 0, scored.output  # hparams and weights of one model
    assert json.loads((folder / "hparams.json").read_text())["n_embd"] == 16


def test_a_checkpoint_of_another_shape_is_one_sentence(other_base, trained, tmp_path):
    folder = copy_run(trained, tmp_path)
    shutil.copy(other_base / "hparams.json", folder / "hparams.json")
    for command in ("evaluate", "generate"):
        result = run(command, *at(folder))
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert "hparams.json beside it makes" in result.output
        assert "they belong to different models" in result.output


def test_a_resumed_run_refuses_a_dataset_without_subreddits(trained, titles_csv, tmp_path):
    folder = copy_run(trained, tmp_path)
    plain = tmp_path / "plain.csv"
    plain.write_text("title\n" + "".join(f"A title number {i}\n" for i in range(400)))
    result = run("train", str(plain), *at(folder), "--steps", "1")
    assert result.exit_code == 1
    assert "was trained on titles after their subreddit and" in result.output
    assert "makes titles without a subreddit" in result.output


def test_restore_from_a_run_records_that_runs_base(trained, titles_csv, tmp_path):
    result = run("train", str(titles_csv), "--checkpoint-dir", str(tmp_path), "--run-name",
                 "copy", "--restore-from", str(trained[0]), "--steps", "1",
                 "--accumulate-gradients", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "copy" / "titlegen.json").read_text())["base_model"] == "tiny"


def test_runs_lists_a_run_whose_checkpoint_is_damaged(trained, tmp_path):
    folder = copy_run(trained, tmp_path)
    (data,) = folder.glob("model-*.index")
    data.write_bytes(b"")
    listed = run("runs", "--checkpoint-dir", str(folder.parent))
    assert listed.exit_code == 0, listed.output
    assert "damaged" in listed.stdout.splitlines()[1]


def test_warmup_and_cosine_go_on_across_a_resume(tiny_model, titles_csv, tmp_path):
    from titlegen.training.loop import learning_rate

    schedule = ["--lr-schedule", "cosine", "--warmup-steps", "2", "--learning-rate", "1e-3"]
    first = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "6", *schedule)
    assert first.exit_code == 0, first.output
    # As if that train had been asked for 10 steps and stopped by Ctrl-C after 6.
    record_file = tmp_path / "run1" / "titlegen.json"
    record = json.loads(record_file.read_text())
    assert record["schedule"] == {"start": 0, "steps": 6}
    record["schedule"]["steps"] = 10
    record_file.write_text(json.dumps(record))
    again = run("train", str(titles_csv), *at(tmp_path / "run1"), "--steps", "4")
    assert again.exit_code == 0, again.output
    rates = [r.learning_rate for r in read_metrics(Run(tmp_path / "run1")) if r.step > 6]
    expected = [learning_rate(s, 10, peak=1e-3, warmup=2, schedule="cosine") for s in range(6, 10)]
    assert rates == pytest.approx(expected, rel=1e-4)  # no second warmup


def test_keep_best_can_be_turned_off_again(tiny_model, titles_csv, tmp_path):
    first = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "2", "--keep-best")
    assert first.exit_code == 0, first.output
    again = run("train", str(titles_csv), *at(tmp_path / "run1"), "--steps", "2",
                "--no-keep-best")  # fmt: skip
    assert again.exit_code == 0, again.output
    assert "keep best off (was on)" in again.output
    (tmp_path / "run1" / "titles.csv").unlink()
    scored = run("evaluate", *at(tmp_path / "run1"))
    assert scored.exit_code == 1 and "Name a DATASET to score it on." in scored.output
