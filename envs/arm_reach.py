"""``neurofit/ArmReach-v0``: a torque-controlled 4-joint service arm reaching Cartesian targets.

## Description
The arm of ``envs/assets/arm.xml`` (base yaw, shoulder, elbow and wrist pitch; Dynamixel
XM540-class servos) must bring its end-effector site ``ee`` onto a sequence of Cartesian
targets. A new target appears every ``target_period_s`` seconds; after ``n_targets`` targets
the sequence starts again. A payload body is welded at the end effector; its mass is
``payload_mass_kg`` at reset and disturbances (e.g. :class:`~neurofit.envs.disturbances.Payload`)
may change it during the episode.

## Action space
``Box(-1, 1, (4,), float32)``. Element ``j`` is the torque of joint ``j`` as a fraction of that
joint's torque limit (the actuator ``ctrlrange``, which is the servo's stall torque at 12 V):
``torque_j = action_j * torque_limit_nm[j]`` with
``torque_limit_nm = (7.3, 10.6, 10.6, 7.3)`` N m for (base yaw, shoulder, elbow, wrist).
Out-of-range actions are clipped to [-1, 1] and flagged in ``info["action_clipped"]``;
NaN or infinite actions raise ``ValueError`` naming the element.

## Observation space
``Box(-inf, inf, (14,), float64)``, in order (see :attr:`ArmReachEnv.OBS_SLICES`):

| idx    | content                                          | unit  |
|--------|--------------------------------------------------|-------|
| 0-3    | joint angles ``qpos`` (base, shoulder, elbow, wrist) | rad |
| 4-7    | joint velocities ``qvel``                        | rad/s |
| 8-10   | end-effector error ``target - ee`` (world frame) | m     |
| 11-13  | current target position (world frame)            | m     |

A :class:`~neurofit.envs.disturbances.SensorNoise` disturbance acts on the observation (and so
on ``info["error"]``, which is read from it); the true state is in ``info``.

## Rewards
``reward = reward_dist + reward_ctrl + reward_energy`` with

- ``reward_dist = -reward_dist_weight * ||target - ee||`` (m),
- ``reward_ctrl = -reward_control_weight * ||action||^2``,
- ``reward_energy = -reward_energy_weight * E_step`` where ``E_step`` is the electrical
  energy (J) drawn by the joint motors during this step (see :mod:`neurofit.envs.joint_power`).

## Info
Every step (and reset) returns new objects under these keys:

- ``reward_dist``, ``reward_ctrl``, ``reward_energy``: the reward terms (0 at reset).
- ``error``: Cartesian end-effector error ``target - ee`` (3-vector, world frame, metres): the
  direction the end effector has to move, as sensed (the same numbers as ``obs[8:11]``); the
  true error is ``info["target"] - info["ee_pos"]``.
- ``tracking_error_m``: the true distance ``||target - ee||`` (m) that every report's RMS
  tracking error is made of (:mod:`neurofit.envs.tracking`); NaN after an unstable step.
- ``power_w``: step-average electrical power of the joint motors (W), with its parts
  ``power_copper_w`` and ``power_mech_w``; ``energy_j``: cumulative energy since reset (J).
- ``qpos``, ``qvel``: copies of the MuJoCo state after the step (exact replay), ``time_s``.
- ``ee_pos``, ``target``, ``target_index``, ``action_clipped``, ``torque_nm``.
- ``disturbances``: list of ``describe()`` dicts of the active disturbances.
- ``termination_reason``: ``""`` normally; ``"nan_state"`` (non-finite state) or
  ``"mujoco_warning"`` (MuJoCo flagged a bad qpos/qvel/qacc and reset its data) when the
  simulation went numerically unstable.

## Episode end
Terminates only on a numerically unstable simulation (then the previous observation is
returned again, with reward 0 and no power). The time limit comes from registration:
``ArmReach-v0`` runs ``n_targets * target_period_s / dt`` = 800 steps (8 s at ``dt = 0.01`` s).
Target ``k`` is the target for simulated times ``t`` in ``[k, k + 1) * target_period_s``
(modulo ``n_targets``); observation and reward after a step use the target of the new time.

## Starting state
``qpos = HOME_QPOS + U(-reset_noise_scale, reset_noise_scale)``, ``qvel = 0``. Targets are drawn
uniformly in a cylindrical sector: horizontal radius ``target_radius_m``, height
``target_height_m``, azimuth ``target_azimuth_rad``, all from the env's seeded ``np_random``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from neurofit.envs.disturbances import Disturbance, make_disturbances
from neurofit.envs.joint_power import XM540_W150, XM540_W270, JointMotor, JointPowerModel
from neurofit.neuromorphic._jit import njit

__all__ = [
    "ARM_XML",
    "HOME_QPOS",
    "JOINT_MOTORS",
    "NOMINAL_PAYLOAD_KG",
    "ArmReachEnv",
    "load_arm_model",
    "set_body_mass",
]

ARM_XML = Path(__file__).parent / "assets" / "arm.xml"
#: Nominal payload mass in arm.xml (ESTIMATE: a small service-robot load).
NOMINAL_PAYLOAD_KG = 0.2
#: Rest pose, elbow down, end effector at about (0.33, 0, 0.14) m.
HOME_QPOS = np.array([0.0, 1.0, -1.8, 0.8])
#: Servo per joint (base yaw, shoulder, elbow, wrist); torque limits in arm.xml match them.
JOINT_MOTORS: tuple[JointMotor, ...] = (XM540_W150, XM540_W270, XM540_W270, XM540_W150)

# Allowed ranges for keyword validation.
_SHOULDER_Z_M = 0.10  # height of the shoulder axis above the base (arm.xml)
_MAX_TARGET_DIST_M = 0.44  # from the shoulder; 92% of the 0.48 m reach, away from singularity
_BAD_WARNINGS = ("BADQACC", "BADQPOS", "BADQVEL", "BADCTRL")


def load_arm_model(
    xml_file: str | Path = ARM_XML, payload_mass_kg: float = NOMINAL_PAYLOAD_KG
) -> mujoco.MjModel:
    """Load the arm model with the payload set to ``payload_mass_kg`` (kg)."""
    model = mujoco.MjModel.from_xml_path(str(xml_file))
    set_body_mass(model, "payload", payload_mass_kg)
    mujoco.mj_setConst(model, mujoco.MjData(model))  # derived constants (subtree masses ...)
    return model


def set_body_mass(model: mujoco.MjModel, body: str, mass_kg: float) -> None:
    """Set a body's mass, scaling its inertia by the same ratio (shape kept, density scaled).

    Derived constants (``body_subtreemass`` ...) are not updated: call ``mujoco.mj_setConst``.
    """
    if not (np.isfinite(mass_kg) and mass_kg > 0.0):
        raise ValueError(f"mass_kg must be finite and > 0, got {mass_kg!r}")
    bid = model.body(body).id
    ratio = mass_kg / model.body_mass[bid]
    model.body_mass[bid] = mass_kg
    model.body_inertia[bid] *= ratio


def _check_range(name: str, value: Sequence[float], lo: float, hi: float) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a pair (low, high) within [{lo}, {hi}], got {value!r}"
        ) from None
    if not (lo <= a <= b <= hi):
        raise ValueError(f"{name} must satisfy {lo} <= low <= high <= {hi}, got {value!r}")
    return a, b


def _check_scalar(name: str, value: float, lo: float, hi: float, lo_open: bool = False) -> float:
    v = float(value)
    ok = (lo < v if lo_open else lo <= v) and v <= hi and np.isfinite(v)
    if not ok:
        bracket = "(" if lo_open else "["
        raise ValueError(f"{name} must be in {bracket}{lo}, {hi}], got {value!r}")
    return v


class ArmReachEnv(gym.Env[np.ndarray, np.ndarray]):
    """Torque-controlled 4-joint arm reaching a sequence of Cartesian targets.

    See the module docstring for spaces, rewards and ``info`` keys.

    Args:
        xml_file: MJCF model; must keep the joint, actuator, site and body names of arm.xml.
        frame_skip: MuJoCo steps (2 ms each) per env step; ``dt = 0.002 * frame_skip``.
        n_targets: Number of distinct targets drawn at reset, visited in turn.
        target_period_s: Seconds each target is held before the next one appears.
        target_radius_m: Horizontal distance of targets from the base axis, (low, high).
        target_height_m: Height of targets above the floor, (low, high).
        target_azimuth_rad: Azimuth of targets around the base axis, (low, high).
        reward_dist_weight: Weight of the distance term.
        reward_control_weight: Weight of the squared-action term.
        reward_energy_weight: Weight of the motor-energy term (per joule).
        reset_noise_scale: Half-width of the uniform joint-angle noise at reset (rad).
        payload_mass_kg: Payload mass at reset (kg).
        disturbances: Disturbance objects or their dicts (see
            :mod:`neurofit.envs.disturbances`; e.g. ``Payload("payload", 1.0, at_s=1.0)``
            doubles the payload at t = 1 s), applied in order and reset with the env's
            ``np_random``. The env works on its own copies.
        allow_regeneration: Credit negative mechanical power back to the supply.
        render_mode: ``None`` or ``"rgb_array"``.
        width: Rendered image width (pixels).
        height: Rendered image height (pixels).
        camera_name: Camera of the model used for rendering.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 100}

    #: Observation layout: name -> slice of the observation vector.
    OBS_SLICES: ClassVar[dict[str, slice]] = {
        "qpos": slice(0, 4),
        "qvel": slice(4, 8),
        "error": slice(8, 11),
        "target": slice(11, 14),
    }

    def __init__(
        self,
        xml_file: str = str(ARM_XML),
        frame_skip: int = 5,
        n_targets: int = 4,
        target_period_s: float = 2.0,
        target_radius_m: tuple[float, float] = (0.18, 0.34),
        target_height_m: tuple[float, float] = (0.05, 0.30),
        target_azimuth_rad: tuple[float, float] = (-1.2, 1.2),
        reward_dist_weight: float = 1.0,
        reward_control_weight: float = 0.01,
        reward_energy_weight: float = 0.1,
        reset_noise_scale: float = 0.02,
        payload_mass_kg: float = NOMINAL_PAYLOAD_KG,
        disturbances: Sequence[Disturbance | Mapping[str, Any]] | None = None,
        allow_regeneration: bool = False,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
        camera_name: str = "side",
    ) -> None:
        if not isinstance(frame_skip, (int, np.integer)) or not 1 <= frame_skip <= 1000:
            raise ValueError(f"frame_skip must be an integer in [1, 1000], got {frame_skip!r}")
        if not isinstance(n_targets, (int, np.integer)) or not 1 <= n_targets <= 1000:
            raise ValueError(f"n_targets must be an integer in [1, 1000], got {n_targets!r}")
        self._xml_file = str(xml_file)
        self._frame_skip = int(frame_skip)
        self._n_targets = int(n_targets)
        self._target_period_s = _check_scalar("target_period_s", target_period_s, 0.0, 3600.0,
                                              lo_open=True)
        self._target_radius_m = _check_range("target_radius_m", target_radius_m, 0.05, 0.44)
        self._target_height_m = _check_range("target_height_m", target_height_m, 0.0, 0.54)
        self._target_azimuth_rad = _check_range("target_azimuth_rad", target_azimuth_rad,
                                                -2.96, 2.96)
        r_hi = self._target_radius_m[1]
        dz = max(abs(h - _SHOULDER_Z_M) for h in self._target_height_m)
        if np.hypot(r_hi, dz) > _MAX_TARGET_DIST_M:
            raise ValueError(
                "target_radius_m and target_height_m reach beyond the arm: the farthest target "
                f"must lie within {_MAX_TARGET_DIST_M} m of the shoulder (at z = "
                f"{_SHOULDER_Z_M} m), got {np.hypot(r_hi, dz):.3f} m"
            )
        self._reward_dist_weight = _check_scalar("reward_dist_weight", reward_dist_weight,
                                                 0.0, 1e6)
        self._reward_control_weight = _check_scalar("reward_control_weight",
                                                    reward_control_weight, 0.0, 1e6)
        self._reward_energy_weight = _check_scalar("reward_energy_weight", reward_energy_weight,
                                                   0.0, 1e6)
        self._reset_noise_scale = _check_scalar("reset_noise_scale", reset_noise_scale, 0.0, 0.5)
        self._payload_mass_kg = _check_scalar("payload_mass_kg", payload_mass_kg, 0.0, 2.0,
                                              lo_open=True)
        # fresh copies: disturbances hold per-episode state, so each env owns its own
        self._disturbances = tuple(make_disturbances(disturbances))
        self._allow_regeneration = bool(allow_regeneration)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.render_mode = render_mode
        for name, value in (("width", width), ("height", height)):
            if not isinstance(value, (int, np.integer)) or not 16 <= value <= 4096:
                raise ValueError(f"{name} must be an integer in [16, 4096], got {value!r}")
        self._width = int(width)
        self._height = int(height)
        self._camera_name = str(camera_name)

        self.model = load_arm_model(self._xml_file, self._payload_mass_kg)
        self.data = mujoco.MjData(self.model)
        if mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, self._camera_name) < 0:
            raise ValueError(f"camera_name {self._camera_name!r} is not a camera of the model")
        self._n = self.model.nu
        self._torque_limit_nm = self.model.actuator_ctrlrange[:, 1].copy()
        self._ee_site = self.model.site("ee").id
        self._target_site = self.model.site("target").id
        self._power = JointPowerModel(JOINT_MOTORS, allow_regeneration=self._allow_regeneration)
        self._bad_warning_idx = np.array(
            [int(getattr(mujoco.mjtWarning, f"mjWARN_{w}")) for w in _BAD_WARNINGS]
        )

        self.dt = self.model.opt.timestep * self._frame_skip
        self.metadata = {**self.metadata, "render_fps": round(1.0 / self.dt)}
        self.action_space = spaces.Box(-1.0, 1.0, shape=(self._n,), dtype=np.float32)
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(14,), dtype=np.float64)

        # cached views into MjData (valid for the life of self.data)
        self._qpos = self.data.qpos
        self._qvel = self.data.qvel
        self._ctrl = self.data.ctrl
        self._actuator_force = self.data.actuator_force
        self._ee = self.data.site_xpos[self._ee_site]
        self._q_before = np.zeros(self.model.nq)
        self._target = np.zeros(3)
        self._targets = np.zeros((self._n_targets, 3))
        self._target_index = 0
        self._energy_j = 0.0
        self._warn_counts = self.data.warning.number.copy()
        self._last_obs = np.zeros(14)
        self._renderer: mujoco.Renderer | None = None

    # ------------------------------------------------------------------ properties
    @property
    def torque_limit_nm(self) -> np.ndarray:
        """Torque limit per joint (N m); ``torque = action * torque_limit_nm``."""
        return self._torque_limit_nm.copy()

    @property
    def targets(self) -> np.ndarray:
        """The episode's target sequence, shape ``(n_targets, 3)`` (m)."""
        return self._targets.copy()

    @property
    def ee_pos(self) -> np.ndarray:
        """Current end-effector position (m, world frame)."""
        return self.data.site_xpos[self._ee_site].copy()

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset the arm near its home pose and draw a new target sequence."""
        super().reset(seed=seed)
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        rng = self.np_random
        d.qpos[:] = HOME_QPOS + rng.uniform(
            -self._reset_noise_scale, self._reset_noise_scale, size=m.nq
        )
        self._targets = self._sample_targets(rng)
        self._set_target(0)
        mujoco.mj_forward(m, d)
        for dist in self._disturbances:
            dist.reset(m, d, rng)
        self._energy_j = 0.0
        self._warn_counts = d.warning.number.copy()
        obs = self._get_obs()
        self._last_obs = obs
        zero_terms = {"reward_dist": 0.0, "reward_ctrl": 0.0, "reward_energy": 0.0}
        info = self._get_info(obs, zero_terms, (0.0, 0.0, 0.0), np.zeros(self._n), False, "")
        return obs.copy(), info

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Apply joint torques ``action * torque_limit_nm`` for ``frame_skip`` MuJoCo steps."""
        a = np.asarray(action, dtype=np.float64)
        if a.shape != self.action_space.shape:
            raise ValueError(f"action must have shape ({self._n},), got {a.shape}")
        code = _set_ctrl(a, self._torque_limit_nm, self._ctrl)
        if code >= 0:
            raise ValueError(
                f"action[{code}] is {a[code]} (joint {self.model.joint(code).name}); "
                "actions must be finite, in [-1, 1]"
            )
        clipped = code == _CLIPPED
        m, d = self.model, self.data
        for dist in self._disturbances:
            dist.apply(m, d, d.time)
        self._q_before[:] = self._qpos
        mujoco.mj_step(m, d, nstep=self._frame_skip)
        mujoco.mj_kinematics(m, d)  # site positions consistent with the new qpos
        k = int(d.time / self._target_period_s + 1e-9) % self._n_targets
        if k != self._target_index:  # the target of the new time, as obs and reward see it
            self._set_target(k)

        reason = self._instability()
        if reason:  # the state is not trustworthy: no power, no reward, last observation
            torque = np.zeros(self._n)
            power = (0.0, 0.0, 0.0)
            obs = self._last_obs
            reward, terms = 0.0, {"reward_dist": 0.0, "reward_ctrl": 0.0, "reward_energy": 0.0}
        else:
            torque = self._actuator_force.copy()
            power = self._power.step_power_w(torque, self._qpos - self._q_before, self.dt)
            obs = self._get_obs()
            self._energy_j += power[0] * self.dt
            reward, terms = self._get_rew(np.clip(a, -1.0, 1.0) if clipped else a,
                                          power[0] * self.dt)
        self._last_obs = obs
        info = self._get_info(obs, terms, power, torque, clipped, reason)
        return obs.copy(), reward, bool(reason), False, info

    def render(self) -> np.ndarray | None:  # type: ignore[override]
        """An RGB frame ``(height, width, 3)`` uint8 from ``camera_name`` (None without a
        render_mode)."""
        if self.render_mode is None:
            return None
        if self._renderer is None:
            vis = self.model.vis.global_
            vis.offwidth = max(vis.offwidth, self._width)
            vis.offheight = max(vis.offheight, self._height)
            self._renderer = mujoco.Renderer(self.model, self._height, self._width)
        self._renderer.update_scene(self.data, camera=self._camera_name)
        return self._renderer.render()

    def close(self) -> None:
        """Release the renderer (safe to call twice)."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # ------------------------------------------------------------------ named steps
    def _get_obs(self) -> np.ndarray:
        obs = np.concatenate((self._qpos, self._qvel, self._target - self._ee, self._target))
        for dist in self._disturbances:
            obs = dist.observe(obs, self.np_random)
        return obs

    def _get_rew(self, action: np.ndarray, energy_step_j: float) -> tuple[float, dict[str, float]]:
        dist, ctrl = _dist_and_ctrl(self._target, self._ee, action)
        terms = {
            "reward_dist": -self._reward_dist_weight * dist,
            "reward_ctrl": -self._reward_control_weight * ctrl,
            "reward_energy": -self._reward_energy_weight * energy_step_j,
        }
        return terms["reward_dist"] + terms["reward_ctrl"] + terms["reward_energy"], terms

    def _get_info(
        self,
        obs: np.ndarray,
        terms: dict[str, float],
        power: tuple[float, float, float],
        torque: np.ndarray,
        clipped: bool,
        reason: str,
    ) -> dict[str, Any]:
        return {
            **terms,
            "error": obs[self.OBS_SLICES["error"]].copy(),
            "tracking_error_m": _distance(self._target, self._ee) if not reason else math.nan,
            "power_w": power[0],
            "power_copper_w": power[1],
            "power_mech_w": power[2],
            "energy_j": self._energy_j,
            "qpos": self._qpos.copy(),
            "qvel": self._qvel.copy(),
            "time_s": float(self.data.time),
            "ee_pos": self._ee.copy(),
            "target": self._target.copy(),
            "target_index": self._target_index,
            "torque_nm": torque,
            "action_clipped": clipped,
            "disturbances": [dist.describe() for dist in self._disturbances],
            "termination_reason": reason,
        }

    # ------------------------------------------------------------------ helpers
    def _sample_targets(self, rng: np.random.Generator) -> np.ndarray:
        n = self._n_targets
        r = rng.uniform(*self._target_radius_m, size=n)
        z = rng.uniform(*self._target_height_m, size=n)
        phi = rng.uniform(*self._target_azimuth_rad, size=n)
        return np.stack((r * np.cos(phi), r * np.sin(phi), z), axis=1)

    def _set_target(self, k: int) -> None:
        self._target_index = k
        self._target[:] = self._targets[k]
        self.model.site_pos[self._target_site] = self._target

    def _instability(self) -> str:
        counts = self.data.warning.number
        i = _first_increase(counts, self._warn_counts, self._bad_warning_idx)
        if i >= 0:
            self._warn_counts = counts
            return "mujoco_warning"
        if not _all_finite(self._qpos, self._qvel):
            return "nan_state"
        return ""


_CLIPPED = -2  # return code of _set_ctrl when an element was clipped (-1: nothing to report)


@njit
def _set_ctrl(action: np.ndarray, torque_limit: np.ndarray, ctrl: np.ndarray) -> int:
    """Write ``clip(action, -1, 1) * torque_limit`` into ``ctrl``.

    Returns the index of the first non-finite element (ctrl untouched), else ``_CLIPPED`` (-2)
    if some element was clipped, else -1.
    """
    n = action.shape[0]
    for j in range(n):
        if not np.isfinite(action[j]):
            return j
    code = -1
    for j in range(n):
        a = action[j]
        if a > 1.0:
            a = 1.0
            code = -2
        elif a < -1.0:
            a = -1.0
            code = -2
        ctrl[j] = a * torque_limit[j]
    return code


@njit
def _dist_and_ctrl(target: np.ndarray, ee: np.ndarray, action: np.ndarray) -> tuple[float, float]:
    """``(||target - ee||, ||action||^2)``."""
    s = 0.0
    for i in range(target.shape[0]):
        e = target[i] - ee[i]
        s += e * e
    c = 0.0
    for j in range(action.shape[0]):
        c += action[j] * action[j]
    return np.sqrt(s), c


@njit
def _distance(a: np.ndarray, b: np.ndarray) -> float:
    """``||a - b||`` of two 3-vectors."""
    d0, d1, d2 = a[0] - b[0], a[1] - b[1], a[2] - b[2]
    return np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)


@njit
def _first_increase(counts: np.ndarray, before: np.ndarray, idx: np.ndarray) -> int:
    """First ``i`` in ``idx`` with ``counts[i] > before[i]``, else -1."""
    for i in idx:
        if counts[i] > before[i]:
            return i
    return -1


@njit
def _all_finite(x: np.ndarray, y: np.ndarray) -> bool:
    """True if every element of ``x`` and ``y`` is finite."""
    for i in range(x.shape[0]):
        if not np.isfinite(x[i]):
            return False
    for i in range(y.shape[0]):
        if not np.isfinite(y[i]):
            return False
    return True
