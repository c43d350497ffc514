"""Hardware profiles: what one operation costs, in joules, on a given chip — with sources.

A :class:`HardwareProfile` holds the energy of each operation a controller performs and the
static power of the device it runs on. Two kinds exist:

* ``"neuromorphic"`` profiles price the events a spiking network produces (spikes, synaptic
  events, neuron updates, weight updates — the fields of
  :class:`~neurofit.neuromorphic.counters.OpCounts`);
* ``"dnn"`` profiles price a conventional network per multiply-accumulate (MAC) and per memory
  access (see :func:`neurofit.neuromorphic.energy.mlp_inference_cost`), plus a fixed cost per
  inference, ``joules_per_inference`` (waking the processor, launching a kernel, moving the
  input in and the output out: what a batch-1 call costs however few MACs it does).

A neuromorphic profile also says how the chip executes a network (``execution``):

* ``"time-stepped"``: every neuron is updated at every step, firing or not (Loihi, TrueNorth,
  SpiNNaker's software) — the meter charges the **dense** neuron-update count, the neurons
  actually advanced (``effective_neuron_updates``) at ``joules_per_neuron_update`` and the rest
  at ``joules_per_inactive_neuron_update`` when the profile gives one (Loihi's 52 pJ);
* ``"event-driven"``: a neuron costs dynamic energy only when it is advanced (it has input or
  has not decayed to rest); at rest it costs only its share of ``static_w`` — the meter charges
  the **effective** count (the NeuroFit analog chip).

Every figure carries a ``source``. A figure that is not a published measurement of that device
has a source beginning with ``"estimate"`` and its profile has ``estimate=True``; the reasoning
is in the profile's ``notes``. Figures are in SI units: joules per event, watts, bits.

Built-in profiles: ``loihi``, ``spinnaker2``, ``truenorth``, ``neurofit-analog`` (neuromorphic)
and ``cpu-x86``, ``jetson-class``, ``mcu-cortex-m4`` (DNN). A user profile is a TOML file read
by :func:`load_profile_toml`; :func:`get_profile` accepts a built-in name or such a path.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from os import PathLike
from pathlib import Path
from types import MappingProxyType
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = [
    "DNN_FIGURES",
    "EVENT_FIGURES",
    "EXECUTION_MODELS",
    "PROFILE_KINDS",
    "HardwareProfile",
    "get_profile",
    "list_profiles",
    "load_profile_toml",
]

#: The two kinds of profile.
PROFILE_KINDS: tuple[str, ...] = ("neuromorphic", "dnn")

#: Per-event figures a neuromorphic profile must give (joules per event).
EVENT_FIGURES: tuple[str, ...] = (
    "joules_per_spike",
    "joules_per_synaptic_event",
    "joules_per_neuron_update",
    "joules_per_weight_update",
)

#: Per-operation figures a DNN profile must give (joules per operation).
DNN_FIGURES: tuple[str, ...] = ("joules_per_mac", "joules_per_memory_access")

#: How a neuromorphic chip executes a network: which neuron-update count it pays for.
EXECUTION_MODELS: tuple[str, ...] = ("time-stepped", "event-driven")

#: Optional figure of a time-stepped profile: a neuron updated without being advanced (no
#: input, at rest). Unset, such updates cost ``joules_per_neuron_update``.
_INACTIVE = "joules_per_inactive_neuron_update"
#: Optional figure of a DNN profile: the fixed cost of one inference call, whatever its size.
#: Unset, it is 0.
_PER_INFERENCE = "joules_per_inference"

_ENERGY_FIGURES: tuple[str, ...] = (*EVENT_FIGURES, _INACTIVE, *DNN_FIGURES)
#: Every figure that needs a source.
_ALL_FIGURES: tuple[str, ...] = (*_ENERGY_FIGURES, _PER_INFERENCE, "static_w", "weight_bits")
#: Source keys that are not figures: the execution model's source (optional).
_OTHER_SOURCES: tuple[str, ...] = ("execution",)

# Allowed ranges. The upper bounds catch unit slips (23.6 typed for 23.6 pJ): no real device
# spends a microjoule on one event (a desktop CPU spends ~9 nJ per op).
_MAX_J_PER_OP = 1e-6
# A per-inference fixed cost is microseconds of a processor's power (a GPU kernel launch is
# ~5 µs x a few W, ~10 µJ); 10 mJ (a second of a 10 W board) is no longer a fixed cost.
_MAX_J_PER_INFERENCE = 1e-2
_MAX_STATIC_W = 1e4
_WEIGHT_BITS_RANGE = (1, 64)

_ESTIMATE_PREFIX = "estimate"


def _range_text(name: str) -> str:
    if name in _ENERGY_FIGURES:
        return f"a finite number of joules in [0, {_MAX_J_PER_OP:g}] (e.g. 23.6 pJ = 23.6e-12)"
    if name == _PER_INFERENCE:
        return f"a finite number of joules in [0, {_MAX_J_PER_INFERENCE:g}] (e.g. 5 µJ = 5e-6)"
    if name == "static_w":
        return f"a finite number of watts in [0, {_MAX_STATIC_W:g}]"
    if name == "weight_bits":
        return f"an integer in [{_WEIGHT_BITS_RANGE[0]}, {_WEIGHT_BITS_RANGE[1]}]"
    raise KeyError(name)  # pragma: no cover - internal misuse


def _check_figure(name: str, value: Any) -> float | int:
    """Return ``value`` as float (int for ``weight_bits``) or raise a ValueError naming it."""
    allowed = _range_text(name)
    if name == "weight_bits":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"weight_bits must be {allowed}, got {value!r}")
        lo, hi = _WEIGHT_BITS_RANGE
        if not lo <= value <= hi:
            raise ValueError(f"weight_bits must be {allowed}, got {value}")
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    x = float(value)
    hi = (_MAX_STATIC_W if name == "static_w" else
          _MAX_J_PER_INFERENCE if name == _PER_INFERENCE else _MAX_J_PER_OP)
    if math.isnan(x) or not 0.0 <= x <= hi:
        raise ValueError(f"{name} must be {allowed}, got {value!r}")
    return x


@dataclass(frozen=True)
class HardwareProfile:
    """Energy per operation and static power of one device, each figure with its source.

    Args:
        name: short identifier, e.g. ``"loihi"``.
        kind: ``"neuromorphic"`` (priced per event) or ``"dnn"`` (priced per MAC and memory
            access).
        static_w: power drawn whether or not anything is computed, in watts; the meter charges
            ``static_w × control_dt_s`` each control tick.
        weight_bits: precision of a stored synaptic weight (plasticity may quantise to it).
        source: ``{figure name: source}`` for every figure given, including ``static_w`` and
            ``weight_bits``. A source starting with ``"estimate"`` marks an estimated figure.
        joules_per_spike: energy to emit and route one spike (required for neuromorphic).
        joules_per_synaptic_event: energy of one spike delivered to one synapse (required for
            neuromorphic).
        joules_per_neuron_update: energy of one neuron-state update (required for
            neuromorphic).
        joules_per_weight_update: energy of one weight written by plasticity (required for
            neuromorphic).
        joules_per_inactive_neuron_update: energy of a neuron update that advances nothing
            (a neuron at rest with no input) on a time-stepped chip; optional, only for
            ``execution="time-stepped"``; unset, it costs ``joules_per_neuron_update``.
        joules_per_mac: energy of one multiply-accumulate (required for dnn).
        joules_per_memory_access: energy of one word read or written (required for dnn).
        joules_per_inference: dnn only, optional: the fixed cost of one inference call
            (wake-up, kernel launch, input/output transfer), charged once per inference on
            top of its MACs and memory accesses; unset, 0.
        estimate: True when any figure is an estimate rather than a measurement of this device
            (required when any source starts with ``"estimate"``).
        notes: the reasoning behind estimates and any caveat a report should repeat.
        execution: neuromorphic only: ``"time-stepped"`` (the default: pays for every neuron at
            every step) or ``"event-driven"`` (pays only for neurons advanced); see the module
            docstring. ``source["execution"]`` may say where that comes from.

    Raises:
        ValueError: a figure is missing, negative, NaN, infinite, outside its range or without
            a source; an unknown kind; a source for an unknown figure; an estimated figure in a
            profile not labelled ``estimate=True``.
    """

    name: str
    kind: str
    static_w: float
    weight_bits: int
    source: Mapping[str, str] = field(hash=False)
    joules_per_spike: float | None = None
    joules_per_synaptic_event: float | None = None
    joules_per_neuron_update: float | None = None
    joules_per_weight_update: float | None = None
    joules_per_mac: float | None = None
    joules_per_memory_access: float | None = None
    estimate: bool = False
    notes: str = ""
    joules_per_inactive_neuron_update: float | None = None
    execution: str | None = None
    joules_per_inference: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"name must be a non-empty string, got {self.name!r}")
        if self.kind not in PROFILE_KINDS:
            raise ValueError(
                f"profile {self.name!r}: kind must be one of {list(PROFILE_KINDS)}, "
                f"got {self.kind!r}"
            )
        required = EVENT_FIGURES if self.kind == "neuromorphic" else DNN_FIGURES
        for name in _ALL_FIGURES:
            value = getattr(self, name)
            if value is None:
                if name in required:
                    raise ValueError(
                        f"profile {self.name!r}: missing {name} (required for kind "
                        f"{self.kind!r}; must be {_range_text(name)})"
                    )
                continue
            try:
                object.__setattr__(self, name, _check_figure(name, value))
            except ValueError as exc:
                raise ValueError(f"profile {self.name!r}: {exc}") from None

        if not isinstance(self.source, Mapping):
            raise ValueError(f"profile {self.name!r}: source must be a mapping figure -> text")
        given = set(self.figures())
        self._check_execution()
        for key, text in self.source.items():
            if key not in _ALL_FIGURES + _OTHER_SOURCES:
                raise ValueError(
                    f"profile {self.name!r}: source names unknown figure {key!r}; "
                    f"known figures: {list(_ALL_FIGURES + _OTHER_SOURCES)}"
                )
            if key in _OTHER_SOURCES:
                if self.execution is None:
                    raise ValueError(f"profile {self.name!r}: source given for {key}, which is "
                                     "unset")
            elif key not in given:
                raise ValueError(f"profile {self.name!r}: source given for {key}, which is unset")
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"profile {self.name!r}: source for {key} must be non-empty text")
        for key in sorted(given):
            if key not in self.source:
                raise ValueError(
                    f"profile {self.name!r}: figure {key} has no source "
                    "(cite a paper or datasheet, or start the text with 'estimate:')"
                )
        object.__setattr__(self, "source", MappingProxyType(dict(self.source)))
        if not isinstance(self.estimate, bool):
            raise ValueError(f"profile {self.name!r}: estimate must be true or false")
        if not isinstance(self.notes, str):
            raise ValueError(f"profile {self.name!r}: notes must be text")
        if self.estimated_fields and not self.estimate:
            raise ValueError(
                f"profile {self.name!r}: figures {list(self.estimated_fields)} are estimates; "
                "label the profile estimate=True"
            )

    def _check_execution(self) -> None:
        if self.kind == "dnn":
            if self.execution is not None:
                raise ValueError(f"profile {self.name!r}: execution applies to neuromorphic "
                                 f"profiles only, got {self.execution!r} for kind 'dnn'")
            if self.joules_per_inactive_neuron_update is not None:
                raise ValueError(f"profile {self.name!r}: {_INACTIVE} applies to neuromorphic "
                                 "profiles only")
            return
        if self.joules_per_inference is not None:
            raise ValueError(f"profile {self.name!r}: {_PER_INFERENCE} applies to DNN profiles "
                             "only (a neuromorphic chip is charged per event)")
        if self.execution is None:
            object.__setattr__(self, "execution", "time-stepped")
        if self.execution not in EXECUTION_MODELS:
            raise ValueError(f"profile {self.name!r}: execution must be one of "
                             f"{list(EXECUTION_MODELS)}, got {self.execution!r}")
        if self.execution == "event-driven" and self.joules_per_inactive_neuron_update is not None:
            raise ValueError(f"profile {self.name!r}: {_INACTIVE} applies to time-stepped "
                             "execution only (an event-driven chip does not update a neuron at "
                             "rest); drop it or set execution = \"time-stepped\"")

    @property
    def charges_effective_updates(self) -> bool:
        """True when the profile pays only for the neurons advanced (event-driven execution)."""
        return self.execution == "event-driven"

    def figures(self) -> dict[str, float | int]:
        """The figures this profile gives, ``{name: value}`` (unset ones left out)."""
        return {n: getattr(self, n) for n in _ALL_FIGURES if getattr(self, n) is not None}

    @property
    def estimated_fields(self) -> tuple[str, ...]:
        """Names of the figures whose source marks them as estimates."""
        return tuple(
            k for k in _ALL_FIGURES
            if k in self.source and self.source[k].lower().startswith(_ESTIMATE_PREFIX)
        )

    @property
    def prices_events(self) -> bool:
        """True when every per-event figure is set (the profile can charge ``OpCounts``)."""
        return all(getattr(self, n) is not None for n in EVENT_FIGURES)

    @property
    def prices_dnn(self) -> bool:
        """True when the MAC and memory-access figures are set (it can charge a ``DnnCost``)."""
        return all(getattr(self, n) is not None for n in DNN_FIGURES)

    @property
    def inference_overhead_j(self) -> float:
        """The fixed cost of one inference call, J (``joules_per_inference``; 0 when unset)."""
        return float(self.joules_per_inference or 0.0)


# ---------------------------------------------------------------------------------------------
# Built-in profiles
# ---------------------------------------------------------------------------------------------

_DAVIES = "Davies et al., 'Loihi: a neuromorphic manycore processor with on-chip learning', IEEE Micro 38(1), 2018, Table 1"  # noqa: E501
_MEROLLA = "Merolla et al., 'A million spiking-neuron integrated circuit with a scalable communication network and interface', Science 345, 2014"  # noqa: E501
_SENECA = "Tang et al., 'SENECA: building a fully digital neuromorphic processor', Front. Neurosci. 2023, comparison table (SpiNNaker 2 after Mayr et al. 2019, arXiv:1911.02385)"  # noqa: E501
_KERAS_SPIKING = "keras-spiking ModelEnergy device table (nengo/keras-spiking, keras_spiking/model_energy.py), citing Degnan, Marr & Hasler, IEEE TVLSI 24(1), 2016"  # noqa: E501
_HOROWITZ = "Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014 keynote, 45 nm figures"  # noqa: E501
_STM32F4 = "STMicroelectronics STM32F405/407 product description: run mode from Flash at 238 µA/MHz at 168 MHz"  # noqa: E501
_KIST = "KIST integrate-and-fire array chip (2023): ~22 pJ per spike"
_HTA = "Holistic Trace Analysis docs, 'CUDA kernel launch stats' (facebookresearch/HolisticTraceAnalysis): the launch time on the CPU side is usually 5-20 µs"  # noqa: E501
_CTX_SWITCH = "Li, Ding & Shen, 'Quantifying the cost of context switch', ExpCS 2007: a Linux context switch costs microseconds of direct time"  # noqa: E501

# Per-inference fixed costs (see each profile's notes).
#: cpu-x86: one thread wake-up per control tick, 1 µs (a lower bound) of one core of the
#: i7-4960X the per-op figure was measured on: 130 W TDP / 6 cores.
_CPU_J_PER_INFERENCE = 1e-6 * 130.0 / 6
#: jetson-class: one kernel launch, 5 µs of host time, x ~1 W of one active CPU core.
_JETSON_J_PER_INFERENCE = 5e-6 * 1.0
#: mcu-cortex-m4: 24 cycles of call overhead (see notes) x 0.785 nJ per cycle.
_M4_CALL_CYCLES = 24

# 238 µA/MHz at 3.3 V: 238e-6 A per 1e6 cycles/s × 3.3 V = 7.854e-10 J per cycle.
_M4_J_PER_CYCLE = 238e-6 / 1e6 * 3.3

_BUILTINS: dict[str, HardwareProfile] = {}


def _add(profile: HardwareProfile) -> None:
    _BUILTINS[profile.name] = profile


_add(HardwareProfile(
    name="loihi",
    kind="neuromorphic",
    joules_per_spike=3.5e-12,
    joules_per_synaptic_event=23.6e-12,
    joules_per_neuron_update=81e-12,
    joules_per_weight_update=120e-12,
    static_w=0.94,
    weight_bits=8,
    source={
        "joules_per_spike": f"{_DAVIES}: 3.5 pJ per spike across tiles (1.7 pJ within a tile)",
        "joules_per_synaptic_event": f"{_DAVIES}: 23.6 pJ per synaptic spike op (minimum)",
        "joules_per_neuron_update": f"{_DAVIES}: 81 pJ per active neuron update (52 pJ inactive)",
        "joules_per_inactive_neuron_update": f"{_DAVIES}: 52 pJ per inactive neuron update",
        "joules_per_weight_update": f"{_DAVIES}: 120 pJ per synaptic (learning) update",
        "static_w": (
            "Paredes-Vallés et al., 'Fully neuromorphic vision and control for autonomous "
            "drone flight', Science Robotics 2024: 0.94 W idle for the Loihi board flown"
        ),
        "weight_bits": f"{_DAVIES}: synaptic weights configurable up to 9 bits; 8 used here",
        "execution": f"{_DAVIES}: every core updates all its neurons at each algorithmic time "
                     "step (hence the separate active and inactive update energies)",
    },
    joules_per_inactive_neuron_update=52e-12,
    execution="time-stepped",
    notes=(
        "Per-event figures are chip measurements (Davies et al. 2018). Spikes are charged at the "
        "across-tile 3.5 pJ (conservative; 1.7 pJ within a tile; routing over several tile hops "
        "costs more and is not modelled). Loihi is time-stepped: every neuron is updated at every "
        "step, so the dense count is charged, a neuron actually advanced at the active 81 pJ and "
        "one at rest with no input at the inactive 52 pJ (with time-stepped counts, where every "
        "neuron is advanced, all at 81 pJ, as keras-spiking does). static_w is the idle power "
        "of a whole Loihi board (Paredes-Vallés et al. 2024), not of the chip alone: compare it "
        "with other board-level figures, not with chip-level ones."
    ),
))

_add(HardwareProfile(
    name="spinnaker2",
    kind="neuromorphic",
    joules_per_spike=3.5e-12,
    joules_per_synaptic_event=10e-12,
    joules_per_neuron_update=2.19e-9,
    joules_per_weight_update=120e-12,
    static_w=0.1,
    weight_bits=16,
    source={
        "joules_per_spike": "estimate: one router packet, taken as Loihi's across-tile 3.5 pJ "
                            f"({_DAVIES})",
        "joules_per_synaptic_event": f"{_SENECA}: ~10 pJ per synaptic operation",
        "joules_per_neuron_update": (
            "Höppner et al., 'Dynamic power management for neuromorphic many-core systems', "
            "IEEE TCAS-I 66(8), 2019 (28 nm SpiNNaker 2 prototype), 2.19 nJ per neuron update, "
            "as used in the keras-spiking ModelEnergy device table"
        ),
        "joules_per_weight_update": "estimate: software plasticity on the ARM core, taken as "
                                    f"Loihi's 120 pJ learning update ({_DAVIES})",
        "static_w": "estimate: ~0.1 W for one chip at low load; no sourced idle figure",
        "weight_bits": "estimate: 16-bit weights in synaptic rows, as in SpiNNaker software",
        "execution": (
            "sPyNNaker (SpiNNakerManchester/sPyNNaker, neural_modelling/src/neuron/neuron.c): "
            "synaptic events are processed as packets arrive, but each core updates every one "
            "of its neurons at every timer tick"
        ),
    },
    execution="time-stepped",
    estimate=True,
    notes=(
        "Only the ~10 pJ synaptic-op figure is a published SpiNNaker 2 number (Mayr et al. "
        "2019, quoted in the SENECA comparison table). The neuron-update figure comes from the "
        "28 nm prototype of Höppner et al. 2019, whose synaptic figure (450 pJ per synop, also "
        "in keras-spiking) is 45x the one used here: per-event costs on a processor-based chip "
        "depend heavily on the software and accelerators used. Spike, learning and static "
        "figures are estimates; override them with a TOML profile when measured. Execution: "
        "SpiNNaker's software is event-driven for synapses but time-stepped for neurons, so "
        "the dense neuron-update count is charged, every update at 2.19 nJ (no published "
        "figure separates an update at rest, nor measures an event-driven neuron kernel on "
        "SpiNNaker 2; give one in a TOML profile with execution = \"event-driven\" if "
        "measured)."
    ),
))

_add(HardwareProfile(
    name="truenorth",
    kind="neuromorphic",
    joules_per_spike=0.0,
    joules_per_synaptic_event=26e-12,
    joules_per_neuron_update=0.0,
    joules_per_weight_update=26e-12,
    static_w=0.063,
    weight_bits=9,
    source={
        "joules_per_spike": "estimate: not reported separately; folded into the per-synaptic-"
                            f"event energy of {_MEROLLA}",
        "joules_per_synaptic_event": f"{_MEROLLA}: 26 pJ per synaptic event (2.5 pJ at low "
                                     "voltage)",
        "joules_per_neuron_update": "estimate: not reported separately; folded into the "
                                    f"per-synaptic-event energy and chip power of {_MEROLLA}",
        "joules_per_weight_update": "estimate: TrueNorth has no on-chip learning; one crossbar "
                                    "write charged like one synaptic event",
        "static_w": f"estimate (upper bound): whole-chip 63 mW on the real-time multi-object "
                    f"detection demo of {_MEROLLA}, which includes that demo's active power",
        "weight_bits": "Merolla et al. 2014 / Akopyan et al., IEEE TCAD 2015: binary crossbar "
                       "synapses scaled by signed 9-bit per-axon-type weights",
        "execution": f"{_MEROLLA}: every core updates its 256 neurons once per 1 ms global "
                     "tick",
    },
    execution="time-stepped",
    estimate=True,
    notes=(
        "The 26 pJ per synaptic event is the published figure; spike routing and neuron "
        "updates are taken as included in it and in the chip power, so they are charged zero. "
        "TrueNorth has no on-chip learning: a weight update is charged as one crossbar write, a "
        "lower bound for re-programming from a host. static_w is the whole-chip power of a "
        "demo and so over-states true leakage."
    ),
))

_add(HardwareProfile(
    name="neurofit-analog",
    kind="neuromorphic",
    joules_per_spike=22e-12,
    joules_per_synaptic_event=5e-12,
    joules_per_neuron_update=1e-12,
    joules_per_weight_update=25e-12,
    static_w=1e-3,
    weight_bits=6,
    source={
        "joules_per_spike": f"estimate: {_KIST}, applied to a NeuroFit-class analog chip",
        "joules_per_synaptic_event": "estimate: analog synapse charge packet, ~1/5 of Loihi's "
                                     "23.6 pJ digital synop (see notes)",
        "joules_per_neuron_update": "estimate: bias power of a continuous-time analog neuron, "
                                    "~1 nW over a 1 ms step (see notes)",
        "joules_per_weight_update": "estimate: 5x the synaptic event, Loihi's learning/synop "
                                    "ratio 120/23.6 (see notes)",
        "static_w": "estimate: chip-level bias and digital interface, ~1 mW (see notes)",
        "weight_bits": "estimate: ~6 effective bits of an analog weight (see notes)",
        "execution": "estimate: event-driven, as the NeuroFit chip 'computes only when a spike "
                     "appears' (KIST press 2022-2024; see notes)",
    },
    execution="event-driven",
    estimate=True,
    notes=(
        "ESTIMATE — no NeuroFit paper with per-event energy is public (KIST press 2022-2024 "
        "describe an analog neuromorphic processor for motor intelligence with reward/error "
        "feedback in synaptic learning). Reasoning: (1) spikes: KIST's 2023 integrate-and-fire "
        "array chip spends about 22 pJ per spike; taken as is. If that figure already includes "
        "input integration, charging synaptic events as well double counts, which errs on the "
        "expensive side. (2) synaptic events: an analog synapse injects a charge packet into "
        "the neuron's integrating node, about C·V² = 0.1-1 pJ for 0.1-1 pF at ~1 V, plus pulse "
        "driver overhead; a digital synop (Loihi, 23.6 pJ) also reads an SRAM word and adds in "
        "a digital accumulator. 5 pJ (~1/5 of Loihi) is kept conservative. (3) neuron updates: "
        "analog neurons integrate continuously and have no clocked update; their cost is bias "
        "current, ~1 nW per neuron, charged here as 1 pJ per simulated 1 ms update (scale for "
        "other step sizes). (4) weight updates: Loihi's learning update costs 120/23.6 = 5.1x a "
        "synop; the same ratio gives 25 pJ. (5) static: bias generators and the digital spike "
        "interface of a small chip, ~1 mW, chip level: the host is the platform's existing "
        "flight MCU, already in the avionics budget. (6) weights: analog storage with mismatch "
        "and read noise, ~6 effective bits. (7) execution: event-driven — a neuron at rest with no "
        "input does no work; its bias is part of static_w (800 neurons x 1 nW = 0.8 µW, well "
        "inside the 1 mW), so the 1 pJ is charged only per neuron actually advanced (effective "
        "count) and dynamic energy is spikes, synaptic events, weight writes and those updates. "
        "Replace every figure with measurements when a chip datasheet exists."
    ),
))

_add(HardwareProfile(
    name="cpu-x86",
    kind="dnn",
    joules_per_mac=8.6e-9,
    joules_per_memory_access=5e-12,
    static_w=0.0,
    weight_bits=32,
    source={
        "joules_per_mac": f"{_KERAS_SPIKING}: 8.6 nJ per op on an Intel i7-4960X, idle excluded",
        "joules_per_memory_access": f"estimate: 32-bit SRAM (cache) load ~5 pJ, {_HOROWITZ}",
        "joules_per_inference": (
            "estimate (lower bound): one thread wake-up per control tick, taken as 1 µs "
            f"({_CTX_SWITCH}) of one core of the Intel i7-4960X the per-op figure was "
            "measured on, 130 W TDP / 6 cores (Intel ARK) = 21.7 µJ"
        ),
        "static_w": "estimate: idle excluded, as in the keras-spiking device table",
        "weight_bits": "float32 weights",
    },
    joules_per_inference=_CPU_J_PER_INFERENCE,
    estimate=True,
    notes=(
        "The per-op figure is a whole-processor figure (Degnan et al.): it already holds some "
        "memory traffic, so the added 5 pJ SRAM access (Horowitz, 45 nm) may double count "
        "a little (<0.1% of a MAC here). A small policy fits in cache; from DRAM an access "
        "costs ~640 pJ (Horowitz). Idle power is excluded (static_w = 0): a desktop CPU idles "
        "at watts, so give a measured static_w in a TOML profile before using this for "
        "endurance. Per inference: a controller that runs once per 10 ms tick sleeps in "
        "between and is woken by the OS; a context switch costs microseconds directly (Li et "
        "al. 2007) plus cache refills; 1 µs of one core at its TDP share is charged, a lower "
        "bound (no Python or framework dispatch, no DRAM refill of the weights)."
    ),
))

_add(HardwareProfile(
    name="jetson-class",
    kind="dnn",
    joules_per_mac=0.3e-9,
    joules_per_memory_access=5e-12,
    static_w=2.0,
    weight_bits=32,
    source={
        "joules_per_mac": (
            f"estimate: {_KERAS_SPIKING}: 0.3 nJ per op measured on a desktop GPU "
            "(GTX Titan Black, large batches), used for a Jetson-class embedded GPU"
        ),
        "joules_per_memory_access": f"estimate: 32-bit SRAM load ~5 pJ, {_HOROWITZ}",
        "joules_per_inference": (
            f"estimate (lower bound): one CUDA kernel launch, 5 µs of host time ({_HTA}), x ~1 W "
            "for one active CPU core above the module's idle (a Jetson Orin Nano's 7 W mode "
            "leaves ~4.8 W above its 2.18 W idle) = 5 µJ"
        ),
        "static_w": (
            "estimate: ~2 W module idle; e.g. a Jetson Orin Nano trimmed for low power read "
            "2.18 W VDD_IN at ~0% load (NVIDIA developer forum, 'Jetson Orin Nano 8GB - Lowest "
            "Theoretical Operating Power Consumption')"
        ),
        "weight_bits": "float32 weights",
    },
    joules_per_inference=_JETSON_J_PER_INFERENCE,
    estimate=True,
    notes=(
        "The 0.3 nJ/op figure is a desktop GPU at large batch; a control policy runs at batch "
        "1, where a GPU is far less efficient, so this is optimistic for the dynamic part. The "
        "SRAM access term may double count part of the measured per-op figure (~2% of a MAC). "
        "Per inference: a batch-1 call launches at least one kernel (5-20 µs of host time, "
        "HTA); one launch of 5 µs at ~1 W is charged, a lower bound — a real call makes "
        "several launches (one per layer and per SGD step) and two host-device copies of the "
        "input and output (unified memory on a Jetson: DRAM, ~640 pJ per 32-bit word, "
        "Horowitz). "
        "For scale: Tang et al. (CoRL 2020) measured Loihi at ~140x less energy per inference "
        "than a Jetson TX2 for a population-coded actor of equal reward."
    ),
))

_add(HardwareProfile(
    name="mcu-cortex-m4",
    kind="dnn",
    joules_per_mac=3 * _M4_J_PER_CYCLE,
    joules_per_memory_access=1 * _M4_J_PER_CYCLE,
    static_w=0.0,
    weight_bits=32,
    source={
        "joules_per_mac": (
            f"estimate: 3 cycles (VFMA.F32 on the Cortex-M4 FPU) x 0.785 nJ/cycle from "
            f"{_STM32F4} at 3.3 V"
        ),
        "joules_per_memory_access": (
            f"estimate: 1 cycle (pipelined VLDM/LDR word load) x 0.785 nJ/cycle from "
            f"{_STM32F4} at 3.3 V"
        ),
        "joules_per_inference": (
            f"estimate: {_M4_CALL_CYCLES} cycles of call overhead per inference, of the order of "
            "one exception entry (12 cycles interrupt latency, ARM Cortex-M4 Technical "
            "Reference Manual) and its return, x 0.785 nJ/cycle from "
            f"{_STM32F4} at 3.3 V = 18.8 nJ"
        ),
        "static_w": "estimate: 0 — the MCU is already powered as the flight controller "
                    "(counted in the mission's avionics); only policy cycles are charged",
        "weight_bits": "float32 weights",
    },
    joules_per_inference=_M4_CALL_CYCLES * _M4_J_PER_CYCLE,
    estimate=True,
    notes=(
        "A Crazyflie 2.x flies on an STM32F405 (Cortex-M4F, 168 MHz). Energy per cycle = 238 "
        "µA/MHz x 3.3 V = 0.785 nJ (whole MCU in run mode, peripherals off). A float MAC is "
        "charged 3 cycles (VFMA.F32) and each 32-bit word load or store 1 cycle (pipelined), so "
        "a weight MAC with its load is ~3.1 nJ (keras-spiking charges 0.9 nJ per op on an ARM "
        "Cortex-A). Cross-check from arithmetic alone: "
        "Horowitz 45 nm gives 4.6 pJ per 32-bit float MAC and ~5 pJ per SRAM load; the "
        "difference is instruction fetch, decode and clocking. static_w = 0 because the MCU "
        "draws its power anyway as flight controller; if the policy needs its own MCU, set "
        "static_w ≈ 40 mA x 3.3 V = 0.13 W. Per inference: the flight loop already wakes the "
        "MCU every tick (its wake-up is the flight controller's, in the avionics), so the "
        "policy's fixed cost is one call: prologue and epilogue, loop set-up per layer, "
        "charged as 24 cycles — the order of an exception entry (12 cycles) and return."
    ),
))


# ---------------------------------------------------------------------------------------------
# Lookup and user profiles
# ---------------------------------------------------------------------------------------------


def list_profiles() -> tuple[str, ...]:
    """Names of the built-in profiles, neuromorphic first."""
    return tuple(
        sorted(_BUILTINS, key=lambda n: (PROFILE_KINDS.index(_BUILTINS[n].kind), n))
    )


def get_profile(name: str | PathLike[str]) -> HardwareProfile:
    """A built-in profile by name, or a user profile from a ``.toml`` path.

    Raises:
        ValueError: unknown name (the message lists the known ones) or a bad TOML profile.
    """
    if isinstance(name, PathLike) or str(name).lower().endswith(".toml"):
        return load_profile_toml(name)
    key = str(name).strip().lower()
    if key in _BUILTINS:
        return _BUILTINS[key]
    raise ValueError(
        f"unknown hardware profile {name!r}; known profiles: {', '.join(list_profiles())} "
        "(or give the path of a .toml profile)"
    )


_TOML_KEYS: tuple[str, ...] = tuple(f.name for f in fields(HardwareProfile))


def load_profile_toml(path: str | PathLike[str]) -> HardwareProfile:
    """Read a user hardware profile from a TOML file.

    The file holds the :class:`HardwareProfile` fields at top level and a ``[source]`` table
    with one entry per figure given::

        name = "my-chip"
        kind = "neuromorphic"
        joules_per_spike = 2e-12
        joules_per_synaptic_event = 5e-12
        joules_per_neuron_update = 1e-12
        joules_per_weight_update = 2e-11
        static_w = 0.01
        weight_bits = 8
        estimate = true
        notes = "bench measurements, board v2"

        [source]
        joules_per_spike = "estimate: ..."
        # ... one entry per figure, static_w and weight_bits included

    Raises:
        FileNotFoundError: no such file.
        ValueError: not TOML, an unknown key, or a missing or bad figure; the message names the
            file and the field.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{p}: not a valid TOML file ({exc})") from None
    unknown = sorted(set(data) - set(_TOML_KEYS))
    if unknown:
        raise ValueError(
            f"{p}: unknown key(s) {unknown}; allowed keys: {list(_TOML_KEYS)}"
        )
    for key in ("name", "kind", "static_w", "weight_bits", "source"):
        if key not in data:
            raise ValueError(f"{p}: missing field {key!r}")
    if not isinstance(data["source"], dict):
        raise ValueError(f"{p}: field 'source' must be a [source] table of figure = \"text\"")
    try:
        return HardwareProfile(**data)
    except ValueError as exc:
        raise ValueError(f"{p}: {exc}") from None
