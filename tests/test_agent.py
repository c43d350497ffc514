"""The NeuroFit agent: configuration, determinism, save/load, recording hook, and learning."""

from __future__ import annotations

from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest

import neurofit.envs  # noqa: F401
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.scripts.bench.adaptation import run_episode

SMALL = AgentConfig(n_per_input=20, n_output_neurons=40)


def _rollout(agent: NeuroFitAgent, env: gym.Env, steps: int, seed: int | None = None,
             obs: np.ndarray | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    if seed is not None:
        obs, _ = env.reset(seed=seed)
        agent.reset()
    actions = []
    for _ in range(steps):
        action = agent.act(obs)
        actions.append(action.copy())
        obs, reward, terminated, _truncated, info = env.step(action)
        agent.observe(obs, reward, terminated, info)
    return actions, obs


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("mode", "both", "mode must be one of"),
        ("n_per_input", 0, "n_per_input must be an integer >= 2"),
        ("substeps", 2.5, "substeps must be a positive integer"),
        ("learning_rate", -1e-3, "learning_rate must be a finite number >= 0"),
        ("dt_s", float("nan"), "dt_s must be a finite number > 0"),
        ("gamma", 1.5, "gamma must be in"),
        ("connection_p", 0.0, "connection_p must be in"),
        ("seed", -1, "seed must be a non-negative integer"),
        ("analog", {"read_noise": -0.1}, "read_noise must be >= 0"),
    ],
)
def test_bad_config_names_the_field(field: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AgentConfig(**{field: value})


def test_unknown_config_field_is_named() -> None:
    with pytest.raises(ValueError, match="unknown agent config field"):
        AgentConfig.from_dict({"n_neurons": 3})


def test_error_mode_needs_an_error_signal() -> None:
    env = gym.make("InvertedPendulum-v5")
    with pytest.raises(ValueError, match="no reflex"):
        NeuroFitAgent.from_env(env, SMALL)
    agent = NeuroFitAgent.from_env(gym.make("neurofit/QuadHover-v0"), SMALL)
    obs, _ = gym.make("neurofit/QuadHover-v0").reset(seed=0)
    agent.reset()
    agent.act(obs)
    with pytest.raises(ValueError, match=r"info\['error'\]"):
        agent.observe(obs, 0.0, False, {})


def test_same_seed_same_actions_and_other_seed_differs() -> None:
    runs = []
    for seed in (3, 3, 4):
        env = gym.make("neurofit/QuadHoverPayload-v0")
        agent = NeuroFitAgent.from_env(env, replace(SMALL, seed=seed))
        actions, _ = _rollout(agent, env, 150, seed=0)
        runs.append(np.array(actions))
    assert np.array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])


@pytest.mark.parametrize("env_id", ["neurofit/QuadHoverPayload-v0", "neurofit/ArmReach-v0"])
def test_save_load_resumes_exactly(env_id: str, tmp_path) -> None:
    """Two identical envs in lockstep: agent B loads agent A's checkpoint mid-episode and
    from then on acts exactly as A does."""
    env_a, env_b = gym.make(env_id), gym.make(env_id)
    obs_a, _ = env_a.reset(seed=0)
    obs_b, _ = env_b.reset(seed=0)
    agent_a = NeuroFitAgent.from_env(env_a, SMALL)
    agent_b = NeuroFitAgent.from_env(env_b, SMALL)
    agent_a.reset()
    agent_b.reset()
    for _ in range(120):
        action = agent_a.act(obs_a)
        obs_a, reward, terminated, _, info = env_a.step(action)
        obs_b, *_ = env_b.step(action)
        agent_a.observe(obs_a, reward, terminated, info)
    agent_a.save(tmp_path / "agent.npz")
    agent_b.load_state(tmp_path / "agent.npz")
    for _ in range(80):
        action_a, action_b = agent_a.act(obs_a), agent_b.act(obs_b)
        assert np.array_equal(action_a, action_b)
        obs_a, reward_a, term_a, _, info_a = env_a.step(action_a)
        obs_b, reward_b, term_b, _, info_b = env_b.step(action_b)
        agent_a.observe(obs_a, reward_a, term_a, info_a)
        agent_b.observe(obs_b, reward_b, term_b, info_b)
    assert np.array_equal(agent_a.policy.net.weights("learned"),
                          agent_b.policy.net.weights("learned"))


