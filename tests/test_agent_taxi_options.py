"""The agent's options for the taxi (issue 13): the learning deadband (no weight written in a
tick whose teaching signal was inside the band; the default learns as before) and the engine's
execution model (event-driven flies the same, with fewer effective neuron updates)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import neurofit.envs  # noqa: F401
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.neuromorphic.counters import COUNT_NAMES

ENV = "neurofit/QuadHoverPayload-v0"
SMALL = {"n_per_input": 8, "n_output_neurons": 20, "substeps": 2}


def _fly(band: float, steps: int = 120) -> tuple[list[float], list[int]]:
    """Per tick: the teaching signal's norm in correction-scale units that observe() saw, and
    the weights written during the next tick (when that modulator acts)."""
    env = gym.make(ENV)
    agent = NeuroFitAgent.from_env(env, AgentConfig(mode="error", learn_deadband=band, **SMALL))
    obs, _ = env.reset(seed=2)
    agent.reset()
    norms, writes = [], []
    for _ in range(steps):
        before = agent.policy.net.counts().weight_updates
        action = agent.act(obs)
        writes.append(agent.policy.net.counts().weight_updates - before)
        obs, _, terminated, truncated, info = env.step(action)
        teach = agent.reflex.teaching(obs, np.asarray(info["error"])).copy()
        norms.append(float(np.linalg.norm(teach)) / agent.reflex.correction_scale)
        agent.observe(obs, 0.0, terminated, info)
        if terminated or truncated:
            break
    env.close()
    return norms, writes[1:]  # writes[k] now follows norms[k]


def test_no_weight_is_written_after_a_tick_inside_the_band() -> None:
    norms, writes = _fly(0.0)
    assert sum(w > 0 for w in writes) > len(writes) // 2  # the default learns
    band = float(np.median(norms))
    g_norms, g_writes = _fly(band)
    inside = [n < band for n in g_norms[:len(g_writes)]]
    assert 0 < sum(inside) < len(inside)
    assert all(w == 0 for w, i in zip(g_writes, inside, strict=True) if i)
    assert any(w > 0 for w, i in zip(g_writes, inside, strict=True) if not i)


def test_bad_learn_deadband_names_the_field() -> None:
    with pytest.raises(ValueError, match="learn_deadband"):
        AgentConfig(learn_deadband=-0.1)


def test_event_driven_execution_flies_the_same_with_fewer_effective_updates() -> None:
    """The engine's execution model as an agent option: same actions and spikes, effective
    neuron updates at most the dense count (the default stays time-stepped)."""
    assert AgentConfig().execution == "time-stepped"
    runs = {}
    for execution in ("time-stepped", "event-driven"):
        env = gym.make(ENV)
        agent = NeuroFitAgent.from_env(env, AgentConfig(mode="error", execution=execution,
                                                        **SMALL))
        assert agent.policy.net.execution == execution
        obs, _ = env.reset(seed=2)
        agent.reset()
        actions = []
        for _ in range(60):
            actions.append(agent.act(obs).copy())
            obs, _, terminated, truncated, info = env.step(actions[-1])
            agent.observe(obs, 0.0, terminated, info)
            if terminated or truncated:
                break
        runs[execution] = (np.array(actions), agent.policy.net.counts())
        env.close()
    (a_ts, c_ts), (a_ed, c_ed) = runs["time-stepped"], runs["event-driven"]
    np.testing.assert_array_equal(a_ts, a_ed)
    assert (c_ts.spikes, c_ts.weight_updates) == (c_ed.spikes, c_ed.weight_updates)
    assert c_ts.effective_neuron_updates == c_ts.neuron_updates == c_ed.neuron_updates
    assert c_ed.effective_neuron_updates <= c_ed.neuron_updates
    with pytest.raises(ValueError, match="execution"):
        AgentConfig(execution="lazy")


def test_per_tick_counts_carry_the_effective_updates() -> None:
    """The per-tick counts (what recording and the live meter charge) add up to the engine's
    totals, effective updates included — and in event-driven flight those are fewer."""
    env = gym.make(ENV)
    # the default network: the small one of the other tests never has a neuron at rest
    agent = NeuroFitAgent.from_env(env, AgentConfig(mode="error", execution="event-driven"))
    obs, _ = env.reset(seed=3)
    agent.reset()
    net = agent.policy.net
    start = net.counts()
    agent.policy.ops_since_mark()
    dense = effective = 0
    for _ in range(150):
        action = agent.act(obs)
        obs, _, terminated, _truncated, info = env.step(action)
        agent.observe(obs, 0.0, terminated, info)
        tick = agent.policy.ops_since_mark()  # COUNT_NAMES order
        dense += int(tick[COUNT_NAMES.index("neuron_updates")])
        effective += int(tick[COUNT_NAMES.index("effective_neuron_updates")])
    env.close()
    total = net.counts() - start
    assert (dense, effective) == (total.neuron_updates, total.effective_neuron_updates)
    assert effective < dense


def test_record_marks_saved_with_four_counts_still_load() -> None:
    """Checkpoints written before the effective count kept four counts: every update then was
    effective, so the fifth mark is the dense one."""
    env = gym.make(ENV)
    agent = NeuroFitAgent.from_env(env, AgentConfig(mode="error", **SMALL))
    env.close()
    agent.policy.set_record_marks({"counts_at_mark": np.array([7, 3, 5, 2], dtype=np.int64),
                                   "last_counts": np.zeros(agent.n_neurons, dtype=np.int32)})
    assert agent.policy.record_marks()["counts_at_mark"].tolist() == [7, 3, 5, 2, 7]
