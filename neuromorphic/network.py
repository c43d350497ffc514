"""A spiking network: populations, CSR projections, and two ways to run it.

Build a network by adding populations and projections, then either

- :meth:`Network.run` a duration in one compiled call (chunked only to grow the spike
  monitor), or
- :meth:`Network.step` one control tick of ``n_substeps`` steps per compiled call, as a
  controller does.

Both drive the same kernel (:func:`neurofit.neuromorphic._kernels.advance_packed`, over the
network's packed buffers: :attr:`Network.packed`), so for the same seed they give identical
spikes. Every operation is counted exactly inside the kernel.

Two execution models over the same state (``Network(execution=...)``): *time-stepped*
advances every neuron every step (the bus); *event-driven* advances only the neurons that
have input or are not yet at rest (the taxi). A neuron at rest — membrane within ``settle_v``
of the value its drive holds it at, synaptic currents within ``settle_v`` of zero, not
refractory — is set exactly to that rest in both models, so both give bit-identical spikes
and states; the counters keep the dense count (``neuron_updates``) and the updates actually
done (``effective_neuron_updates``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurofit.neuromorphic import _kernels as K
from neurofit.neuromorphic import _layout as Y
from neurofit.neuromorphic import _plastic as L
from neurofit.neuromorphic._checks import check_array_finite, check_positive
from neurofit.neuromorphic._jit import njit
from neurofit.neuromorphic._rng import new_rng_state
from neurofit.neuromorphic.analog import AnalogProfile
from neurofit.neuromorphic.connectivity import Connectivity
from neurofit.neuromorphic.counters import OpCounts
from neurofit.neuromorphic.neurons import AdaptiveLIFParams, LIFParams
from neurofit.neuromorphic.plasticity import ThreeFactor

#: A step must be this many times shorter than the fastest time constant.
MIN_TAU_OVER_DT = 5.0

#: Execution models of :class:`Network` (see the module notes).
EXECUTIONS = ("time-stepped", "event-driven")

#: Default rest bound, volts: 10 µV, under 0.1% of a 15 mV threshold gap. Smaller bounds move
#: the membrane less but take longer to reach (about 2.3 membrane time constants a decade).
SETTLE_V = 1e-5

_CHANNELS = {"exc": 0, "inh": 1}
_KINDS = {"lif": K.KIND_LIF, "poisson": K.KIND_POISSON, "generator": K.KIND_GENERATOR}
_ELIG = {"pre": L.ELIG_PRE, "perturbation": L.ELIG_PERTURBATION, "stdp": L.ELIG_STDP}


@dataclass(frozen=True)
class Population:
    """A contiguous block of neurons (or spike sources) in the network's flat index space."""

    name: str
    kind: str
    start: int
    stop: int
    params: LIFParams | None = None

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def slice(self) -> slice:
        return slice(self.start, self.stop)


@dataclass(frozen=True)
class Projection:
    """Synapses from one population to another, stored as CSR rows of the presynaptic side."""

    name: str
    pre: str
    post: str
    channel: str
    index: int
    synapse_start: int
    synapse_stop: int
    max_delay_steps: int

    @property
    def n_synapses(self) -> int:
        return self.synapse_stop - self.synapse_start


@dataclass(frozen=True)
class RunResult:
    """What one :meth:`Network.run` did."""

    n_steps: int
    wall_s: float
    counts: OpCounts
    probe_v: np.ndarray | None = None


