"""The energy report: what a controller's compute costs on each hardware profile, next to its
task score, and what that does to a mission's endurance.

Three steps, each usable alone:

1. :func:`measure_controller` flies seeded episodes and keeps, per controller, the task score
   (RMS tracking error over the last half of each episode — :mod:`neurofit.envs.tracking`, the
   same definition as the training metrics; here in metres — return, crashes), the platform's
   electrical power (mean ``info["power_w"]``) and the exact operations the controller
   performed — per-tick :class:`~neurofit.neuromorphic.counters.OpCounts` of a spiking network,
   or :class:`~neurofit.neuromorphic.energy.DnnCost` of a dense one (forward passes and, for
   an MLP that learns online, its SGD steps).
2. :func:`energy_table` prices every measured controller on every profile of its kind (a
   spiking network on neuromorphic profiles, an MLP on DNN profiles; a reflex or PID runs on
   the flight MCU, whose power the mission's avionics already hold) and turns compute power
   into endurance with a :class:`~neurofit.envs.missions.Mission`.
3. :func:`energy_report` adds the task scores, the SNN/DNN ratio at those scores — on every
   neuromorphic profile, against the *reference DNN*: the cheapest DNN row (dense or delta
   network, any DNN profile, its per-inference fixed cost included) that holds the score — with
   the spike activity beside it (a spiking network wins only while its activity is sparse) and
   the break-even figures a chip designer reads: the energy per synaptic event (and, on a
   time-stepped chip, per neuron update) at which the SNN would tie the reference DNN, and be
   10× below it (:func:`break_even`).

:func:`energy_line` prints one line for a flight just shown. The honest-comparison search
behind ``neurofit bench energy`` (smallest NeuroFit, smallest matching MLP) is a benchmark:
:mod:`neurofit.scripts.bench.energy_search`.

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
from neurofit.agents.delta_mlp import DeltaFeedbackMLPAgent
from neurofit.agents.mlp_feedback import FeedbackMLPAgent
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.rollout import StepResult, run_episode
from neurofit.agents.usage import Usage
from neurofit.envs.missions import Mission, get_scenario
from neurofit.envs.tracking import last_fraction, rms_tracking_error_mm, tracking_error_m
from neurofit.neuromorphic.counters import COUNT_NAMES
from neurofit.neuromorphic.energy import (
    EnergyMeter,
    inference_energy_j,
)
from neurofit.neuromorphic.hardware import HardwareProfile, get_profile

__all__ = [
    "DEFAULT_PROFILES",
    "SCORE_TOLERANCE",
    "ControllerMeasurement",
    "EpisodeResult",
    "Usage",
    "break_even",
    "delta_mlp_factory",
    "energy_line",
    "energy_report",
    "energy_table",
    "measure_controller",
    "mlp_factory",
    "neurofit_factory",
    "price",
    "ratio_vs_dnn",
    "reference_dnn_row",
    "usage_of",
]

#: Profiles of ``neurofit energy`` unless told otherwise.
DEFAULT_PROFILES: tuple[str, ...] = (
    "loihi", "neurofit-analog", "spinnaker2", "jetson-class", "cpu-x86", "mcu-cortex-m4",
)
#: The pair the SNN/DNN ratio used to compare (PopSAN's: a Jetson-class GPU against Loihi);
#: ``RATIO_PROFILES[1]`` is still the headline SNN profile of ``ratio_vs_dnn``. The DNN side is
#: now the reference DNN row (:func:`reference_dnn_row`).
RATIO_PROFILES: tuple[str, str] = ("jetson-class", "loihi")
#: A controller holds the score when its RMS error is at most ``(1 + SCORE_TOLERANCE) ×`` the
#: SNN's (the rule of ``neurofit bench energy``, whose ``--tolerance`` defaults to this).
SCORE_TOLERANCE = 0.1
#: The energy ratios the break-even figures are given for: tie, and the SNN 10× below.
BREAK_EVEN_FACTORS: dict[str, float] = {"tie": 1.0, "10x": 10.0}
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
    "dynamic_j_per_inference": "energy of the operations of one tick (learning included, and "
                               "on a DNN profile its fixed cost per inference call), J",
    "overhead_j_per_inference": "DNN profiles: the fixed cost of one inference call (wake-up, "
                                "kernel launch; the profile's joules_per_inference), J",
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
    "rms_error_m": "RMS tracking error (info['tracking_error_m']: distance from the target "
                   "position to the controlled point) over the last half of each episode, in "
                   "metres (tables show mm), mean over episodes",
    "ratio_vs_dnn": "dynamic J per inference of the reference DNN / the SNN's on a neuromorphic "
                    "profile (by_profile: on each; value: on loihi, or the first)",
    "reference_dnn": "the cheapest DNN row (dynamic J per inference; dense or delta network, any "
                     "DNN profile, per-inference fixed cost included) that holds the score: RMS "
                     "<= score_threshold_m = (1 + tolerance) x the SNN's RMS (neurofit bench "
                     "energy: x the default NeuroFit's)",
    "break_even_j_per_synaptic_event": "the energy per synaptic event (the profile's other "
                                       "figures fixed) at which the SNN's dynamic J per "
                                       "inference would equal the reference DNN's (tie) or be "
                                       "10x below it (10x); None: not reachable by this figure "
                                       "alone (the rest of the SNN's bill already exceeds it)",
    "break_even_j_per_neuron_update": "time-stepped profiles: the same for the energy of every "
                                      "neuron update the profile charges (dense count, active "
                                      "and inactive alike)",
}


# ---------------------------------------------------------------------------------------------
# Usage: what an agent has computed so far
# ---------------------------------------------------------------------------------------------


def usage_of(agent: Any) -> Usage:
    """The operations ``agent`` has performed since it was built (its ``usage()``; an object
    without one — a bare feedback law — as a reflex with its ``ticks``)."""
    usage = getattr(agent, "usage", None)
    if usage is not None:
        return usage()
    return Usage("reflex", int(getattr(agent, "ticks", 0)))


def _describe(agent: Any) -> dict[str, Any]:
    describe = getattr(agent, "describe", None)
    if describe is not None:
        return describe()
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
        tick_ops: snn only — per-tick counts, shape ``(ticks, 5)`` in
            :data:`~neurofit.neuromorphic.counters.COUNT_NAMES` order (effective neuron
            updates last).
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
        """Mean over episodes of the last-half RMS tracking error in metres (inf if any
        episode crashed)."""
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
            start = usage_of(agent)
            tick_ops = _TickOps(agent) if start.kind == "snn" else None
            errors: list[float] = []
            power = 0.0

            def on_step(s: StepResult, tick_ops: _TickOps | None = tick_ops,
                        errors: list[float] = errors) -> None:
                nonlocal power
                if tick_ops is not None:
                    tick_ops.add()
                power += float(s.info.get("power_w", math.nan))
                errors.append(tracking_error_m(s.info))

            episode = run_episode(agent, e, int(seed), on_step=on_step)
            steps, ret, crashed = episode.steps, episode.episode_return, episode.terminated
            used = usage_of(agent) - start
            if used.kind == "reflex":
                used = replace(used, ticks=steps)
            total = used if total is None else _add_usage(total, used)
            if tick_ops is not None:
                ticks_rows.append(tick_ops.rows())
            rms_m = rms_tracking_error_mm(last_fraction(errors, SCORE_WINDOW)) / 1e3
            result = EpisodeResult(int(seed), steps, rms_m, ret, power / steps, crashed)
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


class _TickOps:
    """A spiking agent's operations per tick: its network's counters (one int64 array of the
    five :data:`~neurofit.neuromorphic.counters.COUNT_NAMES`, effective neuron updates
    included) read after every tick, deltas by subtraction."""

    def __init__(self, agent: Any) -> None:
        self._net = agent.policy.net
        self._prev = self._net.counts_array(np.zeros(len(COUNT_NAMES), dtype=np.int64))
        self._rows: list[np.ndarray] = []

    def add(self) -> None:
        now = self._net.counts_array(np.zeros(len(COUNT_NAMES), dtype=np.int64))
        self._rows.append(now - self._prev)
        self._prev = now

    def rows(self) -> np.ndarray:
        """One row per tick added (ticks × len(COUNT_NAMES), int64)."""
        return np.asarray(self._rows, dtype=np.int64).reshape(-1, len(COUNT_NAMES))


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
        # which neuron-update count the profile pays for (None on a DNN profile)
        "execution": prof.execution,
        "neuron_updates_charged": (None if prof.execution is None else
                                   "effective" if prof.charges_effective_updates else "dense"),
        "rms_error_m": m.rms_error_m,
    }
    activity: dict[str, Any] = {
        "spike_rate_hz": None, "spike_fraction_per_step": None, "spikes_per_inference": None,
        "synaptic_events_per_inference": None, "neuron_updates_per_inference": None,
        "effective_neuron_updates_per_inference": None,
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
            effective_neuron_updates_per_inference=(
                meter.counts.effective_neuron_updates / ticks),  # type: ignore[operator]
            weight_updates_per_inference=c.weight_updates / ticks,
        )
        parts = {"spikes_j": t.spikes_j / ticks, "synaptic_j": t.synaptic_j / ticks,
                 "neuron_j": t.neuron_j / ticks, "learning_j": learning}
    elif m.kind == "dnn":
        if not prof.prices_dnn:
            return None
        inf_j = inference_energy_j(m.usage.inference, prof) / ticks
        learning = inference_energy_j(m.usage.learning, prof) / ticks
        overhead = prof.inference_overhead_j  # one call per tick
        dynamic = inf_j + learning + overhead
        total = m.usage.inference + m.usage.learning
        activity.update(macs_per_inference=total.ops / ticks,
                        memory_accesses_per_inference=total.memory_accesses / ticks)
        parts = {"inference_j": inf_j, "learning_j": learning, "overhead_j": overhead}
    else:
        return None
    static_w = float(prof.static_w)
    compute_w = static_w + dynamic / dt
    platform_w = m.platform_power_w
    mis = _mission_for(mission, platform_w).with_compute(compute_w)
    row.update(
        j_per_inference=dynamic + static_w * dt,
        dynamic_j_per_inference=dynamic,
        overhead_j_per_inference=parts.get("overhead_j", 0.0),
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
        "execution": None, "neuron_updates_charged": None,
        "rms_error_m": m.rms_error_m, "j_per_inference": 0.0, "dynamic_j_per_inference": 0.0,
        "overhead_j_per_inference": 0.0,
        "inference_only_dynamic_j_per_inference": 0.0, "learning_j_per_inference": 0.0,
        "static_j_per_inference": 0.0, "static_w": 0.0, "dynamic_w": 0.0, "compute_w": 0.0,
        "spike_rate_hz": None, "spike_fraction_per_step": None, "spikes_per_inference": None,
        "synaptic_events_per_inference": None, "neuron_updates_per_inference": None,
        "effective_neuron_updates_per_inference": None,
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
    score_threshold_m: float | None = None,
) -> list[dict[str, Any]]:
    """Rows controller × profile (only the profiles of each controller's kind).

    A reflex / PID controller gets one ``flight-mcu`` row with zero compute: it runs on the
    flight controller either way (so does NeuroFit's and the MLP's reflex), inside the
    mission's avionics power. ``endurance_vs_dnn_s`` compares each row with the reference DNN
    row (:func:`reference_dnn_row`: the cheapest DNN row — of controller ``reference_dnn`` if
    given — whose RMS error is within ``score_threshold_m``; default ``(1 + SCORE_TOLERANCE)
    ×`` the first spiking controller's) at the row's own platform power.

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
    if score_threshold_m is None:
        score_threshold_m = _score_threshold(rows)
    ref = reference_dnn_row(rows, score_threshold_m, name=reference_dnn)
    for row in rows:
        if ref is None:
            row["endurance_vs_dnn_s"] = None
            continue
        mis = _mission_for(mission, row["platform_w"])
        row["endurance_vs_dnn_s"] = mis.endurance_gain_s(ref["compute_w"], row["compute_w"])
    return rows


def _score_threshold(rows: Sequence[Mapping[str, Any]], snn: str | None = None,
                     tolerance: float = SCORE_TOLERANCE) -> float | None:
    """``(1 + tolerance) ×`` the RMS error of the spiking controller ``snn`` (default: the
    first), or None when there is none (then every DNN row holds the score)."""
    for r in rows:
        if r["kind"] == "snn" and snn in (None, r["controller"]):
            return (1.0 + tolerance) * float(r["rms_error_m"])
    return None


def reference_dnn_row(rows: Sequence[Mapping[str, Any]], score_threshold_m: float | None,
                  *, name: str | None = None) -> Mapping[str, Any] | None:
    """The DNN row the SNN is compared with: the cheapest (least dynamic J per inference, fixed
    per-inference cost included) of every DNN row — dense or delta network, any DNN profile —
    whose RMS error is at most ``score_threshold_m`` (None: no score rule); only controller
    ``name``'s rows when given. None when no DNN row holds the score."""
    dnn = [r for r in rows if r["kind"] == "dnn" and name in (None, r["controller"])
           and (score_threshold_m is None or r["rms_error_m"] <= score_threshold_m)]
    if not dnn:
        return None
    return min(dnn, key=lambda r: (r["dynamic_j_per_inference"], r["controller"], r["profile"]))


def break_even(snn_row: Mapping[str, Any], dnn_j: float, figure: str) -> dict[str, Any] | None:
    """The energy of one ``figure`` event at which the SNN row would tie ``dnn_j`` (dynamic J
    per inference) and be 10× below it, every other figure of its profile fixed.

    The SNN's dynamic J per inference is linear in the figure, ``J = rest + n · E`` with ``n``
    events per inference; solving ``J = dnn_j / f`` gives ``E = (dnn_j / f − rest) / n`` for
    ``f`` in :data:`BREAK_EVEN_FACTORS`. A negative ``E`` means the rest of the bill alone
    already exceeds the target: not reachable by this figure (None).

    Args:
        snn_row: a row of :func:`price` on a neuromorphic profile.
        dnn_j: the reference DNN's dynamic J per inference.
        figure: ``"synaptic_event"`` (``n`` = synaptic events per inference) or
            ``"neuron_update"`` (``n`` = the neuron updates the profile charges: dense on a
            time-stepped profile, all at one price; effective on an event-driven one).

    Returns:
        ``{"tie": J or None, "10x": J or None, "events_per_inference": n, "rest_j": rest,
        "current_j": the profile's figure}``, or None when ``n`` is 0 (the SNN does no such
        event: the figure cannot move its bill).
    """
    parts = snn_row["dynamic_parts_j"]
    if figure == "synaptic_event":
        n = float(snn_row["synaptic_events_per_inference"] or 0.0)
        part = float(parts["synaptic_j"])
    elif figure == "neuron_update":
        charged = snn_row["neuron_updates_charged"]
        key = ("effective_neuron_updates_per_inference" if charged == "effective"
               else "neuron_updates_per_inference")
        n = float(snn_row.get(key) or 0.0)
        part = float(parts["neuron_j"])
    else:
        raise ValueError(f"figure must be 'synaptic_event' or 'neuron_update', got {figure!r}")
    if n <= 0:
        return None
    rest = float(snn_row["dynamic_j_per_inference"]) - part
    out: dict[str, Any] = {}
    for label, factor in BREAK_EVEN_FACTORS.items():
        e = (dnn_j / factor - rest) / n
        out[label] = e if e >= 0 else None
    out.update(events_per_inference=n, rest_j=rest, current_j=part / n)
    return out


def ratio_vs_dnn(rows: Sequence[Mapping[str, Any]], *, snn: str | None = None,
                 dnn: str | None = None, score_threshold_m: float | None = None,
                 tolerance: float = SCORE_TOLERANCE) -> dict[str, Any] | None:
    """Dynamic J per inference of the reference DNN over the SNN's, on every neuromorphic
    profile, with the break-even figures.

    ``snn`` picks the spiking controller by name (default: the first); ``dnn`` restricts the
    reference DNN to one controller's rows (default: any DNN row). The reference DNN is
    :func:`reference_dnn_row` with ``score_threshold_m`` (default ``(1 + tolerance) ×`` the SNN's
    RMS error). Returns, per neuromorphic profile (``by_profile``), the ratio, the ratio with
    inference only (learning left out on both sides), the SNN's score and spike activity and
    ``break_even_j_per_synaptic_event`` (and, time-stepped, ``break_even_j_per_neuron_update``);
    at top level the same for the headline profile (loihi, or the first) plus ``dnn`` and
    ``score_threshold_m``. None when the SNN or a DNN that holds the score is missing.
    """
    snn_rows = [r for r in rows if r["kind"] == "snn" and snn in (None, r["controller"])]
    if not snn_rows:
        return None
    name = snn_rows[0]["controller"]
    snn_rows = [r for r in snn_rows if r["controller"] == name]
    if score_threshold_m is None:
        score_threshold_m = _score_threshold(rows, name, tolerance)
    d = reference_dnn_row(rows, score_threshold_m, name=dnn)
    if d is None:
        return None
    d_j = float(d["dynamic_j_per_inference"])
    d_inf = float(d["inference_only_dynamic_j_per_inference"])
    by_profile: dict[str, dict[str, Any]] = {}
    for s in snn_rows:
        if s["dynamic_j_per_inference"] <= 0:
            continue
        s_inf = s["inference_only_dynamic_j_per_inference"]
        entry: dict[str, Any] = {
            "value": d_j / s["dynamic_j_per_inference"],
            "inference_only": d_inf / s_inf if s_inf > 0 else None,
            "snn": {"controller": s["controller"], "profile": s["profile"],
                    "execution": s["execution"],
                    "neuron_updates_charged": s["neuron_updates_charged"],
                    "dynamic_j_per_inference": s["dynamic_j_per_inference"],
                    "rms_error_m": s["rms_error_m"],
                    "spike_rate_hz": s["spike_rate_hz"],
                    "spike_fraction_per_step": s["spike_fraction_per_step"],
                    "dynamic_parts_j": s["dynamic_parts_j"]},
            "break_even_j_per_synaptic_event": break_even(s, d_j, "synaptic_event"),
        }
        if s["execution"] == "time-stepped":
            entry["break_even_j_per_neuron_update"] = break_even(s, d_j, "neuron_update")
        by_profile[s["profile"]] = entry
    if not by_profile:
        return None
    head = by_profile.get(RATIO_PROFILES[1], next(iter(by_profile.values())))
    dnn_out = {"controller": d["controller"], "profile": d["profile"],
               "description": d["description"],
               "dynamic_j_per_inference": d_j,
               "overhead_j_per_inference": d["overhead_j_per_inference"],
               "rms_error_m": d["rms_error_m"]}
    return {**head, "dnn": dnn_out, "score_threshold_m": score_threshold_m,
            "by_profile": by_profile}


def energy_report(
    measurements: Sequence[ControllerMeasurement],
    profiles: Sequence[HardwareProfile | str] = DEFAULT_PROFILES,
    mission: Mission | str = "micro-drone",
    *,
    ratio_snn: str | None = None,
    ratio_dnn: str | None = None,
    score_threshold_m: float | None = None,
) -> dict[str, Any]:
    """The whole report as one JSON-ready dict: ``rows``, ``task_score``, ``ratio_vs_dnn``
    (:func:`ratio_vs_dnn` for the spiking controller ``ratio_snn``, default the first, against
    the reference DNN — of controller ``ratio_dnn`` if given — within ``score_threshold_m``,
    default ``(1 + SCORE_TOLERANCE) ×`` that SNN's RMS error), ``platform_power_w``,
    ``controllers``, ``mission``, ``profiles`` and ``definitions``."""
    names = [m.name for m in measurements]
    if len(set(names)) != len(names):
        raise ValueError(f"controller names must be distinct, got {names}")
    profs = [_profile(p) for p in profiles]
    if score_threshold_m is None:
        snn = [m for m in measurements if m.kind == "snn" and ratio_snn in (None, m.name)]
        if snn:
            score_threshold_m = (1.0 + SCORE_TOLERANCE) * snn[0].rms_error_m
    rows = energy_table(measurements, profs, mission, reference_dnn=ratio_dnn,
                        score_threshold_m=score_threshold_m)
    scen = mission if isinstance(mission, Mission) else get_scenario(mission).mission()
    return {
        "rows": rows,
        "task_score": {m.name: m.score() for m in measurements},
        "ratio_vs_dnn": ratio_vs_dnn(rows, snn=ratio_snn, dnn=ratio_dnn,
                                     score_threshold_m=score_threshold_m),
        "platform_power_w": {m.name: m.platform_power_w for m in measurements},
        "controllers": {m.name: {"kind": m.kind, **m.info, "ticks": m.ticks,
                                 "control_dt_s": m.control_dt_s}
                        for m in measurements},
        "mission": {"name": scen.name, "battery_usable_j": scen.battery.usable_j,
                    "avionics_w": scen.avionics_w, "default_platform_w": scen.platform_w,
                    "default_endurance_s": scen.endurance_s},
        "profiles": {p.name: {"kind": p.kind, "estimate": p.estimate, "static_w": p.static_w,
                              "execution": p.execution,
                              "joules_per_inference": p.joules_per_inference}
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
# Agent factories for measure_controller
# ---------------------------------------------------------------------------------------------


def neurofit_factory(config: AgentConfig) -> Callable[[gym.Env[Any, Any], int], NeuroFitAgent]:
    """``(env, seed) -> NeuroFitAgent`` with ``config`` (its seed replaced by the episode's)."""
    def make(env: gym.Env[Any, Any], seed: int) -> NeuroFitAgent:
        return NeuroFitAgent.from_env(env, replace(config, seed=seed))
    return make


def mlp_factory(hidden: Sequence[int], learning_rate: float, learn_deadband: float = 0.0
                ) -> Callable[[gym.Env[Any, Any], int], FeedbackMLPAgent]:
    """``(env, seed) -> FeedbackMLPAgent`` with the given widths, SGD step and learning gate
    (give it the spiking controller's ``learn_deadband``: the same gating on both sides)."""
    def make(env: gym.Env[Any, Any], seed: int) -> FeedbackMLPAgent:
        return FeedbackMLPAgent.from_env(env, hidden=tuple(hidden), learning_rate=learning_rate,
                                         learn_deadband=learn_deadband, seed=seed)
    return make


def delta_mlp_factory(hidden: Sequence[int], learning_rate: float, delta: float,
                      learn_deadband: float = 0.0
                      ) -> Callable[[gym.Env[Any, Any], int], DeltaFeedbackMLPAgent]:
    """``(env, seed) -> DeltaFeedbackMLPAgent``: :func:`mlp_factory`'s MLP run as a delta
    network with change threshold ``delta``."""
    def make(env: gym.Env[Any, Any], seed: int) -> DeltaFeedbackMLPAgent:
        return DeltaFeedbackMLPAgent.from_env(env, delta=delta, hidden=tuple(hidden),
                                              learning_rate=learning_rate,
                                              learn_deadband=learn_deadband, seed=seed)
    return make
