"""Read recorded episodes: NeuroFit datasets (see :mod:`neurofit.envs.recording`) and any Minari
HDF5 dataset, one episode at a time, so a damaged episode never hides the others.

::

    rec = open_recording("runs/hover")        # a run dir, a dataset dir, its data/ dir,
    print(rec.env_id, rec.episode_indices())  # main_data.hdf5, or a local Minari dataset id
    ep = rec.episode(3)
    ep.infos["qpos"], ep.spikes.tick(10), ep.infos["agent"]["compute_power_w"]

Errors are :class:`~neurofit.envs._record_format.RecordingError` subclasses (ValueErrors) whose
message names the file and the problem. Reading an episode verifies its checksums and spike
indices (:class:`CorruptEpisodeError` names the file and the column). A dataset whose
``metadata.json`` was lost is opened from what its episode files record, with a
:class:`RebuiltMetadataWarning` (also in :attr:`Recording.notices`).
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from gymnasium.envs.registration import EnvSpec

from neurofit.envs._record_format import (
    DATA_DIR,
    FORMAT_VERSION,
    MAIN_FILE,
    METADATA_FILE,
    RUN_DATASET_DIR,
    SUPPORTED_FORMATS,
    CorruptEpisodeError,
    DatasetNotFoundError,
    DatasetVersionError,
    DiskFullError,
    EpisodeNotFoundError,
    RecordingError,
    UnknownEnvError,
    checksum_problems,
    episode_group,
    find_episode_files,
    metadata_from_episodes,
    read_datasets,
    read_metadata,
    spike_problems,
)

__all__ = [
    "CorruptEpisodeError",
    "DatasetNotFoundError",
    "DatasetVersionError",
    "DiskFullError",
    "EpisodeNotFoundError",
    "RebuiltMetadataWarning",
    "RecordedEpisode",
    "Recording",
    "RecordingError",
    "SpikeRecord",
    "UnknownEnvError",
    "open_recording",
    "resolve_dataset",
]


class RebuiltMetadataWarning(UserWarning):
    """``metadata.json`` is missing; the dataset was opened from its episode files."""


@dataclass(frozen=True)
class SpikeRecord:
    """The agent's spikes of one episode, CSR by row (row 0 = reset, row k = tick before step k).

    Attributes:
        indptr: (n_rows + 1,) int64; row ``k`` spans ``indices[indptr[k]:indptr[k + 1]]``.
        indices: (n_spikes,) int32 neuron indices.
    """

    indptr: np.ndarray
    indices: np.ndarray

    @property
    def n_rows(self) -> int:
        """Rows (ticks) covered, reset row included."""
        return int(self.indptr.shape[0] - 1)

    @property
    def n_neurons(self) -> int:
        """1 + the largest neuron index that spiked (0 if none did)."""
        return int(self.indices.max()) + 1 if self.indices.size else 0

    def tick(self, k: int) -> np.ndarray:
        """Neuron indices that spiked on row ``k``."""
        return self.indices[self.indptr[k] : self.indptr[k + 1]]

    def events(self) -> tuple[np.ndarray, np.ndarray]:
        """``(row, neuron)`` of every spike, for a raster plot."""
        rows = np.repeat(np.arange(self.n_rows), np.diff(self.indptr))
        return rows, self.indices

    def counts(self) -> np.ndarray:
        """Spikes per row."""
        return np.diff(self.indptr)


@dataclass
class RecordedEpisode:
    """One episode as recorded (arrays as stored; see the layout in :mod:`~.recording`)."""

    index: int
    file: Path
    observations: Any
    actions: Any
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    infos: dict[str, Any]
    seed: int | None = None
    options: dict[str, Any] | None = None
    rng_state: dict[str, Any] | None = None
    initial_state: np.ndarray | None = None
    initial_state_spec: int | None = None
    ended_by: str = ""
    disturbances: list[Any] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)
    #: what its integrity checks found (checksums, spike indices): one line each, [] if none
    problems: list[str] = field(default_factory=list)
    #: whether the file records checksums (episodes recorded before they existed do not)
    has_checksums: bool = False

    @property
    def n_steps(self) -> int:
        """Steps (actions) in the episode."""
        return int(self.rewards.shape[0])

    @property
    def time_s(self) -> np.ndarray:
        """Simulated time of every row (reset row included), or row numbers if not recorded."""
        t = self.infos.get("time_s")
        return np.asarray(t) if t is not None else np.arange(self.n_steps + 1, dtype=float)

    @property
    def agent(self) -> dict[str, Any] | None:
        """``infos["agent"]``: what the agent's ``record_tick`` reported (None if nothing)."""
        a = self.infos.get("agent")
        return a if isinstance(a, dict) else None

    @property
    def spikes(self) -> SpikeRecord | None:
        """The agent's spikes, or None for an agent without the record hook."""
        a = self.agent
        s = a.get("spikes") if a else None
        if not isinstance(s, dict) or "indptr" not in s or "indices" not in s:
            return None
        return SpikeRecord(np.asarray(s["indptr"]), np.asarray(s["indices"]))

    @property
    def episode_return(self) -> float:
        """Sum of the rewards."""
        return float(np.sum(self.rewards))


