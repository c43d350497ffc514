"""Per-step values -> columns, cheaply (private helper of :mod:`neurofit.envs.recording`).

The recorder keeps one tuple per step and transposes them when the episode ends. The tuples
hold only numbers, strings, arrays and tuples of those, never the env's ``info`` dict itself:
CPython's garbage collector stops tracking such tuples at its first pass, so a long episode in
memory does not make the collector walk every live object again and again (keeping the info
dicts did: full collections of the whole process, tens of ms each, every episode or two).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from neurofit.neuromorphic.counters import OP_NAMES

#: Placeholder for a key a row does not have.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


class TickRecord(Mapping[str, Any]):
    """One agent tick in array form: what a record hook returns without building dicts.

    The recorder keeps the arrays as they are and turns an episode's ticks into columns at
    once: ``counts[:4]`` become ``infos/agent/ops/<name>`` (in
    :data:`~neurofit.neuromorphic.counters.OP_NAMES` order) and ``price`` turns the
    episode's ``(rows, len(counts))`` counts into its other per-tick columns (energy, power).
    Read as a mapping it is the hook's dict form (``spikes``, ``ops``, the priced values),
    computed on access.

    Attributes:
        spikes: int32 indices of the neurons that spiked in the tick (owned by the record).
        counts: int64 operation counts of the tick, :data:`OP_NAMES` first; any further
            entries (e.g. effective neuron updates) are for ``price`` only.
        price: ``price(counts_rows) -> {column: one float per row}``; the same function for
            every tick of an agent.
    """

    __slots__ = ("counts", "price", "spikes")

    def __init__(self, spikes: np.ndarray, counts: np.ndarray,
                 price: Callable[[np.ndarray], Mapping[str, np.ndarray]]) -> None:
        self.spikes = spikes
        self.counts = counts
        self.price = price

    def _priced(self) -> dict[str, Any]:
        return {k: v[0].item() for k, v in self.price(self.counts[None, :]).items()}

    def __getitem__(self, key: str) -> Any:
        if key == "spikes":
            return self.spikes
        if key == "ops":
            return dict(zip(OP_NAMES, self.counts[:len(OP_NAMES)].tolist(), strict=True))
        return self._priced()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(("spikes", "ops", *self._priced()))

    def __len__(self) -> int:
        return 2 + len(self._priced())


def tick_columns(spikes: Sequence[np.ndarray], counts: Sequence[np.ndarray],
                 price: Callable[[np.ndarray], Mapping[str, np.ndarray]]) -> dict[str, Any]:
    """An episode's :class:`TickRecord` ticks (their ``spikes`` and ``counts``, and their
    ``price``) as the ``infos/agent`` group: CSR spikes, one int64 column per operation, and
    the priced columns."""
    table = stack_arrays(counts)
    out: dict[str, Any] = {
        "spikes": spikes_csr(spikes),
        "ops": {name: np.ascontiguousarray(table[:, i]) for i, name in enumerate(OP_NAMES)},
    }
    out.update(price(table))
    return out

_SCALARS = (bool, np.bool_, int, np.integer, float, np.floating)


def _getter(keys: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    if len(keys) == 1:
        k = keys[0]
        return lambda d: (d[k],)
    return operator.itemgetter(*keys)  # type: ignore[return-value]


class KeySchema:
    """The keys of a kind of dict seen so far; turns each dict into a tuple in key order.

    Keys only grow (a row recorded before a key appeared is padded with :data:`MISSING`).
    Values under ``skip`` keys are not extracted.
    """

    def __init__(self, skip: Sequence[str] = ()) -> None:
        self.keys: list[str] = []
        self._skip = frozenset(skip)
        self._n = -1
        self._get: Callable[[Mapping[str, Any]], tuple[Any, ...]] = lambda d: ()

    def extract(self, d: Mapping[str, Any]) -> tuple[Any, ...]:
        """``d``'s values in key order (new keys are added to the schema)."""
        if len(d) == self._n:
            try:
                return self._get(d)
            except KeyError:
                pass
        new = [k for k in d if k not in self._skip and k not in self.keys]
        if new:
            self.keys.extend(new)
            self._get = _getter(self.keys)
        self._n = len(self.keys) + sum(1 for k in d if k in self._skip)
        if all(k in d for k in self.keys):
            return self._get(d)
        return tuple(d.get(k, MISSING) for k in self.keys)

    def columns(self, rows: Sequence[tuple[Any, ...]]) -> dict[str, Any]:
        """``{key: column}`` for rows made by :meth:`extract` (see :func:`column`)."""
        n = len(self.keys)
        if not n or not rows:
            return {}
        if min(map(len, rows)) != n:  # rows recorded before a key appeared
            rows = [r + (MISSING,) * (n - len(r)) for r in rows]
        out: dict[str, Any] = {}
        for k, col in zip(self.keys, zip(*rows, strict=True), strict=True):
            c = column(col)
            if c is not None and not (isinstance(c, dict) and not c):
                out[k] = c
        return out


