"""Schedulable disturbances for any MuJoCo env: wind, payload, motor degradation, sensor noise.

They are generic: each one names the MuJoCo *body* or *actuators* it acts on, so the same classes
serve the quadrotors (body ``"quad"``, actuators 0-3) and the arm (its payload body).

Interface (every disturbance implements all four; the no-op defaults live in
:class:`Disturbance`)::

    reset(model, data, rng)   at env reset, AFTER mj_resetData and before the first observation.
                              Restores whatever the disturbance changed in ``model`` (so episodes
                              are independent), resolves names to ids, draws its random state
                              from ``rng`` (the env's ``np_random``: same seed, same gusts).
    apply(model, data, t_s)   before each control step, with ``t_s = data.time``. Changes
                              ``model`` / ``data`` (``xfrc_applied``, ``body_mass`` ...) when the
                              schedule says so. Never draws from an RNG other than its own state.
    observe(obs, rng) -> obs  after each step and at reset: returns the observation the agent sees
                              (identity except for :class:`SensorNoise`). May modify ``obs`` in
                              place and return it.
    describe() -> dict        JSON-able: ``{"type": class name, <constructor fields>, "active":
                              bool, ...state}``. ``make_disturbance(d.describe())`` rebuilds it.

An env calls, in this order: ``mj_resetData``, its own initial state, ``reset`` for each
disturbance, then ``observe`` chained over the list; per step ``apply`` for each, ``mj_step``,
then ``observe`` chained over the list. Envs take ``disturbances=[...]`` holding disturbance
objects or dicts (``{"type": "Payload", "body": "quad", "mass_fraction": 0.3, "at_s": 2.0}``);
dicts keep ``gymnasium`` specs JSON-serialisable. Use :func:`make_disturbances` to accept both.
An env must own its disturbance objects (``make_disturbances`` deep-copies them), because they
hold per-episode state.

Schedules are in simulated seconds: a disturbance is active for ``start_s <= t_s < stop_s``
(:class:`Wind`, :class:`SensorNoise`) or from ``at_s`` on (:class:`Payload`,
:class:`MotorDegradation`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mujoco
import numpy as np

__all__ = [
    "Disturbance",
    "MotorDegradation",
    "Payload",
    "SensorNoise",
    "Wind",
    "make_disturbance",
    "make_disturbances",
]


def _body_id(model: mujoco.MjModel, body: str) -> int:
    bid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, body)
    if bid < 0:
        names = [model.body(i).name for i in range(1, model.nbody)]
        raise ValueError(f"body {body!r} not found in the model; bodies: {names}")
    return bid


def _check_finite(name: str, value: float, lo: float = -math.inf, hi: float = math.inf) -> float:
    value = float(value)
    if not (lo <= value <= hi) or math.isnan(value):
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value!r}")
    return value


def _vec3(name: str, value: Sequence[float]) -> tuple[float, float, float]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (3,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be 3 finite numbers, got {value!r}")
    return (float(arr[0]), float(arr[1]), float(arr[2]))


class Disturbance:
    """Base class: no-op ``reset`` / ``apply`` / ``observe``; subclasses are dataclasses."""

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        """Undo earlier changes, resolve names, draw random state (see module docstring)."""

    def apply(self, model: mujoco.MjModel, data: mujoco.MjData, t_s: float) -> None:
        """Act on ``model`` / ``data`` before the control step starting at ``t_s``."""

    def observe(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Return the observation the agent sees (identity by default)."""
        return obs

    def describe(self) -> dict[str, Any]:
        """JSON-able description: type, constructor fields and ``active`` (inf -> None).

        The constructor part is computed once per episode (at ``reset``): it is called every
        step, so change a disturbance's fields between episodes only.
        """
        if self._config is None:
            self._config = {"type": type(self).__name__, **_config(self)}
        return {**self._config, "active": self._active}

    _active: bool = False
    _config: dict[str, Any] | None = None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and math.isinf(value):
        return None
    return value


def _config(obj: Any) -> dict[str, Any]:
    """The constructor fields of a disturbance dataclass, JSON-able."""
    return {
        f.name: _jsonable(getattr(obj, f.name))
        for f in dataclasses.fields(obj)
        if f.init and not f.name.startswith("_")
    }


