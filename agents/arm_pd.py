"""Reference controllers for ``neurofit/ArmReach-v0``: joint-space PD and operational-space PD.

Both are model-based: they carry their own copy of the arm model with the payload they
*believe* in (``model_payload_kg``, nominal by default) and read only the observation. With
the nominal payload they reach every target; when the real payload differs and the integral
action is off, their gravity compensation is wrong by the payload's weight and they settle
with a steady Cartesian error (the gap an adaptive, learning controller has to close).

Control laws (``e`` = desired − actual, ``I`` = its integral, accumulated only while
``|e| < integral_zone`` and clamped to ``integral_limit``):

- ``mode="joint"``: ``tau = Kp (q_d - q) - Kd qdot + Ki I + g(q)``, where ``q_d`` solves the
  inverse kinematics of the Cartesian target (damped least squares on the controller's model,
  once per new target; the redundant wrist is pulled toward the home pose).
- ``mode="operational"`` (Khatib's operational-space control, position task):
  ``F = Lambda (Kp e - Kd xdot + Ki I)`` with ``Lambda = (J M^-1 J^T)^-1``;
  ``tau = J^T F + N^T (Kp_null (q_home - q) - Kd_null qdot) + h(q, qdot)``, where
  ``N^T = 1 - J^T Jbar^T``, ``Jbar = M^-1 J^T Lambda`` (dynamically consistent null space) and
  ``h`` = gravity + Coriolis of the controller's model.

``g``/``h`` are dropped with ``gravity_compensation=False``. The control law itself runs in one
numba kernel per call; the model terms (``J``, ``M^-1 J^T``, bias forces) come from MuJoCo on the
controller's own ``MjData`` (about 10 µs per ``act`` call on this project's machines).

Measured on ``ArmReach-v0`` / ``ArmReachPayload-v0`` (payload doubled at t = 1 s), seeds 0-1,
mean |error| over the last 0.5 s of each 2 s target hold, default gains:

| controller        | nominal   | 2x payload, I off | 2x payload, I on |
|-------------------|-----------|-------------------|------------------|
| operational space | < 0.01 mm | 18.5-19.6 mm      | 0.9 mm           |
| joint space       | < 0.01 mm | 11-13 mm          | 0.9-1.0 mm       |
"""

from __future__ import annotations

from typing import Any, Literal

import mujoco
import numpy as np

from neurofit.envs.arm_reach import (
    ARM_XML,
    HOME_QPOS,
    NOMINAL_PAYLOAD_KG,
    ArmReachEnv,
    load_arm_model,
)
from neurofit.neuromorphic._jit import njit

__all__ = ["ArmPDController"]

_OBS = ArmReachEnv.OBS_SLICES
# indices into the kernels' packed parameter vector
_P_BIAS, _P_INTEGRAL, _P_INT_LIMIT, _P_INT_ZONE, _P_NULL_KP, _P_NULL_KD, _P_DT = range(7)
_N_PARAMS = 7


