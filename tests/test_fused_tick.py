"""One compiled call per control tick (agents/_tick.py) gives the unfused agent's bits.

The reference is the agent with ``fused_tick = None``: encoder, ``Network.step``, decoder and
reflex called one by one from Python, and the teaching signal turned into the modulator in
``observe``. Over 300 ticks both must agree on every action, every tick's spike counts, the
learned weights, the decoder's rates and the operation counters.
"""

from __future__ import annotations

from dataclasses import replace

import gymnasium as gym
import numpy as np
import pytest

import neurofit.envs  # noqa: F401  (registers the env ids)
from neurofit.agents._tick import FusedErrorTick, teach_to_modulator
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.reflex import ArmReflex, FeedbackReflex, QuadReflex
from neurofit.envs import make_with_error


def _run(make_env, config: AgentConfig, fused: bool, ticks: int = 300,
         freeze_at: int | None = None) -> dict[str, np.ndarray]:
    env = make_env()
    agent = NeuroFitAgent.from_env(env, config)
    if fused:
        assert isinstance(agent.fused_tick, FusedErrorTick)
    else:
        agent.fused_tick = None
    obs, _ = env.reset(seed=0)
    agent.reset()
    actions, spikes, episodes = [], [], 0
    for t in range(ticks):
        if t == freeze_at:
            agent.learning = False
        action = agent.act(obs)
        actions.append(np.array(action, dtype=np.float64))
        spikes.append(agent.policy.spiking_neurons().size)
        obs, reward, terminated, truncated, info = env.step(action)
        agent.observe(obs, reward, terminated, info)
        if terminated or truncated:
            episodes += 1
            obs, _ = env.reset(seed=t)
            agent.reset()
    net = agent.policy.net
    env.close()
    return {"actions": np.array(actions), "spikes": np.array(spikes),
            "weights": net.weights("learned").copy(), "rates": agent.policy.decoder.rates.copy(),
            "counts": net.counts_array(np.zeros(5, np.int64)), "state": net.get_state(),
            "episodes": episodes, "reflex": type(agent.reflex)}


CASES = {
    "quad": (lambda: gym.make("neurofit/QuadHoverPayload-v0"), {}, QuadReflex),
    "quad-event-deadband": (lambda: gym.make("neurofit/QuadHover-v0"),
                            {"execution": "event-driven", "learn_deadband": 0.05}, QuadReflex),
    "feedback-reacher": (lambda: make_with_error("Reacher-v5"), {}, FeedbackReflex),
    "arm": (lambda: gym.make("neurofit/ArmReach-v0"), {}, ArmReflex),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fused_tick_is_bit_identical_to_the_unfused_path(case: str) -> None:
    make_env, changes, reflex_type = CASES[case]
    config = replace(AgentConfig(mode="error"), **changes)
    fused = _run(make_env, config, fused=True, freeze_at=250)
    plain = _run(make_env, config, fused=False, freeze_at=250)
    assert fused["reflex"] is reflex_type
    # not a blind comparison: the network spikes and learns, and the actions move
    assert fused["spikes"].sum() > 1000
    assert np.abs(fused["weights"]).max() > 0
    assert np.ptp(fused["actions"], axis=0).max() > 0.01
    for key in ("actions", "spikes", "weights", "rates", "counts"):
        np.testing.assert_array_equal(fused[key], plain[key], err_msg=key)
    for key, value in fused["state"].items():
        np.testing.assert_array_equal(value, plain["state"][key], err_msg=key)


def test_teach_to_modulator_follows_its_formula() -> None:
    rng = np.random.default_rng(0)
    dirs = rng.normal(size=(50, 3))
    out = np.full(50, np.nan)
    teach = np.array([0.3, -0.4, 0.0])  # norm 0.5
    teach_to_modulator(teach.copy(), 0.6, 10.0, dirs, out)  # below the deadband: no learning
    np.testing.assert_array_equal(out, 0.0)
    teach_to_modulator(teach.copy(), 0.4, 10.0, dirs, out)  # passes unchanged
    np.testing.assert_allclose(out, dirs @ teach, rtol=1e-12)
    t = teach.copy()
    teach_to_modulator(t, 0.0, 0.1, dirs, out)  # clipped to norm 0.1, same direction
    np.testing.assert_allclose(t, teach * 0.2, rtol=1e-12)
    np.testing.assert_allclose(out, dirs @ (teach * 0.2), rtol=1e-12)
