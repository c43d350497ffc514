"""``neurofit bench taxi``: change-driven NeuroFit (the taxi) against the rate-coded one (the bus).

Parses the options, runs :func:`neurofit.scripts.bench.taxi.run_bench` (what it measures is in
that module's docstring), prints a table or JSON and saves the plot.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from neurofit.scripts._machine import machine_info
from neurofit.scripts.bench.taxi import TASKS, plot, run_bench

__all__ = ["register", "seed_list", "task_list"]


def _print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for t in result["tasks"]:
        table = Table(title=f"taxi vs bus: {t['task']} ({t['env_id']}), RMS over {t['window']}, "
                            f"seeds {t['seeds']}")
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_column("target / met", justify="right")
        rms = t["rms_error_mm"]
        met = t["met"]
        table.add_row("RMS PID", f"{rms['pid']['mean']:.4g} mm", "")
        table.add_row("RMS NeuroFit rate (bus)", f"{rms['neurofit_rate']['mean']:.4g} mm", "")
        table.add_row("RMS NeuroFit sigma-delta (taxi)",
                      f"{rms['neurofit_taxi']['mean']:.4g} mm",
                      f"<= 1.1 x bus: {met['rms_within_10pct_of_rate']}")
        table.add_row("episode_ops_fraction", f"{t['episode_ops_fraction']['mean']:.4f}",
                      f"<= {t['targets']['episode_ops_fraction']}: {met['episode_ops_fraction']}")
        if "steady_state_ops_fraction" in t:
            table.add_row("steady_state_ops_fraction (last 5 s)",
                          f"{t['steady_state_ops_fraction']['mean']:.4f}",
                          f"<= {t['targets']['steady_state_ops_fraction']}: "
                          f"{met['steady_state_ops_fraction']}")
            table.add_row("taxi RMS <= PID", "", str(met["taxi_le_pid"]))
        for key, value in t["energy_per_tick_j"].items():
            table.add_row(f"dynamic energy / tick, {key}", f"{value['mean'] * 1e9:.4g} nJ", "")
        table.add_row("taxi crashes", str(t["crashes"]["neurofit_taxi"]), "0")
        console.print(table)
    m = result["machine"]
    console.print(f"{m['cpu']}, {m['cpu_count']} cores; {m['date']}")


def bench_taxi(
    tasks: Annotated[str, typer.Option(help=f"Comma-separated tasks: {', '.join(TASKS)}.")
                     ] = ",".join(TASKS),
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds (bench learning's).")
                     ] = "0,1,2",
    plot_path: Annotated[Path | None, typer.Option(
        "--plot", help="Save the operations / taxi-law plot here (PNG).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Operations, energy and error of the change-driven controller against the rate-coded one."""
    result = run_bench(task_list(tasks), seed_list(seeds))
    result["machine"] = machine_info()
    if plot_path is not None:
        plot(result, str(plot_path))
    for t in result["tasks"]:
        t.pop("series")
    if as_json:
        typer.echo(json.dumps(result))
    else:
        _print_table(result)


def task_list(text: str) -> list[str]:
    """``--tasks hover-payload,track-disturbed`` as known task names (exit 2 naming them)."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [t for t in names if t not in TASKS]
    if unknown or not names:
        raise typer.BadParameter(f"unknown task(s) {unknown}; choose from {', '.join(TASKS)}",
                                 param_hint="--tasks")
    return names


def seed_list(text: str) -> tuple[int, ...]:
    """``--seeds 0,1,2`` as distinct non-negative integers (exit 2 naming the option)."""
    try:
        seeds = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        seeds = ()
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise typer.BadParameter(f"{text!r}: give distinct non-negative integers, e.g. 0,1,2",
                                 param_hint="--seeds")
    return seeds


def register(bench_app: typer.Typer) -> None:
    """Add ``taxi`` to the ``neurofit bench`` command group."""
    bench_app.command("taxi")(bench_taxi)
