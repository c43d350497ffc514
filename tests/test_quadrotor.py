"""Quadrotor envs: Gymnasium conformance, reward terms, termination, determinism, bad input."""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")  # before mujoco is imported anywhere in this process

import json
import math
import pickle
import subprocess
import sys

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import neurofit.envs  # noqa: F401  (registers the ids)
from neurofit.envs.quadrotor import OBS_SIZE, QuadrotorEnv
from neurofit.envs.quadrotor_hover import QuadHoverEnv
from neurofit.envs.quadrotor_platform import PLATFORMS, QuadrotorPlatform
from neurofit.envs.quadrotor_track import QuadTrackEnv

# the hover/track tasks; QuadForest has its own observation, reward and info (test_quadforest.py)
QUAD_IDS = sorted(k for k in gym.registry
                  if k.startswith("neurofit/Quad") and not k.startswith("neurofit/QuadForest"))
INFO_KEYS = {
    "reward_alive",
    "reward_position",
    "reward_velocity",
    "reward_attitude",
    "reward_rate",
    "reward_energy",
    "reward_crash",
    "error",
    "power_w",
    "energy_j",
    "rotor_thrust_n",
    "qpos",
    "qvel",
    "time_s",
    "target_pos",
    "action_clipped",
    "disturbances",
    "termination_reason",
    "tracking_error_m",
}


def _rollout(env: gym.Env, seed: int, n: int, action_seed: int = 0) -> list[tuple]:
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(action_seed)
    out = []
    for _ in range(n):
        a = (env.unwrapped.platform.hover_action + 0.05 * rng.standard_normal(4)).astype(np.float32)
        obs, r, term, trunc, info = env.step(a)
        out.append((obs, r, info["qpos"], info["qvel"]))
        if term or trunc:
            break
    return out


def test_expected_ids_registered() -> None:
    for env_id in (
        "neurofit/QuadHover-v0",
        "neurofit/QuadTrack-v0",
        "neurofit/QuadHoverPayload-v0",
        "neurofit/QuadHoverWind-v0",
        "neurofit/QuadTrackDisturbed-v0",
    ):
        assert env_id in QUAD_IDS
    for env_id in QUAD_IDS:  # specs stay JSON-serialisable (Minari stores them)
        json.loads(gym.spec(env_id).to_json())


@pytest.mark.parametrize("env_id", QUAD_IDS)
def test_check_env(env_id: str) -> None:
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)  # rendering: test_render_rgb_array
    env.close()


#: Reward weights as documented in QuadrotorEnv's docstring and signature (hard-coded here, so a
#: default that drifts, or a kernel that scales a term, fails).
DOC_WEIGHTS = {"alive": 1.0, "position": 1.0, "velocity": 0.1, "attitude": 0.2, "rate": 0.02,
               "energy": 0.1}


def _rotor_power_w(p: QuadrotorPlatform, thrusts_n: np.ndarray) -> float:
    """Momentum theory (envs/power.py's docstring) from the platform's rotor figures."""
    pw = p.power
    induced = np.clip(thrusts_n, 0.0, None) ** 1.5 / math.sqrt(
        2.0 * pw.air_density_kgpm3 * math.pi * pw.rotor_radius_m**2)
    return pw.idle_w + float(induced.sum()) / (pw.figure_of_merit * pw.motor_efficiency)


def _expected_terms(env: QuadrotorEnv, info: dict, w: dict[str, float],
                    target_vel: np.ndarray) -> dict[str, float]:
    """Every reward term recomputed from the true state in ``info`` by the documented formulas:
    alive +w, position -w|p_target - p|, velocity -w|v_target - v|, attitude -w * rotation
    angle from level & yaw 0, rate -w|omega|, energy -w P_elec / P_hover."""
    p = env.platform
    qw, qv = info["qpos"][3], info["qpos"][4:7]
    angle = 2.0 * math.atan2(float(np.linalg.norm(qv)), abs(qw))
    hover = _rotor_power_w(p, np.full(4, p.mass_kg * 9.81 / 4.0))
    return {
        "reward_alive": w["alive"],
        "reward_position": -w["position"] * np.linalg.norm(info["target_pos"] - info["qpos"][:3]),
        "reward_velocity": -w["velocity"] * np.linalg.norm(target_vel - info["qvel"][:3]),
        "reward_attitude": -w["attitude"] * angle,
        "reward_rate": -w["rate"] * np.linalg.norm(info["qvel"][3:6]),
        "reward_energy": -w["energy"] * _rotor_power_w(p, info["rotor_thrust_n"]) / hover,
    }


