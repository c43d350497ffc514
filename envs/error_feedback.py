"""Error adapters: give any Gymnasium env the task error vector ``info["error"]``.

NeuroFit's agents learn from a scalar reward and a vector *error*. NeuroFit's own envs put the
error in ``info["error"]``; :class:`ErrorFeedback` adds it to envs that do not, through an
``error_fn(env, obs, info) -> np.ndarray``.

Sign convention (the same as the NeuroFit envs): **error = desired − actual**, i.e. the
direction in which the controlled quantity has to move. The ready error functions read the true
simulator state (``env.unwrapped.data``), not the observation, so observation wrappers
(normalisation, noise) do not change the error.

Ready error functions:

- ``InvertedPendulum-v5`` (:func:`inverted_pendulum_error`): ``[0 − pole angle (rad),
  0 − cart position (m)]``. The observation is ``[cart x, pole angle, cart vel, pole ang. vel]``
  (``qpos`` then ``qvel`` of slider ``slider`` and hinge ``hinge``), so the error is
  ``[-obs[1], -obs[0]]``.
- ``Reacher-v5`` (:func:`reacher_error`): ``target − fingertip`` in the plane (x, y), metres.
  Observation elements 8-9 are ``fingertip − target``, so the error is ``-obs[8:10]``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

__all__ = [
    "ERROR_FUNCTIONS",
    "ErrorFeedback",
    "ErrorFn",
    "inverted_pendulum_error",
    "make_with_error",
    "reacher_error",
]

#: ``error_fn(env, obs, info) -> error vector``; ``env`` is the env inside the wrapper.
ErrorFn = Callable[[gym.Env, Any, dict[str, Any]], np.ndarray]


def inverted_pendulum_error(env: gym.Env, obs: Any, info: dict[str, Any]) -> np.ndarray:
    """``[-pole angle, -cart position]`` of Gymnasium's ``InvertedPendulum-v5`` (rad, m)."""
    qpos = env.unwrapped.data.qpos  # type: ignore[attr-defined]
    return np.array([-qpos[1], -qpos[0]], dtype=np.float64)


def reacher_error(env: gym.Env, obs: Any, info: dict[str, Any]) -> np.ndarray:
    """``target − fingertip`` (x, y) of Gymnasium's ``Reacher-v5`` (m)."""
    data = env.unwrapped.data  # type: ignore[attr-defined]
    # same body positions the env uses for its observation (get_body_com == xpos)
    return (data.body("target").xpos[:2] - data.body("fingertip").xpos[:2]).astype(np.float64)


#: Ready error functions by env id.
ERROR_FUNCTIONS: dict[str, ErrorFn] = {
    "InvertedPendulum-v5": inverted_pendulum_error,
    "Reacher-v5": reacher_error,
}


class ErrorFeedback(gym.Wrapper[Any, Any, Any, Any]):
    """Adds ``info["error"] = error_fn(env, obs, info)`` on every ``reset`` and ``step``.

    Args:
        env: The env to wrap.
        error_fn: ``(env, obs, info) -> 1-D array``; called with the wrapped env (not this
            wrapper), the observation and the info just returned by it.

    Raises:
        ValueError: If ``error_fn`` returns something that is not a finite 1-D vector.
    """

    def __init__(self, env: gym.Env, error_fn: ErrorFn) -> None:
        if not callable(error_fn):
            raise ValueError(
                f"error_fn must be callable (env, obs, info) -> array, got {error_fn!r}"
            )
        super().__init__(env)
        self._error_fn = error_fn

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the wrapped env and add ``info["error"]``."""
        obs, info = self.env.reset(seed=seed, options=options)
        info = dict(info)
        info["error"] = self._error(obs, info)
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the wrapped env and add ``info["error"]``."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        info["error"] = self._error(obs, info)
        return obs, reward, terminated, truncated, info

    def _error(self, obs: Any, info: dict[str, Any]) -> np.ndarray:
        err = np.array(self._error_fn(self.env, obs, info), dtype=np.float64)
        if err.ndim != 1 or err.size == 0:
            raise ValueError(f"error_fn must return a non-empty 1-D vector, got shape {err.shape}")
        return err


def make_with_error(env_id: str, error_fn: ErrorFn | None = None, **kwargs: Any) -> gym.Env:
    """``gymnasium.make(env_id, **kwargs)`` with ``info["error"]`` guaranteed.

    ``neurofit/`` ids already report the error and are returned as made. For other ids the
    ready error function of :data:`ERROR_FUNCTIONS` is used, or ``error_fn`` if given.

    Raises:
        ValueError: If no error function is known for ``env_id`` and none is given.
    """
    if error_fn is None:
        if env_id.startswith("neurofit/"):  # registered on import of neurofit.envs
            return gym.make(env_id, **kwargs)
        if env_id not in ERROR_FUNCTIONS:
            raise ValueError(
                f"no error function known for {env_id!r}; pass error_fn=... or use one of "
                f"{sorted(ERROR_FUNCTIONS)} or a neurofit/ id"
            )
        error_fn = ERROR_FUNCTIONS[env_id]
    return ErrorFeedback(gym.make(env_id, **kwargs), error_fn)
