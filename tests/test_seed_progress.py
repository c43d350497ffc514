"""``train_many`` shows each seed's progress while it trains, not only at the end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from neurofit.agents import _train_progress as training
from neurofit.agents.training import TrainConfig, train_many


@pytest.mark.parametrize(("backend", "workers"), [("local", 1), ("local", 2), ("ray", 2)])
def test_each_seed_reports_progress_while_it_trains(tmp_path: Path, backend: str, workers: int,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, int, int, Any]] = []  # (kind, slot, step, summary), in order
    update, finish = training._SeedBars.update, training._SeedBars.finish

    def on_update(self: Any, slot: int, step: int, summary: str | None) -> None:
        events.append(("update", slot, step, summary))
        update(self, slot, step, summary)

    def on_finish(self: Any, slot: int, result: Any) -> None:
        events.append(("finish", slot, result.steps, None))
        finish(self, slot, result)

    monkeypatch.setattr(training._SeedBars, "update", on_update)
    monkeypatch.setattr(training._SeedBars, "finish", on_finish)
    cfg = TrainConfig(env_id="neurofit/QuadHover-v0", agent="pd", total_steps=200,
                      env_kwargs={"max_episode_steps": 50}, eval_episodes=0)
    if backend == "ray":
        ray = pytest.importorskip("ray", reason="the cluster extra is not installed")
        ray.init(num_cpus=2, include_dashboard=False)
    try:
        results = train_many(cfg, [3, 5], workers, tmp_path, backend=backend, progress=True)
    finally:
        if backend == "ray":
            ray.shutdown()
    for slot, result in enumerate(results):
        mine = [e for e in events if e[1] == slot]
        end = mine.index(("finish", slot, 200, None))
        live = mine[:end]  # what was shown before the seed finished
        steps = [e[2] for e in live]
        assert steps and steps == sorted(steps) and steps[0] < 200, mine
        summaries = [e for e in live if e[3] is not None]
        if workers == 1:  # in this process: every episode end, at once
            assert [e[2] for e in summaries] == [50, 100, 150, 200]
        assert summaries, mine  # from a worker process or task: at least the early episodes
        for e in summaries:  # each names its episode's RMS tracking error in mm
            row = result.metrics[e[2] // 50 - 1]
            assert e[3].startswith(f"ep {row['episode']} ")
            assert f"RMS tracking {row['rms_tracking_error_mm']:.3g} mm" in e[3]


def test_no_progress_reports_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: Any) -> None:
        raise AssertionError("progress=False must not report")

    monkeypatch.setattr(training._Report, "on_step", fail)
    cfg = TrainConfig(env_id="neurofit/QuadHover-v0", agent="pd", total_steps=20,
                      env_kwargs={"max_episode_steps": 10}, eval_episodes=0)
    results = train_many(cfg, [0], 1, tmp_path, progress=False)
    assert results[0].steps == 20
