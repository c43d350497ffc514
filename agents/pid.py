"""Cascaded PID reference controller for the NeuroFit quadrotors (micro and heavy).

Cascade, run once per control tick on the env's observation (see :mod:`neurofit.envs.quadrotor`
for its layout; noisy if the env adds sensor noise)::

    position loop   a_des = Kp_pos e_p + Kd_pos e_v + Ki_pos int(e_p) + a_ff + g z
                    (horizontal part limited to the tilt max_tilt_rad)
    thrust          T = m a_des . b3           (b3 = body z axis, m = the controller's mass)
    attitude loop   R_des from a_des and yaw 0; e_R = vee(R_des^T R - R^T R_des) / 2
                    omega_des = -Kp_att e_R    (limited to max_rate_radps)
    rate loop       alpha = Kp_rate e_w + Ki_rate int(e_w) - Kd_rate d(omega)/dt
                    tau = J alpha + omega x J omega
    mixing          rotor thrusts = B^-1 [T, tau]  (B: platform allocation matrix), clipped to
                    [0, max_thrust_n], then action = 2 thrust / max_thrust_n - 1

The attitude error is the geometric one of Lee, Leok and McClamroch (CDC 2010). ``integral=False``
drops both integrators: the PD "reflex" a learning agent builds on; with it, a payload the
controller does not know about leaves a steady altitude error of ``g * extra_mass / (m Kp_z)``.

The control law is one top-level numba kernel (:func:`_pid_kernel`), ~1 us per tick.
Gains are a :class:`PIDGains` dataclass; :meth:`QuadPID.set_gains` changes any of them (for
gain sweeps) without recompiling.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurofit.envs.power import GRAVITY_MPS2
from neurofit.envs.quadrotor_platform import QuadrotorPlatform, get_platform
from neurofit.neuromorphic._jit import njit

__all__ = ["PIDGains", "QuadPID"]

Vec3 = tuple[float, float, float]


@dataclass(frozen=True)
class PIDGains:
    """Gains of the cascade, per axis (x, y, z) or (roll, pitch, yaw). Units in the names' doc.

    Attributes:
        kp_pos: position -> acceleration [1/s^2].
        ki_pos: integral of position error -> acceleration [1/s^3].
        kd_pos: velocity error -> acceleration [1/s].
        kp_att: attitude error -> body-rate set-point [1/s].
        kp_rate: body-rate error -> angular acceleration [1/s].
        ki_rate: integral of body-rate error -> angular acceleration [1/s^2].
        kd_rate: change of body rate -> angular acceleration [-] (noisy: 0 by default).
        max_tilt_rad: largest commanded tilt.
        max_rate_radps: largest commanded (roll/pitch, yaw) rate.
        pos_integral_limit: clamp of each position integral [m s].
        rate_integral_limit: clamp of each rate integral [rad].
    """

    kp_pos: Vec3
    ki_pos: Vec3
    kd_pos: Vec3
    kp_att: Vec3
    kp_rate: Vec3
    ki_rate: Vec3 = (0.0, 0.0, 0.0)
    kd_rate: Vec3 = (0.0, 0.0, 0.0)
    max_tilt_rad: float = 0.5
    max_rate_radps: tuple[float, float] = (6.0, 3.0)
    pos_integral_limit: float = 1.0
    rate_integral_limit: float = 2.0

    @classmethod
    def for_platform(cls, platform: str | QuadrotorPlatform) -> PIDGains:
        """Default gains for the env at 100 Hz with each platform's motor lag.

        Inner loops from the motor lag (rate crossover well below 1 / tau_motor; rate-loop
        Ki = 2 Kp as in the Crazyflie firmware's rate PID, enough to hold a motor at 70 %
        with a +30 % payload); position gains
        picked by a grid search minimising hover RMS with realistic sensor noise, nominal and
        with a +30 % payload (settled within ~3 s from 0.2 m offsets).
        """
        name = get_platform(platform).name
        if name == "micro":  # motor lag 20 ms: rate-loop crossover ~20 rad/s
            return cls(
                kp_pos=(8.0, 8.0, 10.0),
                ki_pos=(6.0, 6.0, 9.0),
                kd_pos=(4.0, 4.0, 5.0),
                kp_att=(8.0, 8.0, 3.0),
                kp_rate=(20.0, 20.0, 10.0),
                ki_rate=(40.0, 40.0, 20.0),
            )
        # heavy, motor lag 50 ms: about half the bandwidth
        return cls(
            kp_pos=(5.0, 5.0, 6.5),
            ki_pos=(3.0, 3.0, 4.5),
            kd_pos=(3.5, 3.5, 4.2),
            kp_att=(4.0, 4.0, 2.0),
            kp_rate=(10.0, 10.0, 5.0),
            ki_rate=(20.0, 20.0, 10.0),
        )

    def to_array(self) -> np.ndarray:
        """Flat float64 array in the kernel's layout (see ``_pid_kernel``)."""
        for f in dataclasses.fields(self):
            v = np.asarray(getattr(self, f.name), dtype=np.float64)
            if not np.all(np.isfinite(v)) or np.any(v < 0.0):
                raise ValueError(f"PIDGains.{f.name} must be finite and >= 0, got {v.tolist()}")
        for name in ("kp_pos", "ki_pos", "kd_pos", "kp_att", "kp_rate", "ki_rate", "kd_rate"):
            if np.shape(getattr(self, name)) != (3,):
                raise ValueError(f"PIDGains.{name} must have 3 elements (per axis)")
        if np.shape(self.max_rate_radps) != (2,):
            raise ValueError("PIDGains.max_rate_radps must be (roll/pitch, yaw)")
        if not 0.0 < self.max_tilt_rad < 0.5 * math.pi:
            raise ValueError(f"PIDGains.max_tilt_rad must be in (0, pi/2), got {self.max_tilt_rad}")
        return np.concatenate(
            [
                self.kp_pos,
                self.ki_pos,
                self.kd_pos,
                self.kp_att,
                self.kp_rate,
                self.ki_rate,
                self.kd_rate,
                [math.tan(self.max_tilt_rad)],
                self.max_rate_radps,
                [self.pos_integral_limit, self.rate_integral_limit],
            ]
        ).astype(np.float64)