@dataclass
class Wind(Disturbance):
    """Steady wind plus Dryden-like gusts, felt by one body as linear aerodynamic drag.

    The air velocity is ``mean_mps + g(t)``, where each gust component ``g`` is a first-order
    Gauss-Markov process (the shape of the Dryden spectrum's longitudinal component) with standard
    deviation ``gust_std_mps`` and correlation time ``gust_tau_s`` (= L / V), discretised exactly
    between control steps. The body feels ``F = k (v_air - v_body)`` at its origin, added to
    ``data.xfrc_applied`` (several Wind objects add up). ``k`` is ``drag_n_per_mps`` or, if None,
    ``subtree_mass / drag_time_constant_s`` (a free body reaches the wind speed with that time
    constant). Default 5 s ~ a Crazyflie's rotor drag (~0.0056 N/(m/s) at hover, the order
    identified by Foerster, ETH 2015) - an ESTIMATE for other bodies.

    Args:
        body: name of the MuJoCo body the wind pushes.
        mean_mps: steady wind velocity in the world frame.
        gust_std_mps: standard deviation of each gust component.
        gust_tau_s: correlation time of the gusts.
        start_s: wind starts at this simulated time.
        stop_s: ... and stops here.
        drag_n_per_mps: explicit drag coefficient, or None.
        drag_time_constant_s: used when ``drag_n_per_mps`` is None.
    """

    body: str = "quad"
    mean_mps: tuple[float, float, float] = (1.0, 0.0, 0.0)
    gust_std_mps: float = 0.0
    gust_tau_s: float = 0.5
    start_s: float = 0.0
    stop_s: float | None = math.inf
    drag_n_per_mps: float | None = None
    drag_time_constant_s: float = 5.0
    _bid: int = field(default=-1, init=False, repr=False, compare=False)
    _k: float = field(default=0.0, init=False, repr=False, compare=False)
    _gust: np.ndarray = field(
        default_factory=lambda: np.zeros(3), init=False, repr=False, compare=False
    )
    _force: np.ndarray = field(
        default_factory=lambda: np.zeros(3), init=False, repr=False, compare=False
    )
    _vel: np.ndarray = field(
        default_factory=lambda: np.zeros(6), init=False, repr=False, compare=False
    )
    _rng: np.random.Generator | None = field(default=None, init=False, repr=False, compare=False)
    _last_t: float = field(default=0.0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.mean_mps = _vec3("Wind.mean_mps", self.mean_mps)
        self.gust_std_mps = _check_finite("Wind.gust_std_mps", self.gust_std_mps, 0.0, 100.0)
        self.gust_tau_s = _check_finite("Wind.gust_tau_s", self.gust_tau_s, 1e-3, 1e4)
        self.start_s = _check_finite("Wind.start_s", self.start_s, 0.0)
        self.stop_s = math.inf if self.stop_s is None else float(self.stop_s)
        if not self.stop_s > self.start_s:
            raise ValueError(f"Wind.stop_s must be > start_s={self.start_s}, got {self.stop_s}")
        if self.drag_n_per_mps is not None:
            self.drag_n_per_mps = _check_finite("Wind.drag_n_per_mps", self.drag_n_per_mps, 0.0)
        self.drag_time_constant_s = _check_finite(
            "Wind.drag_time_constant_s", self.drag_time_constant_s, 1e-3, 1e6
        )

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        self._config = None
        self._bid = _body_id(model, self.body)
        if self.drag_n_per_mps is not None:
            self._k = self.drag_n_per_mps
        else:
            self._k = float(model.body_subtreemass[self._bid]) / self.drag_time_constant_s
        # own generator, seeded from the env's: the gusts do not depend on how often others draw
        self._rng = np.random.default_rng(rng.integers(2**63))
        self._gust[:] = self._rng.normal(0.0, self.gust_std_mps, 3) if self.gust_std_mps else 0.0
        self._force[:] = 0.0  # mj_resetData cleared xfrc_applied
        self._active = False
        self._last_t = float(data.time)

    def apply(self, model: mujoco.MjModel, data: mujoco.MjData, t_s: float) -> None:
        dt = t_s - self._last_t
        self._last_t = t_s
        if self.gust_std_mps and dt > 0.0 and self._rng is not None:
            a = math.exp(-dt / self.gust_tau_s)
            self._gust *= a
            self._gust += self._rng.normal(0.0, self.gust_std_mps * math.sqrt(1.0 - a * a), 3)
        xfrc = data.xfrc_applied[self._bid]
        xfrc[:3] -= self._force
        self._active = self.start_s <= t_s < self.stop_s
        if self._active:
            mujoco.mj_objectVelocity(model, data, mujoco.mjtObj.mjOBJ_BODY, self._bid, self._vel, 0)
            for i in range(3):
                self._force[i] = self._k * (self.mean_mps[i] + self._gust[i] - self._vel[3 + i])
            xfrc[:3] += self._force
        else:
            self._force[:] = 0.0

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["air_velocity_mps"] = [float(self.mean_mps[i] + self._gust[i]) for i in range(3)]
        d["force_n"] = self._force.tolist()
        return d


@dataclass
class Payload(Disturbance):
    """Adds ``mass_fraction`` of a body's own mass to it from ``at_s`` on (e.g. 0.3 = +30 %).

    Scales ``model.body_mass`` and ``model.body_inertia`` of ``body`` by ``1 + mass_fraction``
    (the payload shares the body's centre of mass and shape) and calls ``mj_setConst`` so derived
    constants (subtree masses, ``actuator_acc0`` ...) follow; the simulation state is kept.
    ``reset`` restores the nominal values. Works for any body (a drone hull, an arm's gripper).

    Args:
        body: name of the MuJoCo body that takes the payload.
        mass_fraction: added mass over the body's nominal mass (> -1; negative = drop a load).
        at_s: simulated time the payload is attached.
    """

    body: str = "quad"
    mass_fraction: float = 0.3
    at_s: float = 2.0
    _bid: int = field(default=-1, init=False, repr=False, compare=False)
    _nominal: tuple[Any, float, np.ndarray] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.mass_fraction = _check_finite("Payload.mass_fraction", self.mass_fraction, -0.99, 100)
        self.at_s = _check_finite("Payload.at_s", self.at_s, 0.0)

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        self._config = None
        self._bid = _body_id(model, self.body)
        if self._nominal is None or self._nominal[0] is not model:
            self._nominal = (
                model,
                float(model.body_mass[self._bid]),
                model.body_inertia[self._bid].copy(),
            )
        if self._active:
            self._set(model, data, 1.0)
            self._active = False

    def apply(self, model: mujoco.MjModel, data: mujoco.MjData, t_s: float) -> None:
        if not self._active and t_s >= self.at_s:
            self._set(model, data, 1.0 + self.mass_fraction)
            self._active = True

    def _set(self, model: mujoco.MjModel, data: mujoco.MjData, scale: float) -> None:
        assert self._nominal is not None
        _, mass, inertia = self._nominal
        model.body_mass[self._bid] = mass * scale
        model.body_inertia[self._bid] = inertia * scale
        # mj_setConst works at qpos0 and leaves data.qpos there: keep the state
        qpos = data.qpos.copy()
        mujoco.mj_setConst(model, data)
        data.qpos[:] = qpos
        mujoco.mj_forward(model, data)

    def describe(self) -> dict[str, Any]:
        d = super().describe()
        d["mass_kg"] = (
            None
            if self._nominal is None
            else self._nominal[1] * ((1.0 + self.mass_fraction) if self._active else 1.0)
        )
        return d


@dataclass
class MotorDegradation(Disturbance):
    """Actuators lose force: their output is multiplied by ``fraction`` from ``at_s`` on.

    Scales ``model.actuator_gainprm`` and ``model.actuator_biasprm`` of the chosen actuators
    (so position servos weaken as a whole, not just their set-point gain); ``reset`` restores them.

    Args:
        actuators: actuator indices or names.
        fraction: remaining force fraction, 0-1 (0.7 = a motor at 70 %).
        at_s: simulated time the degradation starts.
    """

    actuators: tuple[int | str, ...] = (0,)
    fraction: float = 0.7
    at_s: float = 2.0
    _ids: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64), init=False, repr=False, compare=False
    )
    _nominal: tuple[Any, np.ndarray, np.ndarray] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if isinstance(self.actuators, (int, str)):
            self.actuators = (self.actuators,)
        self.actuators = tuple(
            a if isinstance(a, str) else int(a)
            for a in self.actuators  # type: ignore[union-attr]
        )
        if not self.actuators:
            raise ValueError("MotorDegradation.actuators must name at least one actuator")
        self.fraction = _check_finite("MotorDegradation.fraction", self.fraction, 0.0, 1.0)
        self.at_s = _check_finite("MotorDegradation.at_s", self.at_s, 0.0)

    def _resolve(self, model: mujoco.MjModel) -> np.ndarray:
        ids = []
        for a in self.actuators:
            if isinstance(a, str):
                i = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, a)
                if i < 0:
                    names = [model.actuator(j).name for j in range(model.nu)]
                    raise ValueError(f"actuator {a!r} not found; actuators: {names}")
            else:
                i = a
                if not 0 <= i < model.nu:
                    raise ValueError(
                        f"MotorDegradation.actuators index {i} out of range [0, {model.nu - 1}]"
                    )
            ids.append(i)
        return np.asarray(ids, dtype=np.int64)

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        self._config = None
        self._ids = self._resolve(model)
        if self._nominal is None or self._nominal[0] is not model:
            self._nominal = (
                model,
                model.actuator_gainprm[self._ids].copy(),
                model.actuator_biasprm[self._ids].copy(),
            )
        if self._active:
            self._set(model, 1.0)
            self._active = False

    def apply(self, model: mujoco.MjModel, data: mujoco.MjData, t_s: float) -> None:
        if not self._active and t_s >= self.at_s:
            self._set(model, self.fraction)
            self._active = True

    def _set(self, model: mujoco.MjModel, scale: float) -> None:
        assert self._nominal is not None
        model.actuator_gainprm[self._ids] = self._nominal[1] * scale
        model.actuator_biasprm[self._ids] = self._nominal[2] * scale


