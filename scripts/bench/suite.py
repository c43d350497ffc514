"""Reward mode on a task suite: NeuroFit and PPO, evaluation return at fixed step budgets.

``neurofit bench learning --task suite``. Every task of :data:`SUITE` is learned from reward
alone by NeuroFit (``AgentConfig(mode="reward")`` defaults — one configuration for every task)
and, with the ``rl`` extra, by Stable-Baselines3 PPO with its defaults, on the same seeds. The
protocol is :mod:`neurofit.scripts.bench.threshold_runs`'s, without a threshold: the policy is
frozen and run for ``eval_episodes`` deterministic episodes, episode ``k`` from
``reset(seed=10000 + k)``, at every point of the learning curve. Evaluation points are the
multiples of ``curve_every`` and the step budgets, each rounded up to a multiple of PPO's
2,048-step rollout (:func:`eval_points`) — PPO can only stop there, and both learners are
evaluated after exactly the same number of training steps. NeuroFit's energy per training env
step is read from its own meter (the writes, spikes and synaptic events it counted).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["ROLLOUT", "SUITE", "budget_table", "eval_points", "merge", "plot_curves", "run_suite"]

#: The suite's tasks, in report order (Gymnasium ids; the last is NeuroFit's own, reward only).
SUITE = ("InvertedPendulum-v5", "Reacher-v5", "Swimmer-v5", "Hopper-v5",
         "neurofit/QuadHover-v0")
#: PPO's rollout (SB3 default ``n_steps``): it updates, and so can be evaluated, only here.
ROLLOUT = 2048
#: Default step budgets (the figures of the table) and spacing of the learning curve.
BUDGETS = (20_000, 50_000, 100_000, 200_000)
CURVE_EVERY = 5 * ROLLOUT

#: ``progress(label, total_steps)`` returns a ``(steps, mean)`` callback, or None.
Progress = Callable[[str, int], Any]


def _round_up(steps: int) -> int:
    return -(-steps // ROLLOUT) * ROLLOUT


def eval_points(budgets: Sequence[int], curve_every: int = CURVE_EVERY) -> list[int]:
    """Training step counts at which both learners are evaluated: the multiples of
    ``curve_every`` up to the largest budget and every budget, each rounded up to a multiple of
    :data:`ROLLOUT`, sorted and without repeats."""
    if not budgets or any(isinstance(b, bool) or not isinstance(b, int) or b < 1
                          for b in budgets):
        raise ValueError(f"budgets must be one or more positive integers, got {list(budgets)!r}")
    if isinstance(curve_every, bool) or not isinstance(curve_every, int) or curve_every < 1:
        raise ValueError(f"curve_every must be a positive integer, got {curve_every!r}")
    last = _round_up(max(budgets))
    points = {_round_up(b) for b in budgets}
    points.update(_round_up(n) for n in range(curve_every, last + 1, curve_every))
    return sorted(points)


def _at_budget(evaluations: list[list[float]], budget: int) -> float:
    """The mean return of the evaluation made at ``budget`` rounded up to a rollout."""
    steps = _round_up(budget)
    for n, mean in evaluations:
        if n == steps:
            return mean
    raise ValueError(f"no evaluation at {steps} steps (budget {budget})")


def budget_table(runs: list[dict[str, Any]], budgets: Sequence[int]) -> dict[str, Any]:
    """Per budget: the evaluation return of every seed, their mean and sd (ddof 0)."""
    table: dict[str, Any] = {}
    for budget in budgets:
        values = [_at_budget(r["evaluations"], budget) for r in runs]
        table[str(budget)] = {"steps": _round_up(budget), "per_seed": values,
                              "mean": statistics.fmean(values),
                              "std": statistics.pstdev(values)}
    return table


def _run_dict(run: Any) -> dict[str, Any]:
    d = run.as_dict()
    for key in ("threshold", "steps_to_threshold"):  # no threshold here (and inf is not JSON)
        d.pop(key)
    d["wall_s"] = round(d["wall_s"], 1)
    return d


def run_suite(seeds: Sequence[int], budgets: Sequence[int] = BUDGETS, *,
              envs: Sequence[str] = SUITE, ppo: bool = True, neurofit: bool = True,
              curve_every: int = CURVE_EVERY,
              eval_episodes: int = 10, config: Any = None,
              progress: Progress | None = None) -> dict[str, Any]:
    """NeuroFit reward mode (and PPO) on every env of ``envs``, every seed.

    Args:
        seeds: one run per seed, env and learner.
        budgets: training steps at which the evaluation return is reported (the largest is
            each run's length, rounded up to a multiple of :data:`ROLLOUT`).
        ppo: also run SB3 PPO (skipped, with the reason, when the ``rl`` extra is missing).
        neurofit: run NeuroFit (``False`` with ``ppo`` runs the baseline alone, e.g. in a second
            process beside a NeuroFit-only run; :func:`merge` joins the two results).
        curve_every: spacing of the learning curve's evaluations.
        eval_episodes: frozen evaluation episodes per point.
        config: NeuroFit's :class:`~neurofit.agents.neurofit_agent.AgentConfig` (default:
            reward-mode defaults; its seed is replaced by each run's).
        progress: makes one progress callback per run.

    Returns:
        JSON-ready: the protocol, per env and learner the budget table and every run (its
        learning curve ``evaluations`` = ``[steps, mean return]``; NeuroFit's ``energy`` per
        env step), and ``ppo_skipped`` when PPO could not run.
    """
    import dataclasses

    from neurofit import envs as _registers  # noqa: F401  (neurofit/QuadHover-v0)
    from neurofit.agents.neurofit_agent import AgentConfig
    from neurofit.scripts.bench.threshold_runs import EVAL_SEED, neurofit_steps_to_threshold

    points = eval_points(budgets, curve_every)
    max_steps = points[-1]
    config = config or AgentConfig(mode="reward")
    ppo_fn: Callable[..., Any] | None = None
    result: dict[str, Any] = {
        "task": "suite",
        "protocol": {"budgets": list(budgets), "eval_points": points, "max_steps": max_steps,
                     "eval_episodes": eval_episodes, "eval_seeds": f"{EVAL_SEED} + episode",
                     "seeds": list(seeds)},
        "neurofit_config": {k: v for k, v in dataclasses.asdict(config).items() if k != "seed"},
    }
    if ppo:
        try:
            from neurofit.scripts.bench.threshold_runs import ppo_steps_to_threshold, require_rl

            require_rl()
            ppo_fn = ppo_steps_to_threshold
            result["ppo_config"] = "stable-baselines3 PPO('MlpPolicy') defaults, device cpu"
        except ImportError as exc:
            result["ppo_skipped"] = str(exc)
    envs_out: dict[str, Any] = {}
    for env_id in envs:
        entry: dict[str, Any] = {}
        common = {"max_steps": max_steps, "threshold": math.inf, "eval_every": ROLLOUT,
                  "eval_episodes": eval_episodes, "eval_steps": points}
        if neurofit:
            nf = [_run_dict(neurofit_steps_to_threshold(
                env_id, seed, config=config, **common,
                progress=progress(f"{env_id} neurofit {seed}", max_steps) if progress else None))
                  for seed in seeds]
            entry["neurofit"] = {"budgets": budget_table(nf, budgets), "runs": nf,
                                 "energy_per_step": _mean_energy(nf)}
        if ppo_fn is not None:
            runs = [_run_dict(ppo_fn(
                env_id, seed, **common,
                progress=progress(f"{env_id} ppo {seed}", max_steps) if progress else None)[0])
                    for seed in seeds]
            entry["ppo"] = {"budgets": budget_table(runs, budgets), "runs": runs}
        envs_out[env_id] = entry
    result["envs"] = envs_out
    return result


def merge(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """One suite result from two made with the same protocol by different learners (say a
    ``neurofit=False`` run beside a ``ppo=False`` one): every env's learners joined.

    Raises:
        ValueError: the protocols differ, or both results hold the same learner on one env.
    """
    if first["protocol"] != second["protocol"]:
        raise ValueError(f"different protocols: {first['protocol']} vs {second['protocol']}")
    out = {**second, **first, "envs": {}}
    for env_id in dict.fromkeys([*first["envs"], *second["envs"]]):
        a, b = first["envs"].get(env_id, {}), second["envs"].get(env_id, {})
        if both := set(a) & set(b):
            raise ValueError(f"{env_id}: both results hold {sorted(both)}")
        out["envs"][env_id] = {**a, **b}
    if "ppo_skipped" in out and any("ppo" in e for e in out["envs"].values()):
        del out["ppo_skipped"]
    return out


def _mean_energy(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each energy figure per env step, averaged over the runs."""
    keys = [k for k, v in runs[0]["energy"].items() if isinstance(v, float)]
    return {"profile": runs[0]["energy"]["profile"],
            **{k: statistics.fmean(r["energy"][k] for r in runs) for k in keys}}


def plot_curves(result: dict[str, Any], path: str) -> None:
    """Learning curves (evaluation return against training steps), one panel per env:
    each learner's mean over seeds (thick) and every seed (thin), to ``path`` (PNG/SVG/PDF)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = result["envs"]
    fig, axes = plt.subplots(1, len(envs), figsize=(4.2 * len(envs), 3.4), squeeze=False)
    for ax, (env_id, entry) in zip(axes[0], envs.items(), strict=True):
        for learner, color in (("neurofit", "tab:blue"), ("ppo", "tab:orange")):
            if learner not in entry:
                continue
            curves = [r["evaluations"] for r in entry[learner]["runs"]]
            for c in curves:
                ax.plot([s for s, _ in c], [m for _, m in c], color=color, lw=0.6, alpha=0.4)
            steps = [s for s, _ in curves[0]]
            mean = [statistics.fmean(c[i][1] for c in curves) for i in range(len(steps))]
            ax.plot(steps, mean, color=color, lw=2,
                    label="NeuroFit (reward mode)" if learner == "neurofit" else "PPO (SB3)")
        ax.set_title(env_id, fontsize=9)
        ax.set_xlabel("training env steps")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"mean return, {result['protocol']['eval_episodes']} frozen episodes")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
