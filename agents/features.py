"""What a controller's network sees of an env: which features, and the scale that brings them
to about [-1, 1].

Chosen from the env's type and the observation layout it declares
(:data:`~neurofit.envs.quadrotor.OBS_POS_ERR` / :data:`~neurofit.envs.quadrotor.OBS_VEL_ERR`,
:attr:`~neurofit.envs.arm_reach.ArmReachEnv.OBS_SLICES`), never from its class name:

- ``"error"`` (error mode on a NeuroFit quadrotor): the 6-D error, position (m) and velocity
  (m/s) — ``info["error"]`` once the env has reported it, the observation's error slices before;
- ``"arm"`` (error mode on the arm): joint angles and the end-effector error;
- ``"obs"`` (anything else): the observation, scaled by its finite bounds.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.envs.mujoco.inverted_pendulum_v5 import InvertedPendulumEnv

from neurofit.envs.arm_reach import ArmReachEnv
from neurofit.envs.quadrotor import OBS_POS_ERR, OBS_VEL_ERR, QuadrotorEnv

__all__ = ["ARM_FEATURE_SLICES", "QUAD_ERROR_INDEX", "env_features"]

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
    scale = np.where(np.isfinite(high) & (high < 1e6), high, 1.0)
    if isinstance(base, InvertedPendulumEnv):
        scale = np.array([1.0, 0.2, 1.0, 1.0])  # cart m, pole rad, velocities
    return "obs", scale