@dataclass
class SensorNoise(Disturbance):
    """Zero-mean Gaussian noise added to the observation while active.

    Args:
        std: one standard deviation for all elements, or one per observation element.
        start_s: noise starts at this simulated time (of the last ``apply``).
        stop_s: ... and stops here.
        label: free text shown in ``describe()`` (e.g. the preset's name).
    """

    std: float | tuple[float, ...] = 0.01
    start_s: float = 0.0
    stop_s: float | None = math.inf
    label: str = ""
    _std: np.ndarray = field(
        default_factory=lambda: np.zeros(1), init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        arr = np.atleast_1d(np.asarray(self.std, dtype=np.float64))
        if arr.ndim != 1 or not np.all(np.isfinite(arr)) or np.any(arr < 0.0):
            raise ValueError(f"SensorNoise.std must be finite and >= 0, got {self.std!r}")
        self.std = float(arr[0]) if np.ndim(self.std) == 0 else tuple(float(s) for s in arr)
        self._std = arr
        self.start_s = _check_finite("SensorNoise.start_s", self.start_s, 0.0)
        self.stop_s = math.inf if self.stop_s is None else float(self.stop_s)
        if not self.stop_s > self.start_s:
            raise ValueError(
                f"SensorNoise.stop_s must be > start_s={self.start_s}, got {self.stop_s}"
            )

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        self._config = None
        self._active = self.start_s <= float(data.time) < self.stop_s

    def apply(self, model: mujoco.MjModel, data: mujoco.MjData, t_s: float) -> None:
        self._active = self.start_s <= t_s < self.stop_s

    def observe(self, obs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if not self._active:
            return obs
        if self._std.shape[0] not in (1, obs.shape[-1]):
            raise ValueError(
                f"SensorNoise.std has {self._std.shape[0]} elements, observation has "
                f"{obs.shape[-1]}"
            )
        noise = rng.standard_normal(obs.shape)
        noise *= self._std
        obs += noise
        return obs


_TYPES: dict[str, type[Disturbance]] = {
    cls.__name__: cls for cls in (Wind, Payload, MotorDegradation, SensorNoise)
}
_STATE_KEYS = frozenset({"type", "active", "air_velocity_mps", "force_n", "mass_kg"})


def make_disturbance(spec: Disturbance | Mapping[str, Any]) -> Disturbance:
    """A fresh disturbance (no episode state) from an object or from a dict with a ``"type"`` key.

    An object is rebuilt from its constructor fields, so the caller's object is never shared.
    The dict form accepts what ``describe()`` returns (state keys are ignored); ``None`` for a
    ``stop_s`` means never.
    """
    if isinstance(spec, Disturbance):
        return type(spec)(
            **{
                f.name: getattr(spec, f.name)
                for f in dataclasses.fields(spec)
                if f.init and not f.name.startswith("_")
            }
        )
    if not isinstance(spec, Mapping):
        raise TypeError(f"a disturbance must be a Disturbance or a dict, got {type(spec).__name__}")
    kind = spec.get("type")
    if kind not in _TYPES:
        raise ValueError(f"disturbance type must be one of {tuple(_TYPES)}, got {kind!r}")
    kwargs = {k: v for k, v in spec.items() if k not in _STATE_KEYS}
    if isinstance(kwargs.get("std"), list):
        kwargs["std"] = tuple(kwargs["std"])
    if isinstance(kwargs.get("actuators"), list):
        kwargs["actuators"] = tuple(kwargs["actuators"])
    try:
        return _TYPES[kind](**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad fields for disturbance {kind}: {exc}") from None


def make_disturbances(
    specs: Iterable[Disturbance | Mapping[str, Any]] | None,
) -> list[Disturbance]:
    """Fresh disturbances for one env from objects and/or dicts (None -> empty list)."""
    if specs is None:
        return []
    if isinstance(specs, (Disturbance, Mapping)):
        raise TypeError("disturbances must be a list of disturbances, not a single one")
    return [make_disturbance(s) for s in specs]