def resolve_dataset(path_or_id: str | os.PathLike[str]) -> Path:
    """The Minari ``data`` directory (the one holding ``metadata.json``) of a path or id.

    Accepts a run directory (``<run>/dataset/data``), a dataset directory (``<dir>/data``),
    the data directory itself, its ``main_data.hdf5`` or ``metadata.json``, or a Minari dataset
    id found under ``MINARI_DATASETS_PATH`` (default ``~/.minari/datasets``).

    Raises:
        DatasetNotFoundError: nothing dataset-like there (the message lists what was tried).
    """
    p = Path(path_or_id).expanduser()
    candidates: list[Path] = []
    if p.is_file():
        candidates.append(p.parent)
    candidates += [p, p / DATA_DIR, p / RUN_DATASET_DIR / DATA_DIR]
    if not p.exists():
        root = os.environ.get("MINARI_DATASETS_PATH") or os.path.join(
            os.path.expanduser("~"), ".minari", "datasets"
        )
        candidates.append(Path(root) / str(path_or_id) / DATA_DIR)
    for c in candidates:
        if (c / METADATA_FILE).is_file():
            return c
    for c in candidates:  # metadata.json lost: the episode files can stand in for it
        if find_episode_files(c):
            return c
    tried = ", ".join(str(c / METADATA_FILE) for c in candidates)
    if not p.exists():
        raise DatasetNotFoundError(f"{path_or_id}: no such file, directory or local dataset id")
    raise DatasetNotFoundError(f"{p}: not a recorded dataset (no {METADATA_FILE}; tried {tried})")


def open_recording(path_or_id: str | os.PathLike[str]) -> Recording:
    """Open a recorded dataset (see :func:`resolve_dataset` for what ``path_or_id`` may be)."""
    return Recording(resolve_dataset(path_or_id))


