"""``neurofit bench learning``: env steps to learn a task — NeuroFit against PPO, seed by seed.

Each task is a function of :data:`TASKS` (name → function of :class:`BenchOptions` returning a
JSON-able dict); ``--task`` picks one. The first:

- ``invpend``: Gymnasium's ``InvertedPendulum-v5``, learned from reward alone. NeuroFit in
  reward mode (``AgentConfig(mode="reward")`` defaults) and, with the ``rl`` extra, SB3 PPO with
  its defaults, each measured by :mod:`neurofit.scripts.bench.threshold_runs`: after every 2,048
  training steps, 10 deterministic evaluation episodes (learning frozen) from fixed seeds; the
  figure is the training steps at the first evaluation whose mean return reaches 950 (the
  env's ``reward_threshold``), ``null`` for a seed that never does within ``--max-steps``
  (its best mean evaluation return is reported beside it).

- ``reacher``: Gymnasium's ``Reacher-v5`` in error mode through ``make_with_error``
  (:mod:`neurofit.scripts.bench.reacher`): NeuroFit learning online for ``--max-steps`` (default
  20,000) env steps against its reflex alone and SB3 PPO (defaults) trained for ``--ppo-steps``
  (default 10x as many), same seeds; the figure is the mean return of 50 frozen evaluation
  episodes from fixed seeds.

- ``suite``: reward mode beyond one pendulum (:mod:`neurofit.scripts.bench.suite`): NeuroFit
  (one default configuration) and PPO (defaults) on InvertedPendulum-v5, Reacher-v5,
  Swimmer-v5, Hopper-v5 and neurofit/QuadHover-v0, same seeds; the figure is the frozen
  policy's mean evaluation return at each of ``--steps`` (default 20k, 50k, 100k, 200k),
  beside NeuroFit's energy per env step; ``--plot`` draws the learning curves.

Runs go one after the other (one core each), NeuroFit's seeds first, then PPO's.
"""

from __future__ import annotations

import dataclasses
import json
import math
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Annotated, Any

import typer

__all__ = ["TASKS", "BenchOptions", "register", "run_invpend", "summarize"]

#: ``progress(label, max_steps, threshold)`` returns the progress callback of one run
#: (:data:`~neurofit.scripts.bench.threshold_runs.ProgressFn`), or None.
ProgressFactory = Callable[[str, int, float], Any]


@dataclass(frozen=True)
class BenchOptions:
    """What every task receives.

    Attributes:
        seeds: one run per seed and learner.
        max_steps: training budget per run (env steps; None: the task's default).
        ppo: also run the PPO baseline (when the ``rl`` extra is installed).
        neurofit: suite: run NeuroFit (off: PPO alone, to run beside a ``--no-ppo`` process).
        ppo_steps: PPO's budget where the task sets it apart (None: the task's default).
        budgets: suite: the step budgets reported (None: the suite's default).
        progress: makes one progress callback per run (``None``: silent).
    """

    seeds: tuple[int, ...] = (0,)
    max_steps: int | None = None
    ppo: bool = True
    neurofit: bool = True
    ppo_steps: int | None = None
    budgets: tuple[int, ...] | None = None
    progress: ProgressFactory | None = None


def summarize(runs: list[Any]) -> dict[str, Any]:
    """Per-seed steps (``None`` if never reached) with the best evaluation return, and the mean
    and standard deviation (population, ddof 0) over the seeds that reached the threshold."""
    reached = [r.steps_to_threshold for r in runs if r.steps_to_threshold is not None]
    return {
        "per_seed": [{"seed": r.seed, "steps": r.steps_to_threshold,
                      "best_eval_return": r.best_eval_return,
                      "train_episodes": r.train_episodes, "wall_s": round(r.wall_s, 1)}
                     for r in runs],
        "mean": statistics.fmean(reached) if reached else None,
        "std": statistics.pstdev(reached) if reached else None,
        "reached": len(reached),
        "seeds": len(runs),
    }


