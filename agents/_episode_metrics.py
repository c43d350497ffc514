"""One training or evaluation episode's metrics row: reward terms, tracking error, error
components, actuator power and the compute the agent spent (the keys are listed in
:mod:`neurofit.agents.training`'s docstring)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from neurofit.agents.rollout import StepResult
from neurofit.envs.tracking import last_fraction, rms_tracking_error_mm, tracking_error_m
from neurofit.neuromorphic.counters import OpCounts


def _finite_or_none(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


class _Totals(NamedTuple):
    counts: OpCounts  # spiking-network operations so far
    dnn: dict[str, int]  # DNN operations so far
    energy: dict[str, float]  # joules by category (agent.energy() charges one static tick)
    static_tick_j: float  # the profile's static energy per control tick


def _compute_totals(agent: Any) -> _Totals | None:
    """What the agent has computed so far, from ``agent.energy()`` (None without it)."""
    energy = getattr(agent, "energy", None)
    if energy is None:
        return None
    meter = energy()
    return _Totals(meter.counts, meter.dnn_cost.as_dict(), meter.totals()._asdict(),
                   meter.profile.static_w * meter.control_dt_s)


class _EpisodeStats:
    """Sums one episode's reward terms, errors and power; compute from the agent's counters."""

    def __init__(self, agent: Any, control_dt_s: float) -> None:
        self._agent = agent
        self._dt = control_dt_s
        self._start = _compute_totals(agent)
        self.length = 0
        self.ret = 0.0
        self.terms: dict[str, float] = {}
        self.tracking_m: list[float] = []
        self.err_comp: np.ndarray | None = None
        self.power_sum = 0.0
        self.has_power = False

    def on_step(self, step: StepResult) -> None:
        """Add one step of :func:`~neurofit.agents.rollout.run_episode` (its ``on_step``)."""
        self.add(step.reward, step.info)

    def add(self, reward: float, info: dict[str, Any]) -> None:
        self.length += 1
        self.ret += float(reward)
        for key, value in info.items():
            if key.startswith("reward_") and isinstance(value, (int, float, np.number)):
                self.terms[key] = self.terms.get(key, 0.0) + float(value)
        self.tracking_m.append(tracking_error_m(info))
        error = info.get("error")
        if error is not None:
            sq = np.square(np.asarray(error, dtype=np.float64))
            self.err_comp = sq if self.err_comp is None else self.err_comp + sq
        power = info.get("power_w")
        if power is not None:
            self.power_sum += float(power)
            self.has_power = True

    def row(self, **head: Any) -> dict[str, Any]:
        n = max(self.length, 1)
        row: dict[str, Any] = dict(head)
        row["length"] = self.length
        row["return"] = self.ret
        row.update(self.terms)
        row["rms_tracking_error_mm"] = rms_tracking_error_mm(self.tracking_m)
        row["rms_tracking_error_mm_last_half"] = rms_tracking_error_mm(
            last_fraction(self.tracking_m, 0.5))
        if self.err_comp is not None:
            for i, v in enumerate(self.err_comp):
                row[f"error_{i}_rms"] = math.sqrt(float(v) / n)
        if self.has_power:
            row["actuator_energy_j"] = self.power_sum * self._dt
            row["actuator_power_w"] = self.power_sum / n
        row.update(self._compute(n))
        return {k: _finite_or_none(v) if isinstance(v, float) else v for k, v in row.items()}

    def _compute(self, ticks: int) -> dict[str, Any]:
        end = _compute_totals(self._agent)
        if end is None or self._start is None:
            return {"spike_rate_hz": None, "ops_per_tick": None,
                    "compute_energy_per_tick_j": None, "compute_power_w": None}
        start = self._start
        counts = end.counts - start.counts
        out: dict[str, Any] = {}
        if counts.neuron_updates > 0:
            dt_s = float(getattr(getattr(self._agent, "config", None), "dt_s", math.nan))
            out["spike_rate_hz"] = counts.spikes / counts.neuron_updates / dt_s
            out["activity"] = counts.spikes / counts.neuron_updates
            ops = counts.as_dict()
        else:
            ops = {k: v - start.dnn[k] for k, v in end.dnn.items()}
            out["spike_rate_hz"] = None
        out["ops_per_tick"] = sum(ops.values()) / ticks
        for name, value in ops.items():
            out[f"{name}_per_tick"] = value / ticks
        energy = {k: v - start.energy[k] for k, v in end.energy.items()}
        energy["static_j"] = end.static_tick_j * ticks
        total = sum(energy.values())
        for name, value in energy.items():
            out[f"compute_{name}"] = value
        out["compute_energy_j"] = total
        out["compute_energy_per_tick_j"] = total / ticks
        out["compute_dynamic_per_tick_j"] = (total - energy["static_j"]) / ticks
        out["compute_power_w"] = total / ticks / self._dt
        return out


def _mean_rows(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean of every numeric key over ``rows`` (None where a row lacks it), and return_std."""
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    out: dict[str, Any] = {"episodes": len(rows)}
    skip = {"episode", "env_seed", "step", "complete", "terminated"}
    for k in keys:
        if k in skip:
            continue
        vals = [r.get(k) for r in rows]
        nums = [float(v) for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool)]
        out[k] = sum(nums) / len(nums) if nums and len(nums) == len(vals) else None
    rets = [float(r["return"]) for r in rows]
    out["return_std"] = float(np.std(rets)) if rets else None
    return out
