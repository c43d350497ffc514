"""Electrical power of quadrotor rotors from thrust (momentum theory, fitted to a thrust stand).

Model, per rotor of disc area ``A`` in air of density ``rho``::

    P_ideal(T) = T**1.5 / sqrt(2 * rho * A)                 # ideal induced power, hover
    P_elec     = idle_w + sum_i P_ideal(T_i) / (figure_of_merit * motor_efficiency)

``figure_of_merit`` (FM) takes the rotor's profile losses, ``motor_efficiency`` the motor and
ESC losses, ``idle_w`` what the vehicle draws with the motors idling. For the micro quadrotor the
product ``FM * motor_efficiency`` is FITTED (least squares in relative error, idle fixed at the
measured 0.96 W) to the Bitcraze thrust-stand points in :data:`CRAZYFLIE_THRUST_STAND`;
:func:`fit_rotor_efficiency` performs the fit and ``tests/test_power.py`` checks that the stored
constant is its result. The heavy quadrotor's constants are estimates, labelled as such.

The env charges the power of the *actual* (motor-lagged) thrusts, so a controller that chatters
pays for it. The kernel :func:`rotor_power_w_kernel` is numba-compiled for the env's step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from neurofit.neuromorphic._jit import njit

__all__ = [
    "CRAZYFLIE_THRUST_STAND",
    "GRAVITY_MPS2",
    "HEAVY_ROTOR_POWER",
    "MICRO_ROTOR_POWER",
    "XM540_W150",
    "XM540_W270",
    "JointMotor",
    "JointPowerModel",
    "RotorPowerModel",
    "fit_rotor_efficiency",
    "rotor_power_w_kernel",
]

GRAVITY_MPS2 = 9.81
#: ISA sea-level air density [kg/m^3].
AIR_DENSITY_KGPM3 = 1.225

#: Bitcraze thrust-stand measurements, Crazyflie 2.1 with stock motors and propellers:
#: (total thrust [g], total electrical power [W]). Idle (motors spinning, ~0 thrust) 0.96 W;
#: about 7.4 W to hover 27 g. Source: Bitcraze thrust-stand measurements (docs/reference.md).
CRAZYFLIE_THRUST_STAND: tuple[tuple[float, float], ...] = ((24.4, 6.8), (28.6, 7.7))
CRAZYFLIE_IDLE_W = 0.96  # Bitcraze thrust stand, motors idling
CRAZYFLIE_HOVER_POINT = (27.0, 7.4)  # Bitcraze: ~7.4 W to hover 27 g (a check, not fitted)


@dataclass(frozen=True)
class RotorPowerModel:
    """Momentum-theory rotor power with lumped efficiencies.

    Attributes:
        n_rotors: number of rotors.
        rotor_radius_m: propeller radius.
        figure_of_merit: rotor figure of merit (ideal induced / actual shaft power), 0-1.
        motor_efficiency: motor + ESC efficiency (shaft / electrical power), 0-1.
        idle_w: electrical power with the motors idling (zero thrust).
        air_density_kgpm3: air density.
        source: where the numbers come from, and which are estimates.
    """

    n_rotors: int
    rotor_radius_m: float
    figure_of_merit: float
    motor_efficiency: float
    idle_w: float
    air_density_kgpm3: float = AIR_DENSITY_KGPM3
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("figure_of_merit", "motor_efficiency"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"{name} must be in (0, 1], got {value!r}")
        if self.rotor_radius_m <= 0.0:
            raise ValueError(f"rotor_radius_m must be > 0, got {self.rotor_radius_m!r}")
        if self.idle_w < 0.0:
            raise ValueError(f"idle_w must be >= 0, got {self.idle_w!r}")

    @property
    def disc_area_m2(self) -> float:
        """Area swept by one rotor."""
        return math.pi * self.rotor_radius_m**2

    @property
    def coefficient(self) -> float:
        """W per N**1.5 of one rotor: ``1 / (FM * eta * sqrt(2 rho A))``."""
        ideal = 1.0 / math.sqrt(2.0 * self.air_density_kgpm3 * self.disc_area_m2)
        return ideal / (self.figure_of_merit * self.motor_efficiency)

    def electrical_power_w(self, thrusts_n: Sequence[float] | np.ndarray) -> float:
        """Total electrical power [W] for per-rotor thrusts [N] (negative thrust counts as 0)."""
        t = np.asarray(thrusts_n, dtype=np.float64)
        if t.shape != (self.n_rotors,):
            raise ValueError(f"thrusts_n must have shape ({self.n_rotors},), got {t.shape}")
        return float(rotor_power_w_kernel(t, self.idle_w, self.coefficient))

    def power_at_total_thrust_w(self, total_thrust_n: float) -> float:
        """Electrical power [W] with ``total_thrust_n`` shared equally by the rotors."""
        per_rotor = np.full(self.n_rotors, total_thrust_n / self.n_rotors)
        return self.electrical_power_w(per_rotor)

    def hover_power_w(self, mass_kg: float) -> float:
        """Electrical power [W] to hover ``mass_kg`` (thrust shared equally)."""
        return self.power_at_total_thrust_w(mass_kg * GRAVITY_MPS2)


@njit
def rotor_power_w_kernel(thrusts_n: np.ndarray, idle_w: float, coefficient: float) -> float:
    """``idle_w + coefficient * sum(max(T_i, 0) ** 1.5)``; see :class:`RotorPowerModel`."""
    total = 0.0
    for i in range(thrusts_n.shape[0]):
        t = thrusts_n[i]
        if t > 0.0:
            total += t * math.sqrt(t)
    return idle_w + coefficient * total


def fit_rotor_efficiency(
    points_g_w: Sequence[tuple[float, float]],
    *,
    idle_w: float,
    n_rotors: int,
    rotor_radius_m: float,
    air_density_kgpm3: float = AIR_DENSITY_KGPM3,
) -> float:
    """Fit the lumped efficiency ``FM * motor_efficiency`` to thrust-stand points.

    Args:
        points_g_w: ``(total thrust [g], total electrical power [W])`` pairs.
        idle_w: measured power at zero thrust (kept fixed).
        n_rotors: rotors sharing the thrust equally.
        rotor_radius_m: propeller radius.
        air_density_kgpm3: air density.

    Returns:
        The efficiency minimising the squared *relative* power error (closed form, since the
        model is linear in ``1 / efficiency``).
    """
    if not points_g_w:
        raise ValueError("points_g_w must hold at least one (thrust_g, power_w) pair")
    ideal_coef = 1.0 / math.sqrt(2.0 * air_density_kgpm3 * math.pi * rotor_radius_m**2)
    num = 0.0
    den = 0.0
    for thrust_g, power_w in points_g_w:
        per_rotor_n = thrust_g * 1e-3 * GRAVITY_MPS2 / n_rotors
        x = n_rotors * per_rotor_n**1.5 * ideal_coef  # ideal induced power [W]
        y = power_w - idle_w
        num += x * y / power_w**2
        den += x * x / power_w**2
    inv_eff = num / den
    return 1.0 / inv_eff


# Crazyflie 2.x propellers are 45 mm in diameter (Bitcraze datasheet). Only the product
# FM * motor_efficiency is identified by the fit; the split assumes FM = 0.5 (ESTIMATE, typical of
# small low-Reynolds-number rotors), which leaves ~0.34 for the brushed motors + drivers.
_MICRO_RADIUS_M = 0.0225
_MICRO_FM = 0.5
#: Result of ``fit_rotor_efficiency(CRAZYFLIE_THRUST_STAND, idle_w=0.96, n_rotors=4,
#: rotor_radius_m=0.0225)`` (checked by tests/test_power.py).
MICRO_FITTED_EFFICIENCY = 0.16915

MICRO_ROTOR_POWER = RotorPowerModel(
    n_rotors=4,
    rotor_radius_m=_MICRO_RADIUS_M,
    figure_of_merit=_MICRO_FM,
    motor_efficiency=MICRO_FITTED_EFFICIENCY / _MICRO_FM,
    idle_w=CRAZYFLIE_IDLE_W,
    source=(
        "FM*eta fitted to Bitcraze thrust-stand points (24.4 g -> 6.8 W, 28.6 g -> 7.7 W, "
        "idle 0.96 W); prop radius 22.5 mm (Bitcraze datasheet); FM=0.5 split is an estimate"
    ),
)

#: Skydio X2-class delivery quadrotor: ALL ESTIMATES. Rotor radius 0.13 m from Menagerie skydio_x2
#: rotor geometry; FM 0.65 (well-designed larger props) and brushless motor + ESC efficiency 0.80
#: are textbook-typical values; 5 W idle for four ESCs and idling motors. Gives ~130 W to hover
#: 1.325 kg, i.e. ~100 W/kg, in the range of commercial quadrotors of this size.
HEAVY_ROTOR_POWER = RotorPowerModel(
    n_rotors=4,
    rotor_radius_m=0.13,
    figure_of_merit=0.65,
    motor_efficiency=0.80,
    idle_w=5.0,
    source="ESTIMATE: radius from Menagerie skydio_x2 geometry; FM, efficiency, idle typical",
)

# Joint-motor power of the arm lives in joint_power.py (the arm's module); re-exported here so
# every actuator power model can be imported from one place.
from neurofit.envs.joint_power import (  # noqa: E402
    XM540_W150,
    XM540_W270,
    JointMotor,
    JointPowerModel,
)
