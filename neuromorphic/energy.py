"""Energy accounting: operation counts × a hardware profile → joules and watts.

:class:`EnergyMeter` prices what a controller did on a :class:`~.hardware.HardwareProfile`:

* a spiking network's exact event counts (:class:`~.counters.OpCounts`) on a neuromorphic
  profile — spikes, synaptic events, neuron updates and weight updates (learning);
* a conventional network's inference (:class:`DnnCost`, counted from layer shapes by
  :func:`mlp_inference_cost`) on a DNN profile — MACs and memory accesses, plus the profile's
  fixed cost per inference call (``joules_per_inference``: wake-up, kernel launch);

plus the device's static power for every control tick, ``static_w × control_dt_s``.

Neuron updates are charged by the profile's execution model
(:data:`~.hardware.EXECUTION_MODELS`): a time-stepped chip pays for the dense count (every
neuron at every step; those not advanced at the profile's inactive figure, if it gives one), an
event-driven chip for the effective count only (the neurons actually advanced).
:meth:`EnergyMeter.execution_report` says which, for every report to repeat.

It works live — ``meter.charge(delta_counts)`` each control tick, a few float multiplies — and
offline — :meth:`EnergyMeter.from_counts` over a recorded sequence. Totals are kept as exact
integer counts and priced on demand, so a sum of charges equals the charge of the sum.

Like keras-spiking's ``ModelEnergy`` this charges compute only: moving data on and off the
device and the host are not modelled, and the figures are estimates from published numbers.
Report the spike activity (:meth:`EnergyMeter.activity`) beside any SNN/DNN ratio: a spiking
network wins only while its activity is sparse.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from .counters import COUNT_NAMES, OP_NAMES, OpCounts
from .hardware import HardwareProfile, get_profile

__all__ = [
    "DnnCost",
    "EnergyMeter",
    "TickEnergy",
    "inference_energy_j",
    "mlp_inference_cost",
]


class TickEnergy(NamedTuple):
    """Joules by category, for one control tick or a total (an immutable named tuple).

    Attributes:
        spikes_j: spikes emitted and routed.
        synaptic_j: synaptic events (spike deliveries).
        neuron_j: neuron-state updates.
        learning_j: weight updates written by plasticity.
        mac_j: DNN multiply-accumulates and nonlinearity evaluations.
        memory_j: DNN memory reads and writes.
        static_j: static power over the time charged, ``static_w × duration``.
        overhead_j: DNN fixed cost per inference call (the profile's
            ``joules_per_inference`` × inferences); dynamic, since it is paid per call.
    """

    spikes_j: float = 0.0
    synaptic_j: float = 0.0
    neuron_j: float = 0.0
    learning_j: float = 0.0
    mac_j: float = 0.0
    memory_j: float = 0.0
    static_j: float = 0.0
    overhead_j: float = 0.0

    @property
    def dynamic_j(self) -> float:
        """Energy of the operations performed (everything but static)."""
        return (
            self.spikes_j + self.synaptic_j + self.neuron_j + self.learning_j
            + self.mac_j + self.memory_j + self.overhead_j
        )

    @property
    def total_j(self) -> float:
        """Dynamic plus static energy."""
        return self.dynamic_j + self.static_j

    def as_dict(self) -> dict[str, float]:
        """Every category plus ``dynamic_j`` and ``total_j`` (JSON-ready floats)."""
        out = {name: float(v) for name, v in zip(self._fields, self, strict=True)}
        out["dynamic_j"] = float(self.dynamic_j)
        out["total_j"] = float(self.total_j)
        return out


@dataclass(frozen=True)
class DnnCost:
    """Operations of a conventional network, per inference or summed over many.

    Attributes:
        macs: multiply-accumulates.
        activations: nonlinearity evaluations and other non-MAC arithmetic (a delta
            network's change tests and differences), each charged as one MAC (the keras-spiking
            convention that a neuron update costs one op).
        memory_reads: words read (weights, biases, input activations).
        memory_writes: words written (output activations).
    """

    macs: int = 0
    activations: int = 0
    memory_reads: int = 0
    memory_writes: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise ValueError(f"DnnCost.{f.name} must be a non-negative integer, got {v!r}")
            object.__setattr__(self, f.name, int(v))

    @property
    def memory_accesses(self) -> int:
        """Reads plus writes."""
        return self.memory_reads + self.memory_writes

    @property
    def ops(self) -> int:
        """Arithmetic operations charged at the MAC price: MACs plus activations."""
        return self.macs + self.activations

    def __add__(self, other: DnnCost) -> DnnCost:
        return DnnCost(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __mul__(self, n: int) -> DnnCost:
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
            return NotImplemented
        return DnnCost(*(getattr(self, f.name) * int(n) for f in fields(self)))

    __rmul__ = __mul__

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain dict."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def mlp_inference_cost(layer_sizes: Sequence[int], *, output_nonlinear: bool = False) -> DnnCost:
    """Operations of one inference of a dense MLP, counted from its layer sizes.

    ``layer_sizes = [n_0, n_1, ..., n_L]``: ``n_0`` inputs, ``n_L`` outputs. Every hidden layer
    applies an elementwise nonlinearity; the output layer does only if ``output_nonlinear``.

    Counting convention, per dense layer with ``a`` inputs and ``b`` outputs (each memory
    access is one stored number, a 32-bit word for float32):

    * **MACs** ``a·b``: each output's accumulator starts at its bias, so the bias add is not
      an extra operation.
    * **activations** ``b`` for a nonlinear layer, else 0. Output clipping is not counted.
    * **reads** ``a·b + b + a``: every weight and every bias once, and every input activation
      once (held in registers or L1 while the weight rows stream past).
    * **writes** ``b``: each output once, after its nonlinearity is applied in a register.

    This is compulsory traffic — every stored number touched once per inference — the least
    any kernel moves. A naive kernel that re-reads the input for each output reads ``2·a·b +
    b`` per layer. :meth:`neurofit.agents.mlp.NumpyMLP.forward_counted` counts the same
    convention while computing.

    Raises:
        ValueError: fewer than two sizes, or a size that is not a positive integer.
    """
    sizes = list(layer_sizes)
    if len(sizes) < 2:
        raise ValueError(f"layer_sizes needs at least an input and an output size, got {sizes}")
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1:
            raise ValueError(f"layer sizes must be positive integers, got {sizes}")
    macs = acts = reads = writes = 0
    n_layers = len(sizes) - 1
    for i in range(n_layers):
        a, b = int(sizes[i]), int(sizes[i + 1])
        macs += a * b
        if i < n_layers - 1 or output_nonlinear:
            acts += b
        reads += a * b + b + a
        writes += b
    return DnnCost(macs=macs, activations=acts, memory_reads=reads, memory_writes=writes)


def inference_energy_j(cost: DnnCost, profile: HardwareProfile | str) -> float:
    """Dynamic energy of the operations ``cost`` on a profile that prices MACs and memory
    accesses (the per-inference fixed cost, ``profile.inference_overhead_j`` per call, is not
    in it: ``cost`` may sum many inferences, or none).

    Raises:
        ValueError: the profile gives no MAC / memory-access figures.
    """
    prof = get_profile(profile) if isinstance(profile, str) else profile
    if not prof.prices_dnn:
        raise ValueError(
            f"profile {prof.name!r} (kind {prof.kind!r}) has no joules_per_mac / "
            "joules_per_memory_access; use a DNN profile such as 'cpu-x86'"
        )
    assert prof.joules_per_mac is not None and prof.joules_per_memory_access is not None
    return cost.ops * prof.joules_per_mac + cost.memory_accesses * prof.joules_per_memory_access


class EnergyMeter:
    """Charges operation counts on a hardware profile, tick by tick, and keeps the totals.

    Args:
        profile: a :class:`~.hardware.HardwareProfile` or the name of a built-in one.
        control_dt_s: length of one control tick in seconds; each charge adds
            ``static_w × control_dt_s`` of static energy.

    Live use, one call per control tick::

        meter = EnergyMeter("loihi", control_dt_s=0.01)
        tick = meter.charge(counts_this_tick)      # or meter.charge_cumulative(engine_total)
        ...
        meter.mean_power_w(), meter.breakdown()

    Raises:
        ValueError: a bad ``control_dt_s`` or an unknown profile name.
    """

    def __init__(self, profile: HardwareProfile | str, control_dt_s: float) -> None:
        prof = get_profile(profile) if isinstance(profile, str) else profile
        if not isinstance(prof, HardwareProfile):
            raise TypeError(f"profile must be a HardwareProfile or a name, got {profile!r}")
        dt = float(control_dt_s)
        if not (math.isfinite(dt) and dt > 0.0):
            raise ValueError(f"control_dt_s must be a finite number > 0 s, got {control_dt_s!r}")
        self.profile: HardwareProfile = prof
        self.control_dt_s: float = dt
        # Prices as plain floats (None when the profile does not price that kind of work).
        self._p_spike = prof.joules_per_spike
        self._p_syn = prof.joules_per_synaptic_event
        self._p_neuron = prof.joules_per_neuron_update
        # a neuron updated but not advanced: free on an event-driven chip, the inactive figure
        # (or the full one) on a time-stepped chip
        self._p_idle = (0.0 if prof.charges_effective_updates
                        else prof.joules_per_inactive_neuron_update
                        if prof.joules_per_inactive_neuron_update is not None
                        else prof.joules_per_neuron_update)
        self._p_weight = prof.joules_per_weight_update
        self._p_mac = prof.joules_per_mac
        self._p_mem = prof.joules_per_memory_access
        self._p_call = prof.inference_overhead_j
        self._prices_events = prof.prices_events
        self._prices_dnn = prof.prices_dnn
        self._static_tick_j = prof.static_w * dt
        self.reset()

    # -- charging ---------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every charge (and the last cumulative count)."""
        self._ticks = 0
        self._neuron_updates = 0
        self._effective_neuron_updates = 0
        self._spikes = 0
        self._synaptic_events = 0
        self._weight_updates = 0
        self._macs = 0
        self._activations = 0
        self._reads = 0
        self._writes = 0
        self._inferences = 0
        self._last_cumulative = OpCounts()

    def _no_event_prices(self) -> ValueError:
        return ValueError(
            f"profile {self.profile.name!r} (kind {self.profile.kind!r}) gives no per-event "
            "figures; charge DNN inferences with charge_inference(), or use a neuromorphic "
            "profile"
        )

    def charge(self, counts: OpCounts) -> TickEnergy:
        """Charge one control tick in which the network performed ``counts``.

        Args:
            counts: the operations of this tick (a delta, not a running total; see
                :meth:`charge_cumulative` for running totals). Its
                ``effective_neuron_updates`` decide the neuron energy on an event-driven
                profile (and the inactive share on a time-stepped one).

        Returns:
            This tick's energy by category, static included.

        Raises:
            ValueError: a negative count, effective neuron updates above the dense count, or
                a profile without per-event figures.
        """
        return self._charge5(
            counts.neuron_updates, counts.spikes, counts.synaptic_events, counts.weight_updates,
            counts.effective_neuron_updates,  # type: ignore[arg-type]
        )

    def _charge5(self, n: int, s: int, e: int, w: int, a: int) -> TickEnergy:
        """The per-tick hot path: validate, add to the totals, price (a few multiplies)."""
        if not self._prices_events:
            raise self._no_event_prices()
        if n < 0 or s < 0 or e < 0 or w < 0 or not 0 <= a <= n:
            raise ValueError(
                "operation counts must be non-negative, with effective_neuron_updates <= "
                f"neuron_updates, got neuron_updates={n}, spikes={s}, synaptic_events={e}, "
                f"weight_updates={w}, effective_neuron_updates={a}"
            )
        self._ticks += 1
        self._neuron_updates += n
        self._effective_neuron_updates += a
        self._spikes += s
        self._synaptic_events += e
        self._weight_updates += w
        # positional: spikes, synaptic, neuron, learning, mac, memory, static
        return TickEnergy(
            s * self._p_spike,  # type: ignore[operator]
            e * self._p_syn,  # type: ignore[operator]
            a * self._p_neuron + (n - a) * self._p_idle,  # type: ignore[operator]
            w * self._p_weight,  # type: ignore[operator]
            0.0,
            0.0,
            self._static_tick_j,
        )

    def charge_cumulative(self, total: OpCounts) -> TickEnergy:
        """Charge one tick given the engine's running total; the meter takes the difference.

        Use this with ``Network.counts()``-style running totals; the first call charges the
        whole total (the meter starts from zero, or from its last :meth:`reset`).

        Raises:
            ValueError: the total went down (the engine's counters were reset: call
                :meth:`reset` too, or charge deltas).
        """
        last = self._last_cumulative
        try:
            tick = self._charge5(
                total.neuron_updates - last.neuron_updates,
                total.spikes - last.spikes,
                total.synaptic_events - last.synaptic_events,
                total.weight_updates - last.weight_updates,
                total.effective_neuron_updates - last.effective_neuron_updates,  # type: ignore[operator]
            )
        except ValueError as exc:
            if not self._prices_events:
                raise
            raise ValueError(
                f"cumulative counts went down ({last} -> {total}); were the engine's counters "
                "reset? Call meter.reset() as well."
            ) from exc
        self._last_cumulative = total
        return tick

    def charge_inference(self, cost: DnnCost) -> TickEnergy:
        """Charge one control tick in which a DNN ran one inference costing ``cost``, plus the
        profile's fixed cost of one call (``joules_per_inference``).

        Raises:
            ValueError: a profile without MAC / memory-access figures.
        """
        if not self._prices_dnn:
            raise ValueError(
                f"profile {self.profile.name!r} (kind {self.profile.kind!r}) gives no "
                "joules_per_mac / joules_per_memory_access; use a DNN profile such as "
                "'mcu-cortex-m4'"
            )
        ops = cost.macs + cost.activations
        mem = cost.memory_reads + cost.memory_writes
        self._ticks += 1
        self._inferences += 1
        self._macs += cost.macs
        self._activations += cost.activations
        self._reads += cost.memory_reads
        self._writes += cost.memory_writes
        return TickEnergy(
            0.0,
            0.0,
            0.0,
            0.0,
            ops * self._p_mac,  # type: ignore[operator]
            mem * self._p_mem,  # type: ignore[operator]
            self._static_tick_j,
            self._p_call,
        )

    def tick_energy_j(self, counts: np.ndarray) -> np.ndarray:
        """Each tick's total energy (static included) for a ``(ticks, 4)`` or ``(ticks, 5)``
        counts array (columns as in :meth:`from_counts`), without charging: what
        :meth:`charge` returns as ``total_j`` for each row, bit for bit (the same operations
        in the same order, vectorised). Prices a recorded episode in one pass.

        Raises:
            ValueError: a badly shaped or non-integer array, or a profile without per-event
                figures.
        """
        if not self._prices_events:
            raise self._no_event_prices()
        arr = np.asarray(counts)
        if (arr.ndim != 2 or arr.shape[1] not in (len(OP_NAMES), len(COUNT_NAMES))
                or not np.issubdtype(arr.dtype, np.integer)):
            raise ValueError(f"counts must be an integer array of shape (ticks, {len(OP_NAMES)})"
                             f" or (ticks, {len(COUNT_NAMES)}), got {arr.dtype} {arr.shape}")
        n, s, e, w = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]
        a = arr[:, 4] if arr.shape[1] == len(COUNT_NAMES) else n
        neuron = a * self._p_neuron + (n - a) * self._p_idle  # type: ignore[operator]
        dynamic = s * self._p_spike + e * self._p_syn  # type: ignore[operator]
        dynamic += neuron
        dynamic += w * self._p_weight  # type: ignore[operator]
        return dynamic + self._static_tick_j

    @classmethod
    def from_counts(
        cls,
        profile: HardwareProfile | str,
        control_dt_s: float,
        counts: Iterable[OpCounts] | np.ndarray,
    ) -> EnergyMeter:
        """A meter that has charged a recorded sequence, one control tick per element.

        Args:
            profile: profile or built-in name.
            control_dt_s: control tick length in seconds.
            counts: per-tick :class:`~.counters.OpCounts`, or an integer array of shape
                ``(ticks, 4)`` whose columns follow :data:`~.counters.OP_NAMES` (effective
                neuron updates = dense), or ``(ticks, 5)`` following
                :data:`~.counters.COUNT_NAMES`.

        Raises:
            ValueError: a badly shaped array or a negative count.
        """
        meter = cls(profile, control_dt_s)
        if isinstance(counts, np.ndarray):
            meter._charge_array(counts)
        else:
            for c in counts:
                meter.charge(c)
        return meter

    def _charge_array(self, arr: np.ndarray) -> None:
        if not self._prices_events:
            raise self._no_event_prices()
        if arr.ndim != 2 or arr.shape[1] not in (len(OP_NAMES), len(COUNT_NAMES)):
            raise ValueError(
                f"counts array must have shape (ticks, {len(OP_NAMES)}) with columns "
                f"{OP_NAMES}, or (ticks, {len(COUNT_NAMES)}) with columns {COUNT_NAMES}, got "
                f"shape {arr.shape}"
            )
        if not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(f"counts array must hold integers, got dtype {arr.dtype}")
        if arr.size and arr.min() < 0:
            raise ValueError("operation counts must be non-negative")
        names = COUNT_NAMES[:arr.shape[1]]
        if arr.shape[1] == len(COUNT_NAMES) and np.any(arr[:, -1] > arr[:, 0]):
            raise ValueError("effective_neuron_updates must not exceed neuron_updates (column "
                             f"{len(COUNT_NAMES) - 1} above column 0)")
        col_sums = arr.sum(axis=0, dtype=np.int64)
        sums = {name: int(v) for name, v in zip(names, col_sums, strict=True)}
        self._ticks += int(arr.shape[0])
        self._neuron_updates += sums["neuron_updates"]
        self._effective_neuron_updates += sums.get("effective_neuron_updates",
                                                   sums["neuron_updates"])
        self._spikes += sums["spikes"]
        self._synaptic_events += sums["synaptic_events"]
        self._weight_updates += sums["weight_updates"]

    @classmethod
    def from_inferences(
        cls, profile: HardwareProfile | str, control_dt_s: float, cost: DnnCost, ticks: int
    ) -> EnergyMeter:
        """A meter that has charged ``ticks`` control ticks of one DNN inference each."""
        if isinstance(ticks, bool) or not isinstance(ticks, (int, np.integer)) or ticks < 0:
            raise ValueError(f"ticks must be a non-negative integer, got {ticks!r}")
        meter = cls(profile, control_dt_s)
        if ticks:
            meter.charge_inference(cost)  # validates the profile
            total = cost * (int(ticks) - 1)
            meter._ticks += int(ticks) - 1
            meter._inferences += int(ticks) - 1
            meter._macs += total.macs
            meter._activations += total.activations
            meter._reads += total.memory_reads
            meter._writes += total.memory_writes
        return meter

    # -- reading ----------------------------------------------------------------------------

    @property
    def ticks(self) -> int:
        """Control ticks charged."""
        return self._ticks

    @property
    def duration_s(self) -> float:
        """Time charged: ``ticks × control_dt_s``."""
        return self._ticks * self.control_dt_s

    @property
    def counts(self) -> OpCounts:
        """Total spiking-network operations charged."""
        return OpCounts(
            neuron_updates=self._neuron_updates,
            spikes=self._spikes,
            synaptic_events=self._synaptic_events,
            weight_updates=self._weight_updates,
            effective_neuron_updates=self._effective_neuron_updates,
        )

    @property
    def execution(self) -> str | None:
        """The profile's execution model (None for a DNN profile)."""
        return self.profile.execution

    @property
    def neuron_updates_charged(self) -> str | None:
        """Which neuron-update count the profile pays for: ``"dense"`` (time-stepped),
        ``"effective"`` (event-driven), or None (a DNN profile)."""
        if self.profile.execution is None:
            return None
        return "effective" if self.profile.charges_effective_updates else "dense"

    def execution_report(self) -> dict[str, str | int | None]:
        """What a report prints beside the bill: ``execution``, ``neuron_updates_charged`` and
        both neuron-update counts (JSON-ready)."""
        return {"execution": self.execution,
                "neuron_updates_charged": self.neuron_updates_charged,
                "neuron_updates": self._neuron_updates,
                "effective_neuron_updates": self._effective_neuron_updates}

    @property
    def inferences(self) -> int:
        """DNN inference calls charged (each pays the profile's ``joules_per_inference``)."""
        return self._inferences

    @property
    def dnn_cost(self) -> DnnCost:
        """Total DNN operations charged."""
        return DnnCost(
            macs=self._macs,
            activations=self._activations,
            memory_reads=self._reads,
            memory_writes=self._writes,
        )

    def totals(self) -> TickEnergy:
        """Energy charged so far, by category (exact counts × prices)."""

        def price(count: int, p: float | None) -> float:
            return float(count * p) if p is not None else 0.0

        return TickEnergy(
            spikes_j=price(self._spikes, self._p_spike),
            synaptic_j=price(self._synaptic_events, self._p_syn),
            neuron_j=(price(self._effective_neuron_updates, self._p_neuron)
                      + price(self._neuron_updates - self._effective_neuron_updates,
                              self._p_idle)),
            learning_j=price(self._weight_updates, self._p_weight),
            mac_j=price(self._macs + self._activations, self._p_mac),
            memory_j=price(self._reads + self._writes, self._p_mem),
            static_j=self._ticks * self._static_tick_j,
            overhead_j=self._inferences * self._p_call,
        )

    def breakdown(self) -> dict[str, float]:
        """Total joules by category plus ``dynamic_j`` and ``total_j`` (see :class:`TickEnergy`)."""
        return self.totals().as_dict()

    def mean_power_w(self, *, dynamic_only: bool = False) -> float:
        """Mean compute power over the ticks charged, in watts (NaN before the first tick).

        Args:
            dynamic_only: leave out static power.
        """
        if self._ticks == 0:
            return math.nan
        t = self.totals()
        return (t.dynamic_j if dynamic_only else t.total_j) / self.duration_s

    def activity(self) -> float:
        """Spikes per neuron update — the fraction of updates that fired (NaN if none).

        Report it beside every SNN/DNN energy ratio: spiking wins only while this is small.
        """
        if self._neuron_updates == 0:
            return math.nan
        return self._spikes / self._neuron_updates

    def __repr__(self) -> str:
        return (
            f"EnergyMeter(profile={self.profile.name!r}, control_dt_s={self.control_dt_s}, "
            f"ticks={self._ticks})"
        )
