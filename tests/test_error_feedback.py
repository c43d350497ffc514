"""ErrorFeedback: info["error"] for Gymnasium's own MuJoCo tasks."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import NormalizeObservation

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.envs.error_feedback import (
    ERROR_FUNCTIONS,
    ErrorFeedback,
    inverted_pendulum_error,
    make_with_error,
    reacher_error,
)


def test_inverted_pendulum_error_is_minus_angle_and_minus_cart() -> None:
    env = make_with_error("InvertedPendulum-v5")
    obs, info = env.reset(seed=0)
    # obs = [cart x, pole angle, cart velocity, pole angular velocity]
    np.testing.assert_array_equal(info["error"], [-obs[1], -obs[0]])
    env.action_space.seed(0)
    for _ in range(5):
        obs, _, _, _, info = env.step(env.action_space.sample())
        np.testing.assert_array_equal(info["error"], [-obs[1], -obs[0]])
        assert "reward_survive" in info  # the env's own info is kept
    env.close()


def test_reacher_error_is_target_minus_fingertip() -> None:
    env = make_with_error("Reacher-v5")
    obs, info = env.reset(seed=0)
    # obs[8:10] = fingertip - target (x, y)
    np.testing.assert_allclose(info["error"], -obs[8:10], atol=1e-12)
    env.action_space.seed(0)
    for _ in range(5):
        obs, _, _, _, info = env.step(env.action_space.sample())
        np.testing.assert_allclose(info["error"], -obs[8:10], atol=1e-12)
        # the error shrinks the env's own distance term: reward_dist = -|error|
        assert info["reward_dist"] == pytest.approx(-np.linalg.norm(info["error"]), abs=1e-9)
    env.close()


def test_error_reads_state_not_normalised_obs() -> None:
    env = ErrorFeedback(NormalizeObservation(gym.make("InvertedPendulum-v5")),
                        inverted_pendulum_error)
    _, info = env.reset(seed=1)
    qpos = env.unwrapped.data.qpos
    np.testing.assert_array_equal(info["error"], [-qpos[1], -qpos[0]])
    env.close()


def test_custom_error_fn_and_bad_output() -> None:
    env = ErrorFeedback(gym.make("InvertedPendulum-v5"), lambda e, o, i: o[:1] * 2.0)
    obs, info = env.reset(seed=0)
    assert info["error"].dtype == np.float64
    np.testing.assert_array_equal(info["error"], obs[:1] * 2.0)
    bad = ErrorFeedback(gym.make("InvertedPendulum-v5"), lambda e, o, i: np.zeros((2, 2)))
    with pytest.raises(ValueError, match="1-D vector"):
        bad.reset(seed=0)
    with pytest.raises(ValueError, match="callable"):
        ErrorFeedback(gym.make("InvertedPendulum-v5"), "nope")  # type: ignore[arg-type]


def test_make_with_error_ids() -> None:
    assert set(ERROR_FUNCTIONS) == {"InvertedPendulum-v5", "Reacher-v5"}
    assert ERROR_FUNCTIONS["Reacher-v5"] is reacher_error
    with pytest.raises(ValueError, match="no error function known for 'Hopper-v5'"):
        make_with_error("Hopper-v5")
    env = make_with_error("neurofit/ArmReach-v0")  # reports its own error
    _, info = env.reset(seed=0)
    assert info["error"].shape == (3,)
    env.close()


def test_vector_env_with_error_wrapper() -> None:
    envs = gym.make_vec(
        "Reacher-v5", num_envs=2, vectorization_mode="sync",
        wrappers=[lambda e: ErrorFeedback(e, reacher_error)],
    )
    obs, info = envs.reset(seed=0)
    np.testing.assert_allclose(info["error"], -obs[:, 8:10], atol=1e-12)
    envs.close()
