"""Packed buffers (neuromorphic/_layout.py) and the packed engine entry (advance_packed).

The network's arrays are views into a few flat buffers; the compiled entry cuts them out again
from the offset table. Checked against the buffers read by hand from the table, and against
the unpacked kernel :func:`_kernels.advance` called with the network's arrays one by one.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neurofit.neuromorphic import _kernels as K
from neurofit.neuromorphic import _layout as Y
from neurofit.neuromorphic.connectivity import AllToAll, FixedProbability
from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import AdaptiveLIFParams, LIFParams
from neurofit.neuromorphic.plasticity import ThreeFactor, pes


def test_pack_places_each_array_at_its_offset() -> None:
    rng = np.random.default_rng(0)
    arrays = [("a", rng.normal(size=(3, 5)), 0), ("b", np.arange(7, dtype=np.int64), 1),
              ("c", rng.normal(size=11), 0), ("d", rng.normal(size=(2, 3, 4)), 0),
              ("e", np.zeros(0), 0)]
    packed = Y.pack(arrays, (np.float64, np.int64))
    for k, (name, arr, role) in enumerate(arrays):
        buf = packed.buffers[role]
        start = packed.offsets[k, Y.O_START]
        assert buf.ctypes.data % Y.ALIGN_BYTES == 0
        assert (buf.ctypes.data + start * buf.itemsize) % Y.ALIGN_BYTES == 0
        dims = tuple(packed.offsets[k, Y.O_D0:Y.O_D0 + arr.ndim])
        assert dims == arr.shape
        # the buffer read by hand holds the values, and the view is that memory
        np.testing.assert_array_equal(buf[start:start + arr.size], arr.ravel())
        view = packed.views[name]
        np.testing.assert_array_equal(view, arr)
        if arr.size:
            assert np.shares_memory(view, buf)
    # arrays of one role do not overlap
    spans = sorted((packed.offsets[k, 0], packed.offsets[k, 0] + a.size)
                   for k, (_, a, r) in enumerate(arrays) if r == 0)
    assert all(stop <= nxt for (_, stop), (nxt, _) in itertools.pairwise(spans))
    # the compiled views agree with numpy's
    np.testing.assert_array_equal(Y.view2(packed.buffers[0], packed.offsets, 0), arrays[0][1])
    np.testing.assert_array_equal(Y.view1(packed.buffers[1], packed.offsets, 1), arrays[1][1])
    np.testing.assert_array_equal(Y.view3(packed.buffers[0], packed.offsets, 3), arrays[3][1])


def test_pack_refuses_a_wrong_dtype() -> None:
    with pytest.raises(TypeError, match="cannot pack 'x'"):
        Y.pack([("x", np.zeros(3, dtype=np.float32), 0)], (np.float64,))


def _network(execution: str, dtype: type = np.float32) -> Network:
    """Every feature the kernel has: Poisson, generator, LIF, adaptive LIF, delays, both
    channels, a recorded population, PES, reward STDP and node perturbation."""
    net = Network(dt_s=1e-4, seed=3, dtype=dtype, execution=execution, tick_steps=5)
    net.add_poisson("in", 12, rate_hz=300.0)
    net.add_spike_source("gen", 3, times_s=[0.0, 2e-4, 6e-4, 9e-4], indices=[0, 1, 2, 0])
    net.add_lif("a", 10, LIFParams(), v_init=(-0.065, -0.05), record=True)
    net.add_lif("b", 8, AdaptiveLIFParams(), v_init=(-0.065, -0.05), bias_v=0.012)
    net.add_lif("c", 6, LIFParams(), v_init=(-0.065, -0.05))
    net.connect("in", "a", AllToAll(), 3e-3, delay_s=2e-4)
    net.connect("gen", "b", AllToAll(), 4e-3)
    net.connect("a", "b", FixedProbability(0.5), -1e-3, channel="inh")
    net.connect("a", "c", AllToAll(), 2e-3)
    net.connect("b", "c", AllToAll(), 1e-3)
    net.set_plasticity("in->a", pes(1e-4))
    net.set_plasticity("a->c", ThreeFactor("stdp", 1e-3, w_min=0.0, w_max=0.01))
    net.set_plasticity("b->c", ThreeFactor("perturbation", 1e-3, w_min=-0.01, w_max=0.01))
    net.build()
    net.set_input("b", 0.004)
    rng = np.random.default_rng(1)
    net.modulator_view("a")[:] = rng.normal(size=10)
    net.modulator_view("c")[:] = rng.normal(size=6)
    net.perturbation_view("c")[:] = rng.normal(size=6)
    return net


def _advance_unpacked(net: Network, n_steps: int) -> None:
    """The engine's step as it was before packing: :func:`K.advance` with each array."""
    K.advance(
        n_steps, net._t, net._ext, False,
        *net._state, net._refrac, *net._nparam, net._pop_f, net._pop_i, net._pop_scale,
        net._pop_out_ptr, net._pop_out_proj, net._proj_i, net._indptr, net._indices,
        net._weights, net._delays, net._ring, net._gen_step, net._gen_idx, net._gen_ptr,
        net._rng_state, net._pop_counts, net._proj_counts, net._tick_counts, net._v_inf,
        net._spiked, net._spiked_words, net._spike_list, net._mon_idx, net._mon_step,
        net._mon_n, net._mon_reserve, net._no_probe, net._no_probe_out,
        net.tick_steps, net.dt_s, net._plast_i, net._plast_f, net._elig, net._elig_scale,
        net._trace, net._tick_spikes, net._modulator, net._perturbation, net._csc_ptr,
        net._csc_syn, net._csc_pre, net._csc_proj,
        net.execution == "event-driven", net.settle_v, net._active_padded, net._active_list,
        net._n_active, net._list_ok, net._ring_list, net._ring_n, net._ring_mark,
    )
    net._t += n_steps


