"""Smoke tests of ``neurofit bench plasticity``: the real CLI in a subprocess, tiny durations."""

from __future__ import annotations

import json
import os
import subprocess
import sys

KEYS = {"step_us_learning_off", "step_us_learning_on", "learning_overhead",
        "tick_us_learning_off", "tick_us_learning_on", "precision_curve", "rmse_untrained",
        "weight_updates_per_tick", "network", "duration_s", "machine"}


def _bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "neurofit.scripts.cli", "bench", "plasticity", "--duration-s",
         "0.02", "--repeats", "1", "--eval-s", "0.01", *args],
        capture_output=True, text=True, timeout=600, check=False, env=os.environ.copy(),
    )


def test_bench_plasticity_json() -> None:
    proc = _bench("--bits", "8,float", "--mismatch", "0.1", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # one JSON object, nothing else on stdout
    assert KEYS <= out.keys()
    assert out["step_us_learning_off"] > 0 and out["step_us_learning_on"] > 0
    assert out["learning_overhead"] == out["step_us_learning_on"] / out["step_us_learning_off"]
    assert out["network"] == {"neurons": 1000, "plastic_synapses": 160_000, "substeps": 10,
                              "tick_s": 0.001, "dt_s": 0.0001}
    assert out["weight_updates_per_tick"] > 0
    curve = out["precision_curve"]
    assert [(p["bits"], p["mismatch"]) for p in curve] == [
        (8, 0.1), (None, 0.1)]
    assert all(p["rmse"] > 0 for p in curve) and out["rmse_untrained"] > 0
    assert {"cpu", "cpu_count", "date"} <= out["machine"].keys()


def test_bench_plasticity_rejects_bad_bits() -> None:
    proc = _bench("--bits", "0,8")
    assert proc.returncode != 0
    assert "bits" in proc.stderr
