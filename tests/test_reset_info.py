"""Agents get the reset's info (issue 12): an error-mode agent's first tick acts on the error
the env reported at reset, not on none."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from neurofit.agents.baselines import PIDAgent, make_agent
from neurofit.agents.neurofit_agent import AgentConfig
from neurofit.agents.reflex import FeedbackReflex
from neurofit.agents.rollout import FunctionAgent, ReflexAgent, run_episode
from neurofit.envs.error_feedback import FEEDBACK_SPECS, make_with_error

REACHER = "Reacher-v5"
SEED = 3


def _first_action(agent: Any) -> np.ndarray:
    env = make_with_error(REACHER)
    actions: list[np.ndarray] = []
    run_episode(agent, env, SEED, max_steps=1, on_step=lambda s: actions.append(s.action))
    env.close()
    return actions[0]


def _reset_info() -> dict[str, Any]:
    env = make_with_error(REACHER)
    _, info = env.reset(seed=SEED)
    env.close()
    return info


def _reflex_first_action(info: dict[str, Any]) -> np.ndarray:
    """The Jacobian-transpose PD law written out: ``u = clip(−Gᵀ (kp ⊙ e))`` (no derivative
    yet, one error seen), scaled into the action box."""
    spec = FEEDBACK_SPECS[REACHER]
    u = np.clip(-info["error_jacobian"].T @ (np.asarray(spec.kp) * info["error"]), -1.0, 1.0)
    space = make_with_error(REACHER).action_space
    return (0.5 * (space.low + space.high) + 0.5 * (space.high - space.low) * u).astype(
        np.float32)


@pytest.mark.parametrize("kind", ["reflex", "pd"])
def test_reflex_first_action_acts_on_the_reset_error(kind: str) -> None:
    env = make_with_error(REACHER)
    agent = (ReflexAgent(FeedbackReflex.from_env(env)) if kind == "reflex"
             else PIDAgent(env, integral=False))
    env.close()
    want = _reflex_first_action(_reset_info())
    assert np.abs(want).max() > 0.05  # a real error to act on: the check can fail
    np.testing.assert_allclose(_first_action(agent), want, rtol=1e-6, atol=1e-7)


def test_neurofit_first_tick_encodes_the_reset_error() -> None:
    env = make_with_error(REACHER)
    agent = make_agent("neurofit", env, AgentConfig(mode="error", n_per_input=10,
                                                    n_output_neurons=20))
    info = _reset_info()
    obs, _ = env.reset(seed=SEED)
    agent.reset(info)
    with_info = agent.act(obs)
    # the network's input is the reset error over the declared error scale (clipped to ±1.2)
    scale = np.asarray(FEEDBACK_SPECS[REACHER].error_scale)
    np.testing.assert_allclose(agent._features, np.clip(info["error"] / scale, -1.2, 1.2),
                               rtol=1e-12)
    assert np.abs(agent._features).max() > 0.05
    # without the info (the old behaviour) the first tick has no error: another action
    obs, _ = env.reset(seed=SEED)
    agent.reset()
    assert not np.allclose(agent.act(obs), with_info)
    env.close()


def test_agents_whose_reset_takes_no_info_still_run() -> None:
    resets: list[int] = []
    agent = FunctionAgent(lambda obs: np.zeros(2, dtype=np.float32), lambda: resets.append(1))

    class Legacy:  # an agent written before reset took the info
        learning = False

        def reset(self) -> None:
            resets.append(2)

        def act(self, obs: np.ndarray) -> np.ndarray:
            return np.zeros(2, dtype=np.float32)

        def observe(self, *args: Any) -> None:
            pass

    env = make_with_error(REACHER)
    assert run_episode(agent, env, 0, max_steps=2).steps == 2
    assert run_episode(Legacy(), env, 0, max_steps=2).steps == 2
    env.close()
    assert resets == [1, 2]
