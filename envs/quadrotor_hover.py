"""``neurofit/QuadHover-v0``: hold a quadrotor at a target pose from random initial offsets."""

from __future__ import annotations

from typing import Any

from gymnasium import utils

from neurofit.envs.quadrotor import QuadrotorEnv, _check_vec3

__all__ = ["QuadHoverEnv"]


class QuadHoverEnv(QuadrotorEnv, utils.EzPickle):
    """Hover at ``target_pos_m``, level, yaw 0, starting from a random offset.

    Spaces, reward terms, ``info`` keys and termination are those of
    :class:`~neurofit.envs.quadrotor.QuadrotorEnv` (module docstring). The target velocity is
    zero, so ``info["error"]`` is ``[target - position, -velocity]``.

    Args:
        target_pos_m: hover position (x, y, z) in metres, world frame.
        **kwargs: every keyword of :class:`~neurofit.envs.quadrotor.QuadrotorEnv`
            (``platform="micro"|"heavy"``, ``disturbances``, ``sensor_noise``, weights ...).
    """

    def __init__(
        self, target_pos_m: tuple[float, float, float] = (0.0, 0.0, 1.0), **kwargs: Any
    ) -> None:
        utils.EzPickle.__init__(self, target_pos_m=target_pos_m, **kwargs)
        self._target_pos_m = _check_vec3("target_pos_m", target_pos_m)
        if self._target_pos_m[2] <= 0.0:
            raise ValueError(f"target_pos_m height must be > 0 m, got {target_pos_m!r}")
        super().__init__(**kwargs)
        if self._target_pos_m[2] >= self._arena_ceiling_m:
            raise ValueError(
                f"target_pos_m height must be below arena_ceiling_m={self._arena_ceiling_m}, "
                f"got {target_pos_m!r}"
            )

    def _set_target(self, t_s: float) -> None:
        self._target_pos[:] = self._target_pos_m
