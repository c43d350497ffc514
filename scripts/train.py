"""``neurofit train``: train an agent on an env (one seed, or several in parallel processes).

    neurofit train --env neurofit/QuadHoverPayload-v0 --agent neurofit --mode error \\
        --steps 20000 --seed 0 --run-dir runs/hover
    neurofit train --env neurofit/QuadHoverPayload-v0 --steps 20000 --seeds 0,1,2 --workers 2 \\
        --run-dir runs/hover-sweep                    # runs/hover-sweep/seed_<k>
    neurofit train --run-dir runs/hover --resume --steps 40000   # continue (and extend) a run

Options left out on ``--resume`` are taken from the run's ``config.json`` (or, for a seed
sweep, from its ``seeds.json``: ``neurofit train --run-dir runs/hover-sweep --resume``).
Agent settings are ``--set field=value`` (any
:class:`~neurofit.agents.neurofit_agent.AgentConfig` field but mode and seed; the value is read
as JSON, else as a string). A bad config exits with code 2 and the reason on stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["parse_seeds", "register"]


def parse_seeds(values: list[str]) -> list[int]:
    """``["0,1,2"]`` or ``["0", "1", "2"]`` (repeated ``--seeds``) → ``[0, 1, 2]``."""
    out: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                out.append(int(part))
            except ValueError:
                raise ValueError(f"--seeds takes integers like 0,1,2; got {value!r}") from None
    return out


def _parse_set(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set takes field=value, got {item!r}")
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def _stored_run(run_dir: Path) -> tuple[dict[str, Any], list[int] | None]:
    """The config of the run (or seed sweep) in ``run_dir``, and the sweep's seeds."""
    if (run_dir / "config.json").exists():
        data = json.loads((run_dir / "config.json").read_text())
        return {k: v for k, v in data.items() if k != "resolved"}, None
    if (run_dir / "seeds.json").exists():
        data = json.loads((run_dir / "seeds.json").read_text())
        return dict(data["config"]), [int(s) for s in data["seeds"]]
    return {}, None


def train(
    env: Annotated[str | None, typer.Option(
        "--env", help="Gymnasium env id [default: neurofit/QuadHoverPayload-v0].")] = None,
    agent: Annotated[str | None, typer.Option(
        help="neurofit, pd, pid, random or mlp [default: neurofit].")] = None,
    mode: Annotated[str | None, typer.Option(
        help="error or reward, for the neurofit agent [default: error].")] = None,
    steps: Annotated[int | None, typer.Option(help="Training env steps [default: 20000].")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of a single run [default: 0].")] = None,
    seeds: Annotated[list[str] | None, typer.Option(
        help="Several seeds in parallel: --seeds 0,1,2 (or repeat --seeds); one run dir each, "
             "<run-dir>/seed_<k>.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Parallel processes for --seeds.")] = 1,
    run_dir: Annotated[Path | None, typer.Option(
        help="Run directory (default runs/<env>-<agent>-<mode>).")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the run in --run-dir from its latest checkpoint.")] = False,
    record: Annotated[bool | None, typer.Option(
        "--record/--no-record", help="Record every episode to <run-dir>/dataset.")] = None,
    backend: Annotated[str, typer.Option(help="local or ray (for --seeds).")] = "local",
    eval_every: Annotated[int | None, typer.Option(
        help="Evaluate every N steps; 0: at the end only [default: 0].")] = None,
    eval_episodes: Annotated[int | None, typer.Option(
        help="Episodes per evaluation; 0: none [default: 2].")] = None,
    checkpoint_every: Annotated[int | None, typer.Option(
        help="Checkpoint every N episodes [default: 1].")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Agent config field=value, e.g. --set learning_rate=0.004.")] = None,
    env_kwargs: Annotated[str | None, typer.Option(
        help='gymnasium.make keyword arguments as JSON, e.g. \'{"max_episode_steps": 500}\'.'
    )] = None,
    mlp: Annotated[Path | None, typer.Option(help="NumpyMLP .npz file of the mlp agent.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a live progress bar.")] = True,
) -> None:
    """Train an agent online; metrics, evaluations, checkpoints and plots go to the run dir."""
    from rich.console import Console

    from neurofit.agents.training import TrainConfig, train_many
    from neurofit.agents.training import train as run_train

    console = Console(width=None if sys.stdout.isatty() else 110)  # files and pipes: no wrap
    try:
        fields: dict[str, Any] = {}
        stored_seeds = None
        if resume and run_dir is not None:
            fields, stored_seeds = _stored_run(run_dir)
        given = {"env_id": env, "agent": agent, "mode": mode, "total_steps": steps,
                 "seed": seed, "eval_every": eval_every, "eval_episodes": eval_episodes,
                 "checkpoint_every": checkpoint_every, "record": record,
                 "mlp_path": None if mlp is None else str(mlp)}
        fields.update({k: v for k, v in given.items() if v is not None})
        if set_:
            fields["agent_config"] = {**fields.get("agent_config", {}), **_parse_set(set_)}
        if env_kwargs is not None:
            fields["env_kwargs"] = json.loads(env_kwargs)
        config = TrainConfig(**fields)
        seed_list = parse_seeds(seeds) if seeds else stored_seeds
        if run_dir is None:
            name = f"{config.env_id.split('/')[-1]}-{config.agent}-{config.mode}"
            run_dir = Path("runs") / name
        if seed_list is not None:
            results = train_many(config, seed_list, workers, run_dir, backend=backend,
                                 resume=resume)
        else:
            if backend != "local":
                raise ValueError("--backend ray runs several --seeds; a single run is local")
            results = [run_train(config, run_dir, resume=resume, progress=progress)]
    except (ValueError, FileExistsError, FileNotFoundError, ImportError,
            json.JSONDecodeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _print_summary(console, results)


def _fmt(value: Any, spec: str = ".4g") -> str:
    return "—" if value is None else format(value, spec)


def _print_summary(console: Any, results: list[Any]) -> None:
    from rich.table import Table

    table = Table(title="training (last episode; eval: learning off)")
    for col in ("run", "steps", "episodes", "return", "RMS error", "eval return", "eval RMS",
                "Hz"):
        table.add_column(col, justify="left" if col == "run" else "right")
    for r in results:
        last = r.metrics[-1] if r.metrics else {}
        ev = r.final_eval or {}
        table.add_row(r.run_dir.name, str(r.steps), str(r.episodes), _fmt(last.get("return")),
                      _fmt(last.get("rms_error"), ".3g"), _fmt(ev.get("return")),
                      _fmt(ev.get("rms_error"), ".3g"), _fmt(last.get("spike_rate_hz"), ".0f"))
    console.print(table)
    for r in results:
        console.print(f"{r.run_dir}: {r.wall_s:.1f} s", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``train`` to the ``neurofit`` app."""
    app.command("train")(train)
