"""Recording under stress: a full disk, interrupts and resumes, tampered or orphaned files."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.pid import QuadPID
from neurofit.agents.training import TrainConfig, train
from neurofit.envs import _record_writer
from neurofit.envs.recorded import (
    CorruptEpisodeError,
    DatasetNotFoundError,
    DiskFullError,
    RebuiltMetadataWarning,
    RecordingError,
    open_recording,
)
from neurofit.envs.recording import EpisodeRecorder, repair_dataset
from neurofit.envs.replay import replay_episode
from neurofit.scripts.cli import app

HOVER = "neurofit/QuadHoverWind-v0"
EPISODE_STEPS = 60
#: a small network and short episodes: 230 steps = 3 full episodes + 50 steps of a 4th
TRAIN = TrainConfig(
    env_id="neurofit/QuadHoverPayload-v0", env_kwargs={"max_episode_steps": EPISODE_STEPS},
    agent_config={"n_per_input": 10, "n_output_neurons": 20, "substeps": 10}, total_steps=230,
    seed=0,
    eval_episodes=0, record=True,
)


def _arrays(group: h5py.Group) -> dict[str, np.ndarray]:
    names: list[str] = []
    group.visit(names.append)
    return {n: group[n][()] for n in names if isinstance(group[n], h5py.Dataset)}


def _episodes(run: Path) -> list[tuple[dict[str, np.ndarray], dict[str, Any]]]:
    """Every dataset array and the run-independent attributes of every episode, read with
    h5py directly (not through the reader under test)."""
    folder = run / "dataset" / "data" / "episodes"
    out = []
    for i in range(len(list(folder.glob("episode_*.hdf5")))):
        with h5py.File(folder / f"episode_{i}.hdf5", "r") as f:
            g = f[f"episode_{i}"]
            arrays = _arrays(g)
            # the dataset description holds the creation time and command line: not compared
            attrs = {k: v for k, v in g.attrs.items()
                     if k not in ("neurofit_dataset", "neurofit_checksums")}
        out.append((arrays, attrs))
    return out


def _assert_same_dataset(run: Path, reference: Path) -> None:
    got, want = _episodes(run), _episodes(reference)
    assert [a["seed"] for _, a in got] == [a["seed"] for _, a in want]
    assert len(got) == len(want)
    for i, ((arrays, attrs), (ref_arrays, ref_attrs)) in enumerate(zip(got, want, strict=True)):
        assert sorted(arrays) == sorted(ref_arrays), i
        for name, ref in ref_arrays.items():
            a = arrays[name]
            assert a.dtype == ref.dtype and a.shape == ref.shape, (i, name)
            assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(ref).tobytes(), (
                f"episode {i}: {name} differs")
        assert attrs.keys() == ref_attrs.keys(), i
        for k, v in ref_attrs.items():
            assert attrs[k] == v, (i, k)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted run."""
    run = tmp_path_factory.mktemp("uninterrupted") / "run"
    train(TRAIN, run, progress=False)
    return run


# ------------------------------------------------------------------------------ full disk
class _FillingFile:
    """A file on a disk with ``room`` bytes left: writes that much, then fails with ENOSPC."""

    def __init__(self, f: Any, room: int) -> None:
        self._f = f
        self._room = room

    def write(self, data: bytes) -> int:
        self._f.write(bytes(data[: self._room]))
        self._f.flush()
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), self._f.name)

    def flush(self) -> None:
        self._f.flush()

    def fileno(self) -> int:
        return int(self._f.fileno())

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()


