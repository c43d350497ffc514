"""Learners for obstacle flight on a range scan (``neurofit/QuadForest-v0`` and any env that
declares the same layout: ``OBS_SLICES`` ``"state"``, ``"goal"``, ``"scan"``).

The split is the one of the laser-scan navigation literature: a fast inner reflex keeps the
drone upright and flying, the learned part turns the scan into where to fly.

- :class:`ForestReflex`: the quadrotor cascade (:class:`~neurofit.agents.pid.QuadPID`, PD
  position loop) on the observation's state block, i.e. toward the goal at cruise speed, plus a
  learned horizontal feed-forward acceleration ``c``. With the privileged teacher on, the
  env's ``info["error"]`` is the teacher's set-point minus the state, so the correction that
  makes the cascade fly the teacher is exactly ::

      c* = Kp ⊙ (e_p,teacher − e_p,obs) + Kd ⊙ (e_v,teacher − e_v,obs)   (horizontal part)
         = Kd ⊙ (v_teacher − v_target)

  and the teaching signal is what the reflex still lacks, ``c* − c`` (feedback-error
  learning: the reflex's feedback toward the teacher minus the feedback and correction it
  already gives). ``teacher_mix`` β adds ``β (c* − c)`` to the flown correction during
  training (β = 1 flies the teacher, β = 0 flies the learner; decaying β is DAgger's schedule).
  With the teacher off (``info["error"]`` NaN) nothing of it is read: no mix, no teaching.
- :class:`ForestNeuroFitAgent`: a :class:`~neurofit.agents.neurofit_agent.NeuroFitAgent` in
  error mode whose features are the scan and the goal direction
  (:func:`~neurofit.agents.features.scan_features`), on this reflex.
- :class:`ForestMLPAgent`: its DNN twin, a :class:`~neurofit.agents.mlp_feedback.FeedbackMLPAgent`
  on the same features, reflex and teaching signal (one SGD step per tick).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurofit.agents.features import ScanLayout, scan_features, scan_layout
from neurofit.agents.mlp_feedback import FeedbackMLPAgent
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.pid import QuadPID
from neurofit.agents.reflex import _restore
from neurofit.agents.rollout import ReflexAgent
from neurofit.agents.usage import Usage
from neurofit.envs.quadrotor import OBS_VEL_ERR, QuadrotorEnv

__all__ = ["ForestMLPAgent", "ForestNeuroFitAgent", "ForestReflex", "ForestReflexAgent",
           "require_scan_layout"]

#: the correction's range: velocity offsets up to this many cruise speeds (the teacher's
#: command differs from the nominal one by at most 2 cruise speeds: a U-turn)
_SPEED_RANGE = 2.0


def require_scan_layout(env: Any) -> ScanLayout:
    """The env's scan layout, or a ValueError saying what the forest learners need."""
    layout = scan_layout(env)
    base = env.unwrapped
    if layout is None or not isinstance(base, QuadrotorEnv):
        name = getattr(getattr(env, "spec", None), "id", None) or type(base).__name__
        raise ValueError(
            f"{name} declares no range scan: the forest learners need a NeuroFit quadrotor env "
            'with OBS_SLICES "state", "goal" and "scan" (e.g. neurofit/QuadForest-v0)')
    return layout


def _cruise_speed_mps(env: Any) -> float:
    """The env's commanded cruise speed (the nominal set-point's speed)."""
    base = env.unwrapped
    speed = getattr(base, "cruise_speed_mps", None)
    if speed is None or not math.isfinite(float(speed)) or float(speed) <= 0:
        raise ValueError(f"{type(base).__name__} has no cruise speed: the forest reflex scales "
                         "its correction by it")
    return float(speed)