def stack_arrays(values: Sequence[np.ndarray]) -> np.ndarray:
    """Stack equal-shape arrays (``np.concatenate`` + reshape: faster than ``np.stack``)."""
    first = np.asarray(values[0])
    if first.ndim == 0:
        return np.array(values)
    flat = np.concatenate(values, axis=0)
    if flat.shape[0] != len(values) * first.shape[0]:
        raise ValueError("arrays of different shapes")
    return flat.reshape(len(values), *first.shape)


def stack(values: Sequence[Any]) -> Any:
    """Stack per-step observations or actions (arrays, numbers, dicts or tuples of them)."""
    first = values[0]
    if isinstance(first, Mapping):
        return {k: stack([v[k] for v in values]) for k in first}
    if isinstance(first, tuple):
        return {f"_index_{i}": stack([v[i] for v in values]) for i in range(len(first))}
    if isinstance(first, np.ndarray):
        return stack_arrays(values)
    return np.array(values)


def column(values: Sequence[Any]) -> Any:
    """One key over all rows -> array (or dict of arrays); None if it cannot be stored.

    Rows without the key (:data:`MISSING`) or with None are filled: NaN for floats, 0 / False
    for integers and bools, "" for strings.
    """
    sample = values[0]
    if sample is MISSING or sample is None:
        lead = 1  # rows before the key first appeared (the reset's, typically): fill them
        while lead < len(values) and (values[lead] is MISSING or values[lead] is None):
            lead += 1
        if lead == len(values):
            return None
        rest = column(values[lead:])
        if isinstance(rest, np.ndarray):
            fill = {"f": np.nan, "S": b""}.get(rest.dtype.kind, 0)
            out = np.empty((len(values), *rest.shape[1:]), dtype=rest.dtype)
            out[:lead] = fill
            out[lead:] = rest
            return out
        sample = values[lead]
        if not isinstance(sample, Mapping):  # not a column after all
            return None
    if isinstance(sample, Mapping):
        schema = KeySchema()
        return schema.columns([schema.extract(v if isinstance(v, Mapping) else {}) for v in values])
    if isinstance(sample, str):  # as UTF-8 bytes, fixed length: the cheap HDF5 string type
        return np.array([v.encode() if isinstance(v, str) else b"" for v in values], dtype="S")
    if isinstance(sample, _SCALARS):
        kind = np.asarray(sample).dtype.kind
        dtype = {"b": np.bool_, "i": np.int64, "u": np.int64}.get(kind, np.float64)
        try:
            return np.array(values, dtype=dtype)
        except (TypeError, ValueError):  # missing rows
            fill = np.nan if dtype is np.float64 else 0
            return np.array([fill if v is MISSING or v is None else v for v in values], dtype)
    if isinstance(sample, (np.ndarray, list, tuple)):
        arr = np.asarray(sample)
        if arr.dtype.kind not in "biuf":
            return None
        try:
            if isinstance(sample, np.ndarray):
                return stack_arrays(values)
            return np.array(values, dtype=arr.dtype)
        except (TypeError, ValueError):
            fill = np.full(arr.shape, np.nan if arr.dtype.kind == "f" else 0, dtype=arr.dtype)
            rows = [fill if v is MISSING or v is None else np.asarray(v) for v in values]
            try:
                return np.stack(rows)
            except ValueError:  # the shape changes during the episode: not a column
                return None
    return None


def spikes_csr(spikes: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Per-tick index arrays -> ``{"indptr": (n+1,) int64, "indices": (M,) int32}``."""
    counts = np.fromiter(map(len, spikes), dtype=np.int64, count=len(spikes))
    indptr = np.zeros(len(spikes) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.concatenate(spikes).astype(np.int32, copy=False)
    return {"indptr": indptr, "indices": indices}
