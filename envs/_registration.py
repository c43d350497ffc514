"""Registers every NeuroFit environment id in Gymnasium's ``neurofit/`` namespace.

Time limits live here (``max_episode_steps``), never inside an env.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym


def _register(env_id: str, entry_point: str, max_episode_steps: int, **kwargs: Any) -> None:
    if env_id in gym.registry:  # importing twice (e.g. in a worker process) is harmless
        return
    gym.register(
        id=env_id, entry_point=entry_point, max_episode_steps=max_episode_steps, kwargs=kwargs
    )


def register_all() -> None:
    """Register all ``neurofit/`` ids (called on import of :mod:`neurofit.envs`)."""
    # -- quadrotors (envs/quadrotor*.py) --
    # -- arm (envs/arm*.py) --
