"""Hardware profiles: every figure sourced, validation, lookup and TOML user profiles."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from neurofit.neuromorphic.hardware import (
    DNN_FIGURES,
    EVENT_FIGURES,
    HardwareProfile,
    get_profile,
    list_profiles,
    load_profile_toml,
)

BUILTINS = list_profiles()


def _kwargs(**over: object) -> dict[str, object]:
    """Valid keyword arguments of a small neuromorphic profile."""
    kw: dict[str, object] = {
        "name": "test-chip",
        "kind": "neuromorphic",
        "joules_per_spike": 1e-12,
        "joules_per_synaptic_event": 2e-12,
        "joules_per_neuron_update": 3e-12,
        "joules_per_weight_update": 4e-12,
        "static_w": 0.5,
        "weight_bits": 8,
        "source": {
            "joules_per_spike": "bench",
            "joules_per_synaptic_event": "bench",
            "joules_per_neuron_update": "bench",
            "joules_per_weight_update": "bench",
            "static_w": "bench",
            "weight_bits": "bench",
        },
    }
    kw.update(over)
    return kw


def test_builtin_names() -> None:
    assert set(BUILTINS) == {
        "loihi", "spinnaker2", "truenorth", "neurofit-analog",
        "cpu-x86", "jetson-class", "mcu-cortex-m4",
    }


@pytest.mark.parametrize("name", BUILTINS)
def test_every_builtin_figure_has_a_source(name: str) -> None:
    p = get_profile(name)
    figures = p.figures()
    assert figures, name
    for key, value in figures.items():
        assert isinstance(p.source[key], str) and p.source[key].strip(), (name, key)
        assert math.isfinite(value) and value >= 0, (name, key)
    assert set(p.source) == set(figures)
    required = EVENT_FIGURES if p.kind == "neuromorphic" else DNN_FIGURES
    assert all(k in figures for k in required)
    # an estimated figure is always labelled at profile level, with reasoning
    if p.estimated_fields:
        assert p.estimate and p.notes.strip()


def test_loihi_figures_match_davies_2018() -> None:
    p = get_profile("loihi")
    assert p.joules_per_synaptic_event == pytest.approx(23.6e-12)
    assert p.joules_per_weight_update == pytest.approx(120e-12)
    assert p.joules_per_neuron_update == pytest.approx(81e-12)
    assert p.joules_per_spike == pytest.approx(3.5e-12)
    assert p.static_w == pytest.approx(0.94)
    assert "Paredes-Vallés" in p.source["static_w"]
    assert not p.estimate


def test_neurofit_analog_is_labelled_an_estimate() -> None:
    p = get_profile("neurofit-analog")
    assert p.estimate
    assert set(p.estimated_fields) == set(p.figures())
    assert "ESTIMATE" in p.notes and "22 pJ" in p.notes


def test_dnn_profiles_price_macs_and_memory() -> None:
    assert get_profile("cpu-x86").joules_per_mac == pytest.approx(8.6e-9)
    assert get_profile("jetson-class").joules_per_mac == pytest.approx(0.3e-9)
    m4 = get_profile("mcu-cortex-m4")
    assert m4.joules_per_memory_access == pytest.approx(238e-12 * 3.3)
    for name in ("cpu-x86", "jetson-class", "mcu-cortex-m4"):
        p = get_profile(name)
        assert p.prices_dnn and not p.prices_events


def test_profiles_are_frozen() -> None:
    p = get_profile("loihi")
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.static_w = 0.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        p.source["static_w"] = "x"  # type: ignore[index]


def test_unknown_profile_lists_known_names() -> None:
    with pytest.raises(ValueError, match="unknown hardware profile 'loihi3'") as info:
        get_profile("loihi3")
    for name in BUILTINS:
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("joules_per_spike", -1e-12),
        ("joules_per_synaptic_event", math.nan),
        ("joules_per_neuron_update", math.inf),
        ("joules_per_weight_update", 23.6),  # pJ typed as J
        ("static_w", -0.1),
        ("weight_bits", 0),
        ("weight_bits", 8.5),
        ("joules_per_spike", "1e-12"),
    ],
)
def test_bad_figures_name_field_and_range(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field) as info:
        HardwareProfile(**_kwargs(**{field: value}))  # type: ignore[arg-type]
    assert "[" in str(info.value)  # the allowed range is spelled out


def test_missing_required_figure() -> None:
    kw = _kwargs(joules_per_spike=None)
    del kw["source"]["joules_per_spike"]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="missing joules_per_spike"):
        HardwareProfile(**kw)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="missing joules_per_mac"):
        HardwareProfile(**_kwargs(kind="dnn"))  # type: ignore[arg-type]


def test_source_rules() -> None:
    kw = _kwargs()
    del kw["source"]["static_w"]  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="static_w has no source"):
        HardwareProfile(**kw)  # type: ignore[arg-type]
    kw = _kwargs()
    kw["source"] = {**kw["source"], "joules_per_mac": "x"}  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="joules_per_mac, which is unset"):
        HardwareProfile(**kw)  # type: ignore[arg-type]
    kw = _kwargs()
    kw["source"] = {**kw["source"], "static_w": "estimate: guess"}  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="estimate=True"):
        HardwareProfile(**kw)  # type: ignore[arg-type]
    assert HardwareProfile(**kw, estimate=True).estimated_fields == ("static_w",)  # type: ignore[arg-type]


def test_bad_kind() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        HardwareProfile(**_kwargs(kind="quantum"))  # type: ignore[arg-type]


# -- TOML user profiles ------------------------------------------------------------------------

GOOD_TOML = """
name = "my-chip"
kind = "neuromorphic"
joules_per_spike = 2e-12
joules_per_synaptic_event = 5e-12
joules_per_neuron_update = 1e-12
joules_per_weight_update = 2e-11
static_w = 0
weight_bits = 8
estimate = true
notes = "bench estimate"

