"""Cascaded PID: kernel vs NumPy reference, hover accuracy with noise, payload error, speed."""

from __future__ import annotations

import dataclasses
import math
import os
import time

import gymnasium as gym
import numpy as np
import pytest

import neurofit.envs  # noqa: F401  (registers the ids)
from neurofit.agents.pid import PIDGains, QuadPID
from neurofit.envs.quadrotor_platform import get_platform

PAYLOAD_30 = {"type": "Payload", "body": "quad", "mass_fraction": 0.3, "at_s": 2.0}


def _reference_tick(
    obs: np.ndarray, gains: PIDGains, platform: str, dt: float, state: dict, integral: bool
) -> np.ndarray:
    """The cascade of agents/pid.py written plainly with NumPy matrices."""
    p = get_platform(platform)
    g = 9.81
    e_p, r, e_v, w = obs[0:3], obs[3:12].reshape(3, 3), obs[12:15], obs[15:18]
    if integral:
        state["ipos"] = np.clip(state["ipos"] + e_p * dt, -gains.pos_integral_limit,
                                gains.pos_integral_limit)  # fmt: skip
    acc = (np.array(gains.kp_pos) * e_p + np.array(gains.kd_pos) * e_v
           + np.array(gains.ki_pos) * state["ipos"] + [0, 0, g])  # fmt: skip
    acc[2] = max(acc[2], 0.3 * g)
    hmax = acc[2] * math.tan(gains.max_tilt_rad)
    h = np.linalg.norm(acc[:2])
    if h > hmax:
        acc[:2] *= hmax / h
    thrust = max(0.0, p.mass_kg * acc @ r[:, 2])
    b3 = acc / np.linalg.norm(acc)
    b2 = np.cross(b3, [1.0, 0.0, 0.0])
    b2 /= np.linalg.norm(b2)
    b1 = np.cross(b2, b3)
    rd = np.column_stack([b1, b2, b3])
    e = rd.T @ r - r.T @ rd
    e_r = 0.5 * np.array([e[2, 1], e[0, 2], e[1, 0]])
    lim = np.array([gains.max_rate_radps[0]] * 2 + [gains.max_rate_radps[1]])
    w_des = np.clip(-np.array(gains.kp_att) * e_r, -lim, lim)
    e_w = w_des - w
    if integral:
        state["irate"] = np.clip(state["irate"] + e_w * dt, -gains.rate_integral_limit,
                                 gains.rate_integral_limit)  # fmt: skip
    dw = (w - state["prev"]) / dt if state["has_prev"] else np.zeros(3)
    state["prev"], state["has_prev"] = w.copy(), True
    alpha = (np.array(gains.kp_rate) * e_w + np.array(gains.ki_rate) * state["irate"]
             - np.array(gains.kd_rate) * dw)  # fmt: skip
    j = np.diag(p.inertia_kgm2)
    tau = j @ alpha + np.cross(w, j @ w)
    thrusts = np.linalg.solve(p.allocation_matrix(), np.concatenate([[thrust], tau]))
    thrusts = np.clip(thrusts, 0.0, p.max_thrust_n)
    return 2.0 * thrusts / p.max_thrust_n - 1.0


@pytest.mark.parametrize("platform", ["micro", "heavy"])
@pytest.mark.parametrize("integral", [True, False])
def test_kernel_matches_numpy_reference(platform: str, integral: bool) -> None:
    gains = dataclasses.replace(PIDGains.for_platform(platform), kd_rate=(0.01, 0.01, 0.005))
    pid = QuadPID(platform, gains, integral=integral, dt_s=0.01)
    state = {"ipos": np.zeros(3), "irate": np.zeros(3), "prev": np.zeros(3), "has_prev": False}
    env = gym.make("neurofit/QuadHoverNoisy-v0", platform=platform)
    obs, _ = env.reset(seed=4)
    for _ in range(30):  # along a real (noisy) closed-loop trajectory
        a = pid.act(obs)
        ref = _reference_tick(obs, gains, platform, 0.01, state, integral)
        np.testing.assert_allclose(a, ref, atol=2e-6)  # float32 output
        obs, *_ = env.step(a)


