"""The PPO baseline: Stable-Baselines3 PPO, default hyper-parameters (the optional ``rl`` extra).

:func:`ppo_steps_to_threshold` trains ``PPO("MlpPolicy", env_id, seed=seed)`` and measures it
with the protocol of :mod:`neurofit.agents.threshold_runs` (the NeuroFit agent's): after every
``eval_every`` training steps, ``eval_episodes`` deterministic episodes from fixed seeds. With
SB3's default rollout of 2,048 steps, an evaluation every 2,048 steps falls between two
updates and sees the policy trained on exactly that many steps (SB3's ``EvalCallback`` instead
evaluates in the last step of a rollout, before its update). The deterministic policy is
exported to a :class:`~neurofit.agents.mlp.NumpyMLP` (the action mean, clipped to the action
bounds as ``model.predict`` does) and evaluated in NumPy, which is what the energy report
prices too.

Stable-Baselines3 and torch are imported inside the functions: without the ``rl`` extra this
module imports, and calling it raises an ImportError that names the extra.
"""

from __future__ import annotations

import time
from typing import Any

from neurofit.agents.mlp import NumpyMLP
from neurofit.agents.threshold_runs import (
    EVAL_SEED,
    ProgressFn,
    ThresholdRun,
    check_protocol,
    mean_return,
)

__all__ = ["RL_HINT", "make_ppo", "ppo_steps_to_threshold", "require_rl"]

RL_HINT = (
    "the PPO baseline needs Stable-Baselines3 and torch: install the 'rl' extra, "
    "e.g. pip install 'neurofit[rl]'"
)


def require_rl() -> tuple[Any, Any]:
    """Return the modules ``(stable_baselines3, torch)``, or raise an ImportError naming the
    extra."""
    try:
        import stable_baselines3
        import torch
    except ImportError as exc:
        raise ImportError(RL_HINT) from exc
    return stable_baselines3, torch


def make_ppo(env_id: str, seed: int, **ppo_kwargs: Any) -> Any:
    """``PPO("MlpPolicy", env_id, seed=seed, device="cpu", **ppo_kwargs)`` (SB3 defaults)."""
    sb3, _ = require_rl()
    return sb3.PPO("MlpPolicy", env_id, seed=seed, device="cpu", verbose=0, **ppo_kwargs)


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
    **ppo_kwargs: Any,
) -> tuple[ThresholdRun, NumpyMLP]:
    """Train SB3 PPO (defaults) until the deterministic policy's mean evaluation return reaches
    ``threshold``; return the run and the last policy as a :class:`NumpyMLP`.

    SB3 collects whole rollouts, so training can overrun ``max_steps`` by less than one rollout
    (2,048 steps); the last policy is always evaluated.

    Args:
        progress: called after every evaluation with the steps trained since the last call.
        torch_threads: torch's intra-op threads during the run (restored afterwards); one keeps
            a shared machine usable and costs PPO's small networks little.
        ppo_kwargs: overrides of SB3's PPO defaults (the benchmark passes none; tests shrink
            the rollout).
    """
    import gymnasium as gym

    _, torch = require_rl()
    from stable_baselines3.common.callbacks import BaseCallback

    check_protocol(max_steps, eval_every, eval_episodes)
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
            if n > 0 and n % eval_every == 0 and not self.stop:
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
