"""A fair DNN side (issue 13, items 5 and 6): the delta-network twin of the feedback MLP, the
DNN profiles' fixed cost per inference, the reference DNN of ``ratio_vs_dnn`` and the
break-even figures — each checked against a recount or a hand computation."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import neurofit.envs  # noqa: F401
from neurofit.agents.delta_mlp import DEFAULT_DELTA, DeltaFeedbackMLPAgent
from neurofit.agents.energy_report import (
    ControllerMeasurement,
    EpisodeResult,
    Usage,
    break_even,
    energy_report,
    price,
)
from neurofit.agents.mlp_feedback import FeedbackMLPAgent, mlp_learning_cost
from neurofit.neuromorphic.counters import OpCounts
from neurofit.neuromorphic.energy import mlp_inference_cost
from neurofit.neuromorphic.hardware import HardwareProfile, get_profile

ENV = "neurofit/QuadHoverPayload-v0"


def _fly(agent: FeedbackMLPAgent, steps: int, seed: int = 2,
         on_tick: object = None) -> list[np.ndarray]:
    """One seeded episode of ``steps`` ticks; the actions. ``on_tick(agent, x)`` is called just
    before each act with the clipped features the network will see."""
    env = gym.make(ENV)
    obs, _ = env.reset(seed=seed)
    agent.reset()
    actions = []
    for _ in range(steps):
        if on_tick is not None:
            on_tick(agent, np.clip(agent.features(obs), -1.2, 1.2))  # type: ignore[operator]
        a = agent.act(obs)
        actions.append(np.array(a, copy=True))
        obs, r, term, trunc, info = env.step(a)
        agent.observe(obs, r, term, info)
        if term or trunc:
            break
    env.close()
    return actions


@pytest.mark.parametrize("hidden", [(4,), (3, 2)])
def test_delta_zero_is_the_dense_mlp_bit_for_bit(hidden: tuple[int, ...]) -> None:
    env = gym.make(ENV)
    dense = FeedbackMLPAgent.from_env(env, hidden=hidden, learning_rate=0.05, seed=5,
                                      learn_deadband=0.1)
    delta = DeltaFeedbackMLPAgent.from_env(env, delta=0.0, hidden=hidden, learning_rate=0.05,
                                           seed=5, learn_deadband=0.1)
    env.close()
    a_dense, a_delta = _fly(dense, 200), _fly(delta, 200)
    assert len(a_dense) == len(a_delta) == 200
    assert all(np.array_equal(x, y) for x, y in zip(a_dense, a_delta, strict=True))
    for w1, w2 in zip(dense.weights + dense.biases, delta.weights + delta.biases, strict=True):
        assert np.array_equal(w1, w2)
    assert delta.learning_steps == dense.learning_steps  # the same deadband gating
    assert 0 < dense.learning_steps < 200


def _recount(agent: DeltaFeedbackMLPAgent, x: np.ndarray, state: dict) -> int:
    """MACs of one delta pass, counted by hand: each input whose change since it last sent
    exceeds delta sends to its fan-out; each hidden unit whose pre-activation moved by more than
    delta since it last sent sends to its own. Pre-activations are recomputed densely from the
    sent values and the agent's current weights."""
    d = agent.delta
    sizes = agent.layer_sizes
    if not state:
        state["sent"] = [np.zeros(s) for s in sizes[:-1]]
        state["sent_pre"] = [np.zeros(s) for s in sizes[1:-1]]
    sent, sent_pre = state["sent"], state["sent_pre"]
    macs = 0
    n_changed = 0
    for k in range(sizes[0]):
        if abs(x[k] - sent[0][k]) > d:
            sent[0][k] = x[k]
            n_changed += 1
    for layer in range(len(sizes) - 1):
        macs += n_changed * sizes[layer + 1]
        if layer == len(sizes) - 2:
            break
        pre = agent.weights[layer] @ sent[layer] + agent.biases[layer]
        n_changed = 0
        for j in range(sizes[layer + 1]):
            if abs(pre[j] - sent_pre[layer][j]) > d:
                sent_pre[layer][j] = pre[j]
                sent[layer + 1][j] = math.tanh(pre[j])
                n_changed += 1
    return macs