def _progress(opts: BenchOptions, label: str, threshold: float) -> Any:
    return opts.progress(label, opts.max_steps, threshold) if opts.progress else None


def run_invpend(opts: BenchOptions) -> dict[str, Any]:
    """NeuroFit reward mode and PPO on InvertedPendulum-v5 (see the module docstring)."""
    opts = dataclasses.replace(opts, max_steps=opts.max_steps or 300_000)
    from neurofit.agents.neurofit_agent import AgentConfig
    from neurofit.scripts.bench.threshold_runs import EVAL_SEED, neurofit_steps_to_threshold

    env_id, threshold, eval_every, eval_episodes = "InvertedPendulum-v5", 950.0, 2048, 10
    protocol = {"eval_every": eval_every, "eval_episodes": eval_episodes,
                "eval_seeds": f"{EVAL_SEED} + episode", "max_steps": opts.max_steps,
                "threshold": threshold}
    config = AgentConfig(mode="reward")
    nf_runs = [
        neurofit_steps_to_threshold(env_id, seed, max_steps=opts.max_steps, threshold=threshold,
                                    eval_every=eval_every, eval_episodes=eval_episodes,
                                    config=config,
                                    progress=_progress(opts, f"neurofit seed {seed}", threshold))
        for seed in opts.seeds
    ]
    result: dict[str, Any] = {
        "task": "invpend",
        "env_id": env_id,
        "protocol": protocol,
        "steps_to_950_neurofit": summarize(nf_runs),
        "neurofit_config": {k: v for k, v in dataclasses.asdict(config).items() if k != "seed"},
    }
    runs = [r.as_dict() for r in nf_runs]
    if opts.ppo:
        try:
            from neurofit.scripts.bench.threshold_runs import ppo_steps_to_threshold, require_rl

            require_rl()
        except ImportError as exc:
            result["steps_to_950_ppo"] = None
            result["ppo_skipped"] = str(exc)
        else:
            ppo_runs = [
                ppo_steps_to_threshold(env_id, seed, max_steps=opts.max_steps,
                                       threshold=threshold, eval_every=eval_every,
                                       eval_episodes=eval_episodes,
                                       progress=_progress(opts, f"ppo seed {seed}", threshold))[0]
                for seed in opts.seeds
            ]
            result["steps_to_950_ppo"] = summarize(ppo_runs)
            result["ppo_config"] = "stable-baselines3 PPO('MlpPolicy') defaults, device cpu"
            runs += [r.as_dict() for r in ppo_runs]
    result["runs"] = runs
    return result


def _adaptation_task(name: str) -> Callable[[BenchOptions], dict[str, Any]]:
    """An error-mode task of :mod:`neurofit.scripts.bench.adaptation` as a bench task."""

    def run(opts: BenchOptions) -> dict[str, Any]:
        from neurofit.scripts.bench.adaptation import TASKS as ADAPTATION

        fn, n_runs = ADAPTATION[name]
        advance = (opts.progress(name, n_runs(len(opts.seeds)), math.inf)
                   if opts.progress else None)
        return fn(seeds=opts.seeds,
                  progress=(lambda: advance(1, None)) if advance is not None else None)

    run.__doc__ = f"The ``{name}`` task (see :mod:`neurofit.scripts.bench.adaptation`)."
    return run


def run_reacher_task(opts: BenchOptions) -> dict[str, Any]:
    """Error mode on Reacher-v5 against the reflex alone and PPO (module docstring)."""
    from neurofit.scripts.bench.reacher import run_reacher

    def progress(label: str, total: int) -> Callable[[int], None] | None:
        if opts.progress is None:
            return None
        advance = opts.progress(label, total, math.inf)
        return lambda steps: advance(steps, None)

    return run_reacher(seeds=opts.seeds, train_steps=opts.max_steps or 20_000,
                       ppo_steps=opts.ppo_steps, ppo=opts.ppo, progress=progress)


