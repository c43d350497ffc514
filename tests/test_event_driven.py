"""Event-driven execution: the same spikes and states as time-stepped, fewer neuron updates.

The effective count is recounted here without the kernel's active lists: from the recorded
time-stepped trajectory, a neuron needs advancing at step ``t + 1`` unless the rest rule held
for it at step ``t`` (evaluated in NumPy on the recorded state, the rule as documented in
:mod:`neurofit.neuromorphic.network`), it did not spike, and nothing could have moved it since:
no spike reached it through a non-zero weight (from the recorded spikes, the synapse lists and
their delays), its drive did not change, and no current fold left a current above the bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import config as numba_config

from neurofit.neuromorphic.connectivity import FixedProbability, FromLists
from neurofit.neuromorphic.counters import COUNT_NAMES, OP_NAMES, OpCounts
from neurofit.neuromorphic.cuba import build_cuba
from neurofit.neuromorphic.network import SETTLE_V, Network
from neurofit.neuromorphic.neurons import AdaptiveLIFParams, LIFParams
from neurofit.neuromorphic.plasticity import ThreeFactor

JIT = not numba_config.DISABLE_JIT
DT = 1e-4
TICK = 10
TS, ED = "time-stepped", "event-driven"

#: the controller's neurons (agents/spiking_policy.py): tau_mem 10 ms, tau_syn 5 ms
FAST = LIFParams(tau_mem_s=0.010, tau_syn_exc_s=0.005, tau_syn_inh_s=0.005, v_rest=-0.065,
                 v_reset=-0.065, v_thresh=-0.050, refractory_s=0.002)
ADAPT = AdaptiveLIFParams(tau_mem_s=0.010, tau_syn_exc_s=0.002, tau_syn_inh_s=0.005,
                          v_rest=-0.060, v_reset=-0.065, v_thresh=-0.050, refractory_s=0.001,
                          tau_adapt_s=0.030, adapt_increment_v=0.002)
SIZES = {"in": 16, "hidden": 40, "adapt": 12, "out": 20}


# ----------------------------------------------------------------------------- networks
def controller_net(execution: str, *, seed: int = 0, dtype=np.float32) -> tuple[Network, dict]:
    """Sparse bursts of spike sources into zero-bias LIF neurons, which settle in between.

    Delayed and undelayed paths, an adaptive population, inhibition, and a plastic (PES)
    projection that starts at zero weight. Returns the network and its synapse lists
    ``{name: (pre_global, post_global, delay_steps)}``.
    """
    rng = np.random.default_rng(100 + seed)
    net = Network(dt_s=DT, seed=seed, dtype=dtype, tick_steps=TICK, execution=execution)
    bursts = (0.01, 0.012, 0.2, 0.203)  # seconds; ~0.1 s to settle after each
    times, idx = [], []
    for t0 in bursts:
        src = rng.choice(SIZES["in"], 6, replace=False)
        times += list(t0 + rng.uniform(0, 0.004, src.size))
        idx += list(src)
    net.add_spike_source("in", SIZES["in"], times_s=times, indices=idx, record=True)
    for name, params in (("hidden", FAST), ("adapt", ADAPT), ("out", FAST)):
        net.add_lif(name, SIZES[name], params, v_init=(params.v_reset, params.v_thresh),
                    record=True)
    synapses = {}
    for pre, post, p, w_mv, channel, max_delay, name in (
        ("in", "hidden", 0.3, (15.0, 30.0), "exc", 0, "in->hidden"),
        ("in", "adapt", 0.4, (15.0, 30.0), "exc", 8, "in->adapt"),
        ("hidden", "hidden", 0.08, (1.0, 3.0), "exc", 5, "hidden->hidden"),
        ("adapt", "hidden", 0.3, (-4.0, -1.0), "inh", 3, "adapt->hidden"),
        ("hidden", "out", 0.5, (0.0, 0.0), "exc", 0, "learned"),
    ):
        pre_idx, post_idx = np.nonzero(rng.random((SIZES[pre], SIZES[post])) < p)
        delays = rng.integers(0, max_delay + 1, pre_idx.size)
        net.connect(pre, post, FromLists(pre_idx, post_idx),
                    rng.uniform(*w_mv, pre_idx.size) * 1e-3, channel=channel,
                    delay_s=delays * DT, name=name)
        synapses[name] = (pre_idx + net.population(pre).start,
                          post_idx + net.population(post).start, delays)
    net.set_plasticity("learned", ThreeFactor(eligibility="pre", learning_rate=2e-4,
                                              w_min=-0.01, w_max=0.01))
    net.build()
    return net, synapses


def drive_tick(net: Network, tick: int) -> None:
    """Held inputs and modulator of one control tick: changed only now and then (on change)."""
    if tick % 150 == 0:  # a drive of up to 18 mV (2 neurons above threshold), new every 0.15 s
        level = 0.018 * math.cos(tick / 150)
        net.set_input("out", np.linspace(-1, 1, SIZES["out"]) * level)
        net.modulator_view("out")[:] = np.linspace(-1, 1, SIZES["out"]) * level * 100
    if tick % 150 == 30:
        net.modulator_view("out")[:] = 0.0


def simulate(net: Network, n_ticks: int, substeps: int = TICK) -> None:
    """``n_ticks`` ticks of ``TICK`` steps, ``substeps`` per :meth:`Network.step` call."""
    for tick in range(n_ticks):
        drive_tick(net, tick)
        for _ in range(TICK // substeps):
            net.step(substeps)


def trajectory(net: Network) -> dict[str, np.ndarray]:
    """Everything that must agree between the execution models (the active set aside)."""
    state = net.get_state()
    out = {k: state[k] for k in ("state", "refrac", "ring", "pop_scale", "weights", "elig",
                                 "trace", "rng_state")}
    for name in net.populations:
        steps, idx = net.spikes(name)
        out[f"spikes {name}"] = np.column_stack([steps, idx])
    return out


def assert_same_trajectory(a: Network, b: Network) -> None:
    ta, tb = trajectory(a), trajectory(b)
    assert ta.keys() == tb.keys()
    for key in ta:
        assert ta[key].tobytes() == tb[key].tobytes(), key  # bit for bit, -0.0 included


def assert_same_counts_but_effective(a: Network, b: Network) -> None:
    ca, cb = a.counts(), b.counts()
    assert ca.as_dict() == cb.as_dict()
    for name in a.populations:
        assert a.counts(name).as_dict() == b.counts(name).as_dict(), name


def lif_size(net: Network) -> int:
    return sum(p.size for p in net.populations.values() if p.kind == "lif")


# ----------------------------------------------------------------------------- equality
@pytest.mark.skipif(not JIT, reason="1,000 neurons x 5,000 steps is too slow without numba")
def test_cuba_event_driven_equals_time_stepped() -> None:
    """CUBA's rest potential (-49 mV) is above threshold: no neuron ever rests, none skipped."""
    nets = {}
    for execution in (TS, ED):
        net = build_cuba(1000, seed=1, record=True)
        net.execution = execution
        net.run(0.5)
        nets[execution] = net
    assert_same_trajectory(nets[TS], nets[ED])
    assert_same_counts_but_effective(nets[TS], nets[ED])
    counts = nets[ED].counts()
    assert counts.spikes > 1000
    assert counts.effective_neuron_updates == counts.neuron_updates == 1000 * 5000


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_controller_like_network_event_driven_equals_time_stepped(dtype) -> None:
    n_ticks = 400 if JIT else 250
    ts, _ = controller_net(TS, dtype=dtype)
    ed, _ = controller_net(ED, dtype=dtype)
    simulate(ts, n_ticks)
    simulate(ed, n_ticks)
    assert_same_trajectory(ts, ed)
    assert_same_counts_but_effective(ts, ed)
    c_ts, c_ed = ts.counts(), ed.counts()
    assert c_ts.effective_neuron_updates == c_ts.neuron_updates == n_ticks * TICK * lif_size(ts)
    for name in ("hidden", "adapt", "out"):
        assert ts.spikes(name)[0].size > 5, name  # every population takes part
    assert ts.projection_counts("learned").weight_updates > 0
    assert np.any(ts.weights("learned") != 0)
    # the neurons settle between bursts: most updates are skipped
    assert c_ed.effective_neuron_updates < (0.7 if JIT else 0.9) * c_ed.neuron_updates