@pytest.mark.parametrize("hidden", [(4,), (3, 2)])
def test_delta_macs_equal_a_recount_and_outputs_stay_in_the_bound(
        hidden: tuple[int, ...]) -> None:
    env = gym.make(ENV)
    agent = DeltaFeedbackMLPAgent.from_env(env, delta=0.02, hidden=hidden, learning_rate=0.05,
                                           seed=3)
    env.close()
    state: dict = {}
    per_tick: list[tuple[int, int]] = []
    worst = []

    def on_tick(a: DeltaFeedbackMLPAgent, x: np.ndarray) -> None:
        before = a.usage().inference.macs
        expected = _recount(a, x, state)
        y = a.forward(x).copy()  # the pass act() will repeat: undo its state and counts
        per_tick.append((a.usage().inference.macs - before, expected))
        # the dense network on the true features, with the same weights
        h = x
        for i, (w, b) in enumerate(zip(a.weights, a.biases, strict=True)):
            h = w @ h + b if i == len(a.weights) - 1 else np.tanh(w @ h + b)
        worst.append(float(np.max(np.abs(y - h) - a.output_error_bound())))

    # forward() is called twice per tick (by the probe and by act): the second call sees no
    # change, so it adds 0 MACs and leaves the recount's state where it was
    actions = _fly(agent, 300, on_tick=on_tick)
    assert len(actions) == 300
    assert [m for m, _ in per_tick] == [e for _, e in per_tick]
    total = sum(e for _, e in per_tick)
    assert agent.usage().inference.macs == total
    dense_macs = mlp_inference_cost(agent.layer_sizes).macs * 300
    assert 0 < total < dense_macs / 2  # fewer than the dense MLP: not every input changes
    assert max(worst) <= 1e-12  # |y_delta - y_dense| within output_error_bound()
    # the bound by hand: an input is off by <= delta; a unit's pre-activation by the sum of
    # |weight| x its inputs' error; a hidden unit's sent value by delta more (tanh is 1-Lipschitz)
    err = [agent.delta] * agent.layer_sizes[0]
    for i, w in enumerate(agent.weights):
        err = [sum(abs(w[j, k]) * err[k] for k in range(w.shape[1]))
               + (0.0 if i == len(agent.weights) - 1 else agent.delta)
               for j in range(w.shape[0])]
    assert agent.output_error_bound() == pytest.approx(err, rel=1e-12)


def test_delta_counts_learning_upkeep_and_round_trips(tmp_path: Path) -> None:
    env = gym.make(ENV)
    agent = DeltaFeedbackMLPAgent.from_env(env, hidden=(4,), learning_rate=0.05, seed=1)
    _fly(agent, 50)
    sizes = agent.layer_sizes  # (6, 4, 3): upkeep MACs (6 + 4) + (4 + 3), 7 reads, 7 writes
    per_step = mlp_learning_cost(sizes)
    learned = agent.usage().learning
    assert learned.macs == agent.learning_steps * (per_step.macs + 17)
    assert learned.memory_reads == agent.learning_steps * (per_step.memory_reads + 7)
    assert learned.memory_writes == agent.learning_steps * (per_step.memory_writes + 7)
    agent.save(tmp_path / "d.npz")
    twin = DeltaFeedbackMLPAgent.from_env(env, hidden=(4,), learning_rate=0.05, seed=1)
    twin.load_state(tmp_path / "d.npz")
    assert twin.usage() == agent.usage()
    with pytest.raises(ValueError, match="delta"):
        DeltaFeedbackMLPAgent.from_env(env, hidden=(4,), learning_rate=0.05, seed=1,
                                       delta=0.5).load_state(tmp_path / "d.npz")
    with pytest.raises(ValueError, match="delta must be"):
        DeltaFeedbackMLPAgent.from_env(env, delta=-0.1)
    env.close()


def test_cli_default_delta_is_the_library_default() -> None:
    from neurofit.scripts import energy

    assert energy.DEFAULT_DELTA == DEFAULT_DELTA
    assert "feedback-mlp-delta" in energy.AGENTS


# ------------------------------------------------------------------ per-inference fixed cost
def _dnn_profile(**over: object) -> dict:
    kw: dict = {"name": "t", "kind": "dnn", "joules_per_mac": 1e-12,
                "joules_per_memory_access": 1e-12, "static_w": 0.0, "weight_bits": 32,
                "joules_per_inference": 2e-6,
                "source": {"joules_per_mac": "bench", "joules_per_memory_access": "bench",
                           "static_w": "bench", "weight_bits": "bench",
                           "joules_per_inference": "bench"}}
    kw.update(over)
    return kw