class ArmPDController:
    """Joint-space or operational-space PD(+I) controller for the NeuroFit arm.

    Args:
        mode: ``"operational"`` (Cartesian PD through the operational-space formulation) or
            ``"joint"`` (joint PD toward the inverse-kinematics solution of the target).
        kp: Proportional gain: 1/s^2 (operational; acceleration per metre) or N m/rad (joint),
            scalar or one per axis/joint. Default 192 (operational) / (20, 30, 20, 10) (joint).
        kd: Derivative gain: 1/s or N m s/rad. Default 24 / (2, 3, 2, 0.8).
        ki: Integral gain: 1/s^3 or N m/(rad s). Default 512 / (40, 60, 40, 20). The
            operational defaults put the three closed-loop poles of each axis at -8 rad/s.
        integral: Switch the integral action on.
        integral_limit: Clamp of each integral component (m s or rad s), anti-windup.
        integral_zone: The error is integrated only while its norm is below this (m or rad;
            conditional integration, so large transients after a target switch do not wind
            the integral up). Default 0.05 m (operational) / 0.1 rad (joint).
        gravity_compensation: Add the model's gravity (joint) or gravity + Coriolis
            (operational) torques.
        model_payload_kg: Payload mass the controller's model assumes (kg).
        null_kp: Null-space posture stiffness toward ``home_qpos`` (operational mode, N m/rad).
        null_kd: Null-space posture damping (operational mode, N m s/rad).
        home_qpos: Posture for the null space and the IK seed.
        dt_s: Control period (s); the env's ``dt``.
        torque_limit_nm: Torque per unit action; default: the model's actuator ``ctrlrange``.
        xml_file: Arm model the controller uses.
    """

    def __init__(
        self,
        mode: Literal["operational", "joint"] = "operational",
        kp: float | np.ndarray | None = None,
        kd: float | np.ndarray | None = None,
        ki: float | np.ndarray | None = None,
        integral: bool = False,
        integral_limit: float = 0.5,
        integral_zone: float | None = None,
        gravity_compensation: bool = True,
        model_payload_kg: float = NOMINAL_PAYLOAD_KG,
        null_kp: float = 2.0,
        null_kd: float = 0.3,
        home_qpos: np.ndarray = HOME_QPOS,
        dt_s: float = 0.01,
        torque_limit_nm: np.ndarray | None = None,
        xml_file: str = str(ARM_XML),
    ) -> None:
        if mode not in ("operational", "joint"):
            raise ValueError(f"mode must be 'operational' or 'joint', got {mode!r}")
        self.mode = mode
        self.model = load_arm_model(xml_file, model_payload_kg)
        self.data = mujoco.MjData(self.model)
        n = self.model.nv
        dim = 3 if mode == "operational" else n
        defaults = {
            # triple closed-loop pole at -8 rad/s: s^3 + 3p s^2 + 3p^2 s + p^3
            "operational": (192.0, 24.0, 512.0),
            "joint": ((20.0, 30.0, 20.0, 10.0), (2.0, 3.0, 2.0, 0.8), (40.0, 60.0, 40.0, 20.0)),
        }[mode]
        self.kp = self._gain("kp", kp if kp is not None else defaults[0], dim)
        self.kd = self._gain("kd", kd if kd is not None else defaults[1], dim)
        self.ki = self._gain("ki", ki if ki is not None else defaults[2], dim)
        self.integral = bool(integral)
        if not (np.isfinite(integral_limit) and integral_limit >= 0.0):
            raise ValueError(f"integral_limit must be finite and >= 0, got {integral_limit!r}")
        self.integral_limit = float(integral_limit)
        zone = (0.05 if mode == "operational" else 0.1) if integral_zone is None else integral_zone
        if not (np.isfinite(zone) and zone > 0.0):
            raise ValueError(f"integral_zone must be finite and > 0, got {integral_zone!r}")
        self.integral_zone = float(zone)
        self.gravity_compensation = bool(gravity_compensation)
        self.null_kp = float(null_kp)
        self.null_kd = float(null_kd)
        self.home_qpos = np.array(home_qpos, dtype=np.float64)
        if self.home_qpos.shape != (n,):
            raise ValueError(f"home_qpos must have shape ({n},), got {self.home_qpos.shape}")
        if not (np.isfinite(dt_s) and dt_s > 0.0):
            raise ValueError(f"dt_s must be finite and > 0, got {dt_s!r}")
        self.dt_s = float(dt_s)
        limit = (
            self.model.actuator_ctrlrange[:, 1] if torque_limit_nm is None else torque_limit_nm
        )
        self.torque_limit_nm = np.array(limit, dtype=np.float64)
        if self.torque_limit_nm.shape != (n,) or np.any(self.torque_limit_nm <= 0.0):
            raise ValueError(f"torque_limit_nm must be {n} values > 0, got {limit!r}")
        self._site = self.model.site("ee").id
        self._ee = self.data.site_xpos[self._site]  # view, valid for the life of self.data
        self._bias = self.data.qfrc_bias  # view
        # packed for the kernels: gains rows (kp, kd, ki); params see _P_* indices
        self._gains = np.stack((self.kp, self.kd, self.ki))
        self._params = np.zeros(_N_PARAMS)
        self._sync_params()
        self._action = np.zeros(n, dtype=np.float32)
        self._jacp = np.zeros((3, n))
        self._minv_jt = np.zeros((3, n))  # rows: M^-1 J_i^T
        self._tau = np.zeros(n)
        self._integ = np.zeros(dim)
        self._q_des = self.home_qpos.copy()
        self._ik_target = np.full(3, np.nan)

    def _sync_params(self) -> None:
        p = self._params
        p[_P_BIAS] = float(self.gravity_compensation)
        p[_P_INTEGRAL] = float(self.integral)
        p[_P_INT_LIMIT] = self.integral_limit
        p[_P_INT_ZONE] = self.integral_zone
        p[_P_NULL_KP] = self.null_kp
        p[_P_NULL_KD] = self.null_kd
        p[_P_DT] = self.dt_s

    @classmethod
    def from_env(cls, env: Any, **kwargs: Any) -> ArmPDController:
        """A controller with the env's ``dt`` and torque limits (``env`` may be wrapped)."""
        base = env.unwrapped
        return cls(dt_s=base.dt, torque_limit_nm=base.torque_limit_nm, **kwargs)

    @staticmethod
    def _gain(name: str, value: float | np.ndarray, dim: int) -> np.ndarray:
        arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (dim,)).copy()
        if not (np.all(np.isfinite(arr)) and np.all(arr >= 0.0)):
            raise ValueError(f"{name} must be finite and >= 0, got {value!r}")
        return arr

    def reset(self) -> None:
        """Clear the integral state and the cached IK solution (call at every env reset).

        Also picks up changed attributes (``integral``, ``kp`` ...), so a switch of the
        integral action between episodes is ``ctl.integral = True; ctl.reset()``.
        """
        self._integ[:] = 0.0
        self._ik_target[:] = np.nan
        self._gains = np.stack((self.kp, self.kd, self.ki))
        self._sync_params()

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Action in [-1, 1] (torque / torque limit, float32) for an ArmReach observation."""
        obs = np.asarray(obs, dtype=np.float64)
        self._compute(obs[_OBS["qpos"]], obs[_OBS["qvel"]], obs[_OBS["target"]])
        return self._action.copy()

    def feedback_action(self, error: np.ndarray) -> np.ndarray:
        """The position-feedback part of the last :meth:`act`, in action units.

        ``J^T Λ (Kp ⊙ error) / torque_limit`` at the configuration of the last call
        (operational mode only). Feedback-error learning uses it as the teaching signal of a
        learned feed-forward correction.
        """
        if self.mode != "operational":
            raise ValueError("feedback_action needs mode='operational'")
        error = np.asarray(error, dtype=np.float64)
        lam = np.linalg.inv(self._jacp @ self._minv_jt.T + 1e-9 * np.eye(3))
        force = lam @ (self.kp[:3] * error if self.kp.size >= 3 else self.kp[0] * error)
        return (self._jacp.T @ force) / self.torque_limit_nm

    def torques(self, qpos: np.ndarray, qvel: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Joint torques (N m, before clipping to the limits) for ``(qpos, qvel)`` and ``target``.

        Advances the integral state like :meth:`act`.
        """
        self._compute(
            np.asarray(qpos, dtype=np.float64),
            np.asarray(qvel, dtype=np.float64),
            np.asarray(target, dtype=np.float64),
        )
        return self._tau.copy()

    def _compute(self, qpos: np.ndarray, qvel: np.ndarray, target: np.ndarray) -> None:
        m, d = self.model, self.data
        d.qpos[:] = qpos
        d.qvel[:] = qvel
        mujoco.mj_fwdPosition(m, d)  # kinematics, com, inertia M and its factor
        bias_on = self.gravity_compensation
        if self.mode == "operational":
            if bias_on:
                mujoco.mj_fwdVelocity(m, d)  # qfrc_bias: gravity + Coriolis
            mujoco.mj_jacSite(m, d, self._jacp, None, self._site)
            mujoco.mj_solveM(m, d, self._minv_jt, self._jacp)
            _osc_kernel(
                self._jacp, self._minv_jt, self._ee, target, qpos, qvel, self.home_qpos,
                self._bias, self._gains, self._params, self._integ, self.torque_limit_nm,
                self._tau, self._action,
            )
        else:
            if not np.array_equal(target, self._ik_target):
                self._q_des = self.inverse_kinematics(target)  # uses self.data
                self._ik_target[:] = target
                d.qpos[:] = qpos
                mujoco.mj_fwdPosition(m, d)
            if bias_on:
                d.qvel[:] = 0.0  # gravity only
                mujoco.mj_fwdVelocity(m, d)
            _joint_pd_kernel(
                qpos, qvel, self._q_des, self._bias, self._gains, self._params, self._integ,
                self.torque_limit_nm, self._tau, self._action,
            )

    def inverse_kinematics(
        self, target: np.ndarray, iterations: int = 60, tol_m: float = 1e-6
    ) -> np.ndarray:
        """Joint angles putting the end effector on ``target`` (damped least squares).

        Starts from ``home_qpos``; for the first half of the iterations the redundant
        direction is pulled toward ``home_qpos``, then the task error alone is refined until
        it is below ``tol_m``. Results are kept inside the joint ranges.
        """
        m, d = self.model, self.data
        q = self.home_qpos.copy()
        lo, hi = m.jnt_range[:, 0], m.jnt_range[:, 1]
        eye_n = np.eye(m.nv)
        damping = 1e-4 * np.eye(3)
        for it in range(iterations):
            d.qpos[:] = q
            mujoco.mj_kinematics(m, d)
            mujoco.mj_comPos(m, d)
            err = target - d.site_xpos[self._site]
            posture = it < iterations // 2
            if not posture and err @ err < tol_m * tol_m:
                break
            mujoco.mj_jacSite(m, d, self._jacp, None, self._site)
            jac = self._jacp
            jpinv = jac.T @ np.linalg.inv(jac @ jac.T + damping)
            dq = jpinv @ err
            if posture:
                dq += 0.1 * (eye_n - jpinv @ jac) @ (self.home_qpos - q)
            q = np.clip(q + dq, lo, hi)
        return q


