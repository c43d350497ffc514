"""Smoke tests of ``neurofit train`` / ``neurofit evaluate``: the real CLI in a subprocess with
tiny step counts (CleanRL's convention), and the clear errors of bad configs."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

from neurofit.agents.baselines import PIDAgent
from neurofit.agents.neurofit_agent import AgentConfig
from neurofit.scripts.cli import app

# a fast network and 0.5 s episodes
TINY = ["--set", "n_per_input=10", "--set", "n_output_neurons=20",
        "--env-kwargs", '{"max_episode_steps": 50}', "--no-progress"]


def _neurofit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neurofit.scripts.cli", *args],
                          capture_output=True, text=True, timeout=600, check=False,
                          env=os.environ.copy())


def test_train_then_evaluate(tmp_path: Path) -> None:
    run = tmp_path / "hover"
    proc = _neurofit("train", "--env", "neurofit/QuadHoverPayload-v0", "--agent", "neurofit",
                     "--mode", "error", "--steps", "75", "--seed", "0", "--eval-episodes", "1",
                     "--record", "--run-dir", str(run), *TINY)
    assert proc.returncode == 0, proc.stderr
    # resume (in process, to spare a start-up): options not given come from config.json
    result = CliRunner().invoke(app, ["train", "--run-dir", str(run), "--resume", "--steps",
                                      "100", "--no-progress"])
    assert result.exit_code == 0, result.stderr
    for name in ("config.json", "metrics.csv", "metrics.json", "eval.csv", "agent.npz",
                 "learning_curve.png", "checkpoints/latest.npz", "checkpoints/state.json",
                 "dataset/data/metadata.json"):
        assert (run / name).exists(), name
    config = json.loads((run / "config.json").read_text())
    assert config["total_steps"] == 100 and config["agent_config"]["n_per_input"] == 10
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["50", "100"] and rows[0]["spike_rate_hz"]
    assert json.loads((run / "checkpoints/state.json").read_text())["step"] == 100

    proc = _neurofit("evaluate", "--run-dir", str(run), "--episodes", "1",
                     "--baselines", "pd,random", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["env_id"] == "neurofit/QuadHoverPayload-v0"
    assert set(out["agents"]) == {"neurofit", "pd", "random"}
    for m in out["agents"].values():
        assert {"return", "rms_tracking_error_mm", "spike_rate_hz", "ops_per_tick"} <= m.keys()
    assert out["agents"]["neurofit"]["spike_rate_hz"] > 0
    # the pd row is the PD reflex flown on evaluation stream 1 of seed 0, SeedSequence([0, 1, 0])
    env = gym.make("neurofit/QuadHoverPayload-v0", max_episode_steps=50)
    pd = PIDAgent(env, integral=False)
    obs, _ = env.reset(seed=int(np.random.SeedSequence([0, 1, 0]).generate_state(1)[0]))
    pd.reset()
    rewards, done = [], False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(pd.act(obs))
        rewards.append(reward)
        done = terminated or truncated
    env.close()
    assert out["agents"]["pd"]["length"] == len(rewards) == 50
    assert out["agents"]["pd"]["return"] == pytest.approx(sum(rewards), rel=1e-12)


def test_train_seeds_one_run_dir_each(tmp_path: Path) -> None:
    # --seeds with one worker runs in process (the process pool is tested in test_training)
    result = CliRunner().invoke(app, [
        "train", "--agent", "random", "--env", "neurofit/QuadHover-v0", "--steps", "30",
        "--seeds", "0,1", "--seeds", "2", "--eval-episodes", "0", "--run-dir", str(tmp_path),
        *TINY])
    assert result.exit_code == 0, result.stderr
    runs = ["seed_0", "seed_1", "seed_2"]
    assert json.loads((tmp_path / "seeds.json").read_text())["runs"] == runs
    for k, name in enumerate(runs):
        assert json.loads((tmp_path / name / "config.json").read_text())["seed"] == k


def test_bad_config_exits_nonzero_with_message() -> None:
    proc = _neurofit("train", "--env", "neurofit/QuadHover-v9", "--steps", "10")
    assert proc.returncode == 2
    assert "unknown env id 'neurofit/QuadHover-v9'" in proc.stderr
    assert "neurofit/QuadHover-v0" in proc.stderr  # close matches listed


@pytest.mark.parametrize(("args", "message"), [
    (["--env", "Hopper-v5", "--mode", "error"], "use reward mode (--mode reward)"),
    (["--steps", "-5"], "total_steps must be a positive integer, got -5"),
    (["--seeds", "0,x"], "--seeds takes integers"),
    (["--set", "no_such_field=1"], "unknown agent config field"),
])
def test_bad_configs_in_process(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["train", *args, "--run-dir", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not (tmp_path / "r").exists()  # nothing written for a bad config


def test_evaluate_missing_run_dir(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["evaluate", "--run-dir", str(tmp_path)])
    assert result.exit_code == 2 and "not a training run dir" in result.stderr


def _gymnasium_mujoco_box_envs() -> list[str]:
    """Every Gymnasium MuJoCo task of the newest version, found in the registry (not listed by
    hand, so a task Gymnasium adds is covered too)."""
    newest: dict[str, tuple[int, str]] = {}
    for env_id, spec in gym.registry.items():
        entry = spec.entry_point if isinstance(spec.entry_point, str) else ""
        if entry.startswith("gymnasium.envs.mujoco") and spec.version is not None:
            if spec.version > newest.get(spec.name, (-1, ""))[0]:
                newest[spec.name] = (spec.version, env_id)
    return sorted(env_id for _, env_id in newest.values())


@pytest.mark.parametrize("env_id", _gymnasium_mujoco_box_envs())
def test_reward_mode_trains_on_every_gymnasium_mujoco_task(env_id: str, tmp_path: Path,
                                                           monkeypatch) -> None:
    # the promise: `neurofit train --mode reward` on any Box-action MuJoCo env, with
    # the defaults unchanged (sizes, action scale and reward scale come from the env)
    monkeypatch.chdir(tmp_path)  # MuJoCo writes its warnings (deprecated XML) to ./MUJOCO_LOG.TXT
    env = gym.make(env_id)
    assert isinstance(env.action_space, gym.spaces.Box)
    n_obs, n_act = env.observation_space.shape[0], env.action_space.shape[0]
    env.close()
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--env", env_id, "--mode", "reward", "--steps",
                                      "60", "--eval-episodes", "0", "--run-dir", str(run),
                                      "--no-progress"])
    assert result.exit_code == 0, result.output
    saved_config = json.loads((run / "config.json").read_text())["agent_config"]
    defaults = dataclasses.asdict(AgentConfig(mode="reward"))
    assert {k: v for k, v in saved_config.items() if k != "seed"} == {
        k: defaults[k] for k in saved_config if k != "seed"}  # nothing set for this env
    with np.load(run / "agent.npz") as saved:
        weights = saved["net.weights"]
    assert weights.size == 25 * n_obs * 50  # 25 fields per observation dim, 50 output units
    assert np.count_nonzero(weights) > 0  # it learned from the reward (weights start at 0)
    assert n_act >= 1
