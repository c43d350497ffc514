"""The taxi against the bus: change-driven NeuroFit against today's rate-coded controller.

For ``hover-payload`` and ``track-disturbed`` (the tasks, seeds and windows of
:mod:`neurofit.scripts.bench.adaptation`), each seed runs three controllers on the same episode:
the PID, today's default NeuroFit (rate coding, LIF network, time-stepped: the bus) and
NeuroFit with ``coding="sigma-delta"`` on its event-driven execution (the taxi). Per tick it
keeps the operations — for the bus the dense count (every neuron every substep) + synaptic
events + weight writes, for the taxi the effective count (units advanced) + synaptic events +
weight writes — and prices both on the time-stepped ``loihi`` and event-driven
``neurofit-analog`` profiles.

Figures: RMS error of each controller in the task's window; ``episode_ops_fraction`` (taxi ops
over bus ops on the same episode); ``steady_state_ops_fraction`` (the same over the last 5 s);
energy per tick; and the taxi's law — operations per tick against how fast the position error
changes (binned), which a plot shows with the operations over time.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents import rollout
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.reflex import make_reflex
from neurofit.envs.tracking import tracking_error_m
from neurofit.neuromorphic.counters import OpCounts
from neurofit.neuromorphic.energy import EnergyMeter

__all__ = ["TASKS", "run_bench", "run_task"]

#: task → (env id, steps, RMS window, steady window (None: never settles), targets)
TASKS: dict[str, dict[str, Any]] = {
    "hover-payload": {"env_id": "neurofit/QuadHoverPayload-v0", "steps": 1500,
                      "window": slice(-500, None), "window_text": "last 5 s",
                      "steady": slice(-500, None),
                      "targets": {"steady_state_ops_fraction": 0.05,
                                  "episode_ops_fraction": 0.2}},
    "track-disturbed": {"env_id": "neurofit/QuadTrackDisturbed-v0", "steps": 2000,
                        "window": slice(1000, None), "window_text": "second half",
                        "steady": None, "targets": {"episode_ops_fraction": 0.5}},
}

#: the profiles every tick is priced on: Loihi (time-stepped) and the analog chip (event-driven)
PROFILES = ("loihi", "neurofit-analog")

#: bin edges of the position error's rate of change for the taxi's law (m/s)
LAW_BINS = np.array([0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, np.inf])


def _episode(env_id: str, steps: int, seed: int, kind: str) -> dict[str, Any]:
    """One seeded episode: errors (m), per-tick count rows (COUNT_NAMES order), error vectors."""
    env = gym.make(env_id, max_episode_steps=steps)
    try:
        agent: Any
        if kind == "pid":
            agent = rollout.ReflexAgent(make_reflex(env, integral=True))
        else:
            coding = "sigma-delta" if kind == "taxi" else "rate"
            agent = NeuroFitAgent.from_env(env, AgentConfig(coding=coding, seed=seed))
        errors: list[float] = []
        pos_err: list[np.ndarray] = []
        rows: list[np.ndarray] = []
        counts = np.zeros(5, dtype=np.int64)
        last = counts.copy()

        def on_step(s: rollout.StepResult) -> None:
            errors.append(tracking_error_m(s.info))
            pos_err.append(np.asarray(s.info["error"][:3], dtype=np.float64))
            if kind != "pid":
                agent.policy.net.counts_array(counts)
                rows.append(counts - last)
                last[:] = counts

        if kind != "pid":
            agent.policy.net.counts_array(last)
        result = rollout.run_episode(agent, env, seed, max_steps=steps, on_step=on_step)
        return {"errors": np.array(errors), "crashed": bool(result.terminated),
                "pos_err": np.array(pos_err), "dt": float(env.unwrapped.dt),
                "counts": np.array(rows) if rows else None}
    finally:
        env.close()


def _ops(counts: np.ndarray, *, dense: bool) -> np.ndarray:
    """Operations per tick: (dense or effective) neuron updates + synaptic events + writes."""
    neurons = counts[:, 0] if dense else counts[:, 4]
    return neurons + counts[:, 2] + counts[:, 3]


def _energy_per_tick(counts: np.ndarray, profile: str, dt: float) -> float:
    """Mean dynamic energy per tick (J) of ``counts`` rows on ``profile``."""
    meter = EnergyMeter(profile, dt)
    total = 0.0
    for row in counts:
        total += meter.charge(OpCounts(*(int(v) for v in row))).dynamic_j
    return total / max(len(counts), 1)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else float("nan")


def _summary(values: Sequence[float]) -> dict[str, Any]:
    arr = np.asarray(values, dtype=float)
    return {"mean": float(np.mean(arr)), "per_seed": [float(v) for v in arr]}


def _law(rate_mps: np.ndarray, counts: np.ndarray) -> list[dict[str, float]]:
    """Mean taxi operations per tick in bins of the position error's rate of change: all of
    them, and those of inference alone (units advanced + synaptic events; no weight writes)."""
    ops, inference = _ops(counts, dense=False), counts[:, 4] + counts[:, 2]
    out = []
    for lo, hi in itertools.pairwise(LAW_BINS):
        sel = (rate_mps >= lo) & (rate_mps < hi)
        if sel.any():
            out.append({"error_rate_mps_low": float(lo), "error_rate_mps_high": float(hi),
                        "ticks": int(sel.sum()), "ops_per_tick": float(ops[sel].mean()),
                        "inference_ops_per_tick": float(inference[sel].mean())})
    return out


def run_task(task: str, seeds: Sequence[int] = (0, 1, 2),
             progress: Callable[[], None] | None = None) -> dict[str, Any]:
    """The figures of the module docstring for one task; ``series`` holds seed 0's per-tick
    operations and energy (for the plot), not meant for JSON tables."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")
    spec = TASKS[task]
    rms: dict[str, list[float]] = {"pid": [], "neurofit_rate": [], "neurofit_taxi": []}
    crashes = dict.fromkeys(rms, 0)
    episode_frac, steady_frac = [], []
    energy: dict[str, list[float]] = {}
    law_rate, law_counts = [], []
    series: dict[str, np.ndarray] = {}
    for seed in seeds:
        runs = {name: _episode(spec["env_id"], spec["steps"], seed, kind)
                for name, kind in (("pid", "pid"), ("neurofit_rate", "bus"),
                                   ("neurofit_taxi", "taxi"))}
        for name, run in runs.items():
            crashes[name] += run["crashed"]
            rms[name].append(float("inf") if run["crashed"]
                             else _rms(run["errors"][spec["window"]]))
        bus_c, taxi_c = runs["neurofit_rate"]["counts"], runs["neurofit_taxi"]["counts"]
        n = min(len(bus_c), len(taxi_c))
        bus, taxi = _ops(bus_c[:n], dense=True), _ops(taxi_c[:n], dense=False)
        episode_frac.append(float(taxi.sum() / bus.sum()))
        if spec["steady"] is not None:
            steady_frac.append(float(taxi[spec["steady"]].sum() / bus[spec["steady"]].sum()))
        dt = runs["neurofit_taxi"]["dt"]
        for profile in PROFILES:
            energy.setdefault(f"bus_{profile}", []).append(_energy_per_tick(bus_c, profile, dt))
            energy.setdefault(f"taxi_{profile}", []).append(
                _energy_per_tick(taxi_c, profile, dt))
        pos = runs["neurofit_taxi"]["pos_err"]
        rate = np.r_[0.0, np.linalg.norm(np.diff(pos, axis=0), axis=1) / dt][: len(taxi_c)]
        law_rate.append(rate)
        law_counts.append(taxi_c)
        if not series:
            series = {"bus_ops": bus, "taxi_ops": taxi, "taxi_writes": taxi_c[:n, 3],
                      "taxi_events": taxi_c[:n, 1], "error_rate_mps": rate[:n], "dt": dt}
        if progress:
            progress()
    out: dict[str, Any] = {
        "task": task, "env_id": spec["env_id"], "window": spec["window_text"],
        "seeds": list(seeds),
        "rms_error_mm": {k: _summary(np.array(v) * 1e3) for k, v in rms.items()},
        "crashes": crashes,
        "episode_ops_fraction": _summary(episode_frac),
        "energy_per_tick_j": {k: _summary(v) for k, v in energy.items()},
        "taxi_law": _law(np.concatenate(law_rate), np.concatenate(law_counts)),
        "targets": spec["targets"],
    }
    taxi_rms = out["rms_error_mm"]["neurofit_taxi"]["mean"]
    met = {"rms_within_10pct_of_rate": taxi_rms <= 1.1 * out["rms_error_mm"]["neurofit_rate"]
           ["mean"], "episode_ops_fraction": float(np.mean(episode_frac))
           <= spec["targets"]["episode_ops_fraction"],
           "zero_crashes": crashes["neurofit_taxi"] == 0}
    if steady_frac:
        out["steady_state_ops_fraction"] = _summary(steady_frac)
        met["steady_state_ops_fraction"] = float(np.mean(steady_frac)) <= spec["targets"][
            "steady_state_ops_fraction"]
        met["taxi_le_pid"] = taxi_rms <= out["rms_error_mm"]["pid"]["mean"]
    out["met"] = met
    out["series"] = series
    return out