def run_suite_task(opts: BenchOptions) -> dict[str, Any]:
    """Reward mode on the task suite against PPO (module docstring)."""
    from neurofit.scripts.bench.suite import BUDGETS, run_suite

    progress = None
    if opts.progress is not None:
        factory = opts.progress

        def progress(label: str, total: int) -> Any:
            return factory(label, total, math.inf)

    return run_suite(opts.seeds, opts.budgets or BUDGETS, ppo=opts.ppo, neurofit=opts.neurofit,
                     progress=progress)


#: Task name → function of the options, returning a JSON-ready dict.
TASKS: dict[str, Callable[[BenchOptions], dict[str, Any]]] = {
    "invpend": run_invpend,
    "reacher": run_reacher_task,
    "suite": run_suite_task,
    **{name: _adaptation_task(name)
       for name in ("hover-payload", "track-disturbed", "arm-payload")},
}


def _print_adaptation(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result['task']} ({result['env_id']}), {result['window']}: "
                        "mean ± sd over seeds")
    table.add_column("measure")
    table.add_column("mean", justify="right")
    table.add_column("sd", justify="right")
    table.add_column("per seed", justify="right")
    for key, value in result.items():
        if isinstance(value, dict) and "mean" in value and "per_seed" in value:
            table.add_row(key, f"{value['mean']:.4g}", f"{value['std']:.2g}",
                          ", ".join(f"{v:.4g}" for v in value["per_seed"]))
    console = Console()
    console.print(table)
    for key in ("crashes", "met"):
        if key in result:
            console.print(f"{key}: {result[key]}")