# layout of the gains array
_G_KP_POS, _G_KI_POS, _G_KD_POS, _G_KP_ATT = 0, 3, 6, 9
_G_KP_RATE, _G_KI_RATE, _G_KD_RATE = 12, 15, 18
_G_TAN_TILT, _G_MAX_RATE_RP, _G_MAX_RATE_Y, _G_ILIM_POS, _G_ILIM_RATE = 21, 22, 23, 24, 25
# layout of the params array
_P_MASS, _P_G, _P_J, _P_TMAX, _P_DT, _P_INTEGRAL, _P_MIX = 0, 1, 2, 5, 6, 7, 8
_P_RATE_INTEGRAL = 24
_N_P = 25
# layout of the state array
_S_IPOS, _S_IRATE, _S_PREV_RATE, _S_HAS_PREV = 0, 3, 6, 9
_N_S = 10


@njit
def _clamp(x: float, lim: float) -> float:
    return min(lim, max(-lim, x))


@njit
def _pid_kernel(
    obs: np.ndarray,
    accel_ff: np.ndarray,
    gains: np.ndarray,
    params: np.ndarray,
    state: np.ndarray,
    out: np.ndarray,
) -> None:
    """One tick of the cascade (module docstring); writes normalised rotor commands to ``out``."""
    dt = params[_P_DT]
    integral = params[_P_INTEGRAL] > 0.5
    # -- position loop -> desired acceleration (scalars only: no allocation per tick)
    if integral:
        for i in range(3):
            state[_S_IPOS + i] = _clamp(state[_S_IPOS + i] + obs[i] * dt, gains[_G_ILIM_POS])
    ax = _axis_pid(obs, accel_ff, gains, state, 0)
    ay = _axis_pid(obs, accel_ff, gains, state, 1)
    g = params[_P_G]
    az = _axis_pid(obs, accel_ff, gains, state, 2) + g
    if az < 0.3 * g:  # never command (near) free fall
        az = 0.3 * g
    h = math.sqrt(ax * ax + ay * ay)
    hmax = az * gains[_G_TAN_TILT]
    if h > hmax:
        ax *= hmax / h
        ay *= hmax / h
    # -- thrust along the current body z; R[i, j] = obs[3 + 3 i + j]
    r00, r01, r02 = obs[3], obs[4], obs[5]
    r10, r11, r12 = obs[6], obs[7], obs[8]
    r20, r21, r22 = obs[9], obs[10], obs[11]
    thrust = params[_P_MASS] * (ax * r02 + ay * r12 + az * r22)
    if thrust < 0.0:
        thrust = 0.0
    # -- desired attitude: b3d along the acceleration, yaw 0 (b1d toward world x)
    n = math.sqrt(ax * ax + ay * ay + az * az)
    b3x, b3y, b3z = ax / n, ay / n, az / n
    n2 = math.sqrt(b3z * b3z + b3y * b3y)  # b2d = b3d x (1, 0, 0), normalised
    b2x, b2y, b2z = 0.0, b3z / n2, -b3y / n2
    b1x = b2y * b3z - b2z * b3y  # b1d = b2d x b3d
    b1y = b2z * b3x - b2x * b3z
    b1z = b2x * b3y - b2y * b3x
    # e_R = vee(M - M^T) / 2 with M = Rd^T R, M[a, j] = b_a . R[:, j]
    m21 = b3x * r01 + b3y * r11 + b3z * r21
    m12 = b2x * r02 + b2y * r12 + b2z * r22
    m02 = b1x * r02 + b1y * r12 + b1z * r22
    m20 = b3x * r00 + b3y * r10 + b3z * r20
    m10 = b2x * r00 + b2y * r10 + b2z * r20
    m01 = b1x * r01 + b1y * r11 + b1z * r21
    wdx = _clamp(-gains[_G_KP_ATT] * 0.5 * (m21 - m12), gains[_G_MAX_RATE_RP])
    wdy = _clamp(-gains[_G_KP_ATT + 1] * 0.5 * (m02 - m20), gains[_G_MAX_RATE_RP])
    wdz = _clamp(-gains[_G_KP_ATT + 2] * 0.5 * (m10 - m01), gains[_G_MAX_RATE_Y])
    # -- rate loop -> angular acceleration -> torque
    rate_integral = params[_P_RATE_INTEGRAL] > 0.5
    alx = _rate_pid(obs, wdx, gains, state, dt, rate_integral, 0)
    aly = _rate_pid(obs, wdy, gains, state, dt, rate_integral, 1)
    alz = _rate_pid(obs, wdz, gains, state, dt, rate_integral, 2)
    state[_S_HAS_PREV] = 1.0
    jx, jy, jz = params[_P_J], params[_P_J + 1], params[_P_J + 2]
    wx, wy, wz = obs[15], obs[16], obs[17]
    tx = jx * alx + (wy * jz * wz - wz * jy * wy)
    ty = jy * aly + (wz * jx * wx - wx * jz * wz)
    tz = jz * alz + (wx * jy * wy - wy * jx * wx)
    # -- mixing: thrusts = B^-1 [T, tau], clipped, normalised
    tmax = params[_P_TMAX]
    for i in range(4):
        k = _P_MIX + 4 * i
        t = params[k] * thrust + params[k + 1] * tx + params[k + 2] * ty + params[k + 3] * tz
        if t < 0.0:
            t = 0.0
        elif t > tmax:
            t = tmax
        out[i] = 2.0 * t / tmax - 1.0


