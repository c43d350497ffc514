"""NeuroFit with change-driven coding (``AgentConfig(coding="sigma-delta")``): it learns the
payload, a steady hover then costs nothing, and it saves and restores exactly."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import neurofit.envs  # noqa: F401
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.reflex import make_reflex
from neurofit.agents.rollout import ReflexAgent, run_episode
from neurofit.envs.tracking import tracking_error_m

HOVER = "neurofit/QuadHoverPayload-v0"


def test_sigma_delta_is_error_mode_only() -> None:
    with pytest.raises(ValueError, match="coding='sigma-delta' is for error mode"):
        AgentConfig(mode="reward", coding="sigma-delta")
    with pytest.raises(ValueError, match="coding"):
        AgentConfig(coding="spikes")


def test_execution_defaults_to_the_profile_model() -> None:
    assert AgentConfig(energy_profile="neurofit-analog").execution == "event-driven"
    assert AgentConfig(energy_profile="loihi").execution == "time-stepped"
    assert AgentConfig(energy_profile="loihi", execution="event-driven").execution == \
        "event-driven"


def _hover(agent_kind: str, steps: int = 1500) -> tuple[np.ndarray, list[np.ndarray], object]:
    env = gym.make(HOVER, max_episode_steps=steps)
    if agent_kind == "pd":
        agent = ReflexAgent(make_reflex(env))
    else:
        agent = NeuroFitAgent.from_env(env, AgentConfig(coding="sigma-delta"))
    errors: list[float] = []
    counts: list[np.ndarray] = []

    def on_step(s) -> None:
        errors.append(tracking_error_m(s.info))
        if agent_kind != "pd":
            counts.append(agent.policy.net.counters.copy())

    run_episode(agent, env, 0, max_steps=steps, on_step=on_step)
    env.close()
    return np.array(errors), counts, agent


def test_learns_the_payload_and_a_steady_hover_costs_nothing() -> None:
    pd_err, _, _ = _hover("pd")
    err, counts, agent = _hover("neurofit")
    rms = lambda e: float(np.sqrt(np.mean(e[-500:] ** 2)))  # noqa: E731
    # the reflex alone sags under the payload by ~0.3 m; the learned correction takes it away
    assert rms(err) < 0.01 * rms(pd_err)
    # the last 2 s: no input events, no hidden or output events, no weight writes
    last = counts[-1] - counts[-201]
    assert last[1] == last[2] == last[3] == last[4] == 0
    assert last[0] == 200 * agent.n_neurons  # what a time-stepped chip would still pay


def test_save_and_load_continue_bit_for_bit(tmp_path) -> None:
    env = gym.make(HOVER, max_episode_steps=400)
    config = AgentConfig(coding="sigma-delta", seed=3)
    agent = NeuroFitAgent.from_env(env, config)
    obs, info = env.reset(seed=1)
    agent.reset()
    for _ in range(150):
        action = agent.act(obs)
        obs, reward, term, _trunc, info = env.step(action)
        agent.observe(obs, reward, term, info)
    agent.save(tmp_path / "a.npz")
    twin = NeuroFitAgent.from_env(env, config)
    twin.load_state(tmp_path / "a.npz")
    for _ in range(50):
        a1, a2 = agent.act(obs), twin.act(obs)
        np.testing.assert_array_equal(a1, a2)
        obs, reward, term, _trunc, info = env.step(a1)
        agent.observe(obs, reward, term, info)
        twin.observe(obs, reward, term, info)
    np.testing.assert_array_equal(agent.policy.net.weights, twin.policy.net.weights)
    tick = agent.record_tick()
    assert np.all(tick["spikes"] < agent.n_neurons)
    env.close()