def test_load_rejects_a_checkpoint_of_another_config(tmp_path) -> None:
    env = gym.make("neurofit/QuadHover-v0")
    NeuroFitAgent.from_env(env, SMALL).save(tmp_path / "a.npz")
    other = NeuroFitAgent.from_env(env, replace(SMALL, learning_rate=1e-3))
    with pytest.raises(ValueError, match="different config"):
        other.load_state(tmp_path / "a.npz")
    with pytest.raises(FileNotFoundError, match="no agent checkpoint"):
        other.load_state(tmp_path / "missing.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"bad\.npz is corrupt: it is not an \.npz archive"):
        other.load_state(tmp_path / "bad.npz")


def test_record_tick_counts_add_up_to_the_network_counters() -> None:
    env = gym.make("neurofit/QuadHover-v0")
    agent = NeuroFitAgent.from_env(env, SMALL)
    obs, _ = env.reset(seed=0)
    agent.reset()
    totals = dict.fromkeys(("neuron_updates", "spikes", "synaptic_events", "weight_updates"), 0)
    n_spikes = 0
    for _ in range(50):
        action = agent.act(obs)
        tick = agent.record_tick()
        for key in totals:
            totals[key] += tick["ops"][key]
        n_spikes += tick["spikes"].size
        assert tick["compute_energy_j"] > 0
        obs, reward, terminated, _truncated, info = env.step(action)
        agent.observe(obs, reward, terminated, info)
    assert totals == agent.policy.net.counts().as_dict()
    assert n_spikes <= totals["spikes"]  # a neuron can spike more than once per tick
    assert totals["neuron_updates"] == 50 * agent.config.substeps * agent.n_neurons


def test_error_mode_learns_the_payload_the_reflex_cannot() -> None:
    """PD alone sags ~29 cm under +30% payload; NeuroFit learns it away within the episode."""
    steps = 800  # 8 s: payload at 2 s, judged on the last 2 s
    pd = run_episode("neurofit/QuadHoverPayload-v0", "pd", 0, steps)
    nf = run_episode("neurofit/QuadHoverPayload-v0", "neurofit", 0, steps,
                     config=AgentConfig(seed=0))
    pd_rms = np.sqrt(np.mean(pd["errors"][-200:] ** 2))
    nf_rms = np.sqrt(np.mean(nf["errors"][-200:] ** 2))
    assert not nf["crashed"]
    assert pd_rms > 0.2
    assert nf_rms < 0.2 * pd_rms


def test_frozen_agent_does_not_change_weights() -> None:
    env = gym.make("neurofit/QuadHoverPayload-v0")
    agent = NeuroFitAgent.from_env(env, SMALL)
    agent.learning = False
    before = agent.policy.net.weights("learned").copy()
    _rollout(agent, env, 300, seed=0)
    assert np.array_equal(before, agent.policy.net.weights("learned"))
    assert agent.policy.net.counts().weight_updates == 0


def test_bench_learning_cli_prints_the_adaptation_keys() -> None:
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "neurofit.scripts.cli", "bench", "learning", "--task",
         "hover-payload", "--seeds", "0", "--json", "--no-progress"],
        capture_output=True, text=True, timeout=600, check=True,
    )
    result = json.loads(out.stdout)
    for key in ("rms_error_pd", "rms_error_pid", "rms_error_neurofit", "reduction", "machine"):
        assert key in result
    assert result["reduction"]["mean"] > 0.8


def test_evaluate_records_episodes_that_replay_bit_exact(tmp_path) -> None:
    from neurofit.agents.training import TrainConfig, evaluate, train
    from neurofit.envs.recorded import open_recording
    from neurofit.envs.replay import replay_episode

    config = TrainConfig(env_id="neurofit/QuadHoverPayload-v0", total_steps=300,
                         env_kwargs={"max_episode_steps": 150},
                         agent_config={"n_per_input": 20, "n_output_neurons": 40})
    train(config, tmp_path / "run", progress=False)
    result = evaluate(tmp_path / "run", episodes=2, baselines=(), record=True)
    assert "neurofit" in result["agents"]
    recording = open_recording(tmp_path / "run" / "eval_dataset")
    assert len(recording) == 2
    check = replay_episode(recording, 1)
    assert check.bit_exact
    assert recording.episode(1).spikes.events()[0].size > 0
