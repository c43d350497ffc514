"""Error adapters: give any Gymnasium env the task error vector ``info["error"]``.

NeuroFit's agents learn from a scalar reward and a vector *error*. NeuroFit's own envs put the
error in ``info["error"]``; :class:`ErrorFeedback` adds it to envs that do not, through an
``error_fn(env, obs, info) -> np.ndarray``.

Sign convention (the same as the NeuroFit envs): **error = desired − actual**, i.e. the
direction in which the controlled quantity has to move. The ready error functions read the true
simulator state (``env.unwrapped.data``), not the observation, so observation wrappers
(normalisation, noise) do not change the error.

Ready error functions:

- ``InvertedPendulum-v5`` (:func:`inverted_pendulum_error`): ``[0 − pole angle (rad),
  0 − cart position (m)]``. The observation is ``[cart x, pole angle, cart vel, pole ang. vel]``
  (``qpos`` then ``qvel`` of slider ``slider`` and hinge ``hinge``), so the error is
  ``[-obs[1], -obs[0]]``.
- ``Reacher-v5`` (:func:`reacher_error`): ``target − fingertip`` in the plane (x, y), metres.
  Observation elements 8-9 are ``fingertip − target``, so the error is ``-obs[8:10]``.

Where the task has a position target, the wrapper also adds the tracking error
``info["tracking_error_m"]`` (:mod:`neurofit.envs.tracking`: the distance from the target to
the controlled point, metres) through a ``tracking_fn(env, obs, info) -> float``; ready ones are
in :data:`TRACKING_FUNCTIONS` (``Reacher-v5``: :func:`reacher_tracking_error_m`, fingertip to
target). ``InvertedPendulum-v5`` has no position target: no tracking error, reports say n/a.

Feedback declarations (:class:`FeedbackSpec`, ready ones in :data:`FEEDBACK_SPECS`): what a
feedback reflex needs to act on the error — the PD(+I) gains tuned for the task and how the
error maps into the action space, either a Jacobian the wrapper computes every step and adds as
``info["error_jacobian"]`` (``∂error/∂coordinate``, one column per actuator, each for the
coordinate that actuator drives) or a constant ``error_to_action`` map. The reflex
(:class:`neurofit.agents.reflex.FeedbackReflex`) reads the declaration from the wrapper; an env
without one gets a reflex that estimates the map online.

- ``Reacher-v5`` (:func:`reacher_error_jacobian`): ``−∂fingertip/∂q`` (x, y rows; the two
  hinges), from ``mujoco.mj_jacBody`` (m/rad); the reflex's command is the
  Jacobian-transpose PD ``Jᵀ(Kp e + Kd ė)``.
- ``InvertedPendulum-v5``: a declared sign map ``[[-1, -1]]`` (push the cart toward the side
  the pole leans to, and away from the side the cart should return to: the cart-pole's
  non-minimum-phase position loop), with gains that balance every seeded episode.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, SupportsFloat

import gymnasium as gym
import mujoco
import numpy as np

__all__ = [
    "ERROR_FUNCTIONS",
    "FEEDBACK_SPECS",
    "TRACKING_FUNCTIONS",
    "ErrorFeedback",
    "ErrorFn",
    "FeedbackSpec",
    "JacobianFn",
    "TrackingFn",
    "actuated_dofs",
    "find_error_feedback",
    "inverted_pendulum_error",
    "make_with_error",
    "reacher_error",
    "reacher_error_jacobian",
    "reacher_tracking_error_m",
]

#: ``error_fn(env, obs, info) -> error vector``; ``env`` is the env inside the wrapper.
ErrorFn = Callable[[gym.Env, Any, dict[str, Any]], np.ndarray]
#: ``tracking_fn(env, obs, info) -> distance to the target [m]``, like :data:`ErrorFn`.
TrackingFn = Callable[[gym.Env, Any, dict[str, Any]], float]
#: ``jacobian_fn(env, obs, info) -> (n_error, n_action)``: ∂error/∂(coordinate each actuator
#: drives), like :data:`ErrorFn`.
JacobianFn = Callable[[gym.Env, Any, dict[str, Any]], np.ndarray]


def inverted_pendulum_error(env: gym.Env, obs: Any, info: dict[str, Any]) -> np.ndarray:
    """``[-pole angle, -cart position]`` of Gymnasium's ``InvertedPendulum-v5`` (rad, m)."""
    qpos = env.unwrapped.data.qpos  # type: ignore[attr-defined]
    return np.array([-qpos[1], -qpos[0]], dtype=np.float64)


