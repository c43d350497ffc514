"""Progress bars of training: one run (:class:`ProgressBarCallback`, a training callback) and a
seed sweep (:class:`_SeedBars`, fed by the workers' :class:`_Report` callbacks). rich is
imported only when a bar is shown."""

from __future__ import annotations

import queue as queue_lib
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neurofit.agents._train_loop import TrainResult


def _rich_bar(bar_width: int) -> Any:
    """A rich ``Progress`` on stderr: description, bar, done/total, elapsed, remaining, and a
    ``stats`` field."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("{task.description}"), BarColumn(bar_width=bar_width),
                    MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    TextColumn("{task.fields[stats]}"), console=Console(stderr=True))


class _Progress:
    """A rich progress bar on stderr (steps; last episode's return, RMS tracking error,
    spike rate)."""

    def __init__(self, total: int, done: int, *, enabled: bool, title: str) -> None:
        self._enabled = enabled
        if not enabled:
            return
        self._bar = _rich_bar(bar_width=40)
        self._task = self._bar.add_task(title, total=total, completed=done, stats="")
        self._pending = 0

    def __enter__(self) -> _Progress:
        if self._enabled:
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._enabled:
            self._bar.update(self._task, advance=self._pending)
            self._bar.__exit__(None, None, None)

    def advance(self, row: dict[str, Any] | None) -> None:
        """One step done, with the episode's row when it ended."""
        if not self._enabled:
            return
        self._pending += 1
        if row is None and self._pending < 50:
            return
        fields: dict[str, Any] = {}
        if row is not None:
            fields["stats"] = _row_summary(row)
        self._bar.update(self._task, advance=self._pending, **fields)
        self._pending = 0


class ProgressBarCallback:
    """A training callback that shows a rich progress bar on stderr while training runs
    (Stable-Baselines3's ``ProgressBarCallback``): steps done of the budget, and the last
    episode's return, RMS tracking error and spike rate.

    Args:
        title: the bar's label.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._bar: _Progress | None = None

    def on_training_start(self, locals_: dict[str, Any]) -> None:
        """Open the bar at ``locals_["step"]`` of ``locals_["total_steps"]``."""
        self._bar = _Progress(locals_["total_steps"], locals_["step"], enabled=True,
                              title=self.title)
        self._bar.__enter__()

    def on_step(self, locals_: dict[str, Any]) -> bool:
        """One step done (never stops training)."""
        if self._bar is not None:
            self._bar.advance(locals_["episode_row"])
        return True

    def on_training_end(self, locals_: dict[str, Any]) -> None:
        """Close the bar."""
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _row_summary(row: dict[str, Any]) -> str:
    """One line of an episode row: episode, return, RMS tracking error, spike rate."""
    parts = [f"ep {row['episode']}", f"return {row['return']:.4g}"]
    if row.get("rms_tracking_error_mm") is not None:
        parts.append(f"RMS tracking {row['rms_tracking_error_mm']:.3g} mm")
    if row.get("spike_rate_hz") is not None:
        parts.append(f"{row['spike_rate_hz']:.1f} Hz")
    return " | ".join(parts)


class _SeedBars:
    """Rich progress on stderr for a seed sweep: one task per seed, fed by :class:`_Report`
    messages ``(slot, step, summary)`` from wherever the seeds run."""

    def __init__(self, seeds: Sequence[int], total: int, *, enabled: bool, title: str) -> None:
        self._enabled = enabled
        if not enabled:
            return
        self._bar = _rich_bar(bar_width=20)
        self._title = f"{title}: {len(seeds)} seed(s)"
        self._tasks = [self._bar.add_task(f"seed {s}", total=total, stats="waiting")
                       for s in seeds]
        self._done: set[int] = set()

    def __enter__(self) -> _SeedBars:
        if self._enabled:
            self._bar.console.print(self._title, highlight=False)
            self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._enabled:
            self._bar.__exit__(None, None, None)

    def update(self, slot: int, step: int, summary: str | None) -> None:
        """Seed ``slot`` has done ``step`` steps (``summary``: its last episode, if new)."""
        if not self._enabled or slot in self._done:  # a late message of a finished seed
            return
        fields = {"stats": summary} if summary is not None else {}
        self._bar.update(self._tasks[slot], completed=step, **fields)

    def finish(self, slot: int, result: TrainResult) -> None:
        """Seed ``slot`` is done: its final step count and last episode."""
        if not self._enabled:
            return
        self._done.add(slot)
        last = _row_summary(result.metrics[-1]) if result.metrics else ""
        self._bar.update(self._tasks[slot], completed=result.steps,
                         stats=f"done in {result.wall_s:.0f} s | {last}")

    def drain(self, queue: Any) -> None:
        """Apply every message waiting in ``queue`` (never blocks)."""
        if queue is None:
            return
        while True:
            try:
                msg = queue.get_nowait()
            except queue_lib.Empty:  # Ray's queue raises a subclass of it
                return
            self.update(*msg)


class _Report:
    """A training callback that reports one seed's progress to :class:`_SeedBars`: its step at
    most every ``interval_s`` seconds, and each finished episode's summary. ``sink`` is a
    queue (``put``) from a worker process or Ray task, or the bars themselves in-process."""

    def __init__(self, sink: Any, slot: int, interval_s: float = 0.25) -> None:
        self._sink = sink
        self._slot = slot
        self._interval_s = interval_s
        self._next = 0.0

    def on_step(self, locals_: dict[str, Any]) -> bool:
        row = locals_["episode_row"]
        now = time.monotonic()
        if row is not None or now >= self._next:
            self._next = now + self._interval_s
            msg = (self._slot, locals_["step"], None if row is None else _row_summary(row))
            if isinstance(self._sink, _SeedBars):
                self._sink.update(*msg)
            else:
                self._sink.put(msg)
        return True
