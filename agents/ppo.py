"""The PPO baseline: Stable-Baselines3 PPO, default hyper-parameters (the optional ``rl`` extra).

:func:`make_ppo` builds ``PPO("MlpPolicy", env_id, seed=seed)``; its benchmark (env steps to a
return threshold) is :func:`neurofit.scripts.bench.threshold_runs.ppo_steps_to_threshold`.

Stable-Baselines3 and torch are imported inside the functions: without the ``rl`` extra this
module imports, and calling it raises an ImportError that names the extra.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RL_HINT", "make_ppo", "require_rl"]

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
