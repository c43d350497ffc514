"""Input checks that raise a ``ValueError`` naming the field, its value and the allowed range."""

from __future__ import annotations

import math

import numpy as np


def check_finite(name: str, value: float) -> None:
    """Reject NaN and infinities."""
    if not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    """Require ``value > 0`` (or ``>= 0`` with ``allow_zero``)."""
    check_finite(name, value)
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be {bound}, got {value!r}")


def check_range(name: str, value: float, low: float, high: float) -> None:
    """Require ``low <= value <= high``."""
    check_finite(name, value)
    if not low <= value <= high:
        raise ValueError(f"{name} must be in [{low}, {high}], got {value!r}")


def check_array_finite(name: str, values: np.ndarray) -> None:
    """Reject arrays holding NaN or infinities, naming the first bad element."""
    bad = ~np.isfinite(values)
    if bad.any():
        where = tuple(int(k) for k in np.argwhere(bad)[0])
        index = where[0] if len(where) == 1 else where
        raise ValueError(f"{name} must be finite, but element {index} is {values[where]!r}")
