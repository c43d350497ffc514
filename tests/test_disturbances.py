"""Disturbances: payload, motor degradation, wind, sensor noise; generic bodies; bad input."""

from __future__ import annotations

import json
import math

import mujoco
import numpy as np
import pytest

from neurofit.envs.disturbances import (
    Disturbance,
    MotorDegradation,
    Payload,
    SensorNoise,
    Wind,
    make_disturbance,
    make_disturbances,
)
from neurofit.envs.quadrotor_hover import QuadHoverEnv

STILL = {"init_pos_range_m": 0.0, "init_vel_range_mps": 0.0, "init_tilt_range_rad": 0.0,
         "init_yaw_range_rad": 0.0}  # fmt: skip

ARM_LIKE_XML = """
<mujoco>
  <worldbody>
    <body name="link" pos="0 0 1">
      <joint name="hinge" type="hinge" axis="0 1 0"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.02" mass="1"/>
      <body name="gripper" pos="0.3 0 0">
        <geom type="box" size="0.03 0.03 0.03" mass="0.2"/>
      </body>
    </body>
  </worldbody>
  <actuator>
    <position name="servo" joint="hinge" kp="10"/>
  </actuator>
</mujoco>
"""


def _hover_fixed_thrust(disturbances: list, steps: int = 150) -> dict:
    """Fly at the nominal hover command (no controller) and return the last info."""
    env = QuadHoverEnv(disturbances=disturbances, **STILL)
    env.reset(seed=0)
    a = np.full(4, env.platform.hover_action)
    for _ in range(steps):
        _, _, term, _, info = env.step(a)
        assert not term
    return info


def test_payload_lowers_hover_altitude_under_fixed_thrust() -> None:
    nominal = _hover_fixed_thrust([], steps=100)
    loaded = _hover_fixed_thrust([Payload("quad", 0.3, at_s=0.5)], steps=100)
    assert nominal["qpos"][2] == pytest.approx(1.0, abs=1e-6)
    # 0.5 s after attaching, sinking at g * 0.3 / 1.3: 0.28 m lower
    drop = 0.5 * 9.81 * 0.3 / 1.3 * 0.5**2
    assert nominal["qpos"][2] - loaded["qpos"][2] == pytest.approx(drop, rel=0.05)
    assert loaded["disturbances"][0]["active"] is True
    assert loaded["disturbances"][0]["mass_kg"] == pytest.approx(0.027 * 1.3)


def test_payload_keeps_state_and_restores_at_reset() -> None:
    env = QuadHoverEnv(disturbances=[Payload("quad", 0.5, at_s=0.1)], **STILL)
    env.reset(seed=0)
    bid = mujoco.mj_name2id(env.model, mujoco.mjtObj.mjOBJ_BODY, "quad")
    a = np.full(4, env.platform.hover_action)
    for _ in range(10):
        env.step(a)
    before = env.data.qpos.copy()
    _, _, _, _, info = env.step(a)  # attached at the start of this step (t = 0.1 s)
    assert env.model.body_mass[bid] == pytest.approx(0.027 * 1.5)
    assert env.model.body_subtreemass[bid] == pytest.approx(0.027 * 1.5)  # mj_setConst ran
    np.testing.assert_allclose(env.model.body_inertia[bid], 1.5 * np.array([2.3951e-5, 2.3951e-5,
                                                                           3.2347e-5]))  # fmt: skip
    assert np.linalg.norm(info["qpos"][:3] - before[:3]) < 0.01  # state kept, no jump to qpos0
    env.reset(seed=0)
    assert env.model.body_mass[bid] == pytest.approx(0.027)
    assert env.model.body_subtreemass[bid] == pytest.approx(0.027)


def test_payload_works_on_any_body() -> None:
    m = mujoco.MjModel.from_xml_string(ARM_LIKE_XML)
    d = mujoco.MjData(m)
    rng = np.random.default_rng(0)
    p = Payload(body="gripper", mass_fraction=1.0, at_s=0.0)
    p.reset(m, d, rng)
    p.apply(m, d, 0.0)
    assert m.body("gripper").mass[0] == pytest.approx(0.4)
    assert m.body("link").subtreemass[0] == pytest.approx(1.4)
    p.reset(m, d, rng)
    assert m.body("gripper").mass[0] == pytest.approx(0.2)
    with pytest.raises(ValueError, match=r"body 'hand' not found in the model; bodies: \['link'"):
        Payload(body="hand").reset(m, d, rng)


