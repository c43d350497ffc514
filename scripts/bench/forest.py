"""The obstacle-flight benchmark behind ``neurofit bench forest`` (issue 14): success on unseen
maps with the teacher off, energy per inference at equal success, the ray-count crossover and
the mission figure.

Protocol (every learner the same):

- **Training**: ``train_episodes`` episodes of ``neurofit/QuadForest-v0`` with the teacher on,
  on maps ``TRAIN_SEED + k`` (never evaluated). The teacher's share of the flown correction
  (``teacher_mix``, :class:`~neurofit.agents.forest_agents.ForestReflex`) falls linearly from 1
  to 0 over the first ``dagger_fraction`` of the episodes (DAgger's schedule), then the learner
  flies alone while it still learns.
- **Evaluation**: the learner frozen, the teacher off, one episode on each of the maps
  ``0 .. n_maps - 1`` (unseen); success = reached the goal without collision
  (``info["success"]``). The teacher's own success rate is measured on the same maps (the
  reflex fed the teacher's command), and the reflex alone (no network) beside it.
- **Energy at equal success**: NeuroFit's exact per-tick counts over the evaluation flights,
  priced on every neuromorphic profile; the DNN is the smallest reflex + MLP correction
  (:class:`~neurofit.agents.forest_agents.ForestMLPAgent`, same features, teacher signal and
  training; a linear map first, then one hidden layer of growing width, each with every
  learning rate) whose success is at least NeuroFit's minus ``tolerance``, priced on every DNN
  profile; the reference DNN figure is its cheapest profile. ``ratio_vs_dnn[profile]`` = the
  DNN's dynamic J per inference on its cheapest profile / NeuroFit's on ``profile``.
  ``break_even_j_per_synaptic_event``: the energy per synaptic event at which NeuroFit on Loihi
  (every other figure Loihi's) would cost what that DNN does.
- **PPO**: Stable-Baselines3 PPO, ``MlpPolicy`` 64-64, default hyper-parameters, trained on the
  env's reward with the teacher off for ``ppo_factor ×`` NeuroFit's training env steps,
  evaluated deterministically on the same maps (skipped, with the reason, without the ``rl``
  extra or when ``ppo_factor`` is 0).
- **Mission**: each controller's compute bill (static + dynamic per tick, on its profile) on
  the micro drone (``micro-drone`` mission, the micro forest's measured rotor power) and the
  heavy drone (``delivery-drone``, rotor power of the teacher flying
  ``neurofit/QuadForestHeavy-v0``), as endurance and minutes gained or lost against the DNN
  on a Jetson-class module.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents.energy_report import ControllerMeasurement, EpisodeResult, price
from neurofit.agents.forest_agents import ForestMLPAgent, ForestNeuroFitAgent, ForestReflexAgent
from neurofit.agents.neurofit_agent import AgentConfig
from neurofit.agents.rollout import StepResult, run_episode
from neurofit.agents.usage import Usage
from neurofit.envs.missions import get_scenario
from neurofit.neuromorphic.counters import OP_NAMES
from neurofit.neuromorphic.hardware import get_profile

__all__ = ["DNN_PROFILES", "ENV_ID", "HEAVY_ENV_ID", "SNN_PROFILES", "TRAIN_SEED",
           "forest_benchmark", "forest_point", "neurofit_config", "plot_crossover"]

ENV_ID = "neurofit/QuadForest-v0"
HEAVY_ENV_ID = "neurofit/QuadForestHeavy-v0"
#: maps of training episodes: ``TRAIN_SEED + k`` (evaluation uses 0 .. n_maps - 1)
TRAIN_SEED = 100_000
SNN_PROFILES: tuple[str, ...] = ("loihi", "neurofit-analog", "spinnaker2")
DNN_PROFILES: tuple[str, ...] = ("jetson-class", "cpu-x86", "mcu-cortex-m4")
#: the mission figure's devices: Jetson-class (the DNN), Loihi and the analog chip (NeuroFit)
MISSION_DEVICES: tuple[tuple[str, str], ...] = (
    ("dnn", "jetson-class"), ("neurofit", "loihi"), ("neurofit", "neurofit-analog"))
MISSIONS: dict[str, tuple[str, str]] = {"micro": (ENV_ID, "micro-drone"),
                                        "heavy": (HEAVY_ENV_ID, "delivery-drone")}

Progress = Callable[[str], None]


def neurofit_config(**overrides: Any) -> AgentConfig:
    """The benchmark's NeuroFit: error mode, the change-driven network (``coding=
    "sigma-delta"``) with one relay unit per scan feature (``linear_inputs``, no Gaussian
    fields), learning 1 % of the teaching signal per tick. As the drone flies only the rays
    whose range changed by a quantum send events.

    Why relay units: with Gaussian fields per ray (the rate-coded LIF network, 6 neurons per
    feature, 50 outputs, lr 1e-3) the learned map is a sum of one bump function per ray and
    generalised to 38-42 % success on unseen maps (the reflex alone: 40 %); a map linear in
    the rays' proximities is what the avoidance correction needs (a linear MLP reaches
    78-84 %), and the relay network learns it from the same signal.
    """
    fields: dict[str, Any] = {"mode": "error", "execution": "event-driven",
                              "coding": "sigma-delta", "n_per_input": 0, "linear_inputs": True,
                              "learning_rate": 0.01}
    fields.update(overrides)
    return AgentConfig(**fields)


def _train(agent: Any, env: gym.Env[Any, Any], episodes: int, dagger_fraction: float) -> int:
    """The training protocol (module docstring); returns the env steps taken."""
    steps = 0
    ramp = max(dagger_fraction * episodes, 1e-9)
    for k in range(episodes):
        agent.teacher_mix = max(0.0, 1.0 - k / ramp)
        steps += run_episode(agent, env, TRAIN_SEED + k).steps
    agent.teacher_mix = 0.0
    return steps


def _evaluate(name: str, agent: Any, env: gym.Env[Any, Any], n_maps: int
              ) -> tuple[float, ControllerMeasurement]:
    """Success rate of ``agent`` (frozen) on maps ``0 .. n_maps - 1``, and its measurement
    (per-tick counts of a spiking agent, platform power) for the energy report."""
    net = getattr(getattr(agent, "policy", None), "net", None)
    rows: list[np.ndarray] = []
    episodes: list[EpisodeResult] = []
    successes = 0
    start = agent.usage()
    for seed in range(n_maps):
        prev = [net.counts_array()] if net is not None else []
        power = [0.0]

        def on_step(s: StepResult, prev: list[np.ndarray] = prev, power: list[float] = power
                    ) -> None:
            power[0] += float(s.info["power_w"])
            if prev:
                now = net.counts_array()
                rows.append(now - prev[0])
                prev[0] = now

        r = run_episode(agent, env, seed, learn=False, on_step=on_step)
        successes += bool(r.info.get("success", False))
        episodes.append(EpisodeResult(seed, r.steps, math.nan, r.episode_return,
                                      power[0] / max(r.steps, 1),
                                      r.info.get("termination_reason") == "collision"))
    used = agent.usage() - start
    if used.kind == "reflex":
        used = Usage("reflex", sum(e.steps for e in episodes))
    desc = agent.describe()
    m = ControllerMeasurement(
        name=name, kind=used.kind, control_dt_s=float(env.unwrapped.dt), episodes=episodes,
        usage=used, tick_ops=(np.asarray(rows, dtype=np.int64).reshape(-1, len(OP_NAMES))
                              if net is not None else None),
        n_neurons=int(desc.get("n_neurons", 0)), substeps=int(desc.get("substeps", 0)),
        info=desc)
    return successes / n_maps, m


def _dynamic(m: ControllerMeasurement, profile: str) -> float:
    row = price(m, profile)
    return math.inf if row is None else float(row["dynamic_j_per_inference"])


def _search_mlp(env_on: gym.Env[Any, Any], env_off: gym.Env[Any, Any], target: float, *,
                episodes: int, dagger_fraction: float, n_maps: int, widths: Sequence[int],
                learning_rates: Sequence[float], seed: int, progress: Progress | None
                ) -> tuple[dict[str, Any] | None, list[dict[str, Any]], dict[str, Any] | None]:
    """The smallest MLP (a linear map, then widths in order) whose success reaches
    ``target``: (its entry, every candidate, the best-scoring entry)."""
    tried: list[dict[str, Any]] = []
    found = best = None
    for hidden in [(), *((w,) for w in widths)]:
        for lr in learning_rates:
            agent = ForestMLPAgent(env_on, hidden=hidden, learning_rate=lr, seed=seed)
            _train(agent, env_on, episodes, dagger_fraction)
            rate, m = _evaluate("mlp", agent, env_off, n_maps)
            entry = {"hidden": list(hidden), "learning_rate": lr, "success_rate": rate,
                     "macs_per_inference": agent.inference_cost.macs,
                     "holds_score": rate >= target, "_m": m}
            tried.append(entry)
            if progress is not None:
                progress(f"mlp {list(hidden)} lr {lr:g}: success {rate:.2f}")
            if best is None or rate > best["success_rate"]:
                best = entry
            if rate >= target and (found is None or rate > found["success_rate"]):
                found = entry
        if found is not None:
            break
    return found, tried, best


def _break_even(snn: ControllerMeasurement, dnn_j: float, profile: str = "loihi"
                ) -> float | None:
    """J per synaptic event at which ``snn`` on ``profile`` (other figures kept) costs
    ``dnn_j`` per inference; None when no non-negative figure does (the rest alone costs
    more) or there are no synaptic events."""
    prof = get_profile(profile)
    row = price(snn, prof)
    if row is None:
        return None
    syn = row["synaptic_events_per_inference"] or 0.0
    if syn <= 0:
        return None
    rest = row["dynamic_j_per_inference"] - syn * float(prof.joules_per_synaptic_event)
    value = (dnn_j - rest) / syn
    return value if value >= 0 else None


def forest_point(n_rays: int, *, n_maps: int, train_episodes: int, dagger_fraction: float,
                 config: AgentConfig, mlp_widths: Sequence[int],
                 mlp_learning_rates: Sequence[float], tolerance: float,
                 env_kwargs: dict[str, Any] | None = None, progress: Progress | None = None
                 ) -> dict[str, Any]:
    """One ray count: train and evaluate NeuroFit, the teacher, the reflex alone and the
    equal-success MLP; price them (module docstring)."""
    kw = {"n_rays": n_rays, **(env_kwargs or {})}
    env_on = gym.make(ENV_ID, **kw)
    env_off = gym.make(ENV_ID, teacher=False, **kw)
    try:
        nf = ForestNeuroFitAgent(env_on, config)
        steps = _train(nf, env_on, train_episodes, dagger_fraction)
        nf_rate, nf_m = _evaluate("neurofit", nf, env_off, n_maps)
        if progress is not None:
            progress(f"{n_rays} rays: neurofit success {nf_rate:.2f} ({steps} training steps)")
        teacher_rate, teacher_m = _evaluate("teacher", ForestReflexAgent(env_on, 1.0), env_on,
                                            n_maps)
        reflex_rate, _ = _evaluate("reflex", ForestReflexAgent(env_off, 0.0), env_off, n_maps)
        target = nf_rate - tolerance
        found, tried, best = _search_mlp(
            env_on, env_off, target, episodes=train_episodes, dagger_fraction=dagger_fraction,
            n_maps=n_maps, widths=mlp_widths, learning_rates=mlp_learning_rates,
            seed=config.seed, progress=progress)
    finally:
        env_on.close()
        env_off.close()
    dnn = found or best
    assert dnn is not None  # at least the linear map was tried
    dnn_m: ControllerMeasurement = dnn["_m"]
    dnn_rows = {p: _dynamic(dnn_m, p) for p in DNN_PROFILES}
    dnn_profile = min(dnn_rows, key=lambda p: dnn_rows[p])
    dnn_j = dnn_rows[dnn_profile]
    snn_rows = {p: _dynamic(nf_m, p) for p in SNN_PROFILES}
    ratios = {p: (dnn_j / j if j > 0 else None) for p, j in snn_rows.items()}
    loihi = price(nf_m, "loihi") or {}
    for t in tried:
        del t["_m"]
    return {
        "n_rays": n_rays,
        "success_rate_neurofit": nf_rate,
        "success_rate_teacher": teacher_rate,
        "success_rate_reflex": reflex_rate,
        "neurofit_vs_teacher": nf_rate / teacher_rate if teacher_rate > 0 else None,
        "neurofit_training_env_steps": steps,
        "neurofit": {**nf.describe(), "dynamic_j_per_inference": snn_rows,
                     "spike_fraction_per_step": loihi.get("spike_fraction_per_step"),
                     "synaptic_events_per_inference": loihi.get("synaptic_events_per_inference"),
                     "neuron_updates_per_inference": loihi.get("neuron_updates_per_inference")},
        "dnn": {"hidden": dnn["hidden"], "learning_rate": dnn["learning_rate"],
                "success_rate": dnn["success_rate"], "holds_score": found is not None,
                "macs_per_inference": dnn["macs_per_inference"],
                "dynamic_j_per_inference": dnn_rows, "cheapest_profile": dnn_profile},
        "ratio_vs_dnn": ratios,
        "break_even_j_per_synaptic_event": _break_even(nf_m, dnn_j),
        "mlp_search": tried,
        "tolerance": tolerance,
        "_measurements": {"neurofit": nf_m, "dnn": dnn_m, "teacher": teacher_m},
    }


def _ppo(n_rays: int, steps: int, n_maps: int, seed: int, env_kwargs: dict[str, Any] | None
         ) -> dict[str, Any]:
    """PPO ``MlpPolicy`` 64-64 (SB3 defaults) for ``steps`` env steps, teacher off; success
    on the evaluation maps."""
    from neurofit.agents.ppo import require_rl

    try:
        sb3, _ = require_rl()
    except ImportError as exc:
        return {"success_rate": None, "skipped": str(exc)}
    kw = {"n_rays": n_rays, "teacher": False, **(env_kwargs or {})}
    train_env = gym.make(ENV_ID, **kw)
    model = sb3.PPO("MlpPolicy", train_env, seed=seed, device="cpu", verbose=0,
                    policy_kwargs={"net_arch": [64, 64]})
    model.learn(total_timesteps=steps)
    env = gym.make(ENV_ID, **kw)
    successes = 0
    try:
        for s in range(n_maps):
            obs, info = env.reset(seed=s)
            done = False
            while not done:
                action, _ = model.predict(obs, deterministic=True)
                obs, _, term, trunc, info = env.step(action)
                done = term or trunc
            successes += bool(info.get("success", False))
    finally:
        env.close()
        train_env.close()
    return {"success_rate": successes / n_maps, "env_steps": steps, "policy": "MlpPolicy 64-64"}


def _mission(point: dict[str, Any], heavy_maps: int, progress: Progress | None
             ) -> dict[str, Any]:
    """Endurance of the micro and heavy drone with each controller's full compute bill
    (static + dynamic per tick on its device), and minutes against the DNN on Jetson-class."""
    ms = point["_measurements"]
    dt = ms["neurofit"].control_dt_s
    bills: dict[str, dict[str, float]] = {}
    for who, prof in MISSION_DEVICES:
        m = ms["dnn" if who == "dnn" else "neurofit"]
        row = price(m, prof)
        assert row is not None
        bills[f"{who}@{prof}"] = {"static_w": row["static_w"], "dynamic_w": row["dynamic_w"],
                                  "compute_w": row["compute_w"]}
    out: dict[str, Any] = {"compute_bill_w": bills, "platforms": {}}
    for platform, (env_id, mission) in MISSIONS.items():
        if platform == "micro":
            platform_w = ms["teacher"].platform_power_w
        else:  # the teacher's rotor power on the heavy forest (the controllers' is the task's)
            env = gym.make(env_id)
            try:
                _, m = _evaluate("teacher", ForestReflexAgent(env, 1.0), env, heavy_maps)
            finally:
                env.close()
            platform_w = m.platform_power_w
        scen = get_scenario(mission)
        base = scen.mission(platform_w=platform_w)
        ref = base.with_compute(bills["dnn@jetson-class"]["compute_w"])
        rows = {}
        for name, bill in bills.items():
            mis = base.with_compute(bill["compute_w"])
            rows[name] = {"endurance_min": mis.endurance_min,
                          "minutes_vs_no_compute": mis.endurance_min - base.endurance_min,
                          "minutes_vs_dnn_jetson": mis.endurance_min - ref.endurance_min}
        out["platforms"][platform] = {"mission": mission, "platform_w": platform_w,
                                      "avionics_w": base.avionics_w,
                                      "endurance_no_compute_min": base.endurance_min,
                                      "controllers": rows}
        if progress is not None:
            progress(f"mission {platform}: {platform_w:.1f} W rotors")
    out["control_dt_s"] = dt
    return out


def forest_benchmark(
    *,
    n_rays: int = 256,
    sweep_rays: Sequence[int] = (),
    n_maps: int = 50,
    train_episodes: int = 100,
    dagger_fraction: float = 0.5,
    config: AgentConfig | None = None,
    mlp_widths: Sequence[int] = (1, 4, 16, 64),
    mlp_learning_rates: Sequence[float] = (0.01, 0.03),
    tolerance: float = 0.0,
    ppo_factor: float = 10.0,
    heavy_maps: int = 5,
    env_kwargs: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The whole benchmark (module docstring) as one JSON-ready dict.

    Args:
        n_rays: the ray count of the main figures.
        sweep_rays: ray counts of the crossover (``crossover``: one entry per count and
            neuromorphic profile); the main count is reused if listed.
        n_maps: unseen evaluation maps (0 .. n_maps - 1).
        train_episodes: training episodes of every learner.
        dagger_fraction: share of the training over which the teacher's mix falls to 0.
        config: NeuroFit's config (default :func:`neurofit_config`).
        mlp_widths, mlp_learning_rates: the equal-success MLP search.
        tolerance: the MLP holds the score at NeuroFit's success minus this.
        ppo_factor: PPO's env steps per NeuroFit training step (0: skip PPO).
        heavy_maps: teacher flights on the heavy forest for its rotor power.
        env_kwargs: extra env keywords (e.g. ``max_episode_steps`` for a short test).
    """
    if n_maps < 1 or train_episodes < 1:
        raise ValueError(f"n_maps and train_episodes must be >= 1, got {n_maps}, "
                         f"{train_episodes}")
    if not 0.0 <= dagger_fraction <= 1.0:
        raise ValueError(f"dagger_fraction must be in [0, 1], got {dagger_fraction!r}")
    config = config or neurofit_config()
    kw = {"n_maps": n_maps, "train_episodes": train_episodes,
          "dagger_fraction": dagger_fraction, "config": config, "mlp_widths": mlp_widths,
          "mlp_learning_rates": mlp_learning_rates, "tolerance": tolerance,
          "env_kwargs": env_kwargs, "progress": progress}
    main = forest_point(n_rays, **kw)
    points = {n_rays: main}
    for rays in sweep_rays:
        if rays not in points:
            points[rays] = forest_point(int(rays), **kw)
    if ppo_factor > 0:
        ppo = _ppo(n_rays, int(ppo_factor * main["neurofit_training_env_steps"]), n_maps,
                   config.seed, env_kwargs)
    else:
        ppo = {"success_rate": None, "skipped": "ppo_factor = 0"}
    if progress is not None:
        progress(f"ppo: {ppo}")
    mission = _mission(main, heavy_maps, progress)
    report = {k: v for k, v in main.items() if k != "_measurements"}
    report.update(
        env_id=ENV_ID, n_maps=n_maps, eval_maps=f"0..{n_maps - 1}",
        train_maps=f"{TRAIN_SEED}..{TRAIN_SEED + train_episodes - 1}",
        train_episodes=train_episodes, dagger_fraction=dagger_fraction,
        neurofit_config={k: v for k, v in vars(config).items() if k != "analog"},
        success_rate_ppo=ppo["success_rate"], ppo=ppo, mission=mission,
    )
    if sweep_rays:
        report["crossover"] = [
            {"rays": rays, "profile": prof, "ratio_vs_dnn": p["ratio_vs_dnn"][prof],
             "success_rate_neurofit": p["success_rate_neurofit"],
             "dnn_hidden": p["dnn"]["hidden"], "dnn_holds_score": p["dnn"]["holds_score"]}
            for rays, p in sorted(points.items()) if rays in sweep_rays
            for prof in SNN_PROFILES]
        report["crossover_rays"] = _crossings(report["crossover"])
    return report


