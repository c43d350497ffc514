"""What a controller's network sees of an env: which features, and the scale that brings them
to about [-1, 1].

Chosen from the env's type and the observation layout it declares
(:data:`~neurofit.envs.quadrotor.OBS_POS_ERR` / :data:`~neurofit.envs.quadrotor.OBS_VEL_ERR`,
:attr:`~neurofit.envs.arm_reach.ArmReachEnv.OBS_SLICES`), never from its class name:

- ``"error"`` (error mode on a NeuroFit quadrotor): the 6-D error, position (m) and velocity
  (m/s) — ``info["error"]`` once the env has reported it, the observation's error slices before;
- ``"arm"`` (error mode on the arm): joint angles and the end-effector error;
- ``"obs"`` (anything else): the observation, scaled by its finite bounds.

An env that declares a range scan (``OBS_SLICES`` with ``"state"``, ``"goal"`` and ``"scan"``,
e.g. ``neurofit/QuadForest-v0``) is read through :func:`scan_layout` and
:func:`scan_features`: the scan as proximity ``1 - range / max_range`` (0 = nothing within
range) and the goal's horizontal direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurofit.envs.arm_reach import ArmReachEnv
from neurofit.envs.quadrotor import OBS_POS_ERR, OBS_VEL_ERR, QuadrotorEnv

__all__ = ["ARM_FEATURE_SLICES", "QUAD_ERROR_INDEX", "ScanLayout", "env_features",
           "scan_features", "scan_layout"]

#: a quadrotor observation's position and velocity errors, the error-mode features
QUAD_ERROR_INDEX = np.r_[OBS_POS_ERR, OBS_VEL_ERR]
#: the arm's error-mode features, in order: joint angles, end-effector error
ARM_FEATURE_SLICES = (ArmReachEnv.OBS_SLICES["qpos"], ArmReachEnv.OBS_SLICES["error"])


def env_features(env: Any, mode: str) -> tuple[str, np.ndarray]:
    """The feature kind (``"error"``, ``"arm"`` or ``"obs"``, module docstring) a controller
    in ``mode`` sees of ``env`` (wrapped or not), and the scale of each feature."""
    base = env.unwrapped
    if mode == "error" and isinstance(base, QuadrotorEnv):
        return "error", np.array([0.5, 0.5, 0.5, 1.0, 1.0, 1.0])  # m, m/s
    if mode == "error" and isinstance(base, ArmReachEnv):
        return "arm", np.array([np.pi] * 4 + [0.1] * 3)  # joint angles, Cartesian error
    high = np.asarray(env.observation_space.high, dtype=np.float64)
    # reward mode's agent rescales these by their running statistics (the task's own units)
    return "obs", np.where(np.isfinite(high) & (high < 1e6), high, 1.0)


@dataclass(frozen=True)
class ScanLayout:
    """Where an env's observation holds the vehicle state, the goal vector and the scan."""

    state: slice
    goal: slice
    scan: slice

    @property
    def n_rays(self) -> int:
        return self.scan.stop - self.scan.start

    @property
    def n_features(self) -> int:
        """Features of :func:`scan_features`: one per ray plus the goal's direction (x, y)."""
        return self.n_rays + 2


def scan_layout(env: Any) -> ScanLayout | None:
    """The scan layout ``env`` (wrapped or not) declares in ``OBS_SLICES``, or None when it
    declares no ``"state"``, ``"goal"`` and ``"scan"`` slices."""
    slices = getattr(env.unwrapped, "OBS_SLICES", None)
    if not isinstance(slices, dict) or not {"state", "goal", "scan"} <= set(slices):
        return None
    return ScanLayout(slices["state"], slices["goal"], slices["scan"])


def scan_features(obs: np.ndarray, layout: ScanLayout, out: np.ndarray) -> np.ndarray:
    """Write the scan features of ``obs`` into ``out`` (``layout.n_features``) and return it:
    each ray's proximity ``1 - range / max_range`` (the env's scan is already divided by its
    max range), then the unit vector toward the goal in the horizontal plane (0 at the goal)."""
    n = layout.n_rays
    np.subtract(1.0, obs[layout.scan], out=out[:n])
    g = obs[layout.goal]
    norm = math.hypot(float(g[0]), float(g[1]))
    if norm > 1e-9:
        out[n] = g[0] / norm
        out[n + 1] = g[1] / norm
    else:
        out[n:] = 0.0
    return out
