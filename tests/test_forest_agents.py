"""The forest learners (agents/forest_agents.py): the reflex flies the teacher exactly at full
mix, the features are the scan's proximities and the goal's direction, a NaN error (teacher
off) is never learned from, and NeuroFit learns to beat the reflex alone (slow)."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

import neurofit.envs  # noqa: F401
from neurofit.agents.features import scan_features, scan_layout
from neurofit.agents.forest_agents import (
    ForestMLPAgent,
    ForestNeuroFitAgent,
    ForestReflexAgent,
)
from neurofit.agents.neurofit_agent import AgentConfig
from neurofit.agents.pid import QuadPID
from neurofit.agents.rollout import run_episode
from neurofit.envs.quadrotor_forest import QuadForestEnv

SMALL = AgentConfig(mode="error", execution="event-driven", n_per_input=3,
                    n_output_neurons=10, seed=0)


def test_full_mix_flies_the_teacher_exactly() -> None:
    """teacher_mix=1: the cascade with c* added equals the PD cascade fed info["error"] in
    place of the observation's errors (how the env's own tests fly the teacher)."""
    env = QuadForestEnv(n_rays=16)
    agent = ForestReflexAgent(env, teacher_mix=1.0)
    ref = QuadPID.from_env(env, integral=False)
    obs, info = env.reset(seed=3)
    agent.reset()
    agent.observe(obs, 0.0, False, info)  # the reset's error (run_episode gives none)
    for _ in range(200):
        state = obs[:18].copy()
        state[0:3], state[12:15] = info["error"][:3], info["error"][3:]
        expected = ref.act(state)
        action = agent.act(obs)
        np.testing.assert_allclose(action, expected, rtol=0, atol=1e-9)
        obs, _, term, trunc, info = env.step(action)
        agent.observe(obs, 0.0, term, info)
        if term or trunc:
            break


def test_features_are_proximity_and_goal_direction() -> None:
    """A pole straight ahead at a known distance: the middle rays read 1 - gap / max range;
    the goal direction is the unit vector from the drone to the goal."""
    env = QuadForestEnv(n_rays=17, fov_deg=90.0, init_pos_range_m=0.0, init_tilt_range_rad=0.0,
                        init_yaw_range_rad=0.0)
    x0, r = -1.0, 0.1
    obs, _ = env.reset(seed=0, options={"obstacles": {"xy_m": [[x0, 0.0]],
                                                      "size_m": [[r, r]]}})
    layout = scan_layout(env)
    assert layout is not None and layout.n_features == 19
    f = scan_features(obs, layout, np.zeros(layout.n_features))
    p = env.data.qpos[:3]
    gap = (x0 - r) - p[0]
    assert f[8] == pytest.approx(1.0 - gap / 3.0, abs=1e-3)  # ray 8 of 17 points ahead
    assert f[0] == pytest.approx(0.0) and f[16] == pytest.approx(0.0)  # +-45 deg: nothing
    goal = env.goal_pos - p
    np.testing.assert_allclose(f[17:], goal[:2] / math.hypot(goal[0], goal[1]), atol=1e-12)


def _weights(agent: ForestNeuroFitAgent) -> np.ndarray:
    return np.concatenate([np.ravel(v) for k, v in sorted(agent.policy.net.get_state().items())
                           if "weight" in k])


def test_nan_error_teaches_nothing() -> None:
    """Teacher off: the error is NaN; learning agents change no weight and act finitely."""
    env = gym.make("neurofit/QuadForest-v0", n_rays=16, teacher=False, max_episode_steps=60)
    nf = ForestNeuroFitAgent(env, SMALL, teacher_mix=1.0)
    mlp = ForestMLPAgent(env, hidden=(4,), learning_rate=0.5, teacher_mix=1.0)
    w0 = _weights(nf)
    m0 = [w.copy() for w in mlp.weights]
    for agent in (nf, mlp):
        assert agent.learning
        actions: list[np.ndarray] = []
        run_episode(agent, env, 0, on_step=lambda s, a=actions: a.append(s.action))
        assert np.all(np.isfinite(actions))
    np.testing.assert_array_equal(_weights(nf), w0)
    for w, w_0 in zip(mlp.weights, m0, strict=True):
        np.testing.assert_array_equal(w, w_0)
    assert mlp.learning_steps == 0


def test_teacher_error_teaches() -> None:
    """Teacher on: the same agents do learn (the check above can fail)."""
    env = gym.make("neurofit/QuadForest-v0", n_rays=16, max_episode_steps=60)
    nf = ForestNeuroFitAgent(env, SMALL)
    mlp = ForestMLPAgent(env, hidden=(4,), learning_rate=0.5)
    w0 = _weights(nf)
    for agent in (nf, mlp):
        run_episode(agent, env, 0)
    assert np.any(_weights(nf) != w0)
    assert mlp.learning_steps > 0


def test_bad_env_and_mix_are_named() -> None:
    hover = gym.make("neurofit/QuadHover-v0")
    with pytest.raises(ValueError, match="declares no range scan"):
        ForestNeuroFitAgent(hover, SMALL)
    env = QuadForestEnv(n_rays=16)
    with pytest.raises(ValueError, match=r"teacher_mix must be a number in \[0, 1\], got 2"):
        ForestReflexAgent(env, teacher_mix=2)
    with pytest.raises(ValueError, match="error mode"):
        ForestNeuroFitAgent(env, AgentConfig(mode="reward"))


@pytest.mark.slow
def test_neurofit_beats_the_reflex_alone() -> None:
    """After DAgger training on 200 maps, NeuroFit (teacher off) reaches the goal on more of
    20 unseen maps than the reflex alone, which flies the straight line."""
    from neurofit.scripts.bench.forest import _evaluate, _train, neurofit_config

    on = gym.make("neurofit/QuadForest-v0", n_rays=64)
    off = gym.make("neurofit/QuadForest-v0", n_rays=64, teacher=False)
    nf = ForestNeuroFitAgent(on, neurofit_config())
    _train(nf, on, 200, 0.7)
    nf_rate, _ = _evaluate("neurofit", nf, off, 20)
    reflex_rate, _ = _evaluate("reflex", ForestReflexAgent(off), off, 20)
    assert nf_rate > reflex_rate