class Recording:
    """A dataset on disk: its metadata and lazily read episodes.

    Args:
        data_dir: Minari's ``data`` directory (with ``metadata.json``).

    Raises:
        DatasetNotFoundError, RecordingError: missing or corrupt ``metadata.json``.
        DatasetVersionError: a NeuroFit format this version cannot read.
    """

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.path = Path(data_dir)
        self._meta_file = self.path / METADATA_FILE
        #: what the reader had to work around (e.g. a rebuilt metadata.json), one line each
        self.notices: list[str] = []
        if self._meta_file.exists() or not find_episode_files(self.path):
            self.metadata: dict[str, Any] = read_metadata(self.path)
        else:
            self.metadata, source = metadata_from_episodes(self.path)
            self.notices.append(
                f"{self._meta_file} is missing: env id, kwargs, spec, spaces and versions were "
                f"rebuilt from {source} (repair_dataset() writes it back)"
            )
            warnings.warn(self.notices[-1], RebuiltMetadataWarning, stacklevel=2)
        nf = self.metadata.get("neurofit")
        self.neurofit: dict[str, Any] = nf if isinstance(nf, dict) else {}
        fmt = self.neurofit.get("format_version")
        if self.neurofit and fmt not in SUPPORTED_FORMATS:
            raise DatasetVersionError(
                f"{self._meta_file}: written in NeuroFit recording format {fmt!r}; this "
                f"installation reads format {sorted(SUPPORTED_FORMATS)} (it writes "
                f"{FORMAT_VERSION}); open it with the NeuroFit version that wrote it "
                f"({self.versions.get('neurofit', 'unknown')})"
            )
        self._files = find_episode_files(self.path)

    # -- metadata ------------------------------------------------------------------------
    @property
    def dataset_id(self) -> str:
        """Minari id."""
        return str(self.metadata.get("dataset_id", ""))

    @property
    def env_spec(self) -> EnvSpec | None:
        """The recorded env's Gymnasium spec (None if the dataset has none)."""
        raw = self.metadata.get("env_spec")
        if not isinstance(raw, str):
            return None
        raw = (  # Minari's own compatibility edits for specs written by gymnasium < 1.0
            raw.replace('"order_enforce": true,', "")
            .replace('"apply_api_compatibility": false,', "")
            .replace('"autoreset": false, ', "")
        )
        try:
            return EnvSpec.from_json(raw)
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            raise RecordingError(f"{self._meta_file}: unreadable env_spec ({exc})") from None

    @property
    def env_id(self) -> str | None:
        """The recorded env id."""
        nf_id = self.neurofit.get("env_id")
        if nf_id:
            return str(nf_id)
        spec = self.env_spec
        return spec.id if spec is not None else None

    @property
    def versions(self) -> dict[str, str]:
        """Package versions at recording time (empty for a non-NeuroFit dataset)."""
        v = self.neurofit.get("versions")
        return dict(v) if isinstance(v, dict) else {}

    @property
    def total_episodes(self) -> int:
        """Episodes present (episode files, or links in ``main_data.hdf5``)."""
        return len(self.episode_indices())

    def __len__(self) -> int:
        return self.total_episodes

    def episode_indices(self) -> list[int]:
        """Numbers of the episodes present (readable or not)."""
        if self._files:
            return list(self._files)
        n = self.metadata.get("total_episodes")
        if isinstance(n, int):
            return list(range(n))
        return []

    # -- episodes ------------------------------------------------------------------------
    def episode_file(self, index: int) -> Path:
        """The file that holds episode ``index``."""
        return self._files.get(index, self.path / MAIN_FILE)

    def episode(self, index: int, verify: bool = True) -> RecordedEpisode:
        """Read episode ``index`` and check its integrity (checksums, spike indices).

        Args:
            index: episode number.
            verify: raise on a failed integrity check; if False, the episode is returned with
                what failed in :attr:`RecordedEpisode.problems`.

        Raises:
            EpisodeNotFoundError: no such episode (the message lists the available ones).
            CorruptEpisodeError: its file is truncated or damaged, or (``verify``) a column
                does not match its checksum or a spike index is out of range (names the file
                and the column).
        """
        available = self.episode_indices()
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"episode index must be an integer, got {index!r}")
        index = int(index)
        if index not in available:
            raise EpisodeNotFoundError(
                f"{self.path}: no episode {index}; the dataset has "
                f"{_ranges(available) or 'no episodes'}"
            )
        file = self.episode_file(index)
        name = episode_group(index)
        try:
            with h5py.File(file, "r") as f:
                if name not in f:
                    raise CorruptEpisodeError(f"{file}: has no group /{name}")
                g = f[name]
                if not isinstance(g, h5py.Group):
                    raise CorruptEpisodeError(f"{file}: /{name} is not a group")
                ep = _read_episode(index, file, g)
        except RecordingError:
            raise
        except (OSError, KeyError, ValueError, TypeError, RuntimeError) as exc:
            raise CorruptEpisodeError(
                f"{file}: episode {index} cannot be read ({_h5_message(exc)}); the file is "
                "truncated or corrupt. The other episodes are not affected."
            ) from None
        if verify and ep.problems:
            more = f" (and {len(ep.problems) - 1} more)" if len(ep.problems) > 1 else ""
            raise CorruptEpisodeError(
                f"{file}: episode {index} is corrupt: {ep.problems[0]}{more}. The file changed "
                "after it was recorded; restore it from a copy or record the episode again. "
                "The other episodes are not affected."
            )
        return ep

    def episodes(self, skip_damaged: bool = True) -> Iterator[RecordedEpisode]:
        """Every episode in order; damaged ones are skipped (or raise if not ``skip_damaged``)."""
        for i in self.episode_indices():
            try:
                yield self.episode(i)
            except CorruptEpisodeError:
                if not skip_damaged:
                    raise

    def summary(self) -> list[dict[str, Any]]:
        """One dict per episode from its attributes only (fast): steps, return, energy, or
        ``error`` for a damaged one."""
        out = []
        for i in self.episode_indices():
            file = self.episode_file(i)
            row: dict[str, Any] = {"episode": i, "file": str(file)}
            try:
                with h5py.File(file, "r") as f:
                    a = dict(f[episode_group(i)].attrs)
                nf = _nf_attrs(a, file, i)
                row.update(
                    steps=int(a.get("total_steps", -1)),
                    seed=int(a["seed"]) if "seed" in a else None,
                    ended_by=str(nf.get("ended_by", "")),
                    episode_return=_float(nf.get("return")),
                    actuator_energy_j=_float(nf.get("actuator_energy_j")),
                    compute_energy_j=_float(nf.get("compute_energy_j")),
                    spike_count=nf.get("spike_count"),
                )
            except (OSError, KeyError, ValueError, RuntimeError) as exc:
                row["error"] = f"truncated or corrupt ({_h5_message(exc)})"
            out.append(row)
        return out

    def __repr__(self) -> str:
        return f"Recording({str(self.path)!r}, env_id={self.env_id!r}, episodes={len(self)})"


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def _ranges(ids: list[int]) -> str:
    """[0, 1, 2, 5] -> 'episodes 0-2, 5'."""
    if not ids:
        return ""
    parts, start, prev = [], ids[0], ids[0]
    for i in [*ids[1:], None]:
        if i is not None and i == prev + 1:
            prev = i
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if i is not None:
            start = prev = i
    return ("episode " if len(ids) == 1 else "episodes ") + ", ".join(parts)


