"""The learning-curve plot of a training run, and the training callback that draws it
(matplotlib is imported only when a plot is drawn)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from neurofit.agents._run_dir import _atomic_write


class LearningCurveCallback:
    """A training callback that draws the run's learning curve when training ends (also when
    it stops on an error or an interrupt: the rows so far), as :func:`plot_learning_curve`.

    Args:
        path: the PNG to write (``<run dir>/learning_curve.png``).
        title: the plot's title.
    """

    def __init__(self, path: str | Path, title: str = "") -> None:
        self.path = Path(path)
        self.title = title

    def on_training_end(self, locals_: dict[str, Any]) -> None:
        """Draw the curve of ``locals_["rows"]`` and ``locals_["evals"]`` (if there are any)."""
        rows, evals = locals_["rows"], locals_["evals"]
        if rows or evals:
            plot_learning_curve(rows, evals, self.path, title=self.title)


def plot_learning_curve(rows: Sequence[dict[str, Any]], evals: Sequence[dict[str, Any]],
                        path: str | Path, title: str = "") -> Path:
    """Return and RMS tracking error (mm, whole episode) per training episode (dots:
    evaluations) as a PNG (Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 5.5))  # no constrained layout: 2x faster, the axes are simple
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.09, top=0.92, hspace=0.08)
    ax_ret, ax_err = fig.subplots(2, 1, sharex=True)
    for ax, key, label in ((ax_ret, "return", "episode return"),
                           (ax_err, "rms_tracking_error_mm",
                            "RMS tracking error (mm),\nwhole episode")):
        pts = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, "-", marker=".", label="training episodes")
        ev = [(e["step"], e[key]) for e in evals if e.get(key) is not None]
        if ev:
            xs, ys = zip(*ev, strict=True)
            ax.plot(xs, ys, "o", color="C3", label="evaluation (learning frozen)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if pts or ev:
            ax.legend(loc="best", fontsize="small")
        elif key == "rms_tracking_error_mm":
            ax.text(0.5, 0.5, "n/a: the env has no position target", ha="center",
                    va="center", transform=ax.transAxes)
    ax_err.set_xlabel("env steps")
    if title:
        fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    out = Path(path)
    _atomic_write(out, buf.getvalue())
    return out
