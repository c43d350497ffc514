"""Neuron models: LIF f-I curve and adaptive-LIF steady state against analytic results.

Under a constant drive the engine's interspike interval is quantised: a neuron that spiked at
step ``n`` holds ``v`` for ``R - 1`` steps (``R = round(t_ref / dt)``) and then needs ``k``
integration steps to cross threshold again, so its ISI is ``(R - 1 + k) dt``, which lies in
``[T - dt, T)`` for the continuous-time ISI ``T``. The tests check both: the exact step count,
and the rate against :meth:`LIFParams.steady_isi_s` within 1% (``dt`` = 10 us, so ``dt / T``
stays below 0.2%).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import AdaptiveLIFParams, LIFParams

TONIC = LIFParams(tau_mem_s=0.020, tau_syn_exc_s=0.005, tau_syn_inh_s=0.010, v_rest=-0.065,
                  v_reset=-0.065, v_thresh=-0.050, refractory_s=0.002)
DRIVES_V = np.array([0.016, 0.020, 0.030, 0.050, 0.100])  # threshold is 15 mV above rest


def _spike_trains(net: Network, name: str, n: int) -> list[np.ndarray]:
    steps, idx = net.spikes(name)
    return [steps[idx == i] for i in range(n)]


def _integration_steps_to_threshold(p: LIFParams, drive_v: float, dt: float) -> int:
    """Steps of the exact update ``v <- v_inf + (v - v_inf) exp(-dt / tau)`` from reset to spike."""
    v_inf, a = p.v_rest + drive_v, math.exp(-dt / p.tau_mem_s)
    v, k = p.v_reset, 0
    while True:
        v = v_inf + (v - v_inf) * a
        k += 1
        if v > p.v_thresh:
            return k


def test_lif_f_i_curve_matches_steady_isi() -> None:
    dt = 1e-5
    net = Network(dt_s=dt, seed=0, dtype=np.float64)
    net.add_lif("lif", DRIVES_V.size, TONIC, v_init=TONIC.v_reset, bias_v=DRIVES_V, record=True)
    net.run(0.2)
    hold = round(TONIC.refractory_s / dt) - 1
    for drive, train in zip(DRIVES_V, _spike_trains(net, "lif", DRIVES_V.size), strict=True):
        assert train.size >= 3, f"drive {drive} V fired {train.size} times"
        k = _integration_steps_to_threshold(TONIC, drive, dt)
        # exact, quantised: first spike after k steps from reset, then every hold + k steps
        assert train[0] == k - 1
        np.testing.assert_array_equal(np.diff(train), hold + k)
        analytic_isi = TONIC.steady_isi_s(drive)
        isi = np.diff(train).mean() * dt
        assert analytic_isi - dt <= isi < analytic_isi
        assert abs(1 / isi - 1 / analytic_isi) * analytic_isi <= 0.01


def test_lif_below_threshold_never_fires() -> None:
    drives = np.array([0.0, 0.010, 0.015])  # v_inf below, and exactly at, threshold
    assert all(math.isinf(TONIC.steady_isi_s(d)) for d in drives)
    net = Network(dt_s=1e-4, seed=0, dtype=np.float64)
    net.add_lif("lif", drives.size, TONIC, bias_v=drives, record=True)
    net.run(0.5)
    assert net.spikes("lif")[0].size == 0


# ----------------------------------------------------------------------------- adaptive LIF
ADAPTIVE = AdaptiveLIFParams(
    tau_mem_s=0.020, tau_syn_exc_s=0.005, tau_syn_inh_s=0.010, v_rest=-0.065, v_reset=-0.065,
    v_thresh=-0.050, refractory_s=0.002, tau_adapt_s=0.100, adapt_increment_v=0.002,
)


def adaptive_steady_isi_s(p: AdaptiveLIFParams, drive_v: float) -> float:
    """The self-consistent steady ISI ``T`` of the adaptive LIF, by bisection.

    Just after a spike the threshold raise is ``theta_pre + delta``; it decays over ``T`` back to
    ``theta_pre``, so ``theta_pre = delta / (exp(T / tau_a) - 1)``. The membrane, held at
    ``v_reset`` for ``t_ref``, reaches the raised threshold exactly at ``T``::

        v_inf - (v_inf - v_reset) exp(-(T - t_ref) / tau_m) = v_thresh + theta_pre(T)

    The left side rises with ``T`` and the right side falls, so the root is unique.
    """
    v_inf = p.v_rest + drive_v

    def gap(t: float) -> float:
        v = v_inf - (v_inf - p.v_reset) * math.exp(-(t - p.refractory_s) / p.tau_mem_s)
        return v - p.v_thresh - p.adapt_increment_v / math.expm1(t / p.tau_adapt_s)

    low, high = p.refractory_s * (1 + 1e-12), 10.0
    assert gap(low) < 0 < gap(high)
    for _ in range(200):
        mid = 0.5 * (low + high)
        low, high = (mid, high) if gap(mid) < 0 else (low, mid)
    return 0.5 * (low + high)


def test_adaptive_lif_adapts_to_analytic_steady_state() -> None:
    dt, drives = 1e-4, np.array([0.020, 0.030, 0.050, 0.100])
    net = Network(dt_s=dt, seed=0, dtype=np.float64)
    net.add_lif("alif", drives.size, ADAPTIVE, v_init=ADAPTIVE.v_reset, bias_v=drives,
                record=True)
    net.run(1.5)  # 15 adaptation time constants
    for drive, train in zip(drives, _spike_trains(net, "alif", drives.size), strict=True):
        isi = np.diff(train) * dt
        assert isi.size > 20
        late = isi[-5:].mean()
        assert isi[0] < 0.8 * late  # the rate adapts down
        # the first spike, from reset with no raise yet, comes as a plain LIF's would
        charge_s = ADAPTIVE.steady_isi_s(drive) - ADAPTIVE.refractory_s
        assert charge_s <= (train[0] + 1) * dt < charge_s + dt
        expected = adaptive_steady_isi_s(ADAPTIVE, drive)
        assert late == pytest.approx(expected, rel=0.01)  # measured: within 0.2%
        assert np.ptp(np.diff(train)[-5:]) <= 1  # steady: the last intervals agree to a step


def test_adaptive_steady_isi_reduces_to_lif_without_adaptation() -> None:
    p = AdaptiveLIFParams(**{**ADAPTIVE.__dict__, "adapt_increment_v": 1e-15})
    assert adaptive_steady_isi_s(p, 0.03) == pytest.approx(p.steady_isi_s(0.03), rel=1e-6)


# ----------------------------------------------------------------------------- validation
@pytest.mark.parametrize("field", ["tau_mem_s", "tau_syn_exc_s", "tau_syn_inh_s"])
@pytest.mark.parametrize("value", [0.0, -0.01, math.nan, math.inf])
def test_time_constants_must_be_positive_and_finite(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        LIFParams(**{field: value})
    with pytest.raises(ValueError, match=field):
        AdaptiveLIFParams(**{field: value})


@pytest.mark.parametrize("value", [0.0, -0.1, math.nan])
def test_adaptation_time_constant_must_be_positive(value: float) -> None:
    with pytest.raises(ValueError, match="tau_adapt_s must be"):
        AdaptiveLIFParams(tau_adapt_s=value)


def test_other_parameter_checks() -> None:
    with pytest.raises(ValueError, match="v_reset must be below v_thresh"):
        LIFParams(v_reset=-0.05, v_thresh=-0.05)
    with pytest.raises(ValueError, match="v_reset must be below v_thresh"):
        LIFParams(v_reset=-0.04, v_thresh=-0.05)
    with pytest.raises(ValueError, match="v_rest must be a finite number"):
        LIFParams(v_rest=math.nan)
    with pytest.raises(ValueError, match="refractory_s must be >= 0"):
        LIFParams(refractory_s=-1e-3)
    with pytest.raises(ValueError, match="adapt_increment_v must be >= 0"):
        AdaptiveLIFParams(adapt_increment_v=-1e-3)
    LIFParams(refractory_s=0.0)  # no refractory period is allowed
