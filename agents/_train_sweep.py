"""A seed sweep (:func:`train_many`): one run per seed, in worker processes or on Ray, with one
progress bar per seed."""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import os
import signal
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents._run_dir import (
    SEEDS_FILE,
    _write_json,
)
from neurofit.agents._train_config import TrainConfig
from neurofit.agents._train_loop import TrainResult, train
from neurofit.agents._train_progress import _Report, _SeedBars

_CLUSTER_HINT = (
    "backend='ray' needs Ray: install the cluster extra, e.g. pip install 'neurofit[cluster]'"
)


# ---------------------------------------------------------------------------------- seeds
#: a worker process's progress queue, set by :func:`_init_worker` (a multiprocessing queue can
#: reach a spawned process only at its start, not as a task argument)
_WORKER_QUEUE: Any = None
_WORKER_STOP: Any = None


def _init_worker(queue: Any, stop: Any = None) -> None:
    global _WORKER_QUEUE, _WORKER_STOP
    _WORKER_QUEUE = queue
    _WORKER_STOP = stop
    if queue is not None:
        queue.cancel_join_thread()  # progress is disposable: never hold up the worker's exit
    # Ctrl-C reaches the parent, which sets ``stop``: a worker that took SIGINT itself would
    # report the interrupt as its task's result and go on to the next queued seed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _StopWhenSet:
    """A training callback that interrupts the run (as Ctrl-C would) once ``event`` is set.

    It looks every ``every`` steps: a multiprocessing event is a lock and a shared-memory read,
    too dear for every step of a loop that takes tens of microseconds.
    """

    def __init__(self, event: Any, every: int = 64) -> None:
        self._event = event
        self._every = every
        self._steps = 0

    def on_step(self, locals_: dict[str, Any]) -> bool:
        self._steps += 1
        if self._steps % self._every == 0 and self._event.is_set():
            raise KeyboardInterrupt
        return True


def _train_worker(config: dict[str, Any], run_dir: str, resume: bool,
                  slot: int | None = None, sink: Any = None) -> TrainResult:
    """One seed's :func:`train`; with ``slot``, progress goes to ``sink`` (or this worker
    process's queue)."""
    sink = _WORKER_QUEUE if sink is None else sink
    callbacks: list[Any] = [_Report(sink, slot)] if slot is not None and sink is not None else []
    if _WORKER_STOP is not None:
        if _WORKER_STOP.is_set():  # a seed still queued when the sweep was interrupted
            raise KeyboardInterrupt
        callbacks.append(_StopWhenSet(_WORKER_STOP))
    return train(TrainConfig.from_dict(config), run_dir, resume=resume, callbacks=callbacks,
                 progress=False)


def _ray_queue() -> Any:
    """A Ray queue for the tasks' progress; its actor takes no CPU from the seeds."""
    from ray.util.queue import Queue

    return Queue(actor_options={"num_cpus": 0})


def _ray_poll(running: list[Any], refs: list[Any], bars: _SeedBars, rq: Any) -> list[Any]:
    """Wait up to 0.1 s for a Ray task to finish, show progress; the tasks still running."""
    import ray

    done, running = ray.wait(running, num_returns=1, timeout=0.1)
    bars.drain(rq)
    for ref in done:
        bars.finish(refs.index(ref), ray.get(ref))
    return running


def _gather_pool(futures: list[Any], bars: _SeedBars, queue: Any,
                 stop: Any) -> list[TrainResult]:
    """The futures' results in order, showing progress while they run.

    On Ctrl-C, or when a seed fails: queued seeds are cancelled, running ones are told to stop
    (``stop``) and waited for — each leaves its run resumable — and the interrupt (or the
    seed's error) goes on to the caller.
    """
    slot_of = {f: i for i, f in enumerate(futures)}
    results: list[Any] = [None] * len(futures)
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
            bars.drain(queue)
            for f in done:
                results[slot_of[f]] = f.result()
                bars.finish(slot_of[f], results[slot_of[f]])
    except BaseException:
        stop.set()
        for f in futures:
            f.cancel()
        wait(futures)
        raise
    return results


