"""Coding between continuous signals and spikes.

Encoders turn a vector into input currents for a population (volts of drive, as the engine's
``set_input``/``input_view`` take them); decoders turn its spikes back into a vector.

- :class:`GaussianPopulationEncoder`: Gaussian receptive fields tiling each input dimension
  (population coding, as PopSAN; Tang et al., CoRL 2020);
- :class:`SignedEncoder`: on/off channel pairs for signed inputs;
- :class:`NEFEncoder`: random unit encoders with per-neuron gains and biases chosen from
  maximum rates and intercepts (the Neural Engineering Framework; Eliasmith & Anderson 2003);
- :class:`RateDecoder`: low-pass-filtered spike counts times a linear readout, with
  :func:`fit_decoders` for least-squares initial decoders from a tuning-curve sample.
"""

from __future__ import annotations

import math

import numpy as np

from neurofit.neuromorphic._checks import check_array_finite, check_positive
from neurofit.neuromorphic._jit import njit
from neurofit.neuromorphic.neurons import LIFParams


def _as_input(x: np.ndarray, n_dims: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (n_dims,):
        raise ValueError(f"input must have shape ({n_dims},), got {x.shape}")
    check_array_finite("input", x)
    return x


class GaussianPopulationEncoder:
    """``n_per_dim`` Gaussian receptive fields evenly spaced over ``[low, high]`` per dimension.

    Neuron ``k`` of dimension ``d`` receives ``max_drive_v · exp(-(x_d − c_k)² / (2 σ²))``
    with σ the spacing of the centres times ``width``.
    """

    def __init__(self, n_dims: int, n_per_dim: int = 10, low: float = -1.0, high: float = 1.0,
                 max_drive_v: float = 0.02, width: float = 1.0) -> None:
        if n_dims < 1 or n_per_dim < 2:
            raise ValueError(f"need n_dims >= 1 and n_per_dim >= 2, got {n_dims}, {n_per_dim}")
        if not high > low:
            raise ValueError(f"high must exceed low, got low={low}, high={high}")
        check_positive("max_drive_v", max_drive_v)
        check_positive("width", width)
        self.n_dims, self.n_per_dim = n_dims, n_per_dim
        self.centres = np.linspace(low, high, n_per_dim)
        self._inv_two_var = 1.0 / (2.0 * (width * (high - low) / (n_per_dim - 1)) ** 2)
        self.max_drive_v = max_drive_v

    @property
    def n_neurons(self) -> int:
        return self.n_dims * self.n_per_dim

    def encode(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Currents for input ``x`` (shape ``(n_dims,)``), flattened dimension-major."""
        x = _as_input(x, self.n_dims)
        if out is None:
            out = np.empty(self.n_neurons)
        self.encode_unchecked(x, out)
        return out

    def encode_unchecked(self, x: np.ndarray, out: np.ndarray) -> None:
        """:meth:`encode` without input checks, for a caller that validated ``x`` (hot path)."""
        _gaussian_fields(x, self.centres, self._inv_two_var, self.max_drive_v, out)


#: fields further than this many widths from the input are set to exactly 0 (exp(-12.5) is
#: below 4e-6 of the peak), so the encoder costs O(active fields), not O(all fields)
CUTOFF_SIGMAS = 5.0


@njit
def _gaussian_fields(x, centres, inv_two_var, max_drive, out):
    """Evenly spaced Gaussian fields by a two-term recurrence: three ``exp`` per dimension.

    Stepping from centre ``k`` to ``k ± 1`` multiplies the field by ``r``, and ``r`` itself by
    ``q = exp(-2 Δ² / (2σ²))``; starting at the centre nearest ``x`` keeps every factor
    bounded, so the result matches the direct formula to rounding.
    """
    n = centres.shape[0]
    spacing = centres[1] - centres[0]
    reach = CUTOFF_SIGMAS / np.sqrt(2.0 * inv_two_var)
    q = np.exp(-2.0 * spacing * spacing * inv_two_var)
    out[:] = 0.0
    for d in range(x.shape[0]):
        xd = x[d]
        lo = max(0, int(np.ceil((xd - reach - centres[0]) / spacing)))
        hi = min(n, int(np.floor((xd + reach - centres[0]) / spacing)) + 1)
        if lo >= hi:
            continue
        k0 = min(max(int(np.rint((xd - centres[0]) / spacing)), lo), hi - 1)
        diff = xd - centres[k0]
        g0 = max_drive * np.exp(-diff * diff * inv_two_var)
        base = d * n
        out[base + k0] = g0
        up = np.exp((2.0 * spacing * diff - spacing * spacing) * inv_two_var)
        g = g0
        for k in range(k0 + 1, hi):
            g *= up
            up *= q
            out[base + k] = g
        down = np.exp((-2.0 * spacing * diff - spacing * spacing) * inv_two_var)
        g = g0
        for k in range(k0 - 1, lo - 1, -1):
            g *= down
            down *= q
            out[base + k] = g


class SignedEncoder:
    """Each input dimension drives an on/off pair: ``gain·max(x, 0)`` and ``gain·max(−x, 0)``."""

    def __init__(self, n_dims: int, gain_v: float = 0.02) -> None:
        if n_dims < 1:
            raise ValueError(f"n_dims must be >= 1, got {n_dims}")
        check_positive("gain_v", gain_v)
        self.n_dims, self.gain_v = n_dims, gain_v

    @property
    def n_neurons(self) -> int:
        return 2 * self.n_dims

    def encode(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        x = _as_input(x, self.n_dims)
        currents = np.empty(2 * self.n_dims) if out is None else out
        currents[0::2] = self.gain_v * np.maximum(x, 0.0)
        currents[1::2] = self.gain_v * np.maximum(-x, 0.0)
        return currents


class NEFEncoder:
    """Random encoders, gains and biases so that neuron ``i`` fires at ``max_rates_hz[i]`` when
    ``x · e_i = 1`` and starts firing at ``x · e_i = intercepts[i]``.

    Use as ``net.add_lif(name, n, params, gain=enc.gain, bias_v=enc.bias_v)`` and feed
    ``enc.project(x)`` (that is ``E x``) as the population's input each tick.
    """

    def __init__(self, n_neurons: int, n_dims: int, params: LIFParams | None = None, *,
                 max_rates_hz: tuple[float, float] = (80.0, 160.0),
                 intercepts: tuple[float, float] = (-0.9, 0.9),
                 rng: np.random.Generator | int = 0) -> None:
        if n_neurons < 1 or n_dims < 1:
            raise ValueError(f"need n_neurons, n_dims >= 1, got {n_neurons}, {n_dims}")
        params = params or LIFParams()
        lo, hi = max_rates_hz
        too_fast = params.refractory_s > 0 and hi >= 1.0 / params.refractory_s
        if not 0 < lo <= hi or too_fast:
            raise ValueError(
                f"max_rates_hz must satisfy 0 < low <= high < 1/refractory_s, got {max_rates_hz}"
            )
        c_lo, c_hi = intercepts
        if not -1.0 < c_lo <= c_hi < 1.0:
            raise ValueError(f"intercepts must lie in (-1, 1) with low <= high, got {intercepts}")
        rng = np.random.default_rng(rng)
        enc = rng.standard_normal((n_neurons, n_dims))
        self.encoders = enc / np.linalg.norm(enc, axis=1, keepdims=True)
        rates = rng.uniform(lo, hi, n_neurons)
        cuts = rng.uniform(c_lo, c_hi, n_neurons)
        threshold = params.v_thresh - params.v_rest  # drive at which firing starts
        drive_max = np.array([_drive_for_rate(params, r) for r in rates])
        self.gain = (drive_max - threshold) / (1.0 - cuts)
        self.bias_v = threshold - self.gain * cuts
        self.n_neurons, self.n_dims = n_neurons, n_dims

    def project(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """``E x``: each neuron's input before its gain (shape ``(n_neurons,)``)."""
        x = _as_input(x, self.n_dims)
        return np.matmul(self.encoders, x, out=out)

    def rates(self, x: np.ndarray, params: LIFParams | None = None) -> np.ndarray:
        """Analytic steady rates for inputs ``x`` of shape ``(samples, n_dims)``."""
        params = params or LIFParams()
        drive = self.bias_v[None, :] + self.gain[None, :] * (np.atleast_2d(x) @ self.encoders.T)
        return lif_rate(params, drive)


def _drive_for_rate(params: LIFParams, rate_hz: float) -> float:
    """The constant drive (volts above ``v_rest``) at which an LIF neuron fires at ``rate_hz``."""
    charge = 1.0 / rate_hz - params.refractory_s
    k = math.exp(charge / params.tau_mem_s)
    above_reset = params.v_rest - params.v_reset
    above_thresh = params.v_rest - params.v_thresh
    return (k * above_thresh - above_reset) / (1.0 - k)


def lif_rate(params: LIFParams, drive_v: np.ndarray) -> np.ndarray:
    """Analytic LIF rate (Hz) for constant drives (volts above ``v_rest``); 0 below threshold."""
    drive = np.asarray(drive_v, dtype=np.float64)
    v_inf = params.v_rest + drive
    rates = np.zeros_like(drive)
    on = v_inf > params.v_thresh
    charge = params.tau_mem_s * np.log(
        (v_inf[on] - params.v_reset) / (v_inf[on] - params.v_thresh)
    )
    rates[on] = 1.0 / (params.refractory_s + charge)
    return rates


def fit_decoders(rates: np.ndarray, targets: np.ndarray, reg: float = 0.1) -> np.ndarray:
    """Least-squares decoders ``D`` with ``rates @ D ≈ targets`` (ridge, relative to max rate).

    Solved by :func:`_ridge_solve` in plain loops, not BLAS/LAPACK: OpenBLAS's ``solve``
    rounds differently with its thread count, and the decoders (rebuilt from the config, not
    saved) would then differ in their last bits between a Ray worker, a pool worker and a
    plain process.

    Args:
        rates: tuning-curve sample, shape ``(samples, n_neurons)``.
        targets: desired outputs, shape ``(samples, n_out)``.
        reg: ridge strength as a fraction of the largest rate (Nengo's convention).
    """
    rates = np.ascontiguousarray(rates, dtype=np.float64)
    targets = np.ascontiguousarray(targets, dtype=np.float64).reshape(rates.shape[0], -1)
    check_array_finite("rates", rates)
    check_positive("reg", reg, allow_zero=True)
    sigma = reg * max(float(rates.max()), 1e-12)
    decoders = np.zeros((rates.shape[1], targets.shape[1]))
    if not _ridge_solve(rates, targets, rates.shape[0] * sigma**2, decoders):
        raise ValueError("fit_decoders: the rates' Gram matrix is singular (reg=0 and tuning "
                         "curves that are not linearly independent); use reg > 0")
    return decoders


@njit
def _ridge_solve(rates, targets, lam, out):
    """``out = (RᵀR + lam I)⁻¹ RᵀT`` by Cholesky, each sum in a fixed order; False if singular."""
    n_s, n = rates.shape
    gram = np.zeros((n, n))  # lower triangle
    rhs = np.zeros((n, targets.shape[1]))
    for s in range(n_s):
        for i in range(n):
            r = rates[s, i]
            if r != 0.0:
                for j in range(i + 1):
                    gram[i, j] += r * rates[s, j]
                for k in range(targets.shape[1]):
                    rhs[i, k] += r * targets[s, k]
    for i in range(n):
        gram[i, i] += lam
    for j in range(n):  # gram = L Lᵀ, L over gram's lower triangle
        d = gram[j, j]
        for p in range(j):
            d -= gram[j, p] * gram[j, p]
        if not d > 0.0:
            return False
        d = np.sqrt(d)
        gram[j, j] = d
        for i in range(j + 1, n):
            v = gram[i, j]
            for p in range(j):
                v -= gram[i, p] * gram[j, p]
            gram[i, j] = v / d
    for k in range(targets.shape[1]):  # L y = b, then Lᵀ x = y
        for i in range(n):
            v = rhs[i, k]
            for p in range(i):
                v -= gram[i, p] * out[p, k]
            out[i, k] = v / gram[i, i]
        for i in range(n - 1, -1, -1):
            v = out[i, k]
            for p in range(i + 1, n):
                v -= gram[p, i] * out[p, k]
            out[i, k] = v / gram[i, i]
    return True


class RateDecoder:
    """Filtered spike counts → rates (Hz) → ``rates @ decoders``, allocation-free per tick.

    Each tick, ``update(counts)`` low-pass filters ``counts / tick_s`` with time constant
    ``tau_s`` (exact exponential smoothing at the tick period).
    """

    def __init__(self, decoders: np.ndarray, tau_s: float, tick_s: float) -> None:
        check_positive("tau_s", tau_s)
        check_positive("tick_s", tick_s)
        self.decoders = np.asarray(decoders, dtype=np.float64)
        if self.decoders.ndim != 2:
            raise ValueError(f"decoders must be 2-D (n_neurons, n_out), got {self.decoders.shape}")
        self._alpha = 1.0 - math.exp(-tick_s / tau_s)
        self._inv_tick = 1.0 / tick_s
        self.rates = np.zeros(self.decoders.shape[0])
        self.output = np.zeros(self.decoders.shape[1])

    def update(self, counts: np.ndarray) -> np.ndarray:
        """Feed one tick's spike counts; return the decoded output (a reused array)."""
        _filter_and_decode(counts, self._alpha, self._inv_tick, self.rates, self.decoders,
                           self.output)
        return self.output

    def reset(self) -> None:
        self.rates[:] = 0.0
        self.output[:] = 0.0


@njit
def _filter_and_decode(counts, alpha, inv_tick, rates, decoders, output):
    output[:] = 0.0
    for i in range(rates.shape[0]):
        r = rates[i] + alpha * (counts[i] * inv_tick - rates[i])
        rates[i] = r
        if r != 0.0:
            for k in range(output.shape[0]):
                output[k] += r * decoders[i, k]
