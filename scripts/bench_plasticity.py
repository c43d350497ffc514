"""``neurofit bench plasticity``: what on-chip learning costs, and what precision does to it.

Parses the options, runs :func:`neurofit.scripts.bench.plasticity.run_bench` (the protocol is
in that module's docstring) and prints its tables or JSON.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from neurofit.scripts.bench.plasticity import run_bench

__all__ = ["register"]


def _parse_bits(text: str) -> tuple[int | None, ...]:
    values: list[int | None] = []
    for item in text.split(","):
        item = item.strip().lower()
        if item in ("float", "none"):
            values.append(None)
            continue
        try:
            b = int(item)
        except ValueError:
            raise typer.BadParameter(f"bits must be integers or 'float', got {item!r}") from None
        if not 1 <= b <= 24:
            raise typer.BadParameter(f"bits must be in [1, 24], got {b}")
        values.append(b)
    return tuple(values)


def _parse_mismatch(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(item) for item in text.split(","))
    except ValueError:
        raise typer.BadParameter(f"mismatch must be comma-separated numbers, got {text!r}") \
            from None
    if any(not v >= 0 for v in values):
        raise typer.BadParameter(f"mismatch must be >= 0, got {text!r}")
    return values


def _bits_label(bits: int | None) -> str:
    return "float" if bits is None else f"{bits}-bit"


def _print_tables(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    net = result["network"]
    cost = Table(title=f"Cost of learning: {net['neurons']:,} neurons, "
                       f"{net['plastic_synapses']:,} plastic synapses, {net['substeps']} "
                       f"substeps per {net['tick_s'] * 1e3:g} ms tick (median of "
                       f"{result['timed_ticks']:,} ticks)")
    cost.add_column("learning")
    cost.add_column("compiled step µs/tick", justify="right")
    cost.add_column("whole tick µs/tick", justify="right")
    cost.add_row("off", f"{result['step_us_learning_off']:.1f}",
                 f"{result['tick_us_learning_off']:.1f}")
    cost.add_row("on (PES)", f"{result['step_us_learning_on']:.1f}",
                 f"{result['tick_us_learning_on']:.1f}")
    met = "met" if result["learning_overhead"] <= result["learning_overhead_target"] \
        else "NOT met"
    cost.add_row(f"on / off (target ≤ {result['learning_overhead_target']:g}: {met})",
                 f"{result['learning_overhead']:.2f}", f"{result['tick_overhead']:.2f}")
    curve = Table(title=f"Frozen RMSE of sin(πx) after {result['duration_s']:g} s of PES "
                        f"(untrained: {result['rmse_untrained']:.3f})")
    sigmas = sorted({p["mismatch"] for p in result["precision_curve"]})
    bits = list(dict.fromkeys(p["bits"] for p in result["precision_curve"]))
    curve.add_column("weights")
    for s in sigmas:
        curve.add_column(f"mismatch σ={s:g}", justify="right")
    by_key = {(p["bits"], p["mismatch"]): p["rmse"] for p in result["precision_curve"]}
    for b in bits:
        curve.add_row(_bits_label(b), *(f"{by_key[(b, s)]:.4f}" for s in sigmas))
    m = result["machine"]
    console = Console()
    console.print(cost)
    console.print(curve)
    console.print(f"{m['cpu']}, {m['cpu_count']} cores, load {m['load_avg']}, {m['date']}; "
                  f"numba {m.get('numba')}, numpy {m.get('numpy')}, python {m['python']}")


def bench_plasticity(
    duration_s: Annotated[float, typer.Option(
        min=0.001, help="Seconds of ticks per timing repeat, and of learning per curve point.",
    )] = 10.0,
    repeats: Annotated[int, typer.Option(min=1, help="Timing repeats (off and on alternate).")] = 3,
    eval_s: Annotated[float, typer.Option(
        min=0.001, help="Seconds of frozen evaluation per RMSE.")] = 2.0,
    bits: Annotated[str, typer.Option(
        help="Weight precisions of the curve, comma-separated ('float' for none).",
    )] = "4,6,8,16,float",
    mismatch: Annotated[str, typer.Option(
        help="Gain and threshold mismatch σ of the curve, comma-separated.")] = "0,0.1,0.2",
    seed: Annotated[int, typer.Option(min=0, help="Seed of the task and networks.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Cost of on-chip learning (µs per tick, off vs on) and the precision × mismatch curve."""
    from rich.console import Console
    from rich.progress import Progress

    bit_values, sigma_values = _parse_bits(bits), _parse_mismatch(mismatch)
    total = repeats + len(bit_values) * len(sigma_values)
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("plasticity bench", total=total)
        result = run_bench(duration_s, repeats, eval_s, bit_values, sigma_values, seed,
                           progress=lambda: bar.advance(task))
    if as_json:
        typer.echo(json.dumps(result))
    else:
        _print_tables(result)


def register(bench_app: typer.Typer) -> None:
    """Add ``plasticity`` to the ``neurofit bench`` command group."""
    bench_app.command("plasticity")(bench_plasticity)