def _fly(
    env_id: str, steps: int, seed: int = 0, integral: bool = True, **kwargs: object
) -> np.ndarray:
    env = gym.make(env_id, **kwargs)
    pid = QuadPID.from_env(env, integral=integral)
    obs, _ = env.reset(seed=seed)
    pid.reset()
    errors = []
    for _ in range(steps):
        obs, _, term, _trunc, info = env.step(pid.act(obs))
        assert not term, info["termination_reason"]
        errors.append(info["qpos"][:3] - info["target_pos"])
    return np.array(errors)


@pytest.mark.parametrize("seed", [0, 1])
def test_hover_within_2cm_rms_with_realistic_noise(seed: int) -> None:
    err = _fly("neurofit/QuadHoverNoisy-v0", 800, seed)  # 8 s, 0.2 m initial offsets
    rms = np.sqrt((err[300:] ** 2).sum(axis=1).mean())  # after 3 s of settling
    assert rms < 0.02
    assert rms > 5e-4  # with noise the error is not meaninglessly tiny


def test_heavy_hover_with_realistic_noise() -> None:
    err = _fly("neurofit/QuadHoverHeavy-v0", 800)
    assert np.sqrt((err[300:] ** 2).sum(axis=1).mean()) < 0.03


def test_payload_leaves_steady_error_without_integral() -> None:
    pd = _fly("neurofit/QuadHoverPayload-v0", 800, integral=False, sensor_noise="realistic")
    pid = _fly("neurofit/QuadHoverPayload-v0", 800, integral=True, sensor_noise="realistic")
    # PD: thrust short by 0.3 m g -> sag of 0.3 g / Kp_z
    expected_sag = 0.3 * 9.81 / PIDGains.for_platform("micro").kp_pos[2]
    assert pd[-200:, 2].mean() == pytest.approx(-expected_sag, rel=0.1)
    assert abs(pid[-200:, 2].mean()) < 0.02


def test_pid_survives_the_disturbed_track() -> None:
    err = _fly("neurofit/QuadTrackDisturbed-v0", 2000)  # payload, motor at 70 %, wind, noise
    assert np.sqrt((err[-500:] ** 2).sum(axis=1).mean()) < 0.3


def test_gains_can_be_swept() -> None:
    pid = QuadPID("micro")
    pid.set_gains(kp_pos=(1.0, 1.0, 2.0))
    assert pid.gains.kp_pos == (1.0, 1.0, 2.0)
    obs = np.zeros(18)
    obs[3:12] = np.eye(3).ravel()
    obs[2] = 0.1
    a1 = pid.act(obs)
    pid.reset()
    pid.set_gains(kp_pos=(1.0, 1.0, 8.0))
    assert pid.act(obs).mean() > a1.mean()  # stiffer z gain: more thrust for the same error
    with pytest.raises(ValueError, match=r"unknown gain\(s\) \['kp_z'\]"):
        pid.set_gains(kp_z=1.0)
    with pytest.raises(ValueError, match=r"PIDGains.kd_pos must be finite and >= 0"):
        pid.set_gains(kd_pos=(-1.0, 0.0, 0.0))
    with pytest.raises(ValueError, match=r"PIDGains.ki_pos must have 3 elements"):
        pid.set_gains(ki_pos=(1.0, 1.0))


def test_integral_switch_and_bad_input() -> None:
    pid = QuadPID("heavy", integral=False)
    assert not pid.integral
    pid.integral = True
    assert pid.integral
    with pytest.raises(ValueError, match=r"obs must have shape \(18,\)"):
        pid.act(np.zeros(17))
    with pytest.raises(ValueError, match=r"dt_s must be in \(0, 0.1\]"):
        QuadPID(dt_s=0.0)
    with pytest.raises(ValueError, match=r"platform must be one of"):
        QuadPID("blimp")


@pytest.mark.skipif(
    os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0"), reason="timing needs the JIT"
)
def test_tick_is_fast() -> None:
    pid = QuadPID("micro")
    obs = np.zeros(18)
    obs[3:12] = np.eye(3).ravel()
    pid.act(obs)  # compile / load the cache
    best = math.inf
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(500):
            pid.act(obs)
        best = min(best, (time.perf_counter() - t0) / 500)
    assert best < 20e-6  # the benchmark's budget is an env step, ~20-30 us
