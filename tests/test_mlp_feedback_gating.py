"""The DNN twin's learning deadband: no SGD step, and none counted, on a tick whose teaching
signal is inside the band — recounted from the teaching signal the env's error gives."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import neurofit.envs  # noqa: F401
from neurofit.agents.mlp_feedback import FeedbackMLPAgent

ENV = "neurofit/QuadHoverPayload-v0"


def _fly(agent: FeedbackMLPAgent, env: gym.Env, steps: int) -> tuple[list[float], list[bool]]:
    """One seeded episode: per tick, the teaching signal's norm in correction-scale units
    (the reflex's command for the env's error / correction_scale) and whether the weights
    moved."""
    obs, _ = env.reset(seed=4)
    agent.reset()
    norms, moved = [], []
    for _ in range(steps):
        obs, _, terminated, truncated, info = env.step(agent.act(obs))
        e = np.asarray(info["error"])
        teach = agent.reflex.teaching(obs, e).copy()
        norms.append(float(np.linalg.norm(teach)) / agent.reflex.correction_scale)
        before = [w.copy() for w in agent.weights]
        agent.observe(obs, 0.0, terminated, info)
        moved.append(any(not np.array_equal(a, b) for a, b in zip(before, agent.weights,
                                                                  strict=True)))
        if terminated or truncated:
            break
    return norms, moved


def test_learning_steps_stop_inside_the_deadband() -> None:
    env = gym.make(ENV)
    free = FeedbackMLPAgent.from_env(env, seed=1)
    norms, moved = _fly(free, env, 150)
    assert free.learning_steps == len(norms) and all(moved)  # the default learns every tick
    band = float(np.median(norms))
    gated = FeedbackMLPAgent.from_env(env, seed=1, learn_deadband=band)
    g_norms, g_moved = _fly(gated, env, 150)
    expected = sum(n >= band for n in g_norms)
    assert 0 < expected < len(g_norms)
    assert gated.learning_steps == expected
    assert g_moved == [n >= band for n in g_norms]  # weights move exactly on those ticks
    cost = gated.dnn_cost()
    assert cost == gated.inference_cost * len(g_norms) + gated.learning_cost * expected
    # a band above every error: nothing is ever learned or charged
    frozen = FeedbackMLPAgent.from_env(env, seed=1, learn_deadband=10 * max(g_norms))
    w0 = [w.copy() for w in frozen.weights]
    _fly(frozen, env, 50)
    assert frozen.learning_steps == 0 and frozen.usage().learning.macs == 0
    assert all(np.array_equal(a, b) for a, b in zip(w0, frozen.weights, strict=True))
    env.close()


def test_deadband_is_saved_and_checked(tmp_path: Path) -> None:
    env = gym.make(ENV)
    a = FeedbackMLPAgent.from_env(env, learn_deadband=0.05)
    a.save(tmp_path / "a.npz")
    FeedbackMLPAgent.from_env(env, learn_deadband=0.05).load_state(tmp_path / "a.npz")
    with pytest.raises(ValueError, match="learn_deadband"):
        FeedbackMLPAgent.from_env(env).load_state(tmp_path / "a.npz")
    with pytest.raises(ValueError, match="learn_deadband"):
        FeedbackMLPAgent.from_env(env, learn_deadband=-1.0)
    env.close()
