"""The cheap record hook (issue 12 item 6): a tick is a counter subtraction and a copy, and an
episode's energy is priced at once when it is written — with the values the per-tick path
(``EnergyMeter.charge`` on ``OpCounts``, a dict per tick) gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import h5py
import numpy as np
import pytest

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents._spike_index import spike_indices
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.rollout import run_episode
from neurofit.envs.recording import EpisodeRecorder, TickRecord
from neurofit.neuromorphic.counters import COUNT_NAMES, OP_NAMES, OpCounts
from neurofit.neuromorphic.energy import EnergyMeter
from neurofit.neuromorphic.hardware import get_profile, list_profiles

HOVER = "neurofit/QuadHoverWind-v0"
SMALL = AgentConfig(mode="error", n_per_input=10, n_output_neurons=20)


@pytest.mark.parametrize("profile", [p for p in list_profiles() if get_profile(p).prices_events])
def test_tick_energy_is_the_charge_of_each_tick_bit_for_bit(profile: str) -> None:
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 10**6, size=(200, 5), dtype=np.int64)
    counts[:, 4] = rng.integers(0, counts[:, 0] + 1)  # effective <= dense
    counts[:3] = 0  # an idle tick: static energy only
    meter = EnergyMeter(profile, 0.01)
    want = [EnergyMeter(profile, 0.01).charge(OpCounts(*map(int, row))).total_j
            for row in counts]
    got = meter.tick_energy_j(counts)
    assert got.tolist() == want  # exact: the same operations in the same order
    four = meter.tick_energy_j(counts[:, :4])  # without the effective count: all effective
    assert four.tolist() == [EnergyMeter(profile, 0.01).charge(OpCounts(*map(int, r))).total_j
                             for r in counts[:, :4]]
    assert meter.ticks == 0  # pricing charges nothing
    with pytest.raises(ValueError, match="integer array of shape"):
        meter.tick_energy_j(counts[:, :3])


def test_spike_indices_are_flatnonzero() -> None:
    rng = np.random.default_rng(2)
    for n, p in ((0, 0.5), (1, 1.0), (800, 0.0), (800, 0.02), (800, 1.0), (1801, 0.3)):
        counts = (rng.random(n) < p).astype(np.int32) * rng.integers(1, 4, n, dtype=np.int32)
        got = spike_indices(counts)
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, np.flatnonzero(counts))


def test_record_tick_is_the_per_tick_recount() -> None:
    env = gym.make(HOVER)
    agent = NeuroFitAgent.from_env(env, SMALL)
    net = agent.policy.net
    ticks: list[tuple[TickRecord, OpCounts]] = []
    before = [net.counts()]

    def on_step(_: Any) -> None:
        ticks.append((agent.record_tick(), net.counts() - before[-1]))
        before.append(net.counts())

    agent.record_tick()  # mark
    run_episode(agent, env, 0, max_steps=40, on_step=on_step)
    env.close()
    dt = agent.meter.control_dt_s
    for tick, ops in ticks:
        assert isinstance(tick, TickRecord)
        assert tick["ops"] == {k: getattr(ops, k) for k in OP_NAMES}
        assert tick.counts.tolist() == [getattr(ops, k) for k in COUNT_NAMES]
        energy = EnergyMeter(SMALL.energy_profile, dt).charge(ops).total_j
        assert tick["compute_energy_j"] == energy and energy > 0
        assert tick["compute_power_w"] == energy / dt
        assert set(tick) == {"spikes", "ops", "compute_energy_j", "compute_power_w"}
    spikes = [t["spikes"] for t, _ in ticks]
    assert sum(s.size for s in spikes) > 0
    assert all(np.all(np.diff(s) > 0) for s in spikes)  # ascending neuron indices


class _DictHook:
    """The agent with a record hook that returns the dict form (the recorder's general path)."""

    def __init__(self, agent: NeuroFitAgent) -> None:
        self.agent = agent
        self.n_neurons = agent.n_neurons

    def __getattr__(self, name: str) -> Any:
        return getattr(self.agent, name)

    def record_tick(self) -> dict[str, Any]:
        t = self.agent.record_tick()
        return {"spikes": t["spikes"], "ops": t["ops"],
                "compute_energy_j": t["compute_energy_j"],
                "compute_power_w": t["compute_power_w"]}


def _record(path: Path, dict_hook: bool) -> dict[str, np.ndarray]:
    env = EpisodeRecorder(gym.make(HOVER, max_episode_steps=60), path)
    agent = NeuroFitAgent.from_env(env, SMALL)
    hooked: Any = _DictHook(agent) if dict_hook else agent
    env.agent = hooked
    for seed in (0, 1):
        run_episode(agent, env, seed)
    env.close()
    out: dict[str, np.ndarray] = {}
    for i in (0, 1):
        with h5py.File(path / "data" / "episodes" / f"episode_{i}.hdf5", "r") as f:
            f.visititems(lambda n, o: out.__setitem__(n, o[()])
                         if isinstance(o, h5py.Dataset) else None)
    return out


def test_array_ticks_record_what_dict_ticks_record(tmp_path: Path) -> None:
    fast = _record(tmp_path / "fast", dict_hook=False)
    slow = _record(tmp_path / "slow", dict_hook=True)
    assert sorted(fast) == sorted(slow)
    assert "episode_0/infos/agent/ops/synaptic_events" in fast
    for name, want in slow.items():
        got = fast[name]
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert got.tobytes() == want.tobytes(), name
