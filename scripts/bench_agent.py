"""``neurofit bench agent``: µs per agent tick next to µs per env step, in the same run.

Parses the options, runs :func:`neurofit.scripts.bench.agent.run_bench` and prints.
"""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from neurofit.scripts.bench.agent import run_bench


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("agent")
    def bench_agent(
        env_id: str = typer.Option("neurofit/QuadHover-v0", "--env", help="Env to step."),
        ticks: int = typer.Option(2000, min=10, help="Ticks per repeat."),
        repeats: int = typer.Option(5, min=1, help="Repeats (the median is reported)."),
        n_per_input: int = typer.Option(134, min=1, help="Hidden neurons per input dim."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Time everything ``act`` + ``observe`` do (reflex, encoder, network at 10 substeps,
        decoder, learning) against ``env.step`` of the same env."""
        result = run_bench(env_id, ticks, repeats, n_per_input)
        if as_json:
            typer.echo(json.dumps(result))
            return
        table = Table(title=f"Agent tick vs env step ({env_id}, median of {repeats})")
        for col in ("neurons", "substeps", "agent tick µs", "env step µs", "ratio"):
            table.add_column(col, justify="right")
        table.add_row(str(result["neurons"]), str(result["substeps"]),
                      f"{result['agent_tick_us']:.1f}", f"{result['env_step_us']:.1f}",
                      f"{result['ratio']:.2f}")
        Console().print(table)
