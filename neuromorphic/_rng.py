"""Explicit, seedable random numbers for the kernels (no hidden global RNG).

A splitmix64 generator: its whole state is one uint64 kept in a caller-owned array, so a
network's randomness is saved, restored and replayed with the rest of its state.
Reference: Steele, Lea & Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014.
"""

from __future__ import annotations

import functools

import numpy as np
from numba import config

from neurofit.neuromorphic._jit import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_INV_2_53 = 1.0 / 9007199254740992.0


def new_rng_state(seed: int) -> np.ndarray:
    """A fresh generator state (shape ``(1,)``, uint64) derived from an integer seed."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    state = np.array([np.uint64(int(seed) & 0xFFFFFFFFFFFFFFFF)], dtype=np.uint64)
    _next_u64(state)  # decorrelate small adjacent seeds
    return state


def _wraps_silently(fn):
    """Interpreted runs (``NUMBA_DISABLE_JIT=1``): silence numpy's overflow warning on the
    uint64 wraparound that splitmix64 relies on (compiled code wraps without a word)."""
    if not config.DISABLE_JIT:
        return fn

    @functools.wraps(fn)
    def wrapper(state: np.ndarray) -> np.uint64:
        with np.errstate(over="ignore"):
            return fn(state)

    return wrapper


@_wraps_silently
@njit(inline="always")
def _next_u64(state: np.ndarray) -> np.uint64:
    z = state[0] + _GOLDEN
    state[0] = z
    z = (z ^ (z >> _S30)) * _MIX1
    z = (z ^ (z >> _S27)) * _MIX2
    return z ^ (z >> _S31)


@njit(inline="always")
def next_uniform(state: np.ndarray) -> float:
    """A float64 uniform in [0, 1) with 53 random bits; advances ``state`` in place."""
    return float(_next_u64(state) >> _S11) * _INV_2_53


@njit
def next_normal(state: np.ndarray) -> float:
    """A standard normal (Box–Muller, one of the pair); advances ``state`` in place."""
    u1 = next_uniform(state)
    u2 = next_uniform(state)
    if u1 < 1e-300:
        u1 = 1e-300
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
