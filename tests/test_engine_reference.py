"""The engine against a naive NumPy reference, exact delays, and the CUBA benchmark rate.

The reference simulator below is written from the model in :mod:`neurofit.neuromorphic.neurons`,
not from the kernel: dense weight matrices (one per channel and delay), true (unscaled)
currents, and the linear system ``x = (v, I_exc, I_inh, u)`` advanced over a step by its matrix
exponential, ``x(t + dt) = expm(A dt) x(t)``, with the constant drive ``u`` held over the step.
The step order is the engine's documented (Brian2) one: state update, threshold and reset, then
propagation; a neuron that spiked at step ``n`` holds ``v`` during steps ``n + 1 ..
n + round(t_ref / dt) - 1``; a spike at step ``n`` through a synapse of delay ``d`` steps is in
the current after step ``n + d``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest
from numba import config as numba_config

from neurofit.neuromorphic.connectivity import FromLists
from neurofit.neuromorphic.cuba import build_cuba
from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import AdaptiveLIFParams, LIFParams

JIT = not numba_config.DISABLE_JIT
DT = 1e-4

P_EXC = LIFParams(tau_mem_s=0.020, tau_syn_exc_s=0.005, tau_syn_inh_s=0.010, v_rest=-0.065,
                  v_reset=-0.070, v_thresh=-0.050, refractory_s=0.002)
# tau_syn_inh_s == tau_mem_s: the degenerate case of the exact update
P_INH = AdaptiveLIFParams(tau_mem_s=0.010, tau_syn_exc_s=0.002, tau_syn_inh_s=0.010,
                          v_rest=-0.060, v_reset=-0.065, v_thresh=-0.050, refractory_s=0.001,
                          tau_adapt_s=0.050, adapt_increment_v=0.001)


# ----------------------------------------------------------------------------- the reference
def expm(a: np.ndarray) -> np.ndarray:
    """``exp(a)`` by its Taylor series; exact to rounding here, where ``|a| <= dt / tau <= 0.2``."""
    out = term = np.eye(len(a))
    for k in range(1, 30):
        term = term @ a / k
        out = out + term
    return out


def step_matrix(p: LIFParams, dt: float) -> np.ndarray:
    """``expm(A dt)`` for ``tau_mem dv/dt = -v + I_exc + I_inh + u``, ``tau_syn dI/dt = -I``."""
    a = np.zeros((4, 4))
    a[0] = np.array([-1.0, 1.0, 1.0, 1.0]) / p.tau_mem_s
    a[1, 1] = -1.0 / p.tau_syn_exc_s
    a[2, 2] = -1.0 / p.tau_syn_inh_s
    return expm(a * dt)


@dataclass
class RefPop:
    """One population of the reference: a spike source when ``params`` is None."""

    start: int
    size: int
    params: LIFParams | None = None
    v_init: np.ndarray | None = None
    bias: np.ndarray | None = None
    gain: np.ndarray | None = None
    v_thresh: np.ndarray | None = None

    @property
    def sl(self) -> slice:
        return slice(self.start, self.start + self.size)


def reference_run(pops: list[RefPop], n: int, synapses: list[tuple], source_spikes: np.ndarray,
                  ext: np.ndarray, dt: float) -> dict[str, np.ndarray]:
    """Simulate ``len(ext)`` steps.

    Args:
        synapses: ``(pre, post, weight, channel, delay_steps)`` arrays of global indices.
        source_spikes: ``(n_steps, n)`` booleans: which sources fire at each step.
        ext: ``(n_steps, n)`` external input currents.

    Returns:
        ``spikes`` ``(k, 2)`` rows of (step, global index) in time then index order, ``v``
        ``(n_steps, n)`` after each step, and the final true ``currents`` ``(2, n)``.
    """
    n_steps = len(ext)
    max_delay = max(int(d.max()) if d.size else 0 for *_, d in synapses)
    w = np.zeros((2, max_delay + 1, n, n))
    for pre, post, weight, channel, delay in synapses:
        np.add.at(w, (channel, delay, pre, post), weight)
    v = np.zeros(n)
    currents = np.zeros((2, n))
    theta = np.zeros(n)
    last_spike = np.full(n, -(10**9))
    pending = np.zeros((n_steps + max_delay + 1, 2, n))  # inputs due after each step
    spikes, v_trace = [], np.zeros((n_steps, n))
    matrices = {}
    for k, pop in enumerate(pops):
        if pop.params is not None:
            v[pop.sl] = pop.v_init
            matrices[k] = step_matrix(pop.params, dt)
    for t in range(n_steps):
        fired = source_spikes[t].copy()
        for k, pop in enumerate(pops):
            p, sl = pop.params, pop.sl
            if p is None:
                continue
            m = matrices[k]
            u = p.v_rest + pop.bias + pop.gain * ext[t, sl]
            v_int = m[0, 0] * v[sl] + m[0, 1] * currents[0, sl] + m[0, 2] * currents[1, sl] \
                + m[0, 3] * u
            currents[0, sl] *= m[1, 1]
            currents[1, sl] *= m[2, 2]
            held = t - last_spike[sl] <= round(p.refractory_s / dt) - 1
            v_new = np.where(held, v[sl], v_int)
            if isinstance(p, AdaptiveLIFParams):
                theta[sl] *= math.exp(-dt / p.tau_adapt_s)
            fire = (v_new > pop.v_thresh + theta[sl]) & ~held
            v[sl] = np.where(fire, p.v_reset, v_new)
            if isinstance(p, AdaptiveLIFParams):
                theta[sl] += p.adapt_increment_v * fire
            last_spike[sl] = np.where(fire, t, last_spike[sl])
            fired[sl] = fire
        s = fired.astype(np.float64)
        for d in range(max_delay + 1):
            pending[t + d] += s @ w[:, d]  # (n,) @ (2, n, n) -> (2, n)
        currents += pending[t]
        spikes.extend((t, i) for i in np.flatnonzero(fired))
        v_trace[t] = v
    return {"spikes": np.array(spikes, dtype=np.int64).reshape(-1, 2), "v": v_trace,
            "currents": currents}


# ----------------------------------------------------------------------------- the comparison
def _random_pairs(rng: np.random.Generator, n_pre: int, n_post: int, p: float):
    pre, post = np.nonzero(rng.random((n_pre, n_post)) < p)
    order = rng.permutation(pre.size)  # not CSR order: the engine must sort weights along
    return pre[order], post[order]


def _build_pair(seed: int, n_steps: int, delays: bool, source: str):
    """The same random network as an engine :class:`Network` (float64) and a reference spec."""
    rng = np.random.default_rng(seed)
    sizes = {"in": 30, "exc": 80, "inh": 40}
    # settle_v=0: the exact integrator, without the rest rule (tests/test_event_driven.py)
    net = Network(dt_s=DT, seed=seed, dtype=np.float64, settle_v=0.0)
    src_spikes = rng.random((n_steps, sizes["in"])) < 0.02  # ~200 Hz per source
    if source == "generator":
        steps, idx = np.nonzero(src_spikes)
        net.add_spike_source("in", sizes["in"], times_s=steps * DT, indices=idx, record=True)
    else:
        net.add_poisson("in", sizes["in"], rate_hz=200.0, record=True)
    pops = [RefPop(0, sizes["in"])]
    start = sizes["in"]
    for name, params, bias_mv in (("exc", P_EXC, (10, 20)), ("inh", P_INH, (5, 12))):
        size = sizes[name]
        pop = RefPop(
            start, size, params,
            v_init=rng.uniform(params.v_reset, params.v_thresh, size),
            bias=rng.uniform(*bias_mv, size) * 1e-3,
            gain=rng.uniform(0.5, 1.5, size),
            v_thresh=params.v_thresh + rng.uniform(-1, 1, size) * 1e-3,
        )
        net.add_lif(name, size, params, v_init=pop.v_init, bias_v=pop.bias, gain=pop.gain,
                    v_thresh=pop.v_thresh, record=True)
        pops.append(pop)
        start += size
    offset = {"in": 0, "exc": pops[1].start, "inh": pops[2].start}
    synapses = []
    # (pre, post, channel, weight range in mV, projection name): two projections exc -> exc
    for pre, post, channel, w_mv, name in (
        ("in", "exc", "exc", (1.0, 3.0), None), ("in", "inh", "exc", (1.0, 3.0), None),
        ("exc", "exc", "exc", (0.5, 1.5), None), ("exc", "inh", "exc", (0.5, 1.5), None),
        ("inh", "exc", "inh", (-3.0, -1.0), None), ("inh", "inh", "inh", (-2.0, -0.5), None),
        ("exc", "exc", "inh", (0.1, 0.4), "exc->exc slow"),
    ):
        pre_idx, post_idx = _random_pairs(rng, sizes[pre], sizes[post], 0.1)
        weight = rng.uniform(*w_mv, pre_idx.size) * 1e-3
        delay = rng.integers(0, 8, pre_idx.size) if delays else np.zeros(pre_idx.size, np.int64)
        net.connect(pre, post, FromLists(pre_idx, post_idx), weight, channel=channel,
                    delay_s=delay * DT, name=name)
        synapses.append((pre_idx + offset[pre], post_idx + offset[post], weight,
                         int(channel == "inh"), delay))
    ext = np.zeros((n_steps, net.n_neurons))
    ext[:, pops[1].sl] = rng.normal(0.0, 3e-3, (n_steps, sizes["exc"]))  # per step
    held = rng.uniform(0.0, 2e-3, sizes["inh"])
    ext[:, pops[2].sl] = held
    net.set_input("inh", held)
    return net, pops, synapses, src_spikes, ext


@pytest.mark.parametrize(
    ("delays", "source"),
    [(False, "generator"), (True, "generator"), (True, "poisson")],
)
def test_engine_matches_numpy_reference(delays: bool, source: str) -> None:
    n_steps = 1200  # long enough for both LIF populations to fold their current scales
    net, pops, synapses, src_spikes, ext = _build_pair(3, n_steps, delays, source)
    exc, inh = pops[1], pops[2]
    result = net.run(n_steps * DT, inputs={"exc": ext[:, exc.sl]},
                     probe={"exc": np.arange(exc.size), "inh": np.arange(inh.size)})
    if source == "poisson":  # the kernel's RNG is its own: feed its draws to the reference
        steps, idx = net.spikes("in")
        src_spikes = np.zeros_like(src_spikes)
        src_spikes[steps, idx] = True
        assert 0.01 < src_spikes.mean() < 0.03  # ~200 Hz * 0.1 ms
    source_spikes = np.zeros((n_steps, net.n_neurons), dtype=bool)
    source_spikes[:, pops[0].sl] = src_spikes
    ref = reference_run(pops, net.n_neurons, synapses, source_spikes, ext, DT)

    engine = []
    for name, pop in (("in", pops[0]), ("exc", exc), ("inh", inh)):
        steps, idx = net.spikes(name)
        engine.append(np.column_stack([steps, idx + pop.start]))
    engine = np.concatenate(engine)
    engine = engine[np.lexsort((engine[:, 1], engine[:, 0]))]
    ref_lif = ref["spikes"][ref["spikes"][:, 1] >= exc.start]
    assert (ref_lif[:, 1] < inh.start).sum() > 100 and (ref_lif[:, 1] >= inh.start).sum() > 30
    np.testing.assert_array_equal(engine, ref["spikes"])
    np.testing.assert_allclose(result.probe_v, ref["v"][:, exc.start:], rtol=0, atol=1e-10)
    for pop, name in ((exc, "exc"), (inh, "inh")):
        state = net.state(name)
        np.testing.assert_allclose(state["i_exc"], ref["currents"][0, pop.sl], rtol=1e-9,
                                   atol=1e-15)
        np.testing.assert_allclose(state["i_inh"], ref["currents"][1, pop.sl], rtol=1e-9,
                                   atol=1e-15)


def test_reference_step_matrix_matches_closed_form() -> None:
    """The reference's expm against the textbook solution, so the reference stands on its own."""
    p = P_EXC
    m = step_matrix(p, DT)
    a_m, a_e = math.exp(-DT / p.tau_mem_s), math.exp(-DT / p.tau_syn_exc_s)
    assert m[0, 0] == pytest.approx(a_m, rel=1e-14)
    assert m[0, 3] == pytest.approx(1 - a_m, rel=1e-12)
    expected = p.tau_syn_exc_s / (p.tau_syn_exc_s - p.tau_mem_s) * (a_e - a_m)
    assert m[0, 1] == pytest.approx(expected, rel=1e-12)
    assert m[1, 1] == pytest.approx(a_e, rel=1e-14)