def reacher_error(env: gym.Env, obs: Any, info: dict[str, Any]) -> np.ndarray:
    """``target − fingertip`` (x, y) of Gymnasium's ``Reacher-v5`` (m)."""
    data = env.unwrapped.data  # type: ignore[attr-defined]
    # same body positions the env uses for its observation (get_body_com == xpos)
    return (data.body("target").xpos[:2] - data.body("fingertip").xpos[:2]).astype(np.float64)


def reacher_tracking_error_m(env: gym.Env, obs: Any, info: dict[str, Any]) -> float:
    """Distance from the target to the fingertip of Gymnasium's ``Reacher-v5`` (m)."""
    data = env.unwrapped.data  # type: ignore[attr-defined]
    return float(np.linalg.norm(data.body("target").xpos - data.body("fingertip").xpos))


#: Ready error functions by env id.
ERROR_FUNCTIONS: dict[str, ErrorFn] = {
    "InvertedPendulum-v5": inverted_pendulum_error,
    "Reacher-v5": reacher_error,
}
#: Ready tracking-error functions by env id (only tasks with a position target).
TRACKING_FUNCTIONS: dict[str, TrackingFn] = {
    "Reacher-v5": reacher_tracking_error_m,
}


_ONE_DOF_JOINTS = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))


def actuated_dofs(model: mujoco.MjModel) -> np.ndarray:
    """The degree of freedom each actuator drives (joint transmissions only).

    Raises:
        ValueError: An actuator drives something other than a hinge or slide joint.
    """
    dofs = np.empty(model.nu, dtype=np.intp)
    for i in range(model.nu):
        joint = int(model.actuator_trnid[i, 0])
        if (int(model.actuator_trntype[i]) != int(mujoco.mjtTrn.mjTRN_JOINT)
                or int(model.jnt_type[joint]) not in _ONE_DOF_JOINTS):
            raise ValueError(f"actuator {i} does not drive a hinge or slide joint: no "
                             "per-actuator coordinate for an error Jacobian")
        dofs[i] = model.jnt_dofadr[joint]
    return dofs


def reacher_error_jacobian(env: gym.Env, obs: Any, info: dict[str, Any]) -> np.ndarray:
    """``∂error/∂q`` of Gymnasium's ``Reacher-v5`` (2 x 2, m/rad): ``−∂fingertip/∂q`` for the
    two actuated hinges (the target does not move with them), from ``mujoco.mj_jacBody``.

    Read from the env's kinematics as they stand (those of the step's last physics substep,
    which :func:`reacher_error` and the observation read too), so the Jacobian belongs to the
    same configuration as the error; the env's data is not changed.
    """
    base = env.unwrapped
    model, data = base.model, base.data  # type: ignore[attr-defined]
    jac = np.zeros((3, model.nv))
    mujoco.mj_jacBody(model, data, jac, None, model.body("fingertip").id)
    return -jac[:2, actuated_dofs(model)]


