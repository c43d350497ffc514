"""``neurofit bench env``: env steps/s of every ``neurofit/`` id and of Gymnasium's Hopper-v5.

Every env is measured alike: built through ``gymnasium.make`` (so with its registration's
wrappers), driven by pre-sampled random actions from its own action space, timing ``env.step``
only (resets on termination are not counted, so an env whose random policy crashes often is not
charged for its resets). The figure is the median over ``repeats`` runs of ``steps`` steps, after
a warm-up that triggers any JIT compilation; the repeats go round robin over the envs, so a change
of machine load (a shared 2-core machine) affects them alike.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Annotated, Any

import typer

from neurofit.scripts._machine import machine_info

__all__ = [
    "REFERENCE_ENV_ID",
    "machine_info",
    "measure_env",
    "measure_envs",
    "register",
    "run_bench",
]

#: The Gymnasium MuJoCo env the NeuroFit envs are compared with.
REFERENCE_ENV_ID = "Hopper-v5"


def measure_env(env_id: str, steps: int = 2000, repeats: int = 5, seed: int = 0) -> dict[str, Any]:
    """Median steps/s of ``gymnasium.make(env_id)`` under random actions.

    Returns:
        ``{"env_id", "steps_per_s", "us_per_step"}``.
    """
    return measure_envs([env_id], steps, repeats, seed)[0]


def measure_envs(
    env_ids: list[str], steps: int = 2000, repeats: int = 5, seed: int = 0
) -> list[dict[str, Any]]:
    """:func:`measure_env` for several ids, the repeats interleaved (round robin over the envs)
    so that a change of machine load during the run affects every env alike."""
    import gymnasium as gym

    if steps < 1 or repeats < 1:
        raise ValueError(f"steps and repeats must be >= 1, got steps={steps}, repeats={repeats}")
    envs: list[Any] = []
    actions: list[list[Any]] = []
    try:
        for env_id in env_ids:
            env = gym.make(env_id)
            envs.append(env)
            env.action_space.seed(seed)
            actions.append([env.action_space.sample() for _ in range(steps)])
            env.reset(seed=seed)
            _timed_steps(env, actions[-1][: min(steps, 200)])  # warm-up: JIT, caches, checker
        per_step: list[list[float]] = [[] for _ in env_ids]
        for _ in range(repeats):
            for i, env in enumerate(envs):
                per_step[i].append(_timed_steps(env, actions[i]) / steps)
    finally:
        for env in envs:
            env.close()
    out = []
    for env_id, times in zip(env_ids, per_step, strict=True):
        s = statistics.median(times)
        out.append({"env_id": env_id, "steps_per_s": 1.0 / s, "us_per_step": s * 1e6})
    return out


def _timed_steps(env: Any, actions: list[Any]) -> float:
    """Seconds spent inside ``env.step`` for ``actions`` (resets excluded)."""
    step, clock = env.step, time.perf_counter
    total = 0.0
    t0 = clock()
    for a in actions:
        _, _, terminated, truncated, _ = step(a)
        if terminated or truncated:
            total += clock() - t0
            env.reset()
            t0 = clock()
    return total + clock() - t0


def run_bench(steps: int = 2000, repeats: int = 5, only: str | None = None) -> dict[str, Any]:
    """Measure every registered ``neurofit/`` id (filtered by substring ``only``) and Hopper-v5."""
    import gymnasium as gym

    import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)

    ids = sorted(k for k in gym.registry if k.startswith("neurofit/"))
    if only:
        ids = [k for k in ids if only in k]
    ids.append(REFERENCE_ENV_ID)
    return {
        "envs": measure_envs(ids, steps, repeats),
        "machine": machine_info(),
        "reference_env": REFERENCE_ENV_ID,
        "steps": steps,
        "repeats": repeats,
    }


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