@pytest.mark.parametrize("execution", ["time-stepped", "event-driven"])
def test_packed_entry_matches_the_unpacked_kernel(execution: str) -> None:
    packed, plain = _network(execution), _network(execution)
    for _ in range(40):
        packed.step(5)
        _advance_unpacked(plain, 5)
    a, b = packed.get_state(), plain.get_state()
    # every population spikes and every plastic projection writes (else the test is blind)
    assert all(packed.counts(p).spikes > 0 for p in packed.populations)
    assert all(packed.projection_counts(q).weight_updates > 0 for q in ("in->a", "a->c", "b->c"))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    np.testing.assert_array_equal(packed.spikes("a")[0], plain.spikes("a")[0])
    np.testing.assert_array_equal(packed.spikes("a")[1], plain.spikes("a")[1])


def test_network_arrays_are_views_into_the_buffers() -> None:
    net = _network("time-stepped", dtype=np.float64)
    packed = net.packed
    for k, (name, role) in enumerate(Y.NET_SLOTS):
        arr = getattr(net, "_" + name)
        buf = packed.buffers[role]
        start = packed.offsets[k, Y.O_START]
        if arr.size:
            assert np.shares_memory(arr, buf), name
        np.testing.assert_array_equal(buf[start:start + arr.size], arr.ravel(), err_msg=name)
    # the public views write into the buffer the kernel reads
    k_ext = [n for n, _ in Y.NET_SLOTS].index("ext")
    net.set_input("c", 0.25)
    start = packed.offsets[k_ext, Y.O_START] + net.population("c").start
    np.testing.assert_array_equal(packed.buffers[Y.R_FLOAT][start:start + 6], 0.25)
    assert np.shares_memory(net.weights("a->c"), packed.buffers[Y.R_FLOAT])
    assert np.shares_memory(net.modulator_view("c"), packed.buffers[Y.R_F64])
