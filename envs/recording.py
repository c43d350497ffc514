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
            neurofit   JSON: format_version; ended_by ("terminated" | "truncated" | "reset" |
                       "close"); options; rng_state (env.np_random's state before a reset
                       without seed); disturbances (their describe() at reset); n_neurons
                       (the agent's, for checking spike indices); summaries: return,
                       actuator_energy_j, compute_energy_j, spike_count
            neurofit_dataset    JSON: metadata.json without its counters (a lost
                       metadata.json is rebuilt from it)
            neurofit_checksums  JSON: SHA-256 of every dataset and attribute, checked when
                       the episode is read and by ``neurofit replay --check``
    observations (N+1, ...)   actions (N, ...) in the dtype the agent passed (replay is exact)
    rewards (N,) float64      terminations, truncations (N,) bool
    initial_state             MuJoCo state right after reset (mj_getState, spec mjSTATE_INTEGRATION,
                              given as neurofit.initial_state_spec)
    infos/ (every dataset has N+1 rows: row 0 is the reset, row k follows step k)
        qpos, qvel, act, time_s   read from MjData
        <every numeric, bool or string key of the env's info> (error, power_w, energy_j,
                                  reward terms, termination_reason ...), nested dicts as groups
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

The cheap form of the same, which :class:`~neurofit.agents.neurofit_agent.NeuroFitAgent`
returns: a :class:`TickRecord` (the spike indices, the op counts as one int64 array, and a
pricing function applied to the whole episode's counts when it is written), so a tick costs
a subtraction and a copy instead of dicts and a meter charge. Both forms give the same
columns.

The env must return fresh objects in ``info`` every step (NeuroFit's and Gymnasium's envs do);
observations, actions and the MuJoCo state are copied by the recorder.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import platform
import re
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, SupportsFloat

import gymnasium as gym
import h5py
import mujoco
import numpy as np
from gymnasium.envs.registration import EnvSpec

from neurofit.envs._record_columns import (
    KeySchema,
    TickRecord,
    column,
    spikes_csr,
    stack,
    tick_columns,
)
from neurofit.envs._record_format import (
    DATA_DIR,
    EPISODES_DIR,
    FORMAT_VERSION,
    METADATA_FILE,
    MINARI_LAYOUT_VERSION,
    RUN_DATASET_DIR,
    SUPPORTED_FORMATS,
    TMP_SUFFIX,
    DatasetVersionError,
    RecordingError,
    episode_group,
    find_episode_files,
    jsonable,
    metadata_from_episodes,
    read_metadata,
    serialize_space,
)
from neurofit.envs._record_writer import (
    DatasetWriter,
    write_json_atomic,
    write_main,
)
from neurofit.neuromorphic._versions import package_version

__all__ = [
    "STATE_SPEC",
    "EpisodeRecorder",
    "RecordHook",
    "TickRecord",
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
        """Spikes, op-count deltas and compute energy since the previous call (a dict, or a
        :class:`TickRecord`)."""
        ...


def package_versions() -> dict[str, str]:
    """Versions a bit-exact replay depends on."""

    return {
        "neurofit": package_version("neurofit", "not installed"),
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


# fields of a recorded row (see _Episode)
_OBS, _INFO, _QPOS, _QVEL, _ACT, _TIME, _TICK, _ACTION, _REWARD, _TERM, _TRUNC = range(11)


@dataclasses.dataclass
class _Episode:
    """One episode in memory: one tuple per row, transposed into columns when it ends.

    Row 0 (the reset) is ``(obs, info values, qpos, qvel, act, time, tick)``; row k >= 1
    adds ``(action, reward, terminated, truncated)`` of step k. The info values are a tuple
    in the order of the recorder's info schema; ``tick`` is ``(spikes, counts)`` of a
    :class:`TickRecord` priced by :attr:`price`, ``(spikes, ops values, other values)`` for
    a hook that returns a dict, or None. (Only arrays, numbers and tuples of them: the garbage
    collector stops tracking such tuples.)
    """

    index: int
    seed: int | None
    options: dict[str, Any] | None
    rng_state: dict[str, Any] | None
    initial_state: np.ndarray | None
    disturbances: list[Any]
    rows: list[tuple[Any, ...]] = dataclasses.field(default_factory=list)
    #: the pricing function of the episode's :class:`TickRecord` ticks (None: none yet)
    price: Any = None

    @property
    def n_steps(self) -> int:
        return len(self.rows) - 1


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
            A dataset whose ``metadata.json`` was lost is rebuilt from its episode files.
        truncate_to: with ``resume``, first delete the episodes numbered ``truncate_to`` and
            above (a resumed training run records again the episodes after its checkpoint).
        save_partial: write an unfinished episode on ``reset``/``close`` (its last step marked
            truncated, as Minari's DataCollector does) instead of dropping it.
        durable: also fsync every file before renaming it into place, so finished episodes
            survive a power loss or OS crash, not only a killed process (which the renames
            alone already guarantee). Costs a few ms per episode.
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
        truncate_to: int | None = None,
        save_partial: bool = True,
        durable: bool = False,
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
        self._views: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._info_schema = KeySchema(skip=("disturbances", "qpos", "qvel", "time_s"))
        self._ops_schema = KeySchema()
        self._tick_schema = KeySchema(skip=("spikes", "ops"))
        self._write_time_s = 0.0
        self._last_written: Path | None = None
        try:
            user = jsonable(dict(metadata or {}), "metadata")
        except TypeError as exc:
            raise RecordingError(f"cannot record to {self._path}: {exc}") from None
        self._spec_json = env_spec_json(spec)
        self._env_id = spec.id

        if (self._data_dir / METADATA_FILE).exists() or find_episode_files(self._data_dir):
            if not resume:
                raise RecordingError(
                    f"{self._data_dir / METADATA_FILE}: a dataset already exists here; "
                    "pass resume=True to append to it or choose another path"
                )
            self._meta = self._open_existing(truncate_to)
        else:
            self._meta = self._create(dataset_id, user)
        self._next_index = self._meta["total_episodes"]
        self._writer = DatasetWriter(self._data_dir, self._meta, self._durable, compression)

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
        meta = getattr(self, "_meta", None)
        if meta is not None and agent is not None:  # set after construction: record it now
            info = _agent_config(agent)
            meta["neurofit"]["agent"] = info
            meta["neurofit"]["spikes_recorded"] = hook is not None
            meta["algorithm_name"] = info["class"].rsplit(".", 1)[-1]
            write_json_atomic(self._data_dir / METADATA_FILE, meta, self._durable)

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
        """Episodes on disk so far (those of a resumed dataset included)."""
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
            self._mj = data
            self._views = (data.qpos, data.qvel, data.act)
            state = np.empty(mujoco.mj_stateSize(base.model, STATE_SPEC))
            mujoco.mj_getState(base.model, data, state, STATE_SPEC)
        else:
            self._mj = self._views = None
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
        ep.rows.append(self._row(obs, info, ()))
        return obs, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step the env and append the step to the episode; write it if the episode ended."""
        obs, reward, terminated, truncated, info = self.env.step(action)
        ep = self._ep
        if ep is None:  # stepping without reset: the env decides (OrderEnforcing raises)
            return obs, reward, terminated, truncated, info
        a = action.copy() if isinstance(action, np.ndarray) else np.array(action)
        ep.rows.append(self._row(obs, info, (a, reward, terminated, truncated)))
        if terminated or truncated:
            self._finish("terminated" if terminated else "truncated")
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        """Save an unfinished episode (if ``save_partial``) and close the env."""
        try:
            if self._ep is not None:
                self._end_unfinished("close")
        finally:
            super().close()

    def _row(self, obs: Any, info: Mapping[str, Any], step: tuple[Any, ...]) -> tuple[Any, ...]:
        """The per-step record (``step``: action, reward, terminated, truncated; none at a
        reset): copies of what the env or agent may overwrite later."""
        o = obs.copy() if isinstance(obs, np.ndarray) else copy.deepcopy(obs)
        vals = self._info_schema.extract(info)
        tick = None
        if self._tick is not None:
            t = self._tick()
            ep = self._ep
            if type(t) is TickRecord and ep is not None and (
                t.price == ep.price or ep.price is None
            ):
                ep.price = t.price
                tick = (t.spikes, t.counts)  # the record's own arrays: kept as they are
            else:
                tick = self._tick_row(t)
        qpos, qvel = info.get("qpos"), info.get("qvel")  # the env's own copies when it has them
        v = self._views
        if v is None:
            return (o, vals, qpos, qvel, None, info.get("time_s"), tick, *step)
        if type(qpos) is not np.ndarray or type(qvel) is not np.ndarray:
            qpos, qvel = v[0].copy(), v[1].copy()
        return (o, vals, qpos, qvel, v[2].copy(), self._mj.time, tick, *step)  # type: ignore[union-attr]

    def _tick_row(self, t: Mapping[str, Any]) -> tuple[Any, ...]:
        """A record hook's dict as ``(spikes, ops values, other values)``."""
        s = t.get("spikes")
        spikes = (
            s.copy()
            if isinstance(s, np.ndarray) and s.dtype == np.int32
            else np.array(() if s is None else s, dtype=np.int32)
        )
        ops = t.get("ops")
        return (
            spikes,
            self._ops_schema.extract(ops) if isinstance(ops, Mapping) else (),
            self._tick_schema.extract(t),
        )

    # -- episode end -----------------------------------------------------------------------
    def _end_unfinished(self, why: str) -> None:
        ep = self._ep
        if ep is not None and ep.n_steps > 0 and self._save_partial:
            last = ep.rows[-1]
            ep.rows[-1] = (*last[:-1], True)  # truncated: Minari's mark of an episode cut short
            self._finish(why)
        self._ep = None

    def _finish(self, ended_by: str) -> None:
        ep = self._ep
        assert ep is not None
        self._ep = None
        t0 = time.perf_counter()
        attrs, tree = self._payload(ep, ended_by)
        try:
            self._last_written = self._writer.episode(ep.index, ep.n_steps, attrs, tree)
        finally:  # a full disk after the episode's file was in place: the next one follows it
            if (self._episodes_dir / f"episode_{ep.index}.hdf5").exists():
                self._next_index = ep.index + 1
        self._write_time_s += time.perf_counter() - t0

    def _payload(self, ep: _Episode, ended_by: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The episode's HDF5 attributes and datasets (arrays, nested dicts of arrays)."""
        n = ep.n_steps
        rows = ep.rows
        cols = list(zip(*rows[1:], strict=True)) if n else [()] * 11
        first = rows[0]
        full = [(first[i], *cols[i]) for i in range(_TICK + 1)]
        infos = self._info_schema.columns(full[_INFO])
        for key, i in (("qpos", _QPOS), ("qvel", _QVEL), ("act", _ACT), ("time_s", _TIME)):
            col = column(full[i])
            if col is not None:
                infos[key] = col
        agent = None
        if first[_TICK] is not None:
            rows = full[_TICK]
            if all(len(t) == 2 for t in rows):
                spikes, counts = zip(*rows, strict=True)
                agent = tick_columns(spikes, counts, ep.price)
            else:  # dict hooks (or the agent changed mid-episode): key by key
                rows = [self._tick_row(TickRecord(*t, ep.price)) if len(t) == 2 else t
                        for t in rows]
                ticks = list(zip(*rows, strict=True))
                agent = {"spikes": spikes_csr(ticks[0])}
                ops = self._ops_schema.columns(ticks[1])
                if ops:
                    agent["ops"] = ops
                agent.update(self._tick_schema.columns(ticks[2]))
            infos["agent"] = agent
        rewards = np.array(cols[_REWARD], dtype=np.float64)
        attrs: dict[str, Any] = {"id": ep.index, "total_steps": n}
        if ep.seed is not None:
            attrs["seed"] = ep.seed
        if ep.options is not None:
            attrs.update(_flatten(ep.options, "options"))  # Minari's form
        energy = infos.get("energy_j")
        n_neurons = getattr(self._agent, "n_neurons", None) if agent is not None else None
        nf: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "ended_by": ended_by,
            "options": ep.options,
            "rng_state": ep.rng_state,
            "disturbances": ep.disturbances,
            "n_neurons": int(n_neurons) if isinstance(n_neurons, (int, np.integer)) else None,
            "initial_state_spec": STATE_SPEC if ep.initial_state is not None else None,
            "return": float(rewards.sum()),
            "actuator_energy_j": float(energy[-1])
            if isinstance(energy, np.ndarray) and energy.ndim == 1 and energy.size
            else None,
        }
        if agent is not None:
            ce = agent.get("compute_energy_j")
            nf["compute_energy_j"] = float(np.sum(ce)) if isinstance(ce, np.ndarray) else None
            nf["spike_count"] = int(agent["spikes"]["indices"].shape[0])
        attrs["neurofit"] = json.dumps(nf)  # one attribute: each costs an HDF5 object write

        tree: dict[str, Any] = {
            "observations": stack(full[_OBS]),
            "actions": stack(cols[_ACTION]) if n else np.zeros((0,)),
            "rewards": rewards,
            "terminations": np.array(cols[_TERM], dtype=bool),
            "truncations": np.array(cols[_TRUNC], dtype=bool),
            "infos": infos,
        }
        if ep.initial_state is not None:
            tree["initial_state"] = ep.initial_state
        return attrs, tree

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
        write_main(self._data_dir, (), self._durable)
        write_json_atomic(self._data_dir / METADATA_FILE, meta, self._durable)
        return meta

    def _open_existing(self, truncate_to: int | None) -> dict[str, Any]:
        if (self._data_dir / METADATA_FILE).exists():
            meta = read_metadata(self._data_dir)
        else:  # lost: what the episode files say (written back by repair_dataset below)
            meta, _ = metadata_from_episodes(self._data_dir)
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
        if meta.get("env_spec") != self._spec_json:  # replay re-creates the env from it
            raise RecordingError(
                f"{where}: the dataset records {self._env_id} with other settings "
                f"(kwargs {nf.get('env_kwargs')}); record these to another dataset"
            )
        if truncate_to is not None:
            drop = [i for i in find_episode_files(self._data_dir) if i >= truncate_to]
            for i in sorted(drop, reverse=True):  # from the end: 0 .. k-1 stay contiguous
                (self._episodes_dir / f"episode_{i}.hdf5").unlink()
        return repair_dataset(self._path, durable=self._durable, meta=meta)


def repair_dataset(
    path: str | Path, durable: bool = False, meta: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Re-link every complete episode file and recount ``metadata.json`` after a crash.

    A run killed between writing an episode file and updating ``main_data.hdf5`` /
    ``metadata.json`` leaves an episode Minari does not see yet; this makes them agree again
    (episodes ``0 .. k-1`` up to the first missing number). Stray ``.tmp`` files are deleted.
    A missing ``metadata.json`` is rebuilt from the episode files.

    Args:
        path: the dataset directory or its ``data`` directory.
        durable: fsync the rewritten files.
        meta: the metadata to write (default: the dataset's own, or rebuilt).

    Returns:
        The new metadata.
    """
    data_dir = Path(path)
    if not (data_dir / METADATA_FILE).exists() and (data_dir / DATA_DIR).is_dir():
        data_dir = data_dir / DATA_DIR
    if meta is None:
        if (data_dir / METADATA_FILE).exists() or not find_episode_files(data_dir):
            meta = read_metadata(data_dir)
        else:
            meta, _ = metadata_from_episodes(data_dir)
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
    write_main(data_dir, linked, durable)
    meta["total_episodes"] = len(linked)
    meta["total_steps"] = steps
    meta["dataset_size"] = _size_mb(data_dir)
    write_json_atomic(data_dir / METADATA_FILE, meta, durable)
    return meta


def _size_mb(data_dir: Path) -> float:
    total = sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file())
    return round(total / 1e6, 1)


def _check_dataset_id(dataset_id: str) -> None:
    if not re.fullmatch(r"(?:[-_\w][-_\w/]*[-_\w]+/)?[-_\w]+?-v\d+", dataset_id):
        raise RecordingError(
            f"dataset_id must look like 'namespace/name-v0' (Minari's form), got {dataset_id!r}"
        )


def _flatten(d: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}/{k}"
        if isinstance(v, Mapping):
            out.update(_flatten(v, key))
        else:
            out[key] = json.dumps(v) if isinstance(v, (list, dict)) or v is None else v
    return out
