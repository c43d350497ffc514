"""``neurofit energy`` and the energy report: prices, recounts, mission arithmetic, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from neurofit.agents.baselines import make_agent
from neurofit.agents.energy_report import (
    ControllerMeasurement,
    EpisodeResult,
    Usage,
    energy_line,
    energy_report,
    measure_controller,
    price,
    usage_of,
)
from neurofit.agents.mlp_feedback import FeedbackMLPAgent, mlp_learning_cost
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.envs.missions import get_scenario
from neurofit.neuromorphic.connectivity import AllToAll, FixedProbability
from neurofit.neuromorphic.counters import OpCounts
from neurofit.neuromorphic.energy import EnergyMeter, mlp_inference_cost
from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import LIFParams
from neurofit.neuromorphic.plasticity import ThreeFactor
from neurofit.scripts.bench.energy_search import compare_energy

DT = 1e-4
QUIET = LIFParams(v_rest=-0.065, v_reset=-0.065, v_thresh=-0.050)  # silent without input
TINY = AgentConfig(mode="error", n_per_input=5, n_output_neurons=10, substeps=2, dt_s=5e-4)


# ------------------------------------------------------------------ prices vs hand computation
def test_meter_totals_of_a_small_network_equal_hand_computation() -> None:
    # 3 sources fire 2 + 1 + 1 times at known steps; 4 LIF neurons with zero weights never fire
    net = Network(dt_s=DT, tick_steps=10)
    net.add_spike_source("src", 3, times_s=np.array([0, 5, 12, 30]) * DT,
                         indices=[0, 1, 0, 2], record=True)
    net.add_lif("post", 4, QUIET, record=True)
    net.connect("src", "post", AllToAll(), 0.0)
    ticks = 5
    meter = EnergyMeter("loihi", control_dt_s=0.01)
    for _ in range(ticks):
        net.step(10)
        meter.charge_cumulative(net.counts())
    assert net.counts() == OpCounts(neuron_updates=4 * 50, spikes=4, synaptic_events=4 * 4,
                                    weight_updates=0)
    # Loihi (Davies 2018): 81 pJ / neuron update, 3.5 pJ / spike, 23.6 pJ / synaptic event;
    # board idle 0.94 W for 5 ticks of 10 ms
    hand_dynamic = 200 * 81e-12 + 4 * 3.5e-12 + 16 * 23.6e-12
    hand_static = 0.94 * 0.01 * ticks
    t = meter.totals()
    assert t.dynamic_j == pytest.approx(hand_dynamic, rel=1e-12)
    assert t.static_j == pytest.approx(hand_static, rel=1e-12)
    # the report prices the same counts identically, per inference
    m = ControllerMeasurement(
        "snn", "snn", 0.01, [EpisodeResult(0, ticks, 0.0, 0.0, 7.0, False)],
        Usage("snn", ticks, net.counts()), n_neurons=7)
    row = price(m, "loihi")
    assert row is not None
    assert row["dynamic_j_per_inference"] == pytest.approx(hand_dynamic / ticks, rel=1e-12)
    assert row["j_per_inference"] == pytest.approx((hand_dynamic + hand_static) / ticks)
    assert row["spike_fraction_per_step"] == pytest.approx(4 / 200)
    assert row["spike_rate_hz"] == pytest.approx(4 / (7 * ticks * 0.01))
    assert row["synaptic_events_per_inference"] == pytest.approx(16 / ticks)
    assert price(m, "jetson-class") is None  # a spiking network is not priced per MAC


def test_counts_charged_equal_a_recount_from_recorded_spikes() -> None:
    """Synaptic events = Σ spikes × fan-out; weight updates ('pre' rule, modulator ≠ 0) =
    Σ over ticks of the synapses of the presynaptic neurons that fired in the tick."""
    tick = 5
    net = Network(dt_s=DT, seed=3, tick_steps=tick)
    net.add_poisson("in", 20, rate_hz=300.0, record=True)
    net.add_lif("hid", 15, QUIET, bias_v=0.01, v_init=(-0.07, -0.05), record=True)
    net.add_lif("out", 6, QUIET, record=True)
    net.connect("in", "hid", FixedProbability(0.3), 4e-3)
    net.connect("hid", "out", AllToAll(), 0.0, name="learned")
    net.set_plasticity("learned", ThreeFactor("pre", 1e-3, w_min=-1e-2, w_max=1e-2))
    net.build()
    net.modulator_view("out")[:] = 0.5
    n_ticks = 40
    meter = EnergyMeter("neurofit-analog", control_dt_s=0.01)
    rows = []
    for _ in range(n_ticks):
        before = net.counts()
        net.step(tick)
        delta = net.counts() - before
        meter.charge(delta)
        rows.append(delta)
    pre_in, _ = net.synapses("in->hid")
    fan_in = np.bincount(pre_in, minlength=20)
    _steps_in, idx_in = net.spikes("in")
    steps_hid, idx_hid = net.spikes("hid")
    _steps_out, idx_out = net.spikes("out")
    assert idx_hid.size > 0 and idx_in.size > 0
    recount_events = int(fan_in[idx_in].sum()) + 6 * idx_hid.size
    recount_spikes = idx_in.size + idx_hid.size + idx_out.size
    fired = {(int(s) // tick, int(i)) for s, i in zip(steps_hid, idx_hid, strict=True)}
    recount_writes = 6 * len(fired)
    total = meter.counts
    assert total.synaptic_events == recount_events
    assert total.spikes == recount_spikes
    assert total.neuron_updates == (15 + 6) * tick * n_ticks
    assert total.weight_updates == recount_writes
    # and the array path of the meter (the report's) agrees with the live one
    arr = np.array([[r.neuron_updates, r.spikes, r.synaptic_events, r.weight_updates]
                    for r in rows], dtype=np.int64)
    offline = EnergyMeter.from_counts("neurofit-analog", 0.01, arr)
    assert offline.totals() == meter.totals()


def test_measure_controller_per_tick_counts_sum_to_the_agent_counters() -> None:
    kept: list[NeuroFitAgent] = []

    def make(env: gym.Env, seed: int) -> NeuroFitAgent:
        kept.append(NeuroFitAgent.from_env(env, TINY))
        return kept[-1]

    m = measure_controller("nf", make, "neurofit/QuadHover-v0", [0, 1],
                           env_kwargs={"max_episode_steps": 15})
    assert m.kind == "snn" and m.ticks == 30 and m.tick_ops is not None
    assert m.tick_ops.shape == (30, 5)  # COUNT_NAMES: effective neuron updates last
    total = kept[0].policy.net.counts() + kept[1].policy.net.counts()
    assert tuple(m.tick_ops.sum(axis=0)) == (total.neuron_updates, total.spikes,
                                             total.synaptic_events, total.weight_updates,
                                             total.effective_neuron_updates)
    assert m.usage.ops == total
    assert (m.tick_ops[:, 0] == kept[0].n_neurons * TINY.substeps).all()
    assert len(m.episodes) == 2 and all(e.steps == 15 for e in m.episodes)


# ------------------------------------------------------------------ the DNN twin
def test_mlp_learning_cost_by_hand() -> None:
    # 2 -> 3 -> 1: output layer (a=3, b=1) passes its gradient back, first layer does not
    c = mlp_learning_cost([2, 3, 1])
    assert c.macs == (3 + 1 + 3 + 1) + (6 + 3)
    assert c.activations == 3
    assert c.memory_reads == (3 + 1 + 3 + 1) + (6 + 3 + 2 + 3)
    assert c.memory_writes == (3 + 1 + 3) + (6 + 3)


def test_feedback_mlp_step_moves_the_output_along_the_teaching_signal() -> None:
    env = gym.make("neurofit/QuadHover-v0", max_episode_steps=5)
    agent = FeedbackMLPAgent.from_env(env, hidden=(4,), learning_rate=0.1, seed=1)
    obs, info = env.reset(seed=0)
    agent.reset()
    agent.act(obs)
    x = agent.features(obs)
    y0 = agent.forward(x).copy()
    info = dict(info, error=np.array([0.0, 0.0, 0.2, 0.0, 0.0, 0.0]))
    teach = agent.reflex.teaching(obs, info["error"]).copy()
    agent.act(obs)
    agent.observe(obs, 0.0, False, info)
    y1 = agent.forward(x)
    assert float((y1 - y0) @ teach) > 0
    assert agent.ticks == 2 and agent.learning_steps == 1
    sizes = (6, 4, 3)
    cost = agent.dnn_cost()
    assert cost == mlp_inference_cost(sizes) * 2 + mlp_learning_cost(sizes)
    u = usage_of(agent)
    assert u.kind == "dnn" and u.ticks == 2
    env.close()


# ------------------------------------------------------------------ report and mission
def _fake(name: str, kind: str, usage: Usage, power_w: float) -> ControllerMeasurement:
    return ControllerMeasurement(name, kind, 0.01,
                                 [EpisodeResult(0, usage.ticks, 0.005, 1.0, power_w, False)],
                                 usage, n_neurons=100)


def test_report_mission_arithmetic_and_ratio() -> None:
    snn = _fake("nf", "snn", Usage("snn", 10, OpCounts(8000, 20, 2000, 2000)), 9.0)
    dnn = _fake("mlp", "dnn", Usage("dnn", 10, inference=mlp_inference_cost([6, 8, 3]) * 10,
                                    learning=mlp_learning_cost([6, 8, 3]) * 10), 9.5)
    rep = energy_report([snn, dnn], ["loihi", "jetson-class"], "micro-drone")
    usable = get_scenario("micro-drone").battery.usable_j
    rows = {(r["controller"], r["profile"]): r for r in rep["rows"]}
    assert set(rows) == {("nf", "loihi"), ("mlp", "jetson-class")}
    loihi, jet = rows["nf", "loihi"], rows["mlp", "jetson-class"]
    per_tick = (8000 * 81e-12 + 20 * 3.5e-12 + 2000 * 23.6e-12 + 2000 * 120e-12) / 10
    assert loihi["dynamic_j_per_inference"] == pytest.approx(per_tick)
    assert loihi["learning_j_per_inference"] == pytest.approx(2000 * 120e-12 / 10)
    assert loihi["compute_w"] == pytest.approx(0.94 + per_tick / 0.01)
    assert loihi["endurance_s"] == pytest.approx(usable / (9.0 + 0.4 + loihi["compute_w"]))
    ops = (mlp_inference_cost([6, 8, 3]) + mlp_learning_cost([6, 8, 3]))
    # + one kernel launch per inference: 5 µs of host time (HTA docs) x ~1 W
    dyn = ops.ops * 0.3e-9 + ops.memory_accesses * 5e-12 + 5e-6
    assert jet["dynamic_j_per_inference"] == pytest.approx(dyn)
    assert jet["endurance_vs_dnn_s"] == 0.0
    assert loihi["endurance_vs_dnn_s"] == pytest.approx(
        usable / (9.0 + 0.4 + loihi["compute_w"]) - usable / (9.0 + 0.4 + jet["compute_w"]))
    assert loihi["compute_pct_of_platform"] == pytest.approx(100 * loihi["compute_w"] / 9.0)
    assert rep["ratio_vs_dnn"]["value"] == pytest.approx(dyn / per_tick)
    assert rep["platform_power_w"] == {"nf": 9.0, "mlp": 9.5}
    json.dumps(rep)  # JSON-ready


def test_energy_line_for_a_flight() -> None:
    env = gym.make("neurofit/QuadHover-v0", max_episode_steps=10)
    agent = NeuroFitAgent.from_env(env, TINY)
    obs, info = env.reset(seed=0)
    agent.reset()
    before = usage_of(agent)
    powers = []
    for _ in range(10):
        obs, r, term, _trunc, info = env.step(agent.act(obs))
        agent.observe(obs, r, term, info)
        powers.append(info["power_w"])
    line = energy_line(agent, powers, since=before)
    assert line.startswith("energy on loihi:") and "J/inference" in line
    assert "% of neurons per step" in line and "micro-drone endurance" in line
    assert "\n" not in line
    with pytest.raises(ValueError, match="cannot price a snn"):
        energy_line(agent, 9.0, profile="jetson-class")
    env.close()


def test_compare_energy_tiny_search() -> None:
    rep = compare_energy(
        "neurofit/QuadHover-v0", [0], base=TINY, tolerance=10.0,
        neurofit_grid={"n_per_input": (3,), "n_output_neurons": (5,), "substeps": (1,)},
        mlp_grid={"widths": (2,), "depths": (1,), "learning_rates": (0.03,)},
        profiles=["loihi", "jetson-class"], env_kwargs={"max_episode_steps": 10})
    assert rep["threshold_m"] == pytest.approx(11 * rep["reference_rms_m"])
    assert {"neurofit-default", "pid", "pd"} <= rep["task_score"].keys()
    assert len(rep["search"]["neurofit"]) == 1 and len(rep["search"]["mlp"]) == 1
    if rep["ratio_vs_dnn"] is not None:
        assert rep["ratio_vs_dnn"]["snn"]["controller"] == "neurofit-smallest"


# ------------------------------------------------------------------ the real CLI
def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "neurofit.scripts.cli", *args],
                          capture_output=True, text=True, timeout=600, check=False,
                          env=os.environ.copy())


def test_cli_energy_json_smoke(tmp_path: Path) -> None:
    png = tmp_path / "energy.png"
    proc = _cli("energy", "--env", "neurofit/QuadHover-v0", "--agent",
                "neurofit,feedback-mlp,pid", "--episodes", "1", "--max-steps", "12",
                "--n-per-input", "5", "--n-output-neurons", "10", "--substeps", "2",
                "--profiles", "loihi,neurofit-analog,jetson-class,mcu-cortex-m4",
                "--plot", str(png), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert {"rows", "task_score", "ratio_vs_dnn", "platform_power_w", "mission"} <= out.keys()
    keys = {"controller", "profile", "j_per_inference", "dynamic_j_per_inference", "static_w",
            "compute_w", "spike_rate_hz", "synaptic_events_per_inference", "endurance_s"}
    for row in out["rows"]:
        assert keys <= row.keys()
    assert {(r["controller"], r["profile"]) for r in out["rows"]} == {
        ("neurofit", "loihi"), ("neurofit", "neurofit-analog"),
        ("feedback-mlp", "jetson-class"), ("feedback-mlp", "mcu-cortex-m4"),
        ("pid", "flight-mcu")}
    assert set(out["task_score"]) == {"neurofit", "feedback-mlp", "pid"}
    for score in out["task_score"].values():
        assert {"rms_error_m", "return"} <= score.keys()
    assert out["ratio_vs_dnn"]["value"] > 0
    assert out["mission"]["name"] == "micro-drone"
    # --max-steps reaches the fresh agents' env: every controller flew exactly 12 ticks
    for name in ("neurofit", "feedback-mlp", "pid"):
        assert out["task_score"][name]["steps"] == 12, name
        assert out["task_score"][name]["crashed"] == 0, name
        assert out["controllers"][name]["ticks"] == 12, name
    # endurance from the mission's own figures, not the row's: Crazyflie 250 mAh x 3.7 V
    # (Bitcraze datasheet), 0.4 W avionics, compute = the profile's cited static power + the
    # counted operations at its cited per-op energies (tests/test_hardware.py has the sources)
    battery_j = 0.250 * 3.7 * 3600.0
    per_op = {"loihi": (0.94, 3.5e-12, 23.6e-12, 81e-12, 120e-12),
              "neurofit-analog": (1e-3, 22e-12, 5e-12, 1e-12, 25e-12)}
    cycle_j = 238e-6 / 1e6 * 3.3  # STM32F4: 238 µA/MHz at 3.3 V
    # (static W, J per op, J per access, J per call: a 5 µs launch at 1 W; 24 cycles)
    per_mac = {"jetson-class": (2.0, 0.3e-9, 5e-12, 5e-6),
               "mcu-cortex-m4": (0.0, 3 * cycle_j, cycle_j, 24 * cycle_j)}
    for row in out["rows"]:
        if row["profile"] in per_op:
            static, spike, syn, neuron, weight = per_op[row["profile"]]
            dynamic = (row["spikes_per_inference"] * spike
                       + row["synaptic_events_per_inference"] * syn
                       + row["neuron_updates_per_inference"] * neuron
                       + row["weight_updates_per_inference"] * weight)
        elif row["profile"] in per_mac:
            static, mac, access, call = per_mac[row["profile"]]
            dynamic = (row["macs_per_inference"] * mac
                       + row["memory_accesses_per_inference"] * access + call)
        else:  # the PID on the flight MCU: no compute of its own
            static = dynamic = 0.0
        compute_w = static + dynamic / 0.01
        assert row["compute_w"] == pytest.approx(compute_w, rel=1e-9)
        assert 6.0 < row["platform_w"] < 9.0  # near the ~7.4 W hover of the thrust stand
        assert row["endurance_s"] == pytest.approx(
            battery_j / (row["platform_w"] + 0.4 + compute_w), rel=1e-9)
    # the PID's platform power is the mean rotor power of the same 12-step flight, flown here
    env = gym.make("neurofit/QuadHover-v0", max_episode_steps=12)
    pid = make_agent("pid", env)
    obs, _ = env.reset(seed=0)
    pid.reset()
    powers, done = [], False
    while not done:
        obs, _r, terminated, truncated, info = env.step(pid.act(obs))
        powers.append(info["power_w"])
        done = terminated or truncated
    env.close()
    pid_row = next(r for r in out["rows"] if r["controller"] == "pid")
    assert len(powers) == 12
    assert pid_row["platform_w"] == pytest.approx(float(np.mean(powers)), rel=1e-12)
    nf = next(r for r in out["rows"] if r["profile"] == "loihi")
    assert nf["neuron_updates_per_inference"] == (6 * 5 + 10) * 2
    assert 0 <= nf["spike_fraction_per_step"] <= 1
    assert png.stat().st_size > 0


@pytest.mark.parametrize("args", [["--profiles", "loihi,nosuchchip"]])
def test_cli_unknown_profile_fails_clearly(args: list[str]) -> None:
    proc = _cli("energy", "--env", "neurofit/QuadHover-v0", *args, "--json")
    assert proc.returncode != 0
    assert "unknown hardware profile 'nosuchchip'" in proc.stderr
    assert "loihi" in proc.stderr  # lists the known ones
    assert proc.stdout == ""


def test_cli_bad_profile_toml_fails_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "chip.toml"
    bad.write_text('name = "chip"\nkind = "neuromorphic"\nstatic_w = 0.1\nweight_bits = 8\n'
                   "joules_per_spike = 23.6\n[source]\n", encoding="utf-8")
    proc = _cli("energy", "--env", "neurofit/QuadHover-v0", "--profiles", str(bad), "--json")
    assert proc.returncode != 0
    assert "chip.toml" in proc.stderr and "error:" in proc.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text("name = [unclosed\n", encoding="utf-8")
    proc = _cli("energy", "--env", "neurofit/QuadHover-v0", "--profiles", str(broken))
    assert proc.returncode != 0 and "not a valid TOML file" in proc.stderr


def test_cli_energy_from_a_run_dir(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from neurofit.agents.training import TrainConfig, train
    from neurofit.scripts.cli import app

    run = tmp_path / "run"
    train(TrainConfig(env_id="neurofit/QuadHover-v0", total_steps=20, eval_episodes=0,
                      env_kwargs={"max_episode_steps": 10},
                      agent_config={"n_per_input": 5, "n_output_neurons": 10}),
          run, progress=False)
    result = CliRunner().invoke(app, ["energy", "--run-dir", str(run), "--episodes", "1",
                                      "--profiles", "loihi", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    (row,) = out["rows"]
    assert row["controller"] == "neurofit:run" and row["profile"] == "loihi"
    assert out["env_id"] == "neurofit/QuadHover-v0" and out["learning"] is True
    assert out["task_score"]["neurofit:run"]["steps"] == 10  # the run's env kwargs apply
    missing = CliRunner().invoke(app, ["energy", "--run-dir", str(tmp_path / "nope")])
    assert missing.exit_code != 0 and "does not exist" in missing.stderr