def test_joules_per_inference_is_validated() -> None:
    assert HardwareProfile(**_dnn_profile()).inference_overhead_j == 2e-6
    with pytest.raises(ValueError, match=r"joules_per_inference must be .*\[0, 0.01\]"):
        HardwareProfile(**_dnn_profile(joules_per_inference=0.5))
    with pytest.raises(ValueError, match="joules_per_inference must be"):
        HardwareProfile(**_dnn_profile(joules_per_inference=-1e-9))
    src = dict(_dnn_profile()["source"])
    del src["joules_per_inference"]
    with pytest.raises(ValueError, match="joules_per_inference has no source"):
        HardwareProfile(**_dnn_profile(source=src))
    loihi = get_profile("loihi")
    with pytest.raises(ValueError, match="applies to DNN profiles only"):
        dataclasses.replace(loihi, joules_per_inference=1e-6,
                            source={**loihi.source, "joules_per_inference": "x"})
    unset = HardwareProfile(**_dnn_profile(joules_per_inference=None, source=src))
    assert unset.inference_overhead_j == 0.0


# ------------------------------------------------------------------ reference DNN, break-even
def _m(name: str, kind: str, usage: Usage, rms_m: float) -> ControllerMeasurement:
    return ControllerMeasurement(name, kind, 0.01,
                                 [EpisodeResult(0, usage.ticks, rms_m, 1.0, 9.0, False)],
                                 usage, n_neurons=100)


TICKS = 10
SNN_OPS = OpCounts(neuron_updates=8000, spikes=20, synaptic_events=2000, weight_updates=500,
                   effective_neuron_updates=3000)
NEURO = ("loihi", "neurofit-analog", "spinnaker2")
DNN = ("jetson-class", "cpu-x86", "mcu-cortex-m4")


def _snn_j(e_spike: float, e_syn: float, e_active: float, e_idle: float, e_w: float) -> float:
    """NeuroFit's dynamic J per inference by hand, from SNN_OPS."""
    c = SNN_OPS
    return (c.spikes * e_spike + c.synaptic_events * e_syn + c.weight_updates * e_w
            + c.effective_neuron_updates * e_active
            + (c.neuron_updates - c.effective_neuron_updates) * e_idle) / TICKS


