"""Hardware profiles: every figure sourced, validation, lookup and TOML user profiles."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import pytest

from neurofit.neuromorphic.hardware import (
    DNN_FIGURES,
    EVENT_FIGURES,
    EXECUTION_MODELS,
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
    # every built-in neuromorphic profile also cites its execution model
    assert set(p.source) == set(figures) | ({"execution"} if p.kind == "neuromorphic" else set())
    required = EVENT_FIGURES if p.kind == "neuromorphic" else DNN_FIGURES
    assert all(k in figures for k in required)
    # an estimated figure is always labelled at profile level, with reasoning
    if p.estimated_fields:
        assert p.estimate and p.notes.strip()


# Each built-in profile's figures as its own source gives them (hard-coded from the literature,
# not from hardware.py), per figure, so that two swapped figures fail. (figure, value, a word
# the figure's source text must contain.)
_PJ, _NJ = 1e-12, 1e-9
#: Davies et al., "Loihi", IEEE Micro 38(1) 2018, Table 1: 3.5 pJ per spike across tiles
#: (1.7 pJ within), 23.6 pJ per synaptic spike op (min), 81 pJ per active neuron update (52
#: inactive), 120 pJ per synaptic (learning) update; weights up to 9 bits (8 used).
#: Time-stepped: every core updates all its neurons at every algorithmic time step.
#: Paredes-Vallés et al., Science Robotics 2024: 0.94 W idle for the Loihi board flown.
LOIHI = {"joules_per_spike": (3.5 * _PJ, "Davies"),
         "joules_per_synaptic_event": (23.6 * _PJ, "Davies"),
         "joules_per_neuron_update": (81 * _PJ, "Davies"),
         "joules_per_inactive_neuron_update": (52 * _PJ, "Davies"),
         "joules_per_weight_update": (120 * _PJ, "Davies"),
         "static_w": (0.94, "Paredes-Vallés"), "weight_bits": (8, "Davies")}
#: SpiNNaker 2: ~10 pJ per synaptic op (Mayr et al. 2019, in the SENECA comparison table, Tang
#: et al., Front. Neurosci. 2023); 2.19 nJ per neuron update (Höppner et al., IEEE TCAS-I 2019,
#: the keras-spiking device table). Estimates: a spike = one router packet priced as Loihi's
#: 3.5 pJ; a software weight update as Loihi's 120 pJ; ~0.1 W; 16-bit weights.
SPINNAKER2 = {"joules_per_spike": (3.5 * _PJ, "estimate"),
              "joules_per_synaptic_event": (10 * _PJ, "SENECA"),
              "joules_per_neuron_update": (2.19 * _NJ, "Höppner"),
              "joules_per_weight_update": (120 * _PJ, "estimate"),
              "static_w": (0.1, "estimate"), "weight_bits": (16, "estimate")}
#: TrueNorth, Merolla et al., Science 345, 2014: 26 pJ per synaptic event; 63 mW whole chip on
#: the real-time multi-object demo; spikes and neuron updates folded into those (0); no on-chip
#: learning (a crossbar write priced as one synaptic event); 9-bit signed axon-type weights.
TRUENORTH = {"joules_per_spike": (0.0, "Merolla"),
             "joules_per_synaptic_event": (26 * _PJ, "Merolla"),
             "joules_per_neuron_update": (0.0, "Merolla"),
             "joules_per_weight_update": (26 * _PJ, "synaptic event"),
             "static_w": (0.063, "Merolla"), "weight_bits": (9, "Merolla")}
#: NeuroFit-analog (all estimates): 22 pJ per spike, KIST's 2023 integrate-and-fire array
#: (Front. Neurosci. 2023, doi 10.3389/fnins.2023.1198306); a synaptic charge packet ~1/5 of
#: Loihi's 23.6 pJ -> 5 pJ; ~1 nW bias per neuron over a 1 ms step -> 1 pJ; Loihi's learning /
#: synop ratio 120 / 23.6 on the 5 pJ synop -> 25 pJ; ~1 mW chip level; ~6 effective bits.
NEUROFIT_ANALOG = {"joules_per_spike": (22 * _PJ, "KIST"),
                   "joules_per_synaptic_event": (5 * _PJ, "23.6"),
                   "joules_per_neuron_update": (1 * _PJ, "1 nW"),
                   "joules_per_weight_update": (25 * _PJ, "120/23.6"),
                   "static_w": (1e-3, "1 mW"), "weight_bits": (6, "6 effective bits")}
#: keras-spiking ModelEnergy device table (citing Degnan, Marr & Hasler 2016): CPU 8.6 nJ / op
#: (Intel i7-4960X), GPU 0.3 nJ / op (GTX Titan Black); Horowitz, ISSCC 2014, 45 nm: 32-bit
#: SRAM load ~5 pJ. A Jetson Orin Nano read 2.18 W at ~0 % load (NVIDIA forum): ~2 W.
#: Per inference call: CPU, one thread wake-up, 1 µs (a context switch costs microseconds: Li,
#: Ding & Shen, ExpCS 2007) of one core of the i7-4960X, 130 W TDP / 6 cores (Intel ARK);
#: GPU, one kernel launch, 5 µs of host time (HTA docs: "usually between 5-20 microseconds")
#: at ~1 W of one CPU core.
CPU_X86 = {"joules_per_mac": (8.6 * _NJ, "keras-spiking"),
           "joules_per_memory_access": (5 * _PJ, "Horowitz"),
           "joules_per_inference": (1e-6 * 130 / 6, "Li, Ding & Shen"),
           "static_w": (0.0, "idle excluded"), "weight_bits": (32, "float32")}
JETSON = {"joules_per_mac": (0.3 * _NJ, "keras-spiking"),
          "joules_per_memory_access": (5 * _PJ, "Horowitz"),
          "joules_per_inference": (5e-6 * 1.0, "5-20 µs"),
          "static_w": (2.0, "2.18 W"), "weight_bits": (32, "float32")}
#: STM32F405/407 datasheet: 238 µA/MHz in run mode from Flash at 3.3 V -> 0.785 nJ per cycle;
#: a float MAC (VFMA.F32) 3 cycles, a word load 1 cycle; a call 24 cycles, of the order of an
#: exception entry (12 cycles interrupt latency, ARM Cortex-M4 TRM) and its return.
_M4_CYCLE_J = 238e-6 / 1e6 * 3.3
MCU_M4 = {"joules_per_mac": (3 * _M4_CYCLE_J, "238 µA/MHz"),
          "joules_per_memory_access": (1 * _M4_CYCLE_J, "238 µA/MHz"),
          "joules_per_inference": (24 * _M4_CYCLE_J, "12 cycles"),
          "static_w": (0.0, "flight controller"), "weight_bits": (32, "float32")}
#: Execution models: Loihi (Davies 2018), TrueNorth (Merolla 2014: all 256 neurons of a core
#: per 1 ms tick) and SpiNNaker's software (sPyNNaker updates every neuron of a core at each
#: timer tick; only synapses are event-driven) are time-stepped; the NeuroFit analog chip is
#: event-driven (an estimate).
EXECUTION = {"loihi": ("time-stepped", "Davies"), "truenorth": ("time-stepped", "Merolla"),
             "spinnaker2": ("time-stepped", "sPyNNaker"),
             "neurofit-analog": ("event-driven", "estimate")}
LITERATURE = {"loihi": LOIHI, "spinnaker2": SPINNAKER2, "truenorth": TRUENORTH,
              "neurofit-analog": NEUROFIT_ANALOG, "cpu-x86": CPU_X86, "jetson-class": JETSON,
              "mcu-cortex-m4": MCU_M4}


def test_literature_table_covers_every_builtin() -> None:
    assert set(LITERATURE) == set(BUILTINS)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_figures_match_their_sources(name: str) -> None:
    p = get_profile(name)
    expected = LITERATURE[name]
    assert set(p.figures()) == set(expected)
    for figure, (value, cited) in expected.items():
        assert getattr(p, figure) == pytest.approx(value, rel=1e-9, abs=0.0), (name, figure)
        assert cited.lower() in p.source[figure].lower(), (name, figure, p.source[figure])
    # an estimate profile says so; a measured figure is never labelled an estimate
    estimated = {f for f, (_, cited) in expected.items() if cited == "estimate"}
    assert estimated <= set(p.estimated_fields)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_execution_models_match_their_sources(name: str) -> None:
    p = get_profile(name)
    if p.kind == "dnn":
        assert p.execution is None and "execution" not in p.source
        return
    model, cited = EXECUTION[name]
    assert p.execution == model and cited.lower() in p.source["execution"].lower()
    assert p.charges_effective_updates == (model == "event-driven")


def test_execution_model_rules() -> None:
    assert EXECUTION_MODELS == ("time-stepped", "event-driven")
    assert HardwareProfile(**_kwargs()).execution == "time-stepped"  # the default
    with pytest.raises(ValueError, match=r"execution must be one of.*'lazy'"):
        HardwareProfile(**_kwargs(execution="lazy"))  # type: ignore[arg-type]
    inactive = {"joules_per_inactive_neuron_update": 1e-12}
    src = {**_kwargs()["source"], "joules_per_inactive_neuron_update": "bench"}  # type: ignore[dict-item]
    with pytest.raises(ValueError, match="joules_per_inactive_neuron_update applies to "
                                         "time-stepped"):
        HardwareProfile(**_kwargs(execution="event-driven", source=src, **inactive))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="joules_per_inactive_neuron_update has no source"):
        HardwareProfile(**_kwargs(**inactive))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="joules_per_inactive_neuron_update must be"):
        HardwareProfile(**_kwargs(source=src, joules_per_inactive_neuron_update=-1.0))  # type: ignore[arg-type]
    dnn = get_profile("cpu-x86")
    with pytest.raises(ValueError, match="execution applies to neuromorphic"):
        dataclasses.replace(dnn, execution="time-stepped")
    with pytest.raises(ValueError, match="source given for execution, which is unset"):
        dataclasses.replace(dnn, source={**dnn.source, "execution": "x"})


def test_neurofit_analog_derivations_hold() -> None:
    """The analog profile's estimates follow from their stated reasoning (notes)."""
    p = get_profile("neurofit-analog")
    assert p.joules_per_synaptic_event == pytest.approx(23.6e-12 / 5, rel=0.1)
    ratio = 120 / 23.6  # Loihi learning update / synop (Davies 2018)
    assert p.joules_per_weight_update == pytest.approx(ratio * p.joules_per_synaptic_event,
                                                       rel=0.02)
    assert p.joules_per_neuron_update == pytest.approx(1e-9 * 1e-3)  # 1 nW over 1 ms
    assert p.joules_per_spike > p.joules_per_synaptic_event  # 22 pJ spike vs 5 pJ packet
    assert p.estimate and set(p.estimated_fields) == set(p.figures())
    assert "ESTIMATE" in p.notes and "22 pJ" in p.notes


