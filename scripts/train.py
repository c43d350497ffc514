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
as JSON, else as a string). A bad config exits with code 2 and the reason on stderr; a file
that cannot be written (full or read-only disk) with code 1 and its path; Ctrl-C with code 130,
after saying where the run stands and the command that resumes it. Only one process at a time
trains in a run dir (a second one exits with code 2, naming the first one's PID).
"""

from __future__ import annotations

import contextlib
import errno
import json
import shlex
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["os_error_message", "parse_seeds", "register"]


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


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path} is corrupt ({exc}); restore it, or train in a new run dir"
                         ) from None
    if not isinstance(data, dict):
        raise ValueError(f"{path} is corrupt: it holds no JSON object")
    return data


def _stored_run(run_dir: Path, seeds_given: bool) -> tuple[dict[str, Any], list[int] | None]:
    """The config of the run (or seed sweep) in ``run_dir``, and the sweep's seeds."""
    if (run_dir / "config.json").exists():
        data = _read_json(run_dir / "config.json")
        return {k: v for k, v in data.items() if k != "resolved"}, None
    if (run_dir / "seeds.json").exists():
        data = _read_json(run_dir / "seeds.json")
        try:
            return dict(data["config"]), [int(s) for s in data["seeds"]]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{run_dir / 'seeds.json'} is corrupt: it lacks the sweep's "
                             "config or seeds") from None
    # a sweep stopped before it wrote seeds.json: its seeds' runs hold the config
    started = sorted(run_dir.glob("seed_*/config.json"))
    if started:
        if not seeds_given:
            raise ValueError(f"{run_dir} is a seed sweep that did not finish (no seeds.json): "
                             "give its seeds again, e.g. --seeds 0,1,2")
        data = _read_json(started[0])
        return {k: v for k, v in data.items() if k not in ("resolved", "seed")}, None
    return {}, None


_OS_HINTS = {
    errno.ENOSPC: "the disk is full: free some space, then run the same command with --resume",
    errno.EDQUOT: "the disk quota is used up: free some space, then run the same command "
                  "with --resume",
    errno.EROFS: "the file system is read-only: give a --run-dir on a writable disk",
    errno.EACCES: "permission denied: give a --run-dir you may write to",
}


def os_error_message(exc: OSError) -> str:
    """One line for an I/O failure: the file, what went wrong and what to do."""
    where = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):  # only writes fail so
        where = f"cannot write {where}"
    hint = _OS_HINTS.get(exc.errno) if exc.errno is not None else None
    return where + (f" ({hint})" if hint else "")


def _resume_command(run_dir: Path, seed_list: list[int] | None, workers: int,
                    backend: str) -> str:
    cmd = f"neurofit train --run-dir {shlex.quote(str(run_dir))} --resume"
    if seed_list is not None:
        cmd += f" --seeds {','.join(map(str, seed_list))} --workers {workers}"
        if backend != "local":
            cmd += f" --backend {backend}"
    return cmd