class ForestReflex:
    """PD cascade toward the goal at cruise speed, plus a learned horizontal acceleration
    (module docstring).

    Follows the :class:`~neurofit.agents.reflex.Reflex` protocol with one addition: the agent
    hands it the full observation (:meth:`see`) before ``act`` and ``teaching``, since the
    network's own input is the scan features, not the observation.

    Args:
        env: the env (declares the scan layout).
        teacher_mix: β in [0, 1], the share of the missing correction ``c* − c`` flown while
            the teacher is on (0: the learner flies alone).
    """

    n_correction = 2

    def __init__(self, env: Any, teacher_mix: float = 0.0) -> None:
        self.layout = require_scan_layout(env)
        if not (isinstance(teacher_mix, (int, float)) and 0.0 <= teacher_mix <= 1.0):
            raise ValueError(f"teacher_mix must be a number in [0, 1], got {teacher_mix!r}")
        self.teacher_mix = float(teacher_mix)
        self.pid = QuadPID.from_env(env, integral=False)
        self._kd = np.asarray(self.pid.gains.kd_pos, dtype=np.float64)[:2].copy()
        self.speed_scale_mps = _SPEED_RANGE * _cruise_speed_mps(env)
        #: acceleration per unit of network output [m/s²]
        self.correction_scale = float(np.max(self._kd)) * self.speed_scale_mps
        self._obs = np.zeros(self.layout.scan.stop)
        self._error = np.full(6, math.nan)
        self._target = np.zeros(2)
        self._c = np.zeros(2)
        self._ff = np.zeros(3)
        self._teach = np.zeros(2)

    def reset(self) -> None:
        self.pid.reset()
        self._error[:] = math.nan
        self._c[:] = 0.0

    def see(self, obs: np.ndarray) -> None:
        """The full observation of this tick (state block and all)."""
        self._obs[:] = obs

    def observe(self, info: dict[str, Any]) -> None:
        """Keep the teacher's error of the latest observation; NaN (teacher off) is kept as
        no error."""
        error = info.get("error")
        if error is None:
            self._error[:] = math.nan
            return
        self._error[:] = error

    @property
    def has_teacher(self) -> bool:
        """Whether the latest error came from a teacher (finite)."""
        return bool(np.all(np.isfinite(self._error)))

    def target(self) -> np.ndarray | None:
        """``c*`` at the latest observation and error, or None without a teacher."""
        if not self.has_teacher:
            return None
        e_v = self._obs[OBS_VEL_ERR]
        np.multiply(self._kd, self._error[3:5] - e_v[:2], out=self._target)
        return self._target

    def act(self, obs: np.ndarray, correction: np.ndarray) -> np.ndarray:
        """The cascade on the state block with ``correction`` (+ β (c* − c) with a teacher)."""
        self._c[:] = correction
        ff = self._ff
        ff[:2] = correction
        if self.teacher_mix > 0.0:
            target = self.target()
            if target is not None:
                ff[:2] += self.teacher_mix * (target - self._c)
        return self.pid.act(self._obs[self.layout.state], accel_ff=ff)

    def teaching(self, obs: np.ndarray, error: np.ndarray) -> np.ndarray:
        """``c* − c``: the correction the reflex still lacks (zero without a teacher)."""
        target = self.target()
        if target is None:
            self._teach[:] = 0.0
        else:
            np.subtract(target, self._c, out=self._teach)
        return self._teach

    def get_state(self) -> dict[str, np.ndarray]:
        """The cascade's integrators and rate history, the latest error and correction."""
        return {"state": self.pid._state.copy(), "error": self._error.copy(),
                "correction": self._c.copy(), "obs": self._obs.copy()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        _restore(self.pid._state, state, "state", "ForestReflex")
        _restore(self._error, state, "error", "ForestReflex")
        _restore(self._c, state, "correction", "ForestReflex")
        _restore(self._obs, state, "obs", "ForestReflex")


class ForestReflexAgent(ReflexAgent):
    """A :class:`ForestReflex` with no network: ``teacher_mix=0`` is the reflex alone (the
    straight line to the goal), ``teacher_mix=1`` flies the privileged teacher."""

    def __init__(self, env: Any, teacher_mix: float = 0.0) -> None:
        super().__init__(ForestReflex(env, teacher_mix))

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.reflex.see(np.asarray(obs, dtype=np.float64))
        return super().act(obs)

    def observe(self, obs: np.ndarray, reward: float, terminated: bool,
                info: dict[str, Any]) -> None:
        self.reflex.see(np.asarray(obs, dtype=np.float64))
        super().observe(obs, reward, terminated, info)

    def describe(self) -> dict[str, Any]:
        mix = self.reflex.teacher_mix
        return {"text": "forest reflex flying the teacher" if mix == 1.0 else
                f"forest reflex, teacher mix {mix:g} (no network)"}


def _teacher_error(info: dict[str, Any]) -> np.ndarray | None:
    """``info["error"]`` when a teacher reported it (finite), else None."""
    error = info.get("error")
    if error is None:
        return None
    e = np.asarray(error, dtype=np.float64)
    return e if bool(np.all(np.isfinite(e))) else None


class _TeacherMixSetting:
    """``teacher_mix`` of an agent's :class:`ForestReflex`, validated (settable between
    episodes)."""

    reflex: ForestReflex

    @property
    def teacher_mix(self) -> float:
        return self.reflex.teacher_mix

    @teacher_mix.setter
    def teacher_mix(self, value: float) -> None:
        if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
            raise ValueError(f"teacher_mix must be a number in [0, 1], got {value!r}")
        self.reflex.teacher_mix = float(value)


class ForestNeuroFitAgent(_TeacherMixSetting):
    """Error-mode NeuroFit from the scan: features → spiking network → correction of a
    :class:`ForestReflex`, learned from the teacher's error; with the teacher off it flies on
    the scan alone and learns nothing.

    Args:
        env: the env (declares the scan layout).
        config: the network's config (error mode; e.g. ``execution="event-driven"``).
        teacher_mix: see :class:`ForestReflex` (settable between episodes).
    """

    def __init__(self, env: Any, config: AgentConfig | None = None,
                 teacher_mix: float = 0.0) -> None:
        config = config or AgentConfig(mode="error", execution="event-driven")
        if config.mode != "error":
            raise ValueError(f"the forest NeuroFit agent learns in error mode, got mode="
                             f"{config.mode!r}")
        self.reflex = ForestReflex(env, teacher_mix)
        self.layout = self.reflex.layout
        self._features = np.zeros(self.layout.n_features)
        self.net = NeuroFitAgent(config, self.layout.n_features, ForestReflex.n_correction,
                                 reflex=self.reflex, feature_kind="obs",
                                 control_dt_s=float(env.unwrapped.dt))
        self.config = config
        self.learning = True

    @property
    def policy(self) -> Any:
        """The spiking policy (its network's counters are what the energy report reads)."""
        return self.net.policy

    @property
    def n_neurons(self) -> int:
        return self.net.n_neurons

    def reset(self) -> None:
        self.net.reset()

    def act(self, obs: np.ndarray) -> np.ndarray:
        obs = np.asarray(obs, dtype=np.float64)
        self.reflex.see(obs)
        return self.net.act(scan_features(obs, self.layout, self._features))

    def observe(self, obs: np.ndarray, reward: float, terminated: bool,
                info: dict[str, Any]) -> None:
        """Learn from the teacher's error; with none (NaN: teacher off) nothing is learned
        and the error is never used."""
        obs = np.asarray(obs, dtype=np.float64)
        self.reflex.see(obs)
        error = _teacher_error(info)
        self.net.learning = self.learning and error is not None
        fed = {"error": error if error is not None else np.full(6, math.nan)}
        self.net.observe(scan_features(obs, self.layout, self._features), reward, terminated,
                         fed)

    def save(self, path: str | Path) -> None:
        self.net.save(path)

    def load_state(self, path: str | Path) -> None:
        self.net.load_state(path)

    def usage(self) -> Usage:
        return self.net.usage()

    def describe(self) -> dict[str, Any]:
        d = self.net.describe()
        d["text"] = f"{d['text']}, scan {self.layout.n_rays} rays"
        d["execution"] = self.config.execution
        coding = getattr(self.config, "coding", None)
        if coding is not None:
            d["coding"] = coding
        return d


class ForestMLPAgent(_TeacherMixSetting, FeedbackMLPAgent):
    """The DNN twin of :class:`ForestNeuroFitAgent`: the same reflex, features and teaching
    signal, an MLP learned online by SGD (``hidden=()`` is a linear map).

    Args:
        env: the env (declares the scan layout).
        hidden: hidden-layer widths.
        learning_rate: SGD step (network units per unit of teaching signal).
        teacher_mix: see :class:`ForestReflex`.
        seed: seeds the initial weights.
    """

    def __init__(self, env: Any, *, hidden: Sequence[int] = (8,), learning_rate: float = 0.05,
                 teacher_mix: float = 0.0, seed: int = 0) -> None:
        reflex = ForestReflex(env, teacher_mix)
        self.layout = reflex.layout
        super().__init__(reflex, self.layout.n_features, hidden=hidden,
                         learning_rate=learning_rate, control_dt_s=float(env.unwrapped.dt),
                         seed=seed)
        self._f = np.zeros(self.layout.n_features)

    def features(self, obs: np.ndarray) -> np.ndarray:
        """The scan features (:func:`~neurofit.agents.features.scan_features`)."""
        return scan_features(np.asarray(obs, dtype=np.float64), self.layout, self._f)

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.reflex.see(np.asarray(obs, dtype=np.float64))
        return super().act(obs)

    def observe(self, obs: np.ndarray, reward: float, terminated: bool,
                info: dict[str, Any]) -> None:
        """One SGD step on ``c* − c`` with a teacher; none (NaN error) learns nothing."""
        self.reflex.see(np.asarray(obs, dtype=np.float64))
        error = _teacher_error(info)
        self.reflex.observe({"error": error})
        if error is None:
            return
        super().observe(obs, reward, terminated, {"error": error})