class Network:
    """A network of LIF / adaptive-LIF populations, spike sources and CSR projections.

    Args:
        dt_s: simulation step in seconds.
        seed: seeds connectivity, initial states and the kernel's random generator.
        dtype: float type of states and weights (``np.float32`` for speed, ``np.float64``
            for reference comparisons).
        tick_steps: steps per control tick; plastic projections learn at the end of every
            tick (whether the network advances by :meth:`run` or :meth:`step`).
        analog: the chip's analog non-idealities (:class:`AnalogProfile`); ideal by default.
        execution: ``"time-stepped"`` (every neuron every step) or ``"event-driven"`` (only
            neurons with input or not yet at rest); same spikes and states either way.
            Settable later (:attr:`execution`).
        settle_v: the rest bound, volts (>= 0): a LIF neuron that is not refractory, whose
            membrane is within ``settle_v`` of its resting fixed point ``v_inf`` (rest
            potential + bias + gain x input) and whose synaptic currents (and threshold
            adaptation) are at most ``settle_v`` in magnitude, is set to exactly ``v_inf``
            (adaptation 0, currents ignored) — in both execution models, so they agree bit for
            bit. The membrane is moved by at most ``settle_v``; 0 puts a neuron at rest only
            when it is there exactly (event-driven execution then saves little).
    """

    def __init__(self, dt_s: float = 1e-4, seed: int = 0, dtype: Any = np.float32,
                 *, tick_steps: int = 10, analog: AnalogProfile | None = None,
                 execution: str = "time-stepped", settle_v: float = SETTLE_V) -> None:
        check_positive("dt_s", dt_s)
        _check_execution(execution)
        if (isinstance(settle_v, bool) or not isinstance(settle_v, (int, float, np.floating))
                or not math.isfinite(settle_v) or settle_v < 0):
            raise ValueError(f"settle_v must be a finite number >= 0 (volts), got {settle_v!r}")
        self._execution = execution
        self.settle_v = float(settle_v)
        if not isinstance(tick_steps, (int, np.integer)) or tick_steps < 1:
            raise ValueError(f"tick_steps must be a positive integer, got {tick_steps!r}")
        if analog is not None and not isinstance(analog, AnalogProfile):
            raise ValueError(f"analog must be an AnalogProfile or None, got {analog!r}")
        self._tick_steps = int(tick_steps)
        self.analog = analog or AnalogProfile()
        if np.dtype(dtype) not in (np.dtype(np.float32), np.dtype(np.float64)):
            raise ValueError(f"dtype must be float32 or float64, got {np.dtype(dtype)}")
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.dt_s = float(dt_s)
        self.seed = int(seed)
        self.dtype = np.dtype(dtype)
        build_seq, kernel_seq = np.random.SeedSequence(self.seed).spawn(2)
        self._rng = np.random.default_rng(build_seq)
        self._kernel_seed = int(kernel_seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
        self._pops: dict[str, Population] = {}
        self._pop_spec: list[dict[str, Any]] = []
        self._projs: dict[str, Projection] = {}
        self._proj_spec: list[dict[str, Any]] = []
        self._n = 0
        self._n_syn = 0
        self._built = False
        self._t = 0

    # ------------------------------------------------------------------ building
    @property
    def n_neurons(self) -> int:
        """All neurons and spike sources."""
        return self._n

    @property
    def n_synapses(self) -> int:
        return self._n_syn

    @property
    def populations(self) -> dict[str, Population]:
        return dict(self._pops)

    @property
    def projections(self) -> dict[str, Projection]:
        return dict(self._projs)

    @property
    def tick_steps(self) -> int:
        """Steps per control tick (plastic projections learn at the end of each); fixed."""
        return self._tick_steps

    @property
    def execution(self) -> str:
        """``"time-stepped"`` or ``"event-driven"``; may be switched between calls.

        Both models keep the same state, so switching changes no result, only which neurons
        are advanced (and counted effective). Switching to event-driven wakes every neuron
        once (the time-stepped kernel keeps no active lists).
        """
        return self._execution

    @execution.setter
    def execution(self, value: str) -> None:
        _check_execution(value)
        if value != self._execution and self._built:
            self.wake()  # the time-stepped kernel keeps no lists: flags stay all-awake there
        self._execution = value

    @property
    def t_s(self) -> float:
        """Simulated time so far."""
        return self._t * self.dt_s

    @property
    def steps(self) -> int:
        """Simulation steps so far."""
        return self._t

    def population(self, name: str) -> Population:
        """The population called ``name`` (clear error listing the known names otherwise)."""
        try:
            return self._pops[name]
        except KeyError:
            raise ValueError(
                f"unknown population {name!r}; known populations: {sorted(self._pops)}"
            ) from None

    def _add(self, name: str, n: int, kind: str, params: LIFParams | None,
             record: bool, **spec: Any) -> Population:
        if self._built:
            raise RuntimeError("the network is built (it has run); add populations before")
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string, got {name!r}")
        if name in self._pops:
            raise ValueError(f"population name {name!r} is already used")
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        pop = Population(name, kind, self._n, self._n + int(n), params)
        self._pops[name] = pop
        self._pop_spec.append(dict(pop=pop, record=bool(record), **spec))
        self._n += int(n)
        return pop

    def _per_neuron(self, name: str, value: Any, n: int) -> np.ndarray:
        arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,)).copy() \
            if np.ndim(value) == 0 else np.asarray(value, dtype=np.float64)
        if arr.shape != (n,):
            raise ValueError(f"{name} must be a scalar or have shape ({n},), got {arr.shape}")
        check_array_finite(name, arr)
        return arr

    def add_lif(
        self,
        name: str,
        n: int,
        params: LIFParams | None = None,
        *,
        v_init: float | tuple[float, float] | np.ndarray | None = None,
        bias_v: float | np.ndarray = 0.0,
        gain: float | np.ndarray = 1.0,
        v_thresh: float | np.ndarray | None = None,
        record: bool = False,
    ) -> Population:
        """Add ``n`` LIF neurons (adaptive when ``params`` is :class:`AdaptiveLIFParams`).

        Args:
            v_init: initial membrane: a value, an array, or ``(low, high)`` for uniform draws;
                default ``v_rest``.
            bias_v: constant drive per neuron (volts).
            gain: per-neuron gain on the external input current.
            v_thresh: per-neuron thresholds (for mismatch); default ``params.v_thresh``.
            record: keep every spike in the monitor (see :meth:`spikes`).
        """
        params = LIFParams() if params is None else params
        if not isinstance(params, LIFParams):
            raise ValueError(f"params must be LIFParams or AdaptiveLIFParams, got {params!r}")
        tau_min = params.smallest_time_constant_s()
        if self.dt_s * MIN_TAU_OVER_DT > tau_min:
            raise ValueError(
                f"dt_s={self.dt_s} is too coarse for population {name!r}: it must be at most "
                f"1/{MIN_TAU_OVER_DT:g} of the smallest time constant ({tau_min} s), "
                f"i.e. dt_s <= {tau_min / MIN_TAU_OVER_DT:g}"
            )
        if v_init is None:
            v0 = np.full(n, params.v_rest)
        elif isinstance(v_init, tuple):
            low, high = v_init
            if not (math.isfinite(low) and math.isfinite(high)) or high < low:
                raise ValueError(f"v_init range must be finite with low <= high, got {v_init}")
            v0 = self._rng.uniform(low, high, size=n)
        else:
            v0 = self._per_neuron("v_init", v_init, n)
        thresh = self._per_neuron(
            "v_thresh", params.v_thresh if v_thresh is None else v_thresh, n
        )
        if np.any(thresh <= params.v_reset):
            bad = int(np.argmax(thresh <= params.v_reset))
            raise ValueError(
                f"v_thresh must be above v_reset={params.v_reset} for every neuron, but neuron "
                f"{bad} has v_thresh={thresh[bad]}"
            )
        return self._add(
            name, n, "lif", params, record,
            v_init=v0, bias=self._per_neuron("bias_v", bias_v, n),
            gain=self._per_neuron("gain", gain, n), v_thresh=thresh,
        )

    def add_poisson(self, name: str, n: int, rate_hz: float | np.ndarray = 0.0,
                    *, record: bool = False) -> Population:
        """Add ``n`` Poisson spike sources; change their rates later with :meth:`set_rates`."""
        rates = self._per_neuron("rate_hz", rate_hz, n)
        self._check_rates(rates)
        return self._add(name, n, "poisson", None, record, rate_hz=rates)

    def add_spike_source(self, name: str, n: int, times_s: np.ndarray, indices: np.ndarray,
                         *, record: bool = False) -> Population:
        """Add ``n`` sources that fire at given times: source ``indices[k]`` at ``times_s[k]``."""
        times = np.asarray(times_s, dtype=np.float64).ravel()
        idx = np.asarray(indices, dtype=np.int64).ravel()
        if times.shape != idx.shape:
            raise ValueError(
                f"times_s and indices must have the same length, got {times.size} and {idx.size}"
            )
        check_array_finite("times_s", times)
        if times.size and times.min() < 0:
            raise ValueError(f"times_s must be >= 0, got {times.min()}")
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError(f"indices must be in [0, {n - 1}], got {idx.min()}..{idx.max()}")
        steps = np.rint(times / self.dt_s).astype(np.int64)
        return self._add(name, n, "generator", None, record, gen_steps=steps, gen_idx=idx)

    def connect(
        self,
        pre: str,
        post: str,
        rule: Connectivity,
        weight: float | np.ndarray,
        *,
        channel: str = "exc",
        delay_s: float | np.ndarray = 0.0,
        name: str | None = None,
    ) -> Projection:
        """Connect ``pre`` to ``post`` by ``rule``; weights in volts, added to ``channel``.

        Args:
            weight: one value for all synapses, or one per synapse (in the rule's pair order).
            channel: ``"exc"`` or ``"inh"`` — which synaptic current (and time constant) the
                weight jumps; the sign comes from the weight itself.
            delay_s: transmission delay, one value or one per synapse; rounded to whole steps.
        """
        if self._built:
            raise RuntimeError("the network is built (it has run); connect before")
        pre_pop, post_pop = self.population(pre), self.population(post)
        if post_pop.kind != "lif":
            raise ValueError(f"post must be a LIF population, {post!r} is a {post_pop.kind} source")
        if channel not in _CHANNELS:
            raise ValueError(f"channel must be one of {sorted(_CHANNELS)}, got {channel!r}")
        name = name or f"{pre}->{post}"
        if name in self._projs:
            raise ValueError(f"projection name {name!r} is already used")
        pre_idx, post_idx = rule.pairs(pre_pop.size, post_pop.size, self._rng,
                                       same_population=pre == post)
        n_syn = pre_idx.size
        weights = self._per_synapse("weight", weight, n_syn)
        delays_s = self._per_synapse("delay_s", delay_s, n_syn)
        if n_syn and delays_s.min() < 0:
            raise ValueError(f"delay_s must be >= 0, got {delays_s.min()}")
        delays = np.rint(delays_s / self.dt_s).astype(np.int64)
        order = np.lexsort((post_idx, pre_idx))
        proj = Projection(name, pre, post, channel, len(self._projs), self._n_syn,
                          self._n_syn + n_syn, int(delays.max()) if n_syn else 0)
        self._projs[name] = proj
        self._proj_spec.append(dict(
            proj=proj, pre_local=pre_idx[order], post_global=post_idx[order] + post_pop.start,
            weights=weights[order], delays=delays[order], rule=None,
        ))
        self._n_syn += n_syn
        return proj

    @staticmethod
    def _per_synapse(name: str, value: Any, n_syn: int) -> np.ndarray:
        arr = np.asarray(value, dtype=np.float64)
        if arr.ndim == 0:
            arr = np.full(n_syn, float(arr))
        if arr.shape != (n_syn,):
            raise ValueError(
                f"{name} must be a scalar or have one value per synapse ({n_syn}), got {arr.shape}"
            )
        check_array_finite(name, arr)
        return arr

    def set_plasticity(self, projection: str, rule: ThreeFactor) -> None:
        """Make a projection learn by a three-factor ``rule`` (before the network runs).

        Initial weights outside the rule's bounds are clipped into them.
        """
        if self._built:
            raise RuntimeError("the network is built (it has run); set plasticity before")
        if not isinstance(rule, ThreeFactor):
            raise ValueError(f"rule must be a ThreeFactor, got {rule!r}")
        proj = self._projection(projection)
        rule.bounds  # noqa: B018 - validates the sign constraint early
        self._proj_spec[proj.index]["rule"] = rule

    def _check_rates(self, rates: np.ndarray) -> None:
        if rates.size and (rates.min() < 0 or rates.max() * self.dt_s > 1):
            raise ValueError(
                f"rate_hz must be in [0, {1 / self.dt_s:g}] (at most one spike per step), got "
                f"{rates.min():g}..{rates.max():g}"
            )

    def build(self) -> None:
        """Pack populations and projections into the kernel's flat arrays (done on first run)."""
        if self._built:
            return
        if not self._pops:
            raise ValueError("the network has no populations; add one before running")
        dt, fdt, n = self.dt_s, self.dtype, self._n
        n_pops = len(self._pop_spec)
        self._state = np.zeros((K.N_STATE, n), dtype=fdt)
        self._refrac = np.zeros(n, dtype=np.int32)
        self._nparam = np.zeros((K.N_NPARAM, n), dtype=fdt)
        self._pop_f = np.zeros((n_pops, K.N_POP_F), dtype=fdt)
        self._pop_i = np.zeros((n_pops, K.N_POP_I), dtype=np.int64)
        gen_steps, gen_idx = [], []
        for p, spec in enumerate(self._pop_spec):
            pop: Population = spec["pop"]
            sl = pop.slice
            kind = _KINDS[pop.kind]
            if isinstance(pop.params, AdaptiveLIFParams):
                kind = K.KIND_ALIF
            self._pop_i[p, :K.PI_RECORD + 1] = (pop.start, pop.stop, kind, 0, spec["record"])
            if pop.kind == "lif":
                self._pop_f[p] = _lif_coefficients(pop.params, dt)
                self._pop_i[p, K.PI_REFRAC_STEPS] = max(round(pop.params.refractory_s / dt) - 1, 0)
                self._nparam[K.N_V_THRESH, sl] = spec["v_thresh"]
                self._nparam[K.N_GAIN, sl] = spec["gain"]
                self._nparam[K.N_BIAS, sl] = spec["bias"]
            elif pop.kind == "poisson":
                self._nparam[K.N_P_SPIKE, sl] = spec["rate_hz"] * dt
            else:
                gen_steps.append(spec["gen_steps"])
                gen_idx.append(spec["gen_idx"] + pop.start)
        self._apply_mismatch()
        self._v_init = np.zeros(n)
        for spec in self._pop_spec:
            if spec["pop"].kind == "lif":
                self._v_init[spec["pop"].slice] = spec["v_init"]
        steps = np.concatenate(gen_steps) if gen_steps else np.zeros(0, np.int64)
        idx = np.concatenate(gen_idx) if gen_idx else np.zeros(0, np.int64)
        order = np.argsort(steps, kind="stable")
        self._gen_step, self._gen_idx = steps[order], idx[order].astype(np.int32)
        self._gen_ptr = np.zeros(1, dtype=np.int64)
        self._pack_projections()
        self._pack_plasticity()
        self._pop_counts = np.zeros((n_pops, K.N_POP_COUNTS), dtype=np.int64)
        self._proj_counts = np.zeros((max(len(self._proj_spec), 1), 2), dtype=np.int64)
        self._tick_counts = np.zeros(n, dtype=np.int32)
        self._v_inf = np.zeros(n, dtype=fdt)  # resting fixed points (volts)
        self._spiked = np.zeros(-(-n // 8) * 8, dtype=np.uint8)  # padded to whole words
        self._spiked_words = self._spiked.view(np.uint64)
        self._pop_scale = np.ones((n_pops, 2), dtype=np.float64)
        self._spike_list = np.zeros(n, dtype=np.int64)
        self._mon_reserve = int(sum(s["pop"].size for s in self._pop_spec if s["record"]))
        self._mon_idx = np.zeros(max(4 * self._mon_reserve, 1024), dtype=np.int32)
        self._mon_step = np.zeros_like(self._mon_idx, dtype=np.int64)
        self._mon_n = np.zeros(1, dtype=np.int64)
        self._ext = np.zeros((1, n), dtype=fdt)
        self._no_probe = np.zeros(0, dtype=np.int64)
        self._no_probe_out = np.zeros((0, 0), dtype=fdt)
        self._rng_state = new_rng_state(self._kernel_seed)
        self._pack_event_driven()
        self._pack_buffers()
        self._built = True
        self.reset_state()

    def _pack_event_driven(self) -> None:
        """Active lists (each population's in its own index range) and per-slot ring lists."""
        n, ring_len = self._n, self._ring.shape[1]
        self._active_padded = np.zeros(-(-n // 8) * 8, dtype=np.uint8)  # whole words
        self._active = self._active_padded[:n]
        self._active_list = np.zeros(n, dtype=np.int32)
        self._n_active = np.zeros(len(self._pop_spec), dtype=np.int64)
        self._list_ok = np.zeros(len(self._pop_spec), dtype=np.uint8)
        self._ring_list = np.zeros((ring_len, n), dtype=np.int32)
        self._ring_n = np.zeros(ring_len, dtype=np.int64)
        self._ring_mark = np.zeros((ring_len, n), dtype=np.uint8)

    def _pack_buffers(self) -> None:
        """Move the kernel's arrays into packed buffers (:mod:`neurofit.neuromorphic._layout`):
        each attribute becomes a view into its buffer, so the kernel takes a few buffers."""
        roles = (self.dtype, np.float64, np.int64, np.int32, np.uint8, np.uint64)
        packed = Y.pack([(name, getattr(self, "_" + name), role) for name, role in Y.NET_SLOTS],
                        roles)
        for name, view in packed.views.items():
            setattr(self, "_" + name, view)
        self._active = self._active_padded[:self._n]
        self._spiked_words = self._spiked.view(np.uint64)
        self._packed = packed
        #: what every compiled call takes after the inputs: the buffers and their table
        self._packed_args = (*packed.buffers, packed.offsets)

    @property
    def packed(self) -> Y.PackedArrays:
        """The network's packed buffers and offset table (built on first use), for a
        compiled caller that advances the network itself (one call per control tick:
        :func:`neurofit.neuromorphic._kernels.advance_packed`). Write into the views only."""
        self.build()
        return self._packed

    def wake(self, population: str | None = None) -> None:
        """Put every neuron (of ``population``, or all) on the active lists of event-driven
        execution: each is advanced at least once more, and rests again if nothing moved it.

        Call it after writing a neuron's state directly (the views of :meth:`state` do it
        for you). Waking never changes a result, only the effective count.
        """
        self.build()
        pops = [self.population(population)] if population is not None else \
            [s["pop"] for s in self._pop_spec]
        for pop in pops:
            if pop.kind == "lif":
                self._active[pop.slice] = 1
        self._rebuild_active_lists()

    def _rebuild_active_lists(self) -> None:
        """Active counts from the flags (the kernel rebuilds a list from its flags when it next
        needs it), and the ring's per-slot lists from its non-zero entries (the only ones a
        drain acts on)."""
        for p, spec in enumerate(self._pop_spec):
            pop = spec["pop"]
            if pop.kind != "lif":
                self._active[pop.slice] = 0
            self._n_active[p] = np.count_nonzero(self._active[pop.slice])
        self._list_ok[:] = 0
        pending = (self._ring[0] != 0) | (self._ring[1] != 0)
        self._ring_mark[:] = pending
        self._ring_n[:] = pending.sum(axis=1)
        for slot in range(pending.shape[0]):
            idx = np.flatnonzero(pending[slot])
            self._ring_list[slot, :idx.size] = idx

    def _pack_projections(self) -> None:
        n_pops, n_proj = len(self._pop_spec), len(self._proj_spec)
        pop_index = {s["pop"].name: p for p, s in enumerate(self._pop_spec)}
        self._proj_i = np.zeros((max(n_proj, 1), K.N_PROJ_I), dtype=np.int64)
        rows, indices, weights, delays = [], [], [], []
        row_offset, max_delay = 0, 0
        outgoing: list[list[int]] = [[] for _ in range(n_pops)]
        for q, spec in enumerate(self._proj_spec):
            proj: Projection = spec["proj"]
            pre = self._pops[proj.pre]
            counts = np.bincount(spec["pre_local"], minlength=pre.size)
            # each projection owns pre.size + 1 row pointers, holding global synapse offsets
            rows.append(proj.synapse_start + np.concatenate([[0], np.cumsum(counts)]))
            self._proj_i[q] = (pre.start, row_offset, _CHANNELS[proj.channel],
                               proj.max_delay_steps > 0, pop_index[proj.post], pre.stop)
            row_offset += pre.size + 1
            indices.append(spec["post_global"])
            weights.append(spec["weights"])
            delays.append(spec["delays"])
            max_delay = max(max_delay, proj.max_delay_steps)
            outgoing[pop_index[proj.pre]].append(q)
        self._indptr = np.concatenate(rows).astype(np.int64) if n_proj else np.zeros(1, np.int64)
        self._indices = (np.concatenate(indices) if n_proj else np.zeros(0)).astype(np.int32)
        self._weights = (np.concatenate(weights) if n_proj else np.zeros(0)).astype(self.dtype)
        self._delays = (np.concatenate(delays) if n_proj else np.zeros(0)).astype(np.int32)
        self._ring = np.zeros((2, max_delay + 1, self._n), dtype=self.dtype)
        self._pop_out_ptr = np.zeros(n_pops + 1, dtype=np.int64)
        self._pop_out_ptr[1:] = np.cumsum([len(o) for o in outgoing])
        self._pop_out_proj = np.array([q for o in outgoing for q in o], dtype=np.int64)

    def _apply_mismatch(self) -> None:
        """Fixed-pattern mismatch of gains and thresholds, drawn once per neuron (analog)."""
        sigma_gain, sigma_thresh = self.analog.gain_mismatch, self.analog.threshold_mismatch
        if sigma_gain == 0 and sigma_thresh == 0:
            return
        for spec in self._pop_spec:
            pop = spec["pop"]
            if pop.kind != "lif":
                continue
            sl, n = pop.slice, pop.size
            factor = np.maximum(1 + sigma_gain * self._rng.standard_normal(n), 0.1)
            self._nparam[K.N_GAIN, sl] *= factor
            distance = self._nparam[K.N_V_THRESH, sl] - pop.params.v_rest
            factor = np.maximum(1 + sigma_thresh * self._rng.standard_normal(n), 0.1)
            self._nparam[K.N_V_THRESH, sl] = pop.params.v_rest + distance * factor

    def _pack_plasticity(self) -> None:
        """Per-projection learning constants, traces, eligibilities and the STDP index."""
        n, n_proj = self._n, max(len(self._proj_spec), 1)
        pop_index = {s["pop"].name: p for p, s in enumerate(self._pop_spec)}
        self._plast_i = np.zeros((n_proj, L.N_PLAST_I), dtype=np.int64)
        self._plast_f = np.zeros((n_proj, L.N_PLAST_F), dtype=np.float64)
        trace_tau: dict[int, float] = {}
        stdp_synapses = []
        for q, spec in enumerate(self._proj_spec):
            proj: Projection = spec["proj"]
            rule: ThreeFactor | None = spec["rule"]
            w = self._weights[proj.synapse_start:proj.synapse_stop]
            bits = self.analog.weight_bits
            if rule is not None:
                w_min, w_max = rule.bounds
                bits = rule.weight_bits if rule.weight_bits is not None else bits
                stochastic = rule.stochastic_rounding or self.analog.stochastic_rounding
                self._plast_i[q] = (_ELIG[rule.eligibility], bits or 0, stochastic,
                                    rule.soft_bounds)
                self._plast_f[q, L.LF_ETA] = rule.learning_rate
                self._plast_f[q, L.LF_A_ELIG] = math.exp(-self.dt_s / rule.tau_elig_s)
                self._plast_f[q, L.LF_A_PLUS] = rule.a_plus
                self._plast_f[q, L.LF_A_MINUS] = rule.a_minus
                self._pop_i[pop_index[proj.pre], K.PI_COUNTED] = 1
                if rule.eligibility == "stdp":
                    stdp_synapses.append(q)
                    for name in (proj.pre, proj.post):
                        p = pop_index[name]
                        if trace_tau.setdefault(p, rule.tau_pre_s) != rule.tau_pre_s:
                            raise ValueError(
                                f"population {name!r} is traced by STDP rules with different "
                                f"tau_pre_s ({trace_tau[p]} and {rule.tau_pre_s}); use one value"
                            )
            else:  # a static projection keeps its own range, for quantisation and drift
                w_min = min(float(w.min(initial=0.0)), 0.0)
                w_max = max(float(w.max(initial=0.0)), 0.0)
                self._plast_i[q, L.LI_BITS] = bits or 0
                self._plast_i[q, L.LI_STOCHASTIC] = self.analog.stochastic_rounding
            self._plast_f[q, L.LF_W_MIN] = w_min
            self._plast_f[q, L.LF_W_MAX] = w_max
            self._plast_f[q, L.LF_READ_NOISE] = self.analog.read_noise
            self._plast_f[q, L.LF_DRIFT] = self.analog.drift_per_sqrt_s
            if w.size and (rule is not None or bits):
                w[:] = _quantise(np.clip(w, w_min, w_max), w_min, w_max, bits)
        for p, tau in trace_tau.items():
            self._pop_i[p, K.PI_STDP_POST] = 1
            self._pop_f[p, K.PF_A_TRACE] = math.exp(-self.dt_s / tau)
        self._elig = np.zeros(self._n_syn, dtype=self.dtype)
        self._elig_scale = np.ones(n_proj, dtype=np.float64)
        self._trace = np.zeros(n, dtype=self.dtype)
        self._tick_spikes = np.zeros(n, dtype=np.int32)
        self._modulator = np.zeros(n, dtype=np.float64)
        self._perturbation = np.zeros(n, dtype=np.float64)
        self._teach_scratch = np.zeros(n, dtype=np.float64)  # teach()'s modulator, global index
        self._pack_stdp_index(stdp_synapses, pop_index)

    def _pack_stdp_index(self, projections: list[int], pop_index: dict[str, int]) -> None:
        """Incoming synapses of every neuron, for the postsynaptic half of R-STDP."""
        syn, pre, post, owner = [], [], [], []
        for q in projections:
            proj = self._proj_spec[q]["proj"]
            spec = self._proj_spec[q]
            syn.append(np.arange(proj.synapse_start, proj.synapse_stop))
            pre.append(spec["pre_local"] + self._pops[proj.pre].start)
            post.append(spec["post_global"])
            owner.append(np.full(proj.n_synapses, q))
        if syn:
            syn_a, pre_a, post_a, own_a = (np.concatenate(x) for x in (syn, pre, post, owner))
        else:
            syn_a = pre_a = post_a = own_a = np.zeros(0, dtype=np.int64)
        order = np.argsort(post_a, kind="stable")
        self._csc_ptr = np.zeros(self._n + 1, dtype=np.int64)
        self._csc_ptr[1:] = np.cumsum(np.bincount(post_a, minlength=self._n))
        self._csc_syn = syn_a[order].astype(np.int64)
        self._csc_pre = pre_a[order].astype(np.int64)
        self._csc_proj = own_a[order].astype(np.int64)

    def reset_state(self) -> None:
        """Return membranes, currents, refractory counters and delay buffers to their start.

        Weights, counters, the spike monitor and the random generator are left as they are.
        """
        self.build()
        self._state[:] = 0
        self._state[K.S_V] = self._v_init
        self._refrac[:] = 0
        self._ring[:] = 0
        self._pop_scale[:] = 1.0
        self._spiked[:] = 0
        self.wake()
        for array in (self._trace, self._tick_spikes, self._elig, self._modulator,
                      self._perturbation):
            array[:] = 0
        self._elig_scale[:] = 1.0

    # ------------------------------------------------------------------ inputs
    def set_input(self, population: str, currents_v: np.ndarray | float) -> None:
        """Set a population's external input current (volts), held until changed."""
        self.build()
        pop = self.population(population)
        values = np.asarray(currents_v, dtype=np.float64)
        if values.ndim and values.shape != (pop.size,):
            raise ValueError(
                f"currents for {population!r} must be a scalar or have shape ({pop.size},), "
                f"got {values.shape}"
            )
        check_array_finite(f"currents for {population!r}", np.atleast_1d(values))
        self._ext[0, pop.slice] = values

    def input_view(self, population: str) -> np.ndarray:
        """A writable view of a population's held input currents, for allocation-free loops."""
        self.build()
        return self._ext[0, self.population(population).slice]

    def modulator_view(self, population: str) -> np.ndarray:
        """Writable view of the third factor ``M`` of a population's neurons (set each tick)."""
        self.build()
        return self._modulator[self.population(population).slice]

    def teach(self, projection: str, modulator: np.ndarray, learning_rate: float) -> int:
        """A PES write on a plastic projection besides its own rule, after a tick.

        ``Δw_ij = learning_rate · M_i · n_j``: ``M_i`` the modulator of postsynaptic neuron
        ``i`` (``modulator``, one value per neuron of the post population), ``n_j`` presynaptic
        neuron ``j``'s spike count in the last tick (:meth:`step`'s return). The rule's bounds,
        soft bounds and weight precision apply, and every write is counted in the projection's
        ``weight_updates`` (so priced like the rule's own): the error-driven member of the
        three-factor family, for a signal that is not the rule's (a reward-mode agent pulls an
        output beyond its range back with it).

        Returns:
            the synapses written (presynaptic neuron spiked and ``M_i`` not zero).
        """
        self.build()
        proj = self._projection(projection)
        q = proj.index
        if self._plast_i[q, L.LI_KIND] == L.ELIG_NONE:
            raise ValueError(f"projection {projection!r} has no plasticity rule; "
                             "call set_plasticity first")
        post = self._pops[proj.post]
        values = np.asarray(modulator, dtype=np.float64)
        if values.shape != (post.size,):
            raise ValueError(f"modulator for {projection!r} must have shape ({post.size},) (its "
                             f"post population {proj.post!r}), got {values.shape}")
        check_array_finite(f"modulator for {projection!r}", values)
        check_array_finite("learning_rate", np.atleast_1d(float(learning_rate)))
        scratch = self._teach_scratch
        scratch[post.slice] = values
        pre = self._pops[proj.pre]
        writes = L.teach_pre(pre.start, pre.stop, self._proj_i[q, K.QI_ROW_OFFSET], self._indptr,
                             self._indices, self._weights, self._plast_f[q], self._plast_i[q],
                             self._tick_counts, scratch, float(learning_rate), self._rng_state)
        scratch[post.slice] = 0.0
        self._proj_counts[q, K.C_WEIGHT_UPDATES] += writes
        return int(writes)

    def perturbation_view(self, population: str) -> np.ndarray:
        """Writable view of the exploration noise node perturbation correlates with.

        The caller injects the same noise into the neurons' input currents.
        """
        self.build()
        return self._perturbation[self.population(population).slice]

    def set_rates(self, population: str, rate_hz: np.ndarray | float) -> None:
        """Set the firing rates of a Poisson population."""
        self.build()
        pop = self.population(population)
        if pop.kind != "poisson":
            raise ValueError(f"{population!r} is a {pop.kind} population, not a Poisson source")
        rates = self._per_neuron("rate_hz", rate_hz, pop.size)
        self._check_rates(rates)
        self._nparam[K.N_P_SPIKE, pop.slice] = rates * self.dt_s

    # ------------------------------------------------------------------ running
    def _grow_monitor(self, needed: int) -> None:
        size = self._mon_idx.size
        while size - self._mon_n[0] < needed:
            size *= 2
        if size != self._mon_idx.size:
            self._mon_idx = np.resize(self._mon_idx, size)
            self._mon_step = np.resize(self._mon_step, size)

    def run(
        self,
        duration_s: float,
        *,
        inputs: dict[str, np.ndarray] | None = None,
        probe: dict[str, np.ndarray] | None = None,
    ) -> RunResult:
        """Simulate ``duration_s`` in one compiled call.

        Args:
            inputs: per-step input currents ``{population: array (n_steps, size)}``; without
                it the held inputs (:meth:`set_input`) apply.
            probe: ``{population: local indices}`` whose membrane is recorded every step
                (returned in :attr:`RunResult.probe_v`, columns in the order given).
        """
        check_positive("duration_s", duration_s)
        self.build()
        n_steps = round(duration_s / self.dt_s)
        if n_steps < 1:
            raise ValueError(
                f"duration_s={duration_s} is shorter than one step (dt_s={self.dt_s})"
            )
        ext, per_step = self._ext, False
        if inputs is not None:
            ext, per_step = self._per_step_inputs(inputs, n_steps), True
        probe_idx, probe_out = self._no_probe, self._no_probe_out
        if probe:
            probe_idx = np.concatenate([
                self._local_to_global(pop, idx) for pop, idx in probe.items()
            ]).astype(np.int64)
            probe_out = np.zeros((n_steps, probe_idx.size), dtype=self.dtype)
        before = self.counts()
        start = time.perf_counter()
        done = 0
        while done < n_steps:
            self._grow_monitor(self._mon_reserve)
            ext_chunk = ext[done:] if per_step else ext
            out_chunk = probe_out[done:] if probe_idx.size else probe_out
            done += K.advance_packed(n_steps - done, self._t + done, ext_chunk, per_step,
                                     *self._packed_args, self._mon_idx, self._mon_step,
                                     self._mon_reserve, probe_idx, out_chunk,
                                     self._tick_steps, self.dt_s,
                                     self._execution == "event-driven", self.settle_v)
        wall = time.perf_counter() - start
        self._t += n_steps
        return RunResult(n_steps, wall, self.counts() - before,
                         probe_out if probe_idx.size else None)

    def step(self, n_substeps: int = 1) -> np.ndarray:
        """Advance one control tick of ``n_substeps`` steps in one compiled call.

        Returns each neuron's spike count during the tick (a view, reused between calls:
        copy it to keep it). Inputs are the held ones (:meth:`set_input`, :meth:`input_view`).
        """
        if type(n_substeps) is not int or n_substeps < 1:
            if not (isinstance(n_substeps, (int, np.integer)) and n_substeps >= 1):
                raise ValueError(f"n_substeps must be a positive integer, got {n_substeps!r}")
            n_substeps = int(n_substeps)
        if not self._built:
            self.build()
        needed = self._mon_reserve * n_substeps
        if self._mon_idx.size - self._mon_n[0] < needed:
            self._grow_monitor(needed)
        K.advance_packed(n_substeps, self._t, self._ext, False, *self._packed_args,
                         self._mon_idx, self._mon_step, self._mon_reserve, self._no_probe,
                         self._no_probe_out, self._tick_steps, self.dt_s,
                         self._execution == "event-driven", self.settle_v)
        self._t += n_substeps
        return self._tick_counts

    def advance_clock(self, n_steps: int) -> None:
        """Count ``n_steps`` steps done by a compiled caller that advanced the network itself
        over :attr:`packed` (as :meth:`step` does after its call)."""
        self._t += n_steps

    def _per_step_inputs(self, inputs: dict[str, np.ndarray], n_steps: int) -> np.ndarray:
        ext = np.repeat(self._ext, n_steps, axis=0)
        for name, values in inputs.items():
            pop = self.population(name)
            arr = np.asarray(values, dtype=np.float64)
            if arr.shape != (n_steps, pop.size):
                raise ValueError(
                    f"inputs[{name!r}] must have shape (n_steps, size) = ({n_steps}, {pop.size}), "
                    f"got {arr.shape}"
                )
            check_array_finite(f"inputs[{name!r}]", arr)
            ext[:, pop.slice] = arr
        return ext

    def _local_to_global(self, population: str, local: np.ndarray) -> np.ndarray:
        pop = self.population(population)
        idx = np.asarray(local, dtype=np.int64).ravel()
        if idx.size and (idx.min() < 0 or idx.max() >= pop.size):
            raise ValueError(
                f"indices for {population!r} must be in [0, {pop.size - 1}], "
                f"got {idx.min()}..{idx.max()}"
            )
        return idx + pop.start

    # ------------------------------------------------------------------ saving
    _STATE_ARRAYS = (
        "_state", "_refrac", "_ring", "_pop_scale", "_weights", "_elig", "_elig_scale",
        "_trace", "_tick_spikes", "_modulator", "_perturbation", "_gen_ptr", "_rng_state",
        "_pop_counts", "_proj_counts", "_ext", "_nparam", "_active", "_v_inf",
    )
    #: keys added with event-driven execution: snapshots saved before lack them
    _EVENT_KEYS = ("active", "v_inf")

    def get_state(self) -> dict[str, np.ndarray]:
        """Everything that changes as the network runs (copies), for an exact resume.

        The structure (populations, projections, seed) is not included: rebuild the network
        the same way, then :meth:`set_state`. The spike monitor is not saved. The active set
        of event-driven execution is (``active``, with the resting points ``v_inf`` it was judged
        against).
        """
        self.build()
        state = {name.lstrip("_"): getattr(self, name).copy() for name in self._STATE_ARRAYS}
        state["t"] = np.array(self._t, dtype=np.int64)
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore a :meth:`get_state` snapshot into a network built the same way.

        A snapshot saved before event-driven execution existed (no ``active``/``v_inf``, two
        count columns) loads with every neuron awake and its effective count equal to the
        dense one (the time-stepped kernel advanced every neuron).
        """
        self.build()
        older = not all(key in state for key in self._EVENT_KEYS)
        for name in self._STATE_ARRAYS:
            key = name.lstrip("_")
            if older and key in self._EVENT_KEYS:
                continue
            if key not in state:
                raise ValueError(f"state is missing {key!r}; was it saved by get_state()?")
            target = getattr(self, name)
            value = np.asarray(state[key])
            if key == "pop_counts" and value.shape == (target.shape[0], K.C_EFFECTIVE_UPDATES):
                value = np.column_stack([value, value[:, K.C_NEURON_UPDATES]])
            if value.shape != target.shape:
                raise ValueError(
                    f"state[{key!r}] has shape {value.shape}, this network needs {target.shape}: "
                    "it was saved from a network built differently"
                )
            target[...] = value
        self._t = int(state["t"])
        self._spiked[:] = 0  # a neuron at rest has no spike flag (the kernel relies on it)
        if older:
            self._active[:] = 1
        self._rebuild_active_lists()

    # ------------------------------------------------------------------ reading
    def counts(self, population: str | None = None) -> OpCounts:
        """Exact operation counts so far: total, or of one population.

        A population is charged its own neuron updates (dense and effective) and spikes, and
        the synaptic events and weight updates of the projections that end on it (where a chip
        keeps the synapses).
        """
        if not self._built:
            return OpCounts()
        if population is None:
            pops, projs = self._pop_counts, self._proj_counts
        else:
            p = list(self._pops).index(self.population(population).name)
            pops = self._pop_counts[p:p + 1]
            projs = self._proj_counts[[q.index for q in self._projs.values()
                                       if q.post == population]]
        return OpCounts(
            neuron_updates=int(pops[:, K.C_NEURON_UPDATES].sum()),
            spikes=int(pops[:, K.C_SPIKES].sum()),
            synaptic_events=int(projs[:, K.C_SYNAPTIC_EVENTS].sum()),
            weight_updates=int(projs[:, K.C_WEIGHT_UPDATES].sum()),
            effective_neuron_updates=int(pops[:, K.C_EFFECTIVE_UPDATES].sum()),
        )

    def counts_array(self, out: np.ndarray | None = None) -> np.ndarray:
        """Total counts as an int64 array in :data:`~neurofit.neuromorphic.counters.OP_NAMES`
        order — the cheap form of :meth:`counts` for per-tick bookkeeping.

        An ``out`` of five entries also gets ``effective_neuron_updates`` (in
        :data:`~neurofit.neuromorphic.counters.COUNT_NAMES` order); the default has four.
        """
        if out is None:
            out = np.zeros(4, dtype=np.int64)
        if out.shape not in ((4,), (5,)) or out.dtype != np.int64:
            raise ValueError(f"out must be an int64 array of 4 or 5 entries, got {out.dtype} "
                             f"{out.shape}")
        if self._built:
            _sum_counts(self._pop_counts, self._proj_counts, out)
        else:
            out[:] = 0
        return out

    def projection_counts(self, name: str) -> OpCounts:
        """Synaptic events and weight updates of one projection."""
        proj = self._projection(name)
        if not self._built:
            return OpCounts()
        row = self._proj_counts[proj.index]
        return OpCounts(synaptic_events=int(row[K.C_SYNAPTIC_EVENTS]),
                        weight_updates=int(row[K.C_WEIGHT_UPDATES]))

    def _projection(self, name: str) -> Projection:
        try:
            return self._projs[name]
        except KeyError:
            raise ValueError(
                f"unknown projection {name!r}; known projections: {sorted(self._projs)}"
            ) from None

    def spikes(self, population: str) -> tuple[np.ndarray, np.ndarray]:
        """Recorded spikes of a population as ``(steps, local indices)``, in time order."""
        pop = self.population(population)
        spec = self._pop_spec[list(self._pops).index(pop.name)]
        if not spec["record"]:
            raise ValueError(f"population {population!r} was added with record=False")
        if not self._built:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        n = self._mon_n[0]
        idx, steps = self._mon_idx[:n], self._mon_step[:n]
        mine = (idx >= pop.start) & (idx < pop.stop)
        return steps[mine].copy(), (idx[mine] - pop.start).astype(np.int64)

    def state(self, population: str) -> dict[str, np.ndarray]:
        """A population's state: ``v``, ``i_exc``, ``i_inh`` (volts), ``theta``, ``refrac``.

        ``v``, ``theta`` and ``refrac`` are writable views; the currents are copies, since the
        kernel stores them scaled (see :mod:`neurofit.neuromorphic._kernels`). Because the
        views are writable, event-driven execution wakes the population (:meth:`wake`): each
        of its neurons is advanced, and counted effective, once more. Probes of :meth:`run`
        record membranes without waking.
        """
        self.build()
        pop = self.population(population)
        if self._execution == "event-driven":
            self.wake(population)
        p = list(self._pops).index(pop.name)
        sl = pop.slice
        return {
            "v": self._state[K.S_V, sl],
            "i_exc": self._state[K.S_I_EXC, sl] * self._pop_scale[p, 0],
            "i_inh": self._state[K.S_I_INH, sl] * self._pop_scale[p, 1],
            "theta": self._state[K.S_THETA, sl],
            "refrac": self._refrac[sl],
        }

    def weights(self, projection: str) -> np.ndarray:
        """A writable view of a projection's weights (in CSR order: by pre, then post)."""
        self.build()
        proj = self._projection(projection)
        return self._weights[proj.synapse_start:proj.synapse_stop]

    def synapses(self, projection: str) -> tuple[np.ndarray, np.ndarray]:
        """A projection's synapses as local ``(pre, post)`` index arrays, in weight order."""
        self.build()
        proj = self._projection(projection)
        q = proj.index
        pre = self._pops[proj.pre]
        row0 = self._proj_i[q, K.QI_ROW_OFFSET]
        counts = np.diff(self._indptr[row0:row0 + pre.size + 1])
        pre_local = np.repeat(np.arange(pre.size), counts)
        post_start = self._pops[proj.post].start
        post_local = self._indices[proj.synapse_start:proj.synapse_stop] - post_start
        return pre_local, post_local.astype(np.int64)


def _lif_coefficients(params: LIFParams, dt: float) -> np.ndarray:
    """Per-population constants of the exact update over one step (see module docstring)."""
    a_mem = math.exp(-dt / params.tau_mem_s)

    def current_weight(tau_syn: float) -> float:
        # contribution of I(t) = I0 exp(-t/tau_syn) to v over dt, per unit I0
        if abs(tau_syn - params.tau_mem_s) < 1e-12:
            return dt / params.tau_mem_s * a_mem
        a_syn = math.exp(-dt / tau_syn)
        return tau_syn / (tau_syn - params.tau_mem_s) * (a_syn - a_mem)

    adaptive = isinstance(params, AdaptiveLIFParams)
    coeffs = np.zeros(K.N_POP_F)
    coeffs[K.PF_A_MEM] = a_mem
    coeffs[K.PF_A_EXC] = math.exp(-dt / params.tau_syn_exc_s)
    coeffs[K.PF_A_INH] = math.exp(-dt / params.tau_syn_inh_s)
    coeffs[K.PF_C_EXC] = current_weight(params.tau_syn_exc_s)
    coeffs[K.PF_C_INH] = current_weight(params.tau_syn_inh_s)
    coeffs[K.PF_V_REST] = params.v_rest
    coeffs[K.PF_V_RESET] = params.v_reset
    coeffs[K.PF_A_ADAPT] = math.exp(-dt / params.tau_adapt_s) if adaptive else 1.0
    coeffs[K.PF_ADAPT_INC] = params.adapt_increment_v if adaptive else 0.0
    coeffs[K.PF_A_TRACE] = 1.0
    return coeffs


def _quantise(w: np.ndarray, w_min: float, w_max: float, bits: int | None) -> np.ndarray:
    """Deterministic rounding of initial weights to ``2**bits`` levels (as the kernel does)."""
    if not bits:
        return w
    step = (w_max - w_min) / ((1 << bits) - 1)
    if step <= 0:
        return w
    w = np.asarray(w, dtype=np.float64)  # float64 like the kernel: float32 misses its grid
    level = (w - w_min) / step
    base = np.floor(level)
    return np.minimum(w_min + (base + (level - base >= 0.5)) * step, w_max)


@njit
def _sum_counts(pop_counts, proj_counts, out):
    out[:] = 0
    for p in range(pop_counts.shape[0]):
        out[0] += pop_counts[p, K.C_NEURON_UPDATES]
        out[1] += pop_counts[p, K.C_SPIKES]
        if out.shape[0] > 4:
            out[4] += pop_counts[p, K.C_EFFECTIVE_UPDATES]
    for q in range(proj_counts.shape[0]):
        out[2] += proj_counts[q, K.C_SYNAPTIC_EVENTS]
        out[3] += proj_counts[q, K.C_WEIGHT_UPDATES]


def _check_execution(value: Any) -> None:
    if value not in EXECUTIONS:
        raise ValueError(f"execution must be one of {EXECUTIONS}, got {value!r}")
