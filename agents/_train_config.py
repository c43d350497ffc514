"""A training run's configuration (:class:`TrainConfig`), its env and its episode seeds."""

from __future__ import annotations

import dataclasses
import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents._run_dir import (
    CONFIG_FILE,
)
from neurofit.agents.baselines import AGENT_KINDS
from neurofit.agents.neurofit_agent import MODES, AgentConfig
from neurofit.envs.error_feedback import ERROR_FUNCTIONS, make_with_error

_TRAIN_STREAM, _EVAL_STREAM = 0, 1
#: fields a resumed run may change: the budget and the bookkeeping that does not affect results
_RESUMABLE_CHANGES = ("total_steps", "record", "checkpoint_every")
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
        self.agent_cfg()  # validates the agent fields (first: its messages give the range)
        for name in ("env_kwargs", "agent_config"):
            for key, value in getattr(self, name).items():
                try:
                    json.dumps(value, allow_nan=False)
                except (TypeError, ValueError):
                    raise ValueError(
                        f"{name}[{key!r}] is {value!r}, which cannot be saved with the run: "
                        "use JSON values (finite numbers, strings, booleans, lists, dicts)"
                    ) from None
        if self.agent == "mlp" and not self.mlp_path:
            raise ValueError("the mlp agent needs mlp_path (a NumpyMLP.save file)")
        if (self.agent == "neurofit" and self.mode == "error"
                and not _is_neurofit_id(self.env_id) and self.env_id not in ERROR_FUNCTIONS):
            raise ValueError(
                f"error mode needs the task error info['error'] and a reflex, which "
                f"{self.env_id} does not provide (of Gymnasium's tasks "
                f"{', '.join(sorted(ERROR_FUNCTIONS))} do); use reward mode (--mode reward), or "
                "in Python wrap the env with neurofit.envs.error_feedback.ErrorFeedback and "
                "build the agent with make_agent"
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
        try:
            data = json.loads(path.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} is corrupt ({exc}); it is rewritten at every start of "
                             "training: restore it from a copy, or train in a new run dir"
                             ) from None
        if not isinstance(data, dict):
            raise ValueError(f"{path} is corrupt: it holds no config object")
        return cls.from_dict(data)


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


def _gym_make(env_id: str, env_kwargs: dict[str, Any], *, error: bool) -> gym.Env[Any, Any]:
    """``gymnasium.make``; with ``error``, a Gymnasium task that has a ready error function
    comes through ``make_with_error`` (it adds ``info["error"]``, nothing else changes)."""
    if error and env_id in ERROR_FUNCTIONS:
        return make_with_error(env_id, **env_kwargs)
    return gym.make(env_id, **env_kwargs)


def make_env(config: TrainConfig) -> gym.Env[Any, Any]:
    """``gymnasium.make(config.env_id, **config.env_kwargs)``; in error mode a Gymnasium task
    with a ready error function comes through its error adapter (``make_with_error``).

    Raises:
        ValueError: the env does not take one of ``env_kwargs`` (or rejects its value).
    """
    try:
        return _gym_make(config.env_id, config.env_kwargs, error=config.mode == "error")
    except TypeError as exc:
        raise ValueError(f"{config.env_id} does not accept env_kwargs "
                         f"{config.env_kwargs}: {exc}") from exc
