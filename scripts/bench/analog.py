"""The chip designer's tolerance, in the loop: closed-loop error against analog imperfection.

The change-driven NeuroFit controller (``coding="sigma-delta"``, event-driven) flies
``hover-payload`` and ``track-disturbed`` (tasks, seeds and windows of
:mod:`neurofit.scripts.bench.taxi`) with its learned weights stored at 2, 3, 4, 6, 8 bits or
float (stochastic rounding), each hidden unit's gain and threshold mismatched by a relative σ
(0, 0.1, 0.2, 0.3; drawn once per seed) and read noise on every weight read. Each point gives
the RMS error (mean over seeds), its ratio to the ideal chip (float, σ = 0, no read noise),
crashes, and the dynamic energy per tick on the ``neurofit-analog`` profile.

Target (issue 13): 4-bit weights at σ = 0.2 within +10 % of float on both tasks, no crash.
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
from neurofit.envs.tracking import tracking_error_m
from neurofit.neuromorphic.energy import EnergyMeter
from neurofit.scripts.bench.taxi import TASKS

__all__ = ["BITS", "READ_NOISE", "SIGMAS", "plot", "run_bench"]

BITS: tuple[int | None, ...] = (2, 3, 4, 6, 8, None)
SIGMAS = (0.0, 0.1, 0.2, 0.3)
READ_NOISE = (0.0, 0.1)
PROFILE = "neurofit-analog"


def _flight(task: str, seed: int, bits: int | None, sigma: float, read_noise: float
            ) -> tuple[float, bool, float]:
    """RMS error (m) in the task's window, crashed, dynamic J per tick on the analog chip."""
    spec = TASKS[task]
    env = gym.make(spec["env_id"], max_episode_steps=spec["steps"])
    try:
        analog = {"gain_mismatch": sigma, "threshold_mismatch": sigma, "read_noise": read_noise}
        config = AgentConfig(coding="sigma-delta", energy_profile=PROFILE, weight_bits=bits,
                             analog=analog, seed=seed)
        agent = NeuroFitAgent.from_env(env, config)
        errors: list[float] = []
        result = rollout.run_episode(agent, env, seed, max_steps=spec["steps"],
                                     on_step=lambda s: errors.append(tracking_error_m(s.info)))
        e = np.array(errors)
        meter = EnergyMeter(PROFILE, float(env.unwrapped.dt))
        joules = meter.charge_cumulative(agent.policy.counts()).dynamic_j
        rms = float(np.sqrt(np.mean(e[spec["window"]] ** 2)))
        return rms, bool(result.terminated), joules / max(len(e), 1)
    finally:
        env.close()


def run_bench(tasks: Sequence[str] = tuple(TASKS), seeds: Sequence[int] = (0, 1, 2),
              bits: Sequence[int | None] = BITS, sigmas: Sequence[float] = SIGMAS,
              read_noise: Sequence[float] = READ_NOISE,
              progress: Callable[[], None] | None = None) -> dict[str, Any]:
    """Every (task, bits, σ, read noise) point of the module docstring."""
    out: dict[str, Any] = {"profile": PROFILE, "seeds": list(seeds), "tasks": {}}
    for task in tasks:
        points = []
        for b, s, r in itertools.product(bits, sigmas, read_noise):
            runs = [_flight(task, seed, b, s, r) for seed in seeds]
            if progress:
                progress()
            crashed = sum(c for _, c, _ in runs)
            points.append({"bits": b, "sigma": s, "read_noise": r,
                           "rms_error_mm": float(np.mean([x for x, _, _ in runs])) * 1e3,
                           "crashes": int(crashed),
                           "energy_per_tick_j": float(np.mean([j for _, _, j in runs]))})
        ideal = next(p for p in points if p["bits"] is None and p["sigma"] == 0.0
                     and p["read_noise"] == 0.0)
        for p in points:
            p["ratio_to_float"] = p["rms_error_mm"] / ideal["rms_error_mm"]
        target = next((p for p in points if p["bits"] == 4 and p["sigma"] == 0.2
                       and p["read_noise"] == 0.0), None)
        out["tasks"][task] = {
            "env_id": TASKS[task]["env_id"], "window": TASKS[task]["window_text"],
            "points": points, "float_rms_error_mm": ideal["rms_error_mm"],
            "crashes": int(sum(p["crashes"] for p in points)),
            "target_4bit_sigma02": None if target is None else {
                "ratio_to_float": target["ratio_to_float"],
                "met": target["ratio_to_float"] <= 1.1 and target["crashes"] == 0},
        }
    return out


def plot(result: dict[str, Any], path: str) -> None:
    """One heat map per (task, read noise): RMS error / ideal float, bits × σ."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = result["tasks"]
    noises = sorted({p["read_noise"] for t in tasks.values() for p in t["points"]})
    fig, axes = plt.subplots(len(tasks), len(noises), figsize=(4.6 * len(noises),
                                                                3.4 * len(tasks)),
                             squeeze=False, layout="constrained")
    for row, (task, t) in zip(axes, tasks.items(), strict=True):
        bits = list(dict.fromkeys(p["bits"] for p in t["points"]))
        sigmas = sorted({p["sigma"] for p in t["points"]})
        for ax, noise in zip(row, noises, strict=True):
            grid = np.full((len(bits), len(sigmas)), np.nan)
            for p in t["points"]:
                if p["read_noise"] == noise:
                    grid[bits.index(p["bits"]), sigmas.index(p["sigma"])] = p["ratio_to_float"]
            im = ax.imshow(np.log2(grid), cmap="RdYlGn_r", vmin=-1, vmax=3, aspect="auto")
            for i, j in itertools.product(range(len(bits)), range(len(sigmas))):
                ax.text(j, i, f"{grid[i, j]:.2f}", ha="center", va="center", fontsize=7)
            ax.set_xticks(range(len(sigmas)), [f"{s:g}" for s in sigmas])
            ax.set_yticks(range(len(bits)), ["float" if b is None else f"{b}-bit" for b in bits])
            ax.set(xlabel="gain / threshold mismatch σ",
                   title=f"{task}, read noise {noise:g}\nRMS / ideal float "
                         f"({t['float_rms_error_mm']:.3g} mm)")
        fig.colorbar(im, ax=row[-1], label="log2(RMS / float)")
    fig.savefig(path, dpi=110)
    plt.close(fig)
