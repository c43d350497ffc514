"""Writes finished episodes into a dataset directory (private; see :mod:`~.recording`).

Every HDF5 file is built or edited in memory (HDF5's core driver without a backing store, or
a ``BytesIO``) and its bytes are written with ordinary file I/O to a temporary name, then
renamed into place. So a killed process leaves each file complete or absent, and a full disk
is a clean ``OSError`` on one ``write`` (HDF5 writing straight onto a full disk fails inside
``H5Fclose`` and can crash the process): the temporary file is removed and
:class:`DiskFullError` says so.
"""

from __future__ import annotations

import errno
import functools
import io
import itertools
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurofit.envs._record_format import (
    CHECKSUM_ATTR,
    DATASET_ATTR,
    EPISODES_DIR,
    MAIN_FILE,
    METADATA_FILE,
    DiskFullError,
    RecordingError,
    dataset_description,
    episode_digests,
    value_digest,
)
from neurofit.neuromorphic._atomic import atomic_write

_MEMORY_FILES = itertools.count()
_DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def fsync_dir(path: Path) -> None:
    """Make a rename inside ``path`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def write_bytes_atomic(path: Path, data: bytes, durable: bool = False) -> None:
    """:func:`~neurofit.neuromorphic._atomic.atomic_write` of ``data`` (fsync-ed if
    ``durable``), with the recorder's errors.

    Raises:
        DiskFullError: no space left (the temporary file is removed, ``path`` is untouched).
        RecordingError: any other failure to write (names the file).
    """
    try:
        atomic_write(path, data, durable=durable, opener=open)  # open: tests patch it
    except BaseException as exc:  # interrupted or failed: no partial file is left behind
        if isinstance(exc, OSError) and exc.errno in _DISK_FULL:
            raise DiskFullError(path, len(data), _free_bytes(path.parent)) from exc
        if isinstance(exc, OSError):
            raise RecordingError(f"{path}: cannot write ({exc.strerror or exc})") from exc
        raise
    if durable:
        fsync_dir(path.parent)


def write_json_atomic(path: Path, obj: Any, durable: bool = False) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file and a rename."""
    write_bytes_atomic(path, json.dumps(obj).encode(), durable)


def _memory_file(track_order: bool = False) -> h5py.File:
    """A new HDF5 file that lives in memory only (its name just has to be unique)."""
    name = f"neurofit-memory-{os.getpid()}-{next(_MEMORY_FILES)}.hdf5"
    return h5py.File(name, "w", driver="core", backing_store=False, track_order=track_order)


def _image(f: h5py.File) -> bytes:
    """The bytes of a complete HDF5 file with ``f``'s content."""
    f.flush()
    return bytes(f.id.get_file_image())


def _link_target(index: int) -> tuple[str, str]:
    return f"{EPISODES_DIR}/episode_{index}.hdf5", f"/episode_{index}"


def write_main(data_dir: Path, indices: Iterable[int], durable: bool = False) -> None:
    """(Re)write ``main_data.hdf5`` with one external link per episode index."""
    with _memory_file(track_order=True) as f:
        for i in indices:
            f[f"episode_{i}"] = h5py.ExternalLink(*_link_target(i))
        data = _image(f)
    write_bytes_atomic(data_dir / MAIN_FILE, data, durable)


def add_main_link(data_dir: Path, index: int, durable: bool = False) -> None:
    """Link episode ``index`` in ``main_data.hdf5`` (edited in memory, then written whole);
    an unreadable main file is rebuilt with links to episodes ``0 .. index``."""
    main = data_dir / MAIN_FILE
    try:
        buf = io.BytesIO(main.read_bytes())
        with h5py.File(buf, "a") as f:
            name = f"episode_{index}"
            if name in f:
                del f[name]
            f[name] = h5py.ExternalLink(*_link_target(index))
    except (OSError, KeyError, ValueError, RuntimeError):  # missing or damaged: rebuild it
        write_main(data_dir, range(index + 1), durable)
        return
    write_bytes_atomic(main, buf.getvalue(), durable)


