"""The tracking error: one definition (distance from the target position to the controlled
point, metres in ``info``, RMS in mm in reports), checked against independent recounts."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import neurofit.envs  # noqa: F401  (registers the ids)
from neurofit.agents.baselines import make_agent
from neurofit.agents.energy_report import measure_controller
from neurofit.agents.neurofit_agent import AgentConfig
from neurofit.agents.training import TrainConfig, train
from neurofit.envs import make_with_error, open_recording, tracking_error_m
from neurofit.envs.tracking import last_fraction, rms_tracking_error_mm


def _rms_mm(d: np.ndarray) -> float:
    """The RMS in mm of distances in metres, written out: sqrt(sum of squares / n) * 1000."""
    return math.sqrt(sum(float(x) * float(x) for x in d) / len(d)) * 1000.0


def test_rms_and_window_by_hand() -> None:
    assert rms_tracking_error_mm([0.003, 0.004]) == pytest.approx(math.sqrt(12.5))
    assert rms_tracking_error_mm([0.002]) == pytest.approx(2.0)
    assert math.isnan(rms_tracking_error_mm([]))
    assert math.isnan(rms_tracking_error_mm([0.001, math.nan]))
    assert list(last_fraction([1, 2, 3, 4], 0.5)) == [3, 4]
    assert list(last_fraction([1, 2, 3, 4, 5], 0.5)) == [3, 4, 5]  # the middle step counts
    assert list(last_fraction([7], 0.5)) == [7]
    with pytest.raises(ValueError, match="fraction"):
        last_fraction([1, 2], 0.0)


def test_quadrotor_reports_the_true_distance_not_the_sensed_error() -> None:
    env = gym.make("neurofit/QuadHoverNoisy-v0")  # sensor noise: info["error"] is noisy
    _obs, info = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        truth = np.asarray(info["target_pos"]) - info["qpos"][:3]
        assert info["tracking_error_m"] == pytest.approx(
            math.sqrt(float(truth @ truth)), rel=1e-12)
        assert info["tracking_error_m"] != pytest.approx(float(np.linalg.norm(info["error"][:3])),
                                                         rel=1e-6)
        _obs, _r, _term, _trunc, info = env.step(rng.uniform(-0.1, 0.3, 4).astype(np.float32))
    env.close()


def test_arm_reports_the_end_effector_distance() -> None:
    env = gym.make("neurofit/ArmReach-v0")  # reward_dist_weight = 1: reward_dist = -distance
    env.reset(seed=0)
    rng = np.random.default_rng(1)
    for _ in range(10):
        _o, _r, _t, _tr, info = env.step(rng.uniform(-0.3, 0.3, 4).astype(np.float32))
        d = np.asarray(info["target"]) - info["ee_pos"]
        assert info["tracking_error_m"] == pytest.approx(math.sqrt(float(d @ d)), rel=1e-12)
        assert info["tracking_error_m"] == pytest.approx(-info["reward_dist"], rel=1e-12)
    env.close()


def test_gymnasium_adapters() -> None:
    reacher = make_with_error("Reacher-v5")
    reacher.reset(seed=0)
    for _ in range(5):
        *_, info = reacher.step(np.array([0.2, -0.1], dtype=np.float32))
        # Reacher's own distance term: reward_dist = -|fingertip - target|
        assert info["tracking_error_m"] == pytest.approx(-info["reward_dist"], rel=1e-12)
    pendulum = make_with_error("InvertedPendulum-v5")  # no position target: absent, NaN
    _obs, info = pendulum.reset(seed=0)
    assert "tracking_error_m" not in info and math.isnan(tracking_error_m(info))
    reacher.close()
    pendulum.close()


def test_training_metrics_equal_a_recount_from_the_recorded_positions(tmp_path: Path) -> None:
    # 2 whole episodes of 51 steps (odd: the last half holds the middle step) + 18 cut
    cfg = TrainConfig(env_id="neurofit/QuadHoverPayload-v0", agent="pid",
                      env_kwargs={"max_episode_steps": 51}, total_steps=120, eval_episodes=0,
                      record=True)
    result = train(cfg, tmp_path / "run", progress=False)
    rec = open_recording(tmp_path / "run")
    assert rec.total_episodes == 3
    for row, k in zip(result.metrics, rec.episode_indices(), strict=True):
        ep = rec.episode(k)
        # row 0 of infos is the reset; the metrics count steps 1..n
        d = np.linalg.norm(ep.infos["target_pos"][1:] - ep.infos["qpos"][1:, :3], axis=1)
        assert d.shape[0] == row["length"] and d.min() > 0
        n = d.shape[0]
        assert row["rms_tracking_error_mm"] == pytest.approx(_rms_mm(d), rel=1e-12)
        assert row["rms_tracking_error_mm_last_half"] == pytest.approx(
            _rms_mm(d[n // 2:]), rel=1e-12)
    with open(tmp_path / "run/metrics.csv") as f:
        header = next(csv.reader(f))
    assert "rms_tracking_error_mm" in header and "rms_error" not in header


def test_training_metrics_say_na_without_a_position_target(tmp_path: Path) -> None:
    cfg = TrainConfig(env_id="InvertedPendulum-v5", agent="random", mode="reward",
                      total_steps=20, eval_episodes=0)
    result = train(cfg, tmp_path / "run", progress=False)
    row = result.metrics[-1]
    assert row["rms_tracking_error_mm"] is None
    assert row["rms_tracking_error_mm_last_half"] is None


def test_energy_score_equals_a_recount_of_the_same_flights() -> None:
    env_id, steps, seeds = "neurofit/QuadHoverPayload-v0", 41, (0, 1)

    def make(env: gym.Env, seed: int) -> object:
        return make_agent("pid", env, AgentConfig(seed=seed))

    m = measure_controller("pid", make, env_id, seeds,
                           env_kwargs={"max_episode_steps": steps})
    for seed, result in zip(seeds, m.episodes, strict=True):
        env = gym.make(env_id, max_episode_steps=steps)
        agent = make(env, seed)
        obs, info = env.reset(seed=seed)
        agent.reset()  # type: ignore[attr-defined]
        d = []
        done = False
        while not done:
            obs, r, term, trunc, info = env.step(agent.act(obs))  # type: ignore[attr-defined]
            agent.observe(obs, r, term, info)  # type: ignore[attr-defined]
            d.append(float(np.linalg.norm(info["target_pos"] - info["qpos"][:3])))
            done = term or trunc
        env.close()
        # the last half of 41 steps: the last 21
        assert result.rms_error_m * 1e3 == pytest.approx(_rms_mm(np.array(d[-21:])), rel=1e-12)


def test_demo_score_is_the_last_five_seconds() -> None:
    from neurofit.scripts.demo import _last_rms_mm

    t = np.arange(1, 1501) * 0.01
    err = np.where(t > 10.0 + 1e-9, 0.002, 0.5)  # 2 mm over exactly the last 500 steps
    assert _last_rms_mm({"t": t, "err": err, "dt": 0.01}) == pytest.approx(2.0)


def test_timeline_names_units_and_the_compute_profile(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from matplotlib.axes import Axes

    from neurofit.agents.neurofit_agent import NeuroFitAgent
    from neurofit.envs import EpisodeRecorder
    from neurofit.scripts.timeline import draw_timeline, energy_profile

    env = gym.make("neurofit/QuadHoverPayload-v0", max_episode_steps=20)
    agent = NeuroFitAgent.from_env(env, AgentConfig(n_per_input=5, n_output_neurons=10,
                                                    energy_profile="neurofit-analog"))
    env = EpisodeRecorder(env, tmp_path / "ds", agent)
    obs, _ = env.reset(seed=0)
    agent.reset()
    done = False
    while not done:
        obs, r, term, trunc, info = env.step(agent.act(obs))
        agent.observe(obs, r, term, info)
        done = term or trunc
    env.close()
    rec = open_recording(tmp_path / "ds")
    assert energy_profile(rec) == "neurofit-analog"
    labels: list[str] = []
    set_ylabel = Axes.set_ylabel
    monkeypatch.setattr(Axes, "set_ylabel",
                        lambda self, label, *a, **k: (labels.append(label),
                                                      set_ylabel(self, label, *a, **k))[1])
    draw_timeline(rec.episode(0), width_px=600, height_px=400, profile=energy_profile(rec))
    assert "tracking error (mm)" in labels and "actuator power (W)" in labels
    assert any(re.fullmatch(r"compute power \((W|mW|µW|nW)\)\non neurofit-analog", lb)
               for lb in labels), labels
