"""A failing seed stops the sweep: the others are told to stop and waited for, and the seed's
own error reaches the caller (as Ctrl-C does, issue 11's review finding)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from neurofit.agents._train_progress import _SeedBars
from neurofit.agents._train_sweep import _gather_pool, _StopWhenSet


def test_a_failing_seed_stops_the_others() -> None:
    stop = threading.Event()
    stopped: list[int] = []

    def seed_run(k: int) -> int:
        if k == 1:
            time.sleep(0.05)
            raise RuntimeError("seed 1 diverged")
        callback = _StopWhenSet(stop, every=1)
        for _ in range(2000):  # up to 20 s of "training"
            try:
                callback.on_step({})
            except KeyboardInterrupt:
                stopped.append(k)
                raise
            time.sleep(0.01)
        return k

    bars = _SeedBars([0, 1, 2], 100, enabled=False, title="test")
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(seed_run, k) for k in range(3)]
        with pytest.raises(RuntimeError, match="seed 1 diverged"):
            _gather_pool(futures, bars, None, stop)
    assert stop.is_set()
    assert sorted(stopped) == [0, 2]  # both others stopped, not run to the end
    assert time.perf_counter() - start < 10


def test_stop_callback_looks_every_n_steps() -> None:
    event = threading.Event()
    event.set()
    callback = _StopWhenSet(event, every=4)
    for _ in range(3):
        assert callback.on_step({})
    with pytest.raises(KeyboardInterrupt):
        callback.on_step({})
