"""The spike-engine benchmark (``neurofit bench engine``): wall time of the engine on the CUBA
benchmark or a sparse network, next to Brian2.

What is measured, and what is not:

- the kernel is compiled (or loaded from numba's cache) by a first call on a throw-away
  network; that call's time is ``compile_s`` and is never part of ``wall_s``;
- each repeat builds a fresh network with the same seed (so every repeat simulates the same
  spikes: the counts are checked equal) and times only the simulation: one ``net.run(duration)``
  in ``run`` mode, or ``net.step(substeps)`` once per control tick in ``step`` mode, as a
  controller calls it;
- ``wall_s`` is the median over repeats, ``cpu_s`` the median process CPU time of the same
  region (on a shared machine the gap between them is time spent waiting for a core);
  ``ns_per_synaptic_event`` and ``ns_per_neuron_update`` divide the whole wall time by each
  count (they are not a split of the time);
- with ``--brian2-python`` Brian2's own CUBA script (:data:`BRIAN2_SCRIPT`, shipped with the
  package as ``neurofit/scripts/_bench_assets/brian2_cuba.py``) runs in that interpreter in
  the same sitting, and the ratios ``neurofit / brian2`` of the median wall times are
  reported (below 1: neurofit is faster), and of CPU times (``ratio_cpu``): Brian2's
  standalone figure is itself CPU time (``std::clock``), so under contention compare those;
- ``--execution`` times the time-stepped and/or event-driven execution of the same network
  (same spikes; ``effective_fraction`` is the share of neuron updates actually done), and
  ``--network sparse`` a network of the taxi's kind (:func:`build_sparse`): most neurons at
  rest most of the time, woken by rare input events.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from importlib import resources
from pathlib import Path
from typing import Any

from neurofit.scripts._machine import machine_info

__all__ = [
    "BRIAN2_DEVICES",
    "BRIAN2_SCRIPT",
    "SCALING_NEURONS",
    "SPARSE_INPUT_RATE_HZ",
    "brian2_cpu_s",
    "build_sparse",
    "compile_engine",
    "measure_engine",
    "run_bench",
    "run_brian2",
]

#: Network sizes of the ``--scaling`` rows (fixed mean fan-in of 80).
SCALING_NEURONS = (1000, 4000, 16000)
#: Brian2's reference script: package data (not a module: brian2 is no dependency of neurofit,
#: so it runs only in the interpreter given by ``--brian2-python``).
BRIAN2_SCRIPT = Path(str(resources.files("neurofit.scripts").joinpath(
    "_bench_assets", "brian2_cuba.py")))
BRIAN2_DEVICES = ("cpp_standalone", "runtime")


#: Input events of the ``sparse`` network: each source fires as a Poisson process of this rate.
SPARSE_INPUT_RATE_HZ = 0.2


def build_sparse(n_neurons: int = 4000, *, seed: int = 0, duration_s: float = 10.0,
                 input_rate_hz: float = SPARSE_INPUT_RATE_HZ) -> Any:
    """A network where the taxi should win: CUBA's recurrent wiring (fan-in 80, 80%
    excitatory, same weights) on the controller's neurons (rest 15 mV below threshold, so
    nothing fires unprompted), woken by ``n_neurons / 10`` spike sources firing rarely
    (``input_rate_hz`` each, fan-out 10, 30 mV): in between, most neurons are at rest.
    """
    import numpy as np

    from neurofit.neuromorphic.connectivity import FixedProbability
    from neurofit.neuromorphic.cuba import CUBA_FAN_IN, CUBA_W_EXC_V, CUBA_W_INH_V
    from neurofit.neuromorphic.network import Network
    from neurofit.neuromorphic.neurons import LIFParams

    neuron = LIFParams(tau_mem_s=0.010, tau_syn_exc_s=0.005, tau_syn_inh_s=0.005,
                       v_rest=-0.065, v_reset=-0.065, v_thresh=-0.050, refractory_s=0.002)
    rng = np.random.default_rng(seed)
    n_in = max(n_neurons // 10, 1)
    k = rng.poisson(input_rate_hz * n_in * duration_s)
    net = Network(dt_s=1e-4, seed=seed)
    net.add_spike_source("in", n_in, times_s=np.sort(rng.uniform(0, duration_s, k)),
                         indices=rng.integers(0, n_in, k))
    n_exc = round(0.8 * n_neurons)
    v_range = (neuron.v_reset, neuron.v_thresh)
    net.add_lif("exc", n_exc, neuron, v_init=v_range)
    net.add_lif("inh", n_neurons - n_exc, neuron, v_init=v_range)
    for post in ("exc", "inh"):
        net.connect("in", post, FixedProbability(min(10 / n_neurons, 1.0)), 0.03)
    rule = FixedProbability(min(CUBA_FAN_IN / n_neurons, 1.0))
    for pre, weight, channel in (("exc", CUBA_W_EXC_V, "exc"), ("inh", CUBA_W_INH_V, "inh")):
        for post in ("exc", "inh"):
            net.connect(pre, post, rule, weight, channel=channel)
    return net


def compile_engine(n_neurons: int, seed: int = 0) -> dict[str, Any]:
    """Compile (or load from numba's cache) the kernel by a first short call; return its time."""
    from neurofit.neuromorphic import _kernels
    from neurofit.neuromorphic.cuba import build_cuba

    net = build_cuba(n_neurons, seed=seed)
    net.build()
    start = time.perf_counter()
    net.run(10 * net.dt_s)
    compile_s = time.perf_counter() - start
    stats = getattr(_kernels.advance_packed, "stats", None)  # absent with NUMBA_DISABLE_JIT=1
    hits = sum(stats.cache_hits.values()) if stats is not None else 0
    return {"compile_s": compile_s, "jit_cache_hit": hits > 0}


def measure_engine(
    n_neurons: int = 4000,
    duration_s: float = 10.0,
    mode: str = "run",
    substeps: int = 10,
    repeats: int = 3,
    seed: int = 0,
    *,
    execution: str = "time-stepped",
    network: str = "cuba",
) -> dict[str, Any]:
    """Median wall time of simulating ``network`` with ``n_neurons`` for ``duration_s``.

    Call :func:`compile_engine` first, or the first repeat pays for compilation.

    Args:
        mode: ``"run"`` (one call) or ``"step"`` (one call per tick of ``substeps`` steps).
        execution: ``"time-stepped"`` or ``"event-driven"``.
        network: ``"cuba"`` or ``"sparse"`` (:func:`build_sparse`).
    """
    from neurofit.neuromorphic.cuba import build_cuba

    if mode not in ("run", "step"):
        raise ValueError(f"mode must be 'run' or 'step', got {mode!r}")
    if network not in ("cuba", "sparse"):
        raise ValueError(f"network must be 'cuba' or 'sparse', got {network!r}")
    if duration_s <= 0 or substeps < 1 or repeats < 1:
        raise ValueError(f"duration_s, substeps and repeats must be positive, got {duration_s}, "
                         f"{substeps}, {repeats}")
    walls, cpus, counts, net = [], [], None, None
    for _ in range(repeats):
        if network == "cuba":
            net = build_cuba(n_neurons, seed=seed)
        else:
            net = build_sparse(n_neurons, seed=seed, duration_s=duration_s)
        net.execution = execution
        net.build()  # connectivity is packed outside the timed region
        if mode == "run":
            start, cpu = time.perf_counter(), time.process_time()
            net.run(duration_s)
            wall = time.perf_counter() - start
        else:
            ticks = max(round(duration_s / (substeps * net.dt_s)), 1)
            step = net.step
            start, cpu = time.perf_counter(), time.process_time()
            for _ in range(ticks):
                step(substeps)
            wall = time.perf_counter() - start
        cpus.append(time.process_time() - cpu)
        walls.append(wall)
        if counts is not None and net.counts() != counts:
            raise RuntimeError("the same seed gave different operation counts between repeats")
        counts = net.counts()
    wall_s = statistics.median(walls)
    simulated_s = net.t_s
    return {
        "network": network,
        "execution": execution,
        "neurons": n_neurons,
        "synapses": net.n_synapses,
        "fixed_fan_in": True,
        "duration_s": simulated_s,
        "dt_s": net.dt_s,
        "dtype": str(net.dtype),
        "mode": mode,
        "substeps": substeps if mode == "step" else None,
        "ticks": round(net.steps / substeps) if mode == "step" else 1,
        "seed": seed,
        "repeats": repeats,
        "wall_s": wall_s,
        "wall_s_all": walls,
        "cpu_s": statistics.median(cpus),
        "cpu_s_all": cpus,
        "realtime_factor": simulated_s / wall_s,
        "spikes": counts.spikes,
        "mean_rate_hz": counts.spikes / (n_neurons * simulated_s),
        "synaptic_events": counts.synaptic_events,
        "neuron_updates": counts.neuron_updates,
        "effective_neuron_updates": counts.effective_neuron_updates,
        "effective_fraction": counts.effective_neuron_updates / max(counts.neuron_updates, 1),
        "ns_per_synaptic_event": 1e9 * wall_s / max(counts.synaptic_events, 1),
        "ns_per_neuron_update": 1e9 * wall_s / max(counts.neuron_updates, 1),
    }


def run_brian2(
    python: str | Path,
    *,
    device: str = "cpp_standalone",
    n_neurons: int = 4000,
    duration_s: float = 10.0,
    repeats: int = 3,
    script: str | Path = BRIAN2_SCRIPT,
    timeout_s: float = 3600.0,
) -> dict[str, Any]:
    """Run Brian2's CUBA script in interpreter ``python``; return its JSON object.

    The mean fan-in is fixed at 80 (``--fanin-fixed``), as :func:`build_cuba` does; at 4,000
    neurons that is Brian2's own p = 0.02.
    """
    script = Path(script)
    if not script.is_file():
        raise FileNotFoundError(f"Brian2 benchmark script not found: {script}")
    cmd = [str(python), str(script), "--device", device, "--duration-s", repr(float(duration_s)),
           "--neurons", str(n_neurons), "--repeats", str(repeats), "--fanin-fixed", "--json"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"{' '.join(cmd)} exited with {proc.returncode}:\n{tail}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.lstrip().startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(cmd)} printed no JSON object; stdout: {proc.stdout!r}")
    return json.loads(lines[-1])


def brian2_cpu_s(result: dict[str, Any]) -> float | None:
    """Brian2's median simulation CPU seconds, where its script reports them.

    cpp_standalone's ``wall_s`` is ``std::clock()`` (process CPU time) by the script's own
    account; the runtime device reports ``run_cpu_s_all`` (which includes ``before_run``).
    """
    if result.get("device") == "cpp_standalone":
        return result["wall_s"]
    cpu = result.get("run_cpu_s_all")
    return statistics.median(cpu) if cpu else None


def run_bench(
    duration_s: float = 10.0,
    mode: str = "run",
    substeps: int = 10,
    n_neurons: int = 4000,
    repeats: int = 3,
    scaling: bool = False,
    brian2_python: str | Path | None = None,
    brian2_devices: tuple[str, ...] = BRIAN2_DEVICES,
    seed: int = 0,
    log: Any = None,
    *,
    execution: str = "time-stepped",
    network: str = "cuba",
) -> tuple[dict[str, Any], list[str]]:
    """The whole benchmark as one JSON-ready dict, and the errors met (Brian2 runs).

    ``execution`` is ``"time-stepped"``, ``"event-driven"`` or ``"both"`` (a row each);
    Brian2 runs CUBA only.
    """
    say = log or (lambda msg: None)
    modes = ["run", "step"] if mode == "both" else [mode]
    executions = ["time-stepped", "event-driven"] if execution == "both" else [execution]
    if brian2_python is not None and network != "cuba":
        raise ValueError(f"Brian2's script simulates CUBA only, not network {network!r}")
    errors: list[str] = []
    say(f"compiling the kernel ({n_neurons} neurons)")
    compiled = compile_engine(n_neurons, seed)
    results = []
    for ex in executions:
        for m in modes:
            say(f"neurofit {network}, {ex}, {m} mode: {repeats} x {duration_s} s")
            results.append({**measure_engine(n_neurons, duration_s, m, substeps, repeats, seed,
                                             execution=ex, network=network),
                            **compiled})
    out: dict[str, Any] = {**results[0], "results": results}
    if scaling:
        rows = []
        for n in SCALING_NEURONS:
            say(f"scaling: neurofit {executions[0]} {modes[0]} mode, {n} neurons")
            rows.append(measure_engine(n, duration_s, modes[0], substeps, repeats, seed,
                                       execution=executions[0], network=network))
        out["scaling"] = rows
    if brian2_python is not None:
        b2: dict[str, Any] = {"python": str(brian2_python), "script": str(BRIAN2_SCRIPT),
                              "results": [], "ratio": {}, "ratio_cpu": {}}
        for device in brian2_devices:
            say(f"brian2 {device}: {repeats} x {duration_s} s ({n_neurons} neurons)")
            try:
                r = run_brian2(brian2_python, device=device, n_neurons=n_neurons,
                               duration_s=duration_s, repeats=repeats)
            except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
                errors.append(f"brian2 {device}: {exc}")
                b2["results"].append({"device": device, "error": str(exc)})
                continue
            b2["results"].append(r)
            b2_cpu = brian2_cpu_s(r)
            for res in results:
                label = res["mode"] if res["execution"] == "time-stepped" else \
                    f"{res['mode']} {res['execution']}"
                b2["ratio"][f"{label}/{device}"] = res["wall_s"] / r["wall_s"]
                if b2_cpu:
                    b2["ratio_cpu"][f"{label}/{device}"] = res["cpu_s"] / b2_cpu
        if scaling and brian2_devices:
            device = brian2_devices[0]
            for row in out["scaling"]:
                say(f"scaling: brian2 {device}, {row['neurons']} neurons")
                try:
                    r = run_brian2(brian2_python, device=device, n_neurons=row["neurons"],
                                   duration_s=duration_s, repeats=repeats)
                except (OSError, RuntimeError, ValueError, subprocess.TimeoutExpired) as exc:
                    errors.append(f"brian2 {device} at {row['neurons']} neurons: {exc}")
                    row["brian2"] = {"device": device, "error": str(exc)}
                    continue
                row["brian2"] = {"device": device, "wall_s": r["wall_s"],
                                 "mean_rate_hz": r["mean_rate_hz"], "synapses": r["synapses"],
                                 "ratio": row["wall_s"] / r["wall_s"]}
        out["brian2"] = b2
    out["machine"] = machine_info()
    return out, errors
