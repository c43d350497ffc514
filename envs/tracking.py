"""The tracking error: one definition, one unit, for every metric, table and plot.

The *tracking error* of a step is the distance from the target position to the controlled
point, from the true simulator state (never the noisy observation):

- quadrotors (``neurofit/Quad*``): the drone's body origin (its centre of mass) to
  ``info["target_pos"]``;
- the arm (``neurofit/ArmReach*``): the end-effector site ``ee`` to ``info["target"]``;
- Gymnasium's ``Reacher-v5`` through :class:`~neurofit.envs.error_feedback.ErrorFeedback`:
  the fingertip to the target.

Envs report it in metres as ``info["tracking_error_m"]`` (a float). An env with no position
target (e.g. ``InvertedPendulum-v5``) does not report it: :func:`tracking_error_m` is then NaN
and tables say "n/a". This is not ``info["error"]``, the vector a controller drives to zero
(for the quadrotors it mixes metres and metres per second).

Reports give the **RMS tracking error in millimetres** over a named window::

    rms_tracking_error_mm = 1000 * sqrt(mean over the window's steps of tracking_error_m ** 2)

with the window in the column or header: the whole episode, its last half
(:func:`last_fraction`), or the last seconds of a flight.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "TRACKING_ERROR_KEY",
    "last_fraction",
    "rms_tracking_error_mm",
    "tracking_error_m",
]

#: The ``info`` key of the tracking error, in metres.
TRACKING_ERROR_KEY = "tracking_error_m"


def tracking_error_m(info: Mapping[str, Any]) -> float:
    """The step's tracking error in metres (module docstring); NaN if the env has none."""
    value = info.get(TRACKING_ERROR_KEY)
    return math.nan if value is None else float(value)


def rms_tracking_error_mm(errors_m: Sequence[float] | np.ndarray) -> float:
    """RMS in millimetres of per-step tracking errors given in metres.

    NaN if there are no steps or any step has no tracking error (NaN): a window is reported
    whole or not at all.
    """
    e = np.asarray(errors_m, dtype=np.float64)
    if e.size == 0:
        return math.nan
    return 1000.0 * math.sqrt(float(np.mean(np.square(e))))


def last_fraction(values: Sequence[float] | np.ndarray, fraction: float) -> np.ndarray:
    """The last ``ceil(fraction * n)`` of ``n`` values (at least one); ``0.5``: the last half
    (the middle step of an odd count included)."""
    if not 0.0 < fraction <= 1.0:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    v = np.asarray(values, dtype=np.float64)
    keep = max(1, math.ceil(fraction * v.shape[0]))
    return v[v.shape[0] - keep:]