def test_loihi_is_measured_not_estimated() -> None:
    p = get_profile("loihi")
    assert not p.estimate and not p.estimated_fields


def test_dnn_profiles_price_macs_and_memory() -> None:
    for name in ("cpu-x86", "jetson-class", "mcu-cortex-m4"):
        p = get_profile(name)
        assert p.prices_dnn and not p.prices_events
    for name in ("loihi", "spinnaker2", "truenorth", "neurofit-analog"):
        p = get_profile(name)
        assert p.prices_events and not p.prices_dnn


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
    assert p.execution == "time-stepped"  # a profile written before execution models existed
    chip = load_profile_toml(_write(tmp_path, GOOD_TOML.replace(
        "[source]\n", 'execution = "event-driven"\n\n[source]\nexecution = "datasheet"\n')))
    assert chip.execution == "event-driven" and chip.source["execution"] == "datasheet"


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (("joules_per_spike = 2e-12", "joules_per_spike = -2e-12"), "joules_per_spike"),
        (("joules_per_neuron_update = 1e-12\n", ""), "joules_per_neuron_update"),
        (("weight_bits = 8\n", ""), "weight_bits"),
        (("static_w = 0\n", "static_w = 0\nclock_hz = 1e6\n"), "clock_hz"),
        (('static_w = "bench, board v2"\n', ""), "static_w"),
        (('kind = "neuromorphic"', 'kind = "fpga"'), "kind"),
        (("static_w = 0\n", 'static_w = 0\nexecution = "async"\n'), "execution"),
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
