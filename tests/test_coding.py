"""Coding: encoder shapes, Gaussian receptive fields, NEF tuning against the analytic LIF rate
and the engine, least-squares decoders, and the rate decoder's filter."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurofit.neuromorphic.coding import (
    GaussianPopulationEncoder,
    NEFEncoder,
    RateDecoder,
    SignedEncoder,
    fit_decoders,
    lif_rate,
)
from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import LIFParams

PARAMS = LIFParams(tau_mem_s=0.01, tau_syn_exc_s=0.005, tau_syn_inh_s=0.005, v_rest=-0.065,
                   v_reset=-0.065, v_thresh=-0.050, refractory_s=0.002)


# ----------------------------------------------------------------------------- shapes
def test_encoder_shapes_and_out_arrays() -> None:
    g = GaussianPopulationEncoder(3, 7)
    assert g.n_neurons == 21 and g.encode(np.zeros(3)).shape == (21,)
    out = np.empty(21)
    assert g.encode(np.array([0.1, -0.2, 0.3]), out=out) is out
    s = SignedEncoder(4)
    assert s.n_neurons == 8 and s.encode(np.zeros(4)).shape == (8,)
    nef = NEFEncoder(50, 2, PARAMS)
    assert nef.encoders.shape == (50, 2) and nef.gain.shape == nef.bias_v.shape == (50,)
    np.testing.assert_allclose(np.linalg.norm(nef.encoders, axis=1), 1.0)
    assert nef.project(np.array([0.3, 0.4])).shape == (50,)
    assert nef.rates(np.zeros((11, 2)), PARAMS).shape == (11, 50)


@pytest.mark.parametrize("encoder", [GaussianPopulationEncoder(2), SignedEncoder(2),
                                     NEFEncoder(10, 2, PARAMS)], ids=["gaussian", "signed", "nef"])
def test_encoders_reject_wrong_input(encoder: object) -> None:
    fn = encoder.project if isinstance(encoder, NEFEncoder) else encoder.encode  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="input"):
        fn(np.zeros(3))
    with pytest.raises(ValueError, match="input"):
        fn(np.array([0.0, math.nan]))


def _rate_by_hand_hz(p: LIFParams, drive_v: float) -> float:
    """Steady LIF rate for a constant drive above v_rest: 1 / (t_ref + tau ln((V∞ - V_reset) /
    (V∞ - V_th))), V∞ = v_rest + drive; 0 if V∞ never reaches threshold."""
    v_inf = p.v_rest + drive_v
    if v_inf <= p.v_thresh:
        return 0.0
    return 1.0 / (p.refractory_s + p.tau_mem_s * math.log((v_inf - p.v_reset)
                                                           / (v_inf - p.v_thresh)))


def _check_tuning(nef: NEFEncoder, p: LIFParams, rates: tuple[float, float],
                  cuts: tuple[float, float]) -> None:
    """Each neuron starts firing at x·e = its intercept (drive = threshold there) and fires at a
    rate in ``rates`` at x·e = 1, both by hand; encoders are unit vectors."""
    np.testing.assert_allclose(np.linalg.norm(nef.encoders, axis=1), 1.0)
    intercepts = (p.v_thresh - p.v_rest - nef.bias_v) / nef.gain
    assert np.all((intercepts >= cuts[0] - 1e-9) & (intercepts <= cuts[1] + 1e-9))
    assert np.ptp(intercepts) > 0.1  # drawn, not all equal
    for b, g, c in zip(nef.bias_v, nef.gain, intercepts, strict=True):
        assert rates[0] - 1e-6 <= _rate_by_hand_hz(p, b + g) <= rates[1] + 1e-6
        assert _rate_by_hand_hz(p, b + g * (c - 1e-3)) == 0.0
        assert _rate_by_hand_hz(p, b + g * (c + 1e-3)) > 0.0


def test_nef_encoder_builds_with_its_defaults() -> None:
    """Defaults: LIFParams(), max rates 80-160 Hz, intercepts in (-0.9, 0.9)."""
    _check_tuning(NEFEncoder(10, 1), LIFParams(), (80.0, 160.0), (-0.9, 0.9))


def test_nef_encoder_accepts_zero_refractory() -> None:
    params = LIFParams(tau_mem_s=0.01, v_rest=-0.065, v_reset=-0.065, refractory_s=0.0)
    nef = NEFEncoder(10, 1, params, max_rates_hz=(100.0, 200.0))
    _check_tuning(nef, params, (100.0, 200.0), (-0.9, 0.9))


def test_signed_encoder_splits_sign() -> None:
    currents = SignedEncoder(2, gain_v=0.01).encode(np.array([0.5, -2.0]))
    np.testing.assert_allclose(currents, [0.005, 0.0, 0.0, 0.02])


# ----------------------------------------------------------------------------- Gaussian fields
@pytest.mark.parametrize("width", [0.5, 1.0, 3.0])
def test_gaussian_fields_peak_at_their_centres(width: float) -> None:
    enc = GaussianPopulationEncoder(2, 9, low=-2.0, high=2.0, max_drive_v=0.03, width=width)
    np.testing.assert_allclose(enc.centres, np.linspace(-2, 2, 9))
    for k, c in enumerate(enc.centres):
        currents = enc.encode(np.array([c, -c])).reshape(2, 9)
        assert currents[0].argmax() == k and currents[1].argmax() == 8 - k
        assert currents[0, k] == pytest.approx(0.03) and currents[1, 8 - k] == pytest.approx(0.03)
    # one centre spacing away the drive is exp(−1 / (2 width²)) of the peak
    currents = enc.encode(np.array([0.0, 0.0])).reshape(2, 9)
    assert currents[0, 5] / currents[0, 4] == pytest.approx(math.exp(-0.5 / width**2))


# ----------------------------------------------------------------------------- NEF tuning
def test_nef_rates_start_at_intercept_and_reach_max_rate() -> None:
    """With one intercept and one max rate for all neurons: 0 Hz at and below ``x·e =
    intercept``, firing just above, exactly ``max_rate`` at ``x·e = 1`` (analytic LIF rate)."""
    nef = NEFEncoder(40, 3, PARAMS, max_rates_hz=(150.0, 150.0), intercepts=(0.3, 0.3), rng=4)
    threshold = PARAMS.v_thresh - PARAMS.v_rest
    for along, expected in ((1.0, 150.0), (0.3, 0.0), (-0.5, 0.0)):
        drive = nef.bias_v + nef.gain * along  # the drive when x·e_i = along, neuron by neuron
        np.testing.assert_allclose(lif_rate(PARAMS, drive), expected, atol=1e-6)
    assert np.all(lif_rate(PARAMS, nef.bias_v + nef.gain * 0.31) > 0)
    # rates() agrees: each neuron at x = its own encoder
    rates = nef.rates(nef.encoders, PARAMS)
    np.testing.assert_allclose(np.diag(rates), 150.0, rtol=1e-9)
    np.testing.assert_allclose(nef.bias_v + nef.gain * 0.3, threshold)


def test_nef_random_tuning_stays_in_its_ranges() -> None:
    nef = NEFEncoder(200, 1, PARAMS, max_rates_hz=(100.0, 200.0), intercepts=(-0.9, 0.9), rng=0)
    threshold = PARAMS.v_thresh - PARAMS.v_rest
    intercepts = (threshold - nef.bias_v) / nef.gain
    assert intercepts.min() >= -0.9 - 1e-9 and intercepts.max() <= 0.9 + 1e-9
    max_rates = lif_rate(PARAMS, nef.bias_v + nef.gain)
    assert max_rates.min() >= 100.0 - 1e-6 and max_rates.max() <= 200.0 + 1e-6


def test_nef_population_in_the_engine_fires_at_the_analytic_rate() -> None:
    nef = NEFEncoder(30, 1, PARAMS, rng=1)
    net = Network(dt_s=1e-4, seed=0)
    net.add_lif("ens", 30, PARAMS, gain=nef.gain, bias_v=nef.bias_v)
    x = np.array([0.6])
    net.set_input("ens", nef.project(x))
    duration = 2.0
    counts = net.step(round(duration / 1e-4)).astype(float)
    expected = nef.rates(x[None, :], PARAMS)[0]
    # discrete time delays each threshold crossing by < one step: rates a few % low at most
    np.testing.assert_allclose(counts / duration, expected, rtol=0.05, atol=1.0)
    assert np.all(counts[expected == 0] == 0)


def test_lif_rate_matches_steady_isi() -> None:
    for drive in (0.0149, 0.016, 0.03, 0.1):
        isi = PARAMS.steady_isi_s(drive)
        rate = float(lif_rate(PARAMS, np.array([drive]))[0])
        assert rate == (0.0 if math.isinf(isi) else pytest.approx(1.0 / isi))


# ----------------------------------------------------------------------------- decoders
def test_fit_decoders_reproduce_a_linear_function() -> None:
    nef = NEFEncoder(100, 1, PARAMS, rng=2)
    x = np.linspace(-1, 1, 101)[:, None]
    rates = nef.rates(x, PARAMS)
    targets = np.hstack([2.0 * x - 0.5, -x])
    decoders = fit_decoders(rates, targets)
    assert decoders.shape == (100, 2)
    rmse = np.sqrt(np.mean((rates @ decoders - targets) ** 2, axis=0))
    assert np.all(rmse < 0.02), rmse
    with pytest.raises(ValueError, match="reg"):
        fit_decoders(rates, targets, reg=-1.0)
    with pytest.raises(ValueError, match="rates"):
        fit_decoders(np.full_like(rates, math.nan), targets)


def test_rate_decoder_converges_to_a_regular_trains_rate() -> None:
    """One spike every 4 ticks of 1 ms is 250 Hz: the filtered rate's mean over a period
    converges to it, and the output is rates @ decoders."""
    decoders = np.array([[1.0, -2.0], [0.5, 0.0]])
    dec = RateDecoder(decoders, tau_s=0.02, tick_s=1e-3)
    counts = np.zeros(2)
    history = []
    for k in range(600):
        counts[0] = 1.0 if k % 4 == 0 else 0.0
        counts[1] = 2.0  # 2 spikes per tick: 2,000 Hz
        out = dec.update(counts)
        history.append(dec.rates[0])
    assert np.mean(history[-4:]) == pytest.approx(250.0, rel=1e-3)
    assert dec.rates[1] == pytest.approx(2000.0, rel=1e-6)
    np.testing.assert_allclose(out, dec.rates @ decoders)
    # first-order filter: after one time constant from rest, 1 − 1/e of the way
    dec.reset()
    assert np.all(dec.rates == 0) and np.all(dec.output == 0)
    for _ in range(20):
        dec.update(np.array([1.0, 0.0]))
    assert dec.rates[0] == pytest.approx(1000.0 * (1 - math.exp(-1.0)), rel=1e-9)


def test_rate_decoder_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="tau_s"):
        RateDecoder(np.ones((2, 1)), tau_s=0.0, tick_s=1e-3)
    with pytest.raises(ValueError, match="tick_s"):
        RateDecoder(np.ones((2, 1)), tau_s=0.01, tick_s=-1.0)
    with pytest.raises(ValueError, match="decoders"):
        RateDecoder(np.ones(2), tau_s=0.01, tick_s=1e-3)