def _crossings(crossover: list[dict[str, Any]]) -> dict[str, Any]:
    """Per profile: the ray count where ``ratio_vs_dnn`` crosses 1 (log-linear interpolation
    between the two sweep points around it), or None when it never does in the sweep."""
    out: dict[str, Any] = {}
    for prof in SNN_PROFILES:
        pts = [(c["rays"], c["ratio_vs_dnn"]) for c in crossover
               if c["profile"] == prof and c["ratio_vs_dnn"]]
        cross = None
        for (r0, v0), (r1, v1) in itertools.pairwise(pts):
            if (v0 - 1.0) * (v1 - 1.0) <= 0 and v0 != v1:
                f = (math.log(1.0) - math.log(v0)) / (math.log(v1) - math.log(v0))
                cross = float(math.exp(math.log(r0) + f * (math.log(r1) - math.log(r0))))
                break
        out[prof] = cross
    return out


def plot_crossover(report: dict[str, Any], path: Any) -> Any:
    """``ratio_vs_dnn`` against the ray count, one line per neuromorphic profile (log-log,
    the tie at 1 dashed); written to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for prof in SNN_PROFILES:
        pts = [(c["rays"], c["ratio_vs_dnn"]) for c in report["crossover"]
               if c["profile"] == prof and c["ratio_vs_dnn"]]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker="o", label=prof)
    ax.axhline(1.0, color="k", ls="--", lw=1, label="tie with the DNN")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("rays in the scan")
    ax.set_ylabel("DNN J / NeuroFit J per inference")
    ax.set_title("QuadForest: SNN/DNN energy ratio at equal success")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
