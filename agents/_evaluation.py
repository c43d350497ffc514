"""Evaluation: whole episodes of an agent with learning off, one metrics row each — during
training (:class:`_Evaluator`, on a copy of the agent and a separate env) and of a finished run
or agent (:func:`evaluate`)."""

from __future__ import annotations

import json
import os
import shlex
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents._episode_metrics import _EpisodeStats, _mean_rows
from neurofit.agents._run_dir import (
    AGENT_FILE,
    CHECKPOINT_DIR,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    SEEDS_FILE,
    _checkpoint_step,
    _corrupt_checkpoint_advice,
    _lock_run_dir,
)
from neurofit.agents._train_config import (
    _EVAL_STREAM,
    TrainConfig,
    _check_env_id,
    _gym_make,
    episode_seed,
    make_env,
)
from neurofit.agents.baselines import make_agent
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.rollout import run_episode
from neurofit.neuromorphic._checks import CorruptFileError


# ---------------------------------------------------------------------------------- episodes
def _control_dt(env: gym.Env[Any, Any]) -> float:
    return float(getattr(env.unwrapped, "dt", 0.01))


def _run_episodes(agent: Any, env: gym.Env[Any, Any], seeds: Iterable[int]) -> list[dict]:
    """Whole episodes with ``agent`` as it is (no callbacks, no budget); one row each."""
    rows = []
    dt = _control_dt(env)
    for i, s in enumerate(seeds):
        stats = _EpisodeStats(agent, dt)
        result = run_episode(agent, env, s, on_step=stats.on_step)
        rows.append(stats.row(episode=i, env_seed=s, complete=True,
                              terminated=result.terminated))
    return rows


def _recorded_episodes(agent: Any, env_id: str, env_kwargs: dict[str, Any] | None,
                       run_dir: Path, seeds: Iterable[int]) -> list[dict]:
    """:func:`_run_episodes` on a recorded env writing ``<run_dir>/eval_dataset``."""
    import shutil

    from neurofit.envs.recording import EpisodeRecorder

    # the run's lock: no trainer (and no other recording evaluation) writes this run meanwhile
    lock = _lock_run_dir(Path(run_dir))
    try:
        target = Path(run_dir) / EVAL_DATASET_DIR
        if target.exists():
            shutil.rmtree(target)
        env = EpisodeRecorder(_gym_make(env_id, env_kwargs or {}, error=True), target, agent,
                              metadata={"source": "neurofit evaluate", "run_dir": str(run_dir)})
        try:
            return _run_episodes(agent, env, seeds)
        finally:
            env.close()
    finally:
        os.close(lock)


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


# ---------------------------------------------------------------------------------- evaluate
#: What :func:`evaluate` reports per agent (besides the other episode means).
def _load_run_agent(run_dir: Path, env: gym.Env[Any, Any], config: TrainConfig) -> Any:
    agent = make_agent(config.agent, env, config.agent_cfg(), mlp=config.mlp_path)
    latest = run_dir / CHECKPOINT_DIR / CHECKPOINT_FILE
    for path in (run_dir / AGENT_FILE, latest):
        if path.exists():
            try:
                agent.load_state(path)
            except CorruptFileError as exc:
                step = _checkpoint_step(latest) if path != latest else None
                advice = (f"rebuild it from the run's latest checkpoint (step {step}) with: "
                          f"neurofit train --run-dir {shlex.quote(str(run_dir))} --resume"
                          if step is not None
                          else _corrupt_checkpoint_advice(run_dir))
                raise CorruptFileError(path, f"{exc.reason}. Nothing was changed; {advice}"
                                       ) from None
            break
    return agent


def _check_env_fits(run_dir: Path, config: TrainConfig, env_id: str,
                    env_kwargs: dict[str, Any], env: gym.Env[Any, Any]) -> None:
    """A trained agent (neurofit, mlp) drives only an env shaped like its run's."""
    if config.agent not in ("neurofit", "mlp") or (env_id, env_kwargs) == (config.env_id,
                                                                          config.env_kwargs):
        return  # the fixed controllers are built for whichever env they drive
    trained = make_env(config)
    try:
        was = (trained.observation_space.shape, trained.action_space.shape)
    finally:
        trained.close()
    now = (env.observation_space.shape, env.action_space.shape)
    if was != now:
        raise ValueError(
            f"{run_dir} was trained on {config.env_id} (observation shape {was[0]}, action "
            f"shape {was[1]}); its {config.agent} agent cannot be evaluated on {env_id} "
            f"(observation shape {now[0]}, action shape {now[1]}): leave out the env (--env) "
            "to evaluate on the run's own, or give one with the same shapes")


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
        ``{"env_id", "episodes", "seed", "agents": {name: {return, return_std,
        rms_tracking_error_mm, spike_rate_hz, ops_per_tick, compute_energy_per_tick_j, ...}},
        "skipped": {...}}``.
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
        env = _gym_make(env_id, env_kwargs or {}, error=True)
    except TypeError as exc:
        raise ValueError(f"{env_id} does not accept env_kwargs {env_kwargs}: {exc}") from exc
    seeds = [episode_seed(seed, i, _EVAL_STREAM) for i in range(episodes)]
    results: dict[str, dict[str, Any]] = {}
    skipped: dict[str, str] = {}
    try:
        for name, run_dir, cfg in runs:
            _check_env_fits(run_dir, cfg, env_id, env_kwargs or {}, env)
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
