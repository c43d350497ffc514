"""The agent tick against the env step, in the same run (``neurofit bench agent``).

Times everything ``act`` + ``observe`` do for one control tick of a NeuroFit agent (error mode:
reflex, encoder, network at its substeps, decoder, learning) against ``env.step`` of the same
env with a fixed action. Both are the median over ``repeats`` of the mean µs over ``ticks``
calls, after 200 ticks of :func:`~neurofit.agents.rollout.run_episode` that compile and settle.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from neurofit.scripts._machine import machine_info

__all__ = ["run_bench"]


def _median_us(fn: Callable[[], Any], n: int, repeats: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - start) / n * 1e6)
    return float(np.median(runs)), runs


def run_bench(env_id: str = "neurofit/QuadHover-v0", ticks: int = 2000, repeats: int = 5,
              n_per_input: int = 134) -> dict[str, Any]:
    """µs per agent tick and per env step, and their ratio (module docstring)."""
    import gymnasium as gym

    import neurofit.envs  # noqa: F401
    from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
    from neurofit.agents.rollout import run_episode

    env = gym.make(env_id)
    agent = NeuroFitAgent.from_env(env, replace(AgentConfig(), n_per_input=n_per_input))
    warm, seed = 0, 0
    while warm < 200:  # compile and settle
        last = run_episode(agent, env, seed, max_steps=200 - warm)
        warm, seed = warm + last.steps, 1
    obs, info = last.obs, last.info

    def agent_tick() -> None:
        agent.act(obs)
        agent.observe(obs, 0.0, False, info)

    fixed_action = agent.act(obs)

    def env_step() -> None:
        _o, _, term, trunc, _ = env.step(fixed_action)
        if term or trunc:
            env.reset(seed=2)

    agent_us, agent_all = _median_us(agent_tick, ticks, repeats)
    env_us, env_all = _median_us(env_step, ticks, repeats)
    env.close()
    return {
        "env_id": env_id, "neurons": agent.n_neurons, "substeps": agent.config.substeps,
        "agent_tick_us": agent_us, "env_step_us": env_us, "ratio": agent_us / env_us,
        "agent_tick_us_all": agent_all, "env_step_us_all": env_all,
        "target_ratio": 0.5, "machine": machine_info(),  # issue 12: at most half an env step
    }