def _print_reacher(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    p = result["protocol"]
    table = Table(title=f"{result['env_id']} (error mode): mean return of {p['eval_episodes']} "
                        "frozen evaluation episodes (fixed seeds), higher is better")
    table.add_column("learner")
    table.add_column("env steps", justify="right")
    table.add_column("mean ± sd over seeds", justify="right")
    table.add_column("per seed", justify="right")
    for name, key, steps in (("NeuroFit (error mode)", "return_neurofit", p["train_steps"]),
                             ("reflex alone (PD)", "return_reflex", 0),
                             ("PPO (SB3 defaults)", "return_ppo", p["ppo_steps"])):
        value = result.get(key)
        if value is not None:
            table.add_row(name, f"{steps:,}", f"{value['mean']:.3f} ± {value['std']:.3f}",
                          ", ".join(f"{v:.3f}" for v in value["per_seed"]))
    console = Console()
    console.print(table)
    if result.get("ppo_skipped"):
        console.print(f"PPO skipped: {result['ppo_skipped']}")
    console.print(f"NeuroFit − reflex (paired by seed): {result['neurofit_minus_reflex']:+.3f}; "
                  f"met: {result['met']}; wall time {result['wall_s']:.0f} s")


def _print_suite(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    p = result["protocol"]
    table = Table(title=f"Reward mode: mean return of {p['eval_episodes']} frozen evaluation "
                        f"episodes (fixed seeds) after each step budget; mean ± sd over seeds "
                        f"{p['seeds']}")
    table.add_column("env")
    table.add_column("learner")
    for budget in p["budgets"]:
        table.add_column(f"{budget:,}", justify="right")
    table.add_column("NeuroFit µJ / step", justify="right")
    for env_id, entry in result["envs"].items():
        for learner, name in (("neurofit", "NeuroFit"), ("ppo", "PPO")):
            if learner not in entry:
                continue
            cells = [f"{v['mean']:.1f} ± {v['std']:.1f}"
                     for v in entry[learner]["budgets"].values()]
            energy = entry[learner].get("energy_per_step")
            table.add_row(env_id, name, *cells,
                          f"{energy['energy_j'] * 1e6:.3g}" if energy else "")
    console = Console()
    console.print(table)
    if result.get("ppo_skipped"):
        console.print(f"PPO skipped: {result['ppo_skipped']}")
    console.print(f"wall time {result['wall_s']:.0f} s")


def _merge_files(text: str) -> dict[str, Any]:
    """The suite result joined from two saved ``--json`` files (wall time: the longer run's,
    as when they ran side by side)."""
    from pathlib import Path

    from neurofit.scripts.bench.suite import merge

    paths = [Path(p.strip()) for p in text.split(",") if p.strip()]
    if len(paths) != 2:
        raise typer.BadParameter(f"give two comma-separated JSON files, got {text!r}",
                                 param_hint="--merge")
    results = []
    for path in paths:
        try:
            results.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise typer.BadParameter(f"{path}: cannot read a JSON result ({exc})",
                                     param_hint="--merge") from None
        if not isinstance(results[-1], dict) or results[-1].get("task") != "suite":
            raise typer.BadParameter(f"{path}: not a `--task suite --json` result",
                                     param_hint="--merge")
    try:
        out = merge(*results)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--merge") from None
    out["wall_s"] = max(r.get("wall_s", 0.0) for r in results)
    out["merged_from"] = [str(p) for p in paths]
    return out


def _parse_steps(text: str) -> tuple[int, ...]:
    try:
        steps = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise typer.BadParameter(f"steps must be comma-separated integers, got {text!r}",
                                 param_hint="--steps") from None
    if not steps or any(s < 1 for s in steps):
        raise typer.BadParameter(f"give one or more positive step budgets, got {text!r}",
                                 param_hint="--steps")
    return steps


def _parse_seeds(text: str) -> tuple[int, ...]:
    try:
        seeds = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise typer.BadParameter(f"seeds must be comma-separated integers, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise typer.BadParameter(f"give one or more non-negative seeds, got {text!r}")
    return seeds


def _fmt_steps(summary: dict[str, Any] | None) -> tuple[str, str]:
    if summary is None:
        return "—", "—"
    cells = [f"{e['steps']:,}" if e["steps"] is not None
             else f"never (best {e['best_eval_return']:.0f})" for e in summary["per_seed"]]
    mean = (f"{summary['mean']:,.0f} ± {summary['std']:,.0f}" if summary["mean"] is not None
            else "—")
    return ", ".join(cells), f"{mean} ({summary['reached']}/{summary['seeds']} reached)"


def _print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    p = result["protocol"]
    table = Table(title=f"{result['env_id']}: env steps to a mean evaluation return of "
                        f"{p['threshold']:.0f} ({p['eval_episodes']} episodes every "
                        f"{p['eval_every']:,} steps, at most {p['max_steps']:,})")
    table.add_column("learner")
    table.add_column("per seed")
    table.add_column("mean ± std over seeds reached")
    for name, key in (("NeuroFit (reward mode)", "steps_to_950_neurofit"),
                      ("PPO (SB3 defaults)", "steps_to_950_ppo")):
        if key in result:
            table.add_row(name, *_fmt_steps(result[key]))
    console = Console()
    console.print(table)
    if result.get("ppo_skipped"):
        console.print(f"PPO skipped: {result['ppo_skipped']}")
    console.print(f"wall time {result['wall_s']:.0f} s")


def _progress_bar(enabled: bool, stderr: bool
                  ) -> tuple[AbstractContextManager[Any], ProgressFactory | None]:
    if not enabled:
        return nullcontext(), None
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                   console=Console(stderr=stderr))

    def factory(label: str, total: int, threshold: float) -> Callable[[int, float | None], None]:
        task = bar.add_task(label, total=total, status="")

        def advance(steps: int, mean: float | None) -> None:
            status = "" if mean is None else f"last eval {mean:.0f}"
            bar.update(task, advance=steps, status=status)
            if mean is not None and mean >= threshold:  # reached: the run stops here
                bar.update(task, total=bar.tasks[task].completed)

        return advance

    return bar, factory


def register(bench_app: typer.Typer) -> None:
    """Add ``neurofit bench learning`` to the ``bench`` app."""

    @bench_app.command("learning")
    def learning(
        task: Annotated[str, typer.Option(
            help=f"Which task: {', '.join(TASKS)}.")] = "invpend",
        seeds: Annotated[str, typer.Option(help="Comma-separated seeds, one run each.")] = "0",
        max_steps: Annotated[int | None, typer.Option(
            min=1, help="Training budget per run (env steps); default 300,000 (invpend), "
                        "20,000 (reacher).")] = None,
        ppo: Annotated[bool, typer.Option(
            help="Also run the PPO baseline (needs the rl extra).")] = True,
        neurofit: Annotated[bool, typer.Option(
            help="suite: run NeuroFit (--no-neurofit: PPO alone, e.g. in a second process "
                 "beside a --no-ppo one; join the two with --merge).")] = True,
        merge: Annotated[str | None, typer.Option(
            help="suite: join two saved --json results (comma-separated files, same protocol, "
                 "different learners) instead of running.")] = None,
        ppo_steps: Annotated[int | None, typer.Option(
            min=1, help="reacher: PPO's training steps (default 10x --max-steps; fewer for a "
                        "quick run).")] = None,
        steps: Annotated[str | None, typer.Option(
            help="suite: comma-separated step budgets (default 20000,50000,100000,200000)."
        )] = None,
        plot: Annotated[str | None, typer.Option(
            help="suite: write the learning curves to this image file (.png, .svg, .pdf)."
        )] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        progress: Annotated[bool, typer.Option(
            help="Show a progress bar (on stderr with --json).")] = True,
    ) -> None:
        """Learning benchmarks: NeuroFit against PPO (and its reflex alone in error mode)."""
        from neurofit.scripts._machine import machine_info

        if task not in TASKS:
            raise typer.BadParameter(f"unknown task {task!r}; choose one of {', '.join(TASKS)}",
                                     param_hint="--task")
        if task != "suite" and (steps is not None or plot is not None):
            raise typer.BadParameter("--steps and --plot are for --task suite",
                                     param_hint="--steps/--plot")
        if task == "suite" and max_steps is not None:
            raise typer.BadParameter("the suite's budgets are --steps (the largest is each "
                                     "run's length)", param_hint="--max-steps")
        if plot is not None:
            from pathlib import Path

            out = Path(plot)
            if out.suffix.lower() not in (".png", ".svg", ".pdf"):
                raise typer.BadParameter(f"{plot!r}: give a .png, .svg or .pdf file",
                                         param_hint="--plot")
            if not out.parent.is_dir():
                raise typer.BadParameter(f"{plot!r}: folder {out.parent} does not exist",
                                         param_hint="--plot")
        if task != "suite" and (merge is not None or not neurofit):
            raise typer.BadParameter("--merge and --no-neurofit are for --task suite",
                                     param_hint="--merge/--no-neurofit")
        if merge is not None:
            result = _merge_files(merge)
        else:
            bar, factory = _progress_bar(progress, stderr=as_json)
            opts = BenchOptions(seeds=_parse_seeds(seeds), max_steps=max_steps, ppo=ppo,
                                neurofit=neurofit, ppo_steps=ppo_steps,
                                budgets=_parse_steps(steps) if steps is not None else None,
                                progress=factory)
            start = time.perf_counter()
            with bar:
                result = TASKS[task](opts)
            result["wall_s"] = time.perf_counter() - start
            result["machine"] = machine_info()
        if plot is not None:
            from neurofit.scripts.bench.suite import plot_curves

            plot_curves(result, plot)
        if as_json:
            typer.echo(json.dumps(result, indent=2))
        elif result["task"] == "invpend":
            _print_table(result)
        elif result["task"] == "reacher":
            _print_reacher(result)
        elif result["task"] == "suite":
            _print_suite(result)
        else:
            _print_adaptation(result)
