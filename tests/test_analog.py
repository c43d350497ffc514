"""The analog profile: seeded replay, limited weight precision on the learning task, mismatch
spread, read noise (spikes change, event counts stay exact), drift, and bad settings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurofit.neuromorphic import _kernels as K
from neurofit.neuromorphic.analog import AnalogProfile
from neurofit.neuromorphic.connectivity import AllToAll, FixedProbability
from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import LIFParams
from neurofit.neuromorphic.plasticity import pes
from neurofit.scripts.bench.function_learning import FunctionLearner, rmse

DT = 1e-4
PARAMS = LIFParams(tau_mem_s=0.01, tau_syn_exc_s=0.005, tau_syn_inh_s=0.005, v_rest=-0.065,
                   v_reset=-0.065, v_thresh=-0.050, refractory_s=0.002)
ROUGH = AnalogProfile(weight_bits=6, stochastic_rounding=True, gain_mismatch=0.1,
                      threshold_mismatch=0.1, read_noise=0.1, drift_per_sqrt_s=0.01)


def neuron_params(net: Network, population: str) -> tuple[np.ndarray, np.ndarray]:
    """A population's gains and thresholds as the kernel sees them (no public accessor)."""
    sl = net.population(population).slice
    return net._nparam[K.N_GAIN, sl].astype(float), net._nparam[K.N_V_THRESH, sl].astype(float)


def learning_net(seed: int, analog: AnalogProfile) -> Network:
    """Poisson input → LIF hidden → plastic (PES) → LIF out, everything recorded."""
    net = Network(dt_s=DT, seed=seed, tick_steps=10, analog=analog)
    net.add_poisson("in", 40, rate_hz=50.0, record=True)
    net.add_lif("hidden", 30, PARAMS, bias_v=0.012, v_init=(-0.065, -0.05), record=True)
    net.add_lif("out", 10, PARAMS, bias_v=0.013, record=True)
    net.connect("in", "hidden", FixedProbability(0.3), 0.004)
    net.connect("hidden", "out", AllToAll(), 0.001, name="learned")
    net.set_plasticity("learned", pes(1e-3, w_min=-0.005, w_max=0.005))
    net.build()
    return net


def run_learning(net: Network, ticks: int = 300) -> dict[str, np.ndarray]:
    modulator = net.modulator_view("out")
    out = net.population("out").slice
    for k in range(ticks):
        counts = net.step(10)
        modulator[:] = np.sin(0.05 * k) - 0.1 * counts[out]  # any deterministic feedback
    spikes = {p: np.concatenate(net.spikes(p)) for p in ("in", "hidden", "out")}
    return {"weights": net.weights("learned").copy(), **spikes}


# ----------------------------------------------------------------------------- replay
def test_same_seed_replays_an_analog_learning_run_bit_for_bit() -> None:
    a = run_learning(learning_net(3, ROUGH))
    b = run_learning(learning_net(3, ROUGH))
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    c = run_learning(learning_net(4, ROUGH))
    assert not np.array_equal(a["weights"], c["weights"])
    assert not np.array_equal(a["out"], c["out"])
    assert net_changed_weights(a["weights"])


def net_changed_weights(weights: np.ndarray) -> bool:
    return bool(np.unique(weights).size > 1)


# ----------------------------------------------------------------------------- precision
def test_8_bit_weights_learn_within_10_percent_of_float() -> None:
    """The function-learning task (PES, 10 s): 8-bit weights with stochastic rounding end
    within 10% of float weights' frozen RMSE (and both far below the untrained network)."""
    results = {}
    for bits in (None, 8):
        analog = AnalogProfile(weight_bits=bits, stochastic_rounding=bits is not None)
        learner = FunctionLearner(seed=0, analog=analog)
        learner.run(10.0)
        results[bits] = rmse(learner.run(2.0, learn=False))
        if bits:
            w = learner.net.weights("learned")
            assert np.unique(w).size <= 256
    untrained = rmse(FunctionLearner(seed=0).run(2.0, learn=False))
    assert results[8] <= 1.10 * results[None], results
    assert results[None] < 0.2 * untrained, (results, untrained)


# ----------------------------------------------------------------------------- mismatch
@pytest.mark.parametrize(("sigma_gain", "sigma_thresh"), [(0.1, 0.0), (0.0, 0.2), (0.05, 0.15)])
def test_mismatch_spreads_gains_and_thresholds_by_sigma(sigma_gain: float,
                                                        sigma_thresh: float) -> None:
    n = 20_000
    nominal_gain = np.linspace(0.5, 2.0, n)

    def build(analog: AnalogProfile | None) -> Network:
        net = Network(dt_s=DT, seed=7, analog=analog)
        net.add_poisson("src", 5, rate_hz=10.0)
        net.add_lif("pop", n, PARAMS, gain=nominal_gain)
        net.build()
        return net

    gain0, thresh0 = neuron_params(build(None), "pop")
    np.testing.assert_array_equal(gain0, np.float32(nominal_gain))
    np.testing.assert_array_equal(thresh0, np.float32(PARAMS.v_thresh))
    net = build(AnalogProfile(gain_mismatch=sigma_gain, threshold_mismatch=sigma_thresh))
    gain, thresh = neuron_params(net, "pop")
    gain_factor = gain / nominal_gain
    distance_factor = (thresh - PARAMS.v_rest) / (PARAMS.v_thresh - PARAMS.v_rest)
    for factor, sigma in ((gain_factor, sigma_gain), (distance_factor, sigma_thresh)):
        assert np.mean(factor) == pytest.approx(1.0, abs=4 * sigma / math.sqrt(n) + 1e-6)
        assert np.std(factor) == pytest.approx(sigma, rel=0.05, abs=1e-6)
    # the same seed draws the same pattern: mismatch is fixed, not noise
    gain_again, thresh_again = neuron_params(
        build(AnalogProfile(gain_mismatch=sigma_gain, threshold_mismatch=sigma_thresh)), "pop")
    np.testing.assert_array_equal(gain, gain_again)
    np.testing.assert_array_equal(thresh, thresh_again)