@njit
def _axis_pid(
    obs: np.ndarray, accel_ff: np.ndarray, gains: np.ndarray, state: np.ndarray, i: int
) -> float:
    """Position-loop acceleration of axis ``i`` (integral already updated)."""
    return (
        gains[_G_KP_POS + i] * obs[i]
        + gains[_G_KD_POS + i] * obs[12 + i]
        + gains[_G_KI_POS + i] * state[_S_IPOS + i]
        + accel_ff[i]
    )


@njit
def _rate_pid(
    obs: np.ndarray,
    w_des: float,
    gains: np.ndarray,
    state: np.ndarray,
    dt: float,
    integral: bool,
    i: int,
) -> float:
    """Rate-loop angular acceleration of body axis ``i``; updates its integral and history."""
    w = obs[15 + i]
    ew = w_des - w
    if integral:
        state[_S_IRATE + i] = _clamp(state[_S_IRATE + i] + ew * dt, gains[_G_ILIM_RATE])
    dw = (w - state[_S_PREV_RATE + i]) / dt if state[_S_HAS_PREV] > 0.5 else 0.0
    state[_S_PREV_RATE + i] = w
    return (
        gains[_G_KP_RATE + i] * ew
        + gains[_G_KI_RATE + i] * state[_S_IRATE + i]
        - gains[_G_KD_RATE + i] * dw
    )


