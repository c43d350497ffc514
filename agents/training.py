"""Training loop: online learning on an env, metrics, evaluation, atomic checkpoints and resume.

One run is one :class:`TrainConfig` and one run directory::

    result = train(TrainConfig(env_id="neurofit/QuadHoverPayload-v0", total_steps=20_000),
                   "runs/hover")
    evaluate("runs/hover", episodes=10, baselines=("pd", "pid"))

## Run directory

::

    config.json            the resolved TrainConfig (+ "resolved": agent config, env facts)
    metrics.csv            one row per training episode (columns: see below)
    metrics.json           {"episodes": [...rows], "eval": [...rows]}
    eval.csv               one row per periodic evaluation (means over its episodes)
    learning_curve.png     return and RMS error per episode, evaluation points
    agent.npz              the agent at the end of training (``agent.save``)
    checkpoints/latest.npz the agent at the latest checkpoint plus the trainer state
    checkpoints/state.json the trainer state of latest.npz, readable (step, episode, seeds, rows)
    dataset/               Minari-format episodes, with ``record=True`` (envs/recording.py)

A seed sweep (:func:`train_many`) puts one such directory per seed under the root,
``<root>/seed_<k>``, and a ``seeds.json`` listing them.

## Metrics (one row per episode; the same keys in eval rows, averaged)

``episode, env_seed, step`` (global step at the episode's end), ``length``, ``complete`` (0
when the step budget or a callback cut the episode), ``terminated``; ``return`` and every
``reward_*`` term of ``info`` summed; ``rms_error`` (RMS over steps of ``‖info["error"]‖``),
``rms_error_last_half`` (the same over the episode's second half), ``rms_error_<i>`` per error
component; ``actuator_energy_j`` and ``actuator_power_w`` (from ``info["power_w"]``); for agents
that count operations (``agent.energy()``): ``spike_rate_hz`` (per neuron, in network time),
``activity`` (spikes per neuron update), ``ops_per_tick`` (every counted operation: neuron
updates, spikes, synaptic events and weight updates; or a DNN's MACs, activations and memory
accesses) and each operation per tick (``<op>_per_tick``),
``compute_<category>_j`` per energy category for the episode (spikes, synaptic, neuron, learning,
mac, memory, static), ``compute_energy_j``, ``compute_energy_per_tick_j``,
``compute_dynamic_per_tick_j`` (static left out) and ``compute_power_w`` (on the agent's
``energy_profile``). Values that do not apply are empty in the CSV and null in the JSON.

## Resume gives the same result

Every episode starts with ``env.reset(seed=episode_seed(seed, episode))``, and checkpoints are
taken only at episode boundaries. A checkpoint holds the agent's whole state (network, learner,
RNGs, operation counters) and the trainer's (step, episode, schedules, metric rows), in one
file written to a temporary name and renamed into place. Resuming restores both and replays the
episode that was in progress from its start, so ``N/2`` steps + resume to ``N`` equals ``N`` in
one go, metrics and weights alike. Evaluation runs on a copy of the agent and a separate env.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import importlib.metadata
import io
import json
import math
import multiprocessing
import os
import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import gymnasium as gym
import numpy as np

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents.baselines import AGENT_KINDS, make_agent
from neurofit.agents.neurofit_agent import MODES, AgentConfig, NeuroFitAgent
from neurofit.neuromorphic.counters import OpCounts

__all__ = [
    "Callback",
    "TrainConfig",
    "TrainResult",
    "episode_seed",
    "evaluate",
    "plot_learning_curve",
    "train",
    "train_many",
]

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
_STATE_FORMAT = 1
_TRAIN_STREAM, _EVAL_STREAM = 0, 1
#: fields a resumed run may change: the budget and the bookkeeping that does not affect results
_RESUMABLE_CHANGES = ("total_steps", "record", "checkpoint_every")
_CLUSTER_HINT = (
    "backend='ray' needs Ray: install the cluster extra, e.g. pip install 'neurofit[cluster]'"
)


def episode_seed(seed: int, index: int, stream: int = _TRAIN_STREAM) -> int:
    """The env seed of episode ``index`` of a run seeded ``seed`` (stream 0: training,
    1: evaluation); independent of everything that happened before that episode."""
    return int(np.random.SeedSequence([seed, stream, index]).generate_state(1)[0])


# ---------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (saved as ``config.json`` in the run dir).

    Attributes:
        env_id: a registered Gymnasium id (``neurofit/...`` or Gymnasium's own).
        env_kwargs: keyword arguments of ``gymnasium.make``.
        agent: ``"neurofit"``, ``"pd"``, ``"pid"``, ``"random"`` or ``"mlp"``.
        agent_config: fields of :class:`~neurofit.agents.neurofit_agent.AgentConfig` other
            than ``mode`` and ``seed`` (set those here, once).
        mode: ``"error"`` (needs ``info["error"]``: the ``neurofit/`` envs) or ``"reward"``.
        total_steps: env steps of training.
        seed: seeds the agent and, per episode, the env (:func:`episode_seed`).
        eval_every: evaluate at the first episode end after every multiple of this many
            steps (0: only at the end of training).
        eval_episodes: episodes per evaluation (0: no evaluation).
        eval_seed: seeds the evaluation episodes; the same for every run by default, so runs
            of different seeds are evaluated on the same episodes.
        checkpoint_every: checkpoint every this many episodes (checkpoints are taken at
            episode ends, and always at the last one before training stops if it is due).
        record: write every training episode to ``<run>/dataset`` (Minari format).
        mlp_path: the ``NumpyMLP.save`` file of the ``"mlp"`` agent.
    """

    env_id: str = "neurofit/QuadHoverPayload-v0"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    agent: str = "neurofit"
    agent_config: dict[str, Any] = field(default_factory=dict)
    mode: str = "error"
    total_steps: int = 20_000
    seed: int = 0
    eval_every: int = 0
    eval_episodes: int = 2
    eval_seed: int = 0
    checkpoint_every: int = 1
    record: bool = False
    mlp_path: str | None = None

    def __post_init__(self) -> None:
        _check_env_id(self.env_id)
        for name in ("env_kwargs", "agent_config"):
            value = getattr(self, name)
            if not isinstance(value, dict):
                raise ValueError(f"{name} must be a dict, got {value!r}")
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{name} must be JSON-able (it is saved with the run): "
                                 f"{exc}") from None
        if self.agent not in AGENT_KINDS:
            raise ValueError(
                f"unknown agent {self.agent!r}; choose one of {', '.join(AGENT_KINDS)}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        for name, low in (("total_steps", 1), ("seed", 0), ("eval_every", 0),
                          ("eval_episodes", 0), ("eval_seed", 0), ("checkpoint_every", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                what = "a positive integer" if low == 1 else "a non-negative integer"
                raise ValueError(f"{name} must be {what}, got {value!r}")
        for name in ("mode", "seed"):
            if name in self.agent_config:
                raise ValueError(f"{name} is set by TrainConfig.{name} (--{name}), not in "
                                 "agent_config")
        self.agent_cfg()  # validates the agent fields
        if self.agent == "mlp" and not self.mlp_path:
            raise ValueError("the mlp agent needs mlp_path (a NumpyMLP.save file)")
        if self.agent == "neurofit" and self.mode == "error" and not _is_neurofit_id(self.env_id):
            raise ValueError(
                f"error mode needs the task error info['error'] and a reflex, which "
                f"{self.env_id} does not provide; use reward mode (--mode reward), or in Python "
                "wrap the env with neurofit.envs.error_feedback.ErrorFeedback and build the "
                "agent with make_agent"
            )

    def agent_cfg(self) -> AgentConfig:
        """The agent's :class:`AgentConfig`: ``agent_config`` with this run's mode and seed."""
        return AgentConfig.from_dict({**self.agent_config, "mode": self.mode, "seed": self.seed})

    def resolved(self) -> TrainConfig:
        """This config with every agent field written out (what ``config.json`` holds)."""
        full = dataclasses.asdict(self.agent_cfg())
        del full["mode"], full["seed"]
        return dataclasses.replace(self, agent_config=full)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """From :meth:`to_dict` or a ``config.json`` (its ``"resolved"`` block is ignored)."""
        data = {k: v for k, v in data.items() if k != "resolved"}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown train config field(s) {sorted(unknown)}; "
                             f"known fields: {sorted(known)}")
        return cls(**data)

    @classmethod
    def load(cls, run_dir: str | Path) -> TrainConfig:
        """The config of the run in ``run_dir``."""
        path = Path(run_dir) / CONFIG_FILE
        if not path.exists():
            raise FileNotFoundError(f"no {CONFIG_FILE} in {run_dir}: not a training run dir")
        return cls.from_dict(json.loads(path.read_text()))


def _is_neurofit_id(env_id: str) -> bool:
    return env_id.startswith("neurofit/")


def _check_env_id(env_id: Any) -> None:
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"env_id must be a non-empty string, got {env_id!r}")
    if env_id in gym.registry:
        return
    ids = sorted(gym.registry)
    close = difflib.get_close_matches(env_id, ids, n=5, cutoff=0.6)
    if not close:
        close = [i for i in ids if i.startswith("neurofit/")]
        raise ValueError(f"unknown env id {env_id!r}; the neurofit ids are: {', '.join(close)}")
    raise ValueError(f"unknown env id {env_id!r}; close matches: {', '.join(close)}")