def _interrupt_message(exc: KeyboardInterrupt, run_dir: Path | None,
                       seed_list: list[int] | None, workers: int, backend: str) -> str:
    """Where an interrupted run (or sweep) stands, and the command that resumes it."""
    from neurofit.agents.training import TrainingInterrupted, last_checkpoint_step

    if run_dir is None:
        return "interrupted before training started; nothing was written"
    if seed_list is not None:
        parts = []
        for s in seed_list:
            step = last_checkpoint_step(run_dir / f"seed_{s}")
            parts.append(f"seed {s}: " + ("no checkpoint" if step is None else f"step {step}"))
        head = f"interrupted: seed sweep {run_dir}; last checkpoints: {', '.join(parts)}"
    elif isinstance(exc, TrainingInterrupted):
        ckpt = ("no checkpoint yet, so a resume starts from step 0"
                if exc.checkpoint_step is None else
                f"its last checkpoint is at step {exc.checkpoint_step}, where a resume starts")
        head = (f"interrupted: {run_dir} stopped at step {exc.step} of {exc.total_steps}; "
                f"{ckpt}")
    elif (run_dir / "config.json").exists():
        step = last_checkpoint_step(run_dir)
        head = (f"interrupted: {run_dir}'s last checkpoint is at step "
                f"{'0 (none yet)' if step is None else step}")
    else:
        return "interrupted before training started; nothing was trained"
    return f"{head}\nresume with: {_resume_command(run_dir, seed_list, workers, backend)}"


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
    workers: Annotated[int, typer.Option(
        min=1, help="Seeds trained at a time: processes, or Ray tasks with --backend ray.")] = 1,
    run_dir: Annotated[Path | None, typer.Option(
        help="Run directory (default runs/<env>-<agent>-<mode>).")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the run in --run-dir from its latest checkpoint.")] = False,
    from_previous: Annotated[bool, typer.Option(
        "--from-previous", help="With --resume, when the latest checkpoint is damaged: resume "
        "from the one before it.")] = False,
    record: Annotated[bool | None, typer.Option(
        "--record/--no-record", help="Record every episode to <run-dir>/dataset.")] = None,
    backend: Annotated[str, typer.Option(
        help="local (a process pool) or ray, for --seeds: ray joins the cluster in RAY_ADDRESS, "
             "else starts a local one.")] = "local",
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

    from neurofit.agents._run_dir import sigterm_as_interrupt
    from neurofit.agents.training import RunLockedError, TrainConfig, train_many
    from neurofit.agents.training import train as run_train

    console = Console(width=None if sys.stdout.isatty() else 110)  # files and pipes: no wrap
    seed_list: list[int] | None = None
    stack = contextlib.ExitStack()
    stack.enter_context(sigterm_as_interrupt())  # `kill` / a scheduler stops it as Ctrl-C does
    try:
        if backend not in ("local", "ray"):
            raise ValueError(f"--backend must be local or ray, got {backend!r}")
        fields: dict[str, Any] = {}
        stored_seeds = None
        if resume and run_dir is not None:
            fields, stored_seeds = _stored_run(run_dir, bool(seeds))
        given = {"env_id": env, "agent": agent, "mode": mode, "total_steps": steps,
                 "seed": seed, "eval_every": eval_every, "eval_episodes": eval_episodes,
                 "checkpoint_every": checkpoint_every, "record": record,
                 "mlp_path": None if mlp is None else str(mlp)}
        fields.update({k: v for k, v in given.items() if v is not None})
        if set_:
            fields["agent_config"] = {**fields.get("agent_config", {}), **_parse_set(set_)}
        if env_kwargs is not None:
            try:
                fields["env_kwargs"] = json.loads(env_kwargs)
            except json.JSONDecodeError as exc:
                raise ValueError(f"--env-kwargs is not valid JSON ({exc}): give a JSON object, "
                                 'e.g. \'{"max_episode_steps": 500}\'') from None
            if not isinstance(fields["env_kwargs"], dict):
                raise ValueError("--env-kwargs must be a JSON object, e.g. "
                                 f'\'{{"max_episode_steps": 500}}\', got {env_kwargs!r}')
        config = TrainConfig.from_dict(fields)
        seed_list = parse_seeds(seeds) if seeds else stored_seeds
        if run_dir is None:
            name = f"{config.env_id.split('/')[-1]}-{config.agent}-{config.mode}"
            run_dir = Path("runs") / name
        if seed_list is not None:
            if from_previous:
                raise ValueError("--from-previous resumes one run: give the damaged seed's own "
                                 f"run dir, e.g. --run-dir {run_dir / f'seed_{seed_list[0]}'}")
            results = train_many(config, seed_list, workers, run_dir, backend=backend,
                                 resume=resume, progress=progress)
        else:
            if backend != "local":
                raise ValueError("--backend ray runs several --seeds; a single run is local")
            results = [run_train(config, run_dir, resume=resume, progress=progress,
                                 from_previous=from_previous)]
    except (ValueError, FileExistsError, FileNotFoundError, ImportError,
            RunLockedError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"error: {os_error_message(exc)}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt as exc:
        typer.echo(_interrupt_message(exc, run_dir, seed_list, workers, backend), err=True)
        raise typer.Exit(130) from None
    finally:
        stack.close()
    _print_summary(console, results)


def _fmt(value: Any, spec: str = ".4g") -> str:
    return "n/a" if value is None else format(value, spec)


def _print_summary(console: Any, results: list[Any]) -> None:
    from rich.table import Table

    table = Table(title="training (last episode; RMS tracking error over the whole episode; "
                        "eval: learning off)")
    for col in ("run", "steps", "episodes", "return", "RMS tracking error (mm)", "eval return",
                "eval RMS tracking error (mm)", "Hz"):
        table.add_column(col, justify="left" if col == "run" else "right")
    for r in results:
        last = r.metrics[-1] if r.metrics else {}
        ev = r.final_eval or {}
        table.add_row(r.run_dir.name, str(r.steps), str(r.episodes), _fmt(last.get("return")),
                      _fmt(last.get("rms_tracking_error_mm"), ".3g"), _fmt(ev.get("return")),
                      _fmt(ev.get("rms_tracking_error_mm"), ".3g"),
                      _fmt(last.get("spike_rate_hz"), ".0f"))
    console.print(table)
    for r in results:
        console.print(f"{r.run_dir}: {r.wall_s:.1f} s", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``train`` to the ``neurofit`` app."""
    app.command("train")(train)
