"""The arm: neurofit/ArmReach-v0 and -Payload-v0, joint motor power, the PD reference controller."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco picks its GL backend

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents.arm_pd import ArmPDController, _joint_pd_kernel, _osc_kernel
from neurofit.envs.arm_reach import (
    HOME_QPOS,
    JOINT_MOTORS,
    NOMINAL_PAYLOAD_KG,
    ArmReachEnv,
    _dist_and_ctrl,
    _set_ctrl,
)
from neurofit.envs.disturbances import Payload, SensorNoise, Wind
from neurofit.envs.joint_power import XM540_W270, JointMotor, JointPowerModel, _step_power

ARM_IDS = ["neurofit/ArmReach-v0", "neurofit/ArmReachPayload-v0"]
# Gymnasium's own MuJoCo envs have unbounded observation spaces too; the checker warns about it.
INF_BOX = "ignore:.*Box observation space m.*:UserWarning"


def _steady_errors(env_id: str, seed: int, **ctl_kwargs: object) -> np.ndarray:
    """|error| over the last 0.5 s of every 2 s target hold, PD controller, one episode."""
    env = gym.make(env_id)
    ctl = ArmPDController.from_env(env, **ctl_kwargs)
    obs, _ = env.reset(seed=seed)
    ctl.reset()
    errs, times = [], []
    done = False
    while not done:
        obs, _, terminated, truncated, info = env.step(ctl.act(obs))
        errs.append(np.linalg.norm(info["target"] - info["ee_pos"]))
        times.append(info["time_s"])
        done = terminated or truncated
    env.close()
    phase = np.mod(np.array(times) + 1e-9, 2.0)  # target k holds for t in [2k, 2k + 2)
    return np.array(errs)[phase > 1.5]


# ----------------------------------------------------------------------------- env API
@pytest.mark.filterwarnings(INF_BOX)
@pytest.mark.parametrize("env_id", ARM_IDS)
def test_check_env(env_id: str) -> None:
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


#: Reward weights as documented in ArmReachEnv's docstring and signature (hard-coded here).
DOC_WEIGHTS = {"dist": 1.0, "ctrl": 0.01, "energy": 0.1}
#: ROBOTIS e-Manual XM540-W150 / -W270 at 12 V: stall torque (N m), torque constant (N m/A),
#: stall current 4.4 A, so R = 12 V / 4.4 A; joints (base yaw, shoulder, elbow, wrist).
STALL_NM = np.array([7.3, 10.6, 10.6, 7.3])
KT_NM_PER_A = np.array([1.659, 2.409, 2.409, 1.659])
R_OHM = 12.0 / 4.4


def _expected_arm_terms(model: mujoco.MjModel, info: dict, q_before: np.ndarray,
                        action: np.ndarray, w: dict[str, float], dt: float) -> dict[str, float]:
    """The module docstring's terms, recomputed: the end effector from forward kinematics of the
    new qpos, the step's motor energy from the datasheet (copper loss over the step plus the
    positive mechanical work tau * dq, no regeneration)."""
    d = mujoco.MjData(model)
    d.qpos[:] = info["qpos"]
    mujoco.mj_kinematics(model, d)
    dist = np.linalg.norm(info["target"] - d.site("ee").xpos)
    a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
    tau = a * STALL_NM
    work = (tau / KT_NM_PER_A) ** 2 * R_OHM * dt + np.maximum(tau * (info["qpos"] - q_before), 0)
    return {"reward_dist": -w["dist"] * dist, "reward_ctrl": -w["ctrl"] * float(a @ a),
            "reward_energy": -w["energy"] * float(work.sum())}


@pytest.mark.parametrize("env_id", ARM_IDS)
def test_reward_terms_follow_their_formulas_and_info_keys(env_id: str) -> None:
    env = gym.make(env_id)
    env.action_space.seed(0)
    _, info = env.reset(seed=0)
    keys = {"reward_dist", "reward_ctrl", "reward_energy", "error", "power_w", "energy_j",
            "qpos", "qvel", "disturbances", "termination_reason", "action_clipped"}
    assert keys <= set(info)
    targets = env.unwrapped.targets
    for _ in range(120):  # past 1 s: the payload of -Payload-v0 is on for the last steps
        q_before = info["qpos"]
        action = env.action_space.sample()
        _, reward, _, _, info = env.step(action)
        k = int(info["time_s"] / 2.0 + 1e-9) % 4  # target k for t in [2k, 2k + 2) s
        np.testing.assert_array_equal(info["target"], targets[k])
        expected = _expected_arm_terms(env.unwrapped.model, info, q_before, action,
                                       DOC_WEIGHTS, 0.01)
        for key, value in expected.items():
            assert info[key] == pytest.approx(value, rel=1e-9, abs=1e-15), key
        terms = [v for k, v in info.items() if k.startswith("reward_")]
        assert len(terms) == 3
        assert reward == pytest.approx(sum(terms), abs=1e-12)
        assert info["error"].shape == (3,)
    env.close()


def test_each_arm_reward_term_at_a_hand_set_state() -> None:
    """Distinct weights, a hand-set pose and joint speeds, an action with a clipped element."""
    w = {"dist": 2.5, "ctrl": 0.3, "energy": 0.7}
    env = ArmReachEnv(reward_dist_weight=w["dist"], reward_control_weight=w["ctrl"],
                      reward_energy_weight=w["energy"])
    env.reset(seed=4)
    env.data.qpos[:] = [0.4, 0.8, -1.5, 0.6]
    env.data.qvel[:] = [1.0, -0.5, 0.8, -1.2]
    q_before = env.data.qpos.copy()
    action = np.array([0.6, -0.4, 1.7, 0.3])  # the elbow's 1.7 is clipped to 1
    _, reward, _, _, info = env.step(action)
    assert info["action_clipped"]
    expected = _expected_arm_terms(env.model, info, q_before, action, w, env.dt)
    for key, value in expected.items():
        assert abs(value) > 1e-3, key  # every term is exercised
        assert info[key] == pytest.approx(value, rel=1e-9), key
    assert reward == pytest.approx(sum(expected.values()), rel=1e-12)


def test_error_is_target_minus_ee_and_matches_obs() -> None:
    env = gym.make("neurofit/ArmReach-v0")
    obs, info = env.reset(seed=1)
    obs, *_, info = env.step(np.zeros(4))
    np.testing.assert_allclose(info["error"], info["target"] - info["ee_pos"], atol=1e-12)
    np.testing.assert_array_equal(info["error"], obs[ArmReachEnv.OBS_SLICES["error"]])
    np.testing.assert_array_equal(info["target"], obs[ArmReachEnv.OBS_SLICES["target"]])
    np.testing.assert_array_equal(info["qpos"], obs[:4])
    env.close()


def _rollout(seed: int, disturbances: list[object], n: int = 60) -> list[np.ndarray]:
    env = gym.make("neurofit/ArmReach-v0", disturbances=disturbances)
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    out = [obs, info["qpos"]]
    for _ in range(n):
        obs, reward, _, _, info = env.step(env.action_space.sample())
        out += [obs, info["qvel"], np.array([reward, info["energy_j"]])]
    env.close()
    return out


def test_same_seed_same_trajectory() -> None:
    dist = [Wind(body="payload", mean_mps=(0.5, 0.0, 0.0), gust_std_mps=1.0),
            SensorNoise(std=0.01), Payload(body="payload", mass_fraction=1.0, at_s=0.2)]
    a, b = _rollout(3, dist), _rollout(3, dist)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    c = _rollout(4, dist)
    assert not np.array_equal(a[0], c[0])


def test_targets_cycle_and_are_seeded() -> None:
    env = ArmReachEnv(n_targets=2, target_period_s=0.05)
    env.reset(seed=5)
    first = env.targets
    seen = []
    for _ in range(12):
        *_, info = env.step(np.zeros(4))
        seen.append(info["target_index"])
    # the target of the time reached by the step: 0.05 s = 5 steps per target
    assert seen[:4] == [0] * 4 and seen[4:9] == [1] * 5 and seen[9:] == [0, 0, 0]
    env.reset(seed=5)
    np.testing.assert_array_equal(env.targets, first)
    r = np.hypot(first[:, 0], first[:, 1])
    assert np.all((r >= 0.18) & (r <= 0.34))


def test_sensor_noise_changes_obs_not_true_state() -> None:
    env = ArmReachEnv(disturbances=[SensorNoise(std=0.05)])
    obs, info = env.reset(seed=0)
    assert np.abs(obs[:4] - info["qpos"]).max() > 1e-3
    np.testing.assert_array_equal(info["error"], obs[8:11])  # error as sensed, like the quad


# ----------------------------------------------------------------------------- payload
def test_payload_registration_doubles_mass_at_1s() -> None:
    env = gym.make("neurofit/ArmReachPayload-v0")
    _, info = env.reset(seed=0)
    assert info["disturbances"][0]["active"] is False
    bid = env.unwrapped.model.body("payload").id
    assert env.unwrapped.model.body_mass[bid] == pytest.approx(NOMINAL_PAYLOAD_KG)
    for _ in range(101):
        *_, info = env.step(np.zeros(4))
    assert info["time_s"] > 1.0
    assert info["disturbances"][0]["active"] is True
    assert info["disturbances"][0]["mass_kg"] == pytest.approx(2 * NOMINAL_PAYLOAD_KG)
    assert env.unwrapped.model.body_mass[bid] == pytest.approx(2 * NOMINAL_PAYLOAD_KG)
    env.reset(seed=0)  # nominal again
    assert env.unwrapped.model.body_mass[bid] == pytest.approx(NOMINAL_PAYLOAD_KG)
    env.close()


def test_payload_makes_arm_sag_under_fixed_controller() -> None:
    """Same seed and PD controller: identical until t = 1 s, then the heavier arm hangs lower."""
    z = {}
    for env_id in ARM_IDS:
        env = gym.make(env_id)
        ctl = ArmPDController.from_env(env)
        obs, _ = env.reset(seed=2)
        ctl.reset()
        zs = []
        for _ in range(190):
            obs, *_, info = env.step(ctl.act(obs))
            zs.append(info["ee_pos"][2])
        z[env_id] = np.array(zs)
        env.close()
    nominal, heavy = z[ARM_IDS[0]], z[ARM_IDS[1]]
    np.testing.assert_array_equal(nominal[:99], heavy[:99])
    assert nominal[-1] - heavy[-1] > 0.005  # > 5 mm of sag


# ----------------------------------------------------------------------------- controller
def test_pd_reaches_nominally_and_shows_payload_gap() -> None:
    nominal = _steady_errors("neurofit/ArmReach-v0", seed=0)
    assert nominal.max() < 1e-3  # reaches: < 1 mm
    gap = _steady_errors("neurofit/ArmReachPayload-v0", seed=0)
    assert gap.mean() > 0.010  # integral off, 2x payload: > 1 cm steady error (~2 cm measured)
    closed = _steady_errors("neurofit/ArmReachPayload-v0", seed=0, integral=True)
    assert closed.mean() < 0.2 * gap.mean()  # the integral closes most of the gap


def test_joint_pd_reaches_and_shows_gap() -> None:
    assert _steady_errors("neurofit/ArmReach-v0", seed=1, mode="joint").max() < 1e-3
    assert _steady_errors("neurofit/ArmReachPayload-v0", seed=1, mode="joint").mean() > 0.005


def test_inverse_kinematics_hits_target() -> None:
    ctl = ArmPDController(mode="joint")
    target = np.array([0.2, 0.1, 0.1])
    q = ctl.inverse_kinematics(target)
    d = mujoco.MjData(ctl.model)
    d.qpos[:] = q
    mujoco.mj_kinematics(ctl.model, d)
    np.testing.assert_allclose(d.site("ee").xpos, target, atol=1e-5)


def _osc_reference(jac, minv_jt, x, x_des, q, qd, q_home, bias, kp, kd, null_kp, null_kd):
    """Naive NumPy operational-space law (integral off), for the kernel test."""
    lam = np.linalg.inv(jac @ minv_jt.T + 1e-4 * np.eye(3))
    f = lam @ (kp * (x_des - x) - kd * (jac @ qd))
    jbar_t = lam @ minv_jt
    tau0 = null_kp * (q_home - q) - null_kd * qd
    return jac.T @ f + (np.eye(len(q)) - jac.T @ jbar_t) @ tau0 + bias


def test_osc_kernel_matches_numpy_reference() -> None:
    rng = np.random.default_rng(0)
    n = 4
    jac = rng.normal(size=(3, n))
    a = rng.normal(size=(n, n))
    minv = np.linalg.inv(a @ a.T + n * np.eye(n))
    minv_jt = (minv @ jac.T).T
    x, x_des, q, qd, q_home, bias = (rng.normal(size=k) for k in (3, 3, n, n, n, n))
    gains = np.stack((np.full(3, 50.0), np.full(3, 7.0), np.zeros(3)))
    params = np.array([1.0, 0.0, 0.5, 0.05, 2.0, 0.3, 0.01])
    tau, act = np.zeros(n), np.zeros(n, dtype=np.float32)
    _osc_kernel(jac, minv_jt, x, x_des, q, qd, q_home, bias, gains, params, np.zeros(3),
                np.full(n, 1e3), tau, act)
    ref = _osc_reference(jac, minv_jt, x, x_des, q, qd, q_home, bias, 50.0, 7.0, 2.0, 0.3)
    np.testing.assert_allclose(tau, ref, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(act, np.clip(ref / 1e3, -1, 1), rtol=1e-6)


def test_joint_pd_kernel_matches_numpy_reference() -> None:
    rng = np.random.default_rng(1)
    q, qd, qdes, g = (rng.normal(size=4) for _ in range(4))
    kp, kd, ki = np.array([20.0, 30, 20, 10]), np.array([2.0, 3, 2, 1]), np.full(4, 5.0)
    params = np.array([1.0, 1.0, 0.5, 10.0, 0.0, 0.0, 0.01])  # integral on, wide zone
    integ = np.zeros(4)
    tau, act = np.zeros(4), np.zeros(4, dtype=np.float32)
    _joint_pd_kernel(q, qd, qdes, g, np.stack((kp, kd, ki)), params, integ, np.full(4, 5.0),
                     tau, act)
    integ_ref = np.clip((qdes - q) * 0.01, -0.5, 0.5)
    np.testing.assert_allclose(integ, integ_ref)
    np.testing.assert_allclose(tau, kp * (qdes - q) - kd * qd + ki * integ_ref + g)
    np.testing.assert_allclose(act, np.clip(tau / 5.0, -1, 1), rtol=1e-6)


# ----------------------------------------------------------------------------- power
def test_joint_power_zero_at_rest_and_sane() -> None:
    pm = JointPowerModel(JOINT_MOTORS)
    zero = np.zeros(4)
    assert pm.copper_loss_w(zero).sum() == 0.0
    assert pm.power_w(zero, zero) == 0.0
    # stall of one XM540-W270 at 12 V draws V * I_stall = 12 * 4.4 W (datasheet consistency)
    stall = JointPowerModel([XM540_W270])
    assert stall.power_w(np.array([10.6]), np.array([0.0])) == pytest.approx(12.0 * 4.4, rel=1e-3)
    # negative mechanical power is lost without regeneration, credited with it
    tau, w = np.array([2.0]), np.array([-1.0])
    copper = stall.copper_loss_w(tau).sum()
    assert stall.power_w(tau, w) == pytest.approx(copper)
    regen = JointPowerModel([XM540_W270], allow_regeneration=True)
    assert regen.power_w(tau, w) == pytest.approx(copper - 2.0)


def test_step_power_kernel_matches_numpy() -> None:
    rng = np.random.default_rng(2)
    tau, dq = rng.normal(size=4), rng.normal(size=4) * 0.01
    coef = rng.uniform(0.1, 1.0, 4)
    for regen in (False, True):
        total, copper, mech = _step_power(tau, dq, coef, 0.01, regen)
        mech_j = tau * dq / 0.01
        mech_ref = (mech_j if regen else np.maximum(mech_j, 0)).sum()
        assert copper == pytest.approx((coef * tau**2).sum())
        assert mech == pytest.approx(mech_ref)
        assert total == pytest.approx(copper + mech)


def test_env_power_at_rest_is_zero_and_holding_costs_copper() -> None:
    env = ArmReachEnv()
    env.reset(seed=0)
    *_, info = env.step(np.zeros(4))
    assert info["power_w"] == 0.0 and info["power_copper_w"] == 0.0
    *_, info = env.step(np.array([0.0, 0.3, 0.0, 0.0]))
    expected = (0.3 * 10.6 / 2.409) ** 2 * (12.0 / 4.4)
    assert info["power_copper_w"] == pytest.approx(expected)
    assert info["energy_j"] > 0.0


def test_bad_motor_constant() -> None:
    with pytest.raises(ValueError, match="winding_resistance_ohm"):
        JointMotor("x", 1.0, 0.0, 1.0, 12.0, "test")


# ----------------------------------------------------------------------------- inputs
def test_nan_action_names_element() -> None:
    env = ArmReachEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action\[2\] is nan"):
        env.step(np.array([0.0, 0.0, np.nan, 0.0]))
    with pytest.raises(ValueError, match=r"action\[0\] is inf"):
        env.step(np.array([np.inf, 0.0, 0.0, 0.0]))
    with pytest.raises(ValueError, match="shape"):
        env.step(np.zeros(3))


def test_out_of_range_action_clipped_and_flagged() -> None:
    a, b = ArmReachEnv(), ArmReachEnv()
    a.reset(seed=0)
    b.reset(seed=0)
    _, ra, *_, ia = a.step(np.array([3.0, -2.0, 0.5, 0.0]))
    _, rb, *_, ib = b.step(np.array([1.0, -1.0, 0.5, 0.0]))
    assert ia["action_clipped"] and not ib["action_clipped"]
    np.testing.assert_array_equal(ia["qpos"], ib["qpos"])
    assert ra == rb


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"frame_skip": 0}, r"frame_skip must be an integer in \[1, 1000\]"),
        ({"n_targets": 0}, r"n_targets must be an integer in \[1, 1000\]"),
        ({"target_period_s": -1.0}, r"target_period_s must be in \(0.0, 3600.0\]"),
        ({"target_radius_m": (0.3, 0.2)}, r"target_radius_m must satisfy 0.05 <= low"),
        ({"target_radius_m": (0.2, 0.44), "target_height_m": (0.0, 0.5)}, "beyond the arm"),
        ({"reward_dist_weight": -1.0}, r"reward_dist_weight must be in \[0.0"),
        ({"reset_noise_scale": np.nan}, r"reset_noise_scale must be in \[0.0, 0.5\]"),
        ({"payload_mass_kg": 0.0}, r"payload_mass_kg must be in \(0.0, 2.0\]"),
        ({"render_mode": "human"}, "render_mode must be None or one of"),
        ({"width": 5}, r"width must be an integer in \[16, 4096\]"),
        ({"camera_name": "nope"}, "camera_name 'nope'"),
        ({"disturbances": [{"type": "Payload", "body": "nope"}]}, "body 'nope' not found"),
    ],
)
def test_bad_keywords_raise_naming_field(kwargs: dict[str, object], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        env = ArmReachEnv(**kwargs)  # type: ignore[arg-type]
        env.reset(seed=0)  # disturbance names resolve at reset


def test_bad_controller_arguments() -> None:
    with pytest.raises(ValueError, match="mode must be"):
        ArmPDController(mode="cartesian")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="kp must be finite and >= 0"):
        ArmPDController(kp=-1.0)


def test_unstable_sim_terminates_with_reason(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # MuJoCo writes MUJOCO_LOG.TXT into the working directory
    env = ArmReachEnv()
    env.reset(seed=0)
    obs1, *_ = env.step(np.zeros(4))
    env.data.qvel[:] = 1e40  # blow the state up
    obs, reward, terminated, truncated, info = env.step(np.zeros(4))
    assert terminated and not truncated
    assert info["termination_reason"] == "mujoco_warning"
    np.testing.assert_array_equal(obs, obs1)  # last valid observation is repeated
    assert reward == 0.0 and info["power_w"] == 0.0


# ----------------------------------------------------------------------------- vector, render
@pytest.mark.parametrize("env_id", ARM_IDS)
def test_make_vec_sync(env_id: str) -> None:
    """Sub-env i equals a single env reset with seed i and fed the i-th action row."""
    actions = np.array([[0.2, -0.3, 0.1, 0.0], [-0.1, 0.4, -0.2, 0.3]], dtype=np.float32)
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync")
    obs, info = envs.reset(seed=[0, 1])
    assert obs.shape == (2, 14)
    vec = [(obs.copy(), None, None)]
    for _ in range(3):
        obs, reward, _, _, info = envs.step(actions)
        vec.append((obs.copy(), reward.copy(), info["error"].copy()))
    envs.close()
    assert not np.array_equal(vec[0][0][0], vec[0][0][1])
    for i in range(2):
        env = gym.make(env_id)
        obs, _ = env.reset(seed=i)
        np.testing.assert_array_equal(vec[0][0][i], obs)
        for k in range(1, 4):
            obs, reward, _, _, info = env.step(actions[i])
            np.testing.assert_array_equal(vec[k][0][i], obs)
            assert vec[k][1][i] == reward
            np.testing.assert_array_equal(vec[k][2][i], info["error"])
        env.close()


@pytest.mark.filterwarnings(INF_BOX)
def test_rgb_array_frames(offscreen_gl: None) -> None:
    env = gym.make("neurofit/ArmReach-v0", render_mode="rgb_array", width=160, height=120)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
    assert frame.std() > 5.0  # not a blank image
    check_env(env.unwrapped)  # render checks included
    env.close()
    env.close()  # closing twice is allowed


def test_home_pose_is_inside_joint_ranges() -> None:
    model = ArmReachEnv().model
    lo, hi = model.jnt_range.T
    assert np.all((HOME_QPOS > lo) & (HOME_QPOS < hi))
    # torque limits are the servo stall torques (arm.xml ctrlrange)
    np.testing.assert_allclose(model.actuator_ctrlrange[:, 1],
                               [m.stall_torque_nm for m in JOINT_MOTORS])


def test_small_kernels() -> None:
    ctrl = np.zeros(2)
    assert _set_ctrl(np.array([0.5, -0.5]), np.array([2.0, 4.0]), ctrl) == -1
    np.testing.assert_array_equal(ctrl, [1.0, -2.0])
    assert _set_ctrl(np.array([1.5, -0.5]), np.array([2.0, 4.0]), ctrl) == -2
    np.testing.assert_array_equal(ctrl, [2.0, -2.0])
    assert _set_ctrl(np.array([0.0, np.nan]), np.array([2.0, 4.0]), ctrl) == 1
    d, c = _dist_and_ctrl(np.array([3.0, 4.0, 0.0]), np.zeros(3), np.array([1.0, 2.0]))
    assert (d, c) == (5.0, 5.0)
