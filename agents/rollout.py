"""One rollout: the act / step / observe loop every episode of every agent goes through.

:func:`run_episode` plays the role of Stable-Baselines3's ``evaluate_policy`` for one episode:
training, evaluation, energy measurement, recording and every benchmark call it, so an agent
meets the env the same way everywhere::

    obs, info = env.reset(seed=seed); agent.reset(info); then per step
    action = agent.act(obs); obs, reward, terminated, truncated, info = env.step(action)
    agent.observe(obs, reward, terminated, info); on_step(step)

What a caller needs on top (metrics, callbacks, progress, op counts per tick) it does in
``on_step``, which sees every step and can stop the episode by returning ``False``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurofit.agents.usage import Usage

__all__ = ["EpisodeResult", "FunctionAgent", "ReflexAgent", "StepResult", "reset_agent",
           "run_episode"]


@dataclass
class StepResult:
    """One step of a rollout, as ``on_step`` sees it.

    Attributes:
        step: steps taken in this episode so far, this one included (1 for the first).
        obs: the observation after the step (what ``agent.observe`` got).
        action: the action the agent took.
        reward, terminated, truncated, info: what ``env.step`` returned.
    """

    step: int
    obs: Any
    action: Any
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any]

    @property
    def done(self) -> bool:
        """Whether the env ended the episode (terminated or truncated)."""
        return self.terminated or self.truncated


@dataclass
class EpisodeResult:
    """What :func:`run_episode` returns.

    Attributes:
        seed: the env's reset seed (None: the env's generator ran on).
        steps: steps taken.
        episode_return: sum of the rewards.
        terminated, truncated: how the env ended the episode (both False: it was cut by
            ``max_steps`` or ``on_step``).
        obs, info: the last observation and info (the reset's if no step was taken).
    """

    seed: int | None
    steps: int
    episode_return: float
    terminated: bool
    truncated: bool
    obs: Any
    info: dict[str, Any]

    @property
    def done(self) -> bool:
        """Whether the env ended the episode (else it was cut short)."""
        return self.terminated or self.truncated


class FunctionAgent:
    """A policy function as an agent: ``act`` calls it, ``reset`` calls ``on_reset``.

    For controllers that are not agents (a reflex alone, a Stable-Baselines3 policy), so that
    they too run through :func:`run_episode`. It learns nothing.
    """

    learning = False

    def __init__(self, act: Callable[[np.ndarray], np.ndarray],
                 on_reset: Callable[[], None] | None = None) -> None:
        self._act = act
        self._on_reset = on_reset

    def reset(self, info: dict[str, Any] | None = None) -> None:
        """Start an episode: calls ``on_reset`` (the reset's ``info`` is not used)."""
        if self._on_reset is not None:
            self._on_reset()

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self._act(obs)

    def observe(self, obs: np.ndarray, reward: float, terminated: bool,
                info: dict[str, Any]) -> None:
        """A fixed policy learns nothing."""

    def save(self, path: str | Path) -> None:
        """Nothing to save: the function keeps its own state."""

    def load_state(self, path: str | Path) -> None:
        """Nothing to restore."""

    def usage(self) -> Usage:
        """No network of its own: priced as a feedback law on the flight MCU."""
        return Usage("reflex")

    def describe(self) -> dict[str, Any]:
        return {"text": "policy function (no network)"}


class ReflexAgent:
    """A reflex alone (its feedback law with no learned correction) as an agent.

    ``act`` is the reflex's action with a zero correction, ``observe`` passes the step's
    ``info`` to the reflex (a reflex may estimate from it), ``reset`` restarts it and passes it
    the reset's ``info`` (a feedback reflex's first error). The baseline "reflex alone" of
    error-mode benchmarks.
    """

    learning = False

    def __init__(self, reflex: Any) -> None:
        self.reflex = reflex
        self._zero = np.zeros(reflex.n_correction)

    def reset(self, info: dict[str, Any] | None = None) -> None:
        """Restart the reflex; it takes the reset's ``info`` as it takes every step's."""
        self.reflex.reset()
        observe = getattr(self.reflex, "observe", None)
        if info is not None and observe is not None:
            observe(info)

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.reflex.act(obs, self._zero)

    def observe(self, obs: np.ndarray, reward: float, terminated: bool,
                info: dict[str, Any]) -> None:
        """The reflex sees the step's info; nothing is learned."""
        observe = getattr(self.reflex, "observe", None)
        if observe is not None:
            observe(info)

    def save(self, path: str | Path) -> None:
        """Nothing to save: the reflex restarts every episode."""

    def load_state(self, path: str | Path) -> None:
        """Nothing to restore."""

    def usage(self) -> Usage:
        """No network: the law runs on the flight MCU, whose power the mission holds."""
        return Usage("reflex")

    def describe(self) -> dict[str, Any]:
        return {"text": f"{type(self.reflex).__name__} alone (no network)"}


def reset_agent(agent: Any, info: dict[str, Any]) -> None:
    """``agent.reset(info)`` — or ``agent.reset()`` for an agent whose ``reset`` takes no
    argument (written before the :class:`~neurofit.agents.protocol.Agent` protocol passed the
    reset's info; its first tick has no error, as before)."""
    try:
        params = inspect.signature(agent.reset).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a builtin): call it with the info
        agent.reset(info)
        return
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                  inspect.Parameter.VAR_POSITIONAL)
    if any(p.kind in positional for p in params):
        agent.reset(info)
    else:
        agent.reset()


def run_episode(agent: Any, env: Any, seed: int | None, *, learn: bool = True,
                on_step: Callable[[StepResult], bool | None] | None = None,
                max_steps: int | None = None) -> EpisodeResult:
    """Run one episode of ``agent`` on ``env`` from ``env.reset(seed=seed)``.

    Args:
        agent: has ``reset(info)`` (or ``reset()``: see :func:`reset_agent`), ``act(obs)`` and
            ``observe(obs, reward, terminated, info)``.
        env: a Gymnasium env.
        seed: the reset seed (None: the env's generator runs on from its last seed).
        learn: False freezes the agent for this episode (its ``learning`` flag is set False
            and restored afterwards); True leaves it as it is (it learns if it is learning).
        on_step: called after every step (after ``observe``); returning ``False`` ends the
            episode there.
        max_steps: at most this many steps (None: until the env ends the episode).

    Returns:
        The episode's :class:`EpisodeResult`.
    """
    if max_steps is not None and max_steps < 0:
        raise ValueError(f"max_steps must be >= 0 or None, got {max_steps!r}")
    frozen = not learn and getattr(agent, "learning", False)
    if frozen:
        agent.learning = False
    try:
        obs, info = env.reset(seed=seed)
        reset_agent(agent, info)
        steps = 0
        total = 0.0
        terminated = truncated = False
        while max_steps is None or steps < max_steps:
            action = agent.act(obs)
            obs, reward, terminated, truncated, info = env.step(action)
            agent.observe(obs, reward, terminated, info)
            steps += 1
            total += float(reward)
            stop = on_step is not None and on_step(StepResult(
                steps, obs, action, reward, terminated, truncated, info)) is False
            if terminated or truncated or stop:
                break
        return EpisodeResult(seed, steps, total, bool(terminated), bool(truncated), obs, info)
    finally:
        if frozen:
            agent.learning = True
