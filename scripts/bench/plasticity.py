"""``neurofit bench plasticity``: what on-chip learning costs, and what precision does to it.

Both measurements use the engine's reference learning task,
:class:`~neurofit.scripts.bench.function_learning.FunctionLearner`: 800 Gaussian-receptive-field
neurons project all-to-all (160,000 plastic synapses) onto 200 NEF neurons whose fixed decoders
read out ``ŷ``; PES learns ``y = sin(πx)`` online; 10 substeps per 1 ms control tick.

- **Cost of learning**: the median time of one control tick with learning off (the same
  network built without plasticity) and on (PES, the modulator set every tick).
  ``step_us_*`` times the one compiled network call per tick (where plasticity runs);
  ``tick_us_*`` the whole controller tick (encode ``x``, that call, decode, write the
  modulator). ``learning_overhead = step_us_learning_on / step_us_learning_off`` (target ≤ 2).
  Repeats alternate off and on, so a change of machine load hits both alike; the median is
  over every tick of every repeat, after a warm-up tick that loads the compiled kernels.
- **Precision curve**: the frozen RMSE (learning off, ``eval_s`` seconds) after ``duration_s``
  of online learning, for stored weight precisions × fixed-pattern mismatch σ of gains and
  thresholds (:class:`~neurofit.neuromorphic.analog.AnalogProfile`); ``bits: null`` is float.
  Stochastic rounding at 8 bits and fewer, deterministic above. ``rmse_untrained`` is the same
  evaluation of the untrained (float, ideal) network.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from neurofit.scripts._machine import machine_info

__all__ = [
    "DEFAULT_BITS",
    "DEFAULT_MISMATCH",
    "LEARNING_OVERHEAD_TARGET",
    "measure_learning_cost",
    "precision_curve",
    "run_bench",
]

#: Stored weight precisions of the precision curve (``None``: float).
DEFAULT_BITS: tuple[int | None, ...] = (4, 6, 8, 16, None)
#: Relative gain and threshold mismatch σ of the precision curve.
DEFAULT_MISMATCH: tuple[float, ...] = (0.0, 0.1, 0.2)
#: The issue's target for ``learning_overhead``.
LEARNING_OVERHEAD_TARGET = 2.0
#: Weights at this precision or coarser are rounded stochastically.
STOCHASTIC_AT_OR_BELOW_BITS = 8


def _learner(seed: int, *, plastic: bool = True, bits: int | None = None,
             mismatch: float = 0.0) -> Any:
    from neurofit.neuromorphic.analog import AnalogProfile
    from neurofit.scripts.bench.function_learning import FunctionLearner

    analog = AnalogProfile(gain_mismatch=mismatch, threshold_mismatch=mismatch) if mismatch \
        else None
    stochastic = bits is not None and bits <= STOCHASTIC_AT_OR_BELOW_BITS
    return FunctionLearner(seed=seed, plastic=plastic, weight_bits=bits, analog=analog,
                           stochastic_rounding=stochastic)


@contextmanager
def _timing_steps(net: Any, into: list[float]) -> Iterator[None]:
    """Record the wall time of every ``net.step`` call made inside the block."""
    step, clock = net.step, time.perf_counter

    def timed(n_substeps: int = 1) -> Any:
        start = clock()
        counts = step(n_substeps)
        into.append(clock() - start)
        return counts

    net.step = timed
    try:
        yield
    finally:
        del net.step  # the class's method again


def _timed_ticks(learner: Any, n_ticks: int, learn: bool) -> tuple[list[float], list[float]]:
    """Run ``n_ticks`` ticks of the task; return per-tick wall times (whole tick, step only)."""
    from neurofit.scripts.bench.function_learning import sine_target, wandering_input

    tick, clock = learner.tick, time.perf_counter
    ticks: list[float] = []
    steps: list[float] = []
    t0 = learner.net.t_s
    with _timing_steps(learner.net, steps):
        for k in range(n_ticks):
            x = wandering_input(t0 + k * learner.tick_s)
            target = float(sine_target(x))
            start = clock()
            tick(x, target, learn)
            ticks.append(clock() - start)
    return ticks, steps


def measure_learning_cost(duration_s: float = 10.0, repeats: int = 3, seed: int = 0,
                          on_repeat: Callable[[], None] | None = None) -> dict[str, Any]:
    """Median µs per control tick of the function-learning network, learning off and on."""
    if duration_s <= 0 or repeats < 1:
        raise ValueError(f"duration_s and repeats must be positive, got {duration_s}, {repeats}")
    learners = {"off": _learner(seed, plastic=False), "on": _learner(seed)}
    n_ticks = max(round(duration_s / learners["on"].tick_s), 1)
    for name, learner in learners.items():  # warm-up: load the compiled kernels
        _timed_ticks(learner, 1, learn=name == "on")
    ticks: dict[str, list[float]] = {"off": [], "on": []}
    steps: dict[str, list[float]] = {"off": [], "on": []}
    updates_before = learners["on"].net.counts().weight_updates
    for _ in range(repeats):
        for name, learner in learners.items():
            t, s = _timed_ticks(learner, n_ticks, learn=name == "on")
            ticks[name] += t
            steps[name] += s
        if on_repeat is not None:
            on_repeat()
    on = learners["on"]
    updates = on.net.counts().weight_updates - updates_before
    us = {f"{kind}_us_learning_{name}": 1e6 * statistics.median(times[name])
          for kind, times in (("step", steps), ("tick", ticks)) for name in ("off", "on")}
    return {
        **us,
        "learning_overhead": us["step_us_learning_on"] / us["step_us_learning_off"],
        "tick_overhead": us["tick_us_learning_on"] / us["tick_us_learning_off"],
        "learning_overhead_target": LEARNING_OVERHEAD_TARGET,
        "weight_updates_per_tick": updates / (repeats * n_ticks),
        "timed_ticks": repeats * n_ticks,
        "network": {"neurons": on.net.n_neurons, "plastic_synapses": on.net.n_synapses,
                    "substeps": on.substeps, "tick_s": on.tick_s, "dt_s": on.net.dt_s},
    }


def precision_curve(bits: tuple[int | None, ...] = DEFAULT_BITS,
                    mismatch: tuple[float, ...] = DEFAULT_MISMATCH, duration_s: float = 10.0,
                    eval_s: float = 2.0, seed: int = 0,
                    on_point: Callable[[], None] | None = None) -> list[dict[str, Any]]:
    """Frozen RMSE after ``duration_s`` of PES learning, for every (bits, mismatch) pair."""
    from neurofit.scripts.bench.function_learning import rmse

    points = []
    for sigma in mismatch:
        for b in bits:
            learner = _learner(seed, bits=b, mismatch=sigma)
            start = time.perf_counter()
            learner.run(duration_s)
            error = rmse(learner.run(eval_s, learn=False))
            points.append({"bits": b, "mismatch": sigma, "rmse": error,
                           "wall_s": time.perf_counter() - start})
            if on_point is not None:
                on_point()
    return points


def run_bench(duration_s: float = 10.0, repeats: int = 3, eval_s: float = 2.0,
              bits: tuple[int | None, ...] = DEFAULT_BITS,
              mismatch: tuple[float, ...] = DEFAULT_MISMATCH, seed: int = 0,
              progress: Callable[[], None] | None = None) -> dict[str, Any]:
    """Both measurements and the machine, as one JSON-ready dict."""
    from neurofit.scripts.bench.function_learning import rmse

    cost = measure_learning_cost(duration_s, repeats, seed, on_repeat=progress)
    untrained = rmse(_learner(seed).run(eval_s, learn=False))
    curve = precision_curve(bits, mismatch, duration_s, eval_s, seed, on_point=progress)
    return {
        **cost,
        "rmse_untrained": untrained,
        "precision_curve": curve,
        "duration_s": duration_s,
        "eval_s": eval_s,
        "repeats": repeats,
        "seed": seed,
        "machine": machine_info(),
    }