@njit
def _integrate(integ: np.ndarray, e: np.ndarray, params: np.ndarray) -> None:
    """Conditional, clamped integration of ``e`` into ``integ`` (if the integral is on)."""
    if params[_P_INTEGRAL] == 0.0:
        return
    s = 0.0
    for i in range(e.shape[0]):
        s += e[i] * e[i]
    if s >= params[_P_INT_ZONE] ** 2:
        return
    limit = params[_P_INT_LIMIT]
    for i in range(integ.shape[0]):
        v = integ[i] + e[i] * params[_P_DT]
        integ[i] = min(max(v, -limit), limit)


@njit
def _to_action(tau: np.ndarray, torque_limit: np.ndarray, action: np.ndarray) -> None:
    for j in range(tau.shape[0]):
        a = tau[j] / torque_limit[j]
        action[j] = min(max(a, -1.0), 1.0)


@njit
def _inv3(a: np.ndarray, out: np.ndarray) -> None:
    """Inverse of a 3x3 matrix (cofactors); ``a`` is regularised by the caller."""
    c00 = a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1]
    c01 = a[1, 2] * a[2, 0] - a[1, 0] * a[2, 2]
    c02 = a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0]
    det = a[0, 0] * c00 + a[0, 1] * c01 + a[0, 2] * c02
    inv = 1.0 / det
    out[0, 0] = c00 * inv
    out[1, 0] = c01 * inv
    out[2, 0] = c02 * inv
    out[0, 1] = (a[0, 2] * a[2, 1] - a[0, 1] * a[2, 2]) * inv
    out[1, 1] = (a[0, 0] * a[2, 2] - a[0, 2] * a[2, 0]) * inv
    out[2, 1] = (a[0, 1] * a[2, 0] - a[0, 0] * a[2, 1]) * inv
    out[0, 2] = (a[0, 1] * a[1, 2] - a[0, 2] * a[1, 1]) * inv
    out[1, 2] = (a[0, 2] * a[1, 0] - a[0, 0] * a[1, 2]) * inv
    out[2, 2] = (a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]) * inv


