"""Physical description of NeuroFit's two quadrotors (the "physics", apart from any task).

A :class:`QuadrotorPlatform` holds what a controller or a power model needs to know about a
vehicle: mass, inertia, rotor layout and spin, thrust limits, motor lag, rotor power model, and
the MJCF asset that encodes the same numbers (``tests/test_quadrotor.py`` checks they agree).

Rotor order and geometry (both platforms, seen from above, x forward, y left)::

    rotor4 (+x,+y)  +   rotor1 (+x,-y)  -        sign = direction of the rotor's reaction
            \\      /                              torque about body z, in units of
               quad                               yaw_moment_ratio_m * thrust
            /      \\
    rotor3 (-x,+y)  -   rotor2 (-x,-y)  +

The allocation matrix maps per-rotor thrusts ``T`` [N] to the body wrench
``[collective thrust, torque x, torque y, torque z]`` (N, N m): see :meth:`allocation_matrix`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from neurofit.envs.power import GRAVITY_MPS2, HEAVY_ROTOR_POWER, MICRO_ROTOR_POWER, RotorPowerModel

__all__ = ["PLATFORMS", "QuadrotorPlatform", "get_platform"]


@dataclass(frozen=True)
class QuadrotorPlatform:
    """Constants of one quadrotor model, each with its source in :attr:`sources`.

    Attributes:
        name: ``"micro"`` or ``"heavy"``.
        asset: file name of the MJCF model in ``neurofit/envs/assets``.
        mass_kg: take-off mass without payload.
        inertia_kgm2: principal inertia (x, y, z) about the centre of mass.
        rotor_xy_m: (4, 2) rotor positions in the body frame.
        rotor_spin: (4,) sign of each rotor's reaction torque about body z.
        yaw_moment_ratio_m: reaction torque per newton of thrust (km / kf).
        max_thrust_n: maximum thrust of one rotor.
        motor_tau_s: first-order motor time constant (default of the env keyword).
        power: rotor electrical power model.
        arena_half_width_m: the vehicle leaves the arena beyond this |x| or |y|.
        arena_ceiling_m: ... or above this height.
        sources: figure -> source (or "ESTIMATE: reasoning").
    """

    name: str
    asset: str
    mass_kg: float
    inertia_kgm2: tuple[float, float, float]
    rotor_xy_m: tuple[tuple[float, float], ...]
    rotor_spin: tuple[float, float, float, float]
    yaw_moment_ratio_m: float
    max_thrust_n: float
    motor_tau_s: float
    power: RotorPowerModel
    arena_half_width_m: float
    arena_ceiling_m: float
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def weight_n(self) -> float:
        """Weight at take-off mass."""
        return self.mass_kg * GRAVITY_MPS2

    @property
    def hover_thrust_n(self) -> float:
        """Per-rotor thrust that hovers the take-off mass."""
        return self.weight_n / 4.0

    @property
    def hover_action(self) -> float:
        """Normalised motor command that gives :attr:`hover_thrust_n` (``2 T / T_max - 1``)."""
        return 2.0 * self.hover_thrust_n / self.max_thrust_n - 1.0

    @property
    def thrust_to_weight(self) -> float:
        """Total maximum thrust over take-off weight."""
        return 4.0 * self.max_thrust_n / self.weight_n

    def allocation_matrix(self) -> np.ndarray:
        """(4, 4) matrix ``B`` with ``[T_sum, tau_x, tau_y, tau_z] = B @ thrusts``."""
        xy = np.asarray(self.rotor_xy_m, dtype=np.float64)
        spin = np.asarray(self.rotor_spin, dtype=np.float64)
        return np.stack([np.ones(4), xy[:, 1], -xy[:, 0], spin * self.yaw_moment_ratio_m])

    def asset_path(self) -> str:
        """Absolute path of the MJCF model."""
        return str(resources.files("neurofit.envs").joinpath("assets", self.asset))


_MICRO_MASS_KG = 0.027  # Bitcraze datasheet; Menagerie bitcraze_crazyflie_2
_MICRO_TW = 2.25  # thrust-to-weight, gym-pybullet-drones cf2x.urdf
_SPIN = (-1.0, 1.0, -1.0, 1.0)

MICRO = QuadrotorPlatform(
    name="micro",
    asset="quadrotor_micro.xml",
    mass_kg=_MICRO_MASS_KG,
    inertia_kgm2=(2.3951e-5, 2.3951e-5, 3.2347e-5),
    rotor_xy_m=((0.0325, -0.0325), (-0.0325, -0.0325), (-0.0325, 0.0325), (0.0325, 0.0325)),
    rotor_spin=_SPIN,
    yaw_moment_ratio_m=0.025127,  # km / kf = 7.94e-12 / 3.16e-10
    max_thrust_n=round(_MICRO_TW * _MICRO_MASS_KG * GRAVITY_MPS2 / 4.0, 5),  # 0.14899 N
    motor_tau_s=0.02,
    power=MICRO_ROTOR_POWER,
    arena_half_width_m=3.0,
    arena_ceiling_m=3.0,
    sources={
        "mass_kg": "Bitcraze Crazyflie 2.x datasheet; MuJoCo Menagerie bitcraze_crazyflie_2",
        "inertia_kgm2": "MuJoCo Menagerie bitcraze_crazyflie_2 (Landry 2015 system id)",
        "rotor_xy_m": "Bitcraze datasheet: 0.046 m motor-to-centre, X layout (0.0325 m/axis)",
        "yaw_moment_ratio_m": "gym-pybullet-drones cf2x.urdf: km 7.94e-12 / kf 3.16e-10",
        "max_thrust_n": "gym-pybullet-drones cf2x.urdf: thrust-to-weight 2.25",
        "motor_tau_s": "ESTIMATE: coreless brushed motors spin up in tens of ms",
        "power": MICRO_ROTOR_POWER.source,
        "arena": "task choice",
    },
)

HEAVY = QuadrotorPlatform(
    name="heavy",
    asset="quadrotor_heavy.xml",
    mass_kg=1.325,
    inertia_kgm2=(0.0365, 0.0253, 0.0605),
    rotor_xy_m=((0.14, -0.18), (-0.14, -0.18), (-0.14, 0.18), (0.14, 0.18)),
    rotor_spin=_SPIN,
    yaw_moment_ratio_m=0.0201,
    max_thrust_n=13.0,
    motor_tau_s=0.05,
    power=HEAVY_ROTOR_POWER,
    arena_half_width_m=10.0,
    arena_ceiling_m=10.0,
    sources={
        "mass_kg": "MuJoCo Menagerie skydio_x2 (sum of its geom masses)",
        "inertia_kgm2": "ESTIMATE: MuJoCo's inertia of Menagerie skydio_x2 geometry (rotor discs "
        "0.25 kg at the thrust sites + 0.325 kg core), rotors moved to one height",
        "rotor_xy_m": "MuJoCo Menagerie skydio_x2 thrust sites",
        "yaw_moment_ratio_m": "MuJoCo Menagerie skydio_x2 actuator gear (0.0201)",
        "max_thrust_n": "MuJoCo Menagerie skydio_x2 ctrlrange 0-13 N",
        "motor_tau_s": "ESTIMATE: larger props on brushless motors, a few tens of ms",
        "power": HEAVY_ROTOR_POWER.source,
        "arena": "task choice",
    },
)

#: Platforms by name (the env keyword ``platform``).
PLATFORMS: dict[str, QuadrotorPlatform] = {"micro": MICRO, "heavy": HEAVY}


def get_platform(name: str | QuadrotorPlatform) -> QuadrotorPlatform:
    """Return the platform called ``name`` (``"micro"`` or ``"heavy"``), or ``name`` itself."""
    if isinstance(name, QuadrotorPlatform):
        return name
    try:
        return PLATFORMS[name]
    except (KeyError, TypeError):
        raise ValueError(f"platform must be one of {tuple(PLATFORMS)}, got {name!r}") from None