# ----------------------------------------------------------------------------- delays
QUIET = LIFParams(v_rest=-0.065, v_reset=-0.070, v_thresh=-0.050)


def _delay_net(delay_steps: int, spike_step: int) -> Network:
    """One source spike at ``spike_step`` to neuron 0 (delay ``delay_steps``) and neuron 1 (0)."""
    net = Network(dt_s=DT, seed=0, dtype=np.float64)
    net.add_spike_source("src", 1, times_s=[spike_step * DT], indices=[0])
    net.add_lif("post", 2, QUIET)
    net.connect("src", "post", FromLists([0, 0], [0, 1]), 1e-3,
                delay_s=[delay_steps * DT, 0.0])
    return net


@pytest.mark.parametrize("delay_steps", [0, 1, 3, 7])
def test_spike_arrives_exactly_delay_steps_later(delay_steps: int) -> None:
    spike_step, w = 5, 1e-3
    net = _delay_net(delay_steps, spike_step)
    current = []
    for _ in range(spike_step + delay_steps + 3):
        net.step(1)
        current.append(net.state("post")["i_exc"].copy())
    current = np.array(current)  # true current after each step
    arrival = spike_step + delay_steps
    assert np.all(current[:arrival, 0] == 0)
    assert current[arrival, 0] == pytest.approx(w, rel=1e-12)
    assert current[arrival + 1, 0] == pytest.approx(w * math.exp(-DT / QUIET.tau_syn_exc_s),
                                                     rel=1e-12)
    # the undelayed synapse of the same projection arrives right after the spike
    assert np.all(current[:spike_step, 1] == 0)
    assert current[spike_step, 1] == pytest.approx(w, rel=1e-12)

    # the membrane moves from rest one step after the current arrives
    probe = _delay_net(delay_steps, spike_step).run(
        (arrival + 4) * DT, probe={"post": [0]}).probe_v[:, 0]
    moved = np.flatnonzero(np.abs(probe - QUIET.v_rest) > 1e-9)
    assert moved[0] == arrival + 1


