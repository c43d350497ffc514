"""Reflexes: the feedback controllers a NeuroFit agent builds on in error mode.

A reflex gives the action of its feedback law plus a learned correction, and the teaching
signal for that correction — its own feedback command, in the correction's units. That is
feedback-error learning (Kawato 1987): what the feedback loop still has to do is what the
feed-forward network has not learned yet.

- :class:`QuadReflex`: the cascade of :class:`~neurofit.agents.pid.QuadPID` with a PD position
  loop (no position integrator) over a PI rate loop, as every flight controller keeps; the
  correction is a feed-forward acceleration (m/s², world frame) and the teaching signal the
  position loop's ``Kp e_p + Kd e_v``;
- :class:`ArmReflex`: the operational-space PD of
  :class:`~neurofit.agents.arm_pd.ArmPDController`; the correction is added to the action
  (torque / limit) and the teaching signal is ``J^T Λ Kp e`` in the same units;
- :class:`FeedbackReflex`: any env that reports ``info["error"]`` and has a Box action space
  (Gymnasium's tasks through :class:`~neurofit.envs.error_feedback.ErrorFeedback`): a PD(+I)
  on the error, mapped into the action space through the Jacobian or the map the env declares
  (:class:`~neurofit.envs.error_feedback.FeedbackSpec`), or through a Jacobian it estimates
  online when none is declared.

:func:`make_reflex` picks the reflex from what the env is or declares — its type (the NeuroFit
quadrotor and arm envs) or its feedback declaration — never from a class name.
"""

from __future__ import annotations

import json
import math
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

from neurofit.agents.arm_pd import ArmPDController
from neurofit.agents.pid import QuadPID
from neurofit.envs.arm_reach import ArmReachEnv
from neurofit.envs.error_feedback import find_error_feedback
from neurofit.envs.quadrotor import QuadrotorEnv

__all__ = ["ArmReflex", "FeedbackReflex", "QuadReflex", "Reflex", "make_reflex"]


class Reflex(Protocol):
    """What :class:`~neurofit.agents.neurofit_agent.NeuroFitAgent` needs of a feedback law.

    Per control tick the agent calls ``act`` with the observation and its correction, then,
    after the env step, ``observe`` with the step's ``info`` and (while it learns)
    ``teaching``. ``get_state`` / ``set_state`` carry everything that changes while the reflex
    runs, so a restored reflex acts bit for bit as the saved one would have.
    """

    #: size of the learned correction
    n_correction: int
    #: correction units per unit of network output (the network decodes about [-1, 1])
    correction_scale: float

    def reset(self) -> None: ...

    def observe(self, info: dict[str, Any]) -> None: ...

    def act(self, obs: np.ndarray, correction: np.ndarray) -> np.ndarray: ...

    def teaching(self, obs: np.ndarray, error: np.ndarray) -> np.ndarray: ...

    def get_state(self) -> dict[str, np.ndarray]: ...

    def set_state(self, state: dict[str, np.ndarray]) -> None: ...


