"""A training run's directory: its file names, atomic writes, metrics files and checkpoints
(the layout is in :mod:`neurofit.agents.training`'s docstring)."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import shlex
import shutil
import signal
import socket
import tempfile
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.neuromorphic._atomic import atomic_write
from neurofit.neuromorphic._checks import CorruptFileError, load_npz

CONFIG_FILE = "config.json"
METRICS_CSV = "metrics.csv"
METRICS_JSON = "metrics.json"
EVAL_CSV = "eval.csv"
CURVE_PNG = "learning_curve.png"
AGENT_FILE = "agent.npz"
CHECKPOINT_DIR = "checkpoints"
CHECKPOINT_FILE = "latest.npz"
STATE_FILE = "state.json"
SEEDS_FILE = "seeds.json"
PREVIOUS_FILE = "previous.npz"
CORRUPT_FILE = "latest.corrupt.npz"  # a damaged latest.npz, set aside by from_previous
LOCK_FILE = "train.lock"
_STATE_FORMAT = 1


# ---------------------------------------------------------------------------------- files
@contextlib.contextmanager
def _writing(path: Path) -> Iterator[None]:
    """An ``OSError`` in the block is re-raised naming ``path``, the file being written: a full
    disk's ENOSPC comes from ``write`` and names no file, and a failed temporary name means
    nothing to the user."""
    try:
        yield
    except OSError as exc:
        if exc.errno is None:  # ours, with its own message
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from exc


def _atomic_write(path: Path, data: bytes) -> None:
    """:func:`~neurofit.neuromorphic._atomic.atomic_write`, an ``OSError`` naming ``path``."""
    with _writing(path):
        atomic_write(path, data)


#: prefix of the directory the final agent is staged in (a kill leaves it; cleaned at start)
STAGING = ".staging-"


def _save_agent(agent: Any, path: Path) -> None:
    """``agent.save(path)`` staged in a temporary directory beside ``path`` (removed whatever
    happens), then renamed into place."""
    with _writing(path), _sigint_deferred(), tempfile.TemporaryDirectory(
            dir=path.parent, prefix=STAGING) as tmp:
        staged = Path(tmp) / path.name
        agent.save(staged)
        if staged.exists():  # agents with nothing to save write nothing
            os.replace(staged, path)


def _keep_as_previous(latest: Path, previous: Path) -> None:
    """Make ``previous`` a copy of ``latest`` (a hard link where the file system has them) by
    an atomic rename, so that ``latest`` stays in place until its successor replaces it."""
    tmp = previous.with_name(f".{previous.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        try:
            os.link(latest, tmp)
        except OSError:
            shutil.copyfile(latest, tmp)
        os.replace(tmp, previous)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_json(path: Path, obj: Any) -> None:
    _atomic_write(path, (json.dumps(obj, indent=2, allow_nan=False) + "\n").encode())


def _write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    columns: list[str] = []
    for r in rows:
        columns += [k for k in r if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if v is None else int(v) if isinstance(v, bool) else v)
                         for k, v in r.items()})
    _atomic_write(path, buf.getvalue().encode())


def _write_metrics(run_dir: Path, rows: list[dict[str, Any]],
                   evals: list[dict[str, Any]]) -> None:
    _write_csv(run_dir / METRICS_CSV, rows)
    _write_json(run_dir / METRICS_JSON, {"episodes": rows, "eval": evals})
    if evals:
        _write_csv(run_dir / EVAL_CSV, evals)


def _save_checkpoint(run_dir: Path, agent: Any, state: dict[str, Any]) -> None:
    """Agent arrays + trainer state in one npz (written to a temp name, then renamed), and
    ``state.json`` as its readable mirror. The npz alone is authoritative on resume. The
    checkpoint it replaces is kept as ``previous.npz``."""
    ckpt = run_dir / CHECKPOINT_DIR
    latest = ckpt / CHECKPOINT_FILE
    # Ctrl-C (or SIGTERM) waits for the whole checkpoint: it never splits latest.npz from its
    # state.json, nor interrupts a zip archive half-built (whose clean-up would print a
    # traceback at exit)
    with _writing(latest), _sigint_deferred():
        ckpt.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=ckpt) as tmp:
            agent_path = Path(tmp) / "agent.npz"
            agent.save(agent_path)
            arrays: dict[str, np.ndarray] = {}
            if agent_path.exists():
                with np.load(agent_path) as data:
                    arrays = {k: data[k] for k in data.files}
        blob = json.dumps(state, allow_nan=False).encode()
        arrays["trainer_state"] = np.frombuffer(blob, dtype=np.uint8)
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        if latest.exists():
            _keep_as_previous(latest, ckpt / PREVIOUS_FILE)
        _atomic_write(latest, buf.getvalue())
        _write_json(ckpt / STATE_FILE, state)


def raise_interrupt(signum: int, frame: Any) -> None:
    """A signal handler that stops a run as Ctrl-C does (``sigterm_as_interrupt``)."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Inside the block, SIGTERM (a scheduler's or ``kill``'s stop) ends a run as Ctrl-C does:
    the run stops at a checkpoint boundary, keeps what it wrote and can resume. Main thread
    only; elsewhere the block runs as is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _sigint_deferred() -> Iterator[None]:
    """Hold a SIGINT (or a SIGTERM that :func:`sigterm_as_interrupt` turned into an interrupt)
    that arrives inside the block and raise it (KeyboardInterrupt) after.

    Only in the main thread with Python's own Ctrl-C handler (a sweep worker ignores SIGINT);
    elsewhere the block runs as is.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    caught: list[int] = []
    held = [signal.SIGINT]
    if signal.getsignal(signal.SIGTERM) is raise_interrupt:
        held.append(signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda signum, _frame: caught.append(signum))
                for sig in held}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if caught:
        raise KeyboardInterrupt


def _read_checkpoint(path: Path) -> tuple[dict[str, Any], bool]:
    """The trainer state of the checkpoint ``path``, and whether it holds agent arrays.

    Raises:
        CorruptFileError: the file is damaged (read in full: every member's CRC is checked).
        ValueError: a checkpoint format this version does not read.
    """
    arrays = load_npz(path)
    if "trainer_state" not in arrays:
        raise CorruptFileError(path, "it holds no trainer state (not a training checkpoint)")
    try:
        state = json.loads(bytes(arrays["trainer_state"]).decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise CorruptFileError(path, "its trainer state is not valid JSON") from None
    if not isinstance(state, dict) or not isinstance(state.get("step"), int):
        raise CorruptFileError(path, "its trainer state has no step count")
    if state.get("format") != _STATE_FORMAT:
        raise ValueError(f"{path}: checkpoint format {state.get('format')!r}, "
                         f"this version reads {_STATE_FORMAT}")
    return state, len(arrays) > 1


def _checkpoint_step(path: Path) -> int | None:
    """The step of the checkpoint ``path``; None when it is missing or unreadable."""
    try:
        return int(_read_checkpoint(path)[0]["step"])
    except (OSError, ValueError):
        return None


def last_checkpoint_step(run_dir: str | Path) -> int | None:
    """The step of the latest checkpoint of the run in ``run_dir``, where a resume starts
    (None: it has none, or it is damaged)."""
    return _checkpoint_step(Path(run_dir) / CHECKPOINT_DIR / CHECKPOINT_FILE)


def _corrupt_checkpoint_advice(run_dir: Path) -> str:
    """What to do about a damaged ``latest.npz``: resume from ``previous.npz`` if it is
    intact, else start again."""
    previous = run_dir / CHECKPOINT_DIR / PREVIOUS_FILE
    step = _checkpoint_step(previous)
    if step is None:
        return (f"there is no intact previous checkpoint ({previous}), so the run cannot be "
                f"resumed: train again in a new run dir, or delete {run_dir / CHECKPOINT_DIR} "
                "to restart this one from step 0")
    return (f"the previous checkpoint {previous} (step {step}) is intact: resume from it with "
            f"neurofit train --run-dir {shlex.quote(str(run_dir))} --resume --from-previous (in "
            "Python: train(..., resume=True, from_previous=True)); the damaged file is then "
            f"kept as {CORRUPT_FILE} and the steps after {step} are trained again")


def _load_checkpoint(run_dir: Path, agent: Any, *, from_previous: bool = False
                     ) -> dict[str, Any] | None:
    """Restore ``agent`` from the run's latest checkpoint (or, with ``from_previous``, the one
    before it, when the latest is damaged) and return the trainer state (None: no checkpoint).
    Modifies no file."""
    ckpt = run_dir / CHECKPOINT_DIR
    latest = ckpt / CHECKPOINT_FILE
    path = latest
    if from_previous:
        path = ckpt / PREVIOUS_FILE
        if latest.exists() and _checkpoint_step(latest) is not None:
            raise ValueError(f"{latest} is intact: resume from it (leave out --from-previous)")
        if not path.exists():
            raise FileNotFoundError(f"{run_dir} has no previous checkpoint ({path})")
    elif not path.exists():
        return None
    try:
        state, has_agent = _read_checkpoint(path)
    except CorruptFileError as exc:
        advice = ("it cannot be resumed: train again in a new run dir" if from_previous
                  else _corrupt_checkpoint_advice(run_dir))
        raise CorruptFileError(path, f"{exc.reason}. Nothing was changed; {advice}") from None
    if has_agent:
        agent.load_state(path)
    return state


class RunLockedError(RuntimeError):
    """Another process is training in the run directory (it holds the run's ``train.lock``)."""


def _lock_run_dir(run_dir: Path) -> int:
    """Take the run dir's exclusive OS lock (``flock`` on ``train.lock``, which then holds this
    process's PID and host) and return its descriptor: closing it releases the lock, and so
    does the OS when the process ends, however it ends (a killed run leaves no stale lock).

    Raises:
        RunLockedError: another process holds the lock; the message gives its PID.
    """
    path = run_dir / LOCK_FILE
    with _writing(path):
        run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 256, 0).decode(errors="replace").split()
            who = (f"PID {holder[0]} on host {holder[1]}" if len(holder) == 2
                   else "a process that is just starting")
            raise RunLockedError(
                f"{run_dir} is in use: {who} is training in it (it holds {path}); wait until "
                "it ends, or stop it, then run this again") from None
        with _writing(path):
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _remove_stale_temps(run_dir: Path) -> None:
    """Delete what writers killed mid-write left behind in the run dir and its checkpoints:
    checkpoint staging directories ``tmp*``, the final agent's ``.staging-*`` and temporary
    files ``.<name>.<pid>.<id>.tmp`` and ``tmp*.npz.tmp``. Called only under the run's lock,
    when no writer can be active."""
    ckpt = run_dir / CHECKPOINT_DIR
    for folder in (run_dir, ckpt):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            if p.is_dir() and (p.name.startswith(STAGING)
                               or (folder == ckpt and p.name.startswith("tmp"))):
                shutil.rmtree(p, ignore_errors=True)
            elif p.is_file() and p.name.endswith(".tmp") and p.name.startswith((".", "tmp")):
                p.unlink(missing_ok=True)
