"""Rotor power model: fit to the Bitcraze thrust stand, kernel vs NumPy, env hover power."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurofit.envs import power
from neurofit.envs.power import (
    CRAZYFLIE_THRUST_STAND,
    HEAVY_ROTOR_POWER,
    MICRO_ROTOR_POWER,
    RotorPowerModel,
    fit_rotor_efficiency,
    rotor_power_w_kernel,
)
from neurofit.envs.quadrotor_hover import QuadHoverEnv

G = 9.81


def _naive_power_w(model: RotorPowerModel, thrusts_n: np.ndarray) -> float:
    area = math.pi * model.rotor_radius_m**2
    ideal = np.clip(thrusts_n, 0, None) ** 1.5 / np.sqrt(2 * model.air_density_kgpm3 * area)
    return model.idle_w + ideal.sum() / (model.figure_of_merit * model.motor_efficiency)


@pytest.mark.parametrize(("thrust_g", "power_w"), CRAZYFLIE_THRUST_STAND)
def test_fit_reproduces_thrust_stand_points_within_10_percent(
    thrust_g: float, power_w: float
) -> None:
    predicted = MICRO_ROTOR_POWER.power_at_total_thrust_w(thrust_g * 1e-3 * G)
    assert predicted == pytest.approx(power_w, rel=0.10)


def test_idle_and_hover_points() -> None:
    assert MICRO_ROTOR_POWER.electrical_power_w(np.zeros(4)) == pytest.approx(0.96)
    thrust_g, power_w = power.CRAZYFLIE_HOVER_POINT  # not fitted: an independent check
    assert MICRO_ROTOR_POWER.hover_power_w(thrust_g * 1e-3) == pytest.approx(power_w, rel=0.05)
    assert MICRO_ROTOR_POWER.hover_power_w(0.027) == pytest.approx(7.4, rel=0.05)


def test_stored_efficiency_is_the_fit() -> None:
    eff = fit_rotor_efficiency(
        CRAZYFLIE_THRUST_STAND, idle_w=0.96, n_rotors=4, rotor_radius_m=0.0225
    )
    assert power.MICRO_FITTED_EFFICIENCY == pytest.approx(eff, rel=1e-3)
    product = MICRO_ROTOR_POWER.figure_of_merit * MICRO_ROTOR_POWER.motor_efficiency
    assert product == pytest.approx(eff, rel=1e-3)
    # a sane lumped efficiency for a 27 g quadrotor with brushed motors
    assert 0.1 < eff < 0.3


def test_fit_recovers_a_known_model() -> None:
    truth = RotorPowerModel(4, 0.05, 0.6, 0.7, 2.0)
    points = [(g, truth.power_at_total_thrust_w(g * 1e-3 * G)) for g in (50.0, 100.0, 200.0)]
    eff = fit_rotor_efficiency(points, idle_w=2.0, n_rotors=4, rotor_radius_m=0.05)
    assert eff == pytest.approx(0.42, rel=1e-9)
    with pytest.raises(ValueError, match="at least one"):
        fit_rotor_efficiency([], idle_w=0.0, n_rotors=4, rotor_radius_m=0.05)


@pytest.mark.parametrize("model", [MICRO_ROTOR_POWER, HEAVY_ROTOR_POWER])
def test_kernel_matches_naive_numpy(model: RotorPowerModel) -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = rng.uniform(-0.1, 1.0, 4) * (13.0 if model is HEAVY_ROTOR_POWER else 0.15)
        assert rotor_power_w_kernel(t, model.idle_w, model.coefficient) == pytest.approx(
            _naive_power_w(model, t), rel=1e-12
        )


def test_power_grows_with_thrust_and_rejects_bad_input() -> None:
    totals = np.linspace(0.0, 0.6, 20)
    p = [MICRO_ROTOR_POWER.power_at_total_thrust_w(t) for t in totals]
    assert np.all(np.diff(p) > 0)
    with pytest.raises(ValueError, match=r"thrusts_n must have shape \(4,\)"):
        MICRO_ROTOR_POWER.electrical_power_w([0.1, 0.1])
    with pytest.raises(ValueError, match=r"figure_of_merit must be in \(0, 1\]"):
        RotorPowerModel(4, 0.02, 1.5, 0.5, 0.0)
    with pytest.raises(ValueError, match="rotor_radius_m must be > 0"):
        RotorPowerModel(4, 0.0, 0.5, 0.5, 0.0)


def test_heavy_constants_are_labelled_estimates() -> None:
    assert "ESTIMATE" in HEAVY_ROTOR_POWER.source
    # ~100 W/kg hover, the range of camera/delivery quadrotors of this size
    assert 80.0 < HEAVY_ROTOR_POWER.hover_power_w(1.325) < 200.0


@pytest.mark.parametrize(("platform", "expected_w"), [("micro", 7.4), ("heavy", 130.0)])
def test_env_hover_power(platform: str, expected_w: float) -> None:
    env = QuadHoverEnv(platform=platform)
    _, info = env.reset(seed=0)
    assert info["power_w"] == pytest.approx(expected_w, rel=0.05)


def test_joint_power_reexported() -> None:
    from neurofit.envs import joint_power

    assert power.JointPowerModel is joint_power.JointPowerModel
