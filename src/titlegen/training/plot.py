"""``titlegen plot``: a run's training and validation loss against step, as a PNG."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from titlegen.atomic import atomic_write
from titlegen.errors import TitlegenError
from titlegen.runs import Row, Run, read_metrics

SIZE = (8, 4.5)  # inches
DPI = 100  # so the PNG is 800 x 450 pixels


def figure(rows: list[Row], title: str) -> Any:
    """The figure: the loss of every step, faint, its moving average, and the validation
    loss at each evaluation."""
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    from matplotlib.figure import Figure

    fig = Figure(figsize=SIZE, dpi=DPI)
    ax = fig.add_subplot()
    train = [(r.step, r.train_loss) for r in rows if r.train_loss is not None]
    val = [(r.step, r.val_loss) for r in rows if r.val_loss is not None]
    if train:
        steps, losses = zip(*train, strict=True)
        ax.plot(steps, losses, color="tab:blue", alpha=0.3, linewidth=0.8, label="training")
        ax.plot(steps, _smooth(losses), color="tab:blue", label="training (moving average)")
    if val:
        steps, losses = zip(*val, strict=True)
        ax.plot(steps, losses, "o-", color="tab:orange", markersize=3, label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats per token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def write(
    run: Run, out: Path | None = None, on_warning: Callable[[str], object] = lambda _m: None
) -> Path:
    """Draw the run's metrics.csv into ``out`` (default: ``loss.png`` in the run)."""
    out = out or run.plot_file
    if out.suffix.lower() != ".png":
        raise TitlegenError(f"-o must end in .png, not {out.name}.")
    rows = read_metrics(run, on_warning)
    if not rows:
        raise TitlegenError(f"{run.metrics_file} has no steps yet: train first.")
    fig = figure(rows, f"{run.name}: loss")
    with atomic_write(out, "wb") as f:
        fig.savefig(f, format="png")
    return out


def _smooth(values: tuple[float, ...], decay: float = 0.9) -> list[float]:
    """Exponential moving average, bias-corrected (TensorBoard's smoothing)."""
    out, average = [], 0.0
    for i, value in enumerate(values, 1):
        average = decay * average + (1 - decay) * value
        out.append(average / (1 - decay**i))
    return out
