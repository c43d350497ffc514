"""``neurofit bench engine``: wall time of the spike engine on the CUBA benchmark, next to Brian2.

Parses the options, runs :func:`neurofit.scripts.bench.engine.run_bench` (what it measures, and
what it does not, is in that module's docstring) and prints tables or JSON.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from neurofit.scripts.bench.engine import (
    BRIAN2_DEVICES,
    BRIAN2_SCRIPT,
    brian2_cpu_s,
    run_bench,
)

__all__ = ["BRIAN2_SCRIPT", "register", "run_bench"]


class NetworkName(str, Enum):
    cuba = "cuba"
    sparse = "sparse"


class Execution(str, Enum):
    time_stepped = "time-stepped"
    event_driven = "event-driven"
    both = "both"


class Mode(str, Enum):
    run = "run"
    step = "step"
    both = "both"


def _print_tables(out: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    first = out["results"][0]
    step = next((r for r in out["results"] if r["mode"] == "step"), None)
    table = Table(
        title=f"{first['network'].upper()}: {first['neurons']:,} neurons, "
              f"{first['synapses']:,} synapses, {first['duration_s']:g} s simulated, median of "
              f"{first['repeats']}",
        caption=(f"step: one call per {step['substeps']}-step tick; " if step else "")
        + "x RT: simulated / wall time; ns/event and ns/update: whole wall time over each count "
        "(dense updates); effective: share of neuron updates actually done; "
        "* compile loaded from cache",
    )
    for col in ("engine", "execution", "mode", "wall s", "cpu s", "x RT", "compile s",
                "rate Hz", "ns/event", "ns/update", "effective"):
        table.add_column(col, justify="left" if col in ("engine", "execution", "mode")
                         else "right")
    for r in out["results"]:
        table.add_row("neurofit", r["execution"], r["mode"], f"{r['wall_s']:.3f}",
                      f"{r['cpu_s']:.3f}", f"{r['realtime_factor']:.1f}",
                      f"{r['compile_s']:.2f}" + ("*" if r["jit_cache_hit"] else ""),
                      f"{r['mean_rate_hz']:.2f}", f"{r['ns_per_synaptic_event']:.2f}",
                      f"{r['ns_per_neuron_update']:.2f}", f"{r['effective_fraction']:.1%}")
    b2 = out.get("brian2")
    for r in (b2 or {}).get("results", []):
        if "error" in r:
            table.add_row("brian2", "time-stepped", r["device"], "[red]failed[/red]", *[""] * 7)
            continue
        cpu = brian2_cpu_s(r)
        table.add_row("brian2", "time-stepped", r["device"], f"{r['wall_s']:.3f}",
                      f"{cpu:.3f}" if cpu else "", f"{r['duration_s'] / r['wall_s']:.1f}",
                      f"{r['compile_s']:.2f}", f"{r['mean_rate_hz']:.2f}", "", "", "")
    console.print(table)
    if b2 and b2["ratio"]:
        ratios = ", ".join(f"{k} {v:.2f}" for k, v in b2["ratio"].items())
        console.print(f"neurofit / brian2 wall time (below 1: neurofit faster): {ratios}")
        ratios = ", ".join(f"{k} {v:.2f}" for k, v in b2["ratio_cpu"].items())
        console.print(f"neurofit / brian2 CPU time: {ratios}")
    if "scaling" in out:
        with_b2 = any("brian2" in r for r in out["scaling"])
        scale = Table(title=f"scaling, mean fan-in 80, {out['scaling'][0]['mode']} mode")
        cols = ["neurons", "synapses", "wall s", "ns/event", "ns/update", "rate Hz"]
        for col in cols + (["brian2 s", "nf/brian2"] if with_b2 else []):
            scale.add_column(col, justify="right")
        for r in out["scaling"]:
            cells = [f"{r['neurons']:,}", f"{r['synapses']:,}", f"{r['wall_s']:.3f}",
                     f"{r['ns_per_synaptic_event']:.2f}", f"{r['ns_per_neuron_update']:.2f}",
                     f"{r['mean_rate_hz']:.2f}"]
            if with_b2:
                b = r.get("brian2", {})
                cells += [f"{b['wall_s']:.3f}" if "wall_s" in b else "failed",
                          f"{b['ratio']:.2f}" if "ratio" in b else ""]
            scale.add_row(*cells)
        console.print(scale)
    m = out["machine"]
    console.print(f"{m['cpu']}, {m['cpu_count']} cores, load {m['load_avg']}; python "
                  f"{m['python']}, numba {m['numba']}, numpy {m['numpy']}; {m['date']}")


def bench_engine(
    network: Annotated[
        NetworkName,
        typer.Option(help="cuba: Brian2's CUBA; sparse: mostly at rest, rare input events."),
    ] = NetworkName.cuba,
    duration_s: Annotated[float, typer.Option(help="Simulated seconds per repeat.")] = 10.0,
    mode: Annotated[Mode, typer.Option(help="run: one call; step: one call per tick.")] = Mode.run,
    substeps: Annotated[int, typer.Option(min=1, help="Steps per step() call (tick).")] = 10,
    neurons: Annotated[int, typer.Option(min=10, help="Network size.")] = 4000,
    repeats: Annotated[int, typer.Option(min=1, help="Repeats; the median is reported.")] = 3,
    scaling: Annotated[
        bool, typer.Option(help="Add 1k, 4k and 16k neuron rows at a fixed fan-in.")
    ] = False,
    brian2_python: Annotated[
        Path | None,
        typer.Option(help="Interpreter with Brian2 (and numpy) to run Brian2's CUBA script, "
                          "which ships with neurofit (scripts/_bench_assets/brian2_cuba.py)."),
    ] = None,
    brian2_device: Annotated[
        list[str] | None,
        typer.Option(help="Brian2 device(s) to time (repeatable); default both."),
    ] = None,
    seed: Annotated[int, typer.Option(min=0, help="Network seed (same for every repeat).")] = 0,
    execution: Annotated[
        Execution,
        typer.Option(help="Execution model(s) to time: every neuron every step, or only "
                          "neurons with input or not at rest; both: a row each."),
    ] = Execution.time_stepped,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Wall time of the spike engine on CUBA or a sparse network (run and/or step mode,
    time-stepped and/or event-driven execution), optionally next to Brian2."""
    if not duration_s > 0:
        raise typer.BadParameter(f"must be > 0, got {duration_s}", param_hint="--duration-s")
    devices = tuple(brian2_device) if brian2_device else BRIAN2_DEVICES
    for d in devices:
        if d not in BRIAN2_DEVICES:
            raise typer.BadParameter(f"must be one of {BRIAN2_DEVICES}, got {d!r}",
                                     param_hint="--brian2-device")
    from rich.console import Console

    err = Console(stderr=True)
    log = None if as_json else (lambda msg: err.log(msg))
    if brian2_python is not None and network is not NetworkName.cuba:
        raise typer.BadParameter("Brian2's script simulates CUBA only; drop --brian2-python "
                                 f"or use --network cuba (got {network.value!r})",
                                 param_hint="--brian2-python")
    out, errors = run_bench(duration_s, mode.value, substeps, neurons, repeats, scaling,
                            brian2_python, devices, seed, log, execution=execution.value,
                            network=network.value)
    if as_json:
        typer.echo(json.dumps(out))
    else:
        _print_tables(out)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if errors:
        raise typer.Exit(code=1)


def register(bench_app: typer.Typer) -> None:
    """Add ``engine`` to the ``neurofit bench`` command group."""
    bench_app.command("engine")(bench_engine)
