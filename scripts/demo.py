"""``neurofit demo``: the product in one run — a micro-drone picks up a payload mid-hover.

The Crazyflie-class quadrotor hovers; at t = 2 s it takes on 30% more mass. The PD reflex alone
sags and stays low; the PID's integrator pulls it back; NeuroFit (the same PD reflex plus a
spiking network that learns from the error while it flies) adapts within seconds — twice: the
rate-coded LIF network (the bus: every neuron every substep, firing through a steady hover)
and the change-driven sigma-delta network (the taxi: events only when something changes, so
once the payload is learned events and weight writes fall to zero). The command prints the
comparison and the compute energy of both on neuromorphic hardware, and saves plots (the
flight; operations and energy per tick of bus and taxi side by side) and, where possible, a
video of the taxi's flight with its events on the timeline.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Annotated, Any

import typer

from neurofit.scripts.replay import VIDEO_FPS

__all__ = ["register"]

ENV_ID = "neurofit/QuadHoverPayload-v0"
PAYLOAD_AT_S = 2.0
#: the window of the demo's score: the flight's last seconds (after adaptation)
LAST_S = 5.0
#: the NeuroFit flights: kind → coding
CODINGS = {"neurofit": "rate", "taxi": "sigma-delta"}
#: the two NeuroFit rows of the demo's tables
BUS, TAXI = "NeuroFit rate (bus)", "NeuroFit sigma-delta (taxi)"


def _fly(kind: str, seconds: float, seed: int, on_step: Any,
         record_to: Path | None = None) -> dict[str, Any]:
    """One seeded flight; per-step time, altitude error, tracking error (m), rotor power.

    With ``record_to``, the flight (and the agent's spikes) is recorded there for replay.
    """
    import gymnasium as gym
    import numpy as np

    from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
    from neurofit.agents.reflex import QuadReflex
    from neurofit.agents.rollout import ReflexAgent, StepResult, run_episode
    from neurofit.envs.recording import EpisodeRecorder
    from neurofit.envs.tracking import tracking_error_m

    env = gym.make(ENV_ID, max_episode_steps=round(seconds * 100))
    steps = round(seconds / env.unwrapped.dt)
    agent = None
    if kind in CODINGS:
        agent = NeuroFitAgent.from_env(env, AgentConfig(coding=CODINGS[kind], seed=seed))
    if record_to is not None:
        env = EpisodeRecorder(env, record_to, agent, metadata={"source": "neurofit demo"})
    if agent is None:
        controller: Any = ReflexAgent(QuadReflex(env, integral=kind == "pid"))
    else:
        controller = agent
    t, dz, err, power, counts = [], [], [], [], []
    now = np.zeros(5, dtype=np.int64)

    def on_tick(s: StepResult) -> None:
        t.append(s.info["time_s"])
        dz.append(s.info["qpos"][2] - s.info["target_pos"][2])
        err.append(tracking_error_m(s.info))
        power.append(s.info["power_w"])
        if agent is not None:
            counts.append(agent.policy.net.counts_array(now).copy())
        on_step()

    run_episode(controller, env, seed, on_step=on_tick, max_steps=steps)
    env.close()
    per_tick = np.diff(np.array(counts), axis=0, prepend=0) if counts else None
    return {"t": np.array(t), "dz": np.array(dz), "err": np.array(err),
            "power": np.array(power), "agent": agent, "dt": float(env.unwrapped.dt),
            "band_m": env.unwrapped.scale_band_m, "counts": per_tick}


def _last_rms_mm(flight: dict[str, Any], seconds: float = LAST_S) -> float:
    """RMS tracking error (mm) over a flight's last ``seconds`` (its last steps)."""
    from neurofit.envs.tracking import rms_tracking_error_mm

    return rms_tracking_error_mm(flight["err"][-round(seconds / flight["dt"]):])


def _plot(flights: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6), layout="constrained")
    styles = {"PD reflex": ":", "PID": "--", BUS: "-", TAXI: "-"}
    for name, flight in flights.items():
        ax.plot(flight["t"], 1000 * flight["dz"], styles[name], label=name)
    ax.axvline(PAYLOAD_AT_S, color="grey", lw=0.8)
    ax.text(PAYLOAD_AT_S, ax.get_ylim()[0], " +30% payload", va="bottom", color="grey")
    ax.set(xlabel="time (s)", ylabel="height above target (mm)",
           title="Micro quadrotor: hover, then a payload")
    ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def demo(
    seconds: Annotated[float, typer.Option(min=3.0, help="Flight length (s).")] = 15.0,
    seed: Annotated[int, typer.Option(min=0, help="Seed of env and agent.")] = 0,
    out_dir: Annotated[Path, typer.Option(help="Where the plot (and video) go.")] = Path(
        "demo_out"),
    profiles: Annotated[str, typer.Option(
        help="Neuromorphic hardware profiles, comma-separated: one energy line each."
    )] = "loihi,neurofit-analog",
    video: Annotated[bool, typer.Option(help="Render the NeuroFit flight to MP4 (EGL).")] = True,
    fps: Annotated[float, typer.Option(min=1.0, help="Video frames per second.")] = VIDEO_FPS,
) -> None:
    """Hover, payload, adaptation: PD vs PID vs NeuroFit, and what the spiking brain costs."""
    import numpy as np
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    import neurofit.envs  # noqa: F401  (registers the env ids)
    from neurofit.envs.tracking import rms_tracking_error_mm

    names = _spiking_profiles(profiles)  # before flying: a typo costs no flight
    console = Console()
    flight_dir = out_dir / "flight"
    if flight_dir.exists():  # the demo's own output of a previous run
        shutil.rmtree(flight_dir)
    console.print(f"[bold]NeuroFit demo[/] — {ENV_ID}: micro quadrotor, +30% payload at "
                  f"t = {PAYLOAD_AT_S:g} s, {seconds:g} s of flight, seed {seed}")
    flights: dict[str, dict[str, Any]] = {}
    with Progress(console=console, transient=True) as progress:
        for name, kind in (("PD reflex", "pd"), ("PID", "pid"), (BUS, "neurofit"),
                           (TAXI, "taxi")):
            task = progress.add_task(f"flying {name}", total=round(seconds * 100))
            flights[name] = _fly(kind, seconds, seed, lambda t=task: progress.advance(t),
                                 record_to=flight_dir if kind == "taxi" else None)

    table = Table(title="Tracking error: true distance from the drone to its target, mm")
    for col in ("controller", f"RMS tracking error (mm), t < {PAYLOAD_AT_S:g} s",
                "worst sag (mm)", f"RMS tracking error (mm), last {LAST_S:g} s",
                "rotor power (W)"):
        table.add_column(col, justify="left" if col == "controller" else "right")
    for name, f in flights.items():
        before = f["t"] < PAYLOAD_AT_S
        table.add_row(
            name, f"{rms_tracking_error_mm(f['err'][before]):.2f}",
            f"{1000 * max(0.0, -f['dz'].min()):.1f}",
            f"{_last_rms_mm(f):.2f}",
            f"{np.mean(f['power']):.2f}")
    console.print(table)
    pd_rms, nf_rms = (_last_rms_mm(flights[name]) for name in ("PD reflex", TAXI))
    console.print(f"NeuroFit (taxi) removes [bold]{100 * (1 - nf_rms / pd_rms):.2f}%[/] of the "
                  f"RMS tracking error the reflex leaves over the last {LAST_S:g} s, learning "
                  "online from the error alone.")

    from neurofit.agents.energy_report import energy_line

    for flight in (BUS, TAXI):
        console.print(f"[bold]{flight}[/]")
        for name in names:
            console.print(energy_line(flights[flight]["agent"], flights[flight]["power"],
                                      profile=name))
    console.print(_taxi_line(flights))
    out_dir.mkdir(parents=True, exist_ok=True)
    plot = out_dir / "demo_flight.png"
    _plot(flights, plot)
    console.print(f"comparison plot: {plot}")
    bill = out_dir / "demo_energy.png"
    _plot_bill(flights, names, bill)
    console.print(f"operations and energy per tick, bus vs taxi: {bill}")
    _media(flight_dir, out_dir, video, fps, console, flights[TAXI]["band_m"])


