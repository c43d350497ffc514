"""Atomic file writes: the one helper every writer of the stack uses.

A file is written to a unique temporary name beside its destination (``.<name>.<pid>.<id>.tmp``,
mode from the umask) and renamed onto it with :func:`os.replace`, so a reader sees the old file
or the new one, never a partial one; on any failure (a full disk, an interrupt) the temporary
file is removed and the destination is untouched. Stale temporaries of a killed writer all end
in ``.tmp``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

__all__ = ["atomic_write", "write_npz"]


def atomic_write(path: str | Path, data: bytes | Callable[[BinaryIO], None], *,
                 durable: bool = False, opener: Callable[..., Any] = open) -> None:
    """Write ``data`` (bytes, or a function writing to the open binary file) to ``path``
    atomically (module docstring); ``durable`` fsyncs the file before the rename.

    ``opener`` opens the temporary file (``opener(name, "wb")``): a writer passes its own
    module's ``open`` so that tests can give it a disk that fills up.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with opener(tmp, "wb") as f:
            if isinstance(data, (bytes, bytearray, memoryview)):
                f.write(data)
            else:
                data(f)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_npz(path: str | Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` of ``arrays`` to ``path``, atomically (read it back with ``load_npz``)."""
    atomic_write(path, lambda f: np.savez(f, **arrays))
