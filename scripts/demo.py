"""``neurofit demo``: the product in one run — a micro-drone picks up a payload mid-hover.

The Crazyflie-class quadrotor hovers; at t = 2 s it takes on 30% more mass. The PD reflex alone
sags and stays low; the PID's integrator pulls it back; NeuroFit (the same PD reflex plus a
spiking network that learns from the error while it flies) adapts within seconds. The command
prints the comparison, the compute energy of the spiking controller on neuromorphic hardware,
and saves a plot (and, where possible, a video of the NeuroFit flight with its spikes).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["register"]

ENV_ID = "neurofit/QuadHoverPayload-v0"
PAYLOAD_AT_S = 2.0


def _fly(kind: str, seconds: float, seed: int, on_step: Any,
         record_to: Path | None = None) -> dict[str, Any]:
    """One seeded flight; per-step time, altitude error, position error norm, rotor power.

    With ``record_to``, the flight (and the agent's spikes) is recorded there for replay.
    """
    import gymnasium as gym
    import numpy as np

    from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
    from neurofit.agents.reflex import QuadReflex
    from neurofit.envs.recording import EpisodeRecorder

    env = gym.make(ENV_ID, max_episode_steps=round(seconds * 100))
    steps = round(seconds / env.unwrapped.dt)
    agent = reflex = None
    if kind == "neurofit":
        agent = NeuroFitAgent.from_env(env, AgentConfig(seed=seed))
    if record_to is not None:
        env = EpisodeRecorder(env, record_to, agent, metadata={"source": "neurofit demo"})
    obs, info = env.reset(seed=seed)
    if agent is not None:
        agent.reset()
    else:
        reflex = QuadReflex(env, integral=kind == "pid")
        reflex.reset()
        zero = np.zeros(3)
    t, dz, err, power = [], [], [], []
    for _ in range(steps):
        action = agent.act(obs) if agent else reflex.act(obs, zero)
        obs, reward, terminated, truncated, info = env.step(action)
        if agent:
            agent.observe(obs, reward, terminated, info)
        truth = info["target_pos"] - info["qpos"][:3]
        t.append(info["time_s"])
        dz.append(-truth[2])
        err.append(float(np.linalg.norm(truth)))
        power.append(info["power_w"])
        on_step()
        if terminated or truncated:
            break
    env.close()
    return {"t": np.array(t), "dz": np.array(dz), "err": np.array(err),
            "power": np.array(power), "agent": agent}


def _last_rms(flight: dict[str, Any], seconds: float = 5.0) -> float:
    """RMS position error over a flight's last ``seconds``."""
    import numpy as np

    window = flight["t"] >= flight["t"][-1] - seconds
    return float(np.sqrt(np.mean(flight["err"][window] ** 2)))


def _plot(flights: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6), layout="constrained")
    styles = {"PD reflex": ":", "PID": "--", "NeuroFit": "-"}
    for name, flight in flights.items():
        ax.plot(flight["t"], 100 * flight["dz"], styles[name], label=name)
    ax.axvline(PAYLOAD_AT_S, color="grey", lw=0.8)
    ax.text(PAYLOAD_AT_S, ax.get_ylim()[0], " +30% payload", va="bottom", color="grey")
    ax.set(xlabel="time (s)", ylabel="altitude error (cm)",
           title="Micro quadrotor: hover, then a payload")
    ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def demo(
    seconds: Annotated[float, typer.Option(min=3.0, help="Flight length (s).")] = 15.0,
    seed: Annotated[int, typer.Option(min=0, help="Seed of env and agent.")] = 0,
    out_dir: Annotated[Path, typer.Option(help="Where the plot (and video) go.")] = Path(
        "demo_out"),
    profile: Annotated[str, typer.Option(
        help="Hardware profile of the energy line (the estimated neurofit-analog follows)."
    )] = "loihi",
    video: Annotated[bool, typer.Option(help="Render the NeuroFit flight to MP4 (EGL).")] = True,
    fps: Annotated[float, typer.Option(min=1.0, help="Video frames per second.")] = 15.0,
) -> None:
    """Hover, payload, adaptation: PD vs PID vs NeuroFit, and what the spiking brain costs."""
    import numpy as np
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    import neurofit.envs  # noqa: F401  (registers the env ids)

    console = Console()
    flight_dir = out_dir / "flight"
    if flight_dir.exists():  # the demo's own output of a previous run
        shutil.rmtree(flight_dir)
    console.print(f"[bold]NeuroFit demo[/] — {ENV_ID}: micro quadrotor, +30% payload at "
                  f"t = {PAYLOAD_AT_S:g} s, {seconds:g} s of flight, seed {seed}")
    flights: dict[str, dict[str, Any]] = {}
    with Progress(console=console, transient=True) as progress:
        for name, kind in (("PD reflex", "pd"), ("PID", "pid"), ("NeuroFit", "neurofit")):
            task = progress.add_task(f"flying {name}", total=round(seconds * 100))
            flights[name] = _fly(kind, seconds, seed, lambda t=task: progress.advance(t),
                                 record_to=flight_dir if kind == "neurofit" else None)

    table = Table(title="Position error (true, not sensed)")
    for col in ("controller", "before payload cm", "worst sag cm", "last 5 s RMS cm",
                "rotor power W"):
        table.add_column(col, justify="left" if col == "controller" else "right")
    for name, f in flights.items():
        before = f["t"] < PAYLOAD_AT_S
        table.add_row(
            name, f"{100 * np.sqrt(np.mean(f['err'][before] ** 2)):.2f}",
            f"{100 * max(0.0, -f['dz'].min()):.1f}",
            f"{100 * _last_rms(f):.2f}",
            f"{np.mean(f['power']):.2f}")
    console.print(table)
    pd_rms, nf_rms = (_last_rms(flights[name]) for name in ("PD reflex", "NeuroFit"))
    console.print(f"NeuroFit removes [bold]{100 * (1 - nf_rms / pd_rms):.1f}%[/] of the error the "
                  "reflex leaves, learning online from the error alone.")

    from neurofit.agents.energy_report import energy_line

    for name in dict.fromkeys((profile, "neurofit-analog")):
        console.print(energy_line(flights["NeuroFit"]["agent"], flights["NeuroFit"]["power"],
                                  profile=name))
    out_dir.mkdir(parents=True, exist_ok=True)
    plot = out_dir / "demo_flight.png"
    _plot(flights, plot)
    console.print(f"comparison plot: {plot}")
    _media(flight_dir, out_dir, video, fps, console)


def _media(flight_dir: Path, out_dir: Path, video: bool, fps: float, console: Any) -> None:
    """The NeuroFit flight's timeline (spikes, error, reward, power) and its video."""
    from neurofit.scripts.replay import write_episode_media

    timeline = out_dir / "demo_timeline.png"
    write_episode_media(flight_dir, 0, plot=timeline, progress=False)
    console.print(f"timeline (spikes, error, reward, power): {timeline}")
    if not video:
        return
    mp4 = out_dir / "demo_flight.mp4"
    try:
        write_episode_media(flight_dir, 0, video=mp4, fps=fps)
    except Exception as exc:  # no EGL here: the rest of the demo stands
        console.print(f"[yellow]no video ({type(exc).__name__}: {exc}); set MUJOCO_GL=egl on a "
                      "machine with EGL, or pass --no-video[/]")
        return
    console.print(f"video: {mp4}  (replay it: neurofit replay {flight_dir} --check)")


def register(app: typer.Typer) -> None:
    """Add ``neurofit demo`` to the CLI."""
    app.command("demo")(demo)
