"""Missions: what a controller's compute power does to a robot's endurance on one battery.

A :class:`Mission` adds platform power (propulsion or actuators — e.g. the mean of an episode's
``info["power_w"]``), avionics power (flight controller, sensors, radio) and compute power (e.g.
``EnergyMeter.mean_power_w()``) and divides the battery's usable energy by the sum::

    endurance_s = battery.usable_j / (platform_w + avionics_w + compute_w)

Built-in scenarios (:func:`list_missions`): ``micro-drone`` (Crazyflie 2.x class),
``delivery-drone`` (1.3 kg quadrotor) and ``service-robot`` (an arm on a battery base). Every
constant names its source, or says it is an estimate and why. This module takes numbers only;
it imports no agent or hardware code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

__all__ = [
    "Battery",
    "Mission",
    "MissionScenario",
    "get_mission",
    "get_scenario",
    "list_missions",
]

_J_PER_WH = 3600.0


def _check(name: str, value: float, *, lo: float = 0.0, lo_open: bool = False,
           hi: float = math.inf, hi_open: bool = False, unit: str = "") -> float:
    """``value`` as a float, or a ValueError naming ``name`` and the allowed range."""
    left = "(" if lo_open else "["
    right = ")" if hi_open else "]"
    allowed = f"{left}{lo:g}, {hi:g}{right}{(' ' + unit) if unit else ''}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number in {allowed}, got {value!r}")
    x = float(value)
    ok = (
        not math.isnan(x)
        and (x > lo if lo_open else x >= lo)
        and (x < hi if hi_open else x <= hi)
    )
    if not ok:
        raise ValueError(f"{name} must be a number in {allowed}, got {value!r}")
    return x


@dataclass(frozen=True)
class Battery:
    """A battery by its nameplate: capacity, nominal voltage and the fraction one may use.

    Args:
        capacity_mah: rated capacity in mAh.
        voltage_v: nominal pack voltage in V (3.7 V per LiPo cell).
        usable_fraction: share of the nominal energy a mission may draw, in (0, 1] (depth of
            discharge, voltage sag, reserve).

    Raises:
        ValueError: a non-positive, NaN or infinite figure, or a fraction outside (0, 1].
    """

    capacity_mah: float
    voltage_v: float
    usable_fraction: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "capacity_mah", _check(
            "capacity_mah", self.capacity_mah, lo_open=True, hi=1e7, unit="mAh"))
        object.__setattr__(self, "voltage_v", _check(
            "voltage_v", self.voltage_v, lo_open=True, hi=1e4, unit="V"))
        object.__setattr__(self, "usable_fraction", _check(
            "usable_fraction", self.usable_fraction, lo_open=True, hi=1.0))

    @property
    def nominal_j(self) -> float:
        """Nameplate energy: ``capacity_mah / 1000 × voltage_v × 3600`` joules."""
        return self.capacity_mah / 1000.0 * self.voltage_v * _J_PER_WH

    @property
    def usable_j(self) -> float:
        """Energy a mission may draw: ``nominal_j × usable_fraction``."""
        return self.nominal_j * self.usable_fraction


@dataclass(frozen=True)
class Mission:
    """A battery and the powers drawn from it; endurance follows.

    Args:
        battery: the pack.
        platform_w: propulsion / actuator electrical power in W (e.g. the mean of an
            episode's ``info["power_w"]``).
        avionics_w: flight controller, sensors and radio in W.
        compute_w: the controller's compute power in W (e.g. ``EnergyMeter.mean_power_w()``).
        name: label for reports.

    Raises:
        ValueError: a negative, NaN or infinite power, or zero total power.
    """

    battery: Battery
    platform_w: float
    avionics_w: float = 0.0
    compute_w: float = 0.0
    name: str = "custom"

    def __post_init__(self) -> None:
        if not isinstance(self.battery, Battery):
            raise ValueError(f"battery must be a Battery, got {self.battery!r}")
        for n in ("platform_w", "avionics_w", "compute_w"):
            object.__setattr__(self, n, _check(n, getattr(self, n), hi=1e6, unit="W"))
        if self.total_w <= 0.0:
            raise ValueError("total power must be > 0 W (endurance would be infinite)")

    @property
    def total_w(self) -> float:
        """Platform + avionics + compute power."""
        return self.platform_w + self.avionics_w + self.compute_w

    @property
    def endurance_s(self) -> float:
        """Time until the usable energy is spent at :attr:`total_w`."""
        return self.battery.usable_j / self.total_w

    @property
    def endurance_min(self) -> float:
        """:attr:`endurance_s` in minutes."""
        return self.endurance_s / 60.0

    @property
    def compute_share(self) -> float:
        """Fraction of the total power spent on compute."""
        return self.compute_w / self.total_w

    def with_compute(self, compute_w: float) -> Mission:
        """The same mission with another compute power."""
        return replace(self, compute_w=compute_w)

    def endurance_gain_s(self, baseline_compute_w: float, new_compute_w: float) -> float:
        """Endurance with ``new_compute_w`` minus endurance with ``baseline_compute_w``.

        Positive when the new controller draws less; e.g. baseline = a DNN on a GPU, new = a
        spiking controller on a neuromorphic chip.
        """
        return (
            self.with_compute(new_compute_w).endurance_s
            - self.with_compute(baseline_compute_w).endurance_s
        )


@dataclass(frozen=True)
class MissionScenario:
    """A named platform with sourced (or labelled estimate) defaults.

    Attributes:
        name: scenario id.
        description: one line for reports.
        battery: default battery.
        platform_w: default platform power (hover / typical duty), W.
        avionics_w: default avionics power, W.
        source: ``{constant: source}`` for ``capacity_mah``, ``voltage_v``,
            ``usable_fraction``, ``platform_w`` and ``avionics_w``; estimates start with
            ``"estimate"``.
        estimate: True when any constant is an estimate.
        notes: the reasoning behind estimates.
    """

    name: str
    description: str
    battery: Battery
    platform_w: float
    avionics_w: float
    source: Mapping[str, str] = field(hash=False)
    estimate: bool = False
    notes: str = ""

    def __post_init__(self) -> None:
        needed = ("capacity_mah", "voltage_v", "usable_fraction", "platform_w", "avionics_w")
        for key in needed:
            if not str(self.source.get(key, "")).strip():
                raise ValueError(f"scenario {self.name!r}: constant {key} has no source")
        estimated = [k for k in needed if self.source[k].lower().startswith("estimate")]
        if estimated and not self.estimate:
            raise ValueError(f"scenario {self.name!r}: {estimated} are estimates; label it")
        object.__setattr__(self, "source", MappingProxyType(dict(self.source)))

    def mission(
        self,
        *,
        compute_w: float = 0.0,
        platform_w: float | None = None,
        avionics_w: float | None = None,
        battery: Battery | None = None,
    ) -> Mission:
        """A :class:`Mission` on this platform; any default can be replaced."""
        return Mission(
            battery=self.battery if battery is None else battery,
            platform_w=self.platform_w if platform_w is None else platform_w,
            avionics_w=self.avionics_w if avionics_w is None else avionics_w,
            compute_w=compute_w,
            name=self.name,
        )


_BITCRAZE = "Bitcraze Crazyflie 2.1 datasheet"
_THRUST_STAND = "Bitcraze thrust-stand measurements, Crazyflie 2.1 with stock motors"

_SCENARIOS: dict[str, MissionScenario] = {}


def _add(s: MissionScenario) -> None:
    _SCENARIOS[s.name] = s


_add(MissionScenario(
    name="micro-drone",
    description="Crazyflie 2.x class micro-quadrotor (27 g), hovering",
    battery=Battery(capacity_mah=250, voltage_v=3.7, usable_fraction=1.0),
    platform_w=7.4,
    avionics_w=0.4,
    source={
        "capacity_mah": f"{_BITCRAZE}: 250 mAh LiPo",
        "voltage_v": f"{_BITCRAZE}: 3.7 V single cell (250 mAh x 3.7 V = 3.33 kJ)",
        "usable_fraction": "estimate: nominal energy used whole; 3.33 kJ / (7.4 + 0.4) W = "
                           f"7.1 min matches the ~7 min flight time of the {_BITCRAZE}",
        "platform_w": f"{_THRUST_STAND}: 24.4 g thrust 6.8 W, 28.6 g thrust 7.7 W, so ~7.4 W "
                      "to hover 27 g",
        "avionics_w": "estimate: 0.3-0.5 W for MCU and radio (Bitcraze measurements); "
                      "midpoint",
    },
    estimate=True,
    notes=(
        "Whether the thrust-stand watts include the avionics is not stated; if they do, the "
        "avionics term double counts 0.4 W (5% of endurance). With usable_fraction=1 the "
        "endurance matches the datasheet's ~7 min, so no derating is applied. Pass the env's "
        "mean info['power_w'] as platform_w for a flown episode."
    ),
))

_add(MissionScenario(
    name="delivery-drone",
    description="1.3 kg quadrotor (Skydio X2 class, as in MuJoCo Menagerie), hovering",
    battery=Battery(capacity_mah=5000, voltage_v=14.8, usable_fraction=0.8),
    platform_w=130.0,
    avionics_w=3.0,
    source={
        "capacity_mah": "estimate: a 4S 5000 mAh LiPo, common for 1-1.5 kg quadrotors",
        "voltage_v": "estimate: 4S LiPo nominal, 4 x 3.7 V = 14.8 V (74 Wh)",
        "usable_fraction": "estimate: 80% depth of discharge, a usual LiPo flight reserve",
        "platform_w": (
            "estimate: momentum theory for 1.325 kg (MuJoCo Menagerie skydio_x2 mass), "
            "T = 13.0 N on four 0.13 m rotors (A = 0.212 m²): ideal 65 W; / figure of merit "
            "0.65 / motor+ESC efficiency 0.8 + 5 W idle = 130 W, the assumptions of the "
            "quadrotor env's HEAVY_ROTOR_POWER (envs/power.py)"
        ),
        "avionics_w": "estimate: flight controller, GNSS and radio link, ~3 W",
    },
    estimate=True,
    notes=(
        "Every constant is an estimate. Hover power P = T^1.5 / sqrt(2 ρ A) / (FM · η) + idle "
        "with ρ = 1.225 kg/m³. 74 Wh x 0.8 / 133 W gives ~27 min, in the range of 1-1.5 kg "
        "camera/delivery quadrotors. Pass the env's mean info['power_w'] as platform_w for a "
        "flown episode."
    ),
))

_add(MissionScenario(
    name="service-robot",
    description="Light 6-DoF arm on a battery-powered wheeled base, typical duty",
    battery=Battery(capacity_mah=20000, voltage_v=24.0, usable_fraction=0.8),
    platform_w=60.0,
    avionics_w=15.0,
    source={
        "capacity_mah": "estimate: a 24 V 20 Ah Li-ion pack (480 Wh), typical of indoor "
                        "service-robot bases",
        "voltage_v": "estimate: 24 V nominal bus",
        "usable_fraction": "estimate: 80% depth of discharge",
        "platform_w": "estimate: ~30 W mean base drive at walking pace + ~30 W mean for a "
                      "light arm at moderate duty",
        "avionics_w": "estimate: sensors, motor drivers' logic and a low-power host, ~15 W",
    },
    estimate=True,
    notes=(
        "Every constant is an estimate; 480 Wh x 0.8 / 75 W gives ~5 h, in the usual 4-8 h "
        "range of indoor service robots. Pass the arm env's mean info['power_w'] (plus the "
        "base's share) as platform_w for a measured duty cycle."
    ),
))


def list_missions() -> tuple[str, ...]:
    """Names of the built-in mission scenarios."""
    return tuple(_SCENARIOS)


def get_scenario(name: str) -> MissionScenario:
    """A built-in scenario by name.

    Raises:
        ValueError: unknown name (the message lists the known ones).
    """
    key = str(name).strip().lower()
    if key not in _SCENARIOS:
        raise ValueError(
            f"unknown mission {name!r}; known missions: {', '.join(list_missions())}"
        )
    return _SCENARIOS[key]


def get_mission(
    name: str,
    *,
    compute_w: float = 0.0,
    platform_w: float | None = None,
    avionics_w: float | None = None,
) -> Mission:
    """A :class:`Mission` for a built-in scenario, with its defaults unless replaced.

    Raises:
        ValueError: unknown name (the message lists the known ones) or a bad power figure.
    """
    return get_scenario(name).mission(
        compute_w=compute_w, platform_w=platform_w, avionics_w=avionics_w
    )
