"""Reward mode: mode defaults, the mechanics of node perturbation with a TD(λ) critic, exact
resume, and learning InvertedPendulum-v5 from reward alone (short here, to 950 when slow)."""

from __future__ import annotations

from dataclasses import asdict, replace

import gymnasium as gym
import numpy as np
import pytest

from neurofit.agents.neurofit_agent import MODE_DEFAULTS, AgentConfig, NeuroFitAgent
from neurofit.scripts.bench.threshold_runs import mean_return, neurofit_steps_to_threshold

ENV_ID = "InvertedPendulum-v5"


def _agent(seed: int = 0, **kw: object) -> tuple[NeuroFitAgent, gym.Env]:
    env = gym.make(ENV_ID)
    return NeuroFitAgent.from_env(env, AgentConfig(mode="reward", seed=seed, **kw)), env


def _train(agent: NeuroFitAgent, env: gym.Env, steps: int, seed: int) -> int:
    """``steps`` training steps from ``env.reset(seed=seed)``; returns the episodes ended."""
    obs, _ = env.reset(seed=seed)
    agent.reset()
    episodes = 0
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(agent.act(obs))
        agent.observe(obs, float(reward), terminated, info)
        if terminated or truncated:
            obs, _ = env.reset()
            agent.reset()
            episodes += 1
    return episodes


def _frozen_return(agent: NeuroFitAgent, episodes: int = 5) -> float:
    agent.learning = False
    try:
        return mean_return(gym.make(ENV_ID), agent.act, episodes, on_reset=agent.reset)
    finally:
        agent.learning = True


def test_mode_defaults_fill_unset_fields_and_keep_explicit_ones() -> None:
    err, rew = AgentConfig(), AgentConfig(mode="reward")
    for name, value in MODE_DEFAULTS["error"].items():
        assert getattr(err, name) == value
    for name, value in MODE_DEFAULTS["reward"].items():
        assert getattr(rew, name) == value
    # reward mode runs the network in real time at 25 Hz: one control period per tick
    assert rew.substeps * rew.dt_s == pytest.approx(gym.make(ENV_ID).unwrapped.dt)
    assert AgentConfig(mode="reward", substeps=20).substeps == 20
    assert AgentConfig.from_dict(asdict(rew)) == rew  # a saved config reloads as it was


