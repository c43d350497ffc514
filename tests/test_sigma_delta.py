"""The sigma-delta network: kernel against a plain NumPy reference, the taxi's properties, and
exact counters recounted from what the network sent."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurofit.neuromorphic.analog import AnalogProfile
from neurofit.neuromorphic.sigma_delta import SigmaDeltaNetwork


class Reference:
    """The module docstring's rules, written plainly with NumPy (ideal chip)."""

    def __init__(self, net: SigmaDeltaNetwork) -> None:
        self.net = net
        self.w = np.zeros((net.n_hidden, net.n_outputs))
        self.b = np.zeros(net.n_outputs)
        self.x_hat = np.zeros(net.n_inputs)
        self.h_hat = np.zeros(net.n_hidden)
        self.u = np.zeros(net.n_outputs)
        self.y = np.zeros(net.n_outputs)
        self.first = True
        self.counts = np.zeros(5, dtype=np.int64)

    def tick(self, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        net = self.net
        norm = float(np.sqrt(m @ m))
        weights_learn = norm >= net.weight_gate
        if np.any(m != 0):  # the bias: its share, or the whole rate below the gate
            rate = net.learning_rate * (net.bias_share if weights_learn else 1.0)
            self.b += rate * m
            self.u += rate * m
            self.counts[3] += net.n_outputs
        if np.any(m != 0) and weights_learn:
            held = self.h_hat != 0
            dw = net.eta * np.outer(self.h_hat[held], m)
            new = np.clip(self.w[held] + dw, -net.weight_bound, net.weight_bound)
            self.u += ((new - self.w[held]) * self.h_hat[held][:, None]).sum(axis=0)
            self.w[held] = new
            self.counts[3] += held.sum() * net.n_outputs
        touched = bool(np.any(m != 0))
        for i in range(net.n_inputs):
            if not self.first and abs(x[i] - self.x_hat[i]) < net.input_quantum[i]:
                continue
            self.x_hat[i] = x[i]
            per = net.n_per_dim
            self.counts[[1, 2, 4]] += (1, per, per)
            ks = slice(i * per, (i + 1) * per)
            shape = np.exp(-(x[i] - net.centres) ** 2 * net.inv_two_sigma2)
            if net.linear_inputs:
                shape = np.r_[shape, x[i]]
            a = net.gain[ks] * shape
            a[np.abs(a) < net.threshold[ks]] = 0.0
            delta = a - self.h_hat[ks]
            send = np.abs(delta) >= net.threshold[ks]
            for k in np.flatnonzero(send) + i * per:
                d = a[k - i * per] - self.h_hat[k]
                self.h_hat[k] += d
                self.u += self.w[k] * d
                self.counts[[1, 2]] += (1, net.n_outputs)
                touched = True
        self.first = False
        if touched:
            self.counts[4] += net.n_outputs
            send = np.abs(self.u - self.y) >= net.output_quantum
            self.y[send] = self.u[send]
            self.counts[[1, 2]] += send.sum()
        self.counts[0] += net.n_hidden + net.n_outputs
        return self.y


def _net(**kw) -> SigmaDeltaNetwork:
    args = {"n_per_input": 12, "input_width": 2.0, "input_quantum": 0.05,
            "hidden_threshold": 0.02, "output_quantum": 1e-3, "learning_rate": 0.3,
            "weight_bound": 0.5, "bias_share": 0.3, "weight_gate": 0.4}
    return SigmaDeltaNetwork(3, 2, **{**args, **kw})


@pytest.mark.parametrize("kw", [{}, {"linear_inputs": True},
                                {"linear_inputs": True, "n_per_input": 0}])
def test_kernel_matches_numpy_reference(kw: dict) -> None:
    net = _net(**kw)
    ref = Reference(net)
    rng = np.random.default_rng(1)
    x = np.zeros(3)
    for t in range(300):
        x = np.clip(x + rng.normal(0, 0.04, 3), -1, 1)  # a random walk: some ticks send nothing
        m = rng.normal(0, 0.5, 2) if t % 3 else np.zeros(2)
        net.modulator[:] = m
        y = net.tick(x.copy())
        y_ref = ref.tick(x, m)
        np.testing.assert_allclose(y, y_ref, rtol=0, atol=1e-12)
        np.testing.assert_allclose(net.weights, ref.w, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(net.counters, ref.counts)
    # the integrated output state is the bias plus the weighted sum the hidden units hold
    np.testing.assert_allclose(net.u, net.bias + net.h_sent @ net.weights, atol=1e-9)
    assert 0 < ref.counts[3] < 300 * (net.n_outputs * (1 + net.n_hidden))  # the gate closed


def test_steady_input_costs_nothing_after_the_first_tick() -> None:
    net = _net()
    x = np.array([0.3, -0.2, 0.7])
    net.tick(x.copy())
    before = net.counters.copy()
    for _ in range(50):
        net.tick(x.copy())
    delta = net.counters - before
    assert delta[0] == 50 * net.n_units  # a time-stepped chip still pays every unit
    assert delta[1] == delta[2] == delta[3] == delta[4] == 0  # the taxi pays nothing


def test_a_change_below_the_quantum_sends_nothing_and_one_above_sends() -> None:
    net = _net(input_quantum=0.1)
    net.tick(np.zeros(3))
    before = net.counters.copy()
    net.tick(np.array([0.099, 0.0, 0.0]))
    assert net.counters[1] == before[1]
    net.tick(np.array([0.1, 0.0, 0.0]))
    assert net.counters[1] > before[1]  # one input event (and the hidden units it moves)


def test_below_the_gate_only_the_bias_learns() -> None:
    net = _net(weight_gate=1.0)
    for _ in range(20):
        net.modulator[:] = (0.3, -0.2)  # norm 0.36 < 1
        net.tick(np.array([0.1, 0.2, 0.3]))
    assert not net.weights.any()
    np.testing.assert_allclose(net.bias, 20 * net.learning_rate * np.array([0.3, -0.2]))
    np.testing.assert_allclose(net.y, net.bias, atol=net.output_quantum)


def test_zero_modulator_writes_nothing() -> None:
    net = _net()
    rng = np.random.default_rng(0)
    for _ in range(40):
        net.tick(rng.uniform(-1, 1, 3))
    assert net.counters[3] == 0 and not net.weights.any()


def test_spike_counter_recounted_from_what_was_sent() -> None:
    """Spikes = input events (recounted from the held inputs changing) + the units listed as
    having sent; synaptic events = their fan-outs."""
    net = _net()
    rng = np.random.default_rng(3)
    spikes = syn = 0
    x_prev = net.x_sent.copy()
    for t in range(200):
        net.modulator[:] = rng.normal(0, 0.3, 2)
        net.tick(np.clip(rng.normal(0, 0.4, 3), -1, 1))
        inputs_sent = int(np.sum(net.x_sent != x_prev)) if t else net.n_inputs
        x_prev = net.x_sent.copy()
        units = net.sent_units()
        hidden = int(np.sum(units < net.n_hidden))
        outputs = units.size - hidden
        spikes += inputs_sent + units.size
        syn += inputs_sent * net.n_per_dim + hidden * net.n_outputs + outputs
    assert net.counters[1] == spikes
    assert net.counters[2] == syn


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1.2, 1.2), min_size=3, max_size=60),
       st.floats(0.001, 0.5))
