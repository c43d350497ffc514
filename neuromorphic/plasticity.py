"""One family of three-factor learning rules: ``Δw_ij = η · M_i · e_ij``.

``M_i`` is a modulator per postsynaptic neuron, set by the caller each control tick:

- **reward mode**: the same reward-prediction error for every neuron, ``M = r − baseline``
  (:class:`RunningBaseline` or :class:`LinearCritic` give the baseline);
- **error mode**: the error vector projected onto each neuron, ``M_i = −(eᵀ d_i)``
  (:func:`error_modulator`) — prescribed error sensitivity (PES), and feedback-error learning
  when ``e`` is a feedback controller's command (Kawato 1987).

``e_ij``, the eligibility, is chosen by :attr:`ThreeFactor.eligibility`:

- ``"pre"``: the presynaptic neuron's spike count in the tick — PES; event driven, the cost
  scales with the synapses of presynaptic neurons that were active;
- ``"perturbation"``: a decaying (``tau_elig_s``) trace to which each tick adds the presynaptic
  spike count × the exploration noise of the postsynaptic neuron (its perturbation value) —
  node perturbation, an unbiased gradient estimate (Fiete & Seung 2006);
- ``"stdp"``: a decaying trace of pre-before-post (``a_plus``) minus post-before-pre
  (``a_minus``) pairings — reward-modulated STDP (Izhikevich 2007; Florian 2007).

Weights stay in ``[w_min, w_max]`` (hard clip or soft bounds); a sign constraint (Dale's law)
is a bound at zero; ``weight_bits`` stores them at limited precision, with deterministic or
stochastic rounding. Learning runs inside the network's compiled step, at the end of every
control tick, with the modulator (and perturbation) values in place during that tick: a value
written after a tick's step acts at the end of the next tick. Writes whose modulator is zero
are skipped; every weight written is counted in ``weight_updates``.

Learning that stops when there is nothing to learn: a zero modulator writes nothing and counts
nothing, so gating the modulator gates the writes. :func:`error_modulator`'s ``deadband``
zeroes each neuron's ``|M_i|`` below a threshold, and its ``error_deadband`` zeroes every
``M_i`` while the error's norm is below one (an error-driven schedule: no learning while the
error is inside the band); :func:`deadband_modulator` applies the first to any modulator (a
reward-prediction error too).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from neurofit.neuromorphic._checks import check_array_finite, check_finite, check_positive
from neurofit.neuromorphic._jit import njit

Eligibility = Literal["pre", "perturbation", "stdp"]
ELIGIBILITIES: tuple[str, ...] = ("pre", "perturbation", "stdp")


@dataclass(frozen=True)
class ThreeFactor:
    """A three-factor rule for one projection (see the module docstring).

    Args:
        eligibility: ``"pre"`` (PES), ``"perturbation"`` (node perturbation) or ``"stdp"``.
        learning_rate: η, >= 0.
        tau_pre_s: time constant of the pre- and postsynaptic spike traces of ``stdp``.
        tau_elig_s: decay of the per-synapse eligibility (``perturbation`` and ``stdp``).
        a_plus, a_minus: STDP pairing amplitudes.
        w_min, w_max: weight bounds (volts).
        soft_bounds: scale each change by the distance to the bound it moves toward.
        sign: ``"exc"`` keeps weights >= 0, ``"inh"`` keeps them <= 0 (Dale's law).
        weight_bits: stored precision (``None`` = float).
        stochastic_rounding: round up with probability equal to the remainder, which keeps
            small updates alive on average at low precision.
    """

    eligibility: Eligibility = "pre"
    learning_rate: float = 1e-4
    tau_pre_s: float = 0.010
    tau_elig_s: float = 0.200
    a_plus: float = 1.0
    a_minus: float = 1.0
    w_min: float = -1.0
    w_max: float = 1.0
    soft_bounds: bool = False
    sign: Literal["exc", "inh"] | None = None
    weight_bits: int | None = None
    stochastic_rounding: bool = False

    def __post_init__(self) -> None:
        if self.eligibility not in ELIGIBILITIES:
            raise ValueError(
                f"eligibility must be one of {ELIGIBILITIES}, got {self.eligibility!r}"
            )
        check_positive("learning_rate", self.learning_rate, allow_zero=True)
        check_positive("tau_pre_s", self.tau_pre_s)
        check_positive("tau_elig_s", self.tau_elig_s)
        check_positive("a_plus", self.a_plus, allow_zero=True)
        check_positive("a_minus", self.a_minus, allow_zero=True)
        check_finite("w_min", self.w_min)
        check_finite("w_max", self.w_max)
        if self.w_min >= self.w_max:
            raise ValueError(f"w_min must be below w_max, got {self.w_min} >= {self.w_max}")
        if self.sign not in (None, "exc", "inh"):
            raise ValueError(f"sign must be None, 'exc' or 'inh', got {self.sign!r}")
        check_bits(self.weight_bits)

    @property
    def bounds(self) -> tuple[float, float]:
        """``(w_min, w_max)`` after the sign constraint."""
        low, high = self.w_min, self.w_max
        if self.sign == "exc":
            low = max(low, 0.0)
        elif self.sign == "inh":
            high = min(high, 0.0)
        if low >= high:
            raise ValueError(
                f"sign={self.sign!r} leaves an empty weight range from [{self.w_min}, {self.w_max}]"
            )
        return low, high


def check_bits(bits: int | None) -> None:
    """``None`` (float) or an integer number of bits in [1, 24]."""
    if bits is None:
        return
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 24:
        raise ValueError(f"weight_bits must be None or an integer in [1, 24], got {bits!r}")


def pes(learning_rate: float = 1e-4, **kwargs: object) -> ThreeFactor:
    """Prescribed error sensitivity: error mode with presynaptic-trace eligibility."""
    return ThreeFactor(eligibility="pre", learning_rate=learning_rate, **kwargs)  # type: ignore[arg-type]


def node_perturbation(learning_rate: float = 1e-3, **kwargs: object) -> ThreeFactor:
    """Reward mode with pre-trace × exploration-noise eligibility."""
    return ThreeFactor(eligibility="perturbation", learning_rate=learning_rate, **kwargs)  # type: ignore[arg-type]


def reward_stdp(learning_rate: float = 1e-3, **kwargs: object) -> ThreeFactor:
    """Reward mode with spike-timing eligibility (R-STDP)."""
    return ThreeFactor(eligibility="stdp", learning_rate=learning_rate, **kwargs)  # type: ignore[arg-type]


def error_modulator(error: np.ndarray, encoders: np.ndarray, out: np.ndarray | None = None,
                    *, deadband: float = 0.0, error_deadband: float = 0.0) -> np.ndarray:
    """Per-neuron modulator of error mode: ``M_i = −(error · encoders[i])``, gated.

    Args:
        error: the task error vector, shape ``(d,)`` (desired − actual, or a feedback
            controller's command in feedback-error learning).
        encoders: one row per postsynaptic neuron, shape ``(n, d)`` — the direction in which
            raising that neuron's activity moves the output.
        out: optional array of shape ``(n,)`` to write into.
        deadband: ``M_i`` with ``|M_i| < deadband`` is set to 0: that neuron's synapses are
            not written (nor counted) this tick. 0 (the default) gates nothing.
        error_deadband: while ``‖error‖₂ < error_deadband`` every ``M_i`` is 0: no weight is
            written while the error is inside the band. 0 (the default) gates nothing.
    """
    error = np.asarray(error, dtype=np.float64)
    if encoders.ndim != 2 or error.shape != (encoders.shape[1],):
        raise ValueError(
            f"error must have shape ({encoders.shape[1] if encoders.ndim == 2 else '?'},) to "
            f"match encoders {encoders.shape}, got {error.shape}"
        )
    check_array_finite("error", error)
    if out is not None and out.shape != (encoders.shape[0],):
        raise ValueError(
            f"out (the modulator) must have shape ({encoders.shape[0]},), one value per "
            f"neuron of encoders {encoders.shape}, got {out.shape}"
        )
    check_positive("deadband", deadband, allow_zero=True)
    check_positive("error_deadband", error_deadband, allow_zero=True)
    if out is None:
        out = np.empty(encoders.shape[0])
    _negated_projection(encoders, error, deadband, error_deadband, out)
    return out


@njit
def _norm(x):
    """‖x‖₂ scaled by the largest |x_k| first (as BLAS nrm2), so that squares of tiny or huge
    entries neither underflow nor overflow: the deadband compares true norms at any scale."""
    scale = 0.0
    for k in range(x.shape[0]):
        scale = max(scale, abs(x[k]))
    if scale == 0.0 or not np.isfinite(scale):
        return scale
    acc = 0.0
    for k in range(x.shape[0]):
        r = x[k] / scale
        acc += r * r
    return scale * np.sqrt(acc)


@njit
def _negated_projection(encoders, error, deadband, error_deadband, out):
    if _norm(error) < error_deadband:
        out[:] = 0.0
        return
    for i in range(encoders.shape[0]):
        acc = 0.0
        for k in range(encoders.shape[1]):
            acc += encoders[i, k] * error[k]
        out[i] = -acc if abs(acc) >= deadband else 0.0


def deadband_modulator(modulator: np.ndarray, deadband: float) -> int:
    """Set, in place, every ``modulator[i]`` with ``|modulator[i]| < deadband`` to 0.

    A zero modulator writes and counts no weight, so the neurons below the band stop
    learning this tick. Returns how many neurons still learn (nonzero modulator).
    """
    check_positive("deadband", deadband)
    if modulator.ndim != 1 or modulator.dtype != np.float64:
        raise ValueError(f"modulator must be a 1-D float64 array, got {modulator.dtype} "
                         f"{modulator.shape}")
    return _deadband(modulator, deadband)


@njit
def _deadband(modulator, deadband):
    left = 0
    for i in range(modulator.shape[0]):
        if abs(modulator[i]) < deadband:
            modulator[i] = 0.0
        elif modulator[i] != 0.0:
            left += 1
    return left


class RunningBaseline:
    """Reward-prediction error against an exponential running average of the reward."""

    def __init__(self, tau_ticks: float = 100.0) -> None:
        check_positive("tau_ticks", tau_ticks)
        self._alpha = 1.0 / tau_ticks
        self.value = 0.0
        self._started = False

    def __call__(self, reward: float) -> float:
        """Return ``reward − baseline`` and move the baseline toward ``reward``."""
        if not math.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward!r}")
        if not self._started:
            self.value, self._started = reward, True
        rpe = reward - self.value
        self.value += self._alpha * rpe
        return rpe


class LinearCritic:
    """A learned value estimate ``V(s) = wᵀφ(s)`` trained by TD(0); gives the TD error.

    The TD error ``δ = r + γ V(s') − V(s)`` is the reward-prediction error that modulates
    the actor's synapses.
    """

    def __init__(self, n_features: int, learning_rate: float = 1e-2, gamma: float = 0.99) -> None:
        if n_features < 1:
            raise ValueError(f"n_features must be >= 1, got {n_features}")
        check_positive("learning_rate", learning_rate)
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {gamma}")
        self.weights = np.zeros(n_features)
        self.learning_rate = learning_rate
        self.gamma = gamma

    def value(self, features: np.ndarray) -> float:
        return float(self.weights @ features)

    def td_error(self, features: np.ndarray, reward: float, next_features: np.ndarray,
                 terminal: bool) -> float:
        """Return the TD error and take one TD(0) step on the critic's weights."""
        target = reward + (0.0 if terminal else self.gamma * self.value(next_features))
        delta = target - self.value(features)
        self.weights += self.learning_rate * delta * features
        return delta
