"""Smoke tests of ``neurofit bench learning``: the real CLI in a subprocess, a tiny budget."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

HAS_RL = all(importlib.util.find_spec(m) is not None for m in ("stable_baselines3", "torch"))


def _bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "neurofit.scripts.cli", "bench", "learning", *args],
        capture_output=True, text=True, timeout=600, check=False, env=os.environ.copy(),
    )


def test_bench_learning_json_tiny_budget() -> None:
    # 2,048 steps: one evaluation per learner (PPO: one SB3 rollout and update)
    proc = _bench("--task", "invpend", "--seeds", "0", "--max-steps", "2048", "--json",
                  *(() if HAS_RL else ("--no-ppo",)))
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # one JSON object; the progress bar went to stderr
    assert out["task"] == "invpend" and out["env_id"] == "InvertedPendulum-v5"
    assert out["protocol"] == {"eval_every": 2048, "eval_episodes": 10,
                               "eval_seeds": "10000 + episode", "max_steps": 2048,
                               "threshold": 950.0}
    nf = out["steps_to_950_neurofit"]
    assert nf["seeds"] == 1 and len(nf["per_seed"]) == 1
    entry = nf["per_seed"][0]
    assert entry["seed"] == 0 and entry["best_eval_return"] > 0
    assert (entry["steps"] is None) == (nf["mean"] is None) == (nf["reached"] == 0)
    assert out["neurofit_config"]["mode"] == "reward"
    assert {"cpu", "cpu_count", "date"} <= out["machine"].keys() and out["wall_s"] > 0
    if HAS_RL:
        ppo = out["steps_to_950_ppo"]
        assert ppo["seeds"] == 1 and ppo["per_seed"][0]["steps"] is None  # 2k steps: too few
        assert [r["learner"] for r in out["runs"]] == ["neurofit", "ppo"]


def test_bench_learning_unknown_task_is_named() -> None:
    proc = _bench("--task", "juggle", "--no-progress")
    assert proc.returncode != 0
    assert "unknown task 'juggle'" in proc.stderr and "invpend" in proc.stderr