def _plain_dcpl() -> h5py.h5p.PropDCID:
    """Dataset creation properties for write-once arrays: no timestamps, no fill pass (the
    data is written right away). With the low-level calls this halves h5py's per-dataset cost,
    which dominates the time to write an episode (it has ~30 small datasets)."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_obj_track_times(False)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    return dcpl


@functools.lru_cache(maxsize=64)
def _h5_type(dtype: np.dtype[Any]) -> Any:
    """HDF5's type for ``dtype`` (built once per dtype: h5py takes ~5 µs to build one)."""
    return h5py.h5t.py_create(dtype, logical=True)


def _put(
    group: h5py.Group,
    name: str,
    value: Any,
    compression: str | None,
    dcpl: Any,
    digests: dict[str, str],
    path: str = "",
) -> None:
    """Write ``value`` (an array or a nested mapping of arrays) as ``group[name]``; record the
    digest of every dataset under its path (``path`` + ``name``) in ``digests``."""
    key = path + name
    if isinstance(value, Mapping):
        sub = group.create_group(name)
        for k, v in value.items():
            _put(sub, str(k), v, compression, dcpl, digests, key + "/")
        return
    value = np.asarray(value)
    if value.dtype.kind in "OU":  # read back: exactly what a reader's digest will see
        group.create_dataset(name, data=value.astype(object), dtype=h5py.string_dtype())
        digests[key] = value_digest(group[name][()])
        return
    digests[key] = value_digest(value)  # numbers and bools read back as written
    if compression is not None and value.size >= 1024:
        group.create_dataset(name, data=value, compression=compression)
        return
    value = np.ascontiguousarray(value)
    space = h5py.h5s.create_simple(value.shape) if value.ndim else h5py.h5s.create(h5py.h5s.SCALAR)
    ds = h5py.h5d.create(group.id, name.encode(), _h5_type(value.dtype), space, dcpl=dcpl)
    if value.size:
        ds.write(h5py.h5s.ALL, h5py.h5s.ALL, value)


class DatasetWriter:
    """Appends episodes to a dataset directory and keeps ``metadata.json`` in step.

    Args:
        data_dir: Minari's ``data`` directory (``metadata.json`` already written).
        meta: its metadata; ``total_episodes``/``total_steps``/``dataset_size`` are updated.
        durable: fsync before each rename.
        compression: HDF5 filter for arrays of >= 1024 elements.
    """

    def __init__(
        self,
        data_dir: str | Path,
        meta: dict[str, Any],
        durable: bool = False,
        compression: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.meta = meta
        self.durable = durable
        self.compression = compression

    def episode(
        self,
        index: int,
        steps: int,
        attrs: Mapping[str, Any],
        tree: Mapping[str, Any],
    ) -> Path:
        """Write episode ``index`` (file, then Minari link, then metadata); returns its file.

        The episode group also gets the dataset's description (:data:`DATASET_ATTR`) and the
        checksum of every dataset and attribute (:data:`CHECKSUM_ATTR`), computed from the
        values as written. Episodes are numbered ``0 .. index`` (``main_data.hdf5`` links them).

        Raises:
            DiskFullError: no space left. The file being written is removed; if that was the
                link or the metadata, the episode's own file is kept (and counted by the next
                episode's write, or by :func:`~neurofit.envs.recording.repair_dataset`).
        """
        folder = self.data_dir / EPISODES_DIR
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"episode_{index}.hdf5"
        dcpl = _plain_dcpl()
        with _memory_file() as f:
            g = f.create_group(f"episode_{index}")
            g.attrs.update(attrs)
            g.attrs[DATASET_ATTR] = dataset_description(self.meta)
            digests: dict[str, str] = {}
            for name, value in tree.items():
                _put(g, name, value, self.compression, dcpl, digests)
            digests.update(episode_digests({}, g.attrs))  # attributes: as read back
            g.attrs[CHECKSUM_ATTR] = json.dumps({"algorithm": "sha256", "digests": digests})
            data = _image(f)
        write_bytes_atomic(final, data, self.durable)
        meta = self.meta  # counts the episode from here on, even if what follows fails
        meta["total_episodes"] = index + 1
        meta["total_steps"] = int(meta["total_steps"]) + int(steps)
        size = float(meta.get("dataset_size") or 0.0) + len(data) / 1e6
        meta["dataset_size"] = round(size, 3)
        add_main_link(self.data_dir, index, self.durable)
        write_json_atomic(self.data_dir / METADATA_FILE, meta, self.durable)
        return final
