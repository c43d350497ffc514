"""On-disk layout of recorded episodes, shared by the writer and the reader (private).

A dataset directory follows Minari's layout, so ``minari.MinariDataset(<dir>/data)`` (or
``minari.load_dataset(id)`` with ``MINARI_DATASETS_PATH`` pointing at its root) reads it::

    <dataset dir>/data/metadata.json        Minari metadata + a "neurofit" block
    <dataset dir>/data/main_data.hdf5       episode_<i> -> external link into episodes/
    <dataset dir>/data/episodes/episode_<i>.hdf5   one finished episode: group /episode_<i>

Every file is written to ``<name>.tmp`` and renamed into place (fsync-ed first if durable), so a
killed process leaves each file complete or absent (and a stray ``.tmp`` that readers ignore).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from neurofit.envs.disturbances import Disturbance

#: Version of the NeuroFit layout inside the Minari layout (the "neurofit" metadata block, the
#: ``infos/agent`` group ...). A reader refuses a dataset with a format it does not know.
FORMAT_VERSION = 1
SUPPORTED_FORMATS = frozenset({1})
#: The Minari release whose HDF5 layout the files follow (written as ``minari_version``).
MINARI_LAYOUT_VERSION = "0.5.4"

DATA_DIR = "data"
METADATA_FILE = "metadata.json"
MAIN_FILE = "main_data.hdf5"
EPISODES_DIR = "episodes"
#: Name of the dataset directory inside a run directory.
RUN_DATASET_DIR = "dataset"
TMP_SUFFIX = ".tmp"
EPISODE_FILE_RE = re.compile(r"^episode_(\d+)\.hdf5$")

#: Episode attribute: JSON ``{"algorithm": "sha256", "digests": {name: hex}}`` with the SHA-256
#: of every dataset (by its path in the episode group, e.g. ``infos/agent/spikes/indices``) and
#: of every other attribute (``@<name>``), each over its dtype, shape and bytes.
CHECKSUM_ATTR = "neurofit_checksums"
#: Episode attribute: the dataset's ``metadata.json`` without its counters (JSON), so that a
#: lost ``metadata.json`` can be rebuilt from any episode file.
DATASET_ATTR = "neurofit_dataset"
#: ``metadata.json`` keys that grow with every episode (not copied into the episode files).
COUNTER_KEYS = ("total_episodes", "total_steps", "dataset_size")
SPIKE_INDPTR = "infos/agent/spikes/indptr"
SPIKE_INDICES = "infos/agent/spikes/indices"

#: Keys of a disturbance's ``describe()`` dict that change during an episode (the others are
#: its constructor fields, stored once per episode as JSON).
DISTURBANCE_STATE_KEYS = ("active", "air_velocity_mps", "force_n", "mass_kg")


class RecordingError(ValueError):
    """A dataset or episode cannot be written or read; the message names the file."""


class DatasetNotFoundError(RecordingError, FileNotFoundError):
    """No dataset at the given path or id."""


class EpisodeNotFoundError(RecordingError, KeyError):
    """The dataset has no episode with that number."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class CorruptEpisodeError(RecordingError):
    """An episode file is truncated or corrupt (the other episodes are unaffected)."""


class DatasetVersionError(RecordingError):
    """The dataset was written by a format or library version this installation cannot honour."""


class UnknownEnvError(RecordingError):
    """The dataset's env id is not registered in this installation."""


class DiskFullError(RecordingError, OSError):
    """A file could not be written: no space left (or quota exceeded) on its file system.

    Its temporary file was removed; every file written before is intact.

    Attributes:
        path: the file that could not be written.
        needed_bytes: its size.
        free_bytes: bytes free on the file system when the write failed (None if unknown).
    """

    def __init__(self, path: Path, needed_bytes: int, free_bytes: int | None) -> None:
        free = "unknown" if free_bytes is None else f"{free_bytes:,}"
        super().__init__(
            f"disk full: {path}: {needed_bytes:,} bytes to write, {free} bytes free on its file "
            "system. Nothing was left half-written and every finished episode is kept; free "
            "some space, then record again (a training run: resume it with --resume)."
        )
        self.path = path
        self.needed_bytes = needed_bytes
        self.free_bytes = free_bytes


def episode_group(index: int) -> str:
    """HDF5 group name of episode ``index`` (Minari's)."""
    return f"episode_{index}"


def episode_file(index: int) -> str:
    """File name of episode ``index`` inside ``episodes/``."""
    return f"episode_{index}.hdf5"


