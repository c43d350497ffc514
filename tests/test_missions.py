"""Missions: battery energy, endurance arithmetic, scenarios and their sources."""

from __future__ import annotations

import math

import pytest

from neurofit.envs.missions import (
    Battery,
    Mission,
    get_mission,
    get_scenario,
    list_missions,
)


def test_crazyflie_battery_energy() -> None:
    b = Battery(capacity_mah=250, voltage_v=3.7)
    assert b.nominal_j == pytest.approx(3330.0)
    assert Battery(250, 3.7, usable_fraction=0.5).usable_j == pytest.approx(1665.0)


def test_known_endurance() -> None:
    m = Mission(Battery(250, 3.7), platform_w=7.4)
    assert m.endurance_s == pytest.approx(450.0)  # 3.33 kJ at 7.4 W
    m = Mission(Battery(250, 3.7), platform_w=6.0, avionics_w=0.4, compute_w=1.0)
    assert m.total_w == pytest.approx(7.4)
    assert m.endurance_s == pytest.approx(450.0)
    assert m.endurance_min == pytest.approx(7.5)
    assert m.compute_share == pytest.approx(1.0 / 7.4)


def test_endurance_gain_between_compute_figures() -> None:
    m = Mission(Battery(250, 3.7), platform_w=7.0, avionics_w=0.4)
    gain = m.endurance_gain_s(baseline_compute_w=2.0, new_compute_w=0.0)
    assert gain == pytest.approx(3330 / 7.4 - 3330 / 9.4)
    assert m.endurance_gain_s(0.0, 2.0) == pytest.approx(-gain)
    assert m.with_compute(2.0).compute_w == 2.0 and m.compute_w == 0.0


def test_micro_drone_scenario_matches_datasheet_flight_time() -> None:
    m = get_mission("micro-drone")
    assert m.battery.usable_j == pytest.approx(3330.0)
    assert 6.5 <= m.endurance_min <= 7.5  # Bitcraze: ~7 min
    assert 0.3 <= m.avionics_w <= 0.5
    m2 = get_mission("micro-drone", compute_w=0.94, platform_w=7.0)
    assert m2.platform_w == 7.0 and m2.compute_w == 0.94


@pytest.mark.parametrize("name", list_missions())
def test_every_scenario_constant_is_sourced(name: str) -> None:
    s = get_scenario(name)
    for key in ("capacity_mah", "voltage_v", "usable_fraction", "platform_w", "avionics_w"):
        assert s.source[key].strip()
    if any(v.lower().startswith("estimate") for v in s.source.values()):
        assert s.estimate and s.notes.strip()
    m = s.mission()
    assert m.endurance_s > 0 and math.isfinite(m.endurance_s)


def test_builtin_names() -> None:
    assert set(list_missions()) == {"micro-drone", "delivery-drone", "service-robot"}


def test_unknown_mission_lists_known_names() -> None:
    with pytest.raises(ValueError, match="unknown mission 'moon-rover'") as info:
        get_mission("moon-rover")
    for name in list_missions():
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"capacity_mah": 0, "voltage_v": 3.7}, "capacity_mah"),
        ({"capacity_mah": 250, "voltage_v": -3.7}, "voltage_v"),
        ({"capacity_mah": 250, "voltage_v": math.nan}, "voltage_v"),
        ({"capacity_mah": 250, "voltage_v": 3.7, "usable_fraction": 1.2}, "usable_fraction"),
    ],
)
def test_bad_battery(kwargs: dict[str, float], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Battery(**kwargs)


def test_bad_mission() -> None:
    b = Battery(250, 3.7)
    with pytest.raises(ValueError, match="compute_w"):
        Mission(b, platform_w=7.0, compute_w=-1.0)
    with pytest.raises(ValueError, match="platform_w"):
        Mission(b, platform_w=math.inf)
    with pytest.raises(ValueError, match="total power"):
        Mission(b, platform_w=0.0)


def test_drone_defaults_agree_with_the_rotor_power_models() -> None:
    """The scenarios' hover watts are the quadrotor env's power models at hover (drift alarm)."""
    from neurofit.envs.power import HEAVY_ROTOR_POWER, MICRO_ROTOR_POWER

    assert get_scenario("micro-drone").platform_w == pytest.approx(
        MICRO_ROTOR_POWER.hover_power_w(0.027), rel=0.02
    )
    assert get_scenario("delivery-drone").platform_w == pytest.approx(
        HEAVY_ROTOR_POWER.hover_power_w(1.325), rel=0.02
    )
