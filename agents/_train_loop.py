"""The training loop of one run (:func:`train`): online learning through
:func:`~neurofit.agents.rollout.run_episode`, periodic evaluation, checkpoints and resume.

The loop knows only callbacks (:class:`Callback`): the progress bar
(:class:`~neurofit.agents._train_progress.ProgressBarCallback`) and the learning-curve plot
(:class:`~neurofit.agents._train_plot.LearningCurveCallback`) are callbacks that :func:`train`
passes to it, as Stable-Baselines3 passes its ``ProgressBarCallback``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents._episode_metrics import _EpisodeStats
from neurofit.agents._evaluation import _control_dt, _Evaluator
from neurofit.agents._run_dir import (
    _STATE_FORMAT,
    AGENT_FILE,
    CHECKPOINT_DIR,
    CHECKPOINT_FILE,
    CONFIG_FILE,
    CORRUPT_FILE,
    CURVE_PNG,
    METRICS_JSON,
    _checkpoint_step,
    _load_checkpoint,
    _lock_run_dir,
    _remove_stale_temps,
    _save_agent,
    _save_checkpoint,
    _write_json,
    _write_metrics,
)
from neurofit.agents._train_config import _RESUMABLE_CHANGES, TrainConfig, episode_seed, make_env
from neurofit.agents._train_plot import LearningCurveCallback
from neurofit.agents._train_progress import ProgressBarCallback
from neurofit.agents.baselines import make_agent
from neurofit.agents.rollout import StepResult, run_episode
from neurofit.neuromorphic._versions import package_versions


# ---------------------------------------------------------------------------------- callbacks
class Callback(Protocol):
    """Called after every env step of training (Stable-Baselines3's ``on_step``).

    ``locals_`` holds ``step`` (global steps done), ``episode`` (index of the current episode),
    ``obs``, ``action``, ``reward``, ``terminated``, ``truncated``, ``info``, ``agent``,
    ``env``, ``config`` and ``episode_row`` (the episode's metrics row at its last step, else
    None). Return False to stop training after this step.

    A callback may also have (called if present; a callback with only these is called only
    there):

    - ``on_training_start(locals_)`` before the first step, with ``step`` (where training
      starts: a resume's checkpoint), ``total_steps``, ``agent``, ``env``, ``config`` and
      ``run_dir``;
    - ``on_training_end(locals_)`` when training ends, normally or not (an error, an
      interrupt: then an ``OSError`` it raises is ignored, so as not to hide the first), with
      ``step``, ``rows`` and ``evals`` (the metric rows so far), ``config``, ``run_dir`` and
      ``failed``.
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


# ---------------------------------------------------------------------------------- train
def _versions() -> dict[str, str]:
    return package_versions(("neurofit", "gymnasium", "mujoco", "numpy", "numba"))


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


class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C, SIGINT): where the run stands.

    Attributes:
        run_dir: the run directory.
        step: env steps done when it stopped.
        total_steps: the run's budget.
        checkpoint_step: the step of its latest checkpoint, where a resume starts (None: no
            checkpoint yet, a resume starts from step 0).
    """

    def __init__(self, run_dir: Path, step: int, total_steps: int,
                 checkpoint_step: int | None) -> None:
        super().__init__(f"{run_dir}: interrupted at step {step} of {total_steps}")
        self.run_dir = run_dir
        self.step = step
        self.total_steps = total_steps
        self.checkpoint_step = checkpoint_step

    def __reduce__(self) -> tuple[Any, ...]:  # picklable: it may cross from a worker process
        return (type(self), (self.run_dir, self.step, self.total_steps, self.checkpoint_step))


def _steps_done(run_dir: Path, state: dict[str, Any] | None) -> int:
    """Env steps the run has done: its checkpoint's, or more if ``metrics.json`` holds
    episodes after it (the end of a finished run, cut by its budget mid-episode)."""
    done = int(state["step"]) if state is not None else 0
    try:
        rows = json.loads((run_dir / METRICS_JSON).read_text())["episodes"]
        return max([done, *(int(r["step"]) for r in rows)])
    except (OSError, ValueError, KeyError, TypeError):  # none (yet), or unreadable
        return done


def train(config: TrainConfig, run_dir: str | Path, resume: bool = False,
          callbacks: Sequence[Callback] = (), progress: bool = True, *,
          from_previous: bool = False) -> TrainResult:
    """Train ``config.agent`` on ``config.env_id`` for ``config.total_steps`` steps.

    The run dir is locked while training (:class:`RunLockedError` for a second process).
    Ctrl-C raises :class:`TrainingInterrupted`, which says where the run stands.

    Args:
        config: the run's configuration.
        run_dir: the run directory (created; layout in the module docstring).
        resume: continue the run in ``run_dir`` from its latest checkpoint (start from
            scratch if it has none). Only ``total_steps``, ``record`` and ``checkpoint_every``
            may differ from the stored config, and ``total_steps`` may not be fewer than the
            steps already done.
        callbacks: called after every step (:class:`Callback`); one returning False stops.
            The learning-curve plot (:class:`LearningCurveCallback`) and, with ``progress``,
            the progress bar (:class:`ProgressBarCallback`, last) are added to them.
        progress: show a live progress bar (on stderr).
        from_previous: with ``resume``, when the latest checkpoint is damaged: resume from the
            one before it (the damaged file is kept as ``checkpoints/latest.corrupt.npz``).

    Raises:
        ValueError: the env cannot serve the agent (e.g. error mode without ``info["error"]``),
            ``resume`` with a different config or fewer steps than done, or a damaged
            checkpoint (:class:`~neurofit.neuromorphic._checks.CorruptFileError`).
        FileExistsError: ``run_dir`` holds a run and ``resume`` is False.
        RunLockedError: another process is training in ``run_dir``.
        OSError: a file of the run cannot be written (the error names it).
    """
    t0 = time.perf_counter()
    if from_previous and not resume:
        raise ValueError("from_previous (--from-previous) continues a run: it needs resume")
    config = config.resolved()
    run_dir = Path(run_dir)
    env = make_env(config)
    lock: int | None = None
    try:
        agent = make_agent(config.agent, env, config.agent_cfg(), mlp=config.mlp_path)
        lock = _lock_run_dir(run_dir)
        if (run_dir / CONFIG_FILE).exists():
            if not resume:
                raise FileExistsError(
                    f"{run_dir} already holds a run; continue it with resume=True (--resume) "
                    "or choose another run dir"
                )
            _check_resumable(TrainConfig.load(run_dir), config, run_dir)
        state = (_load_checkpoint(run_dir, agent, from_previous=from_previous) if resume
                 else None)
        done = _steps_done(run_dir, state) if resume else 0
        if config.total_steps < done:
            raise ValueError(
                f"{run_dir} has already done {done} steps, and total_steps (--steps) "
                f"{config.total_steps} is fewer: a resume cannot undo steps. Leave --steps out "
                f"to keep the run's budget, give at least {done}, or train in a new run dir")
        latest = run_dir / CHECKPOINT_DIR / CHECKPOINT_FILE
        if from_previous and latest.exists():  # out of the rotation, kept for inspection
            os.replace(latest, latest.with_name(CORRUPT_FILE))
        _remove_stale_temps(run_dir)
        _write_json(run_dir / CONFIG_FILE, _config_json(config, env))
        if config.record:
            from neurofit.envs.recording import RUN_DATASET_DIR, EpisodeRecorder

            # the run restarts at its checkpoint: so does the dataset (the episodes recorded
            # after it, a partial one saved at an interrupt included, are recorded again)
            keep = state.get("dataset_episodes") if state is not None else 0
            env = EpisodeRecorder.for_run(
                env, run_dir, agent, resume=(run_dir / RUN_DATASET_DIR).exists(),
                truncate_to=keep, metadata={"seed": config.seed,
                                            "train_config": config.to_dict()})
        title = f"{config.agent} ({config.mode}) on {config.env_id}, seed {config.seed}"
        everyone: list[Any] = [*callbacks, LearningCurveCallback(run_dir / CURVE_PNG, title)]
        if progress:  # last (as SB3's ProgressBarCallback): it sees every step
            everyone.append(ProgressBarCallback(f"{config.agent} "
                                                f"{config.env_id.split('/')[-1]}"))
        return _train_loop(config, run_dir, env, agent, state, everyone, t0)
    finally:
        env.close()
        if lock is not None:
            os.close(lock)  # releases the run dir's lock


def _train_loop(config: TrainConfig, run_dir: Path, env: gym.Env[Any, Any], agent: Any,
                state: dict[str, Any] | None, callbacks: Sequence[Any],
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
    step_callbacks = [cb for cb in callbacks if getattr(cb, "on_step", None) is not None]
    if hasattr(agent, "learning"):
        agent.learning = config.agent == "neurofit"

    def evaluate_now() -> None:
        if config.eval_episodes > 0:
            evals.append({"step": step, "episode": episode, **evaluator(agent)})

    try:
        start = {"step": step, "total_steps": total, "agent": agent, "env": env,
                 "config": config, "run_dir": run_dir}
        for cb in callbacks:
            if getattr(cb, "on_training_start", None) is not None:
                cb.on_training_start(start)
        while step < total and not stopped:
            env_seed = episode_seed(config.seed, episode)
            stats = _EpisodeStats(agent, dt)

            def on_step(s: StepResult, stats: _EpisodeStats = stats, episode: int = episode,
                        env_seed: int = env_seed) -> bool:
                nonlocal step, stopped
                stats.on_step(s)
                step += 1
                row = None
                if s.done:
                    row = stats.row(episode=episode, env_seed=env_seed, step=step,
                                    complete=True, terminated=s.terminated)
                    rows.append(row)
                if step_callbacks:
                    local = {"step": step, "episode": episode, "obs": s.obs,
                             "action": s.action, "reward": s.reward,
                             "terminated": s.terminated, "truncated": s.truncated,
                             "info": s.info, "agent": agent, "env": env, "config": config,
                             "episode_row": row}
                    for cb in step_callbacks:
                        if cb.on_step(local) is False:
                            stopped = True
                return not stopped

            done = run_episode(agent, env, env_seed, on_step=on_step,
                               max_steps=total - step).done
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
                    "dataset_episodes": getattr(env, "episodes_written",
                                                state.get("dataset_episodes")),
                    "rows": rows, "evals": evals})
            _write_metrics(run_dir, rows, evals)
        if config.eval_episodes > 0 and (not evals or evals[-1]["step"] != step):
            evaluate_now()  # the final evaluation (not in any checkpoint: redone on resume)
        _save_agent(agent, run_dir / AGENT_FILE)
    except KeyboardInterrupt as exc:
        latest = _checkpoint_step(run_dir / CHECKPOINT_DIR / CHECKPOINT_FILE)
        raise TrainingInterrupted(run_dir, step, total, latest) from exc
    finally:
        evaluator.close()
        # leaving on an error (a full disk, an interrupt): these writes must not replace it
        failing = sys.exc_info()[0] is not None
        with contextlib.suppress(OSError) if failing else contextlib.nullcontext():
            _write_metrics(run_dir, rows, evals)
        end = {"step": step, "rows": rows, "evals": evals, "config": config,
               "run_dir": run_dir, "failed": failing}
        for cb in reversed(callbacks):  # the bar (last) closes first
            if getattr(cb, "on_training_end", None) is not None:
                with contextlib.suppress(OSError) if failing else contextlib.nullcontext():
                    cb.on_training_end(end)
    return TrainResult(run_dir=run_dir, config=config, steps=step,
                       episodes=sum(1 for r in rows if r["complete"]), metrics=rows,
                       evaluations=evals, stopped_early=stopped, resumed_from_step=start_step,
                       wall_s=time.perf_counter() - t0)
