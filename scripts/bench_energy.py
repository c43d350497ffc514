"""``neurofit bench energy``: the honest SNN/DNN energy comparison on one task.

NeuroFit's default config sets the task score; a grid search finds NeuroFit's cheapest config
on Loihi that keeps it (within ``--tolerance``) and the smallest reflex + MLP correction
(learned online the same way) that reaches it, and flies that MLP as a delta network too; all
are then priced on every profile, next to PD and PID, with the SNN/DNN ratio on every
neuromorphic profile against the cheapest DNN row that keeps the score (per-inference fixed
costs included), the break-even figures and the spike activity it depends on. The search is
:func:`neurofit.scripts.bench.energy_search.compare_energy`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["FULL_MLP_GRID", "FULL_NEUROFIT_GRID", "QUICK_MLP_GRID", "QUICK_NEUROFIT_GRID",
           "register"]

#: The search grids (``--quick``: smaller ones).
FULL_NEUROFIT_GRID = {"n_per_input": (5, 10, 20, 50, 100),
                      "n_output_neurons": (10, 20, 50, 100, 200), "substeps": (1, 2, 5, 10),
                      "refine_top": 8, "learning_rate_scales": (0.5, 2.0),
                      "connection_p": (0.25, 1.0)}
QUICK_NEUROFIT_GRID = {"n_per_input": (10, 20, 50, 100), "n_output_neurons": (20, 50, 200),
                       "substeps": (1, 10), "refine_top": 2, "learning_rate_scales": (0.5, 2.0),
                       "connection_p": ()}
FULL_MLP_GRID = {"widths": (1, 2, 4, 8, 16, 32, 64), "depths": (1, 2),
                 "learning_rates": (0.01, 0.02, 0.03, 0.05, 0.1),
                 "deltas": (0.005, 0.01, 0.02, 0.05)}
QUICK_MLP_GRID = {"widths": (2, 4, 8, 16, 32), "depths": (1,), "learning_rates": (0.01, 0.03),
                  "deltas": (0.01, 0.05)}


def bench_energy(
    env_id: Annotated[str, typer.Option("--env", help="Task env id.")] = (
        "neurofit/QuadHoverPayload-v0"),
    episodes: Annotated[int, typer.Option(
        min=1, help="Episodes (seeds 0..n-1) per candidate.")] = 5,
    tolerance: Annotated[float, typer.Option(
        min=0.0, help="A candidate keeps the score if RMS <= (1 + tolerance) x NeuroFit's.")
    ] = 0.1,
    profiles: Annotated[str, typer.Option(help="Profiles, comma-separated.")] = (
        "loihi,neurofit-analog,spinnaker2,jetson-class,cpu-x86,mcu-cortex-m4"),
    mission: Annotated[str, typer.Option(help="Mission scenario.")] = "micro-drone",
    max_steps: Annotated[int | None, typer.Option(min=1, help="Cut episodes (tests).")] = None,
    quick: Annotated[bool, typer.Option("--quick", help="Smaller search grids.")] = False,
    plot: Annotated[Path | None, typer.Option(help="Write the power/energy plot here.")] = None,
    taxi: Annotated[bool, typer.Option(
        "--taxi/--no-taxi", help="Also run `neurofit bench taxi` (change-driven vs rate-coded "
                                 "operations on hover-payload and track-disturbed, 3 seeds).")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Smallest NeuroFit vs smallest matching MLP: energy per inference at equal score."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
    from rich.table import Table

    from neurofit.neuromorphic.hardware import get_profile
    from neurofit.scripts._machine import machine_info
    from neurofit.scripts.bench.energy_search import compare_energy
    from neurofit.scripts.energy import _fail, _json_default, plot_report, print_report

    try:
        profs = [get_profile(p.strip()) for p in profiles.split(",") if p.strip()]
    except (ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    nf_grid: dict = dict(QUICK_NEUROFIT_GRID if quick else FULL_NEUROFIT_GRID)
    g: dict = dict(QUICK_MLP_GRID if quick else FULL_MLP_GRID)
    n_grid = len(nf_grid["n_per_input"]) * len(nf_grid["n_output_neurons"]) * len(
        nf_grid["substeps"])
    n_refine = nf_grid["refine_top"] * (len(nf_grid["learning_rate_scales"])
                                        + len(nf_grid["connection_p"]))
    n_mlp = len(set(g["widths"])) * len(set(g["depths"])) * len(g["learning_rates"])
    total = (1 + n_grid + n_refine + n_mlp + len(g["deltas"])
             + len(g["learning_rates"]))  # an upper bound
    ekw = {"max_episode_steps": max_steps} if max_steps else {}
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=Console(stderr=True), transient=True)
    with bar:
        task = bar.add_task("energy search", total=total)
        try:
            report = compare_energy(
                env_id, range(episodes), tolerance=tolerance, profiles=profs, mission=mission,
                neurofit_grid=nf_grid, mlp_grid=g, env_kwargs=ekw,
                progress=lambda text: bar.update(task, advance=1, description=text))
        except ValueError as exc:
            raise _fail(str(exc)) from None
    report["machine"] = machine_info()
    report["quick"] = quick
    if taxi:
        from neurofit.scripts.bench.taxi import run_bench as run_taxi

        report["taxi"] = run_taxi()
        for t in report["taxi"]["tasks"]:
            t.pop("series")
    if plot is not None:
        report["plot"] = str(plot_report(report, plot))
    if as_json:
        typer.echo(json.dumps(report, default=_json_default))
        return
    console = Console()
    if not console.is_terminal:
        console = Console(width=200)
    print_report(report, console)
    if taxi:
        from neurofit.scripts.bench_taxi import _print_table as print_taxi

        print_taxi({**report["taxi"], "machine": report["machine"]})
    search = Table(title=f"Search: keep RMS <= {report['threshold_m'] * 1e3:.2f} mm "
                         f"(NeuroFit default {report['reference_rms_m'] * 1e3:.2f} mm "
                         f"+ {100 * tolerance:g} %)")
    for col in ("candidate", "RMS mm", "keeps score", "Loihi dyn J/inf"):
        search.add_column(col, justify="left" if col == "candidate" else "right")
    for c in report["search"]["neurofit"]:
        search.add_row(f"neurofit {c['n_per_input']}/in {c['n_output_neurons']} out "
                       f"{c['substeps']} substeps lr {c['learning_rate']:g} "
                       f"p {c['connection_p']:g}", f"{c['rms_error_m'] * 1e3:.2f}",
                       "yes" if c["meets_score"] else "no", f"{c['loihi_dynamic_j']:.3g}")
    for c in report["search"]["mlp"]:
        search.add_row(f"mlp hidden {c['hidden']} lr {c['learning_rate']:g}",
                       f"{c['rms_error_m'] * 1e3:.2f}", "yes" if c["meets_score"] else "no",
                       "-")
    for c in report["search"]["mlp_delta"]:
        search.add_row(f"delta mlp hidden {c['hidden']} lr {c['learning_rate']:g} "
                       f"Δ {c['delta']:g}", f"{c['rms_error_m'] * 1e3:.2f}",
                       "yes" if c["meets_score"] else "no", "-")
    console.print(search)
    lin = report["linear_floor"]
    console.print(f"linear map (no hidden layer, same online learning): RMS "
                  f"{lin['rms_error_m'] * 1e3:.2f} mm, "
                  f"{lin['jetson_dynamic_j_per_inference']:.3g} J/inference on jetson-class")
    if plot is not None:
        console.print(f"plot: {report['plot']}")


def register(bench_app: typer.Typer) -> None:
    """Add ``energy`` to ``neurofit bench``."""
    bench_app.command("energy")(bench_energy)
