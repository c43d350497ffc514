"""Replay: bit-exact re-simulation (drone with disturbances, arm), video, timeline, CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
from neurofit.agents.arm_pd import ArmPDController
from neurofit.agents.pid import QuadPID
from neurofit.envs.recorded import open_recording
from neurofit.envs.recording import EpisodeRecorder
from neurofit.envs.replay import replay_episode
from neurofit.scripts.cli import app
from neurofit.scripts.timeline import draw_timeline, save_timeline_png

# payload +30 %, motor 0 at 70 %, wind gusts (from 2.0 s), sensor noise: all seeded
DISTURBED_DRONE = "neurofit/QuadTrackDisturbed-v0"
ARM = "neurofit/ArmReachPayload-v0"  # payload doubled at 1.0 s


class SpikingStandIn:
    """A controller plus random spikes from a seeded RNG (the record hook of a spiking agent)."""

    def __init__(self, controller: Any, seed: int = 0) -> None:
        self.ctl = controller
        self.rng = np.random.default_rng(seed)

    def reset(self) -> None:
        self.ctl.reset()

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self.ctl.act(obs)

    def record_tick(self) -> dict[str, Any]:
        spikes = np.flatnonzero(self.rng.random(50) < 0.1).astype(np.int32)
        n = int(spikes.size)
        return {
            "spikes": spikes,
            "ops": {
                "neuron_updates": 50,
                "spikes": n,
                "synaptic_events": 20 * n,
                "weight_updates": 20 * n,
            },
            "compute_energy_j": 1e-9 * (50 + 20 * n),
            "compute_power_w": 1e-7 * (50 + 20 * n),
        }


def _record(path: Path, env_id: str, controller: type, steps: int, episodes: int) -> Path:
    env = EpisodeRecorder(gym.make(env_id, max_episode_steps=steps), path)
    agent = SpikingStandIn(controller.from_env(env))
    env.agent = agent
    for i in range(episodes):
        obs, _ = env.reset(seed=11 if i == 0 else None)  # later resets: generator state
        agent.reset()
        done = False
        while not done:
            obs, _, terminated, truncated, _ = env.step(agent.act(obs))
            done = terminated or truncated
    env.close()
    return path


@pytest.fixture(scope="module")
def drone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 2.3 s: the disturbances switch on at 2.0 s
    return _record(tmp_path_factory.mktemp("drone") / "ds", DISTURBED_DRONE, QuadPID, 230, 2)


@pytest.fixture(scope="module")
def arm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _record(tmp_path_factory.mktemp("arm") / "ds", ARM, ArmPDController, 150, 2)


# ------------------------------------------------------------------------------ bit-exact
@pytest.mark.parametrize("fixture", ["drone", "arm"])
def test_replay_is_bit_exact(fixture: str, request: pytest.FixtureRequest) -> None:
    rec = open_recording(request.getfixturevalue(fixture))
    for i in rec.episode_indices():  # episode 0 reset by seed, episode 1 by generator state
        check = replay_episode(rec, i)
        assert check.bit_exact, check.describe()
        assert check.max_qpos_dev == 0.0 and check.max_qvel_dev == 0.0
        assert not check.initial_state_restored
    ep = rec.episode(1)
    assert ep.seed is None and ep.rng_state is not None


def _fly_open_loop(actions: np.ndarray, seed: int, disturbances: list[dict]) -> dict:
    """QuadTrack-v0 (no sensor noise) with ``disturbances``, reset with ``seed`` and fed
    ``actions``: qpos and rotor thrusts of every row (reset included)."""
    env = gym.make("neurofit/QuadTrack-v0", disturbances=disturbances)
    _, info = env.reset(seed=seed)
    rows = [info]
    for a in actions:
        rows.append(env.step(a)[4])
    env.close()
    return {key: np.array([r[key] for r in rows]) for key in ("qpos", "rotor_thrust_n")}


def test_disturbances_really_act_in_the_drone_episode(drone: Path) -> None:
    """The recorded actions replayed open-loop from the episode's seed: payload, motor loss and
    wind each leave the undisturbed flight untouched before they start at 2.0 s and change it
    after; together they reproduce the recorded physics; sensor noise is in the observations."""
    ep = open_recording(drone).episode(0)
    t = ep.time_s
    assert t[-1] > 2.0  # the payload, motor loss and wind start at 2.0 s
    noise = ep.observations[:, 0:3] + ep.infos["qpos"][:, 0:3] - ep.infos["target_pos"]
    assert np.std(noise) > 1e-3  # sensor noise is in the observations
    kinds = {d["type"]: d for d in gym.spec(DISTURBED_DRONE).kwargs["disturbances"]}
    assert set(kinds) == {"Payload", "MotorDegradation", "Wind"}
    assert ep.seed is not None
    none = _fly_open_loop(ep.actions, ep.seed, [])
    every = _fly_open_loop(ep.actions, ep.seed, list(kinds.values()))
    np.testing.assert_array_equal(every["qpos"], ep.infos["qpos"])  # the recorded physics
    before = slice(0, 201)  # rows up to t = 2.0 s: no step has started at t >= 2.0 yet
    after = t > 2.0 + 0.015  # rows of steps that started after 2.0 s
    for kind, spec in kinds.items():
        one = _fly_open_loop(ep.actions, ep.seed, [spec])
        np.testing.assert_array_equal(one["qpos"][before], none["qpos"][before], err_msg=kind)
        dev = np.abs(one["qpos"][after, :3] - none["qpos"][after, :3]).max()
        assert dev > 1e-5, (kind, dev)  # > 10 µm within 0.3 s
        if kind == "MotorDegradation":  # rotor 0 at 70 %, the others untouched
            np.testing.assert_allclose(one["rotor_thrust_n"][after, 0],
                                       0.7 * none["rotor_thrust_n"][after, 0], rtol=1e-12)
            np.testing.assert_array_equal(one["rotor_thrust_n"][:, 1:],
                                          none["rotor_thrust_n"][:, 1:])
        if kind == "Payload":  # +30 % mass on the same thrust: it sinks below the light one
            assert one["qpos"][-1, 2] < none["qpos"][-1, 2] - 1e-4


def test_check_detects_a_changed_action(drone: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "tampered"
    shutil.copytree(drone, copy)
    with h5py.File(copy / "data" / "episodes" / "episode_0.hdf5", "r+") as f:
        f["episode_0/actions"][100, 0] += np.float32(1e-3)
    check = replay_episode(open_recording(copy), 0)
    assert not check.bit_exact
    assert check.first_mismatch() == 101  # the state after step 101 differs
    assert check.qpos_dev[:101].max() == 0.0 and check.max_qpos_dev > 0.0
    result = CliRunner().invoke(app, ["replay", "--run-dir", str(copy), "--episode", "0",
                                      "--check"])
    assert result.exit_code == 1, result.output
    assert "NOT bit-exact" in result.output and "steps that differ" in result.output


# ------------------------------------------------------------------------------ CLI
def test_cli_lists_and_checks(drone: Path) -> None:
    runner = CliRunner()
    listing = runner.invoke(app, ["replay", "--run-dir", str(drone)])
    assert listing.exit_code == 0, listing.output
    assert DISTURBED_DRONE in listing.output and "episodes of" in listing.output
    result = runner.invoke(app, ["replay", "--run-dir", str(drone), "--episode", "1", "--check"])
    assert result.exit_code == 0, result.output
    assert "230 steps checked, bit-exact" in result.output


def test_cli_missing_episode_is_a_clear_error(drone: Path) -> None:
    result = CliRunner().invoke(app, ["replay", "--run-dir", str(drone), "--episode", "9",
                                      "--check"])
    assert result.exit_code == 2
    assert "no episode 9; the dataset has episodes 0-1" in " ".join(result.output.split())


def test_cli_missing_dataset_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["replay", "--run-dir", str(tmp_path / "missing_run"),
                                      "--check"])
    assert result.exit_code == 2
    assert "missing_run: no such file, directory or local dataset id" in " ".join(
        result.output.split()
    )


# ------------------------------------------------------------------------------ plot, video
def test_timeline_plot_is_written(drone: Path, tmp_path: Path) -> None:
    import imageio.v3 as iio

    rec = open_recording(drone)
    png = save_timeline_png(rec.episode(0), tmp_path / "tl.png", width_px=600, height_px=400)
    assert iio.imread(png).shape[:2] == (400, 600)
    result = CliRunner().invoke(app, ["replay", "--run-dir", str(drone), "-e", "1", "--plot",
                                      str(tmp_path / "cli.png")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli.png").stat().st_size > 10_000


def test_timeline_cursor_moves_without_redrawing(drone: Path) -> None:
    ep = open_recording(drone).episode(0)
    tl = draw_timeline(ep, width_px=400, height_px=300)
    assert 0 <= tl.x0 < tl.x1 <= 400 and 0 <= tl.y0 < tl.y1 <= 300
    out = np.empty_like(tl.image)
    a = tl.frame(float(ep.time_s[10]), out).copy()
    b = tl.frame(float(ep.time_s[-1]), out)
    changed_a = np.flatnonzero(np.any(a != tl.image, axis=(0, 2)))
    changed_b = np.flatnonzero(np.any(b != tl.image, axis=(0, 2)))
    assert changed_a.size == 2 and changed_b.size == 2  # a 2-pixel cursor, old one erased
    assert changed_b[0] > changed_a[0]


def test_video_has_the_expected_frames(tmp_path: Path, offscreen_gl: None) -> None:
    import imageio_ffmpeg

    from neurofit.scripts.replay import render_video

    path = _record(tmp_path / "ds", "neurofit/QuadHoverWind-v0", QuadPID, 24, 1)
    rec = open_recording(path)
    # 24 steps at 100 Hz, 50 fps: a frame every 2nd step, reset included -> 13 frames
    media = render_video(rec, 0, tmp_path / "ep0.mp4", fps=50, size=(160, 120), progress=False)
    assert media.frames == 13 and media.fps == 50
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(media.video))
    assert frames == 13
    assert media.check.bit_exact  # rendering leaves the physics alone


def test_bench_record_json_smoke(tmp_path: Path, offscreen_gl: None) -> None:
    import json

    result = CliRunner().invoke(app, ["bench", "record", "--agent", "pid", "--episodes", "1",
                                      "--max-steps", "10", "--repeats", "1", "--frames", "1",
                                      "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"record_overhead", "replay_fps", "render_fps"} <= set(out)
    assert out["replay_bit_exact"] and out["render_frames"] == 1


def test_initial_state_is_restored_when_the_reset_cannot_be(tmp_path: Path) -> None:
    # an episode reset without seed whose generator state is lost: the reset lands elsewhere,
    # the recorded MuJoCo state is restored, and a deterministic env then replays exactly
    import json

    path = _record(tmp_path / "ds", "neurofit/QuadHover-v0", QuadPID, 30, 2)
    file = path / "data" / "episodes" / "episode_1.hdf5"
    with h5py.File(file, "r+") as f:
        nf = json.loads(f["episode_1"].attrs["neurofit"])
        nf["rng_state"] = None
        f["episode_1"].attrs["neurofit"] = json.dumps(nf)
    check = replay_episode(open_recording(path), 1)
    assert check.initial_state_restored
    assert check.qpos_dev[0] > 0.0  # row 0: the reset, before the restore
    assert check.qpos_dev[1:].max() == 0.0 and check.qvel_dev[1:].max() == 0.0
