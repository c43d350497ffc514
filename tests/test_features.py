"""Agents choose their features by the env's type and declared layout, not its class name."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import neurofit.envs  # noqa: F401
from neurofit.agents.features import ARM_FEATURE_SLICES, QUAD_ERROR_INDEX, env_features
from neurofit.envs.arm_reach import ArmReachEnv
from neurofit.envs.quadrotor_hover import QuadHoverEnv


class Drone(QuadHoverEnv):
    """A quadrotor whose class name does not say so."""


class QuadArmLike(gym.Env):
    """Not a quadrotor nor the arm, whatever its name says."""

    observation_space = gym.spaces.Box(-2.0, 2.0, (3,), np.float64)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)


def test_features_follow_the_type_not_the_name() -> None:
    kind, scale = env_features(Drone(), "error")
    assert kind == "error" and scale.shape == (6,)
    kind, scale = env_features(QuadArmLike(), "error")
    assert kind == "obs" and np.array_equal(scale, [2.0, 2.0, 2.0])
    kind, scale = env_features(gym.make("neurofit/ArmReach-v0"), "error")
    assert kind == "arm" and scale.shape == (7,)


def test_feature_indices_are_the_layouts_the_envs_declare() -> None:
    # quadrotor: position error 0-2, velocity error 12-14 (envs/quadrotor.py's table)
    assert list(QUAD_ERROR_INDEX) == [0, 1, 2, 12, 13, 14]
    # arm: joint angles 0-3, end-effector error 8-10 (envs/arm_reach.py's table)
    obs = np.arange(14.0)
    qpos, err = ARM_FEATURE_SLICES
    assert list(obs[qpos]) + list(obs[err]) == [0, 1, 2, 3, 8, 9, 10]
    assert ArmReachEnv.OBS_SLICES["error"] == err
