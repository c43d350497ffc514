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
import json
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
