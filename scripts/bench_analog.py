"""``neurofit bench analog``: closed-loop error of the change-driven controller against weight
precision, mismatch and read noise (what it measures: :mod:`neurofit.scripts.bench.analog`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from neurofit.scripts._machine import machine_info
from neurofit.scripts.bench.analog import BITS, READ_NOISE, SIGMAS, plot, run_bench
from neurofit.scripts.bench.taxi import TASKS
from neurofit.scripts.bench_taxi import seed_list, task_list

__all__ = ["register"]


def _numbers(text: str, name: str, *, bits: bool = False) -> list[Any]:
    """Comma-separated values of an option (``float`` allowed for bits)."""
    out: list[Any] = []
    for item in (t.strip() for t in text.split(",") if t.strip()):
        try:
            if bits:
                value: Any = None if item == "float" else int(item)
                if value is not None and not 1 <= value <= 16:
                    raise ValueError
            else:
                value = float(item)
                if not 0.0 <= value <= 1.0:
                    raise ValueError
        except ValueError:
            allowed = "integers 1-16 or 'float'" if bits else "numbers in [0, 1]"
            raise typer.BadParameter(f"{item!r} is not allowed; give {allowed}",
                                     param_hint=f"--{name}") from None
        out.append(value)
    if not out:
        raise typer.BadParameter("give at least one value", param_hint=f"--{name}")
    return out


def _print_table(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for task, t in result["tasks"].items():
        table = Table(title=f"{task}: RMS error / ideal float chip ({t['float_rms_error_mm']:.4g}"
                            f" mm), {t['window']}, read noise 0")
        sigmas = sorted({p["sigma"] for p in t["points"]})
        table.add_column("weights")
        for s in sigmas:
            table.add_column(f"σ {s:g}", justify="right")
        for b in dict.fromkeys(p["bits"] for p in t["points"]):
            row = [next((f"{p['ratio_to_float']:.2f}" + (" crash" if p["crashes"] else ""))
                        for p in t["points"] if p["bits"] == b and p["sigma"] == s
                        and p["read_noise"] == 0.0) if any(
                p["bits"] == b and p["sigma"] == s and p["read_noise"] == 0.0
                for p in t["points"]) else "" for s in sigmas]
            table.add_row("float" if b is None else f"{b}-bit", *row)
        console.print(table)
        target = t["target_4bit_sigma02"]
        if target is not None:
            console.print(f"4-bit, σ 0.2: {target['ratio_to_float']:.2f} x float "
                          f"(target <= 1.10): {'met' if target['met'] else 'not met'}")
    m = result["machine"]
    console.print(f"{m['cpu']}, {m['cpu_count']} cores; {m['date']}")


def bench_analog(
    tasks: Annotated[str, typer.Option(help=f"Comma-separated: {', '.join(TASKS)}.")
                     ] = ",".join(TASKS),
    seeds: Annotated[str, typer.Option(help="Comma-separated seeds (bench learning's).")
                     ] = "0,1,2",
    bits: Annotated[str, typer.Option(help="Weight bits, comma-separated ('float' too).")
                    ] = ",".join("float" if b is None else str(b) for b in BITS),
    sigmas: Annotated[str, typer.Option(help="Gain/threshold mismatch σ values.")
                      ] = ",".join(f"{s:g}" for s in SIGMAS),
    read_noise: Annotated[str, typer.Option(help="Read-noise values (relative sd).")
                          ] = ",".join(f"{r:g}" for r in READ_NOISE),
    plot_path: Annotated[Path | None, typer.Option("--plot", help="Save the heat map here.")
                         ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Closed-loop RMS across weight bits x mismatch x read noise (change-driven controller)."""
    names = task_list(tasks)
    bit_list = _numbers(bits, "bits", bits=True)
    if None not in bit_list:
        bit_list.append(None)  # the reference every ratio is taken to
    sigma_list = _numbers(sigmas, "sigmas")
    if 0.0 not in sigma_list:
        sigma_list.insert(0, 0.0)
    noise_list = _numbers(read_noise, "read-noise")
    if 0.0 not in noise_list:
        noise_list.insert(0, 0.0)
    from rich.console import Console
    from rich.progress import Progress

    total = len(names) * len(bit_list) * len(sigma_list) * len(noise_list)
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("flying the grid", total=total)
        result = run_bench(names, seed_list(seeds), bit_list, sigma_list, noise_list,
                           progress=lambda: bar.advance(task))
    result["machine"] = machine_info()
    if plot_path is not None:
        plot(result, str(plot_path))
    if as_json:
        typer.echo(json.dumps(result))
    else:
        _print_table(result)


def register(bench_app: typer.Typer) -> None:
    """Add ``analog`` to the ``neurofit bench`` command group."""
    bench_app.command("analog")(bench_analog)
