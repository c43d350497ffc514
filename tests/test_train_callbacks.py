"""Progress and plotting are callbacks of the training loop (issue 12): the loop knows only
callbacks, and neither rich nor matplotlib is imported by it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from neurofit.agents._train_plot import LearningCurveCallback
from neurofit.agents._train_progress import ProgressBarCallback
from neurofit.agents.training import TrainConfig, train

SHORT = TrainConfig(env_id="neurofit/QuadHoverPayload-v0", env_kwargs={"max_episode_steps": 20},
                    agent="pd", total_steps=50, eval_episodes=0)


def test_the_loop_imports_no_progress_or_plotting_library() -> None:
    code = ("import sys, neurofit.agents._train_loop, neurofit.agents.training\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'rich', 'tqdm', 'matplotlib'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]"


class _Ends:
    """A callback with only the start and end hooks: never called per step."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def on_training_start(self, locals_: dict[str, Any]) -> None:
        self.seen.append(("start", dict(locals_)))

    def on_training_end(self, locals_: dict[str, Any]) -> None:
        self.seen.append(("end", dict(locals_)))


def test_start_and_end_hooks_see_the_run(tmp_path: Path) -> None:
    ends = _Ends()
    result = train(SHORT, tmp_path / "run", callbacks=[ends], progress=False)
    (kind0, start), (kind1, end) = ends.seen
    assert (kind0, kind1) == ("start", "end")
    assert start["step"] == 0 and start["total_steps"] == 50
    assert start["run_dir"] == tmp_path / "run"
    assert end["step"] == result.steps == 50 and not end["failed"]
    assert end["rows"] == result.metrics and len(end["rows"]) == 3  # 20 + 20 + 10 steps
    assert (tmp_path / "run" / "learning_curve.png").stat().st_size > 0  # the plot callback


def test_end_hooks_run_when_training_stops_on_an_error(tmp_path: Path) -> None:
    ends = _Ends()

    class Boom:
        def on_step(self, locals_: dict[str, Any]) -> bool:
            if locals_["step"] == 25:
                raise RuntimeError("boom")
            return True

    with pytest.raises(RuntimeError, match="boom"):
        train(SHORT, tmp_path / "run", callbacks=[ends, Boom()], progress=False)
    kind, end = ends.seen[-1]
    assert kind == "end" and end["failed"] and end["step"] == 25
    assert (tmp_path / "run" / "learning_curve.png").exists()  # the first episode's row


def test_progress_bar_callback_follows_the_steps(tmp_path: Path) -> None:
    bar = ProgressBarCallback("test")
    bar.on_training_start({"step": 10, "total_steps": 60})
    for step in range(11, 61):
        assert bar.on_step({"step": step, "episode_row": None}) is True
    progress = bar._bar._bar  # type: ignore[union-attr]
    bar.on_training_end({})
    task = progress.tasks[0]
    assert (task.completed, task.total) == (60, 60)
    assert bar._bar is None


def test_learning_curve_callback_draws_nothing_without_rows(tmp_path: Path) -> None:
    cb = LearningCurveCallback(tmp_path / "curve.png")
    cb.on_training_end({"rows": [], "evals": []})
    assert not (tmp_path / "curve.png").exists()
    cb.on_training_end({"rows": [{"step": 5, "return": 1.0}], "evals": []})
    assert (tmp_path / "curve.png").stat().st_size > 0
