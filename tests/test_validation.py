"""Held-out validation in `titlegen train`: the split, metrics.csv, TensorBoard scalars (read
with TensorBoard's own reader), keep-best, early stop, the learning-rate schedule, `evaluate`
and `plot`. Real training runs of a tiny model on the CPU."""

from __future__ import annotations

import csv
import math

import pytest
from click.testing import CliRunner
from conftest import train_cli

from titlegen.cli import cli
from titlegen.runs import Run, read_metrics
from titlegen.training import loop, plot


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def at(folder) -> list[str]:
    return ["--run-name", folder.name, "--checkpoint-dir", str(folder.parent)]


def test_metrics_csv_has_both_losses_across_a_resume(trained):
    folder, first, _ = trained  # 4 steps, then 2 more; evaluations at each command's end
    rows = read_metrics(Run(folder))
    assert [r.step for r in rows] == [0, 1, 2, 3, 4, 5, 6]
    assert [r.step for r in rows if r.val_loss is not None] == [0, 4, 6]
    assert all(r.train_loss is not None for r in rows[1:]) and rows[0].train_loss is None
    assert {r.learning_rate for r in rows[1:]} == {1e-4}
    shown = [line for line in first.output.splitlines() if line.startswith("step 4/4")]
    assert f"val {rows[4].val_loss:.3f}" in shown[0]  # next to the training loss
    assert "held out for validation" in first.output


def test_tensorboard_reads_the_same_scalars(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = trained[0]
    events = EventAccumulator(str(folder))
    events.Reload()
    rows = read_metrics(Run(folder))
    train = [(e.step, e.value) for e in events.Scalars("loss/train")]
    val = [(e.step, e.value) for e in events.Scalars("loss/validation")]
    assert train == [(r.step, pytest.approx(r.train_loss, rel=1e-5)) for r in rows[1:]]
    assert val == [(r.step, pytest.approx(r.val_loss, rel=1e-5)) for r in rows if r.val_loss]


def test_validation_titles_are_kept_out_of_training(trained, titles_csv):
    folder = trained[0]
    with (folder / "titles.csv").open(newline="") as f:
        split = list(csv.DictReader(f))
    held = [r for r in split if r["split"] == "val"]
    assert len(split) == len(titles_csv.read_text().splitlines()) - 1
    assert 0.03 * len(split) <= len(held) <= 0.07 * len(split)  # --val-fraction 0.05


def test_keep_best_and_early_stop(tiny_model, titles_csv, tmp_path):
    # A learning rate of 1 makes the loss climb at once: the best stays the starting weights.
    result = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "50", "--eval-every", "1",
                       "--learning-rate", "1", "--keep-best", "--early-stop", "2")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Stopping early: the validation loss has not improved for 2 evaluations." in (
        result.output
    )
    rows = read_metrics(Run(tmp_path / "run1"))
    best = min((r for r in rows if r.val_loss is not None), key=lambda r: r.val_loss)
    assert rows[-1].step == 2 and best.step == 0
    assert (tmp_path / "run1" / "counter").read_text().strip() == str(best.step)
    assert f"Kept the checkpoint with the lowest validation loss: {best.val_loss:.3f}" in (
        result.output
    )


def test_keep_best_saves_each_improvement(tiny_model, titles_csv, tmp_path):
    result = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "3", "--eval-every", "1",
                       "--learning-rate", "3e-3", "--keep-best")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = read_metrics(Run(tmp_path / "run1"))
    best = min((r for r in rows if r.val_loss is not None), key=lambda r: r.val_loss)
    assert best.step == 3  # a sane learning rate improves every step here
    assert (tmp_path / "run1" / "counter").read_text().strip() == "3"


@pytest.mark.parametrize(
    ("step", "schedule", "rate"),
    [(0, "constant", 0.25), (3, "constant", 1.0), (9, "constant", 1.0), (0, "cosine", 0.25),
     (3, "cosine", 1.0), (9, "cosine", 0.1), (6, "cosine", 0.68906)],
)  # fmt: skip
def test_learning_rate_schedule(step, schedule, rate):
    got = loop.learning_rate(step, 10, peak=1.0, warmup=4, schedule=schedule)
    assert got == pytest.approx(rate, abs=1e-5)


def test_schedule_reaches_the_metrics(tiny_model, titles_csv, tmp_path):
    result = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "5", "--warmup-steps", "2",
                       "--lr-schedule", "cosine", "--learning-rate", "1e-3")  # fmt: skip
    assert result.exit_code == 0, result.output
    rates = [r.learning_rate for r in read_metrics(Run(tmp_path / "run1"))[1:]]
    # Warmup 1/2 and 2/2 of the peak, then cosine from the peak to a tenth of it.
    assert rates == pytest.approx([5e-4, 1e-3, 1e-3, 5.5e-4, 1e-4])


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--val-fraction", "0.7"], 2, "0.7 is not in the range 0<=x<=0.5"),
        (["--val-fraction", "-0.1"], 2, "-0.1 is not in the range 0<=x<=0.5"),
        (["--val-fraction", "0", "--keep-best"], 1, "compare validation losses: set --val-f"),
        (["--val-fraction", "0", "--early-stop", "3"], 1, "compare validation losses"),
    ],
)
def test_bad_validation_options(args, code, message, tiny_model, titles_csv, tmp_path):
    result = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "1", *args)
    assert result.exit_code == code
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run1").exists()


