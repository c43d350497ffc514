"""Quadrotor video: a still camera, a target marker and height rod, the payload drawn once it
attaches — and none of it changes the physics by a bit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import neurofit.envs  # noqa: F401  (registers the ids)
from neurofit.agents.reflex import QuadReflex
from neurofit.envs import quadrotor_platform

ENV_ID = "neurofit/QuadHoverPayload-v0"  # +30 % mass on body "quad" at t = 2 s


def _fly(env: gym.Env, steps: int, render_every: int = 0) -> np.ndarray:
    """qpos, qvel, observation, reward and rotor thrusts of every step of a seeded PD flight."""
    obs, _ = env.reset(seed=4)
    reflex = QuadReflex(env, integral=False)
    reflex.reset()
    rows = []
    for k in range(steps):
        obs, reward, _term, _trunc, info = env.step(reflex.act(obs, np.zeros(3)))
        if render_every and k % render_every == 0:
            assert env.render() is not None
        rows.append(np.concatenate([info["qpos"], info["qvel"], obs, [reward],
                                    info["rotor_thrust_n"]]))
    return np.array(rows)


def _without_visual_additions(src: str, dst: Path) -> str:
    """The MJCF without the payload geoms and the "fixed" camera: the model as it was before
    they were added."""
    tree = ET.parse(src)
    for parent in tree.iter():
        for child in list(parent):
            if child.get("name") in ("payload", "payload_tether", "fixed"):
                parent.remove(child)
    tree.write(dst)
    return str(dst)


@pytest.mark.parametrize("platform", ["micro", "heavy"])
def test_visual_additions_and_rendering_leave_the_physics_bit_identical(
        platform: str, tmp_path: Path, offscreen_gl: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    full = gym.make(ENV_ID, platform=platform, render_mode="rgb_array", width=64, height=48)
    model = full.unwrapped.model
    for name in ("payload", "payload_tether"):
        g = model.geom(name)
        assert (g.contype[0], g.conaffinity[0]) == (0, 0), name
    drawn = _fly(full, 260, render_every=20)  # past the payload (t = 2 s, step 200)
    full.close()
    original = quadrotor_platform.QuadrotorPlatform.asset_path
    monkeypatch.setattr(quadrotor_platform.QuadrotorPlatform, "asset_path",
                        lambda self: _without_visual_additions(original(self),
                                                               tmp_path / self.asset))
    bare = gym.make(ENV_ID, platform=platform, camera="track")
    assert bare.unwrapped.model.ngeom == model.ngeom - 2
    plain = _fly(bare, 260)
    bare.close()
    np.testing.assert_array_equal(drawn, plain)


def _orange(frame: np.ndarray) -> int:
    """Pixels of the payload's orange (rgba 0.95 0.6 0.1), lit or shaded."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return int(np.sum((r > 150) & (g > 0.45 * r) & (g < 0.8 * r) & (b < 0.3 * r)))


def _orange_centroid(frame: np.ndarray) -> np.ndarray:
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return np.argwhere((r > 150) & (g > 0.45 * r) & (g < 0.8 * r) & (b < 0.3 * r)).mean(axis=0)


def _green(frame: np.ndarray) -> int:
    """Pixels of the target marker's green."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return int(np.sum((g > 120) & (g > 1.5 * r) & (g > 1.5 * b)))


def _pixel(model: mujoco.MjModel, data: mujoco.MjData, cam: int, point: np.ndarray,
           width: int, height: int) -> np.ndarray:
    """(row, column) of a world point in a pinhole camera's image."""
    rot = data.cam_xmat[cam].reshape(3, 3)  # columns: camera x (right), y (up), z (back)
    x, y, z = rot.T @ (point - data.cam_xpos[cam])
    f = 0.5 * height / np.tan(np.radians(model.cam_fovy[cam]) / 2)
    return np.array([0.5 * height - f * y / -z, 0.5 * width + f * x / -z])


def test_payload_appears_when_it_attaches_and_the_camera_stays_still(
        offscreen_gl: None) -> None:
    env = gym.make(ENV_ID, render_mode="rgb_array", width=320, height=240)
    u = env.unwrapped
    cam = u.model.camera("fixed").id
    obs, _ = env.reset(seed=0)
    reflex = QuadReflex(env, integral=False)
    reflex.reset()
    frames, cams, heights, drone_px = {}, {}, {}, {}
    for k in range(1, 601):
        obs, _r, _t, _tr, info = env.step(reflex.act(obs, np.zeros(3)))
        if k in (150, 600):  # t = 1.5 s (no payload yet) and 6 s (carried, sagging)
            frames[k] = env.render()
            cams[k] = u.data.cam_xpos[cam].copy()
            heights[k] = info["qpos"][2]
            drone_px[k] = _pixel(u.model, u.data, cam, u.data.xpos[1], 320, 240)
    env.close()
    assert _orange(frames[150]) == 0 and _orange(frames[600]) > 20
    assert _green(frames[150]) > 20 and _green(frames[600]) > 20  # the target marker
    np.testing.assert_array_equal(cams[150], cams[600])  # a still camera: the sag shows
    assert heights[600] < heights[150] - 0.1  # the PD reflex alone sags under the payload
    # in frame, and lower in the picture by the sag; the payload hangs just below the drone
    for px in drone_px.values():
        assert 0 < px[0] < 240 and 0 < px[1] < 320
    assert drone_px[600][0] > drone_px[150][0] + 20
    below = _orange_centroid(frames[600]) - drone_px[600]
    assert 0 < below[0] < 30 and abs(below[1]) < 5
