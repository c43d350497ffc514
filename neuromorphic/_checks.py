"""Input checks that raise a ``ValueError`` naming the field, its value and the allowed range;
and :func:`load_npz`, which reads an ``.npz`` file or says in plain words what is wrong with it."""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np


def _got(value: Any) -> str:
    """``value`` as the messages quote it: with its type when that is the problem."""
    if isinstance(value, (bool, np.bool_, str)) or not isinstance(
            value, (int, float, np.integer, np.floating)):
        return f"{value!r} (a {type(value).__name__})"
    return repr(value)


def check_finite(name: str, value: float) -> None:
    """Reject NaN, infinities and anything that is not a real number (bools and strings too)."""
    if (isinstance(value, (bool, np.bool_))
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(value)):
        raise ValueError(f"{name} must be a finite number, got {_got(value)}")


def check_positive(name: str, value: float, *, allow_zero: bool = False) -> None:
    """Require ``value > 0`` (or ``>= 0`` with ``allow_zero``)."""
    bound = ">= 0" if allow_zero else "> 0"
    try:
        check_finite(name, value)
    except ValueError:
        raise ValueError(f"{name} must be a finite number {bound}, got {_got(value)}") from None
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {bound}, got {value!r}")


def check_real(name: str, value: float, *, allow_zero: bool = False) -> None:
    """Require a finite real number ``> 0`` (``>= 0`` with ``allow_zero``); unlike
    :func:`check_positive`, every failure gets the one message that states both conditions."""
    try:
        check_positive(name, value, allow_zero=allow_zero)
    except ValueError:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {_got(value)}") from None


def check_range(name: str, value: float, low: float, high: float, *,
                low_open: bool = False) -> None:
    """Require ``low <= value <= high`` (``low < value`` with ``low_open``)."""
    interval = f"{'(' if low_open else '['}{low}, {high}]"
    try:
        check_finite(name, value)
    except ValueError:
        raise ValueError(f"{name} must be a number in {interval}, got {_got(value)}") from None
    if not (low < value if low_open else low <= value) or not value <= high:
        raise ValueError(f"{name} must be in {interval}, got {value!r}")


def check_int(name: str, value: int, low: int, high: int | None = None) -> None:
    """Require an integer (not a bool, not a float such as ``2.5`` or ``100.0``) in
    ``[low, high]`` (no upper bound when ``high`` is None)."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    if not ok or value < low or (high is not None and value > high):
        allowed = (f"an integer in [{low}, {high}]" if high is not None
                   else "a positive integer" if low == 1
                   else "a non-negative integer" if low == 0 else f"an integer >= {low}")
        raise ValueError(f"{name} must be {allowed}, got {_got(value)}")


def check_choice(name: str, value: Any, choices: Iterable[str]) -> None:
    """Require one of ``choices`` (strings)."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)}, got {_got(value)}")


def check_array_finite(name: str, values: np.ndarray) -> None:
    """Reject arrays holding NaN or infinities, naming the first bad element."""
    bad = ~np.isfinite(values)
    if bad.any():
        where = tuple(int(k) for k in np.argwhere(bad)[0])
        index = where[0] if len(where) == 1 else where
        raise ValueError(f"{name} must be finite, but element {index} is {values[where]!r}")


class CorruptFileError(ValueError):
    """A file that exists but cannot be read as what it should be.

    Attributes:
        path: the file.
        reason: what is wrong with it, in plain words.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path} is corrupt: {reason}")
        self.path = path
        self.reason = reason


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` file ``path``, read in full (so each member's CRC is checked).

    Raises:
        FileNotFoundError: no such file.
        CorruptFileError: empty, truncated, damaged, or not an ``.npz`` archive NeuroFit wrote
            (the message says which; it never suggests loading pickled data).
    """
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        raise CorruptFileError(path, "it is empty (0 bytes)")
    with path.open("rb") as f:  # ours to close: np.load leaks a file it fails to read
        if f.read(4) != b"PK\x03\x04":  # what every zip archive, so every .npz, starts with
            raise CorruptFileError(path, f"it is not an .npz archive ({size} bytes of other "
                                         "data)")
        f.seek(0)
        try:
            with np.load(f, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            reason = f"the archive is truncated or damaged ({exc})"
        except ValueError:  # numpy: object (pickled) arrays or a malformed array header
            reason = "it holds arrays NeuroFit does not write (object data or a malformed header)"
    raise CorruptFileError(path, reason)
