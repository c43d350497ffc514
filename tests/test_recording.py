"""Recording episodes to a Minari-format dataset: round trip, spikes, atomicity, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import gymnasium as gym
import h5py
import numpy as np
import pytest

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents.pid import QuadPID
from neurofit.envs.recorded import (
    CorruptEpisodeError,
    DatasetNotFoundError,
    DatasetVersionError,
    EpisodeNotFoundError,
    RecordingError,
    UnknownEnvError,
    open_recording,
    resolve_dataset,
)
from neurofit.envs.recording import EpisodeRecorder, repair_dataset
from neurofit.envs.replay import make_replay_env

HOVER = "neurofit/QuadHoverWind-v0"
OPS = ("neuron_updates", "spikes", "synaptic_events", "weight_updates")


class FakeSpikingAgent:
    """PID actions, plus random spikes and op counts from a seeded RNG through the record hook.

    ``log`` keeps what every ``record_tick`` returned, to compare with the dataset.
    """

    def __init__(self, env: gym.Env[Any, Any], n_neurons: int = 64, seed: int = 0) -> None:
        self.pid = QuadPID.from_env(env)
        self.rng = np.random.default_rng(seed)
        self.n_neurons = n_neurons
        self.log: list[dict[str, Any]] = []
        self.config = {"n_neurons": n_neurons, "seed": seed}

    def reset(self) -> None:
        self.pid.reset()

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.pid.act(obs)

    def record_tick(self) -> dict[str, Any]:
        k = int(self.rng.integers(0, 9))
        spikes = np.sort(self.rng.choice(self.n_neurons, k, replace=False)).astype(np.int32)
        ops = {
            "neuron_updates": self.n_neurons,
            "spikes": k,
            "synaptic_events": 10 * k,
            "weight_updates": int(self.rng.integers(0, 3)),
        }
        tick = {
            "spikes": spikes,
            "ops": ops,
            "compute_energy_j": 1e-9 * (self.n_neurons + 10 * k),
            "compute_power_w": 1e-7 * (self.n_neurons + 10 * k),
        }
        self.log.append(tick)
        return tick


def run_episodes(
    env: gym.Env[Any, Any], agent: Any, n: int, seed: int = 0, max_steps: int | None = None
) -> list[dict[str, Any]]:
    """Run ``n`` episodes (seed on the first reset only); returns what the loop saw."""
    seen = []
    for i in range(n):
        obs, info = env.reset(seed=seed if i == 0 else None)
        agent.reset()
        ep = {"obs": [obs], "actions": [], "rewards": [], "qpos": [info["qpos"]]}
        done = False
        while not done:
            action = agent.act(obs)
            obs, reward, terminated, truncated, info = env.step(action)
            ep["obs"].append(obs)
            ep["actions"].append(action)
            ep["rewards"].append(reward)
            ep["qpos"].append(info["qpos"])
            done = terminated or truncated or (max_steps is not None and
                                               len(ep["rewards"]) >= max_steps)  # fmt: skip
        seen.append(ep)
    return seen


def record(path: Path, n: int = 2, steps: int = 40, env_id: str = HOVER, **kwargs: Any):
    env = EpisodeRecorder(gym.make(env_id, max_episode_steps=steps), path, **kwargs)
    agent = FakeSpikingAgent(env)
    env.agent = agent
    seen = run_episodes(env, agent, n, seed=3)
    env.close()
    return env, agent, seen


# ------------------------------------------------------------------------------ round trip
def test_round_trip_through_minari(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import minari  # a dev dependency: its absence is an install error, not a skip
    root = tmp_path / "minari_root"
    path = root / "neurofit" / "hover-v0"
    rec, agent, seen = record(path, n=2, steps=40, dataset_id="neurofit/hover-v0",
                              metadata={"seed": 3, "note": "test"})  # fmt: skip
    assert rec.episodes_written == 2

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    ds = minari.load_dataset("neurofit/hover-v0")
    assert ds.total_episodes == 2 and ds.total_steps == 80
    assert ds.spec.env_spec.id == HOVER
    ticks = iter(agent.log)
    for ep, loop in zip(ds.iterate_episodes(), seen, strict=True):
        assert ep.observations.shape == (41, 18)
        np.testing.assert_array_equal(ep.observations, np.stack(loop["obs"]))
        np.testing.assert_array_equal(ep.actions, np.stack(loop["actions"]))
        assert ep.actions.dtype == np.float32  # as the agent passed them
        np.testing.assert_array_equal(ep.rewards, loop["rewards"])
        assert ep.truncations[-1] and not ep.terminations.any()
        infos = ep.infos
        for key in ("error", "power_w", "energy_j", "qpos", "qvel", "act", "time_s",
                    "reward_position", "termination_reason"):  # fmt: skip
            assert infos[key].shape[0] == 41, key
        np.testing.assert_array_equal(infos["qpos"], np.stack(loop["qpos"]))
        assert infos["time_s"][0] == 0.0 and infos["time_s"][-1] == pytest.approx(0.4)
        # the agent's ticks: CSR spikes, op counts and energy, one row per info row
        a = infos["agent"]
        indptr, indices = a["spikes"]["indptr"], a["spikes"]["indices"]
        assert indptr.shape == (42,) and indices.dtype == np.int32
        assert set(a["ops"]) == set(OPS) and a["ops"]["spikes"].dtype == np.int64
        for k in range(41):
            tick = next(ticks)
            np.testing.assert_array_equal(indices[indptr[k] : indptr[k + 1]], tick["spikes"])
            for op in OPS:
                assert a["ops"][op][k] == tick["ops"][op]
            assert a["compute_energy_j"][k] == tick["compute_energy_j"]
            assert a["compute_power_w"][k] == tick["compute_power_w"]

    # metadata: env id and kwargs, agent config, seeds, versions
    meta = json.loads((path / "data" / "metadata.json").read_text())
    nf = meta["neurofit"]
    assert nf["env_id"] == HOVER and nf["env_kwargs"]["disturbances"][0]["type"] == "Wind"
    assert nf["agent"]["config"] == agent.config
    assert nf["agent"]["class"].endswith("FakeSpikingAgent") and nf["spikes_recorded"]
    assert nf["metadata"] == {"seed": 3, "note": "test"}
    assert {"neurofit", "mujoco", "numpy", "gymnasium"} <= set(nf["versions"])
    first = list(ds.storage.get_episode_metadata([0, 1]))
    assert first[0]["seed"] == 3 and "seed" not in first[1]  # the second reset had no seed
    assert json.loads(first[1]["neurofit"])["rng_state"]["bit_generator"] == "PCG64"


def test_reader_matches_and_resolves_paths(tmp_path: Path) -> None:
    run = tmp_path / "run_a"
    env = EpisodeRecorder.for_run(gym.make(HOVER, max_episode_steps=20), run)
    pid = QuadPID.from_env(env)
    obs, _ = env.reset(seed=1)
    done = False
    while not done:
        obs, _, te, tr, _ = env.step(pid.act(obs))
        done = te or tr
    env.close()
    assert env.dataset_id == "neurofit/run_a-v0"
    data = run / "dataset" / "data"
    for p in (run, run / "dataset", data, data / "main_data.hdf5", data / "metadata.json"):
        assert resolve_dataset(p) == data
    rec = open_recording(run)
    ep = rec.episode(0)
    assert ep.n_steps == 20 and ep.seed == 1 and ep.ended_by == "truncated"
    assert ep.spikes is None and ep.agent is None  # PID: no record hook, env data only
    assert ep.initial_state is not None and ep.disturbances[0]["type"] == "Wind"
    row = rec.summary()[0]
    assert row["steps"] == 20 and row["episode_return"] == pytest.approx(ep.episode_return)


def test_unfinished_episode_saved_on_reset_and_close(tmp_path: Path) -> None:
    env = EpisodeRecorder(gym.make(HOVER), tmp_path / "ds")
    pid = QuadPID.from_env(env)
    for n_steps in (7, 5):  # cut short by the next reset, then by close
        obs, _ = env.reset(seed=0)
        for _ in range(n_steps):
            obs, *_ = env.step(pid.act(obs))
    env.close()
    rec = open_recording(tmp_path / "ds")
    eps = [rec.episode(i) for i in rec.episode_indices()]
    assert [e.n_steps for e in eps] == [7, 5]
    assert [e.ended_by for e in eps] == ["reset", "close"]
    assert all(e.truncations[-1] and not e.truncations[:-1].any() for e in eps)


def test_float64_actions_are_stored_exactly(tmp_path: Path) -> None:
    env = EpisodeRecorder(gym.make(HOVER, max_episode_steps=5), tmp_path / "ds")
    env.reset(seed=0)
    acts = [np.full(4, 0.1 + 1e-12 * i) for i in range(5)]
    for a in acts:
        env.step(a)
    env.close()
    ep = open_recording(tmp_path / "ds").episode(0)
    assert ep.actions.dtype == np.float64
    np.testing.assert_array_equal(ep.actions, np.stack(acts))


def test_resume_appends_and_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "ds"
    record(path, n=1, steps=10)
    with pytest.raises(RecordingError, match=r"metadata\.json: a dataset already exists"):
        EpisodeRecorder(gym.make(HOVER), path)
    with pytest.raises(RecordingError, match="records 'neurofit/QuadHoverWind-v0', not"):
        EpisodeRecorder(gym.make("neurofit/QuadHover-v0"), path, resume=True)
    record(path, n=2, steps=10, resume=True)
    rec = open_recording(path)
    assert rec.episode_indices() == [0, 1, 2] and rec.metadata["total_episodes"] == 3
    assert rec.metadata["total_steps"] == 30


def test_env_must_come_from_gymnasium_make(tmp_path: Path) -> None:
    from neurofit.envs.quadrotor_hover import QuadHoverEnv

    with pytest.raises(RecordingError, match=r"gymnasium\.make"):
        EpisodeRecorder(QuadHoverEnv(), tmp_path / "ds")


# ------------------------------------------------------------------------------ atomicity
KILLED_RUN = textwrap.dedent(
    """
    import os, signal, sys
    import gymnasium as gym
    import neurofit.envs
    from neurofit.agents.pid import QuadPID
    from neurofit.envs.recording import EpisodeRecorder

    env = EpisodeRecorder(gym.make("neurofit/QuadHoverWind-v0", max_episode_steps=30),
                          sys.argv[1])
    pid = QuadPID.from_env(env)
    for episode in range(3):
        obs, _ = env.reset(seed=episode)
        for step in range(30):
            if episode == 2 and step == 15:  # killed mid-episode: no close, no cleanup
                os.kill(os.getpid(), signal.SIGKILL)
            obs, *_ = env.step(pid.act(obs))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_run_keeps_every_finished_episode(tmp_path: Path) -> None:
    path = tmp_path / "ds"
    proc = subprocess.run(
        [sys.executable, "-c", KILLED_RUN, str(path)], capture_output=True, timeout=120
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    rec = open_recording(path)
    assert rec.episode_indices() == [0, 1]
    assert [rec.episode(i).n_steps for i in (0, 1)] == [30, 30]
    import minari  # a dev dependency: its absence is an install error, not a skip
    ds = minari.MinariDataset(path / "data")
    assert ds.total_episodes == 2 and [len(e) for e in ds] == [30, 30]


def test_truncated_episode_file_leaves_the_others_readable(tmp_path: Path) -> None:
    path = tmp_path / "ds"
    record(path, n=3, steps=20)
    data = path / "data"
    victim = data / "episodes" / "episode_1.hdf5"
    with open(victim, "r+b") as f:  # a write cut short: the tail is missing
        f.truncate(victim.stat().st_size // 2)
    # and a writer killed mid-write left a partial temporary file behind
    (data / "episodes" / "episode_3.hdf5.tmp").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    rec = open_recording(path)
    assert rec.episode_indices() == [0, 1, 2]
    with pytest.raises(CorruptEpisodeError, match=r"episode_1\.hdf5: episode 1 cannot be read"):
        rec.episode(1)
    assert rec.episode(0).n_steps == 20 and rec.episode(2).n_steps == 20
    assert [e.index for e in rec.episodes()] == [0, 2]
    assert "error" in rec.summary()[1] and "error" not in rec.summary()[2]


def test_truncated_main_file_and_repair(tmp_path: Path) -> None:
    path = tmp_path / "ds"
    record(path, n=2, steps=10)
    main = path / "data" / "main_data.hdf5"
    main.write_bytes(main.read_bytes()[:100])  # Minari's index is damaged ...
    rec = open_recording(path)  # ... NeuroFit reads the episode files directly
    assert [rec.episode(i).n_steps for i in rec.episode_indices()] == [10, 10]
    (path / "data" / "episodes" / "episode_2.hdf5.tmp").write_bytes(b"partial")
    meta = repair_dataset(path)
    assert meta["total_episodes"] == 2 and meta["total_steps"] == 20
    assert not list((path / "data" / "episodes").glob("*.tmp"))
    with h5py.File(main, "r") as f:
        assert sorted(f) == ["episode_0", "episode_1"]
        assert f["episode_1"]["rewards"].shape == (10,)


# ------------------------------------------------------------------------------ bad input
def test_missing_dataset_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="nowhere"):
        open_recording(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match=r"empty: not a recorded dataset"):
        open_recording(tmp_path / "empty")


def test_corrupt_metadata_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ds"
    record(path, n=1, steps=5)
    meta = path / "data" / "metadata.json"
    meta.write_text(meta.read_text()[:40])
    with pytest.raises(RecordingError, match=r"metadata\.json: corrupt dataset metadata"):
        open_recording(path)


def test_missing_episode_lists_the_available_ones(tmp_path: Path) -> None:
    path = tmp_path / "ds"
    record(path, n=2, steps=5)
    with pytest.raises(EpisodeNotFoundError, match=r"no episode 7; the dataset has episodes 0-1"):
        open_recording(path).episode(7)


def _edit_metadata(path: Path, edit: Any) -> None:
    file = path / "data" / "metadata.json"
    meta = json.loads(file.read_text())
    edit(meta)
    file.write_text(json.dumps(meta))


def test_unregistered_env_id(tmp_path: Path) -> None:
    path = tmp_path / "ds"
    record(path, n=1, steps=5)

    def rename(meta: dict[str, Any]) -> None:
        meta["env_spec"] = meta["env_spec"].replace(HOVER, "neurofit/QuadGone-v0")
        meta["neurofit"]["env_id"] = "neurofit/QuadGone-v0"

    _edit_metadata(path, rename)
    rec = open_recording(path)
    assert rec.episode(0).n_steps == 5  # the data still reads
    with pytest.raises(UnknownEnvError, match=r"metadata\.json: recorded on env id "
                       r"'neurofit/QuadGone-v0', which is not registered"):  # fmt: skip
        make_replay_env(rec)


def test_version_mismatch(tmp_path: Path) -> None:
    path = tmp_path / "ds"
    record(path, n=1, steps=5)
    _edit_metadata(path, lambda m: m["neurofit"]["versions"].update(mujoco="2.0.0"))
    rec = open_recording(path)
    with pytest.raises(DatasetVersionError, match=r"metadata\.json: version mismatch \(mujoco "
                       r"2\.0\.0 recorded"):  # fmt: skip
        make_replay_env(rec)
    make_replay_env(rec, allow_version_mismatch=True).close()

    _edit_metadata(path, lambda m: m["neurofit"].update(format_version=99))
    with pytest.raises(DatasetVersionError, match=r"metadata\.json: written in NeuroFit "
                       r"recording format 99"):  # fmt: skip
        open_recording(path)


def test_minari_id_resolves_under_minari_datasets_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(tmp_path / "neurofit" / "hover-v0", n=1, steps=5, dataset_id="neurofit/hover-v0")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    rec = open_recording("neurofit/hover-v0")
    assert rec.dataset_id == "neurofit/hover-v0" and rec.total_episodes == 1