def _restore(target: np.ndarray, state: dict[str, np.ndarray], key: str, owner: str) -> None:
    """``target[...] = state[key]``, or a ValueError naming what is missing or misshapen."""
    if key not in state:
        raise ValueError(f"{owner} state has no {key!r} (keys: {sorted(state)})")
    value = np.asarray(state[key])
    if value.shape != target.shape:
        raise ValueError(f"{owner} state {key!r} has shape {value.shape}, expected "
                         f"{target.shape}: it was saved by a reflex of another env")
    target[...] = value


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

    def observe(self, info: dict[str, Any]) -> None:
        """Nothing to take: the cascade reads the error from the observation."""

    def act(self, obs: np.ndarray, correction: np.ndarray) -> np.ndarray:
        return self.pid.act(obs, accel_ff=correction)

    def teaching(self, obs: np.ndarray, error: np.ndarray) -> np.ndarray:
        """``Kp e_p + Kd e_v`` from the env's 6-D error (position, velocity; world frame)."""
        np.multiply(self._kp, error[:3], out=self._teach)
        self._teach += self._kd * error[3:6]
        return self._teach

    def get_state(self) -> dict[str, np.ndarray]:
        """The cascade's integrators and rate history."""
        return {"state": self.pid._state.copy()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        _restore(self.pid._state, state, "state", "QuadReflex")


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

    def observe(self, info: dict[str, Any]) -> None:
        """Nothing to take: the controller reads the target from the observation."""

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

    def get_state(self) -> dict[str, np.ndarray]:
        """The integral of the operational-space error (the controller's only running state;
        its kinematics are recomputed from every observation)."""
        return {"state": self.ctl._integ.copy()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        _restore(self.ctl._integ, state, "state", "ArmReflex")


#: map sources of a :class:`FeedbackReflex`
MAPS = ("jacobian", "declared", "estimated")


class FeedbackReflex:
    """A PD(+I) reflex on the env's error vector ``info["error"]``, for any Box action space.

    The command, in normalised action units ``u`` (−1 … 1 across the action range, so the
    action is ``centre + half_range · clip(u, −1, 1)``), is ::

        v = kp ⊙ e + kd ⊙ ė + ki ⊙ ∫e + c          (error space; c: the learned correction)
        u = B v

    with ``ė`` the error's finite difference over the control period and ``B`` from one of
    three sources (:attr:`map_source`). The error comes from :meth:`observe`; until the first
    one of an episode (the loops give agents only the steps' infos, not the reset's) the
    command is zero, so an episode's first tick has the correction alone.

    Map sources:

    - ``"jacobian"``: the env declares ``G = ∂e/∂(actuated coordinate)`` and reports it every
      step as ``info["error_jacobian"]``; ``B = −Gᵀ``, the Jacobian-transpose law (for
      Reacher-v5 ``Jᵀ(Kp e + Kd ė)`` with ``J`` the fingertip Jacobian);
    - ``"declared"``: a constant ``B`` the env declares (``error_to_action``);
    - ``"estimated"``: nothing declared; ``G`` is estimated online by recursive least squares
      with forgetting from the error's response to a small seeded probe ``p`` added to every
      action: ``Δ²e ≈ G (p_t + p_{t−1})/2 + F (f_t + f_{t−1})/2 + D Δe + b`` (the
      zero-order-hold response of a second-order plant to the probe ``p`` and the feedback
      part ``f`` of the action; ``D Δe`` the velocity terms, damping and the like, ``b`` the
      drift none of these explain). Only ``G``, the probe's coefficient, is used:
      the probe is independent of the state, so ``G`` is not biased by the loop being closed
      (the feedback, correlated with the error, would be). ``B = −Ĝᵀ / ‖Ĝ‖₂``, so the gains
      are action units per unit of error. The estimate carries over episodes.

    The learned correction ``c`` (``n_correction = n_error``, in the units of ``v``) is a
    change of the error the network asks for, ``c / kp``; it becomes action through the damped
    pseudo-inverse of the Jacobian, ``u_c = −Gᵀ (G Gᵀ + λ I)⁻¹ (c / kp)`` with
    ``λ = (damping · ‖G‖₂)²``, so it can move the plant along directions the transpose law
    barely drives (Reacher's outstretched arm), or through ``B`` when the map is declared. The
    teaching signal is the command's feedback part ``kp ⊙ e + kd ⊙ ė`` minus ``leak · c``: the
    correction settles where it balances the reflex's remaining feedback instead of growing
    for as long as any error is left.

    Args:
        n_error: size of the error vector.
        action_low, action_high: the Box action space's bounds (finite).
        dt_s: the env's control period (for ``ė`` and ``∫e``).
        kp, kd, ki: gains per error component (scalars broadcast). ``ki`` is used only with
            ``integral=True``.
        error_to_action: the declared constant map ``B`` (n_action x n_error), for
            ``map_source="declared"``.
        map_source: ``"jacobian"``, ``"declared"`` or ``"estimated"`` (see above).
        integral: integral action on (needs ``ki``).
        integral_limit: clamp of each component of ``∫e`` (anti-windup).
        correction_scale: correction units (those of ``v``) per unit of network output.
        error_scale: typical magnitude of each error component (an agent divides the error
            by it to encode it; default 1).
        leak: pull of the teaching signal back toward no correction.
        damping: relative damping of the correction's pseudo-inverse (see above).
        probe_sd: sd of the estimated map's probe, in normalised action units.
        forgetting: the estimator's forgetting factor per tick (0 < λ <= 1).
        seed: seeds the probe.

    Raises:
        ValueError: a size, gain or bound out of range (the message names it).
    """

    def __init__(self, n_error: int, action_low: np.ndarray, action_high: np.ndarray,
                 dt_s: float, *, kp: Any, kd: Any, ki: Any = 0.0,
                 error_to_action: Any = None, map_source: str = "jacobian",
                 integral: bool = False, integral_limit: float = 1.0,
                 correction_scale: float = 0.5, error_scale: Any = 1.0, leak: float = 6.0,
                 damping: float = 0.5, probe_sd: float = 0.05, forgetting: float = 0.98,
                 seed: int = 0) -> None:
        if isinstance(n_error, bool) or not isinstance(n_error, int) or n_error < 1:
            raise ValueError(f"n_error must be a positive integer, got {n_error!r}")
        low = np.asarray(action_low, dtype=np.float64).reshape(-1)
        high = np.asarray(action_high, dtype=np.float64).reshape(-1)
        if low.shape != high.shape or low.size == 0 or not (
                np.all(np.isfinite(low)) and np.all(np.isfinite(high)) and np.all(high > low)):
            raise ValueError("a feedback reflex needs a Box action space with finite bounds, "
                             f"high > low; got low={action_low!r}, high={action_high!r}")
        if map_source not in MAPS:
            raise ValueError(f"map_source must be one of {MAPS}, got {map_source!r}")
        for name, value in (("dt_s", dt_s), ("integral_limit", integral_limit),
                            ("correction_scale", correction_scale)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        for name, value in (("leak", leak), ("probe_sd", probe_sd), ("damping", damping)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not (isinstance(forgetting, (int, float)) and 0.0 < forgetting <= 1.0):
            raise ValueError(f"forgetting must be in (0, 1], got {forgetting!r}")
        self.n_error, self.n_action = n_error, low.size
        self.map_source = map_source
        self.kp = self._gains("kp", kp, positive=True)
        self.kd = self._gains("kd", kd)
        self.ki = self._gains("ki", ki)
        self.error_scale = self._gains("error_scale", error_scale, positive=True)
        self.integral = bool(integral)
        if self.integral and not np.any(self.ki > 0):
            raise ValueError("integral action needs integral gains ki > 0, and none are "
                             "declared or given for this env")
        self.integral_limit = float(integral_limit)
        self.dt_s = float(dt_s)
        self.correction_scale = float(correction_scale)
        self.n_correction = n_error
        self.leak = float(leak)
        self.damping = float(damping)
        self.probe_sd = float(probe_sd) if map_source == "estimated" else 0.0
        self.forgetting = float(forgetting)
        self._mid = 0.5 * (low + high)
        self._half = 0.5 * (high - low)
        self._map = np.zeros((self.n_action, n_error))  # B
        self._jac = np.zeros((n_error, self.n_action))  # G (declared or estimated)
        if map_source == "declared":
            b = np.asarray(error_to_action, dtype=np.float64) if error_to_action is not None \
                else np.empty(0)
            if b.shape != (self.n_action, n_error) or not np.all(np.isfinite(b)):
                raise ValueError(f"error_to_action must be a finite ({self.n_action}, "
                                 f"{n_error}) map (action x error), got {error_to_action!r}")
            self._map[:] = b
        # running state (all of it in get_state)
        self._e = np.zeros(n_error)
        self._e_prev = np.zeros(n_error)
        self._e_prev2 = np.zeros(n_error)
        self._n_seen = 0  # errors seen this episode (0, 1, 2, 3 = enough for Δ²e)
        self._integ = np.zeros(n_error)
        self._u = np.zeros(self.n_action)  # last applied command (normalised, clipped)
        self._u_prev = np.zeros(self.n_action)
        self._probe = np.zeros(self.n_action)  # the probe in the last command
        self._probe_prev = np.zeros(self.n_action)
        self._n_acted = 0  # commands applied this episode (0, 1, 2)
        self._correction = np.zeros(n_error)
        # the estimate's coefficients [G (probe), F (feedback), b (drift)] and RLS covariance
        n_x = 2 * self.n_action + n_error + 1
        self._g_hat = np.zeros((n_error, n_x))
        self._p = np.eye(n_x) * 1e3
        self._rng = np.random.default_rng(seed)
        self._v = np.zeros(n_error)
        self._teach = np.zeros(n_error)

    def _gains(self, name: str, value: Any, positive: bool = False) -> np.ndarray:
        arr = np.asarray(value, dtype=np.float64).reshape(-1)
        if arr.size == 0:
            arr = np.zeros(1)
        if arr.size == 1:
            arr = np.full(self.n_error, arr[0])
        ok = np.all(np.isfinite(arr)) and (np.all(arr > 0) if positive else np.all(arr >= 0))
        if arr.shape != (self.n_error,) or not ok:
            raise ValueError(f"{name} must be one finite value {'> 0' if positive else '>= 0'} "
                             f"or one per error component ({self.n_error}), got {value!r}")
        return arr

    @classmethod
    def from_env(cls, env: gym.Env[Any, Any], **overrides: Any) -> FeedbackReflex:
        """The reflex for ``env``: error size, gains, scales and map from the env's
        :class:`~neurofit.envs.error_feedback.FeedbackSpec` (``overrides`` replace any
        constructor argument). Without a declaration ``n_error``, ``kp`` and ``kd`` must be
        given, and the map is estimated online.

        Raises:
            ValueError: no ``info["error"]`` adapter, a non-Box action space, or gains missing
                for an env that declares none.
        """
        space = env.action_space
        if not isinstance(space, gym.spaces.Box):
            raise ValueError(f"a feedback reflex needs a Box action space, got {space}")
        wrapper = find_error_feedback(env)
        if wrapper is None:
            raise ValueError("a feedback reflex needs the env's error info['error']: wrap the "
                             "env with neurofit.envs.error_feedback.ErrorFeedback "
                             "(make_with_error)")
        spec = wrapper.feedback
        kwargs: dict[str, Any] = {"dt_s": float(getattr(env.unwrapped, "dt", 0.01))}
        if spec is not None:
            kwargs.update(kp=spec.kp, kd=spec.kd, ki=spec.ki or 0.0, error_scale=spec.error_scale,
                          map_source="jacobian" if spec.jacobian_fn is not None else "declared",
                          error_to_action=spec.error_to_action)
            n_error = len(spec.kp)
        else:
            missing = [k for k in ("kp", "kd", "n_error") if k not in overrides]
            if missing:
                raise ValueError(
                    "this env declares no feedback (ErrorFeedback(..., feedback=FeedbackSpec))"
                    f": give the reflex's {', '.join(missing)} (the map is then estimated "
                    "online)")
            kwargs["map_source"] = "estimated"
            n_error = int(overrides["n_error"])
        kwargs.update({k: v for k, v in overrides.items() if k != "n_error"})
        return cls(n_error, space.low, space.high, **kwargs)

    # ------------------------------------------------------------------ episode
    def reset(self) -> None:
        """Start an episode: forget the error history, the integral and the last actions
        (an estimated map is kept)."""
        self._n_seen = 0
        self._n_acted = 0
        self._integ[:] = 0.0
        self._correction[:] = 0.0

    def observe(self, info: dict[str, Any]) -> None:
        """Take the error (and declared Jacobian) the env reported with the latest observation
        (the reset's info, then every step's)."""
        error = info.get("error")
        if error is None:
            raise ValueError("the feedback reflex needs info['error'] on every reset and step; "
                             "wrap the env with neurofit.envs.error_feedback.ErrorFeedback")
        e = np.asarray(error, dtype=np.float64)
        if e.shape != (self.n_error,):
            raise ValueError(f"info['error'] has shape {e.shape}, but the reflex was built for "
                             f"{self.n_error} error components")
        if self.map_source == "jacobian":
            jac = info.get("error_jacobian")
            if jac is None:
                raise ValueError("the reflex was built from a declared error Jacobian, but "
                                 "info has no 'error_jacobian': drive it with the env it was "
                                 "built for")
            self._jac[:] = jac
            np.negative(self._jac.T, out=self._map)
        self._e_prev2[:] = self._e_prev
        self._e_prev[:] = self._e
        self._e[:] = e
        self._n_seen = min(self._n_seen + 1, 3)
        if self.map_source == "estimated" and self._n_seen == 3 and self._n_acted == 2:
            self._estimate()
        if self.integral:
            np.clip(self._integ + e * self.dt_s, -self.integral_limit, self.integral_limit,
                    out=self._integ)

    def _estimate(self) -> None:
        """One RLS step of the class docstring's regression, with forgetting; ``B`` follows."""
        probe = 0.5 * (self._probe + self._probe_prev)
        x = np.concatenate((probe, 0.5 * (self._u + self._u_prev) - probe,
                            self._e_prev - self._e_prev2, (1.0,)))
        y = self._e - 2.0 * self._e_prev + self._e_prev2
        px = self._p @ x
        k = px / (self.forgetting + x @ px)
        self._g_hat += np.outer(y - self._g_hat @ x, k)
        self._p -= np.outer(k, px)
        self._p /= self.forgetting
        g = self._g_hat[:, :self.n_action]
        self._jac[:] = g
        norm = np.linalg.norm(g, 2)
        if norm > 0:
            np.multiply(g.T, -1.0 / norm, out=self._map)

    def _command(self) -> np.ndarray:
        """``kp ⊙ e + kd ⊙ ė (+ ki ⊙ ∫e)`` of the latest error (zero before the first)."""
        v = self._v
        if self._n_seen == 0:
            v[:] = 0.0
            return v
        np.multiply(self.kp, self._e, out=v)
        if self._n_seen > 1:
            v += self.kd * (self._e - self._e_prev) / self.dt_s
        if self.integral:
            v += self.ki * self._integ
        return v

    def _correction_to_action(self) -> np.ndarray:
        """``u_c``: the correction through ``B`` (declared map) or ``G``'s damped
        pseudo-inverse (class docstring)."""
        c = self._correction
        if self.map_source == "declared":
            return self._map @ c
        g = self._jac
        gram = g @ g.T
        lam = (self.damping * np.linalg.norm(g, 2)) ** 2
        if lam == 0.0:  # no map yet (an estimate still at zero)
            return np.zeros(self.n_action)
        gram[np.diag_indices_from(gram)] += lam
        return -(g.T @ np.linalg.solve(gram, c / self.kp))

    def act(self, obs: np.ndarray, correction: np.ndarray) -> np.ndarray:
        """The action: ``B · command + u_c`` (plus the probe of an estimated map)."""
        self._correction[:] = correction
        u = self._map @ self._command()
        if np.any(self._correction):
            u += self._correction_to_action()
        self._probe_prev[:] = self._probe
        if self.probe_sd > 0:
            # the probe as applied: what it changed of the clipped command
            feedback = np.clip(u, -1.0, 1.0)
            u += self._rng.normal(0.0, self.probe_sd, self.n_action)
            np.clip(u, -1.0, 1.0, out=u)
            np.subtract(u, feedback, out=self._probe)
        else:
            np.clip(u, -1.0, 1.0, out=u)
        self._u_prev[:] = self._u
        self._u[:] = u
        self._n_acted = min(self._n_acted + 1, 2)
        return (self._mid + self._half * u).astype(np.float32)

    def teaching(self, obs: np.ndarray, error: np.ndarray) -> np.ndarray:
        """``kp ⊙ e + kd ⊙ ė − leak · c`` at the latest error (call after :meth:`observe`)."""
        t = self._teach
        t[:] = self._command()
        if self.integral:
            t -= self.ki * self._integ
        t -= self.leak * self._correction
        return t

    # ------------------------------------------------------------------ state
    def get_state(self) -> dict[str, np.ndarray]:
        """Error history, integral, last commands, the estimated map and the probe's stream."""
        rng = json.dumps(self._rng.bit_generator.state).encode()
        return {"e": self._e.copy(), "e_prev": self._e_prev.copy(),
                "e_prev2": self._e_prev2.copy(), "integ": self._integ.copy(),
                "u": self._u.copy(), "u_prev": self._u_prev.copy(),
                "probe": self._probe.copy(), "probe_prev": self._probe_prev.copy(),
                "counts": np.array([self._n_seen, self._n_acted]),
                "correction": self._correction.copy(), "map": self._map.copy(),
                "jac": self._jac.copy(),
                "g_hat": self._g_hat.copy(), "p": self._p.copy(),
                "rng": np.frombuffer(rng, dtype=np.uint8).copy()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`get_state` returned."""
        for key, target in (("e", self._e), ("e_prev", self._e_prev),
                            ("e_prev2", self._e_prev2), ("integ", self._integ),
                            ("u", self._u), ("u_prev", self._u_prev),
                            ("probe", self._probe), ("probe_prev", self._probe_prev),
                            ("correction", self._correction), ("map", self._map),
                            ("jac", self._jac),
                            ("g_hat", self._g_hat), ("p", self._p)):
            _restore(target, state, key, "FeedbackReflex")
        counts = np.zeros(2, dtype=np.int64)
        _restore(counts, state, "counts", "FeedbackReflex")
        self._n_seen, self._n_acted = int(counts[0]), int(counts[1])
        if "rng" not in state:
            raise ValueError("FeedbackReflex state has no 'rng'")
        self._rng.bit_generator.state = json.loads(bytes(np.asarray(state["rng"])).decode())


def make_reflex(env: Any, **kwargs: Any) -> QuadReflex | ArmReflex | FeedbackReflex:
    """The reflex for ``env``, chosen by what the env is or declares.

    A NeuroFit quadrotor (:class:`~neurofit.envs.quadrotor.QuadrotorEnv` or a subclass) gets a
    :class:`QuadReflex`, the NeuroFit arm (:class:`~neurofit.envs.arm_reach.ArmReachEnv`) an
    :class:`ArmReflex`; any other env that reports ``info["error"]`` through an
    :class:`~neurofit.envs.error_feedback.ErrorFeedback` wrapper and has a Box action space
    gets a :class:`FeedbackReflex` from its feedback declaration (``kwargs`` go to the
    reflex's constructor or :meth:`FeedbackReflex.from_env`).

    Raises:
        ValueError: the env is none of these.
    """
    base = env.unwrapped
    if isinstance(base, QuadrotorEnv):
        return QuadReflex(env, **kwargs)
    if isinstance(base, ArmReachEnv):
        return ArmReflex(env, **kwargs)
    if find_error_feedback(env) is not None:
        return FeedbackReflex.from_env(env, **kwargs)
    spec = getattr(env, "spec", None)
    name = spec.id if spec is not None else type(base).__name__
    raise ValueError(
        f"no reflex for {name}: error mode needs a NeuroFit quadrotor or arm env, or an env "
        "that reports info['error'] (wrap it with neurofit.envs.error_feedback.ErrorFeedback, "
        "e.g. make_with_error)")
