"""The energy report: what a controller's compute costs on each hardware profile, next to its
task score, and what that does to a mission's endurance.

Three steps, each usable alone:

1. :func:`measure_controller` flies seeded episodes and keeps, per controller, the task score
   (RMS position error over the last half of each episode, return, crashes), the platform's
   electrical power (mean ``info["power_w"]``) and the exact operations the controller
   performed — per-tick :class:`~neurofit.neuromorphic.counters.OpCounts` of a spiking network,
   or :class:`~neurofit.neuromorphic.energy.DnnCost` of a dense one (forward passes and, for
   an MLP that learns online, its SGD steps).
2. :func:`energy_table` prices every measured controller on every profile of its kind (a
   spiking network on neuromorphic profiles, an MLP on DNN profiles; a reflex or PID runs on
   the flight MCU, whose power the mission's avionics already hold) and turns compute power
   into endurance with a :class:`~neurofit.envs.missions.Mission`.
3. :func:`energy_report` adds the task scores, the SNN/DNN ratio at those scores and the
   spike activity beside it (a spiking network wins only while its activity is sparse).

The honest-comparison search behind ``neurofit bench energy`` is here too:
:func:`smallest_neurofit` (fewest neurons and substeps that keep NeuroFit's score) and
:func:`smallest_matching_mlp` (the smallest MLP, in the same reflex + learned-correction
architecture, that reaches it). :func:`energy_line` prints one line for a flight just shown.

Definitions used throughout (also in every report's ``definitions``):

- *inference* = one control tick of the controller: encode, network, decode — and, for a
  controller that learns online, that tick's learning (NeuroFit's weight updates, the MLP's
  SGD step). ``inference_only_dynamic_j_per_inference`` leaves learning out.
- *spike rate* per neuron in Hz of flight time, ``spikes / (neurons × ticks × control_dt_s)``,
  and *spike fraction* per step, ``spikes / neuron updates`` — the share of neurons that fire
  in one network step, the figure to hold against the ~5–6 % break-even of arXiv 2409.08290.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import gymnasium as gym
import numpy as np

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents.baselines import PIDAgent
from neurofit.agents.mlp_feedback import FeedbackMLPAgent, mlp_learning_cost
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.envs.missions import Mission, get_scenario
from neurofit.neuromorphic.counters import OP_NAMES, OpCounts
from neurofit.neuromorphic.energy import (
    DnnCost,
    EnergyMeter,
    inference_energy_j,
    mlp_inference_cost,
)
from neurofit.neuromorphic.hardware import HardwareProfile, get_profile

__all__ = [
    "DEFAULT_PROFILES",
    "ControllerMeasurement",
    "EpisodeResult",
    "Usage",
    "compare_energy",
    "energy_line",
    "energy_report",
    "energy_table",
    "measure_controller",
    "ratio_vs_dnn",
    "smallest_matching_mlp",
    "smallest_neurofit",
    "usage_of",
]

#: Profiles of ``neurofit energy`` unless told otherwise.
DEFAULT_PROFILES: tuple[str, ...] = (
    "loihi", "neurofit-analog", "spinnaker2", "jetson-class", "cpu-x86", "mcu-cortex-m4",
)
#: The pair the SNN/DNN ratio compares (PopSAN's: a Jetson-class GPU against Loihi).
RATIO_PROFILES: tuple[str, str] = ("jetson-class", "loihi")
#: Share of each episode the task score is taken over (the last half: after adaptation).
SCORE_WINDOW = 0.5
#: Network time per control tick held fixed when substeps shrink (the default: 10 × 0.1 ms).
TICK_NETWORK_S = 1e-3
#: Profile name of the rows of controllers with no network of their own.
FLIGHT_MCU = "flight-mcu"

DEFINITIONS: dict[str, str] = {
    "inference": "one control tick: encode, network, decode, plus that tick's online learning "
                 "(NeuroFit weight updates / MLP SGD step)",
    "j_per_inference": "dynamic + static energy per control tick, J",
    "dynamic_j_per_inference": "energy of the operations of one tick (learning included), J",
    "inference_only_dynamic_j_per_inference": "dynamic energy without learning, J",
    "static_w": "the device's static (idle) power, charged every tick",
    "compute_w": "static_w + dynamic energy per tick / control_dt_s",
    "spike_rate_hz": "spikes per neuron per second of flight",
    "spike_fraction_per_step": "spikes / neuron updates: share of neurons firing per step",
    "platform_w": "mean info['power_w'] (rotor electrical power) of the measured episodes",
    "compute_pct_of_platform": "100 * compute_w / platform_w",
    "endurance_s": "battery usable J / (platform_w + avionics_w + compute_w)",
    "endurance_vs_dnn_s": "endurance minus endurance with the reference DNN row's compute_w, "
                          "same platform power (the compute's effect alone)",
    "rms_error_m": "RMS of the true position error over the last half of each episode, "
                   "mean over episodes",
    "ratio_vs_dnn": "dynamic J per inference of the DNN on jetson-class / NeuroFit on loihi",
}


# ---------------------------------------------------------------------------------------------
# Usage: what an agent has computed so far
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """Cumulative operations of a controller (subtract two to get a flight's).

    Attributes:
        kind: ``"snn"`` (spiking network), ``"dnn"`` (dense network) or ``"reflex"`` (no
            network: a PD/PID law on the flight MCU).
        ticks: control ticks (inferences).
        ops: spiking-network operations.
        inference: DNN forward-pass operations.
        learning: DNN learning (SGD) operations.
    """

    kind: str
    ticks: int = 0
    ops: OpCounts = field(default_factory=OpCounts)
    inference: DnnCost = field(default_factory=DnnCost)
    learning: DnnCost = field(default_factory=DnnCost)

    def __sub__(self, other: Usage) -> Usage:
        if other.kind != self.kind:
            raise ValueError(f"cannot subtract a {other.kind} usage from a {self.kind} one")
        return Usage(
            self.kind, self.ticks - other.ticks, self.ops - other.ops,
            DnnCost(*(a - b for a, b in zip(_cost_tuple(self.inference),
                                            _cost_tuple(other.inference), strict=True))),
            DnnCost(*(a - b for a, b in zip(_cost_tuple(self.learning),
                                            _cost_tuple(other.learning), strict=True))),
        )


def _cost_tuple(c: DnnCost) -> tuple[int, int, int, int]:
    return (c.macs, c.activations, c.memory_reads, c.memory_writes)


def usage_of(agent: Any) -> Usage:
    """The operations ``agent`` has performed since it was built.

    Knows :class:`~neurofit.agents.neurofit_agent.NeuroFitAgent` (exact kernel counters),
    :class:`~neurofit.agents.mlp_feedback.FeedbackMLPAgent` (forward + SGD), a fixed-MLP agent
    (an ``mlp`` with ``count_ops()`` and ``ticks``) and anything else as a reflex.
    """
    if isinstance(agent, NeuroFitAgent):
        return Usage("snn", agent.ticks, agent.policy.net.counts())
    if isinstance(agent, FeedbackMLPAgent):
        return Usage("dnn", agent.ticks, inference=agent.inference_cost * agent.ticks,
                     learning=agent.learning_cost * agent.learning_steps)
    mlp = getattr(agent, "mlp", None)
    if mlp is not None and hasattr(mlp, "count_ops"):
        ticks = int(getattr(agent, "ticks", 0))
        return Usage("dnn", ticks, inference=mlp.count_ops() * ticks)
    return Usage("reflex", int(getattr(agent, "ticks", 0)))


def _describe(agent: Any) -> dict[str, Any]:
    if isinstance(agent, NeuroFitAgent):
        cfg = agent.config
        return {"n_neurons": agent.n_neurons, "substeps": cfg.substeps, "dt_s": cfg.dt_s,
                "n_per_input": cfg.n_per_input, "n_output_neurons": cfg.n_output_neurons,
                "n_synapses": int(agent.policy.net.n_synapses),
                "text": f"{agent.n_neurons} LIF ({cfg.n_per_input}/input + "
                        f"{cfg.n_output_neurons} out), {cfg.substeps} x {cfg.dt_s * 1e3:g} ms"}
    if isinstance(agent, FeedbackMLPAgent):
        return {"layer_sizes": list(agent.layer_sizes), "learning_rate": agent.learning_rate,
                "n_params": int(sum(w.size + b.size for w, b in
                                    zip(agent.weights, agent.biases, strict=True))),
                "text": "MLP " + "-".join(map(str, agent.layer_sizes)) + " + SGD online"}
    mlp = getattr(agent, "mlp", None)
    if mlp is not None and hasattr(mlp, "layer_sizes"):
        return {"layer_sizes": list(mlp.layer_sizes),
                "text": "MLP " + "-".join(map(str, mlp.layer_sizes))}
    if isinstance(agent, PIDAgent):
        law = "PID" if agent.integral else "PD reflex"
        return {"text": f"{law} on the flight MCU"}
    return {"text": f"{type(agent).__name__} (no network)"}


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpisodeResult:
    """One measured episode."""

    seed: int
    steps: int
    rms_error_m: float
    episode_return: float
    platform_power_w: float
    crashed: bool


@dataclass
class ControllerMeasurement:
    """What :func:`measure_controller` measured for one controller.

    Attributes:
        name: label in the report (e.g. ``"neurofit"``, ``"mlp"``).
        kind: ``"snn"``, ``"dnn"`` or ``"reflex"`` (see :class:`Usage`).
        control_dt_s: control period of the env.
        episodes: per-episode results.
        usage: the operations summed over every measured tick.
        tick_ops: snn only — per-tick counts, shape ``(ticks, 4)`` in
            :data:`~neurofit.neuromorphic.counters.OP_NAMES` order.
        n_neurons: snn only — neurons of the network (for the spike rate).
        substeps: snn only — network steps per tick.
        info: a description of the controller (sizes, config).
    """

    name: str
    kind: str
    control_dt_s: float
    episodes: list[EpisodeResult]
    usage: Usage
    tick_ops: np.ndarray | None = None
    n_neurons: int = 0
    substeps: int = 0
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def ticks(self) -> int:
        return self.usage.ticks

    @property
    def rms_error_m(self) -> float:
        """Mean over episodes of the last-half RMS error (inf if any episode crashed)."""
        if any(e.crashed for e in self.episodes):
            return math.inf
        return float(np.mean([e.rms_error_m for e in self.episodes]))

    @property
    def episode_return(self) -> float:
        return float(np.mean([e.episode_return for e in self.episodes]))

    @property
    def platform_power_w(self) -> float:
        """Mean ``info["power_w"]`` over every step measured."""
        steps = np.array([e.steps for e in self.episodes], dtype=float)
        power = np.array([e.platform_power_w for e in self.episodes])
        return float(np.sum(steps * power) / np.sum(steps))

    def score(self) -> dict[str, Any]:
        return {
            "rms_error_m": self.rms_error_m,
            "rms_error_m_per_episode": [e.rms_error_m for e in self.episodes],
            "return": self.episode_return,
            "crashed": sum(e.crashed for e in self.episodes),
            "episodes": len(self.episodes),
            "steps": int(sum(e.steps for e in self.episodes)),
        }


def _true_error(info: Mapping[str, Any]) -> float:
    if "target_pos" in info and "qpos" in info:
        return float(np.linalg.norm(np.asarray(info["target_pos"]) - info["qpos"][:3]))
    if "target" in info and "ee_pos" in info:
        return float(np.linalg.norm(np.asarray(info["target"]) - info["ee_pos"]))
    err = info.get("error")
    return float(np.linalg.norm(np.asarray(err)[:3])) if err is not None else math.nan


def measure_controller(
    name: str,
    make_agent: Callable[[gym.Env[Any, Any], int], Any],
    env: gym.Env[Any, Any] | str,
    seeds: Sequence[int] = (0, 1, 2),
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    on_episode: Callable[[EpisodeResult], None] | None = None,
) -> ControllerMeasurement:
    """Fly one episode per seed with a fresh agent from ``make_agent(env, seed)``.

    Each episode starts from the same agent state (``make_agent`` builds it: untrained, or a
    loaded checkpoint), learning as the agent normally does. Per tick the controller's
    operations are read from the agent (:func:`usage_of`) — for a spiking agent one row of
    exact kernel counts per tick.

    Args:
        name: the controller's label.
        make_agent: ``(env, seed) -> agent`` with ``reset/act/observe``.
        env: an env or an id (made with ``env_kwargs``; closed afterwards).
        seeds: one episode per seed (the env's reset seed).
        on_episode: called after each episode (progress bars).
    """
    own = isinstance(env, str)
    e = gym.make(env, **dict(env_kwargs or {})) if own else env
    try:
        episodes: list[EpisodeResult] = []
        total: Usage | None = None
        ticks_rows: list[np.ndarray] = []
        info_desc: dict[str, Any] = {}
        agent = None
        for seed in seeds:
            agent = make_agent(e, int(seed))
            obs, info = e.reset(seed=int(seed))
            agent.reset()
            start = usage_of(agent)
            snn = start.kind == "snn"
            prev = start.ops
            rows: list[tuple[int, int, int, int]] = []
            errors: list[float] = []
            power = ret = 0.0
            steps = 0
            crashed = False
            while True:
                action = agent.act(obs)
                obs, reward, terminated, truncated, info = e.step(action)
                agent.observe(obs, reward, terminated, info)
                if snn:
                    now = agent.policy.net.counts()
                    d = now - prev
                    prev = now
                    rows.append((d.neuron_updates, d.spikes, d.synaptic_events,
                                 d.weight_updates))
                steps += 1
                ret += float(reward)
                power += float(info.get("power_w", math.nan))
                errors.append(_true_error(info))
                if terminated or truncated:
                    crashed = bool(terminated)
                    break
            used = usage_of(agent) - start
            if used.kind == "reflex":
                used = replace(used, ticks=steps)
            total = used if total is None else _add_usage(total, used)
            if snn:
                ticks_rows.append(np.asarray(rows, dtype=np.int64).reshape(-1, len(OP_NAMES)))
            err = np.asarray(errors)
            window = err[len(err) - max(1, round(len(err) * SCORE_WINDOW)):]
            result = EpisodeResult(int(seed), steps, float(np.sqrt(np.mean(window**2))), ret,
                                   power / steps, crashed)
            episodes.append(result)
            if on_episode is not None:
                on_episode(result)
        if agent is None or total is None:
            raise ValueError("measure_controller needs at least one seed")
        info_desc = _describe(agent)
        return ControllerMeasurement(
            name=name, kind=total.kind, control_dt_s=float(getattr(e.unwrapped, "dt", 0.01)),
            episodes=episodes, usage=total,
            tick_ops=np.concatenate(ticks_rows) if ticks_rows else None,
            n_neurons=int(info_desc.get("n_neurons", 0)),
            substeps=int(info_desc.get("substeps", 0)), info=info_desc,
        )
    finally:
        if own:
            e.close()


def _add_usage(a: Usage, b: Usage) -> Usage:
    return Usage(a.kind, a.ticks + b.ticks, a.ops + b.ops, a.inference + b.inference,
                 a.learning + b.learning)


# ---------------------------------------------------------------------------------------------
# Pricing
# ---------------------------------------------------------------------------------------------


def _profile(p: HardwareProfile | str) -> HardwareProfile:
    return p if isinstance(p, HardwareProfile) else get_profile(p)


def _mission_for(mission: Mission | str, platform_w: float) -> Mission:
    if isinstance(mission, Mission):
        return replace(mission, platform_w=platform_w, compute_w=0.0)
    return get_scenario(mission).mission(platform_w=platform_w)


def price(m: ControllerMeasurement, profile: HardwareProfile | str,
          mission: Mission | str = "micro-drone") -> dict[str, Any] | None:
    """One table row: ``m`` priced on ``profile``, or None when the kinds do not match
    (a spiking network on a DNN profile, or the reverse)."""
    prof = _profile(profile)
    ticks = max(m.ticks, 1)
    dt = m.control_dt_s
    row: dict[str, Any] = {
        "controller": m.name, "kind": m.kind, "description": m.info.get("text", ""),
        "profile": prof.name, "profile_kind": prof.kind, "estimate": prof.estimate,
        "rms_error_m": m.rms_error_m,
    }
    activity: dict[str, Any] = {
        "spike_rate_hz": None, "spike_fraction_per_step": None, "spikes_per_inference": None,
        "synaptic_events_per_inference": None, "neuron_updates_per_inference": None,
        "weight_updates_per_inference": None, "macs_per_inference": None,
        "memory_accesses_per_inference": None,
    }
    if m.kind == "snn":
        if not prof.prices_events:
            return None
        if m.tick_ops is not None and m.tick_ops.shape[0] == m.ticks:
            meter = EnergyMeter.from_counts(prof, dt, m.tick_ops)
        else:
            meter = EnergyMeter(prof, dt)
            meter.charge(m.usage.ops)
        t = meter.totals()
        dynamic = t.dynamic_j / ticks
        learning = t.learning_j / ticks
        c = m.usage.ops
        activity.update(
            spike_rate_hz=c.spikes / (max(m.n_neurons, 1) * ticks * dt),
            spike_fraction_per_step=c.spikes / c.neuron_updates if c.neuron_updates else None,
            spikes_per_inference=c.spikes / ticks,
            synaptic_events_per_inference=c.synaptic_events / ticks,
            neuron_updates_per_inference=c.neuron_updates / ticks,
            weight_updates_per_inference=c.weight_updates / ticks,
        )
        parts = {"spikes_j": t.spikes_j / ticks, "synaptic_j": t.synaptic_j / ticks,
                 "neuron_j": t.neuron_j / ticks, "learning_j": learning}
    elif m.kind == "dnn":
        if not prof.prices_dnn:
            return None
        inf_j = inference_energy_j(m.usage.inference, prof) / ticks
        learning = inference_energy_j(m.usage.learning, prof) / ticks
        dynamic = inf_j + learning
        total = m.usage.inference + m.usage.learning
        activity.update(macs_per_inference=total.ops / ticks,
                        memory_accesses_per_inference=total.memory_accesses / ticks)
        parts = {"inference_j": inf_j, "learning_j": learning}
    else:
        return None
    static_w = float(prof.static_w)
    compute_w = static_w + dynamic / dt
    platform_w = m.platform_power_w
    mis = _mission_for(mission, platform_w).with_compute(compute_w)
    row.update(
        j_per_inference=dynamic + static_w * dt,
        dynamic_j_per_inference=dynamic,
        inference_only_dynamic_j_per_inference=dynamic - learning,
        learning_j_per_inference=learning,
        static_j_per_inference=static_w * dt,
        static_w=static_w,
        dynamic_w=dynamic / dt,
        compute_w=compute_w,
        **activity,
        dynamic_parts_j=parts,
        platform_w=platform_w,
        avionics_w=mis.avionics_w,
        compute_pct_of_platform=100.0 * compute_w / platform_w if platform_w > 0 else None,
        endurance_s=mis.endurance_s,
    )
    return row


def _reflex_row(m: ControllerMeasurement, mission: Mission | str) -> dict[str, Any]:
    mis = _mission_for(mission, m.platform_power_w)
    return {
        "controller": m.name, "kind": m.kind, "description": m.info.get("text", ""),
        "profile": FLIGHT_MCU, "profile_kind": "mcu", "estimate": False,
        "rms_error_m": m.rms_error_m, "j_per_inference": 0.0, "dynamic_j_per_inference": 0.0,
        "inference_only_dynamic_j_per_inference": 0.0, "learning_j_per_inference": 0.0,
        "static_j_per_inference": 0.0, "static_w": 0.0, "dynamic_w": 0.0, "compute_w": 0.0,
        "spike_rate_hz": None, "spike_fraction_per_step": None, "spikes_per_inference": None,
        "synaptic_events_per_inference": None, "neuron_updates_per_inference": None,
        "weight_updates_per_inference": None, "macs_per_inference": None,
        "memory_accesses_per_inference": None, "dynamic_parts_j": {},
        "platform_w": m.platform_power_w, "avionics_w": mis.avionics_w,
        "compute_pct_of_platform": 0.0, "endurance_s": mis.endurance_s,
    }


def energy_table(
    measurements: Iterable[ControllerMeasurement],
    profiles: Sequence[HardwareProfile | str] = DEFAULT_PROFILES,
    mission: Mission | str = "micro-drone",
    *,
    reference_dnn: str | None = None,
) -> list[dict[str, Any]]:
    """Rows controller × profile (only the profiles of each controller's kind).

    A reflex / PID controller gets one ``flight-mcu`` row with zero compute: it runs on the
    flight controller either way (so does NeuroFit's and the MLP's reflex), inside the
    mission's avionics power. ``endurance_vs_dnn_s`` compares each row with the reference DNN
    row — controller ``reference_dnn`` (default: the first DNN) on jetson-class — at the row's
    own platform power.

    Raises:
        ValueError: an unknown profile name or a bad TOML profile.
    """
    profs = [_profile(p) for p in profiles]
    rows: list[dict[str, Any]] = []
    for m in measurements:
        if m.kind == "reflex":
            rows.append(_reflex_row(m, mission))
            continue
        for prof in profs:
            row = price(m, prof, mission)
            if row is not None:
                rows.append(row)
    ref = _reference_dnn(rows, reference_dnn)
    for row in rows:
        if ref is None:
            row["endurance_vs_dnn_s"] = None
            continue
        mis = _mission_for(mission, row["platform_w"])
        row["endurance_vs_dnn_s"] = mis.endurance_gain_s(ref["compute_w"], row["compute_w"])
    return rows


def _reference_dnn(rows: Sequence[Mapping[str, Any]],
                   name: str | None = None) -> Mapping[str, Any] | None:
    """The DNN row the others are compared with: the first DNN (named ``name``, if given) on
    jetson-class, else the first such DNN row."""
    dnn = [r for r in rows if r["kind"] == "dnn" and name in (None, r["controller"])]
    for r in dnn:
        if r["profile"] == RATIO_PROFILES[0]:
            return r
    return dnn[0] if dnn else None


def ratio_vs_dnn(rows: Sequence[Mapping[str, Any]], *, snn: str | None = None,
                 dnn: str | None = None) -> dict[str, Any] | None:
    """Dynamic J per inference of the DNN on jetson-class over the SNN on loihi.

    ``snn`` / ``dnn`` pick controllers by name (default: the first of each kind). Returns the
    ratio with inference only (learning left out) beside it, both scores, and the spike
    activity the ratio depends on; None when either row is missing.
    """
    def pick(kind: str, profile: str, name: str | None) -> Mapping[str, Any] | None:
        for r in rows:
            if r["kind"] == kind and r["profile"] == profile and name in (None, r["controller"]):
                return r
        return None

    d = pick("dnn", RATIO_PROFILES[0], dnn)
    s = pick("snn", RATIO_PROFILES[1], snn)
    if d is None or s is None or s["dynamic_j_per_inference"] <= 0:
        return None
    s_inf = s["inference_only_dynamic_j_per_inference"]
    return {
        "value": d["dynamic_j_per_inference"] / s["dynamic_j_per_inference"],
        "inference_only": (d["inference_only_dynamic_j_per_inference"] / s_inf
                           if s_inf > 0 else None),
        "dnn": {"controller": d["controller"], "profile": d["profile"],
                "dynamic_j_per_inference": d["dynamic_j_per_inference"],
                "rms_error_m": d["rms_error_m"]},
        "snn": {"controller": s["controller"], "profile": s["profile"],
                "dynamic_j_per_inference": s["dynamic_j_per_inference"],
                "rms_error_m": s["rms_error_m"],
                "spike_rate_hz": s["spike_rate_hz"],
                "spike_fraction_per_step": s["spike_fraction_per_step"],
                "dynamic_parts_j": s["dynamic_parts_j"]},
    }


def energy_report(
    measurements: Sequence[ControllerMeasurement],
    profiles: Sequence[HardwareProfile | str] = DEFAULT_PROFILES,
    mission: Mission | str = "micro-drone",
    *,
    ratio_snn: str | None = None,
    ratio_dnn: str | None = None,
) -> dict[str, Any]:
    """The whole report as one JSON-ready dict: ``rows``, ``task_score``, ``ratio_vs_dnn``
    (between ``ratio_snn`` and ``ratio_dnn``, default the first of each kind),
    ``platform_power_w``, ``controllers``, ``mission``, ``profiles`` and ``definitions``."""
    names = [m.name for m in measurements]
    if len(set(names)) != len(names):
        raise ValueError(f"controller names must be distinct, got {names}")
    profs = [_profile(p) for p in profiles]
    rows = energy_table(measurements, profs, mission, reference_dnn=ratio_dnn)
    scen = mission if isinstance(mission, Mission) else get_scenario(mission).mission()
    return {
        "rows": rows,
        "task_score": {m.name: m.score() for m in measurements},
        "ratio_vs_dnn": ratio_vs_dnn(rows, snn=ratio_snn, dnn=ratio_dnn),
        "platform_power_w": {m.name: m.platform_power_w for m in measurements},
        "controllers": {m.name: {"kind": m.kind, **m.info, "ticks": m.ticks,
                                 "control_dt_s": m.control_dt_s}
                        for m in measurements},
        "mission": {"name": scen.name, "battery_usable_j": scen.battery.usable_j,
                    "avionics_w": scen.avionics_w, "default_platform_w": scen.platform_w,
                    "default_endurance_s": scen.endurance_s},
        "profiles": {p.name: {"kind": p.kind, "estimate": p.estimate, "static_w": p.static_w}
                     for p in profs},
        "definitions": DEFINITIONS,
    }


# ---------------------------------------------------------------------------------------------
# One line for a flight just shown (neurofit demo)
# ---------------------------------------------------------------------------------------------


def _si(x: float, unit: str) -> str:
    if x == 0 or not math.isfinite(x):
        return f"{x:g} {unit}"
    for scale, prefix in ((1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {prefix}{unit}"
    return f"{x:.3g} {unit}"


def energy_line(
    agent: Any,
    platform_power_w: float | Sequence[float] | Sequence[Mapping[str, Any]],
    *,
    since: Usage | None = None,
    profile: str | HardwareProfile | None = None,
    mission: Mission | str = "micro-drone",
    control_dt_s: float | None = None,
) -> str:
    """One line: what the flight just shown cost in compute, and what it does to endurance.

    Args:
        agent: the controller that flew (NeuroFit, feedback MLP, fixed MLP, PID ...).
        platform_power_w: the flight's mean platform power, or its per-step ``power_w``
            values, or its per-step ``info`` dicts.
        since: :func:`usage_of` taken before the flight (default: everything the agent did).
        profile: hardware profile (default: the agent's ``config.energy_profile`` for
            NeuroFit, ``jetson-class`` for an MLP).
        mission: mission scenario for the endurance figure.
        control_dt_s: control period (default: the agent's, else 0.01 s).
    """
    use = usage_of(agent)
    if since is not None:
        use = use - since
    if isinstance(platform_power_w, (int, float)):
        pw = float(platform_power_w)
    else:
        vals = [v["power_w"] if isinstance(v, Mapping) else v for v in platform_power_w]
        pw = float(np.mean(vals)) if vals else math.nan
    dt = control_dt_s or getattr(getattr(agent, "meter", None), "control_dt_s", None) or \
        getattr(agent, "control_dt_s", 0.01)
    m = ControllerMeasurement(
        name="flight", kind=use.kind, control_dt_s=float(dt),
        episodes=[EpisodeResult(0, max(use.ticks, 1), math.nan, math.nan, pw, False)],
        usage=use, n_neurons=int(getattr(agent, "n_neurons", 0) or 0),
    )
    base = _mission_for(mission, pw)
    if use.kind == "reflex" or use.ticks == 0:
        return (f"energy: no network — the controller runs on the flight MCU (in the "
                f"{base.avionics_w:g} W avionics); {base.name} endurance "
                f"{base.endurance_min:.2f} min at {pw:.2f} W platform power")
    if profile is None:
        profile = agent.config.energy_profile if isinstance(agent, NeuroFitAgent) \
            else RATIO_PROFILES[0]
    row = price(m, profile, mission)
    if row is None:
        raise ValueError(f"profile {_profile(profile).name!r} cannot price a {use.kind} "
                         "controller (neuromorphic profiles price spiking networks, DNN "
                         "profiles dense ones)")
    text = (f"energy on {row['profile']}: {_si(row['dynamic_j_per_inference'], 'J')}/inference "
            f"dynamic")
    if row["learning_j_per_inference"]:
        text += f" ({_si(row['learning_j_per_inference'], 'J')} of it learning)"
    if use.kind == "snn":
        text += (f", {row['spikes_per_inference']:.1f} spikes/tick "
                 f"({100 * (row['spike_fraction_per_step'] or 0):.2f} % of neurons per step, "
                 f"{row['spike_rate_hz']:.1f} Hz)")
    text += (f"; compute {_si(row['static_w'], 'W')} static + {_si(row['dynamic_w'], 'W')} "
             f"dynamic = {row['compute_pct_of_platform']:.2f} % of {pw:.2f} W platform; "
             f"{base.name} endurance {row['endurance_s'] / 60:.2f} min "
             f"({(row['endurance_s'] - base.endurance_s) / 60:+.2f} min vs no compute)")
    return text


# ---------------------------------------------------------------------------------------------
# The honest comparison: smallest NeuroFit, smallest matching MLP
# ---------------------------------------------------------------------------------------------

Progress = Callable[[str], None]


def neurofit_factory(config: AgentConfig) -> Callable[[gym.Env[Any, Any], int], NeuroFitAgent]:
    """``(env, seed) -> NeuroFitAgent`` with ``config`` (its seed replaced by the episode's)."""
    def make(env: gym.Env[Any, Any], seed: int) -> NeuroFitAgent:
        return NeuroFitAgent.from_env(env, replace(config, seed=seed))
    return make


def mlp_factory(hidden: Sequence[int], learning_rate: float
                ) -> Callable[[gym.Env[Any, Any], int], FeedbackMLPAgent]:
    """``(env, seed) -> FeedbackMLPAgent`` with the given widths and SGD step."""
    def make(env: gym.Env[Any, Any], seed: int) -> FeedbackMLPAgent:
        return FeedbackMLPAgent.from_env(env, hidden=tuple(hidden), learning_rate=learning_rate,
                                         seed=seed)
    return make


def _loihi_dynamic(m: ControllerMeasurement) -> float:
    row = price(m, RATIO_PROFILES[1])
    return math.inf if row is None else row["dynamic_j_per_inference"]


def smallest_neurofit(
    env_id: str,
    seeds: Sequence[int],
    threshold_m: float,
    *,
    base: AgentConfig | None = None,
    n_per_input: Sequence[int] = (5, 10, 20, 50, 100),
    n_output_neurons: Sequence[int] = (10, 20, 50, 100, 200),
    substeps: Sequence[int] = (1, 2, 5, 10),
    refine_top: int = 8,
    near_miss: float = 2.0,
    learning_rate_scales: Sequence[float] = (0.5, 2.0),
    connection_p: Sequence[float] = (0.25, 1.0),
    env_kwargs: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> tuple[ControllerMeasurement | None, list[dict[str, Any]]]:
    """The NeuroFit config of least Loihi dynamic energy per inference whose RMS error stays
    within ``threshold_m``.

    Stage 1, a grid of sizes and substeps with ``base``'s learning rate and connectivity. When
    substeps shrink, the network step grows so that a tick still covers
    :data:`TICK_NETWORK_S` of network time (10 × 0.1 ms by default). Stage 2 gives the
    ``refine_top`` cheapest near misses (RMS within ``near_miss ×`` the threshold) that would
    beat the best config found a second chance: each of ``learning_rate_scales``
    (× ``base.learning_rate``) and each of ``connection_p`` (hidden → output connection
    probability), one change at a time.

    Returns:
        ``(best measurement or None, one dict per candidate)``.
    """
    base = base or AgentConfig(mode="error")
    best: ControllerMeasurement | None = None
    best_j = math.inf
    tried: list[dict[str, Any]] = []

    def run(cfg: AgentConfig, stage: int) -> None:
        nonlocal best, best_j
        label = (f"{cfg.n_per_input}/in {cfg.n_output_neurons} out {cfg.substeps} substeps"
                 f" lr {cfg.learning_rate:g} p {cfg.connection_p:g}")
        m = measure_controller(f"neurofit {label}", neurofit_factory(cfg), env_id, seeds,
                               env_kwargs=env_kwargs)
        j = _loihi_dynamic(m)
        ok = m.rms_error_m <= threshold_m
        tried.append({"n_per_input": cfg.n_per_input, "n_output_neurons": cfg.n_output_neurons,
                      "substeps": cfg.substeps, "dt_s": cfg.dt_s,
                      "learning_rate": cfg.learning_rate, "connection_p": cfg.connection_p,
                      "stage": stage, "n_neurons": m.n_neurons, "rms_error_m": m.rms_error_m,
                      "loihi_dynamic_j": j, "meets_score": ok, "_config": cfg})
        if progress is not None:
            progress(f"neurofit {label}: {m.rms_error_m * 1e3:.2f} mm {'ok' if ok else '--'}")
        if ok and j < best_j:
            best, best_j = m, j

    for k in substeps:
        for n_in in n_per_input:
            for n_out in n_output_neurons:
                run(replace(base, n_per_input=n_in, n_output_neurons=n_out, substeps=k,
                            dt_s=TICK_NETWORK_S / k), 1)
    missed = sorted((t for t in tried if not t["meets_score"] and t["loihi_dynamic_j"] < best_j
                     and t["rms_error_m"] <= near_miss * threshold_m),
                    key=lambda t: t["loihi_dynamic_j"])[:refine_top]
    for t in missed:
        cfg = t["_config"]
        variants = [replace(cfg, learning_rate=cfg.learning_rate * s)
                    for s in learning_rate_scales]
        variants += [replace(cfg, connection_p=p) for p in connection_p
                     if p != cfg.connection_p]
        for v in variants:
            run(v, 2)
    for t in tried:
        del t["_config"]
    return best, tried


def smallest_matching_mlp(
    env_id: str,
    seeds: Sequence[int],
    threshold_m: float,
    *,
    widths: Sequence[int] = (1, 2, 4, 8, 16, 32, 64),
    depths: Sequence[int] = (1, 2),
    learning_rates: Sequence[float] = (0.01, 0.02, 0.03, 0.05, 0.1),
    stop_at_first: bool = True,
    env_kwargs: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> tuple[ControllerMeasurement | None, list[dict[str, Any]]]:
    """The smallest reflex + MLP-correction agent (:class:`FeedbackMLPAgent`) whose RMS error
    is within ``threshold_m``.

    Candidates (every width × depth, hidden layers of equal width) are tried in order of
    operations per tick (forward + SGD step), each with every learning rate; the first that
    meets the score wins (``stop_at_first``), else the cheapest of all that do.

    Returns:
        ``(best measurement or None, one dict per candidate and learning rate)``.
    """
    cands = sorted({(w,) * d for w in widths for d in depths},
                   key=lambda h: _mlp_ops(h))
    best: ControllerMeasurement | None = None
    tried: list[dict[str, Any]] = []
    for hidden in cands:
        found = None
        for lr in learning_rates:
            m = measure_controller("mlp", mlp_factory(hidden, lr), env_id, seeds,
                                   env_kwargs=env_kwargs)
            ok = m.rms_error_m <= threshold_m
            tried.append({"hidden": list(hidden), "learning_rate": lr,
                          "ops_per_tick": _mlp_ops(hidden), "rms_error_m": m.rms_error_m,
                          "meets_score": ok})
            if progress is not None:
                progress(f"mlp {hidden} lr {lr:g}: {m.rms_error_m * 1e3:.2f} mm "
                         f"{'ok' if ok else '--'}")
            if ok and (found is None or m.rms_error_m < found.rms_error_m):
                found = m
        if found is not None and best is None:
            best = found  # candidates come cheapest first
            if stop_at_first:
                break
    return best, tried


def _mlp_ops(hidden: Sequence[int], n_in: int = 6, n_out: int = 3) -> int:
    """Operations per tick (forward + one SGD step) of the quadrotor's 6 → hidden → 3 MLP."""
    sizes = (n_in, *hidden, n_out)
    return mlp_inference_cost(sizes).ops + mlp_learning_cost(sizes).ops


def compare_energy(
    env_id: str = "neurofit/QuadHoverPayload-v0",
    seeds: Sequence[int] = (0, 1, 2),
    *,
    tolerance: float = 0.1,
    profiles: Sequence[HardwareProfile | str] = DEFAULT_PROFILES,
    mission: Mission | str = "micro-drone",
    base: AgentConfig | None = None,
    neurofit_grid: Mapping[str, Sequence[int]] | None = None,
    mlp_grid: Mapping[str, Sequence[Any]] | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The honest SNN/DNN comparison on one task (``neurofit bench energy``).

    1. NeuroFit with ``base`` (default :class:`AgentConfig` in error mode) sets the reference
       score; a controller *keeps the score* when its RMS error is at most
       ``(1 + tolerance) ×`` that.
    2. :func:`smallest_neurofit` over ``neurofit_grid`` (keys ``n_per_input``,
       ``n_output_neurons``, ``substeps``) finds NeuroFit's cheapest config on Loihi that keeps
       it; :func:`smallest_matching_mlp` over ``mlp_grid`` (``widths``, ``depths``,
       ``learning_rates``) the smallest reflex + MLP that does. A linear map (no hidden layer,
       the same online learning) is measured too, as a floor for the DNN side.
    3. PD (the reflex alone) and PID are measured for scale, and everything is priced by
       :func:`energy_report`, with ``ratio_vs_dnn`` between the two smallest.

    Returns:
        The :func:`energy_report` dict plus ``search`` (every candidate), ``reference_rms_m``,
        ``threshold_m``, ``tolerance``, ``seeds``, ``env_id`` and ``linear_floor``.
    """
    base = base or AgentConfig(mode="error")
    seeds = [int(s) for s in seeds]
    ekw = dict(env_kwargs or {})
    ref = measure_controller("neurofit-default", neurofit_factory(base), env_id, seeds,
                             env_kwargs=ekw)
    if progress is not None:
        progress(f"neurofit default: {ref.rms_error_m * 1e3:.2f} mm")
    if not math.isfinite(ref.rms_error_m):
        raise ValueError(f"the reference NeuroFit crashed on {env_id}: no score to match")
    threshold = ref.rms_error_m * (1.0 + tolerance)
    nf, nf_tried = smallest_neurofit(env_id, seeds, threshold, base=base, env_kwargs=ekw,
                                     progress=progress, **dict(neurofit_grid or {}))
    mlp, mlp_tried = smallest_matching_mlp(env_id, seeds, threshold, env_kwargs=ekw,
                                           progress=progress, **dict(mlp_grid or {}))
    lrs = tuple((mlp_grid or {}).get("learning_rates", (0.01, 0.02, 0.03, 0.05, 0.1)))
    linear: ControllerMeasurement | None = None
    linear_tried = []
    for lr in lrs:
        m = measure_controller("linear", mlp_factory((), lr), env_id, seeds, env_kwargs=ekw)
        linear_tried.append({"learning_rate": lr, "rms_error_m": m.rms_error_m,
                             "meets_score": m.rms_error_m <= threshold})
        if progress is not None:
            progress(f"linear lr {lr:g}: {m.rms_error_m * 1e3:.2f} mm")
        if linear is None or m.rms_error_m < linear.rms_error_m:
            linear = m
    pid = measure_controller("pid", lambda e, s: PIDAgent(e, integral=True), env_id, seeds,
                             env_kwargs=ekw)
    pd = measure_controller("pd", lambda e, s: PIDAgent(e, integral=False), env_id, seeds,
                            env_kwargs=ekw)
    measured = [ref]
    if nf is not None:
        nf.name = "neurofit-smallest"
        measured.append(nf)
    if mlp is not None:
        mlp.name = "mlp-smallest"
        measured.append(mlp)
    measured += [pid, pd]
    report = energy_report(measured, profiles, mission,
                           ratio_snn=nf.name if nf is not None else ref.name,
                           ratio_dnn=mlp.name if mlp is not None else None)
    default_ratio = ratio_vs_dnn(report["rows"], snn=ref.name,
                                 dnn=mlp.name if mlp is not None else None)
    lin_row = None
    if linear is not None:
        lin_row = price(linear, RATIO_PROFILES[0], mission)
    report.update(
        env_id=env_id, seeds=seeds, tolerance=tolerance, reference_rms_m=ref.rms_error_m,
        threshold_m=threshold, ratio_vs_dnn_default_neurofit=default_ratio,
        linear_floor={
            "rms_error_m": linear.rms_error_m if linear else None,
            "learning_rate": linear.info.get("learning_rate") if linear else None,
            "meets_score": bool(linear and linear.rms_error_m <= threshold),
            "jetson_dynamic_j_per_inference": lin_row["dynamic_j_per_inference"]
            if lin_row else None,
        },
        search={"neurofit": nf_tried, "mlp": mlp_tried, "linear": linear_tried},
    )
    return report