def _h5_message(exc: BaseException) -> str:
    msg = str(exc).strip() or type(exc).__name__
    return msg.splitlines()[0][:300]


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """``{"a/b": x}`` -> ``{"a": {"b": x}}``."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        *parents, leaf = path.split("/")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return out


def _nf_attrs(attrs: dict[str, Any], file: Path, index: int) -> dict[str, Any]:
    """The episode's ``neurofit`` JSON attribute ({} for a non-NeuroFit dataset)."""
    raw = attrs.get("neurofit")
    if raw is None:
        return {}
    try:
        nf = json.loads(raw)
    except (TypeError, ValueError):
        raise CorruptEpisodeError(
            f"{file}: episode {index} has a corrupt 'neurofit' attribute"
        ) from None
    return nf if isinstance(nf, dict) else {}


def _state_spec(nf: dict[str, Any], init: Any) -> int | None:
    """The mjtState bits of ``initial_state`` (the episode's JSON, or the dataset's attribute)."""
    if nf.get("initial_state_spec") is not None:
        return int(nf["initial_state_spec"])
    if isinstance(init, h5py.Dataset) and "spec" in init.attrs:
        return int(init.attrs["spec"])
    return None


def _read_episode(index: int, file: Path, g: h5py.Group) -> RecordedEpisode:
    attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in g.attrs.items()}
    nf = _nf_attrs(attrs, file, index)
    fmt = nf.get("format_version")
    if fmt is not None and int(fmt) not in SUPPORTED_FORMATS:
        raise DatasetVersionError(
            f"{file}: episode {index} is in NeuroFit recording format {fmt}; this installation "
            f"reads {sorted(SUPPORTED_FORMATS)}"
        )
    for key in ("observations", "actions", "rewards", "terminations", "truncations"):
        if key not in g:
            raise CorruptEpisodeError(f"{file}: episode {index} has no '{key}' dataset")
    flat = read_datasets(g)
    tree = _unflatten(flat)
    infos = tree.get("infos", {})
    init = g.get("initial_state")
    ep = RecordedEpisode(
        index=index,
        file=file,
        observations=tree["observations"],
        actions=tree["actions"],
        rewards=np.asarray(tree["rewards"]),
        terminations=np.asarray(tree["terminations"], dtype=bool),
        truncations=np.asarray(tree["truncations"], dtype=bool),
        infos=infos if isinstance(infos, dict) else {},
        seed=int(attrs["seed"]) if "seed" in attrs else None,
        options=nf.get("options"),
        rng_state=nf.get("rng_state") or None,
        initial_state=np.asarray(init[()]) if isinstance(init, h5py.Dataset) else None,
        initial_state_spec=_state_spec(nf, init),
        ended_by=str(nf.get("ended_by", "")),
        disturbances=list(nf.get("disturbances") or []),
        attrs=attrs,
    )
    n = ep.n_steps
    if ep.terminations.shape[0] != n or ep.truncations.shape[0] != n:
        raise CorruptEpisodeError(
            f"{file}: episode {index} has {n} rewards but {ep.terminations.shape[0]} "
            f"terminations and {ep.truncations.shape[0]} truncations"
        )
    try:
        sums = checksum_problems(flat, g.attrs)
    except ValueError as exc:
        raise CorruptEpisodeError(f"{file}: episode {index}: {exc}") from None
    ep.has_checksums = sums is not None
    n_neurons = nf.get("n_neurons")
    ep.problems = [*(sums or []), *spike_problems(
        flat, n + 1, int(n_neurons) if isinstance(n_neurons, int) else None)]
    return ep