def _figure8_velocity(t_s: float, amplitude_m: float = 0.5, period_s: float = 10.0) -> np.ndarray:
    """d/dt of QuadTrackEnv's documented lemniscate (A sin wt, A/2 sin 2wt, h)."""
    w = 2.0 * math.pi / period_s
    return np.array([amplitude_m * w * math.cos(w * t_s),
                     amplitude_m * w * math.cos(2.0 * w * t_s), 0.0])


@pytest.mark.parametrize("env_id", QUAD_IDS)
def test_reward_terms_follow_their_formulas_and_info_complete(env_id: str) -> None:
    env = gym.make(env_id)
    unwrapped = env.unwrapped
    obs, info = env.reset(seed=3)
    assert set(info) == INFO_KEYS
    figure8 = isinstance(unwrapped, QuadTrackEnv) and unwrapped._trajectory == "figure8"
    amplitude = 0.5 if unwrapped.platform.name == "micro" else 2.0  # QuadTrackEnv's doc
    rng = np.random.default_rng(0)
    for _ in range(60):
        obs, reward, term, _trunc, info = env.step(rng.uniform(-0.3, 0.1, 4).astype(np.float32))
        assert set(info) == INFO_KEYS
        target_vel = (_figure8_velocity(info["time_s"], amplitude) if figure8 else np.zeros(3))
        for key, value in _expected_terms(unwrapped, info, DOC_WEIGHTS, target_vel).items():
            assert info[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        assert info["reward_crash"] == 0.0  # crash_cost defaults to 0
        assert info["tracking_error_m"] == pytest.approx(
            np.linalg.norm(info["target_pos"] - info["qpos"][:3]), rel=1e-12)
        terms = sum(v for k, v in info.items() if k.startswith("reward_"))
        assert reward == pytest.approx(terms, abs=1e-12)
        assert info["error"].shape == (6,)
        np.testing.assert_array_equal(info["error"], np.concatenate([obs[0:3], obs[12:15]]))
        if term:
            break
    env.close()


@pytest.mark.parametrize("platform", ["micro", "heavy"])
def test_each_reward_term_at_a_hand_set_state(platform: str) -> None:
    """Distinct weights, a hand-set tilted, spinning, drifting state off a moving target: each
    term is its formula at the state after the step (read back from ``info``), term by term."""
    w = {"alive": 0.7, "position": 1.3, "velocity": 0.45, "attitude": 0.35, "rate": 0.05,
         "energy": 0.25}
    env = QuadTrackEnv(platform=platform, alive_reward=w["alive"],
                       position_cost_weight=w["position"], velocity_cost_weight=w["velocity"],
                       attitude_cost_weight=w["attitude"], rate_cost_weight=w["rate"],
                       energy_cost_weight=w["energy"], crash_cost=3.0)
    env.reset(seed=0)
    d = env.data
    d.qpos[:3] = [0.3, -0.2, 1.4]
    mujoco.mju_euler2Quat(d.qpos[3:7], np.array([0.25, -0.15, 0.4]), "xyz")
    d.qvel[:] = [0.5, -0.3, 0.2, 1.5, -0.8, 0.6]
    _, reward, term, _, info = env.step(np.array([0.2, -0.1, 0.4, 0.0]))
    assert not term
    amplitude = 0.5 if platform == "micro" else 2.0
    expected = _expected_terms(env, info, w, _figure8_velocity(info["time_s"], amplitude))
    for key, value in expected.items():
        assert abs(value) > 1e-3, key  # every term is exercised
        assert info[key] == pytest.approx(value, rel=1e-9), key
    assert info["reward_crash"] == 0.0
    assert reward == pytest.approx(sum(expected.values()), rel=1e-12)


def test_error_is_target_minus_state_without_noise() -> None:
    env = QuadTrackEnv()
    env.reset(seed=1)
    _, _, _, _, info = env.step(np.zeros(4))
    np.testing.assert_allclose(info["error"][:3], info["target_pos"] - info["qpos"][:3])
    t = info["time_s"]
    w = 2 * math.pi / 10.0
    target_vel = np.array([0.5 * w * math.cos(w * t), 0.5 * w * math.cos(2 * w * t), 0.0])
    np.testing.assert_allclose(info["error"][3:], target_vel - info["qvel"][:3])


def test_power_and_energy_bookkeeping() -> None:
    env = QuadHoverEnv()
    env.reset(seed=0)
    a = np.full(4, env.platform.hover_action, dtype=np.float32)
    energy = 0.0
    for _ in range(50):
        _, _, _, _, info = env.step(a)
        energy += info["power_w"] * env.dt
    assert info["energy_j"] == pytest.approx(energy)
    assert info["power_w"] == pytest.approx(env.platform.power.hover_power_w(0.027), rel=1e-3)
    np.testing.assert_allclose(info["rotor_thrust_n"], env.platform.hover_thrust_n, rtol=1e-6)


@pytest.mark.parametrize("env_id", ["neurofit/QuadTrackDisturbed-v0", "neurofit/QuadHoverWind-v0"])
def test_same_seed_same_trajectory(env_id: str) -> None:
    a = _rollout(gym.make(env_id), seed=7, n=300)
    b = _rollout(gym.make(env_id), seed=7, n=300)
    c = _rollout(gym.make(env_id), seed=8, n=300)
    assert len(a) == len(b)
    for (oa, ra, qa, va), (ob, rb, qb, vb) in zip(a, b, strict=True):
        np.testing.assert_array_equal(oa, ob)
        np.testing.assert_array_equal(qa, qb)
        np.testing.assert_array_equal(va, vb)
        assert ra == rb
    assert not np.array_equal(a[10][2], c[10][2])


def test_hover_action_holds_altitude() -> None:
    env = QuadHoverEnv(init_pos_range_m=0, init_vel_range_mps=0, init_tilt_range_rad=0)
    env.reset(seed=0)
    a = np.full(4, env.platform.hover_action)
    for _ in range(100):
        _, _, term, _, info = env.step(a)
    assert not term
    np.testing.assert_allclose(info["qpos"][:3], [0.0, 0.0, 1.0], atol=1e-6)


@pytest.mark.parametrize(
    ("action", "reason"),
    [((-1, -1, -1, -1), "floor_crash"), ((1, 1, -1, -1), "tilt"), ((1, 1, 1, 1), "left_arena")],
)
def test_crash_terminations(action: tuple[float, ...], reason: str) -> None:
    env = gym.make("neurofit/QuadHover-v0", crash_cost=5.0)
    env.reset(seed=0)
    for _ in range(500):
        _, _r, term, trunc, info = env.step(np.array(action, dtype=np.float32))
        if term:
            break
    assert term and not trunc
    assert info["termination_reason"] == reason
    assert info["reward_crash"] == -5.0


def test_motor_lag_and_thrust_mapping() -> None:
    env = QuadHoverEnv(motor_tau_s=0.05)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.ones(4))
    hover, tmax = env.platform.hover_thrust_n, env.platform.max_thrust_n
    # exact first-order filter; the reported thrust is the one of the step's last substep
    expected = tmax + (hover - tmax) * math.exp(-(env.dt - 0.002) / 0.05)
    np.testing.assert_allclose(info["rotor_thrust_n"], expected, rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_action_names_the_element(bad: float) -> None:
    env = QuadHoverEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action\[2\]"):
        env.step(np.array([0.0, 0.0, bad, 0.0]))


def test_out_of_range_action_is_clipped_and_flagged() -> None:
    env = QuadHoverEnv()
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([0.0, 0.0, 0.0, 0.0]))
    assert info["action_clipped"] is False
    _, _, _, _, info = env.step(np.array([2.0, -3.0, 0.0, 0.0]))
    assert info["action_clipped"] is True
    np.testing.assert_allclose(env.data.ctrl[:2], [env.platform.max_thrust_n, 0.0])
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        env.step(np.zeros(3))