class _FullDiskOpen:
    """``open`` for the writer module: a file whose name contains ``victim`` is written on a
    disk that fills up after ``room`` bytes; every other file is written normally."""

    def __init__(self, victim: str, room: int = 1000) -> None:
        self.victim = victim
        self.room = room
        self.hits = 0

    def __call__(self, file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        f = open(file, mode, *args, **kwargs)  # closed by the writer
        if "w" not in mode or self.victim not in Path(file).name:
            return f
        self.hits += 1
        return _FillingFile(f, self.room)


def _free_in_message(msg: str) -> int:
    m = re.search(r"([\d,]+) bytes free", msg)
    assert m, msg
    return int(m.group(1).replace(",", ""))


def _run_pid(env: gym.Env[Any, Any], episodes: int, first_seed: int = 0) -> None:
    pid = QuadPID.from_env(env)
    for k in range(episodes):
        obs, _ = env.reset(seed=first_seed + k)
        pid.reset()
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(pid.act(obs))
            done = terminated or truncated


def test_full_disk_is_a_clear_error_that_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ds"
    env = EpisodeRecorder(gym.make(HOVER, max_episode_steps=20), path)
    full = _FullDiskOpen("episode_2.hdf5")
    monkeypatch.setattr(_record_writer, "open", full, raising=False)
    with pytest.raises(DiskFullError) as info:
        _run_pid(env, 3)
    assert full.hits == 1
    msg = str(info.value)
    final = path / "data" / "episodes" / "episode_2.hdf5"
    assert msg.startswith(f"disk full: {final}: ")
    size = info.value.needed_bytes
    assert size > full.room and f"{size:,} bytes to write" in msg
    free = shutil.disk_usage(tmp_path).free  # other processes write too: about the same
    assert abs(_free_in_message(msg) - free) <= max(10_000_000, free // 100)
    assert isinstance(info.value, OSError)
    # no partial file, the two finished episodes intact and counted
    assert sorted(p.name for p in final.parent.iterdir()) == ["episode_0.hdf5",
                                                              "episode_1.hdf5"]
    rec = open_recording(path)
    assert rec.metadata["total_episodes"] == 2 and rec.metadata["total_steps"] == 40
    assert [rec.episode(i).n_steps for i in (0, 1)] == [20, 20]

    # space again: the same recorder goes on, and a new one resumes the dataset
    monkeypatch.undo()
    _run_pid(env, 1, first_seed=2)
    env.close()
    env = EpisodeRecorder(gym.make(HOVER, max_episode_steps=20), path, resume=True)
    _run_pid(env, 1, first_seed=3)
    env.close()
    rec = open_recording(path)
    assert rec.episode_indices() == [0, 1, 2, 3] and rec.metadata["total_steps"] == 80
    assert [rec.episode(i).seed for i in range(4)] == [0, 1, 2, 3]


def test_full_disk_on_metadata_keeps_the_episode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "ds"
    env = EpisodeRecorder(gym.make(HOVER, max_episode_steps=10), path)
    monkeypatch.setattr(_record_writer, "open", _FullDiskOpen("metadata.json", 5),
                        raising=False)
    with pytest.raises(DiskFullError, match=r"metadata\.json: "):
        _run_pid(env, 1)
    monkeypatch.undo()
    assert not list((path / "data").rglob("*.tmp"))
    assert open_recording(path).episode(0).seed == 0  # the episode's file was in place
    _run_pid(env, 1, first_seed=1)  # the recorder goes on after it, overwriting nothing
    env.close()
    rec = open_recording(path)
    assert [rec.episode(i).seed for i in rec.episode_indices()] == [0, 1]
    assert rec.metadata["total_episodes"] == 2 and rec.metadata["total_steps"] == 20
    (path / "data" / "metadata.json").write_text(json.dumps(  # as the failure left it
        {**rec.metadata, "total_episodes": 0, "total_steps": 0}))
    meta = repair_dataset(path)  # what resuming does: every episode file is counted
    assert meta["total_episodes"] == 2 and meta["total_steps"] == 20


def test_training_stopped_by_a_full_disk_resumes_to_the_same_dataset(
    reference: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    monkeypatch.setattr(_record_writer, "open", _FullDiskOpen("episode_2.hdf5"), raising=False)
    with pytest.raises(DiskFullError):
        train(TRAIN, run, progress=False)
    monkeypatch.undo()
    assert not list(run.rglob("*.tmp"))
    train(TRAIN, run, resume=True, progress=False)
    _assert_same_dataset(run, reference)


def test_a_lost_main_file_is_rebuilt_with_the_next_episode(tmp_path: Path) -> None:
    path = tmp_path / "ds"
    env = EpisodeRecorder(gym.make(HOVER, max_episode_steps=10), path)
    _run_pid(env, 1)
    main = path / "data" / "main_data.hdf5"
    main.write_bytes(main.read_bytes()[:50])  # damaged
    _run_pid(env, 1, first_seed=1)
    env.close()
    with h5py.File(main, "r") as f:  # Minari's index links both episodes again
        assert list(f) == ["episode_0", "episode_1"]
        assert [int(f[k].attrs["seed"]) for k in f] == [0, 1]


@pytest.fixture
def small_tmpfs() -> Iterator[Path]:
    """A 1 MiB tmpfs (skipped where mounting is not permitted)."""
    if sys.platform != "linux" or shutil.which("mount") is None:
        pytest.skip("needs Linux mount")
    where = Path(tempfile.mkdtemp(prefix="neurofit-full-"))
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)
        where.rmdir()


def test_real_full_disk_while_training_exits_cleanly_and_resumes(
    small_tmpfs: Path, reference: Path
) -> None:
    """The issue's command on a real full file system: it used to segfault in h5py."""
    run = small_tmpfs / "run"
    cmd = [str(Path(sys.executable).with_name("neurofit")), "train", "--env", TRAIN.env_id,
           "--env-kwargs", json.dumps(TRAIN.env_kwargs), "--steps", str(TRAIN.total_steps),
           "--seed", "0", "--eval-episodes", "0", "--run-dir", str(run), "--no-progress",
           "--record"]
    for k, v in TRAIN.agent_config.items():
        cmd += ["--set", f"{k}={v}"]
    # the checkpoints fit, the episodes do not all fit: fill the disk to leave room for ~2
    filler = small_tmpfs / "filler"
    filler.write_bytes(bytes(shutil.disk_usage(small_tmpfs).free - 130_000))
    env = {**os.environ, "MUJOCO_GL": "egl"}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "disk full: " in proc.stderr and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    # the figure is the free space once the partial file was removed (the run then wrote its
    # small metrics files, so a little less is free now)
    free = shutil.disk_usage(small_tmpfs).free
    assert 0 <= _free_in_message(proc.stderr) - free <= 64 * 1024
    episodes = run / "dataset" / "data" / "episodes"
    assert not list(run.rglob("*.tmp"))
    kept = sorted(episodes.glob("episode_*.hdf5"))
    assert kept and len(kept) < 4  # stopped part way ...
    rec = open_recording(run)
    for i in rec.episode_indices():  # ... with every finished episode intact
        assert rec.episode(i).n_steps == EPISODE_STEPS
    filler.unlink()
    proc = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=300,
                          env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    _assert_same_dataset(run, reference)


# ------------------------------------------------------------------------------ resume
class _Interrupt:
    """Raises KeyboardInterrupt (what SIGINT does) after ``at`` steps."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_step(self, locals_: dict[str, Any]) -> bool:
        if locals_["step"] == self.at:
            raise KeyboardInterrupt
        return True


def test_half_then_resume_records_the_uninterrupted_dataset(
    reference: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    train(dataclasses.replace(TRAIN, total_steps=100), run, progress=False)  # mid-episode 1
    assert len(_episodes(run)) == 2  # episode 1 saved partial at the end of the budget
    train(TRAIN, run, resume=True, progress=False)
    _assert_same_dataset(run, reference)


def test_interrupt_then_resume_records_the_uninterrupted_dataset(
    reference: Path, tmp_path: Path
) -> None:
    run = tmp_path / "run"
    cfg = dataclasses.replace(TRAIN, checkpoint_every=2)  # episodes after the checkpoint too
    with pytest.raises(KeyboardInterrupt):
        train(cfg, run, callbacks=[_Interrupt(3 * EPISODE_STEPS + 25)], progress=False)
    # episodes 0-2 and the partial 3 are on disk; the checkpoint is at episode 2
    assert len(_episodes(run)) == 4
    train(cfg, run, resume=True, progress=False)
    _assert_same_dataset(run, reference)


def test_reset_rows_repeat_no_spikes(reference: Path) -> None:
    """Row 0 (the reset) comes before the episode's first tick: no spikes there, and the
    episode's spikes are exactly those of its ticks."""
    for arrays, attrs in _episodes(reference):
        indptr = arrays["infos/agent/spikes/indptr"]
        assert indptr[1] == 0
        assert json.loads(attrs["neurofit"])["spike_count"] == indptr[-1]
        assert arrays["infos/agent/ops/neuron_updates"][0] == 0
        ticks = arrays["infos/agent/ops/neuron_updates"][1:]
        assert np.all(ticks == 10 * (6 * 10 + 20))  # substeps x neurons, every tick


def test_record_marks_survive_save_and_load(tmp_path: Path) -> None:
    """Between two record ticks the agent may tick once more (reward mode's terminal learning
    tick): a checkpoint taken there must restore what the next record tick reports."""
    env = gym.make("neurofit/QuadHover-v0")
    cfg = AgentConfig(n_per_input=10, n_output_neurons=20, substeps=10, mode="reward")
    agent = NeuroFitAgent.from_env(env, cfg)
    obs, _ = env.reset(seed=0)
    agent.reset()
    for _ in range(5):
        obs, reward, *_ = env.step(agent.act(obs))
        agent.record_tick()
        agent.observe(obs, float(reward), False, {})
    agent.act(obs)
    agent.record_tick()
    agent.observe(obs, 0.0, True, {})  # terminated: one more learning tick, after the record
    agent.save(tmp_path / "a.npz")
    loaded = NeuroFitAgent.from_env(env, cfg)
    loaded.load_state(tmp_path / "a.npz")
    want, got = agent.record_tick(), loaded.record_tick()
    assert want["ops"] == got["ops"]
    assert got["ops"]["neuron_updates"] == cfg.substeps * agent.n_neurons  # one tick's worth
    np.testing.assert_array_equal(got["spikes"], want["spikes"])
    assert got["compute_energy_j"] == want["compute_energy_j"]
    assert loaded.record_tick()["spikes"].size == 0  # nothing ticked since


# ------------------------------------------------------------------------------ checksums
N_NEURONS = 800


class _Spiking:
    """PID actions plus seeded random spikes of an 800-neuron net through the record hook."""

    n_neurons = N_NEURONS

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        self.pid = QuadPID.from_env(env)
        self.rng = np.random.default_rng(0)

    def record_tick(self) -> dict[str, Any]:
        spikes = np.flatnonzero(self.rng.random(N_NEURONS) < 0.05).astype(np.int32)
        return {"spikes": spikes, "ops": {"spikes": int(spikes.size)},
                "compute_energy_j": 1e-9 * spikes.size}


@pytest.fixture
def recorded(tmp_path: Path) -> Path:
    path = tmp_path / "ds"
    env = EpisodeRecorder(gym.make(HOVER, max_episode_steps=30), path)
    agent = _Spiking(env)
    env.agent = agent
    for k in range(2):
        obs, _ = env.reset(seed=k)
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(agent.pid.act(obs))
            done = terminated or truncated
    env.close()
    return path


def _episode_file(path: Path, i: int = 0) -> Path:
    return path / "data" / "episodes" / f"episode_{i}.hdf5"


def _flip_spike(path: Path, to: int = 64806) -> int:
    with h5py.File(_episode_file(path), "r+") as f:
        ds = f["episode_0/infos/agent/spikes/indices"]
        assert ds.shape[0] > 550
        old = int(ds[550])
        ds[550] = to
    return old


def test_checksums_are_sha256_of_each_column(recorded: Path) -> None:
    """The stored digest of a column is SHA-256 over its dtype, shape and bytes."""
    with h5py.File(_episode_file(recorded), "r") as f:
        g = f["episode_0"]
        digests = json.loads(g.attrs["neurofit_checksums"])["digests"]
        for name in ("actions", "infos/agent/spikes/indices", "infos/qpos", "rewards"):
            a = g[name][()]
            h = hashlib.sha256(f"{a.dtype.str}{a.shape}:".encode() + a.tobytes())
            assert digests[name] == h.hexdigest(), name
        assert "@seed" in digests and "@neurofit" in digests


def test_flipped_spike_index_is_caught_on_load_and_by_check(recorded: Path) -> None:
    rec = open_recording(recorded)
    assert rec.episode(0).problems == []
    _flip_spike(recorded)
    file = _episode_file(recorded)
    with pytest.raises(CorruptEpisodeError) as info:
        open_recording(recorded).episode(0)
    msg = str(info.value)
    assert msg.startswith(f"{file}: episode 0 is corrupt: ")
    assert "column 'infos/agent/spikes/indices' does not match its checksum" in msg
    assert open_recording(recorded).episode(1).problems == []  # the others still read

    check = replay_episode(open_recording(recorded), 0)
    assert check.state_exact and not check.bit_exact  # the physics is fine, the record is not
    assert any(str(file) in p and "spikes/indices" in p for p in check.problems)
    result = CliRunner().invoke(app, ["replay", str(recorded), "--episode", "0", "--check"])
    assert result.exit_code == 1, result.output
    assert "corrupt record" in result.output and "NOT bit-exact" in result.output
    assert "infos/agent/spikes/indices" in result.output


def test_spike_index_range_is_checked_without_checksums(recorded: Path) -> None:
    with h5py.File(_episode_file(recorded), "r+") as f:
        del f["episode_0"].attrs["neurofit_checksums"]  # an episode from before checksums
    rec = open_recording(recorded)
    assert rec.episode(0).problems == [] and not rec.episode(0).has_checksums
    _flip_spike(recorded)
    with pytest.raises(CorruptEpisodeError, match=r"neuron index 64806 at position 550 is out "
                       r"of range 0\.\.799 \(the network has 800 neurons\)"):  # fmt: skip
        open_recording(recorded).episode(0)


def test_a_changed_energy_value_is_caught(recorded: Path) -> None:
    """Neither the physics nor the spike structure sees this one: only the checksum."""
    with h5py.File(_episode_file(recorded, 1), "r+") as f:
        f["episode_1/infos/agent/compute_energy_j"][3] *= 1.0 + 2**-40
    with pytest.raises(CorruptEpisodeError, match=r"episode_1\.hdf5: episode 1 is corrupt: "
                       r"column 'infos/agent/compute_energy_j' does not match"):  # fmt: skip
        open_recording(recorded).episode(1)


def test_intact_check_says_checksums_verified(recorded: Path) -> None:
    result = CliRunner().invoke(app, ["replay", str(recorded), "--episode", "1", "--check"])
    assert result.exit_code == 0, result.output
    assert "checksums: every column and attribute of the episode verified" in result.output
    assert "bit-exact" in result.output


# ------------------------------------------------------------------------------ lost metadata
def test_lost_metadata_is_rebuilt_from_the_episodes(recorded: Path) -> None:
    meta_file = recorded / "data" / "metadata.json"
    original = json.loads(meta_file.read_text())
    meta_file.unlink()
    with pytest.warns(RebuiltMetadataWarning, match=r"metadata\.json is missing"):
        rec = open_recording(recorded)
    assert rec.env_id == HOVER
    for key in ("env_spec", "observation_space", "action_space", "dataset_id"):
        assert rec.metadata[key] == original[key], key
    assert rec.neurofit["env_kwargs"] == original["neurofit"]["env_kwargs"]
    assert rec.versions == original["neurofit"]["versions"]
    assert rec.metadata["total_episodes"] == 2 and rec.metadata["total_steps"] == 60
    for i in (0, 1):
        assert replay_episode(rec, i).bit_exact

    result = CliRunner().invoke(app, ["replay", str(recorded), "--episode", "0", "--check"])
    assert result.exit_code == 0, result.output
    assert "notice" in result.output and "metadata.json is missing" in result.output

    # resuming the recording rebuilds the file and appends
    env = EpisodeRecorder(gym.make(HOVER, max_episode_steps=30), recorded, resume=True)
    _run_pid(env, 1, first_seed=5)
    env.close()
    rebuilt = json.loads(meta_file.read_text())
    assert rebuilt["total_episodes"] == 3 and rebuilt["env_spec"] == original["env_spec"]
    assert open_recording(recorded).episode(2).seed == 5


def test_lost_metadata_without_descriptions_is_a_clear_error(recorded: Path) -> None:
    (recorded / "data" / "metadata.json").unlink()
    for i in (0, 1):
        with h5py.File(_episode_file(recorded, i), "r+") as f:
            del f[f"episode_{i}"].attrs["neurofit_dataset"]
    with pytest.raises(DatasetNotFoundError, match=r"metadata\.json: missing, and no episode "
                       r"file .* describes the dataset"):  # fmt: skip
        open_recording(recorded)
    with pytest.raises(DatasetNotFoundError):  # nor can a recorder resume it blindly
        EpisodeRecorder(gym.make(HOVER), recorded, resume=True)
    with pytest.raises(RecordingError, match="a dataset already exists"):  # nor overwrite it
        EpisodeRecorder(gym.make(HOVER), recorded)