def run_bench(tasks: Sequence[str] = tuple(TASKS), seeds: Sequence[int] = (0, 1, 2),
              progress: Callable[[], None] | None = None) -> dict[str, Any]:
    """Every task of :data:`TASKS` (or those named)."""
    return {"tasks": [run_task(t, seeds, progress) for t in tasks]}


def plot(result: dict[str, Any], path: str) -> None:
    """Operations per tick over time (bus vs taxi) and the taxi's law, one row per task."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = result["tasks"]
    fig, axes = plt.subplots(len(tasks), 2, figsize=(11, 3.2 * len(tasks)), squeeze=False)
    for row, task in zip(axes, tasks, strict=True):
        s = task["series"]
        t = np.arange(len(s["taxi_ops"])) * s["dt"]
        row[0].semilogy(t, np.maximum(s["bus_ops"], 1), label="rate-coded (bus), dense")
        row[0].semilogy(t, np.maximum(s["taxi_ops"], 1), label="sigma-delta (taxi), effective")
        row[0].set(title=f"{task['task']}: operations per tick (seed {task['seeds'][0]})",
                   xlabel="time (s)", ylabel="ops / tick (floor 1)")
        row[0].legend(fontsize=8)
        law = task["taxi_law"]
        mid = [np.sqrt(max(b["error_rate_mps_low"], 3e-4) * min(b["error_rate_mps_high"], 3.0))
               for b in law]
        row[1].loglog(mid, [max(b["ops_per_tick"], 0.1) for b in law], "o-",
                      label="all (with weight writes)")
        row[1].loglog(mid, [max(b["inference_ops_per_tick"], 0.1) for b in law], "s-",
                      label="inference (units advanced + synaptic events)")
        row[1].legend(fontsize=8)
        row[1].set(title="the taxi's law", xlabel="|d(position error)/dt| (m/s, bin centre)",
                   ylabel="taxi ops / tick")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