@dataclass(frozen=True)
class FeedbackSpec:
    """What a feedback reflex needs to act on an env's error (see the module docstring).

    The reflex's command, in normalised action units (−1 … 1 across the action range), is
    ``B (kp ⊙ e + kd ⊙ ė + ki ⊙ ∫e)`` with ``B = −Gᵀ`` for a declared Jacobian
    ``G = info["error_jacobian"]`` or ``B = error_to_action``.

    Attributes:
        kp, kd, ki: gains per error component (``ki`` empty: no integral action declared).
        error_scale: typical magnitude of each error component (scales it to about [-1, 1]
            where an agent encodes the error).
        jacobian_fn: computes ``G`` (n_error x n_action) every step; or
        error_to_action: a constant ``B`` (n_action rows of n_error), e.g. a sign map.

    Raises:
        ValueError: gains or scales that are not finite (scales and kp not > 0, kd, ki
            not >= 0), sizes that differ, or not exactly one of ``jacobian_fn`` and
            ``error_to_action``.
    """

    kp: tuple[float, ...]
    kd: tuple[float, ...]
    error_scale: tuple[float, ...]
    ki: tuple[float, ...] = ()
    jacobian_fn: JacobianFn | None = None
    error_to_action: tuple[tuple[float, ...], ...] | None = None

    def __post_init__(self) -> None:
        n = len(self.kp)
        for name, low, allow_empty in (("kp", 0.0, False), ("kd", 0.0, False),
                                       ("error_scale", 0.0, False), ("ki", 0.0, True)):
            values = getattr(self, name)
            if allow_empty and len(values) == 0:
                continue
            if len(values) != n or n == 0:
                raise ValueError(f"FeedbackSpec.{name} must have one value per error component "
                                 f"({n}), got {values!r}")
            strict = name in ("kp", "error_scale")
            if not all(isinstance(v, (int, float)) and math.isfinite(v)
                       and (v > low if strict else v >= low) for v in values):
                raise ValueError(f"FeedbackSpec.{name} must be finite numbers "
                                 f"{'> 0' if strict else '>= 0'}, got {values!r}")
        if (self.jacobian_fn is None) == (self.error_to_action is None):
            raise ValueError("FeedbackSpec needs exactly one of jacobian_fn and error_to_action")
        if self.jacobian_fn is not None and not callable(self.jacobian_fn):
            raise ValueError(f"FeedbackSpec.jacobian_fn must be callable, got "
                             f"{self.jacobian_fn!r}")
        if self.error_to_action is not None:
            b = np.asarray(self.error_to_action, dtype=np.float64)
            if b.ndim != 2 or b.shape[1] != n or not np.all(np.isfinite(b)):
                raise ValueError(f"FeedbackSpec.error_to_action must be finite rows of {n} "
                                 f"values (one row per action), got {self.error_to_action!r}")


#: Ready feedback declarations by env id. Reacher's gains maximise the reflex's own mean
#: return (a grid over kp and kd, 100 seeded episodes); the pendulum's balance every episode
#: with the smallest cart excursion among the balancing gains of a grid.
FEEDBACK_SPECS: dict[str, FeedbackSpec] = {
    "Reacher-v5": FeedbackSpec(kp=(24.0, 24.0), kd=(1.6, 1.6), error_scale=(0.2, 0.2),
                               jacobian_fn=reacher_error_jacobian),
    "InvertedPendulum-v5": FeedbackSpec(kp=(3.0, 1.0), kd=(0.3, 0.3), error_scale=(0.2, 1.0),
                                        error_to_action=((-1.0, -1.0),)),
}


