"""``neurofit bench env``: env steps/s of every ``neurofit/`` id and of Gymnasium's Hopper-v5.

Parses the options, runs :func:`neurofit.scripts.bench.env.run_bench` (the protocol is in that
module's docstring) and prints a table or JSON.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from neurofit.scripts.bench.env import run_bench

__all__ = ["register"]


def _print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    ref = next(e for e in result["envs"] if e["env_id"] == result["reference_env"])
    table = Table(title=f"env steps/s (median of {result['repeats']} x {result['steps']} steps)")
    table.add_column("env")
    table.add_column("steps/s", justify="right")
    table.add_column("us/step", justify="right")
    table.add_column(f"x {result['reference_env']}", justify="right")
    for e in result["envs"]:
        table.add_row(
            e["env_id"],
            f"{e['steps_per_s']:,.0f}",
            f"{e['us_per_step']:.1f}",
            f"{e['steps_per_s'] / ref['steps_per_s']:.2f}",
        )
    m = result["machine"]
    console = Console()
    console.print(table)
    console.print(
        f"{m['cpu']}, {m['cpu_count']} cores, load {m['load_avg']}; mujoco {m['mujoco']}, "
        f"gymnasium {m['gymnasium']}, python {m['python']}"
    )


def bench_env(
    steps: Annotated[int, typer.Option(min=1, help="Steps per repeat.")] = 2000,
    repeats: Annotated[int, typer.Option(min=1, help="Repeats; the median is reported.")] = 5,
    only: Annotated[
        str | None, typer.Option(help="Only neurofit/ ids containing this text.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Env steps/s of every neurofit/ id and of Gymnasium's Hopper-v5, measured alike."""
    result = run_bench(steps, repeats, only)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        _print_table(result)


def register(bench_app: typer.Typer) -> None:
    """Add ``env`` to the ``neurofit bench`` command group."""
    bench_app.command("env")(bench_env)