def test_no_validation_with_val_fraction_0(tiny_model, titles_csv, tmp_path):
    result = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "2", "--val-fraction", "0")
    assert result.exit_code == 0, result.output
    assert all(r.val_loss is None for r in read_metrics(Run(tmp_path / "run1")))
    assert "held out" not in result.output and "validation loss" not in result.output


def test_evaluate_scores_a_dataset(trained, tmp_path):
    folder = trained[0]
    held = tmp_path / "held.csv"
    with (folder / "titles.csv").open(newline="") as f, held.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["subreddit", "title"])
        writer.writerows(
            [r["subreddit"], r["title"]] for r in csv.DictReader(f) if r["split"] == "val"
        )
    result = run("evaluate", str(held), *at(folder))
    assert result.exit_code == 0, result.output
    loss = float(result.stdout.split("loss ")[1].split(",")[0])
    perplexity = float(result.stdout.split("perplexity ")[1].split()[0].replace(",", ""))
    assert perplexity == pytest.approx(math.exp(loss), rel=1e-3)
    # The same titles the last evaluation in training scored, in another order.
    last = [r.val_loss for r in read_metrics(Run(folder)) if r.val_loss is not None][-1]
    assert loss == pytest.approx(last, rel=0.02)
    # Without a dataset: the same held-out titles, read from the run.
    default = run("evaluate", *at(folder))
    assert default.exit_code == 0, default.output
    assert "run1 (step 6) on its held-out titles: loss " in default.stdout
    assert default.stdout.split("loss ")[1] == result.stdout.split("loss ")[1]


def test_evaluate_without_held_out_titles(tiny_model, titles_csv, tmp_path):
    trained = train_cli(titles_csv, tiny_model, tmp_path, "--steps", "1", "--val-fraction", "0")
    assert trained.exit_code == 0, trained.output
    result = run("evaluate", *at(tmp_path / "run1"))
    assert result.exit_code == 1
    assert "run1 held no titles out (--val-fraction 0): name a DATASET." in result.output


def test_evaluate_needs_subreddits_for_a_conditioned_run(trained, tmp_path):
    text = tmp_path / "titles.txt"
    text.write_text("just a title\nanother one\n")
    result = run("evaluate", str(text), *at(trained[0]))
    assert result.exit_code == 1
    assert "was trained with subreddits" in result.output and "Traceback" not in result.output


def test_train_draws_the_plot_and_plot_redraws_it(trained, tmp_path):
    from PIL import Image

    folder = trained[0]
    assert Image.open(folder / "loss.png").size == (800, 450)
    out = tmp_path / "curves.png"
    result = run("plot", *at(folder), "-o", str(out))
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (800, 450)


def test_plotted_lines_are_the_metrics(trained):
    rows = read_metrics(Run(trained[0]))
    axes = plot.figure(rows, "run1").axes[0]
    lines = {line.get_label(): line.get_xydata().tolist() for line in axes.lines}
    assert lines["training"] == [[r.step, pytest.approx(r.train_loss)] for r in rows[1:]]
    assert lines["validation"] == [
        [r.step, pytest.approx(r.val_loss)] for r in rows if r.val_loss is not None
    ]


def test_plot_errors(trained, tmp_path):
    wrong = run("plot", *at(trained[0]), "-o", str(tmp_path / "curves.jpg"))
    assert wrong.exit_code == 1 and "-o must end in .png, not curves.jpg" in wrong.output
    missing = run("plot", "--run-name", "nothing", "--checkpoint-dir", str(tmp_path))
    assert missing.exit_code == 1
    assert "There is no trained run nothing in" in missing.output


def held_out(run) -> set[str]:
    with (run / "titles.csv").open(newline="") as f:
        return {r["title"] for r in csv.DictReader(f) if r["split"] == "val"}


def test_resuming_keeps_the_first_sessions_split(tiny_model, titles_csv, tmp_path):
    first = train_cli(titles_csv, tiny_model, tmp_path / "a", "--steps", "1", "--seed", "3")
    assert first.exit_code == 0, first.output
    held = held_out(tmp_path / "a" / "run1")
    again = train_cli(titles_csv, tiny_model, tmp_path / "a", "--steps", "1", "--seed", "4")
    assert again.exit_code == 0, again.output
    assert held_out(tmp_path / "a" / "run1") == held
    other = train_cli(titles_csv, tiny_model, tmp_path / "b", "--steps", "1", "--seed", "4")
    assert other.exit_code == 0, other.output
    assert held_out(tmp_path / "b" / "run1") != held  # a new run with another seed: another split