def _ops(counts: Any, *, effective: bool) -> Any:
    """Operations per tick: neuron updates (dense or effective) + synaptic events + writes."""
    return counts[:, 4 if effective else 0] + counts[:, 2] + counts[:, 3]


def _taxi_line(flights: dict[str, dict[str, Any]]) -> str:
    """One line: the taxi's operations as a fraction of the bus's, whole flight and last 5 s."""
    bus, taxi = flights[BUS], flights[TAXI]
    last = round(LAST_S / taxi["dt"])
    b, x = _ops(bus["counts"], effective=False), _ops(taxi["counts"], effective=True)
    return (f"taxi / bus operations: {x.sum() / b.sum():.3f} of the flight, "
            f"{x[-last:].sum() / b[-last:].sum():.4f} over the last {LAST_S:g} s "
            f"(events {int(taxi['counts'][-last:, 1].sum())}, weight writes "
            f"{int(taxi['counts'][-last:, 3].sum())} in those {LAST_S:g} s)")


def _plot_bill(flights: dict[str, dict[str, Any]], profiles: list[str], path: Path) -> None:
    """Operations per tick and dynamic energy per tick over the flight, bus vs taxi."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from neurofit.neuromorphic.counters import OpCounts
    from neurofit.neuromorphic.energy import EnergyMeter

    fig, (ax_ops, ax_j) = plt.subplots(2, 1, figsize=(8, 5.4), sharex=True,
                                       layout="constrained")
    for name, effective in ((BUS, False), (TAXI, True)):
        f = flights[name]
        ax_ops.semilogy(f["t"], np.maximum(_ops(f["counts"], effective=effective), 0.5),
                        label=f"{name}: {'effective' if effective else 'dense'} updates + "
                              "synaptic events + writes", lw=0.8)
        for profile in profiles:
            meter = EnergyMeter(profile, f["dt"])
            joules = [meter.charge(OpCounts(*(int(v) for v in row))).dynamic_j
                      for row in f["counts"]]
            ax_j.semilogy(f["t"], np.maximum(np.array(joules) * 1e9, 1e-3), lw=0.8,
                          label=f"{name} on {profile} ({meter.neuron_updates_charged} "
                                "updates charged)")
    for ax in (ax_ops, ax_j):
        ax.axvline(PAYLOAD_AT_S, color="grey", lw=0.8)
        ax.legend(fontsize=7)
    ax_ops.set(ylabel="operations / tick", title="The bus and the taxi: what each tick costs")
    ax_j.set(xlabel="time (s)", ylabel="dynamic energy / tick (nJ)")
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _spiking_profiles(text: str) -> list[str]:
    """The names in ``--profiles``, each a profile that can price a spiking network."""
    from neurofit.neuromorphic.hardware import get_profile

    names = list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))
    if not names:
        raise typer.BadParameter("give at least one profile, e.g. loihi,neurofit-analog",
                                 param_hint="--profiles")
    for name in names:
        try:
            prof = get_profile(name)
        except (ValueError, OSError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--profiles") from None
        if prof.kind != "neuromorphic":
            raise typer.BadParameter(
                f"{name} is a {prof.kind} profile; the demo prices the NeuroFit (spiking) "
                "flight on neuromorphic ones (neurofit energy prices a DNN twin)",
                param_hint="--profiles")
    return names


def _media(flight_dir: Path, out_dir: Path, video: bool, fps: float, console: Any,
           band_m: float) -> None:
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
    console.print(f"video: {mp4}  (replay it: neurofit replay --run-dir {flight_dir} --check)")
    console.print(f"  a still camera; green: the target, with a rod striped every "
                  f"{1000 * band_m:g} mm beside it; orange: the payload, once attached")


def register(app: typer.Typer) -> None:
    """Add ``neurofit demo`` to the CLI."""
    app.command("demo")(demo)