@njit
def _osc_kernel(
    jac: np.ndarray,
    minv_jt: np.ndarray,
    x: np.ndarray,
    x_des: np.ndarray,
    q: np.ndarray,
    qd: np.ndarray,
    q_home: np.ndarray,
    bias: np.ndarray,
    gains: np.ndarray,
    params: np.ndarray,
    integ: np.ndarray,
    torque_limit: np.ndarray,
    tau: np.ndarray,
    action: np.ndarray,
) -> None:
    """Operational-space PD(+I) torque into ``tau`` and ``action`` (see module docstring).

    ``jac`` is the 3 x n position Jacobian, ``minv_jt`` the 3 x n matrix whose rows are
    ``M^-1 J_i^T`` (= ``J M^-1``), ``gains`` rows (kp, kd, ki) of length 3, ``params`` the packed
    scalars; ``integ`` (3) is updated in place.
    """
    n = q.shape[0]
    e = np.empty(3)
    xd = np.zeros(3)
    for i in range(3):
        e[i] = x_des[i] - x[i]
        for j in range(n):
            xd[i] += jac[i, j] * qd[j]
    _integrate(integ, e, params)
    # Lambda^-1 = J M^-1 J^T  (+ small damping near singularities)
    lam_inv = np.empty((3, 3))
    for i in range(3):
        for k in range(3):
            s = 0.0
            for j in range(n):
                s += jac[i, j] * minv_jt[k, j]
            lam_inv[i, k] = s
        lam_inv[i, i] += 1e-4
    lam = np.empty((3, 3))
    _inv3(lam_inv, lam)
    acc = np.empty(3)
    for i in range(3):
        acc[i] = gains[0, i] * e[i] - gains[1, i] * xd[i] + gains[2, i] * integ[i]
    # Products written as loops: numba's ``@`` calls BLAS through scipy, which is no dependency.
    f = np.zeros(3)
    for i in range(3):
        for k in range(3):
            f[i] += lam[i, k] * acc[k]
    # Jbar^T = Lambda J M^-1 (3 x n); null-space torque N^T tau0 = tau0 - J^T (Jbar^T tau0)
    tau0 = np.empty(n)
    for j in range(n):
        tau0[j] = params[_P_NULL_KP] * (q_home[j] - q[j]) - params[_P_NULL_KD] * qd[j]
    minv_jt_tau0 = np.zeros(3)
    for k in range(3):
        for j in range(n):
            minv_jt_tau0[k] += minv_jt[k, j] * tau0[j]
    proj = np.zeros(3)
    for i in range(3):
        for k in range(3):
            proj[i] += lam[i, k] * minv_jt_tau0[k]
    bias_on = params[_P_BIAS] != 0.0
    for j in range(n):
        t = tau0[j]
        for i in range(3):
            t += jac[i, j] * (f[i] - proj[i])
        if bias_on:
            t += bias[j]
        tau[j] = t
    _to_action(tau, torque_limit, action)


@njit
def _joint_pd_kernel(
    q: np.ndarray,
    qd: np.ndarray,
    q_des: np.ndarray,
    gravity: np.ndarray,
    gains: np.ndarray,
    params: np.ndarray,
    integ: np.ndarray,
    torque_limit: np.ndarray,
    tau: np.ndarray,
    action: np.ndarray,
) -> None:
    """Joint PD(+I) torque into ``tau`` and ``action``; ``integ`` (n) is updated in place."""
    n = q.shape[0]
    e = np.empty(n)
    for j in range(n):
        e[j] = q_des[j] - q[j]
    _integrate(integ, e, params)
    gravity_on = params[_P_BIAS] != 0.0
    for j in range(n):
        t = gains[0, j] * e[j] - gains[1, j] * qd[j] + gains[2, j] * integ[j]
        if gravity_on:
            t += gravity[j]
        tau[j] = t
    _to_action(tau, torque_limit, action)
