"""Env steps to reach a return threshold: the learning benchmarks' measure, shared by every learner.

One protocol for every learner (NeuroFit reward mode and Stable-Baselines3 PPO with its defaults):
train on one env; after every ``eval_every`` training steps, freeze the policy and run
``eval_episodes`` deterministic episodes on a separate env whose episode ``k`` always starts
from ``reset(seed=eval_seed + k)``; the run's figure is the first step count at which the mean
evaluation return reaches ``threshold`` (``None`` if it never does within ``max_steps``, with
the best mean reached kept beside it). ``eval_steps`` replaces the regular schedule by given
step counts (the task suite's step budgets and learning curve).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from neurofit.agents.mlp import NumpyMLP
from neurofit.agents.ppo import make_ppo, require_rl
from neurofit.agents.rollout import FunctionAgent, StepResult, run_episode

__all__ = ["EVAL_SEED", "ThresholdRun", "check_protocol", "mean_return",
           "neurofit_steps_to_threshold", "ppo_steps_to_threshold"]

#: Seeds of the evaluation episodes (``eval_seed + k``): the same for every learner and seed.
EVAL_SEED = 10_000

#: Called with the training steps just taken and the new evaluation's mean return (or None).
ProgressFn = Callable[[int, "float | None"], None]


@dataclass
class ThresholdRun:
    """One learner on one seed.

    Attributes:
        learner: ``"neurofit"`` or ``"ppo"``.
        env_id, seed: what was trained.
        threshold: the mean evaluation return to reach.
        steps_to_threshold: training env steps at the first evaluation that reached it
            (``None``: never within ``max_steps``).
        best_eval_return: the best mean evaluation return seen.
        evaluations: ``[training steps, mean return]`` of every evaluation.
        train_episodes: training episodes started.
        wall_s: wall time of the run (training and evaluations).
        max_steps, eval_every, eval_episodes: the protocol.
        energy: NeuroFit: what learning cost per training env step (the training agent's
            meter; evaluations excluded): ``energy_j`` on the agent's profile, and the
            counts ``weight_updates``, ``synaptic_events``, ``spikes`` (None for PPO).
    """

    learner: str
    env_id: str
    seed: int
    threshold: float
    max_steps: int
    eval_every: int
    eval_episodes: int
    steps_to_threshold: int | None = None
    best_eval_return: float = float("-inf")
    evaluations: list[list[float]] = field(default_factory=list)
    train_episodes: int = 0
    wall_s: float = 0.0
    energy: dict[str, Any] | None = None

    def record(self, steps: int, mean: float) -> bool:
        """Add an evaluation; return True when it reaches the threshold (first time only)."""
        self.evaluations.append([steps, mean])
        self.best_eval_return = max(self.best_eval_return, mean)
        if self.steps_to_threshold is None and mean >= self.threshold:
            self.steps_to_threshold = steps
            return True
        return False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_protocol(max_steps: int, eval_every: int, eval_episodes: int) -> None:
    """Each of the protocol's counts is a positive integer (ValueError naming it otherwise)."""
    for name, value in (("max_steps", max_steps), ("eval_every", eval_every),
                        ("eval_episodes", eval_episodes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _schedule(max_steps: int, eval_every: int,
              eval_steps: Collection[int] | None) -> Callable[[int], bool]:
    """Whether an evaluation is due after ``n`` training steps: every ``eval_every`` steps
    (or at the step counts ``eval_steps``), and always at ``max_steps``."""
    if eval_steps is None:
        return lambda n: n % eval_every == 0 or n == max_steps
    bad = [n for n in eval_steps if isinstance(n, bool) or not isinstance(n, int) or n < 1]
    if bad:
        raise ValueError(f"eval_steps must be positive integers, got {bad[0]!r}")
    due = frozenset(eval_steps)
    return lambda n: n in due or n == max_steps


def mean_return(env: Any, act: Callable[[np.ndarray], np.ndarray], episodes: int,
                eval_seed: int = EVAL_SEED,
                on_reset: Callable[[], None] | None = None) -> float:
    """Mean undiscounted return of ``act`` over ``episodes`` episodes of ``env``, episode ``k``
    starting from ``env.reset(seed=eval_seed + k)``; ``on_reset`` runs after every reset."""
    policy = FunctionAgent(act, on_reset)
    return sum(run_episode(policy, env, eval_seed + k).episode_return
               for k in range(episodes)) / episodes


def neurofit_steps_to_threshold(
    env_id: str,
    seed: int,
    *,
    max_steps: int = 300_000,
    threshold: float = 950.0,
    eval_every: int = 2048,
    eval_episodes: int = 10,
    config: Any = None,
    progress: ProgressFn | None = None,
    eval_steps: Collection[int] | None = None,
) -> ThresholdRun:
    """Train a reward-mode NeuroFit agent on ``env_id`` until its frozen policy's mean return
    reaches ``threshold`` (see the module docstring for the protocol).

    Evaluations run on a second agent of the same config into which the learned weights and
    the observation statistics are copied: the frozen policy depends on nothing else (no
    exploration, state reset every episode), and the training agent's state, random stream
    and operation counts stay as if no evaluation had happened.

    Args:
        config: an :class:`~neurofit.agents.neurofit_agent.AgentConfig` (its mode must be
            ``"reward"`` and its seed is replaced by ``seed``); default: reward-mode defaults.
        progress: called after every evaluation with the steps trained since the last call.
        eval_steps: evaluate after these training step counts (and at ``max_steps``)
            instead of every ``eval_every``.
    """
    import dataclasses

    import gymnasium as gym

    from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent

    check_protocol(max_steps, eval_every, eval_episodes)
    due = _schedule(max_steps, eval_every, eval_steps)
    if config is None:
        config = AgentConfig(mode="reward", seed=seed)
    elif config.mode != "reward":
        raise ValueError(f"the threshold benchmark trains reward mode, got mode={config.mode!r}")
    else:
        config = dataclasses.replace(config, seed=seed)
    run = ThresholdRun("neurofit", env_id, seed, threshold, max_steps, eval_every, eval_episodes)
    start = time.perf_counter()
    env, eval_env = gym.make(env_id), gym.make(env_id)
    try:
        agent = NeuroFitAgent.from_env(env, config)
        judge = NeuroFitAgent.from_env(eval_env, config)
        judge.learning = False
        weights, judge_weights = (agent.policy.net.weights("learned"),
                                  judge.policy.net.weights("learned"))
        steps = last = 0
        reached = False

        def on_step(_: StepResult) -> bool:
            nonlocal steps, reached, last
            steps += 1
            if due(steps):
                judge_weights[:] = weights
                judge.obs_norm.set_state(agent.obs_norm.get_state())
                mean = mean_return(eval_env, judge.act, eval_episodes, on_reset=judge.reset)
                reached = run.record(steps, mean)
                if progress is not None:
                    progress(steps - last, mean)
                last = steps
            return not reached

        episode_seed: int | None = seed  # then the env's generator runs on
        run.train_episodes = 1
        while True:
            result = run_episode(agent, env, episode_seed, on_step=on_step,
                                 max_steps=max_steps - steps)
            episode_seed = None
            if result.done:  # counted as soon as the env ends one (as a new one starts)
                run.train_episodes += 1
            if reached or steps >= max_steps or not result.done:
                break
        meter, ops = agent.energy(), agent.policy.net.counts()
        run.energy = {"energy_j": meter.totals().total_j / steps,
                      "dynamic_j": meter.totals().dynamic_j / steps,
                      "profile": agent.config.energy_profile,
                      **{k: getattr(ops, k) / steps
                         for k in ("weight_updates", "synaptic_events", "spikes")}}
    finally:
        env.close()
        eval_env.close()
    run.wall_s = time.perf_counter() - start
    return run


def ppo_steps_to_threshold(
    env_id: str,
    seed: int,
    *,
    max_steps: int = 300_000,
    threshold: float = 950.0,
    eval_every: int = 2048,
    eval_episodes: int = 10,
    progress: ProgressFn | None = None,
    torch_threads: int = 1,
    eval_steps: Collection[int] | None = None,
    **ppo_kwargs: Any,
) -> tuple[ThresholdRun, NumpyMLP]:
    """Train SB3 PPO (defaults) until the deterministic policy's mean evaluation return reaches
    ``threshold``; return the run and the last policy as a :class:`NumpyMLP`.

    SB3 collects whole rollouts, so training can overrun ``max_steps`` by less than one rollout
    (2,048 steps); the last policy is always evaluated. With SB3's default rollout of 2,048
    steps, an evaluation every 2,048 steps falls between two updates and sees the policy
    trained on exactly that many steps (SB3's ``EvalCallback`` instead evaluates in the last
    step of a rollout, before its update). The deterministic policy is exported to a
    :class:`~neurofit.agents.mlp.NumpyMLP` (the action mean, clipped to the action bounds as
    ``model.predict`` does) and evaluated in NumPy, which is what the energy report prices too.

    Args:
        progress: called after every evaluation with the steps trained since the last call.
        torch_threads: torch's intra-op threads during the run (restored afterwards); one keeps
            a shared machine usable and costs PPO's small networks little.
        eval_steps: evaluate at these step counts (and at the end) instead of every
            ``eval_every``; PPO reaches only multiples of its rollout, so give those.
        ppo_kwargs: overrides of SB3's PPO defaults (the benchmark passes none; tests shrink
            the rollout).
    """
    import gymnasium as gym

    _, torch = require_rl()
    from stable_baselines3.common.callbacks import BaseCallback

    check_protocol(max_steps, eval_every, eval_episodes)
    due = _schedule(max_steps, eval_every, eval_steps)
    run = ThresholdRun("ppo", env_id, seed, threshold, max_steps, eval_every, eval_episodes)
    start = time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(torch_threads)
    eval_env = gym.make(env_id)
    last = {"steps": 0}

    def evaluate(model: Any) -> bool:
        steps = int(model.num_timesteps)
        policy = NumpyMLP.from_sb3(model)
        mean = mean_return(eval_env, policy, eval_episodes, EVAL_SEED)
        reached = run.record(steps, mean)
        if progress is not None:
            progress(steps - last["steps"], mean)
        last["steps"] = steps
        return reached

    class _EvalBetweenUpdates(BaseCallback):  # type: ignore[misc]
        """Evaluates when a rollout starts (after the previous update); stops once reached."""

        def __init__(self) -> None:
            super().__init__()
            self.stop = False

        def _on_rollout_start(self) -> None:
            n = self.model.num_timesteps
            if n > 0 and due(n) and not self.stop:
                self.stop = evaluate(self.model)

        def _on_step(self) -> bool:
            return not self.stop

    try:
        model = make_ppo(env_id, seed, **ppo_kwargs)
        callback = _EvalBetweenUpdates()
        model.learn(total_timesteps=max_steps, callback=callback)
        if not callback.stop and (not run.evaluations
                                  or run.evaluations[-1][0] != model.num_timesteps):
            evaluate(model)
        policy = NumpyMLP.from_sb3(model)
        vec_env = model.get_env()
        run.train_episodes = len(vec_env.env_method("get_episode_rewards")[0])
        vec_env.close()
    finally:
        eval_env.close()
        torch.set_num_threads(threads)
    run.wall_s = time.perf_counter() - start
    return run, policy