def test_effective_never_exceeds_dense(values: list[float], quantum: float) -> None:
    net = _net(input_quantum=quantum)
    for k in range(0, len(values) - 2, 3):
        net.modulator[:] = values[k] * 0.1
        net.tick(np.array(values[k:k + 3]))
        assert 0 <= net.counters[4] <= net.counters[0]


def test_analog_runs_are_seeded_and_differ_from_ideal() -> None:
    analog = AnalogProfile(weight_bits=4, stochastic_rounding=True, gain_mismatch=0.2,
                           threshold_mismatch=0.2, read_noise=0.1)

    def run(a: AnalogProfile | None, seed: int) -> np.ndarray:
        net = _net(analog=a, seed=seed)
        rng = np.random.default_rng(0)
        for _ in range(100):
            net.modulator[:] = rng.normal(0, 0.3, 2)
            net.tick(rng.uniform(-1, 1, 3))
        return net.weights.copy()

    w = run(analog, 5)
    np.testing.assert_array_equal(w, run(analog, 5))
    assert not np.array_equal(w, run(analog, 6))
    assert not np.array_equal(w, run(None, 5))
    levels = np.unique(w)  # 4-bit weights take at most 16 levels
    assert levels.size <= 16


def test_state_round_trip_continues_bit_for_bit() -> None:
    a, b = _net(), _net()
    rng = np.random.default_rng(2)
    for _ in range(30):
        a.modulator[:] = rng.normal(0, 0.3, 2)
        a.tick(rng.uniform(-1, 1, 3))
    b.set_state(a.get_state())
    for _ in range(30):
        m, x = rng.normal(0, 0.3, 2), rng.uniform(-1, 1, 3)
        a.modulator[:] = m
        b.modulator[:] = m
        np.testing.assert_array_equal(a.tick(x.copy()), b.tick(x.copy()))


@pytest.mark.parametrize("kw, field", [
    ({"input_quantum": 0.0}, "input_quantum"), ({"hidden_threshold": -1.0}, "hidden_threshold"),
    ({"n_per_input": 1}, "n_per_input"), ({"output_quantum": float("nan")}, "output_quantum"),
])
def test_bad_settings_name_the_field(kw: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        _net(**kw)