# ----------------------------------------------------------------------------- CUBA
CUBA_RATE_HZ = 5.56  # Brian2 examples/CUBA.py (Vogels & Abbott 2005)


@pytest.mark.skipif(not JIT, reason="4,000 neurons x 10,000 steps is too slow without numba")
def test_cuba_rate_short() -> None:
    """1 s of CUBA: past its initial transient, close to the benchmark's rate (loose band)."""
    net = build_cuba(4000, seed=0)
    counts = net.run(1.0).counts
    rate = counts.spikes / (4000 * 1.0)
    assert abs(rate - CUBA_RATE_HZ) / CUBA_RATE_HZ < 0.10  # seeds 0-2 measured within 5%
    assert counts.neuron_updates == 4000 * 10_000
    assert net.n_synapses == pytest.approx(4000 * 4000 * 0.02, rel=0.01)


@pytest.mark.slow
@pytest.mark.skipif(not JIT, reason="4,000 neurons x 100,000 steps is too slow without numba")
@pytest.mark.parametrize("seed", [0, 1])
def test_cuba_rate_10s(seed: int) -> None:
    net = build_cuba(4000, seed=seed)
    rate = net.run(10.0).counts.spikes / (4000 * 10.0)
    assert abs(rate - CUBA_RATE_HZ) / CUBA_RATE_HZ < 0.05
