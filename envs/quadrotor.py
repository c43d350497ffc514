"""Quadrotor env base: model, step, observation, reward terms, power, termination, rendering.

:class:`QuadrotorEnv` is the physics-and-plumbing half shared by the tasks
:class:`~neurofit.envs.quadrotor_hover.QuadHoverEnv` and
:class:`~neurofit.envs.quadrotor_track.QuadTrackEnv`; a task only says where the target is at
time ``t`` (``_set_target``). It subclasses ``gymnasium.Env`` directly (MuJoCo's own
``MujocoEnv`` costs more per step than the whole physics of this small model).

Action (4,), float32 in [-1, 1]: normalised rotor commands, rotor order as in
:mod:`neurofit.envs.quadrotor_platform`. ``a -> thrust set-point (a + 1) / 2 * max_thrust_n``
(-1 = motor off, +1 = maximum thrust, linear in thrust); the actual thrust follows the set-point
with a first-order motor lag (``motor_tau_s``). Out-of-range actions are clipped and flagged in
``info["action_clipped"]``; a NaN/inf element raises ``ValueError`` naming it.

Observation (18,), float64 (noisy if a :class:`~neurofit.envs.disturbances.SensorNoise` is
active; bounds +-100 m, +-1.5, +-100 m/s, +-1000 rad/s)::

    [0:3]   p_target - p           position error, world frame [m]
    [3:12]  R (row-major)          body-to-world rotation matrix
    [12:15] v_target - v           velocity error, world frame [m/s]
    [15:18] omega                  body angular rates, body frame [rad/s]

``info["error"]`` is the 6-vector ``[p_target - p, v_target - v]`` (world frame, as sensed: the
same numbers as ``obs[0:3]`` and ``obs[12:15]``), the error a controller drives to zero. The true
state is in ``info["qpos"]`` / ``info["qvel"]``; ``info["tracking_error_m"]`` is the true
distance ``|p_target - p|`` that every report's RMS tracking error is made of
(:mod:`neurofit.envs.tracking`). Every ``info`` key:

    reward_alive, reward_position, reward_velocity, reward_attitude, reward_rate,
    reward_energy, reward_crash    reward terms; ``reward`` is their sum
    error          (6,) see above
    tracking_error_m  true distance from the target position to the body origin [m] (NaN
                   after a "nan_state" / "unstable_sim" step)
    power_w        electrical power of the rotors (envs/power.py) at their actual thrusts
    energy_j       rotor energy since reset (sum of power_w * dt)
    rotor_thrust_n (4,) actual rotor thrusts [N] (motor-lagged, degradation included) as
                   applied during the step's last physics substep (``data.actuator_force``)
    qpos, qvel     copies of the MuJoCo state (free joint: xyz, quaternion wxyz / v, omega_body)
    time_s         simulated time
    target_pos     (3,) target position
    action_clipped whether the action was clipped into [-1, 1]
    disturbances   list of ``describe()`` dicts
    termination_reason  "" or one of: "floor_crash" (floor contact faster than
                   ``crash_speed_mps``), "tilt" (beyond ``max_tilt_rad``), "left_arena",
                   "nan_state" (NaN/inf in the state), "unstable_sim" (a state value beyond
                   1e10, MuJoCo's own instability threshold; MuJoCo's automatic reset is
                   disabled so a diverging run is reported, never silently restarted)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium import spaces

from neurofit.envs import _quadrotor_kernels as K
from neurofit.envs.disturbances import Disturbance, Payload, SensorNoise, make_disturbances
from neurofit.envs.quadrotor_platform import QuadrotorPlatform, get_platform

__all__ = [
    "OBS_POS_ERR",
    "OBS_RATE",
    "OBS_ROT",
    "OBS_VEL_ERR",
    "REALISTIC_SENSOR_NOISE_STD",
    "QuadrotorEnv",
    "realistic_sensor_noise",
]

OBS_POS_ERR = slice(0, 3)
OBS_ROT = slice(3, 12)
OBS_VEL_ERR = slice(12, 15)
OBS_RATE = slice(15, 18)
OBS_SIZE = 18
_ERROR_INDEX = np.array([0, 1, 2, 12, 13, 14])
# finite bounds, far outside any flight that has not terminated (rotation entries leave room for
# sensor noise); after a NaN/unstable step the previous observation is returned
_OBS_HIGH = np.array([100.0] * 3 + [1.5] * 9 + [100.0] * 3 + [1000.0] * 3)

#: Per-element std of the "realistic" sensor-noise preset (ALL ESTIMATES of an onboard state
#: estimate's jitter at 100 Hz): position 1 cm (Lighthouse / UWB-class positioning), rotation
#: matrix elements 0.01 (~0.6 deg), velocity 0.03 m/s (EKF estimate), body rates 0.02 rad/s
#: (MEMS gyro white noise ~0.014 deg/s/sqrt(Hz) per its datasheet plus frame vibration).
REALISTIC_SENSOR_NOISE_STD: tuple[float, ...] = (
    (0.01,) * 3 + (0.01,) * 9 + (0.03,) * 3 + (0.02,) * 3
)

SENSOR_NOISE_PRESETS = ("none", "realistic")
TERMINATION_REASONS = {
    K.TERM_NONE: "",
    K.TERM_NAN: "nan_state",
    K.TERM_FLOOR: "floor_crash",
    K.TERM_TILT: "tilt",
    K.TERM_ARENA: "left_arena",
    K.TERM_UNSTABLE: "unstable_sim",
}
_CRASH_CODES = (K.TERM_FLOOR, K.TERM_TILT, K.TERM_ARENA)
_UNSTABLE_CODES = (K.TERM_NAN, K.TERM_UNSTABLE)
_T_SPEED, _T_POWER_W, _T_TRACKING_M = K.T_SPEED, K.T_POWER_W, K.T_TRACKING_M
assert (K.T_ALIVE, K.T_POS, K.T_VEL, K.T_ATT, K.T_RATE, K.T_ENERGY) == (0, 1, 2, 3, 4, 5)


#: the ``"fixed"`` camera looks down on the target region at this angle
_CAMERA_ELEVATION_RAD = 0.3


def _nice_length(x: float) -> float:
    """``x`` rounded to 1, 2 or 5 times a power of ten (a scale division)."""
    base = 10.0 ** math.floor(math.log10(x))
    return min((k * base for k in (1.0, 2.0, 5.0, 10.0)), key=lambda v: abs(math.log(v / x)))


def realistic_sensor_noise() -> SensorNoise:
    """The realistic quadrotor sensor-noise preset (:data:`REALISTIC_SENSOR_NOISE_STD`)."""
    return SensorNoise(std=REALISTIC_SENSOR_NOISE_STD, label="realistic")


def _check(name: str, value: float, lo: float, hi: float, *, lo_open: bool = False) -> float:
    """Return ``float(value)`` or raise a ValueError naming the field and its allowed range."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    ok = (v > lo if lo_open else v >= lo) and v <= hi
    if not ok or math.isnan(v):
        left = "(" if lo_open else "["
        raise ValueError(f"{name} must be in {left}{lo}, {hi}], got {value!r}")
    return v


