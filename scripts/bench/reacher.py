"""Reacher in error mode: NeuroFit against its reflex alone and against PPO with 10× the steps.

The protocol of ``neurofit bench learning --task reacher``, per seed:

- **NeuroFit** (error mode, :data:`NEUROFIT_CONFIG`) drives ``make_with_error("Reacher-v5")``
  and learns online for ``train_steps`` env steps (episodes of 50 steps; the first from
  ``reset(seed=seed)``, the next ones continue the env's generator);
- **the reflex alone**: the same :class:`~neurofit.agents.reflex.FeedbackReflex` the agent
  builds on (the env's declared Jacobian-transpose PD, gains of
  :data:`~neurofit.envs.error_feedback.FEEDBACK_SPECS`), as the ``pd`` baseline agent; it
  learns nothing, so every seed gives the same figure;
- **PPO**: Stable-Baselines3 ``PPO("MlpPolicy", "Reacher-v5", seed=seed)`` with its defaults
  (the ``rl`` extra) trained for ``ppo_steps`` (default 10 × ``train_steps``), its
  deterministic policy exported to NumPy.

Each is then evaluated frozen on ``eval_episodes`` episodes of a separate env whose episode
``k`` starts from ``reset(seed=EVAL_SEED + k)`` — the same episodes for every learner and
seed. The figure is the mean evaluation return (the env's reward: minus the fingertip's
distance to the target, minus the squared action, summed over the 50 steps). Every episode
runs through :func:`neurofit.agents.rollout.run_episode`.
"""

from __future__ import annotations

import dataclasses
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

from neurofit.agents.baselines import PIDAgent
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.reflex import FeedbackReflex
from neurofit.agents.rollout import FunctionAgent, run_episode
from neurofit.envs.error_feedback import FEEDBACK_SPECS, make_with_error

__all__ = ["ENV_ID", "EVAL_SEED", "NEUROFIT_CONFIG", "REFLEX_KWARGS", "run_reacher"]

ENV_ID = "Reacher-v5"
#: Seeds of the evaluation episodes (``EVAL_SEED + k``), as in the other learning benchmarks.
EVAL_SEED = 10_000
#: NeuroFit's configuration (its seed is each run's). The network runs in real time (20 steps
#: of 1 ms per 20 ms control tick): a reach lasts ~10-20 ticks, so the error-mode default (1 ms
#: of network time per tick, a 20 ms decoder filter) would lag the plant by about a reach.
NEUROFIT_CONFIG = AgentConfig(mode="error", substeps=20, dt_s=1e-3, input_width=3.0,
                              learning_rate=1e-4)
#: The reflex's learning-side settings (its feedback law is the env's declaration).
REFLEX_KWARGS: dict[str, Any] = {}

#: ``progress(label, total_steps)`` returns ``advance(steps)`` for one run, or None.
ProgressFactory = Callable[[str, int], Callable[[int], None] | None]


def _summary(values: Sequence[float]) -> dict[str, Any]:
    return {"mean": statistics.fmean(values), "std": statistics.pstdev(values),
            "per_seed": [float(v) for v in values]}


def _evaluate(agent: Any, env: Any, episodes: int) -> float:
    """Mean return of ``agent`` (frozen) over the evaluation episodes."""
    return statistics.fmean(run_episode(agent, env, EVAL_SEED + k, learn=False).episode_return
                            for k in range(episodes))


def _train_neurofit(seed: int, train_steps: int, env: Any,
                    advance: Callable[[int], None] | None) -> NeuroFitAgent:
    config = dataclasses.replace(NEUROFIT_CONFIG, seed=seed)
    agent = NeuroFitAgent.from_env(env, config, **REFLEX_KWARGS)
    steps = 0
    reset_seed: int | None = seed
    while steps < train_steps:
        result = run_episode(agent, env, reset_seed, max_steps=train_steps - steps)
        reset_seed = None  # the env's generator runs on
        steps += result.steps
        if advance is not None:
            advance(result.steps)
    return agent


def _train_ppo(seed: int, ppo_steps: int, advance: Callable[[int], None] | None) -> Any:
    """SB3 PPO (defaults) trained for ``ppo_steps``; its deterministic policy as a function."""
    from stable_baselines3.common.callbacks import BaseCallback

    from neurofit.agents.mlp import NumpyMLP
    from neurofit.agents.ppo import make_ppo, require_rl

    _, torch = require_rl()

    class _Progress(BaseCallback):  # type: ignore[misc]
        def _on_rollout_end(self) -> None:
            if advance is not None:
                advance(self.model.n_steps * self.model.n_envs)

        def _on_step(self) -> bool:
            return True

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a shared machine stays usable; PPO's small networks lose little
    try:
        model = make_ppo(ENV_ID, seed)
        model.learn(total_timesteps=ppo_steps, callback=_Progress())
        policy = NumpyMLP.from_sb3(model)
        model.get_env().close()
    finally:
        torch.set_num_threads(threads)
    return policy


