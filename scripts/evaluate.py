"""``neurofit evaluate``: a trained agent, learning frozen, beside baselines on the same episodes.

    neurofit evaluate --run-dir runs/hover --episodes 10 --baselines pd,pid,random
    neurofit evaluate --run-dir runs/hover-sweep --json     # every seed_<k> run of a sweep

Prints a table (agent, return, RMS tracking error in mm over the whole episode — n/a for envs
without a position target, see :mod:`neurofit.envs.tracking` — spike rate, ops per tick, compute
energy per tick with and without the profile's static power),
or with ``--json`` one JSON object (:func:`neurofit.agents.training.evaluate`'s dict).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]


def _fmt(value: Any, spec: str = ".4g") -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) \
        else format(value, spec)


def _micro(joules: float | None) -> float | None:
    return None if joules is None else joules * 1e6


def evaluate(
    run_dir: Annotated[Path, typer.Option(help="Run dir (or seed-sweep root) to evaluate.")],
    episodes: Annotated[int, typer.Option(min=1, help="Episodes per agent.")] = 10,
    baselines: Annotated[str, typer.Option(
        help="Comma-separated baselines: pd, pid, random, mlp ('' for none).")] = "pd,pid,random",
    seed: Annotated[int, typer.Option(min=0, help="Seeds the evaluation episodes.")] = 0,
    env: Annotated[str | None, typer.Option(
        "--env", help="Evaluate on another env id (default: the run's).")] = None,
    mlp: Annotated[Path | None, typer.Option(help="NumpyMLP .npz for the mlp baseline.")] = None,
    record: Annotated[bool, typer.Option(
        help="Record the run's evaluation episodes to <run>/eval_dataset (for replay).")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Evaluate a run's agent (learning off) and baselines on the same seeded episodes."""
    from neurofit.agents.training import RunLockedError
    from neurofit.agents.training import evaluate as run_evaluate
    from neurofit.scripts.train import os_error_message

    names = [b.strip() for b in baselines.split(",") if b.strip()]
    try:
        result = run_evaluate(run_dir, env, episodes, seed, baselines=names, mlp_path=mlp,
                              record=record)
    except (ValueError, FileNotFoundError, RunLockedError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:  # e.g. --record on a full or read-only disk
        typer.echo(f"error: {os_error_message(exc)}", err=True)
        raise typer.Exit(1) from None
    if json_:
        typer.echo(json.dumps(result, indent=2))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result['env_id']}: {episodes} episode(s), seed {seed}, learning off; "
                        "RMS tracking error over the whole episode, mean of episodes")
    table.box = box.SIMPLE_HEAD
    table.padding = (0, 1)
    for col in ("agent", "return", "sd", "RMS tracking error (mm)", "spike Hz", "ops/tick",
                "µJ/tick", "dyn µJ/tick"):
        table.add_column(col, justify="left" if col == "agent" else "right",
                         no_wrap=col == "agent")
    for name, m in result["agents"].items():
        table.add_row(name, _fmt(m.get("return")), _fmt(m.get("return_std"), ".2g"),
                      _fmt(m.get("rms_tracking_error_mm"), ".3g"),
                      _fmt(m.get("spike_rate_hz"), ".1f"),
                      _fmt(m.get("ops_per_tick"), ",.0f"),
                      _fmt(_micro(m.get("compute_energy_per_tick_j"))),
                      _fmt(_micro(m.get("compute_dynamic_per_tick_j"))))
    console = Console(width=None if sys.stdout.isatty() else 110)  # files and pipes: no wrap
    console.print(table)
    for name, reason in result["skipped"].items():
        console.print(f"[dim]skipped {name}: {reason}[/dim]")


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to the ``neurofit`` app."""
    app.command("evaluate")(evaluate)