def jsonable(value: Any, where: str = "value") -> Any:
    """``value`` as plain JSON types; disturbance objects become their constructor dicts.

    Raises:
        TypeError: naming ``where`` (a key path) for a value that has no JSON form.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), where)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, Disturbance):
        d = value.describe()
        return {k: jsonable(v, f"{where}.{k}") for k, v in d.items() if k not in _STATE_KEYS}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            "type": type(value).__name__,
            **{
                f.name: jsonable(getattr(value, f.name), f"{where}.{f.name}")
                for f in dataclasses.fields(value)
                if not f.name.startswith("_")
            },
        }
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{where} = {value!r} ({type(value).__name__}) has no JSON form")


_STATE_KEYS = frozenset(DISTURBANCE_STATE_KEYS)


def serialize_space(space: Any) -> str:
    """A Gymnasium space in Minari's JSON form (``minari.serialization.serialize_space``).

    Minari's own serializer is used when Minari is installed; otherwise Box and Discrete spaces
    are written in the same form (minari is a dev extra, the recorder needs only h5py).
    """
    try:
        from minari.serialization import serialize_space as minari_serialize
    except ImportError:
        minari_serialize = None
    if minari_serialize is not None:
        return str(minari_serialize(space))
    from gymnasium import spaces

    if isinstance(space, spaces.Box):
        return json.dumps(
            {
                "type": "Box",
                "dtype": str(space.dtype),
                "shape": list(space.shape),
                "low": space.low.tolist(),
                "high": space.high.tolist(),
            }
        )
    if isinstance(space, spaces.Discrete):
        return json.dumps(
            {"type": "Discrete", "dtype": "int64", "start": int(space.start), "n": int(space.n)}
        )
    raise RecordingError(
        f"cannot record a {type(space).__name__} space without Minari installed "
        "(pip install 'minari[hdf5]'); Box and Discrete spaces work without it"
    )


def find_episode_files(data_dir: Path) -> dict[int, Path]:
    """``{index: path}`` of the complete episode files under ``data_dir/episodes``."""
    folder = data_dir / EPISODES_DIR
    if not folder.is_dir():
        return {}
    found = {}
    for p in folder.iterdir():
        m = EPISODE_FILE_RE.match(p.name)
        if m:
            found[int(m.group(1))] = p
    return dict(sorted(found.items()))


def read_metadata(data_dir: Path) -> dict[str, Any]:
    """The parsed ``metadata.json`` of ``data_dir``.

    Raises:
        DatasetNotFoundError: no metadata file.
        RecordingError: the file is not valid JSON (names the file).
    """
    path = data_dir / METADATA_FILE
    if not path.is_file():
        raise DatasetNotFoundError(f"{path}: no such file (not a Minari dataset directory)")
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RecordingError(f"{path}: corrupt dataset metadata ({exc})") from None
    if not isinstance(meta, dict):
        raise RecordingError(f"{path}: corrupt dataset metadata (not a JSON object)")
    return meta


# ------------------------------------------------------------------------------ integrity
def read_datasets(group: h5py.Group) -> dict[str, Any]:
    """Every dataset under ``group``, read whole: ``{path relative to group: value}``."""
    out: dict[str, Any] = {}

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Dataset):
            out[name] = obj[()]

    group.visititems(visit)
    return out


def value_digest(value: Any) -> str:
    """SHA-256 of a dataset or attribute value: its type, dtype, shape and bytes."""
    h = hashlib.sha256()
    if isinstance(value, str):
        h.update(b"str:" + value.encode())
        return h.hexdigest()
    if isinstance(value, bytes):
        h.update(b"bytes:" + value)
        return h.hexdigest()
    a = np.asarray(value)
    h.update(f"{a.dtype.str}{a.shape}:".encode())
    if a.dtype.kind == "O":  # variable-length strings: each element, length-prefixed
        for v in a.ravel():
            b = v if isinstance(v, bytes) else str(v).encode()
            h.update(len(b).to_bytes(8, "little") + b)
    else:
        h.update(np.ascontiguousarray(a).data)  # the bytes, without copying them
    return h.hexdigest()


def episode_digests(datasets: Mapping[str, Any], attrs: Mapping[str, Any]) -> dict[str, str]:
    """``{dataset path: sha256, "@attribute": sha256}`` of an episode group (see
    :data:`CHECKSUM_ATTR`); ``datasets`` as :func:`read_datasets` returns them."""
    out = {name: value_digest(v) for name, v in sorted(datasets.items())}
    for name in sorted(attrs):
        if name != CHECKSUM_ATTR:
            out[f"@{name}"] = value_digest(attrs[name])
    return out


def checksum_problems(
    datasets: Mapping[str, Any], attrs: Mapping[str, Any]
) -> list[str] | None:
    """What differs from the episode's recorded checksums: one line per dataset or attribute
    that changed, appeared or disappeared ([] if none). None if it has no checksums (recorded
    before they were written).

    Raises:
        ValueError: the checksum attribute itself is unreadable.
    """
    raw = attrs.get(CHECKSUM_ATTR)
    if raw is None:
        return None
    stored = json.loads(raw)
    if not isinstance(stored, dict) or stored.get("algorithm") != "sha256" or not isinstance(
        stored.get("digests"), dict
    ):
        raise ValueError(f"attribute {CHECKSUM_ATTR!r} is not a sha256 digest table")
    want: dict[str, str] = stored["digests"]
    have = episode_digests(datasets, attrs)
    problems = []
    for name in sorted(set(want) | set(have)):
        what = f"attribute {name[1:]!r}" if name.startswith("@") else f"column {name!r}"
        if name not in have:
            problems.append(f"{what} is missing")
        elif name not in want:
            problems.append(f"{what} was added after recording")
        elif want[name] != have[name]:
            problems.append(f"{what} does not match its checksum")
    return problems


def spike_problems(datasets: Mapping[str, Any], n_rows: int, n_neurons: int | None) -> list[str]:
    """Structural checks of the CSR spike record: ``indptr`` has ``n_rows + 1`` entries from 0,
    never decreasing, ending at the number of indices; every index in ``[0, n_neurons)``."""
    indptr, indices = datasets.get(SPIKE_INDPTR), datasets.get(SPIKE_INDICES)
    if indptr is None and indices is None:
        return []
    if indptr is None or indices is None:
        missing = SPIKE_INDPTR if indptr is None else SPIKE_INDICES
        return [f"column {missing!r} is missing"]
    indptr, indices = np.asarray(indptr), np.asarray(indices)
    if indptr.dtype.kind not in "iu" or indices.dtype.kind not in "iu" or indices.ndim != 1:
        return [f"columns {SPIKE_INDPTR!r} and {SPIKE_INDICES!r} must be 1-D integer arrays"]
    if indptr.shape != (n_rows + 1,):
        return [
            f"column {SPIKE_INDPTR!r} has shape {indptr.shape}, expected ({n_rows + 1},) "
            "(one entry per row, plus one)"
        ]
    if indptr[0] != 0 or np.any(np.diff(indptr) < 0) or indptr[-1] != indices.shape[0]:
        return [
            f"column {SPIKE_INDPTR!r} is not a valid row index (it must start at 0, never "
            f"decrease and end at {indices.shape[0]}, the number of spikes)"
        ]
    bad = indices < 0 if n_neurons is None else (indices < 0) | (indices >= n_neurons)
    if np.any(bad):
        k = int(np.flatnonzero(bad)[0])
        allowed = (
            ">= 0" if n_neurons is None else f"0..{n_neurons - 1} (the network has {n_neurons} "
            "neurons)"
        )
        return [
            f"column {SPIKE_INDICES!r}: neuron index {int(indices[k])} at position {k} is out "
            f"of range {allowed}"
        ]
    return []


def dataset_description(meta: Mapping[str, Any]) -> str:
    """The :data:`DATASET_ATTR` value for a dataset's metadata."""
    return json.dumps({k: v for k, v in meta.items() if k not in COUNTER_KEYS})


