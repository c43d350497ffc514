"""``neurofit/QuadTrack-v0``: follow a moving target (figure-eight) or a list of waypoints."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import utils

from neurofit.envs.quadrotor import QuadrotorEnv, _check

__all__ = ["QuadTrackEnv"]

TRAJECTORIES = ("figure8", "waypoints")
#: figure-eight half-width when ``amplitude_m`` is None, per platform
DEFAULT_AMPLITUDE_M = {"micro": 0.5, "heavy": 2.0}


class QuadTrackEnv(QuadrotorEnv, utils.EzPickle):
    """Track a time-varying target position (and velocity), level, yaw 0.

    ``trajectory="figure8"``: a lemniscate of Gerono in the horizontal plane at ``height_m``::

        p_target(t) = (A sin(w t), A/2 sin(2 w t), height_m),  w = 2 pi / period_s

    with its analytic velocity as ``v_target``; the episode starts at the crossing point.
    ``trajectory="waypoints"``: the target jumps to the next of ``waypoints`` every
    ``waypoint_period_s`` seconds (cycling), with zero target velocity.

    Spaces, reward terms, ``info`` keys and termination are those of
    :class:`~neurofit.envs.quadrotor.QuadrotorEnv`.

    Args:
        trajectory: ``"figure8"`` or ``"waypoints"``.
        amplitude_m: figure-eight half-width A; None = 0.5 m (micro) or 2.0 m (heavy).
        period_s: duration of one figure-eight.
        height_m: flight height of the figure-eight.
        waypoints: (x, y, z) points in metres for ``trajectory="waypoints"``.
        waypoint_period_s: time spent on each waypoint.
        **kwargs: every keyword of :class:`~neurofit.envs.quadrotor.QuadrotorEnv`.
    """

    def __init__(
        self,
        trajectory: str = "figure8",
        amplitude_m: float | None = None,
        period_s: float = 10.0,
        height_m: float = 1.0,
        waypoints: Sequence[Sequence[float]] = (
            (0.0, 0.0, 1.0),
            (0.5, 0.0, 1.0),
            (0.5, 0.5, 1.2),
            (0.0, 0.5, 1.0),
        ),
        waypoint_period_s: float = 3.0,
        **kwargs: Any,
    ) -> None:
        utils.EzPickle.__init__(
            self,
            trajectory=trajectory,
            amplitude_m=amplitude_m,
            period_s=period_s,
            height_m=height_m,
            waypoints=waypoints,
            waypoint_period_s=waypoint_period_s,
            **kwargs,
        )
        if trajectory not in TRAJECTORIES:
            raise ValueError(f"trajectory must be one of {TRAJECTORIES}, got {trajectory!r}")
        self._trajectory = trajectory
        super().__init__(**kwargs)
        half, ceiling = self._arena_half_width_m, self._arena_ceiling_m
        if amplitude_m is None:
            amplitude_m = DEFAULT_AMPLITUDE_M[self._platform.name]
        self._amplitude_m = _check("amplitude_m", amplitude_m, 0.0, 0.9 * half)
        self._period_s = _check("period_s", period_s, 0.0, 1e4, lo_open=True)
        self._height_m = _check("height_m", height_m, 0.0, ceiling, lo_open=True)
        wp = np.asarray(waypoints, dtype=np.float64)
        if wp.ndim != 2 or wp.shape[1] != 3 or wp.shape[0] < 1 or not np.all(np.isfinite(wp)):
            raise ValueError(f"waypoints must be a non-empty list of (x, y, z), got {waypoints!r}")
        inside = np.all(np.abs(wp[:, :2]) < half) and np.all((wp[:, 2] > 0) & (wp[:, 2] < ceiling))
        if not inside:
            raise ValueError(
                f"waypoints must lie inside the arena (|x|, |y| < {half} m, 0 < z < {ceiling} m), "
                f"got {waypoints!r}"
            )
        self._waypoints = wp
        self._waypoint_period_s = _check(
            "waypoint_period_s", waypoint_period_s, 0.0, 1e4, lo_open=True
        )
        self._omega = 2.0 * math.pi / self._period_s

    def _view_region(self) -> tuple[np.ndarray, float, float]:
        """The whole path (the ``"fixed"`` camera stays still while the target moves)."""
        s = self._scale_m
        if self._trajectory == "figure8":
            lo = np.array([-self._amplitude_m, 0.0, self._height_m])
            hi = np.array([self._amplitude_m, 0.0, self._height_m])
        else:
            lo, hi = self._waypoints.min(axis=0), self._waypoints.max(axis=0)
        centre = 0.5 * (lo + hi) + np.array([0.0, 0.0, -2.0 * s])
        return centre, 0.5 * (hi[0] - lo[0]) + 7.0 * s, 0.5 * (hi[2] - lo[2]) + 7.0 * s

    def _set_target(self, t_s: float) -> None:
        if self._trajectory == "figure8":
            a, w = self._amplitude_m, self._omega
            s1, c1 = math.sin(w * t_s), math.cos(w * t_s)
            s2, c2 = math.sin(2.0 * w * t_s), math.cos(2.0 * w * t_s)
            tp, tv = self._target_pos, self._target_vel
            tp[0] = a * s1
            tp[1] = 0.5 * a * s2
            tp[2] = self._height_m
            tv[0] = a * w * c1
            tv[1] = a * w * c2
            tv[2] = 0.0
        else:
            k = int(t_s / self._waypoint_period_s) % self._waypoints.shape[0]
            self._target_pos[:] = self._waypoints[k]
            self._target_vel[:] = 0.0
