"""EnergyMeter and DNN costs: totals equal a hand computation, sums of charges add up."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neurofit.neuromorphic.counters import OpCounts
from neurofit.neuromorphic.energy import (
    DnnCost,
    EnergyMeter,
    TickEnergy,
    inference_energy_j,
    mlp_inference_cost,
)
from neurofit.neuromorphic.hardware import get_profile, list_profiles

NEURO = [n for n in list_profiles() if get_profile(n).kind == "neuromorphic"]
DNN = [n for n in list_profiles() if get_profile(n).kind == "dnn"]


def test_loihi_tick_equals_hand_computation() -> None:
    meter = EnergyMeter("loihi", control_dt_s=0.01)
    c = OpCounts(neuron_updates=1000, spikes=50, synaptic_events=5000, weight_updates=200)
    tick = meter.charge(c)
    assert tick.spikes_j == pytest.approx(50 * 3.5e-12)
    assert tick.synaptic_j == pytest.approx(5000 * 23.6e-12)
    assert tick.neuron_j == pytest.approx(1000 * 81e-12)
    assert tick.learning_j == pytest.approx(200 * 120e-12)
    assert tick.static_j == pytest.approx(0.94 * 0.01)
    dynamic = 50 * 3.5e-12 + 5000 * 23.6e-12 + 1000 * 81e-12 + 200 * 120e-12
    assert tick.dynamic_j == pytest.approx(dynamic)
    assert tick.total_j == pytest.approx(dynamic + 0.0094)
    assert tick.mac_j == 0.0 and tick.memory_j == 0.0


def test_running_totals_and_power() -> None:
    dt = 0.005
    meter = EnergyMeter("neurofit-analog", control_dt_s=dt)
    ticks = [OpCounts(100, i, 10 * i, i % 3) for i in range(20)]
    for c in ticks:
        meter.charge(c)
    p = get_profile("neurofit-analog")
    total = sum(ticks, OpCounts())
    hand = (
        total.spikes * p.joules_per_spike
        + total.synaptic_events * p.joules_per_synaptic_event
        + total.neuron_updates * p.joules_per_neuron_update
        + total.weight_updates * p.joules_per_weight_update
    )
    b = meter.breakdown()
    assert b["dynamic_j"] == pytest.approx(hand)
    assert b["static_j"] == pytest.approx(p.static_w * dt * 20)
    assert b["total_j"] == pytest.approx(hand + p.static_w * dt * 20)
    assert meter.counts == total and meter.ticks == 20
    assert meter.duration_s == pytest.approx(0.1)
    assert meter.mean_power_w() == pytest.approx(b["total_j"] / 0.1)
    assert meter.mean_power_w(dynamic_only=True) == pytest.approx(hand / 0.1)
    assert meter.activity() == pytest.approx(total.spikes / total.neuron_updates)


@pytest.mark.parametrize("name", NEURO + DNN)
@pytest.mark.parametrize("dt", [0.001, 0.02])
def test_static_energy_is_watts_times_dt(name: str, dt: float) -> None:
    meter = EnergyMeter(name, control_dt_s=dt)
    p = get_profile(name)
    tick = meter.charge(OpCounts()) if p.prices_events else meter.charge_inference(DnnCost())
    assert tick.static_j == pytest.approx(p.static_w * dt)
    # an empty inference still pays the profile's fixed cost of one call (DNN profiles only)
    call = 0.0 if p.prices_events else (p.joules_per_inference or 0.0)
    assert tick.overhead_j == call and tick.dynamic_j == call
    if meter.ticks:
        assert meter.mean_power_w() == pytest.approx(p.static_w + call / dt)


def test_offline_matches_live_and_array_input() -> None:
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 10_000, size=(50, 4))
    seq = [OpCounts(*map(int, row)) for row in arr]
    live = EnergyMeter("spinnaker2", 0.01)
    for c in seq:
        live.charge(c)
    assert EnergyMeter.from_counts("spinnaker2", 0.01, seq).breakdown() == live.breakdown()
    assert EnergyMeter.from_counts("spinnaker2", 0.01, arr).breakdown() == live.breakdown()
    with pytest.raises(ValueError, match="shape"):
        EnergyMeter.from_counts("loihi", 0.01, arr[:, :3])
    with pytest.raises(ValueError, match="integers"):
        EnergyMeter.from_counts("loihi", 0.01, arr.astype(float))


def test_cumulative_and_reset() -> None:
    a = EnergyMeter("loihi", 0.01)
    b = EnergyMeter("loihi", 0.01)
    running = OpCounts()
    for i in range(5):
        delta = OpCounts(10, i, 3 * i, 1)
        running = running + delta
        assert a.charge_cumulative(running) == b.charge(delta)
    assert a.breakdown() == b.breakdown()
    with pytest.raises(ValueError, match="counters reset"):
        a.charge_cumulative(OpCounts())
    a.reset()
    assert a.ticks == 0 and a.counts == OpCounts() and math.isnan(a.mean_power_w())
    a.charge_cumulative(OpCounts(1, 1, 1, 1))
    assert a.counts == OpCounts(1, 1, 1, 1)


def test_errors() -> None:
    with pytest.raises(ValueError, match="control_dt_s"):
        EnergyMeter("loihi", 0.0)
    with pytest.raises(ValueError, match="control_dt_s"):
        EnergyMeter("loihi", math.nan)
    with pytest.raises(ValueError, match="known profiles"):
        EnergyMeter("no-such-chip", 0.01)
    with pytest.raises(ValueError, match="non-negative"):
        EnergyMeter("loihi", 0.01).charge(OpCounts(spikes=-1))
    with pytest.raises(ValueError, match="charge_inference"):
        EnergyMeter("cpu-x86", 0.01).charge(OpCounts(1, 1, 1, 1))
    with pytest.raises(ValueError, match="DNN profile"):
        EnergyMeter("loihi", 0.01).charge_inference(DnnCost(macs=1))
    with pytest.raises(ValueError, match="DNN profile"):
        inference_energy_j(DnnCost(macs=1), "truenorth")


# -- DNN ----------------------------------------------------------------------------------------


def test_mlp_inference_cost_convention() -> None:
    # 3 -> 4 -> 2, tanh hidden, linear output
    c = mlp_inference_cost([3, 4, 2])
    assert c.macs == 3 * 4 + 4 * 2
    assert c.activations == 4
    assert c.memory_reads == (3 * 4 + 4 + 3) + (4 * 2 + 2 + 4)
    assert c.memory_writes == 4 + 2
    assert mlp_inference_cost([3, 4, 2], output_nonlinear=True).activations == 6
    for bad in ([3], [3, 0], [3, 2.5]):
        with pytest.raises(ValueError):
            mlp_inference_cost(bad)  # type: ignore[arg-type]


def test_dnn_charge_on_profile() -> None:
    cost = mlp_inference_cost([17, 64, 64, 4])
    p = get_profile("mcu-cortex-m4")
    hand = cost.ops * p.joules_per_mac + cost.memory_accesses * p.joules_per_memory_access
    assert inference_energy_j(cost, p) == pytest.approx(hand)
    meter = EnergyMeter(p, 0.01)
    tick = meter.charge_inference(cost)
    assert tick.mac_j == pytest.approx(cost.ops * p.joules_per_mac)
    assert tick.memory_j == pytest.approx(cost.memory_accesses * p.joules_per_memory_access)
    call = p.joules_per_inference  # charged once per inference call, on top of the ops
    assert call is not None and tick.overhead_j == call
    assert tick.dynamic_j == pytest.approx(hand + call)
    offline = EnergyMeter.from_inferences(p, 0.01, cost, ticks=100)
    assert offline.dnn_cost == cost * 100 and offline.inferences == 100
    assert offline.breakdown()["overhead_j"] == pytest.approx(100 * call)
    assert offline.breakdown()["dynamic_j"] == pytest.approx(100 * (hand + call))
    assert offline.mean_power_w() == pytest.approx(100 * (hand + call) / 1.0 + p.static_w)


def test_dnn_cost_validation() -> None:
    with pytest.raises(ValueError, match="macs"):
        DnnCost(macs=-1)
    assert DnnCost(1, 2, 3, 4) + DnnCost(1, 1, 1, 1) == DnnCost(2, 3, 4, 5)
    assert 2 * DnnCost(1, 2, 3, 4) == DnnCost(2, 4, 6, 8)


def test_tick_energy_as_dict() -> None:
    t = TickEnergy(spikes_j=1.0, static_j=2.0)
    d = t.as_dict()
    assert d["dynamic_j"] == 1.0 and d["total_j"] == 3.0 and d["spikes_j"] == 1.0


# -- property: charging a sum equals the sum of charges -----------------------------------------

counts_st = st.builds(
    OpCounts,
    st.integers(0, 10**9), st.integers(0, 10**9), st.integers(0, 10**11), st.integers(0, 10**9),
)


@given(a=counts_st, b=counts_st, name=st.sampled_from(NEURO))
def test_charge_of_sum_equals_sum_of_charges(a: OpCounts, b: OpCounts, name: str) -> None:
    one = EnergyMeter(name, 0.01)
    whole = one.charge(a + b)
    two = EnergyMeter(name, 0.01)
    ta, tb = two.charge(a), two.charge(b)
    for key in ("spikes_j", "synaptic_j", "neuron_j", "learning_j", "dynamic_j"):
        assert getattr(whole, key) == pytest.approx(getattr(ta, key) + getattr(tb, key), rel=1e-12)
    # totals are exact counts x prices: dynamic identical, static one tick apart
    assert one.counts == two.counts
    assert one.totals().dynamic_j == two.totals().dynamic_j
    assert two.totals().static_j - one.totals().static_j == pytest.approx(
        get_profile(name).static_w * 0.01
    )


# -- execution models: which neuron-update count a profile pays for ----------------------------

#: Davies et al. 2018, Table 1: 81 pJ per active, 52 pJ per inactive Loihi neuron update.
_LOIHI_ACTIVE_J, _LOIHI_INACTIVE_J = 81e-12, 52e-12
#: neurofit-analog's estimate: 1 pJ per neuron advanced (1 nW over a 1 ms step).
_ANALOG_NEURON_J = 1e-12


def test_time_stepped_profile_charges_dense_with_inactive_updates_cheaper() -> None:
    meter = EnergyMeter("loihi", 0.01)
    c = OpCounts(neuron_updates=1000, spikes=5, synaptic_events=50, weight_updates=0,
                 effective_neuron_updates=300)
    tick = meter.charge(c)
    assert tick.neuron_j == pytest.approx(300 * _LOIHI_ACTIVE_J + 700 * _LOIHI_INACTIVE_J)
    assert meter.totals().neuron_j == pytest.approx(tick.neuron_j)
    assert meter.execution_report() == {"execution": "time-stepped",
                                        "neuron_updates_charged": "dense",
                                        "neuron_updates": 1000, "effective_neuron_updates": 300}
    # without an effective count every update was an active one: today's bill, unchanged
    dense = EnergyMeter("loihi", 0.01).charge(OpCounts(neuron_updates=1000))
    assert dense.neuron_j == pytest.approx(1000 * _LOIHI_ACTIVE_J)


def test_time_stepped_profile_without_inactive_figure_charges_every_update_in_full() -> None:
    p = get_profile("spinnaker2")
    assert p.joules_per_inactive_neuron_update is None
    tick = EnergyMeter(p, 0.01).charge(OpCounts(neuron_updates=1000,
                                                effective_neuron_updates=10))
    assert tick.neuron_j == pytest.approx(1000 * 2.19e-9)  # Höppner et al. 2019


def test_event_driven_profile_charges_only_neurons_advanced() -> None:
    meter = EnergyMeter("neurofit-analog", 0.01)
    c = OpCounts(neuron_updates=1000, spikes=5, synaptic_events=50, weight_updates=2,
                 effective_neuron_updates=300)
    tick = meter.charge(c)
    assert tick.neuron_j == pytest.approx(300 * _ANALOG_NEURON_J)
    assert tick.dynamic_j == pytest.approx(5 * 22e-12 + 50 * 5e-12 + 2 * 25e-12
                                           + 300 * _ANALOG_NEURON_J)
    assert meter.neuron_updates_charged == "effective"
    assert meter.execution_report()["execution"] == "event-driven"
    # a steady state where nothing is advanced costs no neuron energy at all
    assert meter.charge(OpCounts(neuron_updates=1000, effective_neuron_updates=0)).neuron_j == 0


def test_dnn_profile_reports_no_execution_model() -> None:
    meter = EnergyMeter("cpu-x86", 0.01)
    assert meter.execution is None and meter.neuron_updates_charged is None


def test_effective_counts_through_arrays_and_cumulative_totals() -> None:
    rows = np.array([[100, 3, 30, 1, 40], [100, 0, 0, 0, 0], [100, 9, 90, 4, 100]],
                    dtype=np.int64)
    for name in ("loihi", "neurofit-analog"):
        live = EnergyMeter(name, 0.01)
        for r in rows:
            live.charge(OpCounts(*(int(v) for v in r)))
        offline = EnergyMeter.from_counts(name, 0.01, rows)
        cumulative = EnergyMeter(name, 0.01)
        for total in np.cumsum(rows, axis=0):
            cumulative.charge_cumulative(OpCounts(*(int(v) for v in total)))
        assert live.counts == offline.counts == cumulative.counts
        assert live.counts.effective_neuron_updates == 140
        for m in (offline, cumulative):
            assert m.totals().neuron_j == pytest.approx(live.totals().neuron_j, rel=1e-12)
    # four columns: effective = dense, as before
    four = EnergyMeter.from_counts("loihi", 0.01, rows[:, :4])
    assert four.counts.effective_neuron_updates == 300
    assert four.totals().neuron_j == pytest.approx(300 * _LOIHI_ACTIVE_J)


def test_effective_above_dense_is_rejected() -> None:
    with pytest.raises(ValueError, match="effective_neuron_updates"):
        EnergyMeter("loihi", 0.01).charge(OpCounts(neuron_updates=5,
                                                   effective_neuron_updates=6))
    with pytest.raises(ValueError, match="effective_neuron_updates"):
        EnergyMeter.from_counts("loihi", 0.01, np.array([[5, 0, 0, 0, 6]]))
    with pytest.raises(ValueError, match=r"\(ticks, 4\).*\(ticks, 5\)"):
        EnergyMeter.from_counts("loihi", 0.01, np.zeros((2, 3), dtype=np.int64))


effective_st = st.integers(0, 10**9).flatmap(lambda n: st.builds(
    OpCounts, st.just(n), st.integers(0, 10**6), st.integers(0, 10**8), st.integers(0, 10**6),
    st.integers(0, n)))


@given(a=effective_st, b=effective_st, name=st.sampled_from(NEURO))
def test_execution_charge_of_sum_equals_sum_of_charges(a: OpCounts, b: OpCounts,
                                                       name: str) -> None:
    whole = EnergyMeter(name, 0.01).charge(a + b)
    two = EnergyMeter(name, 0.01)
    ta, tb = two.charge(a), two.charge(b)
    assert whole.neuron_j == pytest.approx(ta.neuron_j + tb.neuron_j, rel=1e-12)
    assert two.totals().neuron_j == pytest.approx(whole.neuron_j, rel=1e-12)
    # an event-driven chip never pays more for neurons than a time-stepped one would
    p = get_profile(name)
    dense_j = (a + b).neuron_updates * p.joules_per_neuron_update
    assert whole.neuron_j <= dense_j * (1 + 1e-12)
