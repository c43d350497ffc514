"""Electrical power of geared DC joint motors under torque (current) control.

Model, per joint ``j`` with output torque ``tau_j`` and joint speed ``omega_j``::

    I_j        = tau_j / k_t,j                       (current; k_t referred to the output shaft)
    P_copper,j = I_j**2 * R_j                        (resistive loss in winding + driver)
    P_mech,j   = tau_j * omega_j                     (mechanical power delivered to the link)
    P_elec     = sum_j  P_copper,j + max(P_mech,j, 0)     (default: no regeneration)
    P_elec     = sum_j  P_copper,j + P_mech,j             (allow_regeneration=True)

Without regeneration the driver burns the energy a joint gives back (negative mechanical
power) instead of returning it to the battery, which is how hobby/service-class servo drivers
behave; with ``allow_regeneration=True`` negative mechanical power is credited.

Not modelled: gearbox efficiency apart from what the output-referred ``k_t`` already contains,
iron and friction losses, driver quiescent ("standby") current, the speed limit from back-EMF.

Motor constants come from the ROBOTIS e-Manual spec tables (stall torque, stall current and
the ratio of the two, at 12 V). The winding resistance is derived from the same table as
``R = V_supply / I_stall`` (at stall there is no back-EMF, so the whole supply voltage drops
across winding and driver); that makes it an upper bound for the winding alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from neurofit.neuromorphic._jit import njit

__all__ = [
    "XM540_W150",
    "XM540_W270",
    "JointMotor",
    "JointPowerModel",
]


@dataclass(frozen=True)
class JointMotor:
    """Constants of one geared servo, all referred to the output shaft.

    Attributes:
        name: Model name.
        torque_constant_nm_per_a: Output torque per ampere (includes the gear ratio).
        winding_resistance_ohm: Terminal resistance (winding + driver).
        stall_torque_nm: Stall torque at ``supply_voltage_v``; used as the torque limit.
        supply_voltage_v: Supply voltage the figures refer to.
        source: Where the figures come from.
    """

    name: str
    torque_constant_nm_per_a: float
    winding_resistance_ohm: float
    stall_torque_nm: float
    supply_voltage_v: float
    source: str

    def __post_init__(self) -> None:
        for field in ("torque_constant_nm_per_a", "winding_resistance_ohm", "stall_torque_nm",
                      "supply_voltage_v"):
            value = getattr(self, field)
            if not (np.isfinite(value) and value > 0.0):
                raise ValueError(f"JointMotor.{field} must be finite and > 0, got {value!r}")


XM540_W270 = JointMotor(
    name="Dynamixel XM540-W270",
    torque_constant_nm_per_a=2.409,
    winding_resistance_ohm=12.0 / 4.4,
    stall_torque_nm=10.6,
    supply_voltage_v=12.0,
    source=(
        "ROBOTIS e-Manual XM540-W270 spec table: stall torque 10.6 N m at 12.0 V, 4.4 A, "
        "2.409 N m/A (https://emanual.robotis.com/docs/en/dxl/x/xm540-w270); "
        "R = 12.0 V / 4.4 A derived from it"
    ),
)

XM540_W150 = JointMotor(
    name="Dynamixel XM540-W150",
    torque_constant_nm_per_a=1.659,
    winding_resistance_ohm=12.0 / 4.4,
    stall_torque_nm=7.3,
    supply_voltage_v=12.0,
    source=(
        "ROBOTIS e-Manual XM540-W150 spec table: stall torque 7.3 N m at 12.0 V, 4.4 A, "
        "1.659 N m/A (https://emanual.robotis.com/docs/en/dxl/x/xm540-w150); "
        "R = 12.0 V / 4.4 A derived from it"
    ),
)


class JointPowerModel:
    """Electrical power of a set of joint motors (one :class:`JointMotor` per joint).

    Args:
        motors: One motor per joint, in actuator order.
        allow_regeneration: If True, negative mechanical power is returned to the supply;
            if False (default) it is lost (clipped to zero per joint).
    """

    def __init__(self, motors: Sequence[JointMotor], allow_regeneration: bool = False) -> None:
        if len(motors) == 0:
            raise ValueError("motors must name at least one JointMotor, got an empty sequence")
        self.motors: tuple[JointMotor, ...] = tuple(motors)
        self.allow_regeneration = bool(allow_regeneration)
        # R / k_t**2 per joint [W / (N m)**2]: copper loss = this * tau**2
        self._copper_coef = np.array(
            [m.winding_resistance_ohm / m.torque_constant_nm_per_a**2 for m in self.motors]
        )

    @property
    def n_joints(self) -> int:
        """Number of joints."""
        return len(self.motors)

    def current_a(self, torque_nm: np.ndarray) -> np.ndarray:
        """Motor currents [A] for output torques [N m]."""
        return np.asarray(torque_nm, dtype=np.float64) / np.array(
            [m.torque_constant_nm_per_a for m in self.motors]
        )

    def copper_loss_w(self, torque_nm: np.ndarray) -> np.ndarray:
        """Per-joint resistive loss ``(tau / k_t)**2 * R`` [W]."""
        tau = np.asarray(torque_nm, dtype=np.float64)
        return self._copper_coef * tau * tau

    def mechanical_power_w(self, torque_nm: np.ndarray, velocity_rad_s: np.ndarray) -> np.ndarray:
        """Per-joint mechanical power [W] (clipped at 0 unless regenerating)."""
        p = np.asarray(torque_nm, dtype=np.float64) * np.asarray(velocity_rad_s, dtype=np.float64)
        return p if self.allow_regeneration else np.maximum(p, 0.0)

    def power_w(self, torque_nm: np.ndarray, velocity_rad_s: np.ndarray) -> float:
        """Instantaneous total electrical power [W] at joint torques and speeds."""
        return float(
            self.copper_loss_w(torque_nm).sum()
            + self.mechanical_power_w(torque_nm, velocity_rad_s).sum()
        )

    def step_power_w(
        self, torque_nm: np.ndarray, delta_q_rad: np.ndarray, dt_s: float
    ) -> tuple[float, float, float]:
        """Step-average power while a constant torque is held for ``dt_s`` seconds.

        With the torque constant over the step, copper loss is exact and the mechanical work of
        joint ``j`` is exactly ``tau_j * delta_q_j``; dividing by ``dt_s`` gives the average
        mechanical power. (Clipping is per joint over the step, which is exact when a joint does
        not reverse within the step.)

        Returns:
            ``(total_w, copper_w, mechanical_w)``.
        """
        return _step_power(
            np.asarray(torque_nm, dtype=np.float64),
            np.asarray(delta_q_rad, dtype=np.float64),
            self._copper_coef,
            float(dt_s),
            self.allow_regeneration,
        )


@njit
def _step_power(
    tau: np.ndarray, dq: np.ndarray, copper_coef: np.ndarray, dt_s: float, regen: bool
) -> tuple[float, float, float]:
    """Kernel of :meth:`JointPowerModel.step_power_w` (flat float64 arrays, one per joint)."""
    copper = 0.0
    mech = 0.0
    for j in range(tau.shape[0]):
        copper += copper_coef[j] * tau[j] * tau[j]
        p = tau[j] * dq[j] / dt_s
        if regen or p > 0.0:
            mech += p
    return copper + mech, copper, mech