def run_reacher(seeds: Sequence[int] = (0, 1, 2), train_steps: int = 20_000,
                ppo_steps: int | None = None, eval_episodes: int = 50, ppo: bool = True,
                progress: ProgressFactory | None = None) -> dict[str, Any]:
    """The benchmark of the module docstring; returns a JSON-ready dict.

    Args:
        seeds: one run per seed and learner.
        train_steps: NeuroFit's online learning, env steps.
        ppo_steps: PPO's training steps (default ``10 * train_steps``; SB3 collects whole
            rollouts of 2,048 steps, so it may train up to one rollout more).
        eval_episodes: evaluation episodes per learner and seed.
        ppo: also run PPO (needs the ``rl`` extra; without it ``ppo_skipped`` says why).
        progress: makes one progress callback per run.

    Raises:
        ValueError: a count that is not a positive integer, or no seeds.
    """
    ppo_steps = 10 * train_steps if ppo_steps is None else ppo_steps
    for name, value in (("train_steps", train_steps), ("ppo_steps", ppo_steps),
                        ("eval_episodes", eval_episodes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not seeds:
        raise ValueError("give at least one seed")

    def bar(label: str, total: int) -> Callable[[int], None] | None:
        return progress(label, total) if progress is not None else None

    spec = FEEDBACK_SPECS[ENV_ID]
    eval_env = make_with_error(ENV_ID)
    train_env = make_with_error(ENV_ID)
    per_seed: list[dict[str, Any]] = []
    wall: dict[str, float] = {"neurofit": 0.0, "reflex": 0.0, "ppo": 0.0}
    result: dict[str, Any] = {
        "task": "reacher", "env_id": ENV_ID,
        "protocol": {"train_steps": train_steps, "ppo_steps": ppo_steps,
                     "ppo_steps_ratio": ppo_steps / train_steps,
                     "eval_episodes": eval_episodes, "eval_seeds": f"{EVAL_SEED} + episode",
                     "figure": "mean evaluation return (learning frozen)"},
        "neurofit_config": {k: v for k, v in dataclasses.asdict(NEUROFIT_CONFIG).items()
                            if k != "seed"},
    }
    reflex = FeedbackReflex.from_env(eval_env, **REFLEX_KWARGS)
    result["reflex"] = {"law": "J^T (kp e + kd de/dt), declared fingertip Jacobian",
                        "kp": list(spec.kp), "kd": list(spec.kd),
                        "correction_scale": reflex.correction_scale, "leak": reflex.leak,
                        "damping": reflex.damping}
    try:
        ppo_error = None
        if ppo:
            try:
                from neurofit.agents.ppo import require_rl

                require_rl()
            except ImportError as exc:
                ppo_error = str(exc)
        for seed in seeds:
            row: dict[str, Any] = {"seed": seed}
            start = time.perf_counter()
            agent = _train_neurofit(seed, train_steps, train_env,
                                    bar(f"neurofit seed {seed}", train_steps))
            row["neurofit"] = _evaluate(agent, eval_env, eval_episodes)
            wall["neurofit"] += time.perf_counter() - start
            start = time.perf_counter()
            row["reflex"] = _evaluate(PIDAgent(eval_env, integral=False), eval_env,
                                      eval_episodes)
            wall["reflex"] += time.perf_counter() - start
            if ppo and ppo_error is None:
                start = time.perf_counter()
                policy = _train_ppo(seed, ppo_steps, bar(f"ppo seed {seed}", ppo_steps))
                row["ppo"] = _evaluate(FunctionAgent(policy), eval_env, eval_episodes)
                wall["ppo"] += time.perf_counter() - start
            per_seed.append(row)
    finally:
        eval_env.close()
        train_env.close()
    result["return_neurofit"] = _summary([r["neurofit"] for r in per_seed])
    result["return_reflex"] = _summary([r["reflex"] for r in per_seed])
    result["return_ppo"] = (_summary([r["ppo"] for r in per_seed]) if "ppo" in per_seed[0]
                            else None)
    if ppo_error is not None:
        result["ppo_skipped"] = ppo_error
    result["per_seed"] = per_seed
    result["wall_s_by_learner"] = {k: round(v, 1) for k, v in wall.items()}
    # paired by seed: the same evaluation episodes for both
    result["neurofit_minus_reflex"] = statistics.fmean(r["neurofit"] - r["reflex"]
                                                       for r in per_seed)
    nf = result["return_neurofit"]["mean"]
    ppo_mean = result["return_ppo"]["mean"] if result["return_ppo"] else None
    result["met"] = {
        "beats_reflex": nf > result["return_reflex"]["mean"],
        "beats_ppo_10x": (None if ppo_mean is None or ppo_steps < 10 * train_steps
                          else nf > ppo_mean),
    }
    return result
