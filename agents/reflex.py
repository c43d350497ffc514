"""Reflexes: the feedback controllers a NeuroFit agent builds on in error mode.

A reflex gives the action of its feedback law plus a learned correction, and the teaching
signal for that correction — its own position-feedback command, in the correction's units.
That is feedback-error learning (Kawato 1987): what the feedback loop still has to do is
what the feed-forward network has not learned yet.

- :class:`QuadReflex`: the cascade of :class:`~neurofit.agents.pid.QuadPID` with a PD position
  loop (no position integrator) over a PI rate loop, as every flight controller keeps; the
  correction is a feed-forward acceleration (m/s², world frame) and the teaching signal the
  position loop's ``Kp e_p + Kd e_v``;
- :class:`ArmReflex`: the operational-space PD of
  :class:`~neurofit.agents.arm_pd.ArmPDController`; the correction is added to the action
  (torque / limit) and the teaching signal is ``J^T Λ Kp e`` in the same units.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from neurofit.agents.arm_pd import ArmPDController
from neurofit.agents.pid import QuadPID


class Reflex(Protocol):
    """What :class:`~neurofit.agents.neurofit_agent.NeuroFitAgent` needs of a feedback law."""

    #: size of the learned correction
    n_correction: int
    #: correction units per unit of network output (the network decodes about [-1, 1])
    correction_scale: float

    def reset(self) -> None: ...

    def act(self, obs: np.ndarray, correction: np.ndarray) -> np.ndarray: ...

    def teaching(self, obs: np.ndarray, error: np.ndarray) -> np.ndarray: ...


class QuadReflex:
    """PD reflex of a quadrotor with a learned feed-forward acceleration."""

    def __init__(self, env: Any, correction_scale: float = 6.0, integral: bool = False,
                 rate_integral: bool = True) -> None:
        self.pid = QuadPID.from_env(env, integral=integral, rate_integral=rate_integral)
        self.n_correction = 3
        self.correction_scale = float(correction_scale)
        gains = self.pid.gains
        self._kp = np.asarray(gains.kp_pos, dtype=np.float64)
        self._kd = np.asarray(gains.kd_pos, dtype=np.float64)
        self._teach = np.zeros(3)

    def reset(self) -> None:
        self.pid.reset()

    def act(self, obs: np.ndarray, correction: np.ndarray) -> np.ndarray:
        return self.pid.act(obs, accel_ff=correction)

    def teaching(self, obs: np.ndarray, error: np.ndarray) -> np.ndarray:
        """``Kp e_p + Kd e_v`` from the env's 6-D error (position, velocity; world frame)."""
        np.multiply(self._kp, error[:3], out=self._teach)
        self._teach += self._kd * error[3:6]
        return self._teach


class ArmReflex:
    """Operational-space PD reflex of the arm with a learned correction of the action."""

    def __init__(self, env: Any, correction_scale: float = 0.3, integral: bool = False,
                 teach_zone_m: float = 0.05) -> None:
        self.ctl = ArmPDController.from_env(env, integral=integral)
        self.n_correction = int(env.unwrapped.action_space.shape[0])
        self.correction_scale = float(correction_scale)
        self.teach_zone_m = float(teach_zone_m)
        self._zero = np.zeros(self.n_correction)

    def reset(self) -> None:
        self.ctl.reset()

    def act(self, obs: np.ndarray, correction: np.ndarray) -> np.ndarray:
        action = self.ctl.act(obs) + correction
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    def teaching(self, obs: np.ndarray, error: np.ndarray) -> np.ndarray:
        """The PD's position feedback, only near the target (within ``teach_zone_m``).

        During a reach the feedback command mostly drives the motion, not a model error, so
        learning from it there would teach the wrong correction (like a PID's integral zone).
        """
        if float(error @ error) > self.teach_zone_m**2:
            return self._zero
        return self.ctl.feedback_action(error)


def make_reflex(env: Any, **kwargs: Any) -> QuadReflex | ArmReflex:
    """The reflex for a NeuroFit env id (quadrotor or arm)."""
    base = env.unwrapped
    name = type(base).__name__.lower()
    if "quad" in name:
        return QuadReflex(env, **kwargs)
    if "arm" in name:
        return ArmReflex(env, **kwargs)
    raise ValueError(
        f"no reflex for {type(base).__name__}; error mode needs a NeuroFit quadrotor or arm env"
    )
