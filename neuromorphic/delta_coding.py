"""Change-driven coding: send-on-delta (sigma-delta) encoders and integrating decoders.

A rate code pays for a steady signal at every tick and decodes it with a noise floor. A
change-driven code pays only when the signal moves (O'Connor & Welling, "Sigma-delta quantized
networks", arXiv:1611.02024; Neil et al., "Delta networks", ICML 2017; the sigma-delta neurons
and graded spikes of Loihi 2, Orchard et al. 2021):

- :class:`SigmaDeltaEncoder` keeps, per dimension, the last value it transmitted. It emits an
  event only when the input has moved by at least one quantum from it (``|x − last| ≥ q``);
  between events nothing is sent. Two event kinds:

  * ``graded=False`` (send-on-delta with unit events): the fewest ``|k|`` signed events of
    one quantum each that bring ``last + k·q`` within a quantum of ``x`` (``k = trunc((x −
    last) / q)`` up to rounding), ``last += k·q`` — counted as ``|k|`` events;
  * ``graded=True`` (Loihi 2 graded spikes): one event carrying the whole change ``x − last``,
    ``last = x`` — counted as one event.

  Either way ``|x − last| < q`` after every tick: the receiver's reconstruction is never off by
  a quantum or more, and a constant input sends nothing after its first tick.
- :class:`IntegratingDecoder` accumulates signed, weighted events, ``value += events @ weights``,
  and holds its value between events: there is no filter, so a constant output costs nothing to
  hold and has no rate-coding noise floor. Each nonzero event costs one synaptic event per
  output (its fan-out), and only those are counted.

Both are allocation-free per tick, keep their state as flat arrays (:meth:`state` /
:meth:`set_state` for checkpoints) and use no randomness.
"""

from __future__ import annotations

import numpy as np

from neurofit.neuromorphic._checks import check_array_finite
from neurofit.neuromorphic._jit import njit

__all__ = ["IntegratingDecoder", "SigmaDeltaEncoder"]