@pytest.mark.parametrize(("value", "reason"), [(np.nan, "nan_state"), (1e12, "unstable_sim")])
def test_unstable_simulation_terminates(
    value: float, reason: str, tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # MuJoCo logs its warning to ./MUJOCO_LOG.TXT
    env = QuadHoverEnv()
    env.reset(seed=0)
    env.data.qvel[0] = value
    obs, reward, term, _, info = env.step(np.zeros(4))
    assert term
    assert info["termination_reason"] == reason
    assert np.all(np.isfinite(obs)) and reward == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"platform": "tiny"}, r"platform must be one of \('micro', 'heavy'\), got 'tiny'"),
        ({"frame_skip": 0}, r"frame_skip must be in \[1, 100\], got 0"),
        ({"frame_skip": 2.5}, r"frame_skip must be an integer"),
        ({"timestep_s": 0.5}, r"timestep_s must be in \(0.0, 0.01\]"),
        ({"motor_tau_s": -0.1}, r"motor_tau_s must be in \(0.0, 1.0\]"),
        ({"sensor_noise": "loud"}, r"sensor_noise must be one of \('none', 'realistic'\)"),
        ({"position_cost_weight": -1}, r"position_cost_weight must be in \[0"),
        ({"max_tilt_rad": 4.0}, r"max_tilt_rad must be in \(0.0, 3.14"),
        ({"render_mode": "human"}, r"render_mode must be None or one of \['rgb_array'\]"),
        ({"width": 5000}, r"width must be in \[1, 640\]"),
        ({"camera": "nope"}, r"camera must be one of \['fixed', 'track'\]"),
        ({"target_pos_m": (0, 0, -1)}, r"target_pos_m height must be > 0"),
        ({"target_pos_m": (0, 0)}, r"target_pos_m must be 3 finite numbers"),
        ({"disturbances": [{"type": "Tornado"}]}, r"disturbance type must be one of"),
    ],
)
def test_bad_keywords_name_field_and_range(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QuadHoverEnv(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"trajectory": "circle"}, r"trajectory must be one of \('figure8', 'waypoints'\)"),
        ({"amplitude_m": 50.0}, r"amplitude_m must be in \[0.0, 2.7"),
        ({"period_s": 0.0}, r"period_s must be in \(0.0"),
        ({"waypoints": [(0, 0, 9)]}, r"waypoints must lie inside the arena"),
        ({"waypoints": [(0, 0)]}, r"waypoints must be a non-empty list of \(x, y, z\)"),
    ],
)
def test_track_bad_keywords(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QuadTrackEnv(**kwargs)


def test_track_waypoints_switch() -> None:
    wps = ((0.0, 0.0, 1.0), (0.5, 0.0, 1.0))
    env = QuadTrackEnv(trajectory="waypoints", waypoints=wps, waypoint_period_s=0.1)
    env.reset(seed=0)
    targets = [env.step(np.zeros(4))[4]["target_pos"][0] for _ in range(20)]
    assert 0.0 in targets and 0.5 in targets


def test_heavy_platform_hovers_at_its_hover_action() -> None:
    env = QuadHoverEnv(platform="heavy", init_pos_range_m=0, init_vel_range_mps=0,
                       init_tilt_range_rad=0)  # fmt: skip
    env.reset(seed=0)
    for _ in range(50):
        _, _, _, _, info = env.step(np.full(4, env.platform.hover_action))
    np.testing.assert_allclose(info["qpos"][:3], [0.0, 0.0, 1.0], atol=1e-6)
    assert 100.0 < info["power_w"] < 200.0


@pytest.mark.parametrize("name", sorted(PLATFORMS))
def test_asset_matches_platform_constants(name: str) -> None:
    p = PLATFORMS[name]
    m = mujoco.MjModel.from_xml_path(p.asset_path())
    bid = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "quad")
    assert m.body_mass[bid] == pytest.approx(p.mass_kg)
    np.testing.assert_allclose(m.body_inertia[bid], p.inertia_kgm2)
    np.testing.assert_allclose(m.body_ipos[bid], 0.0)
    assert m.nu == 4
    for i in range(4):
        np.testing.assert_allclose(m.site_pos[m.actuator_trnid[i, 0], :2], p.rotor_xy_m[i])
        np.testing.assert_allclose(
            m.actuator_gear[i], [0, 0, 1, 0, 0, p.rotor_spin[i] * p.yaw_moment_ratio_m]
        )
        np.testing.assert_allclose(m.actuator_ctrlrange[i], [0.0, p.max_thrust_n])
        assert m.actuator_dynprm[i, 0] == pytest.approx(p.motor_tau_s)
    if name == "micro":
        assert p.thrust_to_weight == pytest.approx(2.25, rel=1e-3)
        assert 4 * p.max_thrust_n == pytest.approx(0.6, abs=0.01)
    # the allocation matrix reproduces the wrench MuJoCo applies: set the rotor thrusts (the
    # motor-lag state) at a tilted pose and read the free joint's generalised actuator force,
    # [force (world frame), torque (body frame)], back from qfrc_actuator
    b = p.allocation_matrix()
    assert np.linalg.matrix_rank(b) == 4
    d = mujoco.MjData(m)
    d.qpos[:3] = [0.1, -0.2, 1.0]
    mujoco.mju_euler2Quat(d.qpos[3:7], np.array([0.3, -0.2, 0.5]), "xyz")
    rng = np.random.default_rng(0)
    for thrusts in np.vstack([np.eye(4) * p.max_thrust_n, rng.uniform(0, p.max_thrust_n, 4)]):
        d.act[:] = d.ctrl[:] = thrusts
        mujoco.mj_forward(m, d)
        np.testing.assert_allclose(d.actuator_force, thrusts, rtol=1e-12)
        wrench = b @ thrusts
        rot = d.xmat[bid].reshape(3, 3)
        np.testing.assert_allclose(d.qfrc_actuator[:3], rot @ [0.0, 0.0, wrench[0]],
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(d.qfrc_actuator[3:], wrench[1:], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("env_id", QUAD_IDS)
def test_vector_envs_sync_and_async(env_id: str) -> None:
    """Sub-env i of a vector env reset with seed=0 is the single env reset with seed i and fed
    the i-th row of the actions: same observations, rewards and powers, bit for bit."""
    actions = np.array([[0.1, -0.2, 0.3, 0.0], [-0.3, 0.2, 0.0, 0.1]], dtype=np.float32)
    singles = []
    for i in range(2):
        env = gym.make(env_id)
        obs, _ = env.reset(seed=i)
        rows = [(obs, 0.0, 0.0)]
        for _ in range(3):
            obs, reward, _term, _trunc, info = env.step(actions[i])
            rows.append((obs, reward, info["power_w"]))
        singles.append(rows)
        env.close()
    for mode in ("sync", "async"):
        envs = gym.make_vec(env_id, num_envs=2, vectorization_mode=mode)
        obs, info = envs.reset(seed=0)
        assert obs.shape == (2, OBS_SIZE)
        got = [(obs, np.zeros(2), np.zeros(2))]
        for _ in range(3):
            obs, reward, _term, _trunc, info = envs.step(actions)
            got.append((obs, reward, info["power_w"]))
        envs.close()
        for k, (vec_obs, vec_reward, vec_power) in enumerate(got):
            for i in range(2):
                single_obs, single_reward, single_power = singles[i][k]
                np.testing.assert_array_equal(vec_obs[i], single_obs, err_msg=f"{mode} {k} {i}")
                assert vec_reward[i] == single_reward and vec_power[i] == single_power
        assert not np.array_equal(got[0][0][0], got[0][0][1])  # sub-envs are seeded differently


def test_render_rgb_array(offscreen_gl: None) -> None:
    env = QuadHoverEnv(render_mode="rgb_array", width=160, height=120)
    env.reset(seed=0)
    frame = env.render()
    assert frame is not None
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
    assert frame.std() > 1.0  # not a blank image
    env.close()
    env.close()  # closing twice is allowed
    assert QuadHoverEnv().render() is None


def test_base_class_needs_a_task() -> None:
    env = QuadrotorEnv()
    with pytest.raises(NotImplementedError):
        env.reset(seed=0)


def test_bench_env_cli_json() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "neurofit.scripts.cli", "bench", "env", "--steps", "30",
         "--repeats", "1", "--only", "QuadHover-v0", "--json"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    result = json.loads(out.stdout)
    ids = [e["env_id"] for e in result["envs"]]
    assert ids == ["neurofit/QuadHover-v0", "Hopper-v5"]
    for e in result["envs"]:
        assert set(e) == {"env_id", "steps_per_s", "us_per_step"}
        assert e["steps_per_s"] > 0 and e["us_per_step"] == pytest.approx(1e6 / e["steps_per_s"])
    assert result["machine"]["cpu_count"] >= 1


def test_pickle_rebuilds_with_the_same_settings() -> None:
    env = QuadTrackEnv(platform="heavy", trajectory="waypoints", sensor_noise="realistic")
    clone = pickle.loads(pickle.dumps(env))
    assert clone.platform.name == "heavy" and clone.disturbances[-1].label == "realistic"
    a = _rollout(env, seed=2, n=20)
    b = _rollout(clone, seed=2, n=20)
    np.testing.assert_array_equal(a[-1][2], b[-1][2])