def test_weak_motor_rolls_pitches_and_yaws() -> None:
    info = _hover_fixed_thrust([MotorDegradation((0,), 0.5, at_s=0.0)], steps=15)
    w = info["qvel"][3:]
    # rotor 1 (front-right, spin -) loses thrust: the body rolls right (+x), pitches nose-down
    # (+y) and its reaction torque no longer balances: it yaws (+z)
    assert w[0] > 0.1 and w[1] > 0.1 and w[2] > 0.01
    assert info["rotor_thrust_n"][0] == pytest.approx(0.5 * info["rotor_thrust_n"][1], rel=1e-6)


def test_motor_degradation_by_name_scales_servo_and_restores() -> None:
    m = mujoco.MjModel.from_xml_string(ARM_LIKE_XML)
    d = mujoco.MjData(m)
    gain, bias = m.actuator_gainprm[0, 0], m.actuator_biasprm[0, 1]
    deg = MotorDegradation(actuators=("servo",), fraction=0.7, at_s=1.0)
    deg.reset(m, d, np.random.default_rng(0))
    deg.apply(m, d, 0.5)
    assert m.actuator_gainprm[0, 0] == gain
    deg.apply(m, d, 1.0)
    assert m.actuator_gainprm[0, 0] == pytest.approx(0.7 * gain)
    assert m.actuator_biasprm[0, 1] == pytest.approx(0.7 * bias)
    deg.reset(m, d, np.random.default_rng(0))
    assert m.actuator_gainprm[0, 0] == gain
    with pytest.raises(ValueError, match=r"index 4 out of range \[0, 0\]"):
        MotorDegradation(actuators=(4,)).reset(m, d, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"actuator 'elbow' not found"):
        MotorDegradation(actuators=("elbow",)).reset(m, d, np.random.default_rng(0))


def test_wind_pushes_downwind() -> None:
    info = _hover_fixed_thrust([Wind("quad", mean_mps=(3.0, 0.0, 0.0))], steps=100)
    assert info["qvel"][0] > 0.1 and info["qpos"][0] > 0.03
    assert abs(info["qpos"][1]) < 1e-3 * info["qpos"][0] + 1e-9
    force = info["disturbances"][0]["force_n"]
    assert force[0] > 0.0
    # drag toward the air velocity: k = m / 5 s, the body moving downwind feels less
    assert force[0] < 0.027 / 5.0 * 3.0


def test_wind_starts_on_schedule_and_winds_add_up() -> None:
    env = QuadHoverEnv(disturbances=[Wind("quad", (1.0, 0, 0), start_s=0.05),
                                     Wind("quad", (0, 2.0, 0), start_s=0.05)],
                       **STILL)  # fmt: skip
    env.reset(seed=0)
    a = np.full(4, env.platform.hover_action)
    _, _, _, _, info = env.step(a)
    assert not info["disturbances"][0]["active"]
    np.testing.assert_array_equal(env.data.xfrc_applied[1], 0.0)
    for _ in range(6):
        _, _, _, _, info = env.step(a)
    f1, f2 = (np.array(d["force_n"]) for d in info["disturbances"])
    assert f1[0] > 0 and f2[1] > 0
    np.testing.assert_allclose(env.data.xfrc_applied[1, :3], f1 + f2)