def test_mismatch_changes_firing() -> None:
    def rates(analog: AnalogProfile | None) -> np.ndarray:
        net = Network(dt_s=DT, seed=1, analog=analog)
        net.add_lif("pop", 200, PARAMS)
        net.set_input("pop", 0.02)
        return net.step(5000).astype(float)

    ideal = rates(None)
    assert np.ptp(ideal) <= 1  # identical neurons, identical input
    varied = rates(AnalogProfile(gain_mismatch=0.1, threshold_mismatch=0.1))
    assert np.std(varied) > 5 * max(np.std(ideal), 0.2)


# ----------------------------------------------------------------------------- read noise
def test_read_noise_changes_spikes_but_event_counts_stay_exact() -> None:
    rng = np.random.default_rng(0)
    n_pre, n_post, duration = 30, 20, 0.5
    times = rng.uniform(0, duration, 600)
    idx = rng.integers(0, n_pre, 600)

    def run(read_noise: float) -> tuple[Network, np.ndarray, np.ndarray]:
        net = Network(dt_s=DT, seed=2, analog=AnalogProfile(read_noise=read_noise))
        net.add_spike_source("pre", n_pre, times, idx, record=True)
        net.add_lif("post", n_post, PARAMS, bias_v=0.012, record=True)
        net.connect("pre", "post", FixedProbability(0.4), 0.006, name="syn")
        net.run(duration)
        return net, net.spikes("pre")[1], np.stack(net.spikes("post"))

    clean, pre_clean, post_clean = run(0.0)
    noisy, pre_noisy, post_noisy = run(0.3)
    np.testing.assert_array_equal(pre_clean, pre_noisy)  # same input spikes
    assert post_clean.shape != post_noisy.shape or not np.array_equal(post_clean, post_noisy)
    pre_of_synapse = clean.synapses("syn")[0]
    fan_out = np.bincount(pre_of_synapse, minlength=n_pre)
    expected = int(fan_out[pre_clean].sum())
    for net in (clean, noisy):
        assert net.projection_counts("syn").synaptic_events == expected
        assert net.counts().spikes == pre_clean.size + net.spikes("post")[0].size


# ----------------------------------------------------------------------------- drift
def test_drift_moves_weights_within_bounds_on_the_grid_without_counting_updates() -> None:
    # stochastic rounding: deterministic rounding would swallow a drift below half a level
    net = Network(dt_s=DT, seed=0, tick_steps=10, analog=AnalogProfile(
        weight_bits=4, stochastic_rounding=True, drift_per_sqrt_s=0.05))
    net.add_lif("a", 10, PARAMS)
    net.add_lif("b", 10, PARAMS)
    net.connect("a", "b", AllToAll(), 0.0, name="w")
    net.set_plasticity("w", pes(1e-3, w_min=-0.01, w_max=0.01))
    net.build()
    before = net.weights("w").copy()
    net.run(0.5)  # no modulator: plasticity writes nothing
    w = net.weights("w")
    assert not np.array_equal(w, before)
    assert np.all(np.abs(w) <= np.float32(0.01))
    grid = np.float32(np.minimum(-0.01 + np.arange(16) * (0.02 / 15), 0.01))
    assert np.isin(w, grid).all()
    assert net.counts().weight_updates == 0


# ----------------------------------------------------------------------------- bad settings
@pytest.mark.parametrize(("kwargs", "field"), [
    ({"weight_bits": 0}, "weight_bits"),
    ({"weight_bits": 25}, "weight_bits"),
    ({"gain_mismatch": -0.1}, "gain_mismatch"),
    ({"threshold_mismatch": -0.1}, "threshold_mismatch"),
    ({"read_noise": -0.01}, "read_noise"),
    ({"drift_per_sqrt_s": -1e-3}, "drift_per_sqrt_s"),
    ({"gain_mismatch": math.nan}, "gain_mismatch"),
])
def test_bad_analog_settings_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        AnalogProfile(**kwargs)


def test_ideal_profile_and_network_check() -> None:
    assert AnalogProfile().is_ideal
    assert not AnalogProfile(read_noise=0.01).is_ideal
    with pytest.raises(ValueError, match="analog"):
        Network(analog={"read_noise": 0.1})  # type: ignore[arg-type]
