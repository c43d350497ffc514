"""Writes finished episodes into a dataset directory (private; see :mod:`~.recording`).

Every file is written under a temporary name and renamed into place, so a killed process
leaves each file complete or absent; see the layout in :mod:`neurofit.envs.recording`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

MAIN_FILE = "main_data.hdf5"
METADATA_FILE = "metadata.json"
EPISODES_DIR = "episodes"
TMP_SUFFIX = ".tmp"


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


def fsync_file(path: Path) -> None:
    """Flush a closed file's data to disk."""
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def replace_atomic(tmp: Path, final: Path, durable: bool = False) -> None:
    """Rename a fully written ``tmp`` onto ``final`` (fsync first when ``durable``)."""
    if durable:
        fsync_file(tmp)
    os.replace(tmp, final)
    if durable:
        fsync_dir(final.parent)


def write_json_atomic(path: Path, obj: Any, durable: bool = False) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(path.name + TMP_SUFFIX)
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(json.dumps(obj))
    replace_atomic(tmp, path, durable)


def _link_target(index: int) -> tuple[str, str]:
    return f"{EPISODES_DIR}/episode_{index}.hdf5", f"/episode_{index}"


def write_main(data_dir: Path, indices: Iterable[int], durable: bool = False) -> None:
    """(Re)write ``main_data.hdf5`` with one external link per episode index."""
    main = data_dir / MAIN_FILE
    tmp = main.with_name(main.name + TMP_SUFFIX)
    with h5py.File(tmp, "w", track_order=True) as f:
        for i in indices:
            f[f"episode_{i}"] = h5py.ExternalLink(*_link_target(i))
    replace_atomic(tmp, main, durable)


def _plain_dcpl() -> h5py.h5p.PropDCID:
    """Dataset creation properties for write-once arrays: no timestamps, no fill pass (the
    data is written right away). With the low-level calls this halves h5py's per-dataset cost,
    which dominates the time to write an episode (it has ~30 small datasets)."""
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_obj_track_times(False)
    dcpl.set_fill_time(h5py.h5d.FILL_TIME_NEVER)
    return dcpl


def _put(group: h5py.Group, name: str, value: Any, compression: str | None, dcpl: Any) -> None:
    if isinstance(value, Mapping):
        sub = group.create_group(name)
        for k, v in value.items():
            _put(sub, str(k), v, compression, dcpl)
        return
    value = np.asarray(value)
    if value.dtype.kind in "OU":
        group.create_dataset(name, data=value.astype(object), dtype=h5py.string_dtype())
        return
    if compression is not None and value.size >= 1024:
        group.create_dataset(name, data=value, compression=compression)
        return
    value = np.ascontiguousarray(value)
    space = h5py.h5s.create_simple(value.shape) if value.ndim else h5py.h5s.create(h5py.h5s.SCALAR)
    ds = h5py.h5d.create(
        group.id, name.encode(), h5py.h5t.py_create(value.dtype, logical=True), space, dcpl=dcpl
    )
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
        """Write episode ``index`` (file, then Minari link, then metadata); returns its file."""
        folder = self.data_dir / EPISODES_DIR
        folder.mkdir(parents=True, exist_ok=True)
        final = folder / f"episode_{index}.hdf5"
        tmp = final.with_name(final.name + TMP_SUFFIX)
        dcpl = _plain_dcpl()
        with h5py.File(tmp, "w") as f:
            g = f.create_group(f"episode_{index}")
            g.attrs.update(attrs)
            for name, value in tree.items():
                _put(g, name, value, self.compression, dcpl)
        replace_atomic(tmp, final, self.durable)

        main = self.data_dir / MAIN_FILE
        tmp_main = main.with_name(main.name + TMP_SUFFIX)
        shutil.copyfile(main, tmp_main)
        with h5py.File(tmp_main, "a") as f:
            name = f"episode_{index}"
            if name in f:
                del f[name]
            f[name] = h5py.ExternalLink(*_link_target(index))
        replace_atomic(tmp_main, main, self.durable)

        meta = self.meta
        meta["total_episodes"] = index + 1
        meta["total_steps"] = int(meta["total_steps"]) + int(steps)
        size = float(meta.get("dataset_size") or 0.0) + final.stat().st_size / 1e6
        meta["dataset_size"] = round(size, 3)
        write_json_atomic(self.data_dir / METADATA_FILE, meta, self.durable)
        return final