def _as_vector(name: str, x: np.ndarray, n: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {x.shape}")
    check_array_finite(name, x)
    return x


class SigmaDeltaEncoder:
    """Send-on-delta encoder: one signed event per quantum of change, per dimension.

    Args:
        n_dims: input dimensions.
        quantum: the change that triggers an event, > 0; a scalar for every dimension or one
            value per dimension (shape ``(n_dims,)``), e.g. 1 cm for positions and 0.1 rad for
            angles in one field.
        graded: one graded event carrying the whole change (Loihi 2) instead of ``k`` unit
            events of one quantum.

    Attributes:
        last: the value each dimension last transmitted (the receiver's reconstruction).
        events: events emitted since construction or the last :meth:`reset`.
    """

    def __init__(self, n_dims: int, quantum: float | np.ndarray, *, graded: bool = False
                 ) -> None:
        if isinstance(n_dims, bool) or not isinstance(n_dims, (int, np.integer)) or n_dims < 1:
            raise ValueError(f"n_dims must be a positive integer, got {n_dims!r}")
        q = np.broadcast_to(np.asarray(quantum, dtype=np.float64), (n_dims,)).copy()
        if not (np.all(np.isfinite(q)) and np.all(q > 0.0)):
            raise ValueError(f"quantum must be finite and > 0 in every dimension, got {quantum!r}")
        self.n_dims = int(n_dims)
        self.quantum = q
        self.graded = bool(graded)
        self.last = np.zeros(self.n_dims)
        self.events = 0

    def encode(self, x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Events for this tick's input ``x`` (shape ``(n_dims,)``), in input units.

        ``out[d]`` is the change transmitted on dimension ``d`` this tick (``k·q`` for ``k`` unit
        events, the graded value, or 0 when nothing is sent); the receiver adds it to its copy
        of :attr:`last`. The number of events emitted is added to :attr:`events` and is
        :meth:`encode_unchecked`'s return value.
        """
        x = _as_vector("input", x, self.n_dims)
        if out is None:
            out = np.empty(self.n_dims)
        elif out.shape != (self.n_dims,) or out.dtype != np.float64:
            raise ValueError(f"out must be a float64 array of shape ({self.n_dims},), got "
                             f"{out.dtype} {out.shape}")
        self.encode_unchecked(x, out)
        return out

    def encode_unchecked(self, x: np.ndarray, out: np.ndarray) -> int:
        """:meth:`encode` without checks (hot path); returns this tick's event count."""
        n = _send_on_delta(x, self.last, self.quantum, self.graded, out)
        self.events += n
        return n

    def reset(self, x0: np.ndarray | None = None) -> None:
        """Forget the transmitted state (to ``x0``, or zeros) and the event count."""
        self.last[:] = 0.0 if x0 is None else _as_vector("x0", x0, self.n_dims)
        self.events = 0

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the state arrays, for a checkpoint."""
        return {"last": self.last.copy(), "events": np.array(self.events, dtype=np.int64)}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state` returned."""
        self.last[:] = _as_vector("state['last']", state["last"], self.n_dims)
        self.events = int(state["events"])


@njit
def _send_on_delta(x, last, quantum, graded, out):
    """Write each dimension's transmitted change to ``out``; return the events emitted."""
    n_events = 0
    for d in range(x.shape[0]):
        diff = x[d] - last[d]
        q = quantum[d]
        if abs(diff) < q:
            out[d] = 0.0
        elif graded:
            out[d] = diff
            last[d] = x[d]
            n_events += 1
        else:
            k = np.trunc(diff / q)
            sign = 1.0 if diff > 0.0 else -1.0
            # the rounded quotient can be off by one: take the fewest events that bring the
            # value the receiver computes, last + k·q, within a quantum of the input
            while abs(x[d] - (last[d] + k * q)) >= q:
                k += sign
            while k != 0.0 and abs(x[d] - (last[d] + (k - sign) * q)) < q:
                k -= sign
            step = k * q
            out[d] = step
            last[d] += step
            n_events += int(abs(k))
    return n_events


class IntegratingDecoder:
    """Accumulates signed weighted events and holds the sum between them (a sigma stage).

    ``update(events)`` adds ``events @ weights`` to :attr:`value`: with the identity as weights
    it reconstructs a :class:`SigmaDeltaEncoder`'s :attr:`~SigmaDeltaEncoder.last` exactly;
    with decoders it turns an output population's signed spike counts into a held command.

    Args:
        weights: shape ``(n_in, n_out)``; row ``i`` is what one unit of input ``i`` adds.

    Attributes:
        value: the decoded output (a reused array).
        synaptic_events: weighted adds performed (``n_out`` per nonzero input event) since
            construction or the last :meth:`reset`.
    """

    def __init__(self, weights: np.ndarray) -> None:
        w = np.array(weights, dtype=np.float64)
        if w.ndim != 2 or 0 in w.shape:
            raise ValueError(f"weights must be a non-empty 2-D array (n_in, n_out), got shape "
                             f"{w.shape}")
        check_array_finite("weights", w)
        self.weights = w
        self.value = np.zeros(w.shape[1])
        self.synaptic_events = 0

    def update(self, events: np.ndarray) -> np.ndarray:
        """Add one tick's events (shape ``(n_in,)``); return :attr:`value`."""
        events = _as_vector("events", events, self.weights.shape[0])
        self.update_unchecked(events)
        return self.value

    def update_unchecked(self, events: np.ndarray) -> int:
        """:meth:`update` without checks (hot path); returns this tick's synaptic events."""
        n = _integrate(events, self.weights, self.value)
        self.synaptic_events += n
        return n

    def reset(self, value: np.ndarray | None = None) -> None:
        """Set the held value (to ``value``, or zeros) and forget the event count."""
        self.value[:] = 0.0 if value is None else _as_vector("value", value, self.value.size)
        self.synaptic_events = 0

    def state(self) -> dict[str, np.ndarray]:
        """Copies of the state arrays, for a checkpoint."""
        return {"value": self.value.copy(),
                "synaptic_events": np.array(self.synaptic_events, dtype=np.int64)}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`state` returned."""
        self.value[:] = _as_vector("state['value']", state["value"], self.value.size)
        self.synaptic_events = int(state["synaptic_events"])


@njit
def _integrate(events, weights, value):
    """``value += events @ weights`` over the nonzero events; return the adds performed."""
    n = 0
    for i in range(events.shape[0]):
        e = events[i]
        if e != 0.0:
            for k in range(value.shape[0]):
                value[k] += e * weights[i, k]
            n += value.shape[0]
    return n