def test_wind_gusts_are_seeded_and_have_their_std() -> None:
    m = mujoco.MjModel.from_xml_string(ARM_LIKE_XML)
    d = mujoco.MjData(m)

    def gusts(seed: int) -> np.ndarray:
        w = Wind("gripper", mean_mps=(0, 0, 0), gust_std_mps=2.0, gust_tau_s=0.05)
        w.reset(m, d, np.random.default_rng(seed))
        out = []
        for k in range(1, 4001):
            w.apply(m, d, k * 0.01)
            out.append(w.describe()["air_velocity_mps"])
        return np.array(out)

    a, b, c = gusts(1), gusts(1), gusts(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.std(axis=0) == pytest.approx([2.0] * 3, rel=0.15)
    lag1 = np.corrcoef(a[:-1, 0], a[1:, 0])[0, 1]
    assert lag1 == pytest.approx(math.exp(-0.01 / 0.05), abs=0.05)


def test_sensor_noise_std_and_schedule() -> None:
    noise = SensorNoise(std=(0.1, 0.0, 1.0), start_s=1.0, stop_s=2.0)
    m = mujoco.MjModel.from_xml_string(ARM_LIKE_XML)
    d = mujoco.MjData(m)
    rng = np.random.default_rng(0)
    noise.reset(m, d, rng)
    np.testing.assert_array_equal(noise.observe(np.zeros(3), rng), 0.0)  # not active yet
    noise.apply(m, d, 1.5)
    samples = np.array([noise.observe(np.zeros(3), rng) for _ in range(4000)])
    assert samples.std(axis=0) == pytest.approx([0.1, 0.0, 1.0], abs=0.05)
    noise.apply(m, d, 2.0)
    np.testing.assert_array_equal(noise.observe(np.ones(3), rng), 1.0)
    with pytest.raises(ValueError, match=r"SensorNoise\.std has 3 elements, observation has 4"):
        noise.apply(m, d, 1.5)
        noise.observe(np.zeros(4), rng)


def test_realistic_noise_preset_changes_obs_not_state() -> None:
    env = QuadHoverEnv(sensor_noise="realistic", **STILL)
    obs, info = env.reset(seed=0)
    assert np.abs(obs[:3] - (info["target_pos"] - info["qpos"][:3])).max() > 1e-4
    assert info["disturbances"][-1]["label"] == "realistic"


def test_describe_is_json_and_round_trips() -> None:
    items = [
        Wind("quad", (1.0, 0.5, 0.0), gust_std_mps=0.5),
        Payload("quad", 0.3, 2.0),
        MotorDegradation((0, "rotor2"), 0.7, 2.0),
        SensorNoise(std=(0.1, 0.2)),
    ]
    for d in items:
        desc = json.loads(json.dumps(d.describe()))
        rebuilt = make_disturbance(desc)
        assert type(rebuilt) is type(d)
        assert rebuilt.describe() == d.describe()
    assert items[0].describe()["stop_s"] is None  # inf is written as None


def test_make_disturbances_gives_fresh_objects() -> None:
    p = Payload("quad", 0.3, 0.0)
    env = QuadHoverEnv(disturbances=[p], **STILL)
    env.reset(seed=0)
    env.step(np.zeros(4))
    assert env.disturbances[0] is not p and env.disturbances[0]._active
    assert not p._active
    assert make_disturbances(None) == []
    with pytest.raises(TypeError, match="a list of disturbances"):
        make_disturbances(p)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a Disturbance or a dict"):
        make_disturbances([3])  # type: ignore[list-item]
    assert isinstance(p, Disturbance)


@pytest.mark.parametrize(
    ("factory", "message"),
    [
        (lambda: Payload(mass_fraction=-2.0), r"Payload.mass_fraction must be in \[-0.99, 100"),
        (lambda: Payload(at_s=-1.0), r"Payload.at_s must be in \[0.0, inf\]"),
        (lambda: MotorDegradation(fraction=1.5), r"MotorDegradation.fraction must be in \[0.0, 1"),
        (lambda: MotorDegradation(actuators=()), r"must name at least one actuator"),
        (lambda: Wind(mean_mps=(1, 2)), r"Wind.mean_mps must be 3 finite numbers"),
        (lambda: Wind(gust_std_mps=-1.0), r"Wind.gust_std_mps must be in \[0.0, 100.0\]"),
        (lambda: Wind(start_s=2.0, stop_s=1.0), r"Wind.stop_s must be > start_s=2.0"),
        (lambda: SensorNoise(std=-0.1), r"SensorNoise.std must be finite and >= 0"),
        (lambda: make_disturbance({"type": "Payload", "mass": 1}), r"bad fields for .*Payload"),
    ],
)
def test_bad_values_name_the_field(factory: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        factory()  # type: ignore[operator]