class ErrorFeedback(gym.Wrapper[Any, Any, Any, Any]):
    """Adds ``info["error"] = error_fn(env, obs, info)`` on every ``reset`` and ``step``, and
    ``info["tracking_error_m"] = tracking_fn(env, obs, info)`` when ``tracking_fn`` is given.

    Args:
        env: The env to wrap.
        error_fn: ``(env, obs, info) -> 1-D array``; called with the wrapped env (not this
            wrapper), the observation and the info just returned by it.
        tracking_fn: ``(env, obs, info) -> float``, the distance from the target position to
            the controlled point in metres (:mod:`neurofit.envs.tracking`); None for a task
            without a position target.
        feedback: what a feedback reflex needs to act on the error (:class:`FeedbackSpec`),
            kept as :attr:`feedback`; with a ``jacobian_fn`` the wrapper also adds
            ``info["error_jacobian"]`` (n_error x n_action) on every ``reset`` and ``step``.
            None: nothing declared (a reflex estimates the map online).

    Raises:
        ValueError: If ``error_fn`` returns something that is not a finite 1-D vector, or
            the declared Jacobian or map does not fit the error and the action space.
    """

    def __init__(self, env: gym.Env, error_fn: ErrorFn,
                 tracking_fn: TrackingFn | None = None,
                 feedback: FeedbackSpec | None = None) -> None:
        if not callable(error_fn):
            raise ValueError(
                f"error_fn must be callable (env, obs, info) -> array, got {error_fn!r}"
            )
        if tracking_fn is not None and not callable(tracking_fn):
            raise ValueError(
                f"tracking_fn must be None or callable (env, obs, info) -> float, "
                f"got {tracking_fn!r}"
            )
        if feedback is not None and not isinstance(feedback, FeedbackSpec):
            raise ValueError(f"feedback must be None or a FeedbackSpec, got {feedback!r}")
        super().__init__(env)
        self._error_fn = error_fn
        self._tracking_fn = tracking_fn
        #: the feedback declaration (None: nothing declared)
        self.feedback = feedback

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the wrapped env and add ``info["error"]``."""
        obs, info = self.env.reset(seed=seed, options=options)
        info = dict(info)
        self._add(obs, info)
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the wrapped env and add ``info["error"]``."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        info = dict(info)
        self._add(obs, info)
        return obs, reward, terminated, truncated, info

    def _add(self, obs: Any, info: dict[str, Any]) -> None:
        err = np.array(self._error_fn(self.env, obs, info), dtype=np.float64)
        if err.ndim != 1 or err.size == 0:
            raise ValueError(f"error_fn must return a non-empty 1-D vector, got shape {err.shape}")
        if self._tracking_fn is not None:
            info["tracking_error_m"] = float(self._tracking_fn(self.env, obs, info))
        spec = self.feedback
        if spec is not None:
            n_action = int(np.prod(self.action_space.shape or (0,)))
            if len(spec.kp) != err.size:
                raise ValueError(f"the feedback declaration has {len(spec.kp)} gains per "
                                 f"component, but the error has {err.size} components")
            if spec.jacobian_fn is not None:
                jac = np.array(spec.jacobian_fn(self.env, obs, info), dtype=np.float64)
                if jac.shape != (err.size, n_action) or not np.all(np.isfinite(jac)):
                    raise ValueError(f"jacobian_fn must return a finite ({err.size}, {n_action})"
                                     f" array (error x action), got shape {jac.shape}")
                info["error_jacobian"] = jac
            elif len(spec.error_to_action or ()) != n_action:
                raise ValueError(f"the declared error_to_action has "
                                 f"{len(spec.error_to_action or ())} rows, but the action space "
                                 f"has {n_action} components")
        info["error"] = err


def find_error_feedback(env: gym.Env) -> ErrorFeedback | None:
    """The outermost :class:`ErrorFeedback` among ``env``'s wrappers (None if there is none)."""
    e: Any = env
    while isinstance(e, gym.Wrapper):
        if isinstance(e, ErrorFeedback):
            return e
        e = e.env
    return None


def make_with_error(env_id: str, error_fn: ErrorFn | None = None, **kwargs: Any) -> gym.Env:
    """``gymnasium.make(env_id, **kwargs)`` with ``info["error"]`` guaranteed.

    ``neurofit/`` ids already report the error and are returned as made. For other ids the
    ready error function of :data:`ERROR_FUNCTIONS` is used, or ``error_fn`` if given; the
    tracking error of :data:`TRACKING_FUNCTIONS` and the feedback declaration of
    :data:`FEEDBACK_SPECS` are added where the id has them (a custom ``error_fn`` gets no
    declaration: it may measure something else).

    Raises:
        ValueError: If no error function is known for ``env_id`` and none is given.
    """
    if error_fn is None:
        if env_id.startswith("neurofit/"):  # registered on import of neurofit.envs
            return gym.make(env_id, **kwargs)
        if env_id not in ERROR_FUNCTIONS:
            raise ValueError(
                f"no error function known for {env_id!r}; pass error_fn=... or use one of "
                f"{sorted(ERROR_FUNCTIONS)} or a neurofit/ id"
            )
        error_fn = ERROR_FUNCTIONS[env_id]
        feedback = FEEDBACK_SPECS.get(env_id)
    else:
        feedback = None
    return ErrorFeedback(gym.make(env_id, **kwargs), error_fn, TRACKING_FUNCTIONS.get(env_id),
                         feedback)