def _check_vec3(name: str, value: Iterable[float]) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be 3 finite numbers (x, y, z) in metres, got {value!r}")
    return arr


class QuadrotorEnv(gym.Env[np.ndarray, np.ndarray]):
    """Base class of the quadrotor tasks (see the module docstring for spaces and ``info``).

    Args:
        platform: ``"micro"`` (Crazyflie 2.x class) or ``"heavy"`` (Skydio X2 class).
        frame_skip: physics steps per control step (control period = frame_skip * timestep_s).
        timestep_s: physics time step.
        motor_tau_s: motor time constant; None = the platform's.
        disturbances: disturbance objects or dicts (see :mod:`neurofit.envs.disturbances`).
        sensor_noise: ``"none"`` or ``"realistic"`` (:func:`realistic_sensor_noise`).
        alive_reward: reward per step while flying.
        position_cost_weight: weight of |position error| [1/m].
        velocity_cost_weight: weight of |velocity error| [s/m].
        attitude_cost_weight: weight of the rotation angle from level, yaw 0 [1/rad].
        rate_cost_weight: weight of |body rates| [s/rad].
        energy_cost_weight: weight of rotor power over hover power.
        crash_cost: penalty on a crash termination (floor, tilt, arena).
        max_tilt_rad: tilt (angle of body z from vertical) that ends the episode.
        crash_speed_mps: floor contact faster than this ends the episode.
        arena_half_width_m: |x| or |y| beyond this ends the episode; None = platform's.
        arena_ceiling_m: height above this ends the episode; None = platform's.
        init_pos_range_m: initial position offset, uniform per axis in +-range.
        init_vel_range_mps: initial velocity, uniform per axis in +-range.
        init_tilt_range_rad: initial roll and pitch, uniform in +-range.
        init_yaw_range_rad: initial yaw, uniform in +-range.
        render_mode: None or ``"rgb_array"``.
        width: rendered image width (<= 640).
        height: rendered image height (<= 480).
        camera: MJCF camera name: ``"fixed"`` (a world camera aimed at the task's target region
            at each reset, still during the episode: a sag shows against the scene) or
            ``"track"`` (follows the vehicle).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 100}

    def __init__(
        self,
        platform: str = "micro",
        frame_skip: int = 5,
        timestep_s: float = 0.002,
        motor_tau_s: float | None = None,
        disturbances: Iterable[Disturbance | Mapping[str, Any]] | None = None,
        sensor_noise: str = "none",
        alive_reward: float = 1.0,
        position_cost_weight: float = 1.0,
        velocity_cost_weight: float = 0.1,
        attitude_cost_weight: float = 0.2,
        rate_cost_weight: float = 0.02,
        energy_cost_weight: float = 0.1,
        crash_cost: float = 0.0,
        max_tilt_rad: float = 1.2,
        crash_speed_mps: float = 1.0,
        arena_half_width_m: float | None = None,
        arena_ceiling_m: float | None = None,
        init_pos_range_m: float = 0.2,
        init_vel_range_mps: float = 0.2,
        init_tilt_range_rad: float = 0.1,
        init_yaw_range_rad: float = 0.2,
        render_mode: str | None = None,
        width: int = 480,
        height: int = 480,
        camera: str = "fixed",
    ) -> None:
        self._platform: QuadrotorPlatform = get_platform(platform)
        p = self._platform
        if isinstance(frame_skip, bool) or not isinstance(frame_skip, (int, np.integer)):
            raise ValueError(f"frame_skip must be an integer in [1, 100], got {frame_skip!r}")
        self._frame_skip = int(_check("frame_skip", frame_skip, 1, 100))
        self._timestep_s = _check("timestep_s", timestep_s, 0.0, 0.01, lo_open=True)
        self._motor_tau_s = (
            p.motor_tau_s
            if motor_tau_s is None
            else _check("motor_tau_s", motor_tau_s, 0.0, 1.0, lo_open=True)
        )
        if sensor_noise not in SENSOR_NOISE_PRESETS:
            raise ValueError(
                f"sensor_noise must be one of {SENSOR_NOISE_PRESETS}, got {sensor_noise!r}"
            )
        self._sensor_noise = sensor_noise
        self._disturbances = make_disturbances(disturbances)
        if sensor_noise == "realistic":
            self._disturbances.append(realistic_sensor_noise())
        self._alive_reward = _check("alive_reward", alive_reward, -1e6, 1e6)
        self._position_cost_weight = _check("position_cost_weight", position_cost_weight, 0, 1e6)
        self._velocity_cost_weight = _check("velocity_cost_weight", velocity_cost_weight, 0, 1e6)
        self._attitude_cost_weight = _check("attitude_cost_weight", attitude_cost_weight, 0, 1e6)
        self._rate_cost_weight = _check("rate_cost_weight", rate_cost_weight, 0, 1e6)
        self._energy_cost_weight = _check("energy_cost_weight", energy_cost_weight, 0, 1e6)
        self._crash_cost = _check("crash_cost", crash_cost, 0, 1e6)
        self._max_tilt_rad = _check("max_tilt_rad", max_tilt_rad, 0.0, math.pi, lo_open=True)
        self._crash_speed_mps = _check("crash_speed_mps", crash_speed_mps, 0.0, 100.0)
        self._arena_half_width_m = (
            p.arena_half_width_m
            if arena_half_width_m is None
            else _check("arena_half_width_m", arena_half_width_m, 0.0, 1e4, lo_open=True)
        )
        self._arena_ceiling_m = (
            p.arena_ceiling_m
            if arena_ceiling_m is None
            else _check("arena_ceiling_m", arena_ceiling_m, 0.0, 1e4, lo_open=True)
        )
        self._init_pos_range_m = _check("init_pos_range_m", init_pos_range_m, 0.0, 10.0)
        self._init_vel_range_mps = _check("init_vel_range_mps", init_vel_range_mps, 0.0, 10.0)
        self._init_tilt_range_rad = _check("init_tilt_range_rad", init_tilt_range_rad, 0.0, 1.0)
        self._init_yaw_range_rad = _check("init_yaw_range_rad", init_yaw_range_rad, 0.0, math.pi)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None or one of {self.metadata['render_modes']}, "
                f"got {render_mode!r}"
            )
        self.render_mode = render_mode

        model = self._load_model()
        model.opt.timestep = self._timestep_s
        # no silent mj_resetData on a diverging simulation: the step reports it instead
        model.opt.disableflags |= mujoco.mjtDisableBit.mjDSBL_AUTORESET
        model.actuator_dynprm[:, 0] = self._motor_tau_s
        self._width = int(_check("width", width, 1, model.vis.global_.offwidth))
        self._height = int(_check("height", height, 1, model.vis.global_.offheight))
        if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera) < 0:
            names = [model.camera(i).name for i in range(model.ncam)]
            raise ValueError(f"camera must be one of {names}, got {camera!r}")
        self._camera = camera
        self._fixed_cam = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, "fixed")
        self._payload_geoms = [
            i for i in (mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, name)
                        for name in ("payload", "payload_tether")) if i >= 0
        ]
        self._scale_m = max(math.hypot(x, y) for x, y in p.rotor_xy_m)  # rotor arm
        self._model = model
        self._data = mujoco.MjData(model)
        self._renderer: mujoco.Renderer | None = None

        # cached views into MjData (their memory never moves) and work buffers
        self._qpos = self._data.qpos
        self._qvel = self._data.qvel
        self._ctrl = self._data.ctrl
        self._act = self._data.act
        self._force = self._data.actuator_force
        self._target_pos = np.zeros(3)
        self._target_vel = np.zeros(3)
        self._obs_true = np.zeros(OBS_SIZE)
        self._terms = np.zeros(K.N_TERMS)
        self._params = np.zeros(K.N_PARAMS)
        self._params[K.P_W_ALIVE] = self._alive_reward
        self._params[K.P_W_POS] = self._position_cost_weight
        self._params[K.P_W_VEL] = self._velocity_cost_weight
        self._params[K.P_W_ATT] = self._attitude_cost_weight
        self._params[K.P_W_RATE] = self._rate_cost_weight
        self._params[K.P_W_ENERGY] = self._energy_cost_weight
        self._params[K.P_COS_MAX_TILT] = math.cos(self._max_tilt_rad)
        self._params[K.P_ARENA_HALF] = self._arena_half_width_m
        self._params[K.P_CEILING] = self._arena_ceiling_m
        self._params[K.P_CRASH_SPEED] = self._crash_speed_mps
        self._params[K.P_IDLE_W] = p.power.idle_w
        self._params[K.P_POWER_COEF] = p.power.coefficient
        self._params[K.P_HOVER_POWER_W] = p.power.hover_power_w(p.mass_kg)
        self._max_thrust_n = p.max_thrust_n
        self._dt = self._timestep_s * self._frame_skip
        self._energy_j = 0.0
        self._prev_speed = 0.0

        self.metadata = {**self.metadata, "render_fps": round(1.0 / self.dt)}
        self.action_space = spaces.Box(-1.0, 1.0, shape=(4,), dtype=np.float32)
        self.observation_space = spaces.Box(-_OBS_HIGH, _OBS_HIGH, dtype=np.float64)

    # -- properties -------------------------------------------------------------------------
    @property
    def dt(self) -> float:
        """Control period [s]."""
        return self._dt

    @property
    def platform(self) -> QuadrotorPlatform:
        """Physical constants of the vehicle."""
        return self._platform

    @property
    def model(self) -> mujoco.MjModel:
        """The MuJoCo model (disturbances change it during an episode)."""
        return self._model

    @property
    def data(self) -> mujoco.MjData:
        """The MuJoCo data."""
        return self._data

    @property
    def scale_band_m(self) -> float:
        """Height of one band of the striped height rod drawn at the target (rendering)."""
        return _nice_length(self._scale_m / 5.0)

    @property
    def disturbances(self) -> tuple[Disturbance, ...]:
        """This env's disturbance objects (sensor-noise preset included)."""
        return tuple(self._disturbances)

    # -- task hooks ---------------------------------------------------------------------------
    def _load_model(self) -> mujoco.MjModel:
        """The platform's MuJoCo model, compiled once (a task may add geoms, e.g. obstacles)."""
        return mujoco.MjModel.from_xml_path(self._platform.asset_path())

    def _set_target(self, t_s: float) -> None:
        """Write the target position and velocity at time ``t_s`` into the target buffers."""
        raise NotImplementedError

    # -- gymnasium API -----------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode at a random offset from the target, motors at hover thrust."""
        super().reset(seed=seed)
        m, d, rng = self._model, self._data, self.np_random
        mujoco.mj_resetData(m, d)
        self._set_target(0.0)
        r = self._init_pos_range_m
        self._qpos[0:3] = self._target_pos + rng.uniform(-r, r, 3)
        self._qpos[2] = max(self._qpos[2], 0.1)
        roll, pitch = rng.uniform(-self._init_tilt_range_rad, self._init_tilt_range_rad, 2)
        yaw = rng.uniform(-self._init_yaw_range_rad, self._init_yaw_range_rad)
        mujoco.mju_euler2Quat(self._qpos[3:7], np.array([roll, pitch, yaw]), "xyz")
        self._qvel[0:3] = rng.uniform(-self._init_vel_range_mps, self._init_vel_range_mps, 3)
        # the motor-lag filter state starts at zero: spin the motors up to hover thrust
        self._act[:] = self._platform.hover_thrust_n
        self._ctrl[:] = self._platform.hover_thrust_n
        self._aim_camera()
        mujoco.mj_forward(m, d)
        for dist in self._disturbances:
            dist.reset(m, d, rng)
        self._energy_j = 0.0
        K.post_step(
            self._qpos, self._qvel, self._force, self._target_pos, self._target_vel,
            self._params, 0, 0.0, self._obs_true, self._terms,
        )  # fmt: skip
        self._terms[: K.N_REWARD_TERMS] = 0.0
        terms = self._terms.tolist()
        self._prev_speed = terms[_T_SPEED]
        obs = self._get_obs()
        _, reward_info = self._get_rew(K.TERM_NONE, terms)
        return obs, self._get_info(obs, reward_info, terms, False, "")

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Advance ``frame_skip`` physics steps with the rotor commands ``action``."""
        a = action if isinstance(action, np.ndarray) else np.asarray(action)
        if a.dtype.kind != "f":
            a = a.astype(np.float64)
        if a.shape != (4,):
            raise ValueError(f"action must have shape (4,), got {a.shape}")
        clipped = K.action_to_ctrl(a, self._max_thrust_n, self._ctrl)
        if clipped < 0:
            i = -1 - clipped
            raise ValueError(f"action[{i}] is {a[i]!r}; every element of the action must be finite")
        m, d = self._model, self._data
        t0 = d.time
        for dist in self._disturbances:
            dist.apply(m, d, t0)
        mujoco.mj_step(m, d, nstep=self._frame_skip)
        self._set_target(d.time)
        code = K.post_step(
            self._qpos, self._qvel, self._force, self._target_pos, self._target_vel,
            self._params, d.ncon, self._prev_speed, self._obs_true, self._terms,
        )  # fmt: skip
        if code in _UNSTABLE_CODES:
            self._terms[:] = 0.0
            self._terms[_T_TRACKING_M] = math.nan  # no trustworthy position
        terms = self._terms.tolist()  # Python floats from here on: cheaper than numpy scalars
        self._prev_speed = terms[_T_SPEED]
        self._energy_j += terms[_T_POWER_W] * self._dt
        reward, reward_info = self._get_rew(code, terms)
        obs = self._get_obs()
        info = self._get_info(obs, reward_info, terms, clipped > 0, TERMINATION_REASONS[code])
        return obs, reward, code != 0, False, info

    def _get_obs(self) -> np.ndarray:
        """The true observation, passed through every disturbance's ``observe`` (sensor noise)."""
        obs = self._obs_true.copy()
        if self._disturbances:
            rng = self.np_random
            for dist in self._disturbances:
                obs = dist.observe(obs, rng)
        return obs

    def _get_rew(self, code: int, terms: list[float]) -> tuple[float, dict[str, float]]:
        """Reward and its terms (``reward_*``), from what ``post_step`` computed (its docstring)."""
        crash = -self._crash_cost if code in _CRASH_CODES else 0.0
        reward_info = {
            "reward_alive": terms[0],
            "reward_position": terms[1],
            "reward_velocity": terms[2],
            "reward_attitude": terms[3],
            "reward_rate": terms[4],
            "reward_energy": terms[5],
            "reward_crash": crash,
        }
        reward = terms[0] + terms[1] + terms[2] + terms[3] + terms[4] + terms[5] + crash
        return reward, reward_info

    def _get_info(
        self,
        obs: np.ndarray,
        reward_info: dict[str, float],
        terms: list[float],
        clipped: bool,
        reason: str,
    ) -> dict[str, Any]:
        info = {
            "error": obs[_ERROR_INDEX],
            "tracking_error_m": terms[_T_TRACKING_M],
            "power_w": terms[_T_POWER_W],
            "energy_j": self._energy_j,
            "rotor_thrust_n": self._force.copy(),
            "qpos": self._qpos.copy(),
            "qvel": self._qvel.copy(),
            "time_s": self._data.time,
            "target_pos": self._target_pos.copy(),
            "action_clipped": clipped,
            "disturbances": [dist.describe() for dist in self._disturbances],
            "termination_reason": reason,
        }
        reward_info.update(info)
        return reward_info

    # -- rendering (visual model fields and scene decorations only: the physics is untouched) --
    def _view_region(self) -> tuple[np.ndarray, float, float]:
        """Centre, half-width and half-height [m] of what the ``"fixed"`` camera frames: the
        target, with room below it for a sag (tasks with a moving target widen it)."""
        s = self._scale_m
        return self._target_pos + np.array([0.0, 0.0, -2.0 * s]), 6.0 * s, 7.0 * s

    def _aim_camera(self) -> None:
        """Point the world camera ``"fixed"`` at :meth:`_view_region`, from the front (-y) and
        ~17 degrees above, far enough for the region to fill the frame."""
        if self._fixed_cam < 0:
            return
        m, cam = self._model, self._fixed_cam
        centre, half_w, half_h = self._view_region()
        tan = math.tan(math.radians(float(m.cam_fovy[cam])) / 2.0)
        dist = max(half_h / tan, half_w / (tan * self._width / self._height))
        s, c = math.sin(_CAMERA_ELEVATION_RAD), math.cos(_CAMERA_ELEVATION_RAD)
        m.cam_pos[cam] = centre + dist * np.array([0.0, -c, s])
        # columns: image right (world x), image up, and the camera's back (it looks along -z)
        mujoco.mju_mat2Quat(m.cam_quat[cam], np.array([1.0, 0, 0, 0, s, -c, 0, c, s]))

    def _show_payload(self) -> None:
        """Draw the payload geoms while a :class:`Payload` disturbance loads body ``quad``."""
        if not self._payload_geoms:
            return
        carried = False
        for dist in self._disturbances:
            if isinstance(dist, Payload) and dist.body == "quad":
                active = bool(dist.describe()["active"])
                carried = carried or (active if dist.mass_fraction > 0 else not active)
        self._model.geom_rgba[self._payload_geoms, 3] = 1.0 if carried else 0.0

    def _decorate(self, scene: mujoco.MjvScene) -> None:
        """Add the target marker and a striped height rod beside it to ``scene``: bands of
        :attr:`scale_band_m`, alternating white and red, edges at the target height +- k bands,
        a green line at the target height itself."""
        s, band, t = self._scale_m, self.scale_band_m, self._target_pos
        below, above = math.ceil(9.0 * s / band), math.ceil(4.0 * s / band)
        if scene.ngeom + below + above + 3 > scene.maxgeom:
            return
        eye, zero = np.eye(3).ravel(), np.zeros(3)

        def add(kind: int, size: np.ndarray, pos: np.ndarray,
                rgba: tuple[float, float, float, float]) -> mujoco.MjvGeom:
            # every field initialised (a connector only sets its shape and pose)
            geom = scene.geoms[scene.ngeom]
            mujoco.mjv_initGeom(geom, kind, size, pos, eye, np.array(rgba, dtype=np.float32))
            scene.ngeom += 1
            return geom

        capsule = mujoco.mjtGeom.mjGEOM_CAPSULE

        rod = t + np.array([3.5 * s, 0.0, 0.0])
        add(mujoco.mjtGeom.mjGEOM_SPHERE, np.full(3, 0.5 * s), t, (0.1, 0.85, 0.2, 0.35))
        mujoco.mjv_connector(add(capsule, zero, zero, (0.1, 0.85, 0.2, 0.9)), capsule,
                             0.04 * s, t, rod)  # the target height
        half = np.array([0.3 * s, 0.3 * s, 0.5 * band])
        bottom = rod[2]
        for k in range(-below, above):
            z = rod[2] + (k + 0.5) * band
            if z - 0.5 * band < 0.0:
                continue
            bottom = min(bottom, z - 0.5 * band)
            add(mujoco.mjtGeom.mjGEOM_BOX, half, np.array([rod[0], rod[1], z]),
                (0.95, 0.95, 0.95, 1.0) if k % 2 else (0.85, 0.15, 0.15, 1.0))
        if bottom > 0.0:  # a pole from the floor up to the bands
            mujoco.mjv_connector(add(capsule, zero, zero, (0.5, 0.5, 0.5, 1.0)), capsule, 0.08 * s,
                                 np.array([rod[0], rod[1], 0.0]),
                                 np.array([rod[0], rod[1], bottom]))

    def render(self) -> np.ndarray | None:
        """An RGB frame (height, width, 3) uint8 from ``camera`` when render_mode="rgb_array":
        the vehicle, the payload once attached, the target marker and a striped height rod
        beside it (bands of :attr:`scale_band_m`)."""
        if self.render_mode is None:
            return None
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self._model, self._height, self._width)
        self._show_payload()
        self._renderer.update_scene(self._data, camera=self._camera)
        self._decorate(self._renderer.scene)
        return self._renderer.render()

    def close(self) -> None:
        """Free the renderer's GL context."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
