"""Training loop, baselines and evaluation: resume is exact, bad configs fail clearly, NeuroFit
learns (error mode beats the PD reflex it builds on under a payload it was not told about)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import neurofit.envs  # noqa: F401  (registers the ids)
from neurofit.agents.baselines import PIDAgent, RandomAgent, has_error_feedback, make_agent
from neurofit.agents.mlp import NumpyMLP
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.training import TrainConfig, episode_seed, evaluate, train, train_many
from neurofit.envs.error_feedback import make_with_error

SMALL = {"n_per_input": 10, "n_output_neurons": 20}  # a fast network for plumbing tests
SHORT = {"max_episode_steps": 50}  # 0.5 s episodes


def _small(**kw: Any) -> TrainConfig:
    base: dict[str, Any] = dict(env_id="neurofit/QuadHoverPayload-v0", env_kwargs=SHORT,
                                agent_config=SMALL, total_steps=125, eval_episodes=0)
    return TrainConfig(**{**base, **kw})


def _weights(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def _assert_same_run(a: Path, b: Path) -> None:
    for name in ("metrics.json", "metrics.csv", "eval.csv"):
        if (a / name).exists() or (b / name).exists():
            assert (a / name).read_text() == (b / name).read_text(), name
    wa, wb = _weights(a / "agent.npz"), _weights(b / "agent.npz")
    assert wa.keys() == wb.keys()
    for key in wa:
        np.testing.assert_array_equal(wa[key], wb[key], err_msg=key)


def test_resume_equals_uninterrupted(tmp_path: Path) -> None:
    # 125 steps = 2 episodes of 50 + 25 cut by the budget; evaluations after each episode
    cfg = _small(eval_every=50, eval_episodes=1)
    full = train(cfg, tmp_path / "full", progress=False)
    half = train(_small(eval_every=50, eval_episodes=1, total_steps=75), tmp_path / "resumed",
                 progress=False)
    assert half.steps == 75 and half.metrics[-1]["complete"] is False
    state = json.loads((tmp_path / "resumed/checkpoints/state.json").read_text())
    assert (state["step"], state["episode"]) == (50, 1)  # checkpoints only at episode ends
    resumed = train(cfg, tmp_path / "resumed", resume=True, progress=False)
    assert resumed.resumed_from_step == 50
    assert resumed.metrics == full.metrics and resumed.evaluations == full.evaluations
    _assert_same_run(tmp_path / "full", tmp_path / "resumed")
    # the layout the energy CLI reads
    assert [r["episode"] for r in full.metrics] == [0, 1, 2]
    assert [r["complete"] for r in full.metrics] == [True, True, False]
    assert [e["step"] for e in full.evaluations] == [50, 100, 125]
    row = full.metrics[0]
    assert row["env_seed"] == episode_seed(0, 0) and row["length"] == 50
    terms = sum(v for k, v in row.items() if k.startswith("reward_"))
    assert math.isclose(terms, row["return"], rel_tol=1e-9, abs_tol=1e-9)
    for key in ("rms_tracking_error_mm", "rms_tracking_error_mm_last_half", "error_5_rms",
                "actuator_power_w", "spike_rate_hz", "ops_per_tick",
                "compute_learning_j", "compute_static_j", "compute_energy_per_tick_j"):
        assert row[key] is not None and row[key] >= 0, key
    assert row["spike_rate_hz"] > 0 and row["weight_updates_per_tick"] > 0
    config = json.loads((tmp_path / "full/config.json").read_text())
    assert TrainConfig.from_dict(config) == cfg.resolved()
    assert config["resolved"]["agent_config"]["n_per_input"] == 10
    assert (tmp_path / "full/learning_curve.png").stat().st_size > 1000


def _documented_seed(seed: int, episode: int, stream: int = 0) -> int:
    """The env seed of an episode as config.json documents it: numpy
    ``SeedSequence([seed, stream, episode]).generate_state(1)[0]`` (not ``episode_seed``)."""
    return int(np.random.SeedSequence([seed, stream, episode]).generate_state(1)[0])


def test_episode_seeds_distinct_documented_and_recorded(tmp_path: Path) -> None:
    from neurofit.envs.recorded import open_recording

    result = train(_small(agent="pd", seed=5, total_steps=200, record=True), tmp_path / "run",
                   progress=False)
    expected = [_documented_seed(5, i) for i in range(4)]
    assert len(set(expected)) == 4
    assert [r["env_seed"] for r in result.metrics] == expected
    rows = json.loads((tmp_path / "run/metrics.json").read_text())["episodes"]
    assert [r["env_seed"] for r in rows] == expected
    rec = open_recording(tmp_path / "run" / "dataset")
    episodes = list(rec.episodes())
    assert [ep.seed for ep in episodes] == expected
    # the seed reached the env: each recorded episode starts where a fresh env reset with the
    # documented seed starts, and the starts differ
    env = gym.make("neurofit/QuadHoverPayload-v0", **SHORT)
    for ep, s in zip(episodes, expected, strict=True):
        np.testing.assert_array_equal(ep.observations[0], env.reset(seed=s)[0])
    assert len({ep.observations[0].tobytes() for ep in episodes}) == 4
    env.close()


def test_resume_with_sparse_checkpoints_equals_uninterrupted(tmp_path: Path) -> None:
    """checkpoint_every=2 with 50-step episodes: the final checkpoint is written even when the
    episode count is odd, holds the final agent, and a resume from it equals one long run."""
    cfg = _small(total_steps=250, checkpoint_every=2)
    full = train(cfg, tmp_path / "full", progress=False)
    part = train(_small(total_steps=150, checkpoint_every=2), tmp_path / "resumed",
                 progress=False)
    assert part.episodes == 3
    state = json.loads((tmp_path / "resumed/checkpoints/state.json").read_text())
    assert (state["step"], state["episode"]) == (150, 3)  # episode 3 is not a multiple of 2
    ckpt = _weights(tmp_path / "resumed/checkpoints/latest.npz")
    trainer = json.loads(bytes(ckpt.pop("trainer_state")).decode())
    assert (trainer["step"], trainer["episode"]) == (150, 3)
    final = _weights(tmp_path / "resumed/agent.npz")
    assert ckpt.keys() == final.keys()
    for key in final:
        np.testing.assert_array_equal(ckpt[key], final[key], err_msg=key)
    resumed = train(cfg, tmp_path / "resumed", resume=True, progress=False)
    assert resumed.resumed_from_step == 150
    assert resumed.metrics == full.metrics
    _assert_same_run(tmp_path / "full", tmp_path / "resumed")
    state = json.loads((tmp_path / "resumed/checkpoints/state.json").read_text())
    assert (state["step"], state["episode"]) == (250, 5)


def test_metrics_recount_from_the_recorded_dataset(tmp_path: Path) -> None:
    """Every episode's metrics row recomputed from the recorded dataset alone: length, return
    and reward terms, RMS tracking error in mm (distance from the true position to the target,
    sqrt of the mean of squares, whole episode and last half), actuator power and energy, spike
    rate, operations per tick and compute energy at Loihi's figures (Davies et al. 2018)."""
    from neurofit.envs.recorded import open_recording

    result = train(_small(total_steps=100, record=True), tmp_path / "run", progress=False)
    assert [r["complete"] for r in result.metrics] == [True, True]
    dt_s = json.loads((tmp_path / "run/config.json").read_text())[
        "resolved"]["agent_config"]["dt_s"]
    episodes = list(open_recording(tmp_path / "run" / "dataset").episodes())
    assert len(episodes) == len(result.metrics)
    for row, ep in zip(result.metrics, episodes, strict=True):
        n = ep.n_steps
        steps = slice(1, None)  # infos row 0 is the reset
        assert row["length"] == n == 50 and row["env_seed"] == ep.seed
        assert row["return"] == pytest.approx(float(np.sum(ep.rewards)), rel=1e-12)
        for key in ("reward_alive", "reward_position", "reward_velocity", "reward_attitude",
                    "reward_rate", "reward_energy", "reward_crash"):
            assert row[key] == pytest.approx(float(np.sum(ep.infos[key][steps])), abs=1e-9), key
        dist = np.linalg.norm(ep.infos["target_pos"][steps] - ep.infos["qpos"][steps, :3], axis=1)
        np.testing.assert_allclose(ep.infos["tracking_error_m"][steps], dist, rtol=1e-12)
        assert row["rms_tracking_error_mm"] == pytest.approx(
            1000.0 * math.sqrt(sum(d * d for d in dist) / n), rel=1e-12)
        half = dist[n // 2:]  # the last 25 of 50 steps
        assert row["rms_tracking_error_mm_last_half"] == pytest.approx(
            1000.0 * math.sqrt(sum(d * d for d in half) / len(half)), rel=1e-12)
        power = ep.infos["power_w"][steps]
        assert row["actuator_power_w"] == pytest.approx(float(np.mean(power)), rel=1e-12)
        assert row["actuator_energy_j"] == pytest.approx(float(np.sum(power)) * 0.01, rel=1e-12)
        ops = {k: int(np.sum(v[steps])) for k, v in ep.infos["agent"]["ops"].items()}
        spikes = ep.spikes
        assert spikes is not None and ops["spikes"] == int(spikes.counts()[1:].sum())
        assert row["spike_rate_hz"] == pytest.approx(
            ops["spikes"] / ops["neuron_updates"] / dt_s, rel=1e-12)
        assert row["ops_per_tick"] == pytest.approx(sum(ops.values()) / n, rel=1e-12)
        for name, value in ops.items():
            assert row[f"{name}_per_tick"] == pytest.approx(value / n, rel=1e-12), name
        loihi_j = {"compute_spikes_j": ops["spikes"] * 3.5e-12,
                   "compute_synaptic_j": ops["synaptic_events"] * 23.6e-12,
                   "compute_neuron_j": ops["neuron_updates"] * 81e-12,
                   "compute_learning_j": ops["weight_updates"] * 120e-12,
                   "compute_static_j": 0.94 * 0.01 * n}
        for key, value in loihi_j.items():
            assert row[key] == pytest.approx(value, rel=1e-9), key
        assert row["compute_energy_j"] == pytest.approx(sum(loihi_j.values()), rel=1e-9)
        assert row["compute_energy_j"] == pytest.approx(
            float(np.sum(ep.infos["agent"]["compute_energy_j"][steps])), rel=1e-9)


def test_resume_equals_uninterrupted_reward_mode(tmp_path: Path) -> None:
    # truncated, never terminated: the critic's features run on across episode boundaries,
    # so the checkpoint must hold them (NeuroFitAgent.save stores "critic.phi")
    cfg = _small(env_id="neurofit/ArmReach-v0", mode="reward")
    train(cfg, tmp_path / "full", progress=False)
    train(_small(env_id="neurofit/ArmReach-v0", mode="reward", total_steps=75),
          tmp_path / "resumed", progress=False)
    train(cfg, tmp_path / "resumed", resume=True, progress=False)
    _assert_same_run(tmp_path / "full", tmp_path / "resumed")


def test_neurofit_error_mode_beats_pd_reflex_under_payload(tmp_path: Path) -> None:
    """One 10 s episode of QuadHoverPayload-v0 (+30 % mass at 2 s), AgentConfig() defaults:
    the PD reflex alone sags (~0.29 m); NeuroFit learns the missing thrust (~0.01 m)."""

    class LatePositionError:
        def __init__(self) -> None:
            self.sq: list[float] = []

        def on_step(self, locals_: dict[str, Any]) -> bool:
            if locals_["step"] > 500:  # the last 5 s
                self.sq.append(float(np.sum(np.square(locals_["info"]["error"][:3]))))
            return True

    rms = {}
    for agent in ("pd", "neurofit"):
        cb = LatePositionError()
        cfg = TrainConfig(env_id="neurofit/QuadHoverPayload-v0", agent=agent, mode="error",
                          total_steps=1000, eval_episodes=0)
        result = train(cfg, tmp_path / agent, callbacks=[cb], progress=False)
        assert result.episodes == 1 and len(cb.sq) == 500
        rms[agent] = math.sqrt(np.mean(cb.sq))
    assert rms["pd"] > 0.2, rms
    assert rms["neurofit"] < 0.05 and rms["neurofit"] < 0.2 * rms["pd"], rms


def test_callback_stops_early_and_run_dir_rules(tmp_path: Path) -> None:
    class StopAt:
        def on_step(self, locals_: dict[str, Any]) -> bool:
            return locals_["step"] < 30

    result = train(_small(agent="pd"), tmp_path / "run", callbacks=[StopAt()], progress=False)
    assert result.stopped_early and result.steps == 30 and result.episodes == 0
    assert result.metrics[-1]["complete"] is False and result.metrics[-1]["length"] == 30
    with pytest.raises(FileExistsError, match="resume"):
        train(_small(agent="pd"), tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="seed"):
        train(_small(agent="pd", seed=3), tmp_path / "run", resume=True, progress=False)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"env_id": "neurofit/QuadHover-v9"}, r"unknown env id .*close matches: .*QuadHover-v0"),
    ({"env_id": "Hopper-v5", "mode": "error"}, r"reward mode.*ErrorFeedback"),
    ({"total_steps": -5}, "total_steps must be a positive integer"),
    ({"agent": "ppo"}, "unknown agent 'ppo'"),
    ({"agent_config": {"mode": "reward"}}, "TrainConfig.mode"),
    ({"agent_config": {"n_per_inputs": 3}}, "unknown agent config field"),
])
def test_bad_configs(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_make_agent_kinds_and_feedback() -> None:
    pendulum = gym.make("InvertedPendulum-v5")
    with pytest.raises(ValueError, match=r"reward mode.*ErrorFeedback"):
        make_agent("neurofit", pendulum, AgentConfig(mode="error"))
    with pytest.raises(ValueError, match="unknown agent kind 'lqr'"):
        make_agent("lqr", pendulum)
    with pytest.raises(ValueError, match="no PID/PD controller"):
        PIDAgent(pendulum)
    assert not has_error_feedback(pendulum)
    assert has_error_feedback(make_with_error("InvertedPendulum-v5"))
    assert isinstance(make_agent("neurofit", pendulum, AgentConfig(mode="reward", **SMALL)),
                      NeuroFitAgent)
    hover = gym.make("neurofit/QuadHover-v0")
    pd, pid = make_agent("pd", hover), make_agent("pid", hover)
    assert not pd.controller.integral and pid.controller.integral
    assert pd.learning is False


def test_random_agent_state_round_trip(tmp_path: Path) -> None:
    env = gym.make("neurofit/QuadHover-v0")
    a, b = RandomAgent(env, seed=1), RandomAgent(env, seed=2)
    obs = np.zeros(18)
    a.act(obs)
    a.save(tmp_path / "rng.npz")
    b.load_state(tmp_path / "rng.npz")
    np.testing.assert_array_equal(a.act(obs), b.act(obs))
    assert env.action_space.contains(a.act(obs))


def test_evaluate_agent_object_beside_baselines(tmp_path: Path) -> None:
    env = gym.make("neurofit/QuadHover-v0", max_episode_steps=50)
    agent = NeuroFitAgent.from_env(env, AgentConfig(**SMALL))
    rng = np.random.default_rng(0)
    mlp = NumpyMLP([rng.normal(0, 0.1, (8, 18)), rng.normal(0, 0.1, (4, 8))],
                   [np.zeros(8), np.zeros(4)], action_low=-1.0, action_high=1.0)
    mlp_path = mlp.save(tmp_path / "mlp.npz")
    out = evaluate(agent, "neurofit/QuadHover-v0", episodes=1, env_kwargs=SHORT,
                   baselines=("pd", "random", "mlp"), mlp_path=mlp_path)
    assert agent.learning  # switched back on after the evaluation
    assert set(out["agents"]) == {"neurofit", "pd", "random", "mlp"} and not out["skipped"]
    nf, pd, dnn = out["agents"]["neurofit"], out["agents"]["pd"], out["agents"]["mlp"]
    assert nf["spike_rate_hz"] > 0 and nf["ops_per_tick"] > 0 and pd["spike_rate_hz"] is None
    assert pd["ops_per_tick"] is None
    assert pd["rms_tracking_error_mm"] < out["agents"]["random"]["rms_tracking_error_mm"]
    assert dnn["spike_rate_hz"] is None and dnn["compute_dynamic_per_tick_j"] > 0
    assert dnn["ops_per_tick"] == sum(mlp.count_ops().as_dict().values())
    skipped = evaluate(agent, "neurofit/QuadHover-v0", episodes=1, env_kwargs=SHORT,
                       baselines=("mlp",))["skipped"]
    assert "mlp" in skipped


def test_train_many_parallel_processes(tmp_path: Path) -> None:
    results = train_many(_small(agent="random", total_steps=30), [0, 1], 2, tmp_path)
    assert [r.run_dir for r in results] == [tmp_path / "seed_0", tmp_path / "seed_1"]
    assert [r.config.seed for r in results] == [0, 1]
    for r in results:
        assert (r.run_dir / "metrics.csv").exists() and r.steps == 30
    assert results[0].metrics[0]["return"] != results[1].metrics[0]["return"]
    assert json.loads((tmp_path / "seeds.json").read_text())["seeds"] == [0, 1]


def test_train_many_ray_backend_needs_the_cluster_extra(tmp_path: Path) -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="cluster"):
            train_many(_small(), [0, 1], 2, tmp_path, backend="ray")
    else:
        pytest.skip("ray is installed")
    with pytest.raises(ValueError, match="distinct"):
        train_many(_small(), [0, 0], 1, tmp_path)