def make_env(config: TrainConfig) -> gym.Env[Any, Any]:
    """``gymnasium.make(config.env_id, **config.env_kwargs)``.

    Raises:
        ValueError: the env does not take one of ``env_kwargs`` (or rejects its value).
    """
    try:
        return gym.make(config.env_id, **config.env_kwargs)
    except TypeError as exc:
        raise ValueError(f"{config.env_id} does not accept env_kwargs "
                         f"{config.env_kwargs}: {exc}") from exc


# ---------------------------------------------------------------------------------- callbacks
class Callback(Protocol):
    """Called after every env step of training (Stable-Baselines3's ``on_step``).

    ``locals_`` holds ``step`` (global steps done), ``episode`` (index of the current episode),
    ``obs``, ``action``, ``reward``, ``terminated``, ``truncated``, ``info``, ``agent``,
    ``env``, ``config`` and ``episode_row`` (the episode's metrics row at its last step, else
    None). Return False to stop training after this step.
    """

    def on_step(self, locals_: dict[str, Any]) -> bool: ...


@dataclass
class TrainResult:
    """What :func:`train` returns.

    Attributes:
        run_dir: the run directory.
        config: the resolved config.
        steps: env steps done in total (resumed steps included).
        episodes: episodes completed.
        metrics: the per-episode rows (``metrics.csv``).
        evaluations: the evaluation rows (``eval.csv``).
        stopped_early: a callback stopped training.
        resumed_from_step: the checkpoint's step (0 for a fresh run).
        wall_s: seconds this call took.
    """

    run_dir: Path
    config: TrainConfig
    steps: int
    episodes: int
    metrics: list[dict[str, Any]]
    evaluations: list[dict[str, Any]]
    stopped_early: bool = False
    resumed_from_step: int = 0
    wall_s: float = 0.0

    @property
    def final_eval(self) -> dict[str, Any] | None:
        return self.evaluations[-1] if self.evaluations else None


