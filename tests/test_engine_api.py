"""Network API: run vs step, seeding, exact counters, CSR round trips and input validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurofit.neuromorphic.connectivity import (
    AllToAll,
    FixedFanIn,
    FixedProbability,
    FromLists,
    OneToOne,
)
from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import AdaptiveLIFParams, LIFParams

DT = 1e-4
SLOW_INH = LIFParams(tau_syn_inh_s=0.010)


def small_net(seed: int = 0, dtype=np.float32) -> Network:
    """Poisson input -> spontaneously firing LIF + adaptive-LIF populations, one delayed path."""
    net = Network(dt_s=DT, seed=seed, dtype=dtype)
    net.add_poisson("in", 40, rate_hz=50.0, record=True)
    net.add_lif("exc", 60, LIFParams(), v_init=(-0.060, -0.050), record=True)
    net.add_lif("inh", 20, AdaptiveLIFParams(), v_init=(-0.060, -0.050), record=True)
    net.connect("in", "exc", FixedProbability(0.2), 1.0e-3)
    net.connect("exc", "exc", FixedFanIn(6, allow_self=False), 1.62e-3)
    net.connect("exc", "inh", FixedProbability(0.1), 1.62e-3, delay_s=1.5e-3)
    net.connect("inh", "exc", FixedProbability(0.3), -9e-3, channel="inh")
    net.connect("inh", "inh", AllToAll(allow_self=False), -2e-3, channel="inh")
    return net


def all_spikes(net: Network) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    return {name: net.spikes(name) for name in net.populations}


def assert_same_spikes(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name][0], b[name][0], err_msg=name)
        np.testing.assert_array_equal(a[name][1], b[name][1], err_msg=name)


# ----------------------------------------------------------------------------- run, step, seeds
def test_run_and_step_give_identical_spikes() -> None:
    duration, substeps = 0.2, 10
    by_run = small_net(seed=7)
    by_run.run(duration)
    by_step = small_net(seed=7)
    ticks = round(duration / (substeps * DT))
    per_neuron = np.zeros(by_step.n_neurons, dtype=np.int64)
    for _ in range(ticks):
        per_neuron += by_step.step(substeps)
    assert by_step.steps == by_run.steps == 2000
    spikes = all_spikes(by_run)
    assert spikes["exc"][0].size > 100 and spikes["inh"][0].size > 10
    assert_same_spikes(spikes, all_spikes(by_step))
    assert by_run.counts() == by_step.counts()
    np.testing.assert_array_equal(by_run.state("exc")["v"], by_step.state("exc")["v"])
    # step returns each neuron's spikes of its tick: their sum is the recorded total
    for name, (_, idx) in spikes.items():
        pop = by_step.population(name)
        np.testing.assert_array_equal(per_neuron[pop.slice], np.bincount(idx, minlength=pop.size))


def test_step_counts_are_those_of_the_tick() -> None:
    net = small_net(seed=1)
    for tick in range(5):
        counts = net.step(10).copy()
        steps, idx = net.spikes("exc")
        in_tick = idx[(steps >= 10 * tick) & (steps < 10 * (tick + 1))]
        exc = net.population("exc")
        np.testing.assert_array_equal(counts[exc.slice], np.bincount(in_tick, minlength=exc.size))


def test_same_seed_same_spikes_other_seed_other_spikes() -> None:
    runs = []
    for seed in (3, 3, 4):
        net = small_net(seed=seed)
        net.run(0.1)
        runs.append(all_spikes(net))
    assert_same_spikes(runs[0], runs[1])
    assert not np.array_equal(runs[0]["in"][0], runs[2]["in"][0])
    assert not np.array_equal(runs[0]["exc"][1], runs[2]["exc"][1])


def test_run_in_pieces_equals_one_run() -> None:
    whole, pieces = small_net(seed=2), small_net(seed=2)
    whole.run(0.1)
    for _ in range(4):
        pieces.run(0.025)
    assert_same_spikes(all_spikes(whole), all_spikes(pieces))


# ----------------------------------------------------------------------------- counters
def test_counters_equal_an_independent_recount() -> None:
    net = small_net(seed=5)
    result = net.run(0.2)
    n_steps = result.n_steps
    spikes = all_spikes(net)
    total = net.counts()
    assert result.counts == total
    events = 0
    for name, proj in net.projections.items():
        pre_local, _ = net.synapses(name)
        fan_out = np.bincount(pre_local, minlength=net.population(proj.pre).size)
        expected = int(fan_out[spikes[proj.pre][1]].sum())
        assert expected > 0
        assert net.projection_counts(name).synaptic_events == expected, name
        assert net.projection_counts(name).weight_updates == 0
        events += expected
    assert total.synaptic_events == events
    lif = sum(p.size for p in net.populations.values() if p.kind == "lif")
    assert total.neuron_updates == n_steps * lif
    assert total.spikes == sum(s[0].size for s in spikes.values())
    per_pop = [net.counts(name) for name in net.populations]
    assert sum(per_pop[1:], per_pop[0]) == total
    for name, pop in net.populations.items():
        c = net.counts(name)
        assert c.spikes == spikes[name][0].size
        assert c.neuron_updates == (n_steps * pop.size if pop.kind == "lif" else 0)
        assert c.synaptic_events == sum(net.projection_counts(q).synaptic_events
                                        for q, proj in net.projections.items() if proj.post == name)


# ----------------------------------------------------------------------------- connectivity
@settings(max_examples=40, deadline=None)
@given(n_pre=st.integers(1, 30), n_post=st.integers(1, 30), data=st.data(),
       seed=st.integers(0, 2**32 - 1))
def test_fixed_fan_in_gives_exactly_k_distinct_pre(n_pre: int, n_post: int, data, seed: int):
    k = data.draw(st.integers(0, n_pre))
    pre, post = FixedFanIn(k).pairs(n_pre, n_post, np.random.default_rng(seed))
    assert pre.size == post.size == k * n_post
    assert pre.min(initial=0) >= 0 and pre.max(initial=0) < n_pre
    for j in range(n_post):
        mine = pre[post == j]
        assert mine.size == k and np.unique(mine).size == k


@settings(max_examples=30, deadline=None)
@given(n=st.integers(2, 30), data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_fixed_fan_in_without_self_through_the_network(n: int, data, seed: int) -> None:
    k = data.draw(st.integers(0, n - 1))
    net = Network(dt_s=DT, seed=seed)
    net.add_lif("a", n)
    net.connect("a", "a", FixedFanIn(k, allow_self=False), 1e-3)
    pre, post = net.synapses("a->a")
    assert np.all(pre != post)
    np.testing.assert_array_equal(np.bincount(post, minlength=n), k)
    assert len(set(zip(pre.tolist(), post.tolist(), strict=True))) == pre.size


@settings(max_examples=30, deadline=None)
@given(n_pre=st.integers(1, 25), n_post=st.integers(1, 25), p=st.floats(0, 1),
       seed=st.integers(0, 2**32 - 1))
def test_fixed_probability_pairs_are_distinct_and_in_range(n_pre, n_post, p, seed) -> None:
    pre, post = FixedProbability(p).pairs(n_pre, n_post, np.random.default_rng(seed))
    assert np.all((pre >= 0) & (pre < n_pre) & (post >= 0) & (post < n_post))
    assert len(set(zip(pre.tolist(), post.tolist(), strict=True))) == pre.size
    if p == 1.0:
        assert pre.size == n_pre * n_post
    if p == 0.0:
        assert pre.size == 0


_pairs = st.integers(1, 12).flatmap(lambda n_pre: st.integers(1, 12).flatmap(
    lambda n_post: st.tuples(st.just(n_pre), st.just(n_post), st.lists(
        st.tuples(st.integers(0, n_pre - 1), st.integers(0, n_post - 1)), max_size=40))))


@settings(max_examples=40, deadline=None)
@given(first=_pairs, second=_pairs, seed=st.integers(0, 2**32 - 1))
def test_csr_synapses_round_trip(first, second, seed) -> None:
    """Whatever order pairs come in, ``synapses()`` and ``weights()`` give back the same
    (pre, post, weight) multiset, sorted by pre, for every projection of the network."""
    rng = np.random.default_rng(seed)
    net = Network(dt_s=DT, seed=seed)
    expected = {}
    for k, (n_pre, n_post, pairs) in enumerate((first, second)):
        net.add_lif(f"pre{k}", n_pre)
        net.add_lif(f"post{k}", n_post)
        pre = np.array([a for a, _ in pairs], dtype=np.int64)
        post = np.array([b for _, b in pairs], dtype=np.int64)
        w = rng.normal(size=pre.size)
        net.connect(f"pre{k}", f"post{k}", FromLists(pre, post), w, name=f"p{k}")
        expected[f"p{k}"] = sorted(zip(pre.tolist(), post.tolist(), w.tolist(), strict=True))
    for name, triples in expected.items():
        pre, post = net.synapses(name)
        w = net.weights(name)
        assert np.all(np.diff(pre) >= 0)
        got = sorted(zip(pre.tolist(), post.tolist(), w.astype(float).tolist(), strict=True))
        assert [t[:2] for t in got] == [t[:2] for t in triples]
        np.testing.assert_allclose([t[2] for t in got], [t[2] for t in triples], rtol=1e-6)
        assert net.projections[name].n_synapses == len(triples)


def test_weights_view_is_live() -> None:
    """Writing through ``weights()`` changes what spikes deliver."""
    net = Network(dt_s=DT, dtype=np.float64)
    net.add_spike_source("src", 1, times_s=[0.0], indices=[0])
    net.add_lif("post", 2, LIFParams(v_rest=-0.065, v_reset=-0.07, v_thresh=-0.05))
    net.connect("src", "post", AllToAll(), 1e-3)
    net.weights("src->post")[:] = [2e-3, 0.0]
    net.step(1)
    np.testing.assert_allclose(net.state("post")["i_exc"], [2e-3, 0.0], rtol=1e-12)


# ----------------------------------------------------------------------------- validation
def _net() -> Network:
    net = Network(dt_s=DT)
    net.add_poisson("in", 4, rate_hz=10.0, record=True)
    net.add_lif("exc", 3)
    net.connect("in", "exc", AllToAll(), 1e-3, name="in->exc")
    return net


@pytest.mark.parametrize("dt", [0.0, -1e-4, math.nan, math.inf])
def test_bad_dt(dt: float) -> None:
    with pytest.raises(ValueError, match="dt_s must be"):
        Network(dt_s=dt)


def test_dt_must_be_much_smaller_than_the_fastest_time_constant() -> None:
    net = Network(dt_s=2e-3)  # the default synaptic time constant is 5 ms
    with pytest.raises(ValueError, match=r"dt_s=0\.002 is too coarse .*'a'"):
        net.add_lif("a", 3)
    with pytest.raises(ValueError, match=r"dt_s=0\.0001 is too coarse"):
        Network(dt_s=1e-4).add_lif("b", 3, AdaptiveLIFParams(tau_adapt_s=3e-4))
    Network(dt_s=1e-3).add_lif("c", 3, LIFParams(tau_syn_exc_s=0.005))  # exactly 5 dt: fine


def test_other_network_arguments() -> None:
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        Network(dtype=np.int32)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        Network(seed=-1)
    net = Network()
    with pytest.raises(ValueError, match="n must be a positive integer"):
        net.add_lif("a", 0)
    net.add_lif("a", 2)
    with pytest.raises(ValueError, match="population name 'a' is already used"):
        net.add_lif("a", 2)
    with pytest.raises(ValueError, match="params must be LIFParams"):
        net.add_lif("b", 2, params={"tau_mem_s": 0.02})
    with pytest.raises(ValueError, match="duration_s must be > 0"):
        net.run(0.0)
    with pytest.raises(ValueError, match="duration_s must be a finite number"):
        net.run(math.nan)


def test_shapes_that_disagree() -> None:
    net = _net()
    with pytest.raises(ValueError, match=r"weight must be a scalar or have one value per synapse "
                                         r"\(12\), got \(3,\)"):
        net.connect("in", "exc", AllToAll(), np.ones(3), name="x")
    with pytest.raises(ValueError, match=r"delay_s must be a scalar or have one value per synapse"):
        net.connect("in", "exc", AllToAll(), 1e-3, delay_s=[0.0, 1e-3], name="x")
    with pytest.raises(ValueError, match=r"bias_v must be a scalar or have shape \(5,\)"):
        net.add_lif("b", 5, bias_v=np.zeros(4))
    with pytest.raises(ValueError, match="v_init must be a scalar or have shape"):
        net.add_lif("b", 5, v_init=np.zeros((5, 1)))
    with pytest.raises(ValueError, match="times_s and indices must have the same length"):
        net.add_spike_source("s", 2, times_s=[0.0, 1e-3], indices=[0])
    with pytest.raises(ValueError, match=r"indices must be in \[0, 1\]"):
        net.add_spike_source("s", 2, times_s=[0.0], indices=[2])
    with pytest.raises(ValueError, match="pre and post must have the same length"):
        net.connect("in", "exc", FromLists([0, 1], [0]), 1e-3, name="x")
    with pytest.raises(ValueError, match=r"post indices must be in \[0, 2\]"):
        net.connect("in", "exc", FromLists([0], [3]), 1e-3, name="x")
    with pytest.raises(ValueError, match="OneToOne needs populations of equal size"):
        net.connect("in", "exc", OneToOne(), 1e-3, name="x")
    with pytest.raises(ValueError, match=r"k must be at most 4"):
        net.connect("in", "exc", FixedFanIn(5), 1e-3, name="x")
    with pytest.raises(ValueError,
                       match=r"currents for 'exc' must be a scalar or have shape \(3,\)"):
        net.set_input("exc", np.zeros(4))
    with pytest.raises(ValueError, match=r"inputs\['exc'\] must have shape \(n_steps, size\) = "
                                         r"\(10, 3\)"):
        net.run(10 * DT, inputs={"exc": np.zeros((9, 3))})
    with pytest.raises(ValueError, match=r"indices for 'exc' must be in \[0, 2\]"):
        net.run(10 * DT, probe={"exc": [3]})


@pytest.mark.parametrize("p", [-0.1, 1.5, math.nan, math.inf])
def test_probabilities_outside_0_1(p: float) -> None:
    with pytest.raises(ValueError, match="p must be"):
        FixedProbability(p)


def test_nan_and_inf_inputs() -> None:
    net = _net()
    with pytest.raises(ValueError, match="weight must be finite"):
        net.connect("in", "exc", AllToAll(), math.nan, name="x")
    with pytest.raises(ValueError, match="delay_s must be finite"):
        net.connect("in", "exc", AllToAll(), 1e-3, delay_s=math.inf, name="x")
    with pytest.raises(ValueError, match="bias_v must be finite, but element 1"):
        net.add_lif("b", 3, bias_v=[0.0, math.inf, 0.0])
    with pytest.raises(ValueError, match="gain must be finite"):
        net.add_lif("b", 3, gain=math.nan)
    with pytest.raises(ValueError, match="v_init must be finite"):
        net.add_lif("b", 3, v_init=[0.0, 0.0, math.nan])
    with pytest.raises(ValueError, match="v_init range must be finite"):
        net.add_lif("b", 3, v_init=(-0.06, math.inf))
    with pytest.raises(ValueError, match="v_thresh must be finite"):
        net.add_lif("b", 3, v_thresh=math.nan)
    with pytest.raises(ValueError, match="times_s must be finite"):
        net.add_spike_source("s", 1, times_s=[math.nan], indices=[0])
    with pytest.raises(ValueError, match="rate_hz must be finite"):
        net.add_poisson("p", 2, rate_hz=math.nan)
    with pytest.raises(ValueError, match="currents for 'exc' must be finite"):
        net.set_input("exc", [0.0, math.nan, 0.0])
    with pytest.raises(ValueError, match=r"inputs\['exc'\] must be finite, but element \(4, 2\)"):
        bad = np.zeros((10, 3))
        bad[4, 2] = -math.inf
        net.run(10 * DT, inputs={"exc": bad})


def test_unknown_population_and_projection_names() -> None:
    net = _net()
    known = r"known populations: \['exc', 'in'\]"
    for call in (
        lambda: net.connect("nope", "exc", AllToAll(), 1e-3),
        lambda: net.connect("in", "nope", AllToAll(), 1e-3),
        lambda: net.spikes("nope"),
        lambda: net.state("nope"),
        lambda: net.set_input("nope", 0.0),
        lambda: net.set_rates("nope", 1.0),
        lambda: net.counts("nope"),
        lambda: net.run(DT, inputs={"nope": np.zeros((1, 3))}),
        lambda: net.run(DT, probe={"nope": [0]}),
    ):
        with pytest.raises(ValueError, match=f"unknown population 'nope'; {known}"):
            call()
    for call in (
        lambda: net.weights("nope"),
        lambda: net.synapses("nope"),
        lambda: net.projection_counts("nope"),
    ):
        with pytest.raises(ValueError, match=r"unknown projection 'nope'; known projections: "
                                             r"\['in->exc'\]"):
            call()


def test_wrong_kind_of_population() -> None:
    net = _net()
    with pytest.raises(ValueError, match="post must be a LIF population, 'in' is a poisson"):
        net.connect("exc", "in", AllToAll(), 1e-3)
    with pytest.raises(ValueError, match="channel must be one of"):
        net.connect("in", "exc", AllToAll(), 1e-3, channel="gaba", name="x")
    with pytest.raises(ValueError, match="'exc' is a lif population, not a Poisson source"):
        net.set_rates("exc", 1.0)
    with pytest.raises(ValueError, match="'exc' was added with record=False"):
        net.spikes("exc")


def test_reset_at_or_above_threshold() -> None:
    with pytest.raises(ValueError, match="v_reset must be below v_thresh"):
        Network().add_lif("a", 2, LIFParams(v_reset=-0.05, v_thresh=-0.05))


def test_negative_delay() -> None:
    net = _net()
    with pytest.raises(ValueError, match=r"delay_s must be >= 0, got -0\.001"):
        net.connect("in", "exc", AllToAll(), 1e-3, delay_s=-1e-3, name="x")


def test_rates_over_one_per_step() -> None:
    net = _net()
    with pytest.raises(ValueError, match=r"rate_hz must be in \[0, 10000\]"):
        net.add_poisson("p", 2, rate_hz=2e4)
    with pytest.raises(ValueError, match=r"rate_hz must be in \[0, 10000\]"):
        net.add_poisson("p", 2, rate_hz=[1.0, -1.0])
    net.add_poisson("p", 2, rate_hz=1e4)  # one spike every step is the limit
    with pytest.raises(ValueError, match=r"rate_hz must be in \[0, 10000\]"):
        net.set_rates("in", 10001.0)
    with pytest.raises(ValueError, match=r"rate_hz must be a scalar or have shape \(4,\)"):
        net.set_rates("in", [1.0, 2.0])


# ----------------------------------------------------------------------------- regressions
# Engine bugs found while writing these tests (fixed in 09a31e3).
def test_two_spike_source_populations_both_fire() -> None:
    net = Network(dt_s=DT)
    net.add_spike_source("a", 1, times_s=[5 * DT], indices=[0], record=True)
    net.add_spike_source("b", 1, times_s=[5 * DT], indices=[0], record=True)
    net.run(10 * DT)
    assert net.spikes("a")[0].tolist() == [5]
    assert net.spikes("b")[0].tolist() == [5]
    assert net.counts().spikes == 2


@pytest.mark.parametrize("n_substeps", [-3, 0, 1.5])
def test_step_rejects_bad_substeps(n_substeps) -> None:
    net = Network(dt_s=DT)
    net.add_lif("a", 2)
    with pytest.raises(ValueError, match="n_substeps must be a positive integer"):
        net.step(n_substeps)
    assert net.steps == 0


def test_per_neuron_threshold_below_reset() -> None:
    net = Network(dt_s=DT)
    with pytest.raises(ValueError, match="v_thresh"):
        net.add_lif("a", 2, LIFParams(), v_thresh=[-0.05, -0.07])
