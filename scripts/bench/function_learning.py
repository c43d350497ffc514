"""Online function learning from error alone — the engine's reference learning task.

An input ``x(t)`` wanders over ``[-1, 1]``; a NEF population encodes it; a plastic all-to-all
projection (PES, initial weights zero) drives an output population whose fixed decoders read
out ``ŷ``; each control tick the error ``ŷ − f(x)`` modulates the projection. The untrained
network outputs about 0, so its RMSE is the RMS of ``f``; learning drives it well below.
This is the task of the plasticity benchmark's precision curve, and of the learning tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from neurofit.neuromorphic.analog import AnalogProfile
from neurofit.neuromorphic.coding import (
    GaussianPopulationEncoder,
    NEFEncoder,
    RateDecoder,
    fit_decoders,
)
from neurofit.neuromorphic.connectivity import AllToAll
from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import FAST_LIF
from neurofit.neuromorphic.plasticity import error_modulator, pes

PARAMS = FAST_LIF


def sine_target(x: np.ndarray) -> np.ndarray:
    """The default map to learn, ``sin(π x)``."""
    return np.sin(np.pi * x)


def wandering_input(t_s: float) -> float:
    """A smooth input covering [-1, 1] with incommensurate periods (deterministic)."""
    return float(0.6 * np.sin(2 * np.pi * t_s / 3.1) + 0.4 * np.sin(2 * np.pi * t_s / 1.3 + 1.0))


@dataclass
class FunctionLearningResult:
    """Errors of one run: per-tick squared error, and RMSEs over named windows."""

    sq_error: np.ndarray
    rmse_untrained: float
    rmse_final: float
    weight_updates: int


class FunctionLearner:
    """The network of the module docstring, stepped one control tick at a time.

    Args:
        n_pre, n_post: neurons encoding ``x`` and producing ``ŷ`` (1,000 in all by default).
        learning_rate: PES rate (volts of weight change per unit modulator per spike).
        analog: analog non-idealities of the chip.
        weight_bits: stored precision of the learned weights (``None``: float).
        seed: seeds encoders, network and analog draws.
        plastic: ``False`` builds the same network with a static projection (its weights stay
            zero): the learning-off reference of ``neurofit bench plasticity``.
    """

    def __init__(self, n_pre: int = 800, n_post: int = 200, *, learning_rate: float = 4e-3,
                 tick_s: float = 1e-3, substeps: int = 10, analog: AnalogProfile | None = None,
                 weight_bits: int | None = None, stochastic_rounding: bool = True,
                 seed: int = 0, plastic: bool = True) -> None:
        rng = np.random.default_rng(seed)
        dt_s = tick_s / substeps
        # local (Gaussian receptive field) tuning makes the learning problem well conditioned:
        # PES converges in seconds where monotonic NEF tuning curves take minutes
        self.pre_enc = GaussianPopulationEncoder(1, n_pre, low=-1.1, high=1.1,
                                                 max_drive_v=0.03, width=20.0)
        self.post_enc = NEFEncoder(n_post, 1, PARAMS, max_rates_hz=(100.0, 200.0), rng=rng)
        # post neurons see their input through their gain and encoder: modulate accordingly
        self._post_dirs = self.post_enc.encoders * self.post_enc.gain[:, None]
        samples = np.linspace(-1, 1, 201)[:, None]
        decoders = fit_decoders(self.post_enc.rates(samples, PARAMS), samples)
        self.net = Network(dt_s=dt_s, seed=seed, tick_steps=substeps, analog=analog)
        self.net.add_lif("pre", n_pre, PARAMS, v_init=(PARAMS.v_reset, PARAMS.v_thresh))
        self.net.add_lif("post", n_post, PARAMS, gain=self.post_enc.gain,
                         bias_v=self.post_enc.bias_v, v_init=(PARAMS.v_reset, PARAMS.v_thresh))
        self.net.connect("pre", "post", AllToAll(), 0.0, name="learned")
        bound = 0.01
        if plastic:
            self.net.set_plasticity("learned", pes(
                learning_rate, w_min=-bound, w_max=bound, weight_bits=weight_bits,
                stochastic_rounding=stochastic_rounding,
            ))
        self.net.build()
        self._pre_input = self.net.input_view("pre")
        self._modulator = self.net.modulator_view("post")
        self._post = self.net.population("post").slice
        self.decoder = RateDecoder(decoders, tau_s=0.01, tick_s=tick_s)
        self.substeps = substeps
        self.tick_s = tick_s

    def tick(self, x: float, target: float, learn: bool = True) -> float:
        """Run one control tick on input ``x``; learn from ``ŷ − target``; return ``ŷ``."""
        self.pre_enc.encode(np.array([x]), out=self._pre_input)
        counts = self.net.step(self.substeps)
        y_hat = float(self.decoder.update(counts[self._post])[0])
        if learn:
            error_modulator(np.array([y_hat - target]), self._post_dirs, out=self._modulator)
        else:
            self._modulator[:] = 0.0
        return y_hat

    def run(self, duration_s: float, target_fn: Callable[[np.ndarray], np.ndarray] = sine_target,
            *, learn: bool = True, switch_at_s: float | None = None,
            switched_fn: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
        """Run ``duration_s`` of ticks; return the per-tick squared error.

        With ``switch_at_s``, the target becomes ``switched_fn`` from then on (re-adaptation).
        """
        n_ticks = round(duration_s / self.tick_s)
        sq = np.empty(n_ticks)
        t0 = self.net.t_s
        for k in range(n_ticks):
            t = t0 + k * self.tick_s
            x = wandering_input(t)
            fn = switched_fn if switch_at_s is not None and t >= switch_at_s else target_fn
            target = float(fn(np.array(x)))
            sq[k] = (self.tick(x, target, learn) - target) ** 2
        return sq


def rmse(sq_error: np.ndarray) -> float:
    """Root of the mean of squared errors."""
    return float(np.sqrt(np.mean(sq_error)))