@pytest.mark.parametrize(("field", "value", "match"), [
    ("exploration_sd", -0.1, "exploration_sd must be a finite number >= 0"),
    ("exploration_tau_s", 0.0, "exploration_tau_s must be a finite number > 0"),
    ("critic_lambda", 1.5, "critic_lambda must be in"),
    ("input_width", float("inf"), "input_width must be a finite number > 0"),
])
def test_bad_reward_config_names_the_field(field: str, value: float, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        AgentConfig(mode="reward", **{field: value})


def test_actions_span_the_env_action_space() -> None:
    agent, env = _agent()
    obs, _ = env.reset(seed=0)
    agent.reset()
    _, post = agent.policy.net.synapses("learned")  # push every neuron toward +1: saturate
    push = np.sign(agent.policy.out_enc.encoders[post, 0]) * agent.config.weight_bound_v
    agent.policy.net.weights("learned")[:] = push
    agent.learning = False  # (learning would pull the outputs back into range)
    actions = np.array([agent.act(obs) for _ in range(10)])
    assert actions.dtype == np.float32 and actions.shape == (10, 1)
    assert np.all(np.abs(actions) <= 3.0) and np.max(np.abs(actions)) > 2.0


@pytest.mark.parametrize("bound_rate", [0.0, 1e-2])
def test_outputs_beyond_the_action_range_are_pulled_back(bound_rate: float) -> None:
    # no exploration, so node perturbation writes nothing: only the bounds term can act
    agent, env = _agent(exploration_sd=0.0, bound_learning_rate=bound_rate)
    obs, _ = env.reset(seed=0)
    agent.reset()
    _, post = agent.policy.net.synapses("learned")  # every neuron pushed toward +1
    push = np.sign(agent.policy.out_enc.encoders[post, 0]) * agent.config.weight_bound_v
    agent.policy.net.weights("learned")[:] = push
    decoded = []
    for _ in range(60):
        agent.act(obs)
        decoded.append(float(agent.policy.decoder.output[0]))
    writes = agent.policy.net.counts().weight_updates
    assert max(decoded[:10]) > 1.8  # far beyond the range [-1, 1] (the rates saturate at ~2)
    if bound_rate == 0.0:
        assert np.mean(decoded[-10:]) > 1.8 and writes == 0
    else:  # back to the edge of the range (within the decoding's spike noise), and counted
        assert 0.8 < np.mean(decoded[-10:]) < 1.2 and writes > 0


def test_same_seed_same_run_and_other_seed_differs() -> None:
    weights = []
    for seed in (1, 1, 2):
        agent, env = _agent(seed)
        _train(agent, env, 300, seed=0)
        weights.append(agent.policy.net.weights("learned").copy())
    assert np.array_equal(weights[0], weights[1])
    assert not np.array_equal(weights[0], weights[2])


def test_frozen_agent_neither_learns_nor_explores() -> None:
    agent, env = _agent()
    _train(agent, env, 200, seed=0)
    agent.learning = False
    weights = agent.policy.net.weights("learned").copy()
    critic = agent.critic.weights.copy()
    rng = agent._noise_rng.bit_generator.state
    updates = agent.policy.net.counts().weight_updates
    _train(agent, env, 200, seed=1)
    assert np.array_equal(weights, agent.policy.net.weights("learned"))
    assert np.array_equal(critic, agent.critic.weights)
    assert agent._noise_rng.bit_generator.state == rng  # evaluation leaves the noise stream
    assert agent.policy.net.counts().weight_updates == updates


def test_terminal_td_error_reaches_the_synapses_before_reset() -> None:
    """The last, most informative TD error is applied by one extra tick at termination."""
    agent, env = _agent()
    obs, _ = env.reset(seed=0)
    agent.reset()
    terminated = False
    while not terminated:  # the untrained policy drops the pole within a few dozen steps
        obs, reward, terminated, _, info = env.step(agent.act(obs))
        if terminated:
            before = agent.policy.net.weights("learned").copy()
            ticks = agent.policy.net.steps
        agent.observe(obs, float(reward), terminated, info)
    assert agent.policy.net.steps == ticks + agent.config.substeps
    assert not np.array_equal(before, agent.policy.net.weights("learned"))
    assert np.all(agent.policy.modulator == 0.0)


def test_save_load_resumes_exactly_mid_episode(tmp_path) -> None:
    agent_a, env_a = _agent(3)
    agent_b, env_b = _agent(3)
    _train(agent_a, env_a, 150, seed=0)
    obs_a, _ = env_a.reset(seed=5)
    obs_b, _ = env_b.reset(seed=5)
    agent_a.reset()
    for _ in range(7):  # mid-episode: traces, exploration state and φ(s) are live
        action = agent_a.act(obs_a)
        obs_a, reward, terminated, _, info = env_a.step(action)
        obs_b, *_ = env_b.step(action)
        agent_a.observe(obs_a, float(reward), terminated, info)
    agent_a.save(tmp_path / "agent.npz")
    agent_b.load_state(tmp_path / "agent.npz")
    for _ in range(40):
        action_a, action_b = agent_a.act(obs_a), agent_b.act(obs_b)
        assert np.array_equal(action_a, action_b)
        obs_a, reward_a, term_a, trunc_a, info_a = env_a.step(action_a)
        obs_b, reward_b, term_b, _, info_b = env_b.step(action_b)
        agent_a.observe(obs_a, float(reward_a), term_a, info_a)
        agent_b.observe(obs_b, float(reward_b), term_b, info_b)
        if term_a or trunc_a:
            break
    assert np.array_equal(agent_a.policy.net.weights("learned"),
                          agent_b.policy.net.weights("learned"))
    assert np.array_equal(agent_a.critic.weights, agent_b.critic.weights)


def test_short_training_balances_far_longer_than_untrained() -> None:
    """6,144 steps (~25 s of pendulum time, well under a minute of wall time here)."""
    agent, env = _agent(seed=0)
    untrained = _frozen_return(agent)
    _train(agent, env, 6144, seed=0)
    trained = _frozen_return(agent)
    assert untrained < 60
    assert trained > max(200.0, 5 * untrained)


@pytest.mark.slow
def test_reaches_950_well_within_300k_steps() -> None:
    """The benchmark's protocol for one seed: InvertedPendulum-v5 solved (mean return of 10
    frozen episodes >= 950) within 300k steps; measured here in ~10k (PPO needs ~30k)."""
    run = neurofit_steps_to_threshold(ENV_ID, seed=0, max_steps=300_000)
    assert run.steps_to_threshold is not None and run.steps_to_threshold <= 50_000
    assert run.best_eval_return >= 950


def test_threshold_run_rejects_error_mode_and_bad_protocol() -> None:
    with pytest.raises(ValueError, match="reward mode"):
        neurofit_steps_to_threshold(ENV_ID, 0, max_steps=10, config=AgentConfig())
    with pytest.raises(ValueError, match="eval_every must be a positive integer"):
        neurofit_steps_to_threshold(ENV_ID, 0, max_steps=10, eval_every=0)


def test_threshold_run_reports_the_protocol() -> None:
    cfg = replace(AgentConfig(mode="reward"), n_per_input=10, n_output_neurons=20)
    run = neurofit_steps_to_threshold(ENV_ID, 4, max_steps=300, eval_every=128,
                                      eval_episodes=2, config=cfg)
    assert [s for s, _ in run.evaluations] == [128, 256, 300]
    assert run.steps_to_threshold is None and run.best_eval_return < 950
    assert run.best_eval_return == max(m for _, m in run.evaluations)
    assert run.as_dict()["seed"] == 4 and run.train_episodes >= 1
