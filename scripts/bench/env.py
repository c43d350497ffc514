"""``neurofit bench env``: env steps/s of every ``neurofit/`` id and of Gymnasium's Hopper-v5.

Every env is measured alike: built through ``gymnasium.make`` (so with its registration's
wrappers), driven by pre-sampled random actions from its own action space, timing ``env.step``
only (resets on termination are not counted, so an env whose random policy crashes often is not
charged for its resets). The figure is the median over ``repeats`` runs of ``steps`` steps, after
a warm-up that triggers any JIT compilation; the repeats go round robin over the envs, so a change
of machine load (a shared 2-core machine) affects them alike.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from neurofit.scripts._machine import machine_info

__all__ = ["REFERENCE_ENV_ID", "VARIANTS", "measure_env", "measure_envs", "run_bench"]

#: The Gymnasium MuJoCo env the NeuroFit envs are compared with.
REFERENCE_ENV_ID = "Hopper-v5"
#: Rows measured beside the registered ids: label -> (env id, ``gymnasium.make`` keywords).
#: QuadForest-v0 itself casts 64 rays.
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "neurofit/QuadForest-v0 (256 rays)": ("neurofit/QuadForest-v0", {"n_rays": 256}),
}


def measure_env(env_id: str, steps: int = 2000, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Median steps/s of ``gymnasium.make(env_id)`` (or a :data:`VARIANTS` label) under random
    actions.

    Returns:
        ``{"env_id", "steps_per_s", "us_per_step"}``.
    """
    return measure_envs([env_id], steps, repeats, seed)[0]


def measure_envs(
    env_ids: list[str], steps: int = 2000, repeats: int = 5, seed: int = 0
) -> list[dict[str, Any]]:
    """:func:`measure_env` for several ids, the repeats interleaved (round robin over the envs)
    so that a change of machine load during the run affects every env alike."""
    import gymnasium as gym

    if steps < 1 or repeats < 1:
        raise ValueError(f"steps and repeats must be >= 1, got steps={steps}, repeats={repeats}")
    envs: list[Any] = []
    actions: list[list[Any]] = []
    try:
        for label in env_ids:
            env_id, kwargs = VARIANTS.get(label, (label, {}))
            env = gym.make(env_id, **kwargs)
            envs.append(env)
            env.action_space.seed(seed)
            actions.append([env.action_space.sample() for _ in range(steps)])
            env.reset(seed=seed)
            _timed_steps(env, actions[-1][: min(steps, 200)])  # warm-up: JIT, caches, checker
        per_step: list[list[float]] = [[] for _ in env_ids]
        for _ in range(repeats):
            for i, env in enumerate(envs):
                per_step[i].append(_timed_steps(env, actions[i]) / steps)
    finally:
        for env in envs:
            env.close()
    out = []
    for env_id, times in zip(env_ids, per_step, strict=True):
        s = statistics.median(times)
        out.append({"env_id": env_id, "steps_per_s": 1.0 / s, "us_per_step": s * 1e6})
    return out


def _timed_steps(env: Any, actions: list[Any]) -> float:
    """Seconds spent inside ``env.step`` for ``actions`` (resets excluded)."""
    step, clock = env.step, time.perf_counter
    total = 0.0
    t0 = clock()
    for a in actions:
        _, _, terminated, truncated, _ = step(a)
        if terminated or truncated:
            total += clock() - t0
            env.reset()
            t0 = clock()
    return total + clock() - t0


def run_bench(steps: int = 2000, repeats: int = 5, only: str | None = None) -> dict[str, Any]:
    """Measure every registered ``neurofit/`` id (filtered by substring ``only``) and Hopper-v5."""
    import gymnasium as gym

    import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)

    ids = sorted(k for k in gym.registry if k.startswith("neurofit/"))
    if only:
        ids = [k for k in ids if only in k]
    ids += [label for label, (env_id, _) in VARIANTS.items() if env_id in ids]
    ids.append(REFERENCE_ENV_ID)
    return {
        "envs": measure_envs(ids, steps, repeats),
        "machine": machine_info(),
        "reference_env": REFERENCE_ENV_ID,
        "steps": steps,
        "repeats": repeats,
    }