def _report(dense_rms: float, delta_rms: float) -> dict:
    snn = _m("nf", "snn", Usage("snn", TICKS, SNN_OPS), 0.010)
    sizes = [6, 8, 3]
    dense = _m("mlp", "dnn", Usage("dnn", TICKS, inference=mlp_inference_cost(sizes) * TICKS,
                                   learning=mlp_learning_cost(sizes) * TICKS), dense_rms)
    # a delta twin that does a tenth of the forward work
    fwd = mlp_inference_cost(sizes)
    cheap = dataclasses.replace(fwd, macs=fwd.macs // 10, memory_reads=fwd.memory_reads // 10)
    delta = _m("mlp-delta", "dnn", Usage("dnn", TICKS, inference=cheap * TICKS,
                                         learning=mlp_learning_cost(sizes) * TICKS), delta_rms)
    return energy_report([snn, dense, delta], NEURO + DNN, "micro-drone")


def test_reference_dnn_is_the_cheapest_row_that_holds_the_score() -> None:
    rep = _report(dense_rms=0.0105, delta_rms=0.0109)
    cycle = 238e-6 / 1e6 * 3.3  # STM32F4 run mode: J per cycle
    sizes = [6, 8, 3]
    fwd, learn = mlp_inference_cost(sizes), mlp_learning_cost(sizes)
    cheap_macs, cheap_reads = fwd.macs // 10, fwd.memory_reads // 10

    def mcu(macs: int, acts: int, accesses: int) -> float:  # 3 cycles/op, 1/access, 24/call
        return (3 * (macs + acts) + accesses + 24) * cycle

    delta_mcu = mcu(cheap_macs + learn.macs, fwd.activations + learn.activations,
                    cheap_reads + fwd.memory_writes + learn.memory_accesses) / 1
    ratio = rep["ratio_vs_dnn"]
    assert (ratio["dnn"]["controller"], ratio["dnn"]["profile"]) == ("mlp-delta",
                                                                      "mcu-cortex-m4")
    assert ratio["dnn"]["dynamic_j_per_inference"] == pytest.approx(delta_mcu)
    assert ratio["score_threshold_m"] == pytest.approx(0.011)
    assert set(ratio["by_profile"]) == set(NEURO)
    loihi = _snn_j(3.5e-12, 23.6e-12, 81e-12, 52e-12, 120e-12)
    analog = _snn_j(22e-12, 5e-12, 1e-12, 0.0, 25e-12)
    spinn = _snn_j(3.5e-12, 10e-12, 2.19e-9, 2.19e-9, 120e-12)
    for prof, j in (("loihi", loihi), ("neurofit-analog", analog), ("spinnaker2", spinn)):
        assert ratio["by_profile"][prof]["value"] == pytest.approx(delta_mcu / j), prof
    assert ratio["value"] == ratio["by_profile"]["loihi"]["value"]
    # the delta twin misses the score: the dense MLP on the MCU becomes the reference
    rep = _report(dense_rms=0.0105, delta_rms=0.0111)
    d = rep["ratio_vs_dnn"]["dnn"]
    assert (d["controller"], d["profile"]) == ("mlp", "mcu-cortex-m4")
    assert d["dynamic_j_per_inference"] == pytest.approx(
        mcu(fwd.macs + learn.macs, fwd.activations + learn.activations,
            fwd.memory_accesses + learn.memory_accesses))
    # no DNN holds the score: no ratio
    assert _report(dense_rms=0.02, delta_rms=0.02)["ratio_vs_dnn"] is None


def test_break_even_figures_solve_the_tie_and_the_10x() -> None:
    rep = _report(dense_rms=0.0105, delta_rms=0.0109)
    ratio = rep["ratio_vs_dnn"]
    dnn_j = ratio["dnn"]["dynamic_j_per_inference"]
    syn = SNN_OPS.synaptic_events / TICKS
    # loihi, by hand: J(E) = rest + syn * E with rest the bill without synaptic events
    rest = _snn_j(3.5e-12, 0.0, 81e-12, 52e-12, 120e-12)
    be = ratio["by_profile"]["loihi"]["break_even_j_per_synaptic_event"]
    for key, factor in (("tie", 1.0), ("10x", 10.0)):
        hand = (dnn_j / factor - rest) / syn
        if hand < 0:
            assert be[key] is None
        else:
            assert be[key] == pytest.approx(hand)
    # neurofit-analog: re-price the SNN with the break-even figure: the ratio is 1 and 10
    snn = _m("nf", "snn", Usage("snn", TICKS, SNN_OPS), 0.010)
    analog = get_profile("neurofit-analog")
    be = ratio["by_profile"]["neurofit-analog"]["break_even_j_per_synaptic_event"]
    for key, factor in (("tie", 1.0), ("10x", 10.0)):
        assert be[key] is not None and be[key] > 0
        chip = dataclasses.replace(analog, joules_per_synaptic_event=be[key])
        row = price(snn, chip)
        assert row is not None
        assert dnn_j / row["dynamic_j_per_inference"] == pytest.approx(factor)
    # a time-stepped profile also gives the figure per neuron update, every update at one price
    be_n = ratio["by_profile"]["spinnaker2"]["break_even_j_per_neuron_update"]
    assert "break_even_j_per_neuron_update" not in ratio["by_profile"]["neurofit-analog"]
    rest_n = _snn_j(3.5e-12, 10e-12, 0.0, 0.0, 120e-12)
    n = SNN_OPS.neuron_updates / TICKS
    for key, factor in (("tie", 1.0), ("10x", 10.0)):
        hand = (dnn_j / factor - rest_n) / n
        assert (be_n[key] is None) if hand < 0 else be_n[key] == pytest.approx(hand)


def test_break_even_not_reachable_is_none() -> None:
    row = {"dynamic_parts_j": {"synaptic_j": 1e-9, "neuron_j": 5e-9},
           "synaptic_events_per_inference": 100.0, "dynamic_j_per_inference": 8e-9,
           "neuron_updates_charged": "dense", "neuron_updates_per_inference": 10.0}
    # rest without synapses = 7 nJ: a DNN at 10 nJ can be tied (E = 30 pJ) but not beaten 10x
    be = break_even(row, 10e-9, "synaptic_event")
    assert be is not None and be["tie"] == pytest.approx(30e-12) and be["10x"] is None
    assert be["current_j"] == pytest.approx(10e-12)
    assert break_even({**row, "synaptic_events_per_inference": 0.0}, 10e-9,
                      "synaptic_event") is None
    with pytest.raises(ValueError, match="figure must be"):
        break_even(row, 1e-9, "spike")
