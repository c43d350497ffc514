"""``neurofit bench taxi`` and ``neurofit bench analog``: the real CLI in a subprocess, one
seed, one task; figures recomputed from their parts."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neurofit.scripts.cli", "bench", *args],
                          capture_output=True, text=True, timeout=600, check=False,
                          env=os.environ.copy())


def test_bench_taxi_json_and_plot(tmp_path) -> None:
    png = tmp_path / "taxi.png"
    proc = _bench("taxi", "--tasks", "hover-payload", "--seeds", "0", "--json", "--plot",
                  str(png))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    (task,) = out["tasks"]
    assert task["task"] == "hover-payload" and task["seeds"] == [0]
    assert {"pid", "neurofit_rate", "neurofit_taxi"} == task["rms_error_mm"].keys()
    frac = task["episode_ops_fraction"]["mean"]
    steady = task["steady_state_ops_fraction"]["mean"]
    assert 0 < frac < 1 and 0 <= steady < 1
    assert task["met"]["episode_ops_fraction"] == (frac <= 0.2)
    # the law's bins cover every tick of the episode
    assert sum(b["ticks"] for b in task["taxi_law"]) == 1500
    assert "series" not in task and png.stat().st_size > 10_000


def test_bench_taxi_rejects_an_unknown_task() -> None:
    proc = _bench("taxi", "--tasks", "hover,track")
    assert proc.returncode == 2
    assert "unknown task" in proc.stderr and "hover-payload" in proc.stderr


def test_bench_analog_json() -> None:
    proc = _bench("analog", "--tasks", "hover-payload", "--bits", "4", "--sigmas", "0.2",
                  "--read-noise", "0", "--seeds", "0", "--json")
    assert proc.returncode == 0, proc.stderr
    task = json.loads(proc.stdout)["tasks"]["hover-payload"]
    grid = {(p["bits"], p["sigma"]): p for p in task["points"]}
    assert grid.keys() == {(4, 0.0), (4, 0.2), (None, 0.0), (None, 0.2)}  # float, σ 0 added
    ideal = grid[(None, 0.0)]
    assert ideal["ratio_to_float"] == 1.0
    for p in grid.values():
        assert p["ratio_to_float"] == p["rms_error_mm"] / ideal["rms_error_mm"]
        assert p["energy_per_tick_j"] > 0
    target = task["target_4bit_sigma02"]
    assert target["ratio_to_float"] == grid[(4, 0.2)]["ratio_to_float"]


def test_bench_analog_rejects_bad_bits() -> None:
    proc = _bench("analog", "--bits", "4,99")
    assert proc.returncode == 2
    assert "--bits" in proc.stderr and "'99'" in proc.stderr
