"""Record every finished episode, and the agent's spikes and energy, to a Minari-format dataset.

:class:`EpisodeRecorder` is a Gymnasium wrapper. Each episode is kept in memory while it runs
and written to its own HDF5 file the moment it ends (termination, truncation, a ``reset``
before the end, or ``close``), so a killed run loses at most the episode in progress::

    env = EpisodeRecorder(gymnasium.make("neurofit/QuadHoverWind-v0"), "runs/hover/dataset",
                          agent=agent, metadata={"seed": 0})
    obs, info = env.reset(seed=0)
    ...                                  # the usual loop; finished episodes land on disk
    env.close()

    minari.MinariDataset("runs/hover/dataset/data")        # Minari reads it as it is
    neurofit.envs.recorded.open_recording("runs/hover")    # ... and so does NeuroFit's reader

Writing needs only h5py: the files follow Minari's HDF5 layout (Minari 0.5), they are not
written through Minari (whose ``EpisodeBuffer`` needs jax).

## Dataset layout

``<path>/data/metadata.json``: Minari's keys (``dataset_id``, ``total_episodes``,
``total_steps``, ``observation_space``, ``action_space``, ``env_spec``, ``minari_version`` ...)
plus a ``"neurofit"`` block: format version, package versions (neurofit, mujoco, gymnasium,
numpy, python), env id and kwargs, agent class and config, the caller's ``metadata``.

``<path>/data/main_data.hdf5`` holds one external link per episode,
``episode_<i> -> episodes/episode_<i>.hdf5:/episode_<i>``; Minari follows the links.

``<path>/data/episodes/episode_<i>.hdf5``, group ``/episode_<i>`` (N = steps)::

    attrs   id, total_steps, seed (if reset with one), options/...   (Minari's)
            neurofit/rng_state     JSON of env.np_random's state before reset (seed=None resets)
            neurofit/disturbances  JSON of the disturbances' describe() at reset
            neurofit/ended_by      "terminated" | "truncated" | "reset" | "close"
            neurofit/return, neurofit/actuator_energy_j, neurofit/compute_energy_j,
            neurofit/spike_count   summaries
    observations (N+1, ...)   actions (N, ...) in the dtype the agent passed (replay is exact)
    rewards (N,) float64      terminations, truncations (N,) bool
    initial_state             MuJoCo mjSTATE_INTEGRATION vector right after reset
    infos/ (every dataset has N+1 rows: row 0 is the reset, row k follows step k)
        qpos, qvel, act, time_s   read from MjData
        <every numeric, bool or string key of the env's info> (error, power_w, energy_j,
                                  reward terms, termination_reason ...), nested dicts as groups
        disturbances/<i>/<key>    the changing part of each disturbance (active, force_n ...)
        agent/spikes/indptr (N+2,) int64, agent/spikes/indices (M,) int32
                                  CSR: the neurons that spiked on row k are
                                  indices[indptr[k]:indptr[k + 1]]
        agent/ops/<name> (N+1,) int64   op-count deltas (neuron_updates, spikes,
                                  synaptic_events, weight_updates)
        agent/compute_energy_j, agent/compute_power_w, agent/<other keys> (N+1,)

Row ``k >= 1`` of ``infos/agent`` is the agent tick that chose action ``k - 1``; row 0 holds
whatever the agent counted between the previous episode's last step and this reset.

## The agent hook

An agent that wants its spikes recorded has a method ``record_tick() -> Mapping`` returning,
for the work done since its previous call: ``spikes`` (int array of the neuron indices that
spiked), ``ops`` (dict of op-count deltas), ``compute_energy_j`` (energy of the tick, J) and
``compute_power_w`` (its average power, W); other numeric keys are stored too. The recorder
calls it once per ``step`` (and once at ``reset``). Agents without it (the PID baseline) are
recorded through the env data alone.

The env must return fresh objects in ``info`` every step (NeuroFit's and Gymnasium's envs do);
observations, actions and the MuJoCo state are copied by the recorder.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.metadata
import json
import platform
import re
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, SupportsFloat

import gymnasium as gym
import h5py
import mujoco
import numpy as np
from gymnasium.envs.registration import EnvSpec

from neurofit.envs._record_format import (
    DATA_DIR,
    DISTURBANCE_STATE_KEYS,
    EPISODES_DIR,
    FORMAT_VERSION,
    MAIN_FILE,
    METADATA_FILE,
    MINARI_LAYOUT_VERSION,
    RUN_DATASET_DIR,
    SUPPORTED_FORMATS,
    TMP_SUFFIX,
    DatasetVersionError,
    RecordingError,
    episode_file,
    episode_group,
    find_episode_files,
    jsonable,
    read_metadata,
    replace_atomic,
    serialize_space,
    write_json_atomic,
)

__all__ = [
    "STATE_SPEC",
    "EpisodeRecorder",
    "RecordHook",
    "env_spec_json",
    "package_versions",
    "repair_dataset",
]

#: What ``initial_state`` holds (MuJoCo's integration state: time, qpos, qvel, act, warm-start,
#: ctrl, applied forces, mocap ...).
STATE_SPEC = int(mujoco.mjtState.mjSTATE_INTEGRATION)
_DATASET_NAME_RE = re.compile(r"[^-_\w]")


class RecordHook(Protocol):
    """What an agent implements to have its ticks recorded (see the module docstring)."""

    def record_tick(self) -> Mapping[str, Any]:
        """Spikes, op-count deltas and compute energy since the previous call."""
        ...


def package_versions() -> dict[str, str]:
    """Versions a bit-exact replay depends on."""

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return {
        "neurofit": version("neurofit"),
        "mujoco": mujoco.__version__,
        "gymnasium": gym.__version__,
        "numpy": np.__version__,
        "h5py": h5py.__version__,
        "python": platform.python_version(),
    }


def env_spec_json(spec: EnvSpec) -> str:
    """``spec`` as JSON (``EnvSpec.to_json``), with disturbance objects and arrays made JSON.

    Raises:
        RecordingError: a keyword argument has no JSON form (the message names it).
    """
    try:
        kwargs = jsonable(spec.kwargs, "env kwargs")
        wrappers = tuple(
            dataclasses.replace(w, kwargs=jsonable(w.kwargs, f"wrapper {w.name} kwargs"))
            for w in spec.additional_wrappers
        )
    except TypeError as exc:
        raise RecordingError(f"cannot record {spec.id}: {exc}") from None
    entry = spec.entry_point
    if not isinstance(entry, str) and entry is not None:
        entry = f"{entry.__module__}:{entry.__qualname__}"
    return dataclasses.replace(
        spec, entry_point=entry, kwargs=kwargs, additional_wrappers=wrappers
    ).to_json()


def _default_dataset_id(path: Path) -> str:
    name = path.resolve().name
    if name == RUN_DATASET_DIR:  # <run>/dataset: name it after the run
        name = path.resolve().parent.name
    name = _DATASET_NAME_RE.sub("_", name) or "dataset"
    if not re.search(r"-v\d+$", name):
        name += "-v0"
    return f"neurofit/{name}"


def _agent_config(agent: Any) -> dict[str, Any]:
    if agent is None:
        return {}
    out: dict[str, Any] = {"class": f"{type(agent).__module__}.{type(agent).__qualname__}"}
    cfg = getattr(agent, "config", None)
    if callable(cfg):
        cfg = cfg()
    if cfg is not None:
        try:
            out["config"] = jsonable(cfg, "agent config")
        except TypeError as exc:
            out["config"] = f"<not JSON-able: {exc}>"
    return out


@dataclasses.dataclass
class _Episode:
    """One episode in memory (lists, stacked when it ends)."""

    index: int
    seed: int | None
    options: dict[str, Any] | None
    rng_state: dict[str, Any] | None
    initial_state: np.ndarray | None
    disturbances: list[Any]
    observations: list[Any] = dataclasses.field(default_factory=list)
    actions: list[Any] = dataclasses.field(default_factory=list)
    rewards: list[float] = dataclasses.field(default_factory=list)
    terminations: list[bool] = dataclasses.field(default_factory=list)
    truncations: list[bool] = dataclasses.field(default_factory=list)
    infos: list[Mapping[str, Any]] = dataclasses.field(default_factory=list)
    qpos: list[np.ndarray] = dataclasses.field(default_factory=list)
    qvel: list[np.ndarray] = dataclasses.field(default_factory=list)
    act: list[np.ndarray] = dataclasses.field(default_factory=list)
    time_s: list[float] = dataclasses.field(default_factory=list)
    ticks: list[Mapping[str, Any] | None] = dataclasses.field(default_factory=list)
    spikes: list[np.ndarray] = dataclasses.field(default_factory=list)


class EpisodeRecorder(gym.Wrapper[Any, Any, Any, Any]):
    """Gymnasium wrapper that writes each finished episode to a Minari-format dataset.

    Args:
        env: the env to record; it must come from ``gymnasium.make`` (its spec is what replay
            re-creates). Wrap it last, so the recorded actions are those the agent chose.
        path: dataset directory (created); Minari's ``data/`` folder goes inside it.
        agent: optional agent; if it has ``record_tick()`` its spikes, op counts and compute
            energy are recorded every tick. Can be set later through :attr:`agent`.
        metadata: JSON-able run information stored in ``metadata.json`` (seeds, config ...).
        dataset_id: Minari id ``namespace/name-vN``; default ``neurofit/<dir name>-v0``
            (the run's name for ``<run>/dataset``).
        resume: append to an existing dataset at ``path`` (same env id) instead of failing.
        save_partial: write an unfinished episode on ``reset``/``close`` (its last step marked
            truncated, as Minari's DataCollector does) instead of dropping it.
        durable: fsync every file before renaming it into place.
        compression: HDF5 filter for the per-step arrays (``None``, ``"gzip"``, ``"lzf"``).

    Raises:
        RecordingError: the env has no spec, its kwargs have no JSON form, or a dataset exists
            at ``path`` and ``resume`` is False (each message names the path or key).
    """

    def __init__(
        self,
        env: gym.Env[Any, Any],
        path: str | Path,
        agent: Any = None,
        *,
        metadata: Mapping[str, Any] | None = None,
        dataset_id: str | None = None,
        resume: bool = False,
        save_partial: bool = True,
        durable: bool = True,
        compression: str | None = None,
    ) -> None:
        super().__init__(env)
        spec = env.spec
        if spec is None:
            raise RecordingError(
                "EpisodeRecorder needs an env made by gymnasium.make (it has no spec to replay)"
            )
        if compression not in (None, "gzip", "lzf"):
            raise ValueError(f"compression must be None, 'gzip' or 'lzf', got {compression!r}")
        self._path = Path(path)
        self._data_dir = self._path / DATA_DIR
        self._episodes_dir = self._data_dir / EPISODES_DIR
        self._durable = bool(durable)
        self._compression = compression
        self._save_partial = bool(save_partial)
        self._agent: Any = None
        self._tick: Any = None
        self.agent = agent
        self._ep: _Episode | None = None
        self._mj: mujoco.MjData | None = None
        self._mj_model: mujoco.MjModel | None = None
        self._views: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._write_time_s = 0.0
        self._last_written: Path | None = None
        try:
            user = jsonable(dict(metadata or {}), "metadata")
        except TypeError as exc:
            raise RecordingError(f"cannot record to {self._path}: {exc}") from None
        self._spec_json = env_spec_json(spec)
        self._env_id = spec.id

        if (self._data_dir / METADATA_FILE).exists():
            if not resume:
                raise RecordingError(
                    f"{self._data_dir / METADATA_FILE}: a dataset already exists here; "
                    "pass resume=True to append to it or choose another path"
                )
            self._meta = self._open_existing()
        else:
            self._meta = self._create(dataset_id, user)
        self._next_index = self._meta["total_episodes"]

    # -- public -------------------------------------------------------------------------------
    @classmethod
    def for_run(
        cls, env: gym.Env[Any, Any], run_dir: str | Path, agent: Any = None, **kwargs: Any
    ) -> EpisodeRecorder:
        """A recorder writing into ``<run_dir>/dataset`` with id ``neurofit/<run name>-v0``."""
        return cls(env, Path(run_dir) / RUN_DATASET_DIR, agent, **kwargs)

    @property
    def agent(self) -> Any:
        """The agent whose ``record_tick()`` is called each step (None: env data only)."""
        return self._agent

    @agent.setter
    def agent(self, agent: Any) -> None:
        hook = getattr(agent, "record_tick", None) if agent is not None else None
        if hook is not None and not callable(hook):
            raise TypeError(f"{type(agent).__name__}.record_tick must be a method")
        self._agent = agent
        self._tick = hook

    @property
    def path(self) -> Path:
        """The dataset directory (``minari.MinariDataset(path / "data")`` reads it)."""
        return self._path

    @property
    def data_path(self) -> Path:
        """Minari's data directory, ``path / "data"``."""
        return self._data_dir

    @property
    def dataset_id(self) -> str:
        """Minari id of the dataset."""
        return str(self._meta["dataset_id"])

    @property
    def episodes_written(self) -> int:
        """Episodes in the dataset so far (those of a resumed dataset included)."""
        return int(self._meta["total_episodes"])

    @property
    def last_episode_path(self) -> Path | None:
        """File of the most recently written episode."""
        return self._last_written

    @property
    def write_time_s(self) -> float:
        """Seconds spent assembling and writing finished episodes."""
        return self._write_time_s

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env and start recording a new episode (an unfinished one is saved)."""
        if self._ep is not None:
            self._end_unfinished("reset")
        base = self.env.unwrapped
        rng_state = None
        if seed is None:  # no re-seeding: the reset draws from the generator's current state
            rng_state = copy.deepcopy(base.np_random.bit_generator.state)
        obs, info = self.env.reset(seed=seed, options=options)
        data = getattr(base, "data", None)
        if isinstance(data, mujoco.MjData):
            self._mj, self._mj_model = data, base.model
            self._views = (data.qpos, data.qvel, data.act)
            state = np.empty(mujoco.mj_stateSize(base.model, STATE_SPEC))
            mujoco.mj_getState(base.model, data, state, STATE_SPEC)
        else:
            self._mj = self._mj_model = self._views = None
            state = None
        try:
            opts = jsonable(options, "reset options") if options is not None else None
        except TypeError as exc:
            raise RecordingError(f"cannot record to {self._path}: {exc}") from None
        ep = _Episode(
            index=self._next_index,
            seed=None if seed is None else int(seed),
            options=opts,
            rng_state=rng_state,
            initial_state=state,
            disturbances=jsonable(info.get("disturbances", []), "info['disturbances']")
            if isinstance(info.get("disturbances"), list)
            else [],
        )
        self._ep = ep
        self._append_obs_info(ep, obs, info)
        self._append_tick(ep)
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and append the step to the episode; write it if the episode ended."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        ep = self._ep
        if ep is None:  # stepping without reset: the env decides (OrderEnforcing raises)
            return obs, reward, terminated, truncated, info
        ep.actions.append(np.array(action))
        ep.rewards.append(float(reward))
        ep.terminations.append(bool(terminated))
        ep.truncations.append(bool(truncated))
        self._append_obs_info(ep, obs, info)
        self._append_tick(ep)
        if terminated or truncated:
            self._finish("terminated" if terminated else "truncated")
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        """Save an unfinished episode (if ``save_partial``) and close the env."""
        if self._ep is not None:
            self._end_unfinished("close")
        super().close()

    # -- per step --------------------------------------------------------------------------
    def _append_obs_info(self, ep: _Episode, obs: Any, info: Mapping[str, Any]) -> None:
        ep.observations.append(np.array(obs) if not isinstance(obs, dict) else copy.deepcopy(obs))
        ep.infos.append(info)
        if self._views is not None:
            qpos, qvel, act = self._views
            ep.qpos.append(qpos.copy())
            ep.qvel.append(qvel.copy())
            ep.act.append(act.copy())
            ep.time_s.append(self._mj.time)  # type: ignore[union-attr]

    def _append_tick(self, ep: _Episode) -> None:
        if self._tick is None:
            return
        tick = self._tick()
        spikes = tick.get("spikes")
        ep.spikes.append(
            np.zeros(0, np.int32) if spikes is None else np.array(spikes, dtype=np.int32)
        )
        ep.ticks.append(tick)

    # -- episode end -----------------------------------------------------------------------
    def _end_unfinished(self, why: str) -> None:
        ep = self._ep
        if ep is not None and ep.rewards and self._save_partial:
            ep.truncations[-1] = True  # Minari's convention for an episode cut short
            self._finish(why)
        self._ep = None

    def _finish(self, ended_by: str) -> None:
        ep = self._ep
        assert ep is not None
        self._ep = None
        t0 = time.perf_counter()
        path = self._write_episode(ep, ended_by)
        self._link_episode(ep.index, len(ep.rewards))
        self._next_index = ep.index + 1
        self._last_written = path
        self._write_time_s += time.perf_counter() - t0

    def _write_episode(self, ep: _Episode, ended_by: str) -> Path:
        n = len(ep.rewards)
        infos = _columns(ep.infos)
        infos.pop("disturbances", None)  # stored as JSON (constructor) + state columns below
        dist = _disturbance_columns(ep.infos)
        if dist:
            infos["disturbances"] = dist
        if self._views is not None or ep.qpos:
            infos["qpos"] = np.stack(ep.qpos)
            infos["qvel"] = np.stack(ep.qvel)
            infos["act"] = np.stack(ep.act)
            infos["time_s"] = np.asarray(ep.time_s, dtype=np.float64)
        agent = _agent_columns(ep) if ep.ticks else None
        if agent is not None:
            infos["agent"] = agent
        rewards = np.asarray(ep.rewards, dtype=np.float64)
        attrs: dict[str, Any] = {"id": ep.index, "total_steps": n}
        if ep.seed is not None:
            attrs["seed"] = ep.seed
        if ep.options is not None:
            attrs.update(_flatten(ep.options, "options"))
        attrs["neurofit/format_version"] = FORMAT_VERSION
        attrs["neurofit/ended_by"] = ended_by
        attrs["neurofit/rng_state"] = json.dumps(ep.rng_state) if ep.rng_state else ""
        attrs["neurofit/disturbances"] = json.dumps(ep.disturbances)
        attrs["neurofit/return"] = float(rewards.sum())
        energy = infos.get("energy_j")
        attrs["neurofit/actuator_energy_j"] = (
            float(energy[-1]) if isinstance(energy, np.ndarray) and energy.ndim == 1 else np.nan
        )
        if agent is not None:
            ce = agent.get("compute_energy_j")
            attrs["neurofit/compute_energy_j"] = (
                float(np.sum(ce)) if isinstance(ce, np.ndarray) else np.nan
            )
            attrs["neurofit/spike_count"] = int(agent["spikes"]["indices"].shape[0])

        self._episodes_dir.mkdir(parents=True, exist_ok=True)
        final = self._episodes_dir / episode_file(ep.index)
        tmp = final.with_name(final.name + TMP_SUFFIX)
        with h5py.File(tmp, "w") as f:
            g = f.create_group(episode_group(ep.index))
            g.attrs.update(attrs)
            self._put(g, "observations", _stack(ep.observations))
            self._put(g, "actions", _stack(ep.actions) if n else np.zeros((0,)))
            self._put(g, "rewards", rewards)
            self._put(g, "terminations", np.asarray(ep.terminations, dtype=bool))
            self._put(g, "truncations", np.asarray(ep.truncations, dtype=bool))
            if ep.initial_state is not None:
                g.create_dataset("initial_state", data=ep.initial_state)
                g["initial_state"].attrs["spec"] = STATE_SPEC
            self._put(g, "infos", infos)
        replace_atomic(tmp, final, self._durable)
        return final

    def _put(self, group: h5py.Group, name: str, value: Any) -> None:
        if isinstance(value, dict):
            sub = group.create_group(name)
            for k, v in value.items():
                self._put(sub, k, v)
            return
        if value.dtype.kind in "OUS":
            group.create_dataset(name, data=value.astype(object), dtype=h5py.string_dtype())
            return
        big = self._compression is not None and value.size >= 1024
        group.create_dataset(name, data=value, compression=self._compression if big else None)

    # -- dataset files ---------------------------------------------------------------------
    def _create(self, dataset_id: str | None, user: dict[str, Any]) -> dict[str, Any]:
        ds_id = dataset_id or _default_dataset_id(self._path)
        _check_dataset_id(ds_id)
        self._episodes_dir.mkdir(parents=True, exist_ok=True)
        spec = self.env.spec
        assert spec is not None
        agent = _agent_config(self._agent)
        versions = package_versions()
        meta: dict[str, Any] = {
            "dataset_id": ds_id,
            "total_episodes": 0,
            "total_steps": 0,
            "data_format": "hdf5",
            "jpeg_encoding": False,
            "observation_space": serialize_space(self.env.observation_space),
            "action_space": serialize_space(self.env.action_space),
            "env_spec": self._spec_json,
            "minari_version": MINARI_LAYOUT_VERSION,
            "algorithm_name": agent.get("class", "unknown").rsplit(".", 1)[-1],
            "description": f"NeuroFit episodes of {spec.id}",
            "dataset_size": 0.0,
            "requirements": [f"mujoco=={versions['mujoco']}"],
            "neurofit": {
                "format_version": FORMAT_VERSION,
                "versions": versions,
                "env_id": spec.id,
                "env_kwargs": jsonable(spec.kwargs, "env kwargs"),
                "max_episode_steps": spec.max_episode_steps,
                "agent": agent,
                "spikes_recorded": self._tick is not None,
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "command": " ".join(sys.argv),
                "metadata": user,
            },
        }
        _write_main(self._data_dir, {}, self._durable)
        write_json_atomic(self._data_dir / METADATA_FILE, meta, self._durable)
        return meta

    def _open_existing(self) -> dict[str, Any]:
        meta = read_metadata(self._data_dir)
        nf = meta.get("neurofit", {})
        fmt = nf.get("format_version")
        where = self._data_dir / METADATA_FILE
        if fmt not in SUPPORTED_FORMATS:
            raise DatasetVersionError(
                f"{where}: cannot append to a dataset of NeuroFit format {fmt!r} "
                f"(this version writes format {FORMAT_VERSION})"
            )
        if nf.get("env_id") != self._env_id:
            raise RecordingError(
                f"{where}: the dataset records {nf.get('env_id')!r}, not {self._env_id!r}; "
                "record each env to its own dataset"
            )
        repair_dataset(self._path, durable=self._durable)
        return read_metadata(self._data_dir)

    def _link_episode(self, index: int, steps: int) -> None:
        main = self._data_dir / MAIN_FILE
        tmp = main.with_name(main.name + TMP_SUFFIX)
        shutil.copyfile(main, tmp)
        with h5py.File(tmp, "a") as f:
            name = episode_group(index)
            if name in f:
                del f[name]
            f[name] = h5py.ExternalLink(f"{EPISODES_DIR}/{episode_file(index)}", f"/{name}")
        replace_atomic(tmp, main, self._durable)
        meta = self._meta
        meta["total_episodes"] = index + 1
        meta["total_steps"] = int(meta["total_steps"]) + steps
        meta["dataset_size"] = _size_mb(self._data_dir)
        write_json_atomic(self._data_dir / METADATA_FILE, meta, self._durable)


def repair_dataset(path: str | Path, durable: bool = True) -> dict[str, Any]:
    """Re-link every complete episode file and recount ``metadata.json`` after a crash.

    A run killed between writing an episode file and updating ``main_data.hdf5`` /
    ``metadata.json`` leaves an episode Minari does not see yet; this makes them agree again
    (episodes ``0 .. k-1`` up to the first missing number). Stray ``.tmp`` files are deleted.

    Returns:
        The new metadata.
    """
    data_dir = Path(path)
    if not (data_dir / METADATA_FILE).exists() and (data_dir / DATA_DIR).is_dir():
        data_dir = data_dir / DATA_DIR
    meta = read_metadata(data_dir)
    files = find_episode_files(data_dir)
    for p in list((data_dir / EPISODES_DIR).glob(f"*{TMP_SUFFIX}")) + list(
        data_dir.glob(f"*{TMP_SUFFIX}")
    ):
        p.unlink(missing_ok=True)
    linked: dict[int, Path] = {}
    steps = 0
    for i in range(len(files)):
        if i not in files:
            break
        linked[i] = files[i]
        try:
            with h5py.File(files[i], "r") as f:
                steps += int(f[episode_group(i)].attrs["total_steps"])
        except (OSError, KeyError):
            pass  # unreadable: still linked, so the numbering stays Minari's (0 .. k-1)
    _write_main(data_dir, linked, durable)
    meta["total_episodes"] = len(linked)
    meta["total_steps"] = steps
    meta["dataset_size"] = _size_mb(data_dir)
    write_json_atomic(data_dir / METADATA_FILE, meta, durable)
    return meta


def _write_main(data_dir: Path, episodes: Mapping[int, Path], durable: bool) -> None:
    main = data_dir / MAIN_FILE
    tmp = main.with_name(main.name + TMP_SUFFIX)
    with h5py.File(tmp, "w", track_order=True) as f:
        for i in episodes:
            name = episode_group(i)
            f[name] = h5py.ExternalLink(f"{EPISODES_DIR}/{episode_file(i)}", f"/{name}")
    replace_atomic(tmp, main, durable)


def _size_mb(data_dir: Path) -> float:
    total = sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())
    return round(total / 1e6, 1)


def _check_dataset_id(dataset_id: str) -> None:
    if not re.fullmatch(r"(?:[-_\w][-_\w/]*[-_\w]+/)?[-_\w]+?-v\d+", dataset_id):
        raise RecordingError(
            f"dataset_id must look like 'namespace/name-v0' (Minari's form), got {dataset_id!r}"
        )


# -- turning lists of per-step values into arrays -------------------------------------------
_MISSING = object()


def _flatten(d: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}/{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key))
        else:
            out[key] = json.dumps(v) if isinstance(v, (list, dict)) or v is None else v
    return out


def _stack(values: Sequence[Any]) -> Any:
    """Stack per-step observations or actions (arrays, numbers, dicts or tuples of them)."""
    first = values[0]
    if isinstance(first, dict):
        return {k: _stack([v[k] for v in values]) for k in first}
    if isinstance(first, tuple):
        return {f"_index_{i}": _stack([v[i] for v in values]) for i in range(len(first))}
    return np.stack([np.asarray(v) for v in values]) if values else np.zeros((0,))


def _column(values: list[Any]) -> Any:
    """One info key over all rows -> array (or dict of arrays); None if it cannot be stored.

    Rows without the key (or with None) are filled: NaN for floats, 0 / False for integers and
    bools, "" for strings.
    """
    present = [v is not _MISSING and v is not None for v in values]
    sample = next((v for v, ok in zip(values, present, strict=True) if ok), _MISSING)
    if sample is _MISSING:
        return None
    if isinstance(sample, Mapping):
        return _columns([v if isinstance(v, Mapping) else {} for v in values])
    if isinstance(sample, str):
        return np.array(
            [v if ok else "" for v, ok in zip(values, present, strict=True)], dtype=object
        )
    if isinstance(sample, (bool, np.bool_, int, np.integer, float, np.floating)):
        kind = np.asarray(sample).dtype.kind
        dtype = {"b": bool, "i": np.int64, "u": np.int64}.get(kind, np.float64)
        fill = np.nan if dtype is np.float64 else 0
        return np.array(
            [v if ok else fill for v, ok in zip(values, present, strict=True)], dtype=dtype
        )
    if isinstance(sample, (np.ndarray, list, tuple)):
        arr = np.asarray(sample)
        if arr.dtype.kind not in "biuf":
            return None
        fill = np.full(arr.shape, np.nan if arr.dtype.kind == "f" else 0, dtype=arr.dtype)
        try:
            return np.stack([v if ok else fill for v, ok in zip(values, present, strict=True)])
        except ValueError:  # the shape changes during the episode: not a column
            return None
    return None


def _columns(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Per-key columns of a list of info dicts (keys missing in some rows are filled)."""
    keys: dict[str, None] = {}
    for r in rows:
        keys.update(dict.fromkeys(r))
    out: dict[str, Any] = {}
    for k in keys:
        col = _column([r.get(k, _MISSING) for r in rows])
        if col is not None and not (isinstance(col, dict) and not col):
            out[str(k)] = col
    return out


def _disturbance_columns(infos: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"<i>": {key: column}}`` of the changing fields of each disturbance."""
    lists = [inf.get("disturbances") for inf in infos]
    if not any(isinstance(v, list) and v for v in lists):
        return {}
    n = max(len(v) for v in lists if isinstance(v, list))
    out: dict[str, Any] = {}
    for i in range(n):
        rows = [
            {k: v[i][k] for k in DISTURBANCE_STATE_KEYS if k in v[i]}
            if isinstance(v, list) and i < len(v) and isinstance(v[i], Mapping)
            else {}
            for v in lists
        ]
        cols = _columns(rows)
        if cols:
            out[str(i)] = cols
    return out


def _agent_columns(ep: _Episode) -> dict[str, Any]:
    """The agent's ticks: spikes as CSR (indptr, indices), other keys as columns."""
    counts = np.fromiter((s.shape[0] for s in ep.spikes), dtype=np.int64, count=len(ep.spikes))
    indptr = np.zeros(len(ep.spikes) + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    indices = np.concatenate(ep.spikes) if ep.spikes else np.zeros(0, np.int32)
    rest = _columns([{k: v for k, v in (t or {}).items() if k != "spikes"} for t in ep.ticks])
    return {"spikes": {"indptr": indptr, "indices": indices}, **rest}