def test_step_and_run_agree_in_event_driven_mode() -> None:
    duration = 0.3 if JIT else 0.15
    by_run, _ = controller_net(ED)
    by_step, _ = controller_net(ED)
    by_run.run(duration)
    n = round(duration / (TICK * DT))
    for _ in range(n):
        by_step.step(TICK)
    assert by_run.steps == by_step.steps
    assert_same_trajectory(by_run, by_step)
    assert by_run.counts() == by_step.counts()  # effective included
    assert by_run.counts().effective_neuron_updates < by_run.counts().neuron_updates
    # per-step calls (the drive is compared at every call) change nothing either
    by_one, _ = controller_net(ED)
    for _ in range(n * TICK):
        by_one.step(1)
    assert_same_trajectory(by_run, by_one)
    assert by_one.counts() == by_run.counts()


def test_switching_execution_mid_run_changes_no_result() -> None:
    n_ticks = 300 if JIT else 150
    ts, _ = controller_net(TS)
    mixed, _ = controller_net(TS)
    simulate(ts, n_ticks)
    for tick in range(n_ticks):
        mixed.execution = ED if (tick // 7) % 2 else TS
        drive_tick(mixed, tick)
        mixed.step(TICK)
    assert_same_trajectory(ts, mixed)
    assert mixed.counts().effective_neuron_updates < ts.counts().effective_neuron_updates


# ----------------------------------------------------------------------------- recount
def rest_rule(state: dict, net: Network, v_inf: np.ndarray, settle_v: float) -> np.ndarray:
    """Which neurons the rest rule puts at rest in the step that starts from ``state``.

    Written from the documented rule, in the network's float type: membrane within
    ``settle_v`` of its resting point ``v_inf`` (rest + bias + gain x input), true currents
    (stored current x scale: bound ``settle_v / scale`` on the stored one) and threshold
    adaptation at most ``settle_v``, not refractory.
    """
    f = net.dtype.type
    v, i_exc, i_inh, theta = state["state"]
    rest = np.zeros(net.n_neurons, dtype=bool)
    for p, pop in enumerate(net.populations.values()):
        if pop.kind != "lif":
            continue
        sl = pop.slice
        scale = state["pop_scale"][p]
        rest[sl] = ((np.abs(v[sl] - v_inf[sl]) <= f(settle_v))
                    & (np.abs(i_exc[sl]) <= f(settle_v / scale[0]))
                    & (np.abs(i_inh[sl]) <= f(settle_v / scale[1]))
                    & (np.abs(theta[sl]) <= f(settle_v))
                    & (state["refrac"][sl] == 0))
    return rest


def fold_raise(before: dict, after: dict, net: Network, settle_v: float) -> np.ndarray:
    """Neurons whose current a fold (scale back to 1) left above the rest bound."""
    f = net.dtype.type
    out = np.zeros(net.n_neurons, dtype=bool)
    for p, pop in enumerate(net.populations.values()):
        if pop.kind != "lif" or after["pop_scale"][p, 0] != 1.0:
            continue
        sl = pop.slice
        for c, tau in enumerate((pop.params.tau_syn_exc_s, pop.params.tau_syn_inh_s)):
            factor = f(before["pop_scale"][p, c] * float(f(math.exp(-DT / tau))))
            folded = before["state"][1 + c, sl] * factor
            out[sl] |= np.abs(folded) > f(settle_v)
    return out


def test_effective_count_equals_an_independent_recount() -> None:
    """Per step, the kernel's effective count equals the recount of the module docstring.

    Also checks the premise of skipping: every neuron the recount leaves out is one the
    time-stepped kernel did not change. Long enough for every population to fold its currents.
    """
    n_ticks = 400 if JIT else 150
    ts, synapses = controller_net(TS)
    ed, _ = controller_net(ED)
    lif = np.zeros(ts.n_neurons, dtype=bool)
    for pop in ts.populations.values():
        lif[pop.slice] = pop.kind == "lif"
    states = [ts.get_state()]
    learned_w = []  # weights of the plastic projection in force at each step
    effective = []
    out5 = np.zeros(5, dtype=np.int64)
    for tick in range(n_ticks):
        drive_tick(ts, tick)
        drive_tick(ed, tick)
        for _ in range(TICK):
            learned_w.append(ts.weights("learned").copy())
            ts.step(1)
            states.append(ts.get_state())
            before = ed.counts_array(out5)[4]
            ed.step(1)
            effective.append(ed.counts_array(out5)[4] - before)
    n_steps = n_ticks * TICK
    spiked = np.zeros((n_steps, ts.n_neurons), dtype=bool)
    for name in ts.populations:
        steps, idx = ts.spikes(name)
        spiked[steps, idx + ts.population(name).start] = True
    # arrivals: a spike at step t through a non-zero weight of delay d reaches its target's
    # current at the end of step t + d, which is advanced from step t + d + 1
    arrives = np.zeros((n_steps + 16, ts.n_neurons), dtype=bool)
    learned_pre, learned_post = ts.synapses("learned")
    learned_pre = learned_pre + ts.population("hidden").start
    learned_post = learned_post + ts.population("out").start
    for t in range(n_steps):
        for name, (pre, post, delay) in synapses.items():
            if name == "learned":  # CSR order, weights as they were when the spike left
                hit = spiked[t, learned_pre] & (learned_w[t] != 0)
                arrives[t, learned_post[hit]] = True
            else:
                hit = spiked[t, pre]
                arrives[t + delay[hit], post[hit]] = True
    settle_v = ts.settle_v
    members = lif.copy()  # a new network has every neuron awake
    recount, folds = [], 0
    for t in range(n_steps):
        before, after = states[t], states[t + 1]
        # the premise of skipping: the time-stepped kernel left a skipped neuron unchanged
        skipped = lif & ~members
        assert np.all(after["state"][[0, 3]][:, skipped] == before["state"][[0, 3]][:, skipped])
        assert np.all(after["refrac"][skipped] == before["refrac"][skipped])
        recount.append(int(members.sum()))
        stays = rest_rule(before, ts, after["v_inf"], settle_v) & ~spiked[t]
        raised = fold_raise(before, after, ts, settle_v)
        folds += int(np.any(after["pop_scale"][:, 0] == 1.0))
        drive_changed = (states[t + 2]["v_inf"] != after["v_inf"] if t + 1 < n_steps
                         else np.zeros(ts.n_neurons, dtype=bool))
        members = (~stays | arrives[t] | raised | drive_changed) & lif
    if JIT:
        assert folds >= 2  # the fold path was exercised
    np.testing.assert_array_equal(np.array(effective), np.array(recount))
    assert sum(effective) == ed.counts().effective_neuron_updates
    assert 0 < sum(effective) < (0.7 if JIT else 0.9) * ed.counts().neuron_updates


def test_quiescent_network_stops_updating_and_one_input_wakes_only_its_targets() -> None:
    """No input: every neuron reaches rest, then costs nothing; a spike wakes its targets."""
    net = Network(dt_s=DT, seed=0, execution=ED)
    net.add_spike_source("src", 1, times_s=[0.25], indices=[0])
    net.add_lif("a", 50, FAST, v_init=(FAST.v_reset - 0.005, FAST.v_thresh - 0.001))
    net.add_lif("b", 30, ADAPT, v_init=(ADAPT.v_reset, ADAPT.v_thresh - 0.001))
    # three non-zero weights and two zero ones; one of the non-zero is delayed by 5 steps
    net.connect("src", "a", FromLists([0, 0, 0, 0, 0], [3, 7, 9, 11, 13]),
                np.array([2e-3, 0.0, 1e-3, 0.0, 3e-3]), delay_s=np.array([0, 0, 5, 0, 0]) * DT)
    net.run(0.2)
    mid = net.counts()
    assert 0 < mid.effective_neuron_updates < mid.neuron_updates
    for name, params in (("a", FAST), ("b", ADAPT)):
        v = net.state(name)["v"]
        assert np.all(np.abs(v - params.v_rest) < 1e-6), name  # at rest: v_inf = v_rest
    net.run(0.04)  # the state() reads above woke both populations once
    quiet = net.counts()
    net.run(0.005)  # up to step 2450, just before the source fires
    assert (net.counts() - quiet).effective_neuron_updates == 0
    assert (net.counts() - quiet).neuron_updates == 50 * 80
    before = net.counts().effective_neuron_updates
    per_step = []
    for _ in range(1500):
        net.step(1)
        now = net.counts().effective_neuron_updates
        per_step.append(now - before)
        before = now
    # spike at step 2500 (t = 0.25 s): neurons 3 and 13 from step 2501, neuron 9 from 2506
    assert per_step[:51] == [0] * 51
    assert per_step[51:56] == [2] * 5
    assert all(n == 3 for n in per_step[56:80])
    assert per_step[-1] == 0 and sum(per_step) < 3 * 1500  # settled again


@settings(max_examples=12 if JIT else 3, deadline=None)
@given(seed=st.integers(0, 2**16), settle_exp=st.integers(-7, -3),
       dtype=st.sampled_from([np.float32, np.float64]), substeps=st.sampled_from([1, 3, 10]),
       rate=st.floats(0.0, 80.0), rule=st.sampled_from([None, "pre", "stdp"]))
def test_effective_never_exceeds_dense_and_spikes_agree(seed, settle_exp, dtype, substeps,
                                                         rate, rule) -> None:
    """Random small networks (with or without a learning projection): bit-identical
    trajectories, effective <= dense, per population."""
    rng = np.random.default_rng(seed)
    settle_v = 10.0**settle_exp
    nets = {}
    n_steps = 600 if JIT else 120
    for execution in (TS, ED):
        net = Network(dt_s=DT, seed=seed, dtype=dtype, execution=execution, settle_v=settle_v)
        net.add_poisson("in", 8, rate_hz=rate, record=True)
        net.add_lif("x", int(rng.integers(1, 30)), FAST, v_init=(-0.07, -0.05),
                    bias_v=float(rng.uniform(0, 0.02)), record=True)
        net.add_lif("y", int(rng.integers(1, 20)), ADAPT, v_init=(-0.07, -0.05), record=True)
        delay = float(rng.integers(0, 4)) * DT
        net.connect("in", "x", FixedProbability(0.5), 4e-3, delay_s=delay)
        net.connect("x", "y", FixedProbability(0.3), 3e-3, delay_s=2 * delay)
        net.connect("y", "x", FixedProbability(0.3), -2e-3, channel="inh")
        if rule is not None:
            net.set_plasticity("x->y", ThreeFactor(eligibility=rule, learning_rate=1e-3,
                                                   w_min=0.0, w_max=0.01))
        net.build()
        net.modulator_view("y")[:] = 1.0
        for _ in range(n_steps // substeps):
            net.step(substeps)
        nets[execution] = net
        rng = np.random.default_rng(seed)  # the same draws for the twin
    ts, ed = nets[TS], nets[ED]
    assert_same_trajectory(ts, ed)
    assert_same_counts_but_effective(ts, ed)
    for name in (None, "x", "y"):
        c_ts, c_ed = ts.counts(name), ed.counts(name)
        assert c_ts.effective_neuron_updates == c_ts.neuron_updates
        assert 0 <= c_ed.effective_neuron_updates <= c_ed.neuron_updates


# ----------------------------------------------------------------------------- saving
def test_get_state_set_state_round_trips_the_active_set() -> None:
    n_ticks, half = 300, 150
    whole, _ = controller_net(ED)
    simulate(whole, half)
    snapshot = whole.get_state()
    assert snapshot["active"].dtype == np.uint8
    assert not snapshot["active"][whole.population("hidden").slice].all()  # some rest
    mark = whole.counts()
    for tick in range(half, n_ticks):
        drive_tick(whole, tick)
        whole.step(TICK)
    resumed, _ = controller_net(ED)
    resumed.run(0.013)  # a different history, overwritten by the snapshot
    resumed.set_state(snapshot)
    np.testing.assert_array_equal(resumed.get_state()["active"], snapshot["active"])
    assert resumed.counts() == mark
    for tick in range(half, n_ticks):
        drive_tick(resumed, tick)
        resumed.step(TICK)
    assert resumed.counts() == whole.counts()  # effective included: the same neurons advanced
    for key in ("state", "refrac", "weights", "active", "pop_counts"):
        np.testing.assert_array_equal(resumed.get_state()[key], whole.get_state()[key], key)


def test_snapshot_from_before_event_driven_execution_loads_awake() -> None:
    net, _ = controller_net(ED)
    simulate(net, 5)
    old = net.get_state()
    del old["active"], old["v_inf"]
    old["pop_counts"] = old["pop_counts"][:, :2]  # (dense updates, spikes), as saved before
    other, _ = controller_net(ED)
    other.set_state(old)
    assert other.get_state()["active"][other.population("hidden").slice].all()
    c = other.counts()
    assert c.effective_neuron_updates == c.neuron_updates == net.counts().neuron_updates
    with pytest.raises(ValueError, match="'weights'"):
        other.set_state({k: v for k, v in net.get_state().items() if k != "weights"})


# ----------------------------------------------------------------------------- API
def test_execution_and_settle_v_are_validated() -> None:
    with pytest.raises(ValueError, match=r"execution must be one of \('time-stepped', "
                                         r"'event-driven'\), got 'event'"):
        Network(execution="event")
    net = Network()
    with pytest.raises(ValueError, match="execution must be one of"):
        net.execution = "dense"
    assert net.execution == TS  # the default, unchanged by the failed assignment
    for bad in (-1e-6, math.nan, math.inf, True, "1e-5", None):
        with pytest.raises(ValueError, match=r"settle_v must be a finite number >= 0"):
            Network(settle_v=bad)
    assert Network().settle_v == SETTLE_V


def test_op_counts_keep_their_four_operations() -> None:
    """The new count is beside the old ones: dicts, arrays and arithmetic keep their shape."""
    c = OpCounts(10, 2, 30, 4)
    assert c.effective_neuron_updates == 10  # not given: time-stepped, every update effective
    assert list(c.as_dict()) == list(OP_NAMES)
    assert list(c.as_dict(effective=True)) == list(COUNT_NAMES)
    d = OpCounts(10, 2, 30, 4, effective_neuron_updates=3) - OpCounts(4, 1, 0, 0, 1)
    assert d == OpCounts(6, 1, 30, 4, 2)
    net, _ = controller_net(ED)
    simulate(net, 20)
    total = net.counts()
    np.testing.assert_array_equal(net.counts_array(), list(total.as_dict().values()))
    np.testing.assert_array_equal(net.counts_array(np.zeros(5, np.int64)),
                                  list(total.as_dict(effective=True).values()))
    with pytest.raises(ValueError, match="4 or 5 entries"):
        net.counts_array(np.zeros(3, np.int64))


def test_state_views_wake_their_population() -> None:
    """Writing a membrane through ``state()`` in event-driven mode takes effect as in
    time-stepped mode (the read woke the population)."""
    nets = {}
    for execution in (TS, ED):
        net, _ = controller_net(execution)
        simulate(net, 150)  # 0.14 s after the first burst
        if execution == ED:
            assert net.get_state()["active"][net.population("hidden").start + 5] == 0  # rests
        net.state("hidden")["v"][5] = -0.0495  # above threshold: fires at the next step
        net.run(0.01)
        nets[execution] = net
    assert_same_trajectory(nets[TS], nets[ED])
    steps, idx = nets[ED].spikes("hidden")
    assert 1500 in steps[idx == 5]


def test_a_fold_that_lifts_a_resting_current_over_the_bound_wakes_the_neuron() -> None:
    """Folding rounds a stored current once; with a slow synapse (decay factor within float32
    rounding of 1) a current just under the bound can come out just over it. The time-stepped
    kernel then moves the neuron, so the event-driven one must wake it.

    The state is crafted through ``set_state``: a resting neuron with the largest current the
    bound allows, and the inhibitory scale one step from its fold (which folds both channels).
    """
    slow = LIFParams(tau_mem_s=0.010, tau_syn_exc_s=2000.0, tau_syn_inh_s=0.005,
                     v_rest=-0.065, v_reset=-0.065, v_thresh=-0.050)
    f = np.float32
    a_exc = f(math.exp(-DT / slow.tau_syn_exc_s))
    assert a_exc < 1
    bound = f(SETTLE_V)
    # an excitatory scale for which the largest current allowed folds to above the bound
    for sigma in np.linspace(0.5, 0.999, 500):
        stored = f(SETTLE_V / sigma)
        if abs(stored * f(sigma * float(a_exc))) > bound:
            break
    else:
        pytest.fail("no excitatory scale lifts the current over the bound")
    nets = {}
    for execution in (TS, ED):
        net = Network(dt_s=DT, seed=0, execution=execution)
        net.add_lif("x", 3, slow, record=True)
        net.run(0.01)  # at rest from the start
        state = net.get_state()
        state["pop_scale"][0] = (sigma, 1.0001e-10)
        state["state"][1, 0] = stored
        net.set_state(state)
        nets[execution] = net
    ed = nets[ED]
    assert not ed.get_state()["active"].any()  # neuron 0 rests: its current is allowed
    for net in nets.values():
        net.step(1)  # folds
    assert ed.get_state()["active"].tolist() == [1, 0, 0]
    probes = {k: net.run(5 * DT, probe={"x": [0, 1]}).probe_v for k, net in nets.items()}
    assert_same_trajectory(nets[TS], ed)
    np.testing.assert_array_equal(probes[TS], probes[ED])
    assert np.any(probes[TS][:, 0] != probes[TS][:, 1])  # neuron 0 moved (then rested again)


def test_a_changed_input_wakes_exactly_the_neurons_it_moves() -> None:
    """A held input changed for 10 of 100 resting neurons: those 10, and only they, are
    advanced until they rest at their new resting point."""
    nets, per_step = {}, []
    for execution in (TS, ED):
        net = Network(dt_s=DT, seed=0, execution=execution)
        net.add_spike_source("src", 1, times_s=[0.001], indices=[0], record=True)
        net.add_lif("x", 100, FAST, record=True)  # v_init = v_rest: at rest from the start
        net.connect("src", "x", FromLists([0, 0], [3, 4]), 5e-3)  # two neurons move first
        net.run(0.2)
        drive = np.zeros(100)
        drive[50:60] = 0.01  # a new resting point 10 mV up (below threshold)
        net.set_input("x", drive)
        before = net.counts().effective_neuron_updates
        for _ in range(3):
            net.step(1)
            per_step.append(net.counts().effective_neuron_updates - before)
            before = net.counts().effective_neuron_updates
        net.run(0.3)
        nets[execution] = net
    assert_same_trajectory(nets[TS], nets[ED])
    assert per_step[3:] == [10, 10, 10]  # the event-driven run
    net = nets[ED]
    assert net.get_state()["active"].sum() == 0  # all at rest again
    v = net.get_state()["state"][0, net.population("x").slice]
    np.testing.assert_array_equal(v[50:60], np.float32(FAST.v_rest) + np.float32(0.01))


def test_few_neurons_firing_among_many_at_rest() -> None:
    """Spiking (and adapting) neurons advanced from the active list, not by a population sweep:
    3 of 200 neurons per population driven to fire repeatedly, the rest at rest; an STDP
    projection between them reads their spikes (traces of both populations)."""
    times = np.arange(0.01, 0.05, 0.002)
    nets = {}
    for execution in (TS, ED):
        net = Network(dt_s=DT, seed=0, execution=execution)
        net.add_spike_source("src", 1, times_s=times, indices=np.zeros(times.size, int),
                             record=True)
        net.add_lif("x", 200, FAST, record=True)
        net.add_lif("y", 200, ADAPT, record=True)
        for post in ("x", "y"):
            net.connect("src", post, FromLists([0, 0, 0], [17, 90, 151]), 0.03,
                        delay_s=np.array([0, 3, 7]) * DT)
        net.connect("x", "y", FromLists([17, 90, 151, 17], [90, 151, 17, 5]), 1e-3)
        net.set_plasticity("x->y", ThreeFactor(eligibility="stdp", learning_rate=0.05,
                                               w_min=0.0, w_max=0.01))
        net.build()
        net.modulator_view("y")[:] = 1.0
        net.run(0.3)
        nets[execution] = net
    assert_same_trajectory(nets[TS], nets[ED])
    ed = nets[ED]
    for name in ("x", "y"):
        steps, idx = ed.spikes(name)
        assert set(idx.tolist()) == {17, 90, 151} and steps.size >= 12, name
        c = ed.counts(name)
        # step 0 advances all 200 (a new network is awake); afterwards at most the three
        # driven ones, and in "y" neuron 5, which "x" drives
        assert c.effective_neuron_updates <= 200 + 4 * (3000 - 1), name
    assert np.any(ed.weights("x->y") != 1e-3)  # STDP moved the weights
    theta = ed.get_state()["state"][3, ed.population("y").slice]
    assert not ed.get_state()["active"].any() and not theta.any()  # adaptation snapped to 0


def test_per_step_inputs_of_run() -> None:
    """``run(inputs=...)`` recomputes resting points every step; a neuron whose input holds
    still rests, one whose input changes is woken."""
    n_steps = 3000
    rng = np.random.default_rng(3)
    levels = rng.uniform(0.0, 0.012, (n_steps // 300 + 1, 50))
    ext = np.repeat(levels, 300, axis=0)[:n_steps]  # a new level every 30 ms ...
    ext[:, 25:] = 0.004  # ... for the first 25 neurons; the others' input holds
    nets = {}
    for execution in (TS, ED):
        net = Network(dt_s=DT, seed=0, execution=execution)
        net.add_lif("x", 50, FAST, v_init=(-0.07, -0.06), record=True)
        net.run(n_steps * DT, inputs={"x": ext})
        nets[execution] = net
    assert_same_trajectory(nets[TS], nets[ED])
    c = nets[ED].counts()
    assert c.neuron_updates == 50 * n_steps
    assert c.effective_neuron_updates < 0.6 * c.neuron_updates


def test_spikes_from_the_list_propagate_in_index_order() -> None:
    """Two neurons woken in the order 150, 20 fire in the same steps: the list holds them in
    wake order, the spikes must still be recorded and delivered in index order (as the
    time-stepped scan finds them), or the common target's current sums in another order."""
    times = np.repeat(np.arange(0.01, 0.04, 0.003), 2)
    nets = {}
    for execution in (TS, ED):
        net = Network(dt_s=DT, seed=0, execution=execution)
        net.add_spike_source("src", 2, times_s=times, indices=np.tile([0, 1], times.size // 2),
                             record=True)
        net.add_lif("x", 200, FAST, record=True)
        net.connect("src", "x", FromLists([0, 1], [150, 20]), 0.04)  # source 0 wakes 150 first
        net.connect("x", "x", FromLists([20, 150], [77, 77]), np.array([1.3e-3, 2.9e-3]))
        net.run(0.06)
        nets[execution] = net
    steps, idx = nets[ED].spikes("x")
    both = np.intersect1d(steps[idx == 20], steps[idx == 150])
    assert both.size >= 5  # they do fire together
    assert_same_trajectory(nets[TS], nets[ED])