def metadata_from_episodes(data_dir: Path) -> tuple[dict[str, Any], Path]:
    """Rebuild a lost ``metadata.json`` from the episode files' :data:`DATASET_ATTR`.

    The description comes from the newest episode that carries one; the counters are recounted
    over the readable episode files.

    Returns:
        The metadata and the episode file it was taken from.

    Raises:
        DatasetNotFoundError: no episode file carries a description (names the directory).
    """
    files = find_episode_files(data_dir)
    info: dict[str, Any] | None = None
    source: Path | None = None
    steps = 0
    size = 0
    for i, path in files.items():
        try:
            with h5py.File(path, "r") as f:
                attrs = f[episode_group(i)].attrs
                steps += int(attrs["total_steps"])
                raw = attrs.get(DATASET_ATTR)
                desc = json.loads(raw) if raw is not None else None
            size += path.stat().st_size
        except (OSError, KeyError, ValueError, TypeError):
            continue  # damaged: the others still tell
        if isinstance(desc, dict):
            info, source = desc, path
    where = data_dir / METADATA_FILE
    if info is None or source is None:
        raise DatasetNotFoundError(
            f"{where}: missing, and no episode file under {data_dir / EPISODES_DIR} describes "
            "the dataset (they were recorded before episode files carried it), so the env "
            "cannot be re-created; restore metadata.json from a copy of the dataset"
        )
    meta = {
        **info,
        "total_episodes": len(files),
        "total_steps": steps,
        "dataset_size": round(size / 1e6, 3),
    }
    return meta, source
