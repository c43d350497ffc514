"""``neurofit bench record``: what recording costs, and how fast episodes replay and render.

Parses the options, runs :func:`neurofit.scripts.bench.record.run_bench` (what it measures is
in that module's docstring) and prints a table or JSON.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from neurofit.scripts.bench.record import DEFAULT_ENV, run_bench

__all__ = ["register"]


def _print_table(r: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"record & replay: {r['env_id']}, {r['agent']}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("agent+env step, not recorded", f"{r['step_us_plain']:.1f} us"),
        ("agent+env step, recorded", f"{r['step_us_recorded']:.1f} us"),
        ("record overhead (target <= 10 %)", f"{100 * r['record_overhead']:.1f} %"),
        ("  of which the agent's record_tick", f"{r['hook_us_per_step']:.1f} us/step"),
        ("  of which episode writing (wall)", f"{r['write_us_per_step']:.1f} us/step"),
        ("  recorder alone", f"{100 * r['recorder_overhead']:.1f} %"),
        ("episode file", f"{r['episode_file_kb']:.0f} kB / {r['max_steps']} steps"),
        ("replay (checked, no render)", f"{r['replay_fps']:,.0f} steps/s"),
        ("replay bit-exact", str(r["replay_bit_exact"])),
        ("render to MP4", f"{r['render_fps']:.1f} frames/s"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    m = r["machine"]
    console = Console()
    console.print(table)
    console.print(
        f"{m['cpu']}, {m['cpu_count']} cores, load {m['load_avg']}; mujoco {m['mujoco']}, "
        f"python {m['python']}, {m['date']}"
    )


def bench_record(
    env_id: Annotated[str, typer.Option("--env", help="Env id to record.")] = DEFAULT_ENV,
    agent: Annotated[str, typer.Option(help="auto, neurofit or pid.")] = "auto",
    episodes: Annotated[int, typer.Option(min=1, help="Episodes per repeat.")] = 2,
    max_steps: Annotated[int, typer.Option(min=10, help="Steps per episode.")] = 1000,
    repeats: Annotated[int, typer.Option(min=1, help="Repeats; medians are reported.")] = 5,
    frames: Annotated[int, typer.Option(min=1, help="Frames rendered for render_fps.")] = 60,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Recording overhead (fraction of the agent+env step), replay and render speed."""
    if agent not in ("auto", "neurofit", "pid"):
        raise typer.BadParameter(f"agent must be auto, neurofit or pid, got {agent!r}")
    result = run_bench(env_id, agent, episodes, max_steps, repeats, frames)
    if as_json:
        typer.echo(json.dumps(result))
    else:
        _print_table(result)


def register(bench_app: typer.Typer) -> None:
    """Add ``record`` to the ``neurofit bench`` command group."""
    bench_app.command("record")(bench_record)