class QuadPID:
    """Cascaded PID for :class:`~neurofit.envs.quadrotor.QuadrotorEnv` observations.

    Args:
        platform: ``"micro"``, ``"heavy"`` or a :class:`QuadrotorPlatform`.
        gains: the cascade's gains; None = :meth:`PIDGains.for_platform`.
        integral: switch both integrators on (PID) or off (PD reflex).
        rate_integral: override for the inner rate loop's integrator alone (``None``: follows
            ``integral``). A position-PD reflex with a rate-PI inner loop is what a flight
            controller keeps; a weak motor then leaves no steady attitude error.
        dt_s: control period; the env's ``dt``.
        mass_kg: mass the controller believes in; None = the platform's take-off mass.

    Example::

        env = gymnasium.make("neurofit/QuadHover-v0")
        pid = QuadPID.from_env(env)
        obs, info = env.reset(seed=0)
        obs, *_ = env.step(pid.act(obs))
    """

    def __init__(
        self,
        platform: str | QuadrotorPlatform = "micro",
        gains: PIDGains | None = None,
        *,
        integral: bool = True,
        rate_integral: bool | None = None,
        dt_s: float = 0.01,
        mass_kg: float | None = None,
    ) -> None:
        self._platform = get_platform(platform)
        p = self._platform
        if not 0.0 < float(dt_s) <= 0.1:
            raise ValueError(f"dt_s must be in (0, 0.1], got {dt_s!r}")
        mass = p.mass_kg if mass_kg is None else float(mass_kg)
        if not mass > 0.0:
            raise ValueError(f"mass_kg must be > 0, got {mass_kg!r}")
        self._gains = gains if gains is not None else PIDGains.for_platform(p)
        self._gains_array = self._gains.to_array()
        self._params = np.zeros(_N_P)
        self._params[_P_MASS] = mass
        self._params[_P_G] = GRAVITY_MPS2
        self._params[_P_J : _P_J + 3] = p.inertia_kgm2
        self._params[_P_TMAX] = p.max_thrust_n
        self._params[_P_DT] = float(dt_s)
        self._params[_P_MIX : _P_MIX + 16] = np.linalg.inv(p.allocation_matrix()).ravel()
        self._state = np.zeros(_N_S)
        self._zero3 = np.zeros(3)
        self.integral = integral
        self._params[_P_RATE_INTEGRAL] = float(integral if rate_integral is None else rate_integral)

    @classmethod
    def from_env(cls, env: Any, **kwargs: Any) -> QuadPID:
        """A controller for ``env`` (a quadrotor env, wrapped or not): its platform and dt."""
        base = env.unwrapped
        return cls(base.platform, dt_s=base.dt, **kwargs)

    @property
    def platform(self) -> QuadrotorPlatform:
        """The vehicle the controller is built for."""
        return self._platform

    @property
    def gains(self) -> PIDGains:
        """Current gains."""
        return self._gains

    def set_gains(self, gains: PIDGains | None = None, **changes: Any) -> None:
        """Replace the gains, or change some fields: ``pid.set_gains(kp_pos=(4, 4, 6))``."""
        new = gains if gains is not None else self._gains
        if changes:
            names = {f.name for f in dataclasses.fields(PIDGains)}
            unknown = set(changes) - names
            if unknown:
                raise ValueError(f"unknown gain(s) {sorted(unknown)}; gains are {sorted(names)}")
            new = dataclasses.replace(new, **changes)
        self._gains_array = new.to_array()
        self._gains = new

    @property
    def integral(self) -> bool:
        """Whether the integral actions are on."""
        return self._params[_P_INTEGRAL] > 0.5

    @integral.setter
    def integral(self, on: bool) -> None:
        self._params[_P_INTEGRAL] = 1.0 if on else 0.0
        self._params[_P_RATE_INTEGRAL] = self._params[_P_INTEGRAL]
        if not on:
            self._state[_S_IPOS : _S_IPOS + 3] = 0.0
            self._state[_S_IRATE : _S_IRATE + 3] = 0.0

    def reset(self) -> None:
        """Clear the integrators and the rate history (call at every env reset)."""
        self._state[:] = 0.0

    def kernel_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(gains, params, state)`` as :func:`_pid_kernel` takes them, for a compiled caller
        that runs the cascade inside its own tick (the state is changed in place)."""
        return self._gains_array, self._params, self._state

    def act(self, obs: np.ndarray, accel_ff: np.ndarray | None = None) -> np.ndarray:
        """Rotor commands (4,) float32 in [-1, 1] for one observation.

        Args:
            obs: the env's (18,) observation.
            accel_ff: optional feed-forward target acceleration (3,) [m/s^2], world frame.
        """
        if obs.shape != (18,):
            raise ValueError(f"obs must have shape (18,), got {obs.shape}")
        out = np.empty(4, dtype=np.float32)
        ff = self._zero3 if accel_ff is None else accel_ff
        _pid_kernel(obs, ff, self._gains_array, self._params, self._state, out)
        return out

    __call__ = act
