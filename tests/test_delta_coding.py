"""Change-driven coding: the send-on-delta encoder and the integrating decoder against a naive
NumPy reference, the quantum bound on the reconstruction error, silence for a constant input,
event counts recounted from the signal, checkpoints and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neurofit.neuromorphic.delta_coding import IntegratingDecoder, SigmaDeltaEncoder


def _reference_encode(signal: np.ndarray, quantum: np.ndarray, graded: bool
                      ) -> tuple[np.ndarray, np.ndarray, int]:
    """Obviously-correct send-on-delta in plain Python: per tick and dimension, while the
    input is a quantum or more away from the transmitted value, send one quantum toward it
    (graded: send the whole difference once). Returns events (ticks, d), transmitted values
    (ticks, d) and the event count."""
    ticks, n = signal.shape
    last = np.zeros(n)
    events = np.zeros((ticks, n))
    held = np.zeros((ticks, n))
    count = 0
    for t in range(ticks):
        for d in range(n):
            if graded:
                if abs(signal[t, d] - last[d]) >= quantum[d]:
                    events[t, d] = signal[t, d] - last[d]
                    last[d] = signal[t, d]
                    count += 1
            else:
                k = 0
                while abs(signal[t, d] - (last[d] + k * quantum[d])) >= quantum[d]:
                    k += 1 if signal[t, d] > last[d] + k * quantum[d] else -1
                events[t, d] = k * quantum[d]
                last[d] += k * quantum[d]
                count += abs(k)
        held[t] = last
    return events, held, count


def _run(enc: SigmaDeltaEncoder, signal: np.ndarray) -> tuple[np.ndarray, np.ndarray, list]:
    events = np.zeros_like(signal)
    held = np.zeros_like(signal)
    per_tick = []
    out = np.empty(enc.n_dims)
    for t in range(signal.shape[0]):
        per_tick.append(enc.encode_unchecked(signal[t], out))
        events[t] = out
        held[t] = enc.last
    return events, held, per_tick


signals = st.integers(1, 3).flatmap(lambda n: st.tuples(
    st.lists(st.lists(st.floats(-50, 50), min_size=n, max_size=n), min_size=1, max_size=40),
    st.lists(st.floats(0.01, 5.0), min_size=n, max_size=n)))


@settings(max_examples=150, deadline=None)
@given(signals, st.booleans())
def test_encoder_matches_reference_and_bounds_the_error(data: tuple, graded: bool) -> None:
    signal, quantum = np.array(data[0]), np.array(data[1])
    enc = SigmaDeltaEncoder(signal.shape[1], quantum, graded=graded)
    events, held, per_tick = _run(enc, signal)
    ref_events, ref_held, ref_count = _reference_encode(signal, quantum, graded)
    np.testing.assert_allclose(held, ref_held, rtol=0, atol=1e-9)
    np.testing.assert_allclose(events, ref_events, rtol=0, atol=1e-9)
    assert enc.events == sum(per_tick) == ref_count
    # the reconstruction is never a quantum or more from the input, at every tick
    assert np.all(np.abs(signal - held) < quantum)


@settings(max_examples=100, deadline=None)
@given(signals, st.booleans())
def test_event_count_is_recounted_from_the_signal(data: tuple, graded: bool) -> None:
    """Unit events: the events of a dimension are its transmitted steps in quanta; graded:
    the ticks on which the transmitted value changed."""
    signal, quantum = np.array(data[0]), np.array(data[1])
    enc = SigmaDeltaEncoder(signal.shape[1], quantum, graded=graded)
    _, held, _ = _run(enc, signal)
    steps = np.diff(np.vstack([np.zeros(signal.shape[1]), held]), axis=0)
    if graded:
        recount = int(np.count_nonzero(steps))
    else:
        recount = int(np.rint(np.abs(steps) / quantum).sum())
    assert enc.events == recount


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-20, 20), min_size=1, max_size=4), st.floats(0.01, 2.0),
       st.booleans())
def test_constant_input_is_silent_after_the_first_tick(x: list, q: float, graded: bool) -> None:
    enc = SigmaDeltaEncoder(len(x), q, graded=graded)
    out = np.empty(len(x))
    enc.encode_unchecked(np.array(x), out)
    for _ in range(20):
        assert enc.encode_unchecked(np.array(x), out) == 0
        assert not out.any()


def test_unit_events_by_hand() -> None:
    enc = SigmaDeltaEncoder(2, [0.1, 1.0])
    out = enc.encode(np.array([0.35, -2.5]))
    np.testing.assert_allclose(out, [0.3, -2.0])  # 3 and 2 quanta toward the input
    assert enc.events == 5
    out = enc.encode(np.array([0.37, -2.5]))  # moved less than a quantum: nothing sent
    assert not out.any() and enc.events == 5
    out = enc.encode(np.array([0.16, -3.4]))  # 0.14 and 1.4 back: one quantum each
    np.testing.assert_allclose(out, [-0.1, -1.0])
    np.testing.assert_allclose(enc.last, [0.2, -3.0])
    assert enc.events == 7


def test_graded_events_by_hand() -> None:
    enc = SigmaDeltaEncoder(2, 0.5, graded=True)
    np.testing.assert_allclose(enc.encode(np.array([0.7, 0.2])), [0.7, 0.0])
    np.testing.assert_allclose(enc.encode(np.array([0.1, 0.6])), [-0.6, 0.6])
    assert enc.events == 3
    np.testing.assert_allclose(enc.last, [0.1, 0.6])


@settings(max_examples=80, deadline=None)
@given(signals, st.booleans())
def test_decoder_with_identity_reconstructs_the_transmitted_value(data: tuple,
                                                                  graded: bool) -> None:
    signal, quantum = np.array(data[0]), np.array(data[1])
    n = signal.shape[1]
    enc = SigmaDeltaEncoder(n, quantum, graded=graded)
    dec = IntegratingDecoder(np.eye(n))
    out = np.empty(n)
    adds = 0
    for t in range(signal.shape[0]):
        enc.encode_unchecked(signal[t], out)
        adds += n * int(np.count_nonzero(out))
        dec.update_unchecked(out)
        np.testing.assert_allclose(dec.value, enc.last, rtol=0, atol=1e-9)
        assert np.all(np.abs(dec.value - signal[t]) < quantum + 1e-9)
    assert dec.synaptic_events == adds


def test_decoder_matches_numpy_and_holds_between_events() -> None:
    rng = np.random.default_rng(3)
    w = rng.normal(size=(5, 2))
    dec = IntegratingDecoder(w)
    expected = np.zeros(2)
    adds = 0
    for _ in range(30):
        ev = rng.integers(-2, 3, size=5) * (rng.random(5) < 0.3)
        expected = expected + ev @ w
        adds += 2 * int(np.count_nonzero(ev))
        np.testing.assert_allclose(dec.update(ev.astype(float)), expected, atol=1e-12)
    assert dec.synaptic_events == adds
    held = dec.value.copy()
    for _ in range(10):  # no events: the value is held exactly and nothing is charged
        dec.update(np.zeros(5))
    np.testing.assert_array_equal(dec.value, held)
    assert dec.synaptic_events == adds


def test_state_round_trip_replays_exactly() -> None:
    rng = np.random.default_rng(0)
    signal = np.cumsum(rng.normal(size=(60, 3)), axis=0)
    enc, dec = SigmaDeltaEncoder(3, 0.3), IntegratingDecoder(rng.normal(size=(3, 2)))
    out = np.empty(3)
    for t in range(30):
        enc.encode_unchecked(signal[t], out)
        dec.update_unchecked(out)
    saved_enc, saved_dec = enc.state(), dec.state()
    enc2, dec2 = SigmaDeltaEncoder(3, 0.3), IntegratingDecoder(dec.weights)
    enc2.set_state(saved_enc)
    dec2.set_state(saved_dec)
    out2 = np.empty(3)
    for t in range(30, 60):
        enc.encode_unchecked(signal[t], out)
        dec.update_unchecked(out)
        enc2.encode_unchecked(signal[t], out2)
        dec2.update_unchecked(out2)
    np.testing.assert_array_equal(enc.last, enc2.last)
    np.testing.assert_array_equal(dec.value, dec2.value)
    assert (enc.events, dec.synaptic_events) == (enc2.events, dec2.synaptic_events)
    enc.reset()
    dec.reset()
    assert enc.events == dec.synaptic_events == 0 and not enc.last.any() and not dec.value.any()


@pytest.mark.parametrize("kwargs, field", [
    ({"n_dims": 0, "quantum": 1.0}, "n_dims"),
    ({"n_dims": 2, "quantum": 0.0}, "quantum"),
    ({"n_dims": 2, "quantum": [1.0, math.nan]}, "quantum"),
    ({"n_dims": 2, "quantum": -1.0}, "quantum"),
])
def test_bad_encoder_settings_name_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        SigmaDeltaEncoder(**kwargs)


def test_bad_inputs_name_the_field() -> None:
    enc = SigmaDeltaEncoder(2, 0.1)
    with pytest.raises(ValueError, match="input"):
        enc.encode(np.zeros(3))
    with pytest.raises(ValueError, match="input"):
        enc.encode(np.array([0.0, math.inf]))
    with pytest.raises(ValueError, match="out"):
        enc.encode(np.zeros(2), out=np.zeros(3))
    with pytest.raises(ValueError, match="weights"):
        IntegratingDecoder(np.zeros(3))
    with pytest.raises(ValueError, match="events"):
        IntegratingDecoder(np.eye(2)).update(np.zeros(3))