# ---------------------------------------------------------------------------------- metrics
def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


class _Totals(NamedTuple):
    counts: OpCounts  # spiking-network operations so far
    dnn: dict[str, int]  # DNN operations so far
    energy: dict[str, float]  # joules by category (agent.energy() charges one static tick)
    static_tick_j: float  # the profile's static energy per control tick


def _compute_totals(agent: Any) -> _Totals | None:
    """What the agent has computed so far, from ``agent.energy()`` (None without it)."""
    energy = getattr(agent, "energy", None)
    if energy is None:
        return None
    meter = energy()
    return _Totals(meter.counts, meter.dnn_cost.as_dict(), meter.totals()._asdict(),
                   meter.profile.static_w * meter.control_dt_s)


class _EpisodeStats:
    """Sums one episode's reward terms, errors and power; compute from the agent's counters."""

    def __init__(self, agent: Any, control_dt_s: float) -> None:
        self._agent = agent
        self._dt = control_dt_s
        self._start = _compute_totals(agent)
        self.length = 0
        self.ret = 0.0
        self.terms: dict[str, float] = {}
        self.err_sq: list[float] = []
        self.err_comp: np.ndarray | None = None
        self.power_sum = 0.0
        self.has_power = False

    def add(self, reward: float, info: dict[str, Any]) -> None:
        self.length += 1
        self.ret += float(reward)
        for key, value in info.items():
            if key.startswith("reward_") and isinstance(value, (int, float, np.number)):
                self.terms[key] = self.terms.get(key, 0.0) + float(value)
        error = info.get("error")
        if error is not None:
            sq = np.square(np.asarray(error, dtype=np.float64))
            self.err_sq.append(float(sq.sum()))
            self.err_comp = sq.copy() if self.err_comp is None else self.err_comp + sq
        power = info.get("power_w")
        if power is not None:
            self.power_sum += float(power)
            self.has_power = True

    def row(self, **head: Any) -> dict[str, Any]:
        n = max(self.length, 1)
        row: dict[str, Any] = dict(head)
        row["length"] = self.length
        row["return"] = self.ret
        row.update(self.terms)
        if self.err_sq:
            err = np.asarray(self.err_sq)
            row["rms_error"] = math.sqrt(float(err.mean()))
            row["rms_error_last_half"] = math.sqrt(float(err[len(err) // 2:].mean()))
            for i, v in enumerate(self.err_comp):  # type: ignore[arg-type]
                row[f"rms_error_{i}"] = math.sqrt(float(v) / len(err))
        else:
            row["rms_error"] = row["rms_error_last_half"] = None
        if self.has_power:
            row["actuator_energy_j"] = self.power_sum * self._dt
            row["actuator_power_w"] = self.power_sum / n
        row.update(self._compute(n))
        return {k: _finite_or_none(v) if isinstance(v, float) else v for k, v in row.items()}

    def _compute(self, ticks: int) -> dict[str, Any]:
        end = _compute_totals(self._agent)
        if end is None or self._start is None:
            return {"spike_rate_hz": None, "ops_per_tick": None,
                    "compute_energy_per_tick_j": None, "compute_power_w": None}
        start = self._start
        counts = end.counts - start.counts
        out: dict[str, Any] = {}
        if counts.neuron_updates > 0:
            dt_s = float(getattr(getattr(self._agent, "config", None), "dt_s", math.nan))
            out["spike_rate_hz"] = counts.spikes / counts.neuron_updates / dt_s
            out["activity"] = counts.spikes / counts.neuron_updates
            ops = counts.as_dict()
        else:
            ops = {k: v - start.dnn[k] for k, v in end.dnn.items()}
            out["spike_rate_hz"] = None
        out["ops_per_tick"] = sum(ops.values()) / ticks
        for name, value in ops.items():
            out[f"{name}_per_tick"] = value / ticks
        energy = {k: v - start.energy[k] for k, v in end.energy.items()}
        energy["static_j"] = end.static_tick_j * ticks
        total = sum(energy.values())
        for name, value in energy.items():
            out[f"compute_{name}"] = value
        out["compute_energy_j"] = total
        out["compute_energy_per_tick_j"] = total / ticks
        out["compute_dynamic_per_tick_j"] = (total - energy["static_j"]) / ticks
        out["compute_power_w"] = total / ticks / self._dt
        return out


def _mean_rows(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean of every numeric key over ``rows`` (None where a row lacks it), and return_std."""
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    out: dict[str, Any] = {"episodes": len(rows)}
    skip = {"episode", "env_seed", "step", "complete", "terminated"}
    for k in keys:
        if k in skip:
            continue
        vals = [r.get(k) for r in rows]
        nums = [float(v) for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
        out[k] = sum(nums) / len(nums) if nums and len(nums) == len(vals) else None
    rets = [float(r["return"]) for r in rows]
    out["return_std"] = float(np.std(rets)) if rets else None
    return out


# ---------------------------------------------------------------------------------- files
def _atomic_write(path: Path, data: bytes) -> None:
    """Write to a unique temporary name beside ``path`` (mode from the umask), then rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
        os.replace(tmp, path)
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
    ``state.json`` as its readable mirror. The npz alone is authoritative on resume."""
    ckpt = run_dir / CHECKPOINT_DIR
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
    _atomic_write(ckpt / CHECKPOINT_FILE, buf.getvalue())
    _write_json(ckpt / STATE_FILE, state)


def _load_checkpoint(run_dir: Path, agent: Any) -> dict[str, Any] | None:
    path = run_dir / CHECKPOINT_DIR / CHECKPOINT_FILE
    if not path.exists():
        return None
    with np.load(path) as data:
        state = json.loads(bytes(data["trainer_state"]).decode())
        has_agent = len(data.files) > 1
    if state.get("format") != _STATE_FORMAT:
        raise ValueError(f"{path}: checkpoint format {state.get('format')!r}, "
                         f"this version reads {_STATE_FORMAT}")
    if has_agent:
        agent.load_state(path)
    return state


def plot_learning_curve(rows: Sequence[dict[str, Any]], evals: Sequence[dict[str, Any]],
                        path: str | Path, title: str = "") -> Path:
    """Return and RMS error per training episode (dots: evaluations) as a PNG (Agg)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 5.5))  # no constrained layout: 2x faster, the axes are simple
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.11, right=0.97, bottom=0.09, top=0.92, hspace=0.08)
    ax_ret, ax_err = fig.subplots(2, 1, sharex=True)
    for ax, key, label in ((ax_ret, "return", "episode return"),
                           (ax_err, "rms_error", "RMS error")):
        pts = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, "-", marker=".", label="training episodes")
        ev = [(e["step"], e[key]) for e in evals if e.get(key) is not None]
        if ev:
            xs, ys = zip(*ev, strict=True)
            ax.plot(xs, ys, "o", color="C3", label="evaluation (learning frozen)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        if pts or ev:
            ax.legend(loc="best", fontsize="small")
    ax_err.set_xlabel("env steps")
    if title:
        fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    out = Path(path)
    _atomic_write(out, buf.getvalue())
    return out


# ---------------------------------------------------------------------------------- episodes
def _control_dt(env: gym.Env[Any, Any]) -> float:
    return float(getattr(env.unwrapped, "dt", 0.01))


def _run_episodes(agent: Any, env: gym.Env[Any, Any], seeds: Iterable[int]) -> list[dict]:
    """Whole episodes with ``agent`` as it is (no callbacks, no budget); one row each."""
    rows = []
    dt = _control_dt(env)
    for i, s in enumerate(seeds):
        obs, info = env.reset(seed=s)
        agent.reset()
        stats = _EpisodeStats(agent, dt)
        terminated = truncated = False
        while not (terminated or truncated):
            action = agent.act(obs)
            obs, reward, terminated, truncated, info = env.step(action)
            agent.observe(obs, float(reward), terminated, info)
            stats.add(float(reward), info)
        rows.append(stats.row(episode=i, env_seed=s, complete=True, terminated=terminated))
    return rows


def _recorded_episodes(agent: Any, env_id: str, env_kwargs: dict[str, Any] | None,
                       run_dir: Path, seeds: Iterable[int]) -> list[dict]:
    """:func:`_run_episodes` on a recorded env writing ``<run_dir>/eval_dataset``."""
    import shutil

    from neurofit.envs.recording import EpisodeRecorder

    target = Path(run_dir) / EVAL_DATASET_DIR
    if target.exists():
        shutil.rmtree(target)
    env = EpisodeRecorder(gym.make(env_id, **(env_kwargs or {})), target, agent,
                          metadata={"source": "neurofit evaluate", "run_dir": str(run_dir)})
    try:
        return _run_episodes(agent, env, seeds)
    finally:
        env.close()


#: where ``evaluate(record=True)`` writes a run's evaluation episodes
EVAL_DATASET_DIR = "eval_dataset"


class _Evaluator:
    """Evaluates a copy of the training agent (learning off) on a separate env."""

    def __init__(self, config: TrainConfig) -> None:
        self._config = config
        self._env: gym.Env[Any, Any] | None = None
        self._agent: Any = None
        self.seeds = [episode_seed(config.eval_seed, i, _EVAL_STREAM)
                      for i in range(config.eval_episodes)]

    def __call__(self, agent: Any) -> dict[str, Any]:
        cfg = self._config
        if self._env is None:
            self._env = make_env(cfg)
        if cfg.agent == "neurofit":
            if self._agent is None:
                self._agent = make_agent("neurofit", self._env, cfg.agent_cfg())
            with tempfile.TemporaryDirectory() as tmp:
                agent.save(Path(tmp) / "agent.npz")
                self._agent.load_state(Path(tmp) / "agent.npz")
            clone = self._agent
        else:  # baselines learn nothing: a fresh one (the random one from its seed again)
            clone = make_agent(cfg.agent, self._env, cfg.agent_cfg(), mlp=cfg.mlp_path)
        clone.learning = False
        return _mean_rows(_run_episodes(clone, self._env, self.seeds))

    def close(self) -> None:
        if self._env is not None:
            self._env.close()


# ---------------------------------------------------------------------------------- train
def _versions() -> dict[str, str]:
    out = {}
    for name in ("neurofit", "gymnasium", "mujoco", "numpy", "numba"):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out


def _config_json(config: TrainConfig, env: gym.Env[Any, Any]) -> dict[str, Any]:
    spec = env.spec
    data = config.to_dict()
    data["resolved"] = {
        "agent_config": dataclasses.asdict(config.agent_cfg()),
        "env": {"id": config.env_id, "kwargs": config.env_kwargs,
                "max_episode_steps": spec.max_episode_steps if spec is not None else None,
                "control_dt_s": _control_dt(env),
                "class": type(env.unwrapped).__name__},
        "episode_seeds": "numpy SeedSequence([seed, 0, episode]).generate_state(1)[0]",
        "versions": _versions(),
    }
    return json.loads(json.dumps(data))


def _check_resumable(stored: TrainConfig, config: TrainConfig, run_dir: Path) -> None:
    a, b = stored.to_dict(), config.to_dict()
    diff = [k for k in a if a[k] != b[k] and k not in _RESUMABLE_CHANGES]
    if diff:
        raise ValueError(
            f"{run_dir} was trained with a different config ({', '.join(diff)} differ); resume "
            f"may change only {', '.join(_RESUMABLE_CHANGES)}"
        )


def train(config: TrainConfig, run_dir: str | Path, resume: bool = False,
          callbacks: Sequence[Callback] = (), progress: bool = True) -> TrainResult:
    """Train ``config.agent`` on ``config.env_id`` for ``config.total_steps`` steps.

    Args:
        config: the run's configuration.
        run_dir: the run directory (created; layout in the module docstring).
        resume: continue the run in ``run_dir`` from its latest checkpoint (start from
            scratch if it has none). Only ``total_steps``, ``record`` and ``checkpoint_every``
            may differ from the stored config.
        callbacks: called after every step (:class:`Callback`); one returning False stops.
        progress: show a live progress bar (on stderr).

    Raises:
        ValueError: the env cannot serve the agent (e.g. error mode without ``info["error"]``),
            or ``resume`` with a different config.
        FileExistsError: ``run_dir`` holds a run and ``resume`` is False.
    """
    t0 = time.perf_counter()
    config = config.resolved()
    run_dir = Path(run_dir)
    env = make_env(config)
    try:
        agent = make_agent(config.agent, env, config.agent_cfg(), mlp=config.mlp_path)
        if (run_dir / CONFIG_FILE).exists():
            if not resume:
                raise FileExistsError(
                    f"{run_dir} already holds a run; continue it with resume=True (--resume) "
                    "or choose another run dir"
                )
            _check_resumable(TrainConfig.load(run_dir), config, run_dir)
        state = _load_checkpoint(run_dir, agent) if resume else None
        if state is not None and hasattr(agent, "record_tick"):
            agent.record_tick()  # re-mark the op counters the recorder reads as deltas
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_json(run_dir / CONFIG_FILE, _config_json(config, env))
        if config.record:
            from neurofit.envs.recording import RUN_DATASET_DIR, EpisodeRecorder

            env = EpisodeRecorder.for_run(
                env, run_dir, agent, resume=(run_dir / RUN_DATASET_DIR).exists(),
                metadata={"seed": config.seed, "train_config": config.to_dict()})
        return _train_loop(config, run_dir, env, agent, state, callbacks, progress, t0)
    finally:
        env.close()


def _train_loop(config: TrainConfig, run_dir: Path, env: gym.Env[Any, Any], agent: Any,
                state: dict[str, Any] | None, callbacks: Sequence[Callback], progress: bool,
                t0: float) -> TrainResult:
    state = state or {"step": 0, "episode": 0, "next_eval_step": config.eval_every,
                      "rows": [], "evals": []}
    step, episode = int(state["step"]), int(state["episode"])
    start_step = step
    next_eval = int(state["next_eval_step"])
    rows: list[dict[str, Any]] = list(state["rows"])
    evals: list[dict[str, Any]] = list(state["evals"])
    evaluator = _Evaluator(config)
    dt = _control_dt(env)
    total = config.total_steps
    stopped = False
    bar = _Progress(total, step, enabled=progress,
                    title=f"{config.agent} {config.env_id.split('/')[-1]}")
    if hasattr(agent, "learning"):
        agent.learning = config.agent == "neurofit"

    def evaluate_now() -> None:
        if config.eval_episodes > 0:
            evals.append({"step": step, "episode": episode, **evaluator(agent)})

    try:
        with bar:
            while step < total and not stopped:
                env_seed = episode_seed(config.seed, episode)
                obs, info = env.reset(seed=env_seed)
                agent.reset()
                stats = _EpisodeStats(agent, dt)
                done = terminated = False
                while not done and step < total:
                    action = agent.act(obs)
                    obs, reward, terminated, truncated, info = env.step(action)
                    agent.observe(obs, float(reward), terminated, info)
                    stats.add(float(reward), info)
                    step += 1
                    done = bool(terminated or truncated)
                    row = None
                    if done:
                        row = stats.row(episode=episode, env_seed=env_seed, step=step,
                                        complete=True, terminated=bool(terminated))
                        rows.append(row)
                    if callbacks:
                        local = {"step": step, "episode": episode, "obs": obs,
                                 "action": action, "reward": reward, "terminated": terminated,
                                 "truncated": truncated, "info": info, "agent": agent,
                                 "env": env, "config": config, "episode_row": row}
                        for cb in callbacks:
                            if cb.on_step(local) is False:
                                stopped = True
                    bar.advance(row)
                    if stopped:
                        break
                if not done:  # cut by the budget or a callback: logged, not checkpointed
                    rows.append(stats.row(episode=episode, env_seed=env_seed, step=step,
                                          complete=False, terminated=False))
                    break
                episode += 1
                if config.eval_every and step >= next_eval:
                    evaluate_now()
                    next_eval = (step // config.eval_every + 1) * config.eval_every
                last = stopped or step >= total
                if episode % config.checkpoint_every == 0 or last:
                    _save_checkpoint(run_dir, agent, {
                        "format": _STATE_FORMAT, "step": step, "episode": episode,
                        "next_eval_step": next_eval, "seed": config.seed,
                        "next_env_seed": episode_seed(config.seed, episode),
                        "rows": rows, "evals": evals})
                _write_metrics(run_dir, rows, evals)
        if config.eval_episodes > 0 and (not evals or evals[-1]["step"] != step):
            evaluate_now()  # the final evaluation (not in any checkpoint: redone on resume)
        agent.save(run_dir / AGENT_FILE)
    finally:
        evaluator.close()
        _write_metrics(run_dir, rows, evals)
        if rows or evals:
            plot_learning_curve(rows, evals, run_dir / CURVE_PNG,
                                title=f"{config.agent} ({config.mode}) on {config.env_id}, "
                                      f"seed {config.seed}")
    return TrainResult(run_dir=run_dir, config=config, steps=step,
                       episodes=sum(1 for r in rows if r["complete"]), metrics=rows,
                       evaluations=evals, stopped_early=stopped, resumed_from_step=start_step,
                       wall_s=time.perf_counter() - t0)


class _Progress:
    """A rich progress bar on stderr (steps; last episode's return, RMS error, spike rate)."""

    def __init__(self, total: int, done: int, *, enabled: bool, title: str) -> None:
        self._enabled = enabled
        if not enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                             MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                             TextColumn("{task.fields[stats]}"),
                             console=Console(stderr=True))
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
        if not self._enabled:
            return
        self._pending += 1
        if row is None and self._pending < 50:
            return
        fields: dict[str, Any] = {}
        if row is not None:
            parts = [f"ep {row['episode']}", f"return {row['return']:.4g}"]
            if row.get("rms_error") is not None:
                parts.append(f"RMS err {row['rms_error']:.3g}")
            if row.get("spike_rate_hz") is not None:
                parts.append(f"{row['spike_rate_hz']:.1f} Hz")
            fields["stats"] = " | ".join(parts)
        self._bar.update(self._task, advance=self._pending, **fields)
        self._pending = 0


# ---------------------------------------------------------------------------------- seeds
def _train_worker(config: dict[str, Any], run_dir: str, resume: bool) -> TrainResult:
    return train(TrainConfig.from_dict(config), run_dir, resume=resume, progress=False)


def train_many(config: TrainConfig, seeds: Sequence[int], workers: int = 1,
               run_root: str | Path = "runs", *, backend: str = "local",
               resume: bool = False) -> list[TrainResult]:
    """:func:`train` for each seed, in parallel processes; run dirs ``<run_root>/seed_<k>``.

    Args:
        config: the run's config (its ``seed`` is replaced by each of ``seeds``).
        seeds: distinct non-negative seeds.
        workers: processes (``"local"``: a spawn-context ProcessPoolExecutor; 1 runs in this
            process) or concurrent Ray tasks.
        run_root: parent directory of the seed runs; gets a ``seeds.json`` listing them.
        backend: ``"local"`` or ``"ray"`` (``ray.init()`` joins the cluster named by
            ``RAY_ADDRESS`` or starts a local one; the run root must be on a shared disk).
        resume: resume each seed's run.

    Returns:
        The seeds' results, in the order of ``seeds``.
    """
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
        raise ValueError(f"seeds must be distinct non-negative integers, got {seeds}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    if backend not in ("local", "ray"):
        raise ValueError(f"backend must be 'local' or 'ray', got {backend!r}")
    root = Path(run_root)
    configs = [dataclasses.replace(config, seed=s).to_dict() for s in seeds]
    dirs = [str(root / f"seed_{s}") for s in seeds]
    if backend == "ray":
        try:
            import ray
        except ImportError as exc:
            raise ImportError(_CLUSTER_HINT) from exc
        ray.init(ignore_reinit_error=True)
        task = ray.remote(num_cpus=1)(_train_worker)
        results = ray.get([task.remote(c, d, resume) for c, d in zip(configs, dirs, strict=True)])
    elif workers == 1:
        results = [_train_worker(c, d, resume) for c, d in zip(configs, dirs, strict=True)]
    else:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(workers, len(seeds)), mp_context=ctx) as pool:
            futures = [pool.submit(_train_worker, c, d, resume)
                       for c, d in zip(configs, dirs, strict=True)]
            results = [f.result() for f in futures]
    _write_json(root / SEEDS_FILE, {"seeds": seeds, "runs": [f"seed_{s}" for s in seeds],
                                    "config": config.resolved().to_dict()})
    return list(results)


# ---------------------------------------------------------------------------------- evaluate
#: What :func:`evaluate` reports per agent (besides the other episode means).
def _load_run_agent(run_dir: Path, env: gym.Env[Any, Any], config: TrainConfig) -> Any:
    agent = make_agent(config.agent, env, config.agent_cfg(), mlp=config.mlp_path)
    for path in (run_dir / AGENT_FILE, run_dir / CHECKPOINT_DIR / CHECKPOINT_FILE):
        if path.exists():
            agent.load_state(path)
            break
    return agent


def evaluate(source: str | Path | Any, env_id: str | None = None, episodes: int = 10,
             seed: int = 0, *, baselines: Sequence[str] = ("pd", "pid", "random"),
             env_kwargs: dict[str, Any] | None = None,
             mlp_path: str | Path | None = None,
             record: bool = False) -> dict[str, Any]:
    """Evaluate a trained agent, learning frozen, beside baselines on the same episodes.

    Args:
        source: a run dir (its final ``agent.npz``, else its latest checkpoint), a seed-sweep
            root (every ``seed_<k>`` run), or an agent object (then ``env_id`` is required;
            it is evaluated as it is, learning switched off for the evaluation).
        env_id: the env (default: the run's), with ``env_kwargs`` (default: the run's).
        episodes: episodes per agent.
        seed: seeds the episodes (:func:`episode_seed` stream 1) and the random baseline.
        baselines: any of ``"pd"``, ``"pid"``, ``"random"``, ``"mlp"`` (needs ``mlp_path``);
            those that cannot drive the env are listed under ``"skipped"`` with the reason.
        record: record each run's evaluation episodes (with the agent's spikes and energy)
            into ``<run>/eval_dataset`` for ``neurofit replay`` (replacing an earlier one).

    Returns:
        ``{"env_id", "episodes", "seed", "agents": {name: {return, return_std, rms_error,
        spike_rate_hz, ops_per_tick, compute_energy_per_tick_j, ...}}, "skipped": {...}}``.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be a positive integer, got {episodes!r}")
    unknown = [b for b in baselines if b not in ("pd", "pid", "random", "mlp")]
    if unknown:
        raise ValueError(f"unknown baseline(s) {unknown}; choose from pd, pid, random, mlp")
    runs: list[tuple[str, Path, TrainConfig]] = []
    agent_obj = None
    if isinstance(source, (str, Path)):
        root = Path(source)
        if (root / SEEDS_FILE).exists() and not (root / CONFIG_FILE).exists():
            names = json.loads((root / SEEDS_FILE).read_text())["runs"]
            runs = [(n, root / n, TrainConfig.load(root / n)) for n in names]
        else:
            runs = [(root.name or str(root), root, TrainConfig.load(root))]
        env_id = env_id or runs[0][2].env_id
        env_kwargs = runs[0][2].env_kwargs if env_kwargs is None else env_kwargs
    else:
        if env_id is None:
            raise ValueError("evaluating an agent object needs env_id")
        agent_obj = source
    _check_env_id(env_id)
    try:
        env = gym.make(env_id, **(env_kwargs or {}))
    except TypeError as exc:
        raise ValueError(f"{env_id} does not accept env_kwargs {env_kwargs}: {exc}") from exc
    seeds = [episode_seed(seed, i, _EVAL_STREAM) for i in range(episodes)]
    results: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    try:
        for name, run_dir, cfg in runs:
            agent = _load_run_agent(run_dir, env, cfg)
            agent.learning = False
            label = cfg.agent if len(runs) == 1 else f"{cfg.agent}/{name}"
            if record:
                results[label] = _mean_rows(_recorded_episodes(agent, env_id, env_kwargs,
                                                               run_dir, seeds))
            else:
                results[label] = _mean_rows(_run_episodes(agent, env, seeds))
        if agent_obj is not None:
            before = getattr(agent_obj, "learning", None)
            agent_obj.learning = False
            try:
                label = "neurofit" if isinstance(agent_obj, NeuroFitAgent) else "agent"
                results[label] = _mean_rows(_run_episodes(agent_obj, env, seeds))
            finally:
                if before is not None:
                    agent_obj.learning = before
        for kind in baselines:
            kind_label = f"{kind} (baseline)" if kind in results else kind
            try:
                base = make_agent(kind, env, AgentConfig(seed=seed), mlp=mlp_path)
            except ValueError as exc:
                skipped[kind] = str(exc)
                continue
            results[kind_label] = _mean_rows(_run_episodes(base, env, seeds))
    finally:
        env.close()
    return {"env_id": env_id, "episodes": episodes, "seed": seed, "agents": results,
            "skipped": skipped}