#: Thread settings of every seed worker, process pool and Ray alike (Ray would otherwise set
#: OMP_NUM_THREADS=1, and a pool worker would take one BLAS thread per core): one thread each,
#: so parallel seeds do not oversubscribe the cores and every backend runs the same settings.
#: BLAS libraries read them when they load, so they go into the worker's environment at its
#: start. Results do not depend on them: training calls no BLAS routine whose rounding follows
#: the thread count (``fit_decoders`` solves in plain loops for this reason).
_WORKER_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                      "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
                                      "NUMBA_NUM_THREADS")}


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` inside the block (inherited by processes started there)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def train_many(config: TrainConfig, seeds: Sequence[int], workers: int = 1,
               run_root: str | Path = "runs", *, backend: str = "local",
               resume: bool = False, progress: bool = True) -> list[TrainResult]:
    """:func:`train` for each seed, in parallel processes; run dirs ``<run_root>/seed_<k>``.

    Args:
        config: the run's config (its ``seed`` is replaced by each of ``seeds``).
        seeds: distinct non-negative seeds.
        workers: seeds at a time: processes (``"local"``: a spawn-context
            ProcessPoolExecutor; 1 runs in this process) or Ray tasks. Each worker runs with
            one BLAS/OpenMP thread (``_WORKER_ENV``); results do not depend on it.
        run_root: parent directory of the seed runs; gets a ``seeds.json`` listing them.
        backend: ``"local"`` or ``"ray"`` (``ray.init()`` joins the cluster named by
            ``RAY_ADDRESS``, else the latest ``ray start`` on this machine, else starts a
            local one; the run root must be on a disk every node mounts at the same path).
        resume: resume each seed's run.
        progress: show live progress on stderr, one bar per seed (steps done, last episode's
            return and RMS tracking error), reported by the workers as they train.

    Returns:
        The seeds' results, in the order of ``seeds``.
    """
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ValueError(f"seeds must be distinct non-negative integers, got {seeds}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    root = Path(run_root)
    configs = [dataclasses.replace(config, seed=s).to_dict() for s in seeds]
    dirs = [str(root / f"seed_{s}") for s in seeds]
    # listed before training, so an interrupted sweep resumes without repeating --seeds
    root.mkdir(parents=True, exist_ok=True)
    _write_json(root / SEEDS_FILE, {"seeds": seeds, "runs": [f"seed_{s}" for s in seeds],
                                    "config": config.resolved().to_dict()})
    bars = _SeedBars(seeds, config.total_steps, enabled=progress,
                     title=f"{config.agent} {config.env_id.split('/')[-1]}")
    slots: list[int | None] = [i if progress else None for i in range(len(seeds))]
    if backend == "ray":
        try:
            import ray
        except ImportError as exc:
            raise ImportError(_CLUSTER_HINT) from exc
        ray.init(ignore_reinit_error=True)  # RAY_ADDRESS, else a local `ray start`, else new
        task = ray.remote(num_cpus=1, runtime_env={"env_vars": _WORKER_ENV})(_train_worker)
        # absolute run dirs: a task on another node does not run in this working directory
        absolute = [str(Path(d).absolute()) for d in dirs]
        refs: list[Any] = []
        running: list[Any] = []
        rq = _ray_queue() if progress else None
        try:
            with bars:
                try:
                    for i, (c, d) in enumerate(zip(configs, absolute, strict=True)):
                        while len(running) >= workers:  # at most `workers` seeds at a time
                            running = _ray_poll(running, refs, bars, rq)
                        refs.append(task.remote(c, d, resume, slots[i], rq))
                        running.append(refs[-1])
                    while running:
                        running = _ray_poll(running, refs, bars, rq)
                except KeyboardInterrupt:
                    for ref in running:  # KeyboardInterrupt in the task: its run stays resumable
                        ray.cancel(ref)
                    ray.wait(running, num_returns=len(running), timeout=60)
                    raise
            results = ray.get(refs)
        finally:
            if rq is not None:
                rq.shutdown()
    elif workers == 1:
        results = []
        with bars:
            for i, (c, d) in enumerate(zip(configs, dirs, strict=True)):
                results.append(_train_worker(c, d, resume, slots[i], bars))
                bars.finish(i, results[-1])
    else:
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue() if progress else None
        stop = ctx.Event()
        with bars, _environ(_WORKER_ENV), ProcessPoolExecutor(
                max_workers=min(workers, len(seeds)), mp_context=ctx,
                initializer=_init_worker, initargs=(queue, stop)) as pool:
            futures = [pool.submit(_train_worker, c, d, resume, slots[i])
                       for i, (c, d) in enumerate(zip(configs, dirs, strict=True))]
            results = _gather_pool(futures, bars, queue, stop)
    return list(results)
