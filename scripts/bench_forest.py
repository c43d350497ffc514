"""``neurofit bench forest``: obstacle flight on a range scan (issue 14) — success on unseen
maps with the teacher off, energy per inference at equal success against the smallest DNN,
the ray-count crossover and the mission figure. The protocol is
:mod:`neurofit.scripts.bench.forest`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]

#: ``--quick``: a short run for tests (small maps count, few episodes, no PPO)
QUICK = {"n_maps": 3, "train_episodes": 3, "mlp_widths": (2,), "mlp_learning_rates": (0.03,),
         "ppo_factor": 0.0, "heavy_maps": 1, "env_kwargs": {"max_episode_steps": 150}}


def _rays(text: str) -> list[int]:
    try:
        rays = [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise ValueError(f"--sweep-rays must be comma-separated integers, got {text!r}") from None
    bad = [r for r in rays if not 1 <= r <= 4096]
    if bad or not rays:
        raise ValueError(f"--sweep-rays values must be integers in [1, 4096], got {text!r}")
    return rays


def bench_forest(
    rays: Annotated[int, typer.Option(min=1, max=4096, help="Rays of the main figures.")] = 256,
    sweep_rays: Annotated[str | None, typer.Option(
        help="Ray counts of the crossover, comma-separated (e.g. 16,64,256,1024).")] = None,
    maps: Annotated[int, typer.Option(min=1, help="Unseen evaluation maps.")] = 50,
    train_episodes: Annotated[int, typer.Option(
        min=1, help="Training episodes of every learner.")] = 100,
    ppo_factor: Annotated[float, typer.Option(
        min=0.0, help="PPO env steps per NeuroFit training step (0: skip PPO).")] = 10.0,
    quick: Annotated[bool, typer.Option(
        "--quick", help="A short run (3 maps, 3 episodes, no PPO): tests.")] = False,
    out: Annotated[Path | None, typer.Option(
        help="Write the JSON here (the crossover plot goes next to it).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Obstacle flight on a range scan: success, energy at equal success, crossover, mission."""
    from neurofit.scripts._machine import machine_info
    from neurofit.scripts.bench.forest import forest_benchmark, plot_crossover
    from neurofit.scripts.energy import _fail, _json_default

    try:
        sweep = _rays(sweep_rays) if sweep_rays else []
    except ValueError as exc:
        raise _fail(str(exc)) from None
    kw: dict = {"n_maps": maps, "train_episodes": train_episodes, "ppo_factor": ppo_factor}
    if quick:
        kw.update(QUICK)
    try:
        report = forest_benchmark(
            n_rays=rays, sweep_rays=sweep,
            progress=lambda text: typer.echo(text, err=True), **kw)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    report["machine"] = machine_info()
    report["quick"] = quick
    if sweep:
        plot = (out.with_suffix(".png") if out is not None else Path("bench_forest_crossover.png"))
        report["plot"] = str(plot_crossover(report, plot))
    text = json.dumps(report, default=_json_default, indent=None if as_json else 2)
    if out is not None:
        try:
            out.write_text(text)
        except OSError as exc:
            raise _fail(f"cannot write {out}: {exc}") from None
    if as_json or out is None:
        typer.echo(text)
        return
    typer.echo(f"success: neurofit {report['success_rate_neurofit']:.2f}, teacher "
               f"{report['success_rate_teacher']:.2f}, ppo {report['success_rate_ppo']}; "
               f"ratio_vs_dnn {report['ratio_vs_dnn']}; written to {out}")


def register(bench_app: typer.Typer) -> None:
    """Add ``forest`` to ``neurofit bench``."""
    bench_app.command("forest")(bench_forest)