[source]
joules_per_spike = "estimate: bench"
joules_per_synaptic_event = "bench, board v2"
joules_per_neuron_update = "bench, board v2"
joules_per_weight_update = "bench, board v2"
static_w = "bench, board v2"
weight_bits = "datasheet"
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "chip.toml"
    p.write_text(text, encoding="utf-8")
    return p


def test_load_good_toml(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD_TOML)
    p = load_profile_toml(path)
    assert p.name == "my-chip" and p.joules_per_weight_update == pytest.approx(2e-11)
    assert p.static_w == 0.0 and isinstance(p.static_w, float)
    assert get_profile(path) == p
    assert get_profile(str(path)) == p


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (("joules_per_spike = 2e-12", "joules_per_spike = -2e-12"), "joules_per_spike"),
        (("joules_per_neuron_update = 1e-12\n", ""), "joules_per_neuron_update"),
        (("weight_bits = 8\n", ""), "weight_bits"),
        (("static_w = 0\n", "static_w = 0\nclock_hz = 1e6\n"), "clock_hz"),
        (('static_w = "bench, board v2"\n', ""), "static_w"),
        (('kind = "neuromorphic"', 'kind = "fpga"'), "kind"),
    ],
)
def test_bad_toml_names_file_and_field(tmp_path: Path, edit: tuple[str, str], field: str) -> None:
    old, new = edit
    assert old in GOOD_TOML
    path = _write(tmp_path, GOOD_TOML.replace(old, new, 1))
    with pytest.raises(ValueError, match=field) as info:
        load_profile_toml(path)
    assert str(path) in str(info.value)


def test_not_toml(tmp_path: Path) -> None:
    path = _write(tmp_path, "name = [unterminated\n")
    with pytest.raises(ValueError, match="not a valid TOML file") as info:
        load_profile_toml(path)
    assert str(path) in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_profile_toml(tmp_path / "absent.toml")
