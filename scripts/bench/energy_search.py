"""The honest SNN/DNN comparison behind ``neurofit bench energy``: the smallest of each that
keeps the score.

- :func:`smallest_neurofit`: the fewest neurons and substeps that keep NeuroFit's score;
- :func:`smallest_matching_mlp`: the smallest MLP, in the same reflex + learned-correction
  architecture, that reaches it; that MLP is also flown as a delta network
  (:class:`~neurofit.agents.delta_mlp.DeltaFeedbackMLPAgent`) at each change threshold of
  ``mlp_grid["deltas"]``, and the cheapest that keeps the score joins the report;
- :func:`compare_energy`: both searches, measured through
  :func:`~neurofit.agents.energy_report.measure_controller` (one
  :func:`~neurofit.agents.rollout.run_episode` per seed) and priced by
  :func:`~neurofit.agents.energy_report.energy_report`, with ``ratio_vs_dnn`` of the smallest
  NeuroFit on every neuromorphic profile against the reference DNN — the cheapest DNN row
  (dense or delta, any DNN profile, per-inference cost included) that keeps the score — and
  the break-even figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from neurofit.agents.baselines import PIDAgent
from neurofit.agents.energy_report import (
    DEFAULT_PROFILES,
    RATIO_PROFILES,
    TICK_NETWORK_S,
    ControllerMeasurement,
    delta_mlp_factory,
    energy_report,
    measure_controller,
    mlp_factory,
    neurofit_factory,
    price,
    ratio_vs_dnn,
)
from neurofit.agents.mlp_feedback import mlp_learning_cost
from neurofit.agents.neurofit_agent import AgentConfig
from neurofit.envs.missions import Mission
from neurofit.neuromorphic.energy import mlp_inference_cost
from neurofit.neuromorphic.hardware import HardwareProfile

__all__ = ["DEFAULT_DELTAS", "compare_energy", "delta_twin", "smallest_matching_mlp",
           "smallest_neurofit"]

#: Change thresholds the delta twin of the smallest MLP is tried at (feature units).
DEFAULT_DELTAS: tuple[float, ...] = (0.005, 0.01, 0.02, 0.05)

#: Called with a line of progress text.
Progress = Callable[[str], None]


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
    """The NeuroFit config of least Loihi dynamic energy per inference whose RMS tracking error
    stays within ``threshold_m``.

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
    """The smallest reflex + MLP-correction agent (:class:`FeedbackMLPAgent`) whose RMS
    tracking error is within ``threshold_m``.

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


def delta_twin(
    mlp: ControllerMeasurement,
    env_id: str,
    seeds: Sequence[int],
    threshold_m: float,
    *,
    deltas: Sequence[float] = DEFAULT_DELTAS,
    profiles: Sequence[HardwareProfile | str] = DEFAULT_PROFILES,
    env_kwargs: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> tuple[ControllerMeasurement | None, list[dict[str, Any]]]:
    """The MLP of ``mlp`` (same widths, same learning rate) run as a delta network at each
    change threshold of ``deltas``: the one of least dynamic J per inference on its cheapest
    DNN profile among those that keep the score (RMS ``<= threshold_m``).

    Returns:
        ``(best measurement or None, one dict per threshold)``.
    """
    hidden = tuple(mlp.info["layer_sizes"][1:-1])
    lr = float(mlp.info["learning_rate"])
    dnn_profiles = [p for p in profiles if price(mlp, p) is not None]
    best: ControllerMeasurement | None = None
    best_j = math.inf
    tried: list[dict[str, Any]] = []
    for d in deltas:
        m = measure_controller("mlp-delta", delta_mlp_factory(hidden, lr, d), env_id, seeds,
                               env_kwargs=env_kwargs)
        rows = [price(m, p) for p in dnn_profiles]
        j = min((r["dynamic_j_per_inference"] for r in rows if r is not None), default=math.inf)
        ok = m.rms_error_m <= threshold_m
        tried.append({"hidden": list(hidden), "learning_rate": lr, "delta": d,
                      "rms_error_m": m.rms_error_m, "meets_score": ok,
                      "macs_per_inference": m.usage.inference.macs / max(m.ticks, 1),
                      "cheapest_dynamic_j": j})
        if progress is not None:
            progress(f"delta mlp {hidden} Δ {d:g}: {m.rms_error_m * 1e3:.2f} mm "
                     f"{'ok' if ok else '--'}")
        if ok and j < best_j:
            best, best_j = m, j
    return best, tried


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
       score; a controller *keeps the score* when its RMS tracking error is at most
       ``(1 + tolerance) ×`` that.
    2. :func:`smallest_neurofit` over ``neurofit_grid`` (keys ``n_per_input``,
       ``n_output_neurons``, ``substeps``) finds NeuroFit's cheapest config on Loihi that keeps
       it; :func:`smallest_matching_mlp` over ``mlp_grid`` (``widths``, ``depths``,
       ``learning_rates``) the smallest reflex + MLP that does. A linear map (no hidden layer,
       the same online learning) is measured too, as a floor for the DNN side.
       The smallest MLP is also flown as a delta network (:func:`delta_twin`, thresholds
       ``mlp_grid["deltas"]``, default :data:`DEFAULT_DELTAS`).
    3. PD (the reflex alone) and PID are measured for scale, and everything is priced by
       :func:`energy_report`, with ``ratio_vs_dnn`` of the smallest NeuroFit on every
       neuromorphic profile against the reference DNN (the cheapest DNN row, dense or delta,
       that keeps the score) and the break-even figures.

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
    mlp_kw = dict(mlp_grid or {})
    deltas = tuple(mlp_kw.pop("deltas", DEFAULT_DELTAS))
    mlp, mlp_tried = smallest_matching_mlp(env_id, seeds, threshold, env_kwargs=ekw,
                                           progress=progress, **mlp_kw)
    delta_mlp: ControllerMeasurement | None = None
    delta_tried: list[dict[str, Any]] = []
    if mlp is not None and deltas:
        delta_mlp, delta_tried = delta_twin(mlp, env_id, seeds, threshold, deltas=deltas,
                                            profiles=profiles, env_kwargs=ekw,
                                            progress=progress)
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
    if delta_mlp is not None:
        delta_mlp.name = "mlp-smallest-delta"
        measured.append(delta_mlp)
    measured += [pid, pd]
    report = energy_report(measured, profiles, mission,
                           ratio_snn=nf.name if nf is not None else ref.name,
                           score_threshold_m=threshold)
    default_ratio = ratio_vs_dnn(report["rows"], snn=ref.name, score_threshold_m=threshold)
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
        search={"neurofit": nf_tried, "mlp": mlp_tried, "mlp_delta": delta_tried,
                "linear": linear_tried},
    )
    return report
