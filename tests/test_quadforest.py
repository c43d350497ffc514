"""QuadForest: conformance, seeded maps, the scan against NumPy geometry, bad input, collision and
success, the teacher, and bit-exact record and replay."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import neurofit.envs  # noqa: F401  (registers the ids)
from neurofit.agents.pid import QuadPID
from neurofit.envs import _forest_kernels as FK
from neurofit.envs.quadrotor_forest import FOREST_DEFAULTS, QuadForestEnv
from neurofit.envs.recorded import open_recording
from neurofit.envs.recording import EpisodeRecorder
from neurofit.envs.replay import replay_episode

FOREST_IDS = ["neurofit/QuadForest-v0", "neurofit/QuadForestHeavy-v0"]
#: every info key of a step, as documented in the module docstring (plus "obstacles" and
#: "n_obstacles" at reset, "teacher_velocity_mps" with the teacher on)
STEP_KEYS = {
    "reward_alive", "reward_position", "reward_velocity", "reward_attitude", "reward_rate",
    "reward_energy", "reward_crash", "reward_progress", "reward_collision", "reward_success",
    "error", "tracking_error_m", "power_w", "energy_j", "rotor_thrust_n", "qpos", "qvel",
    "time_s", "target_pos", "action_clipped", "disturbances", "termination_reason", "success",
    "collision", "min_clearance_m", "distance_to_goal_m", "goal_pos",
}  # fmt: skip
STILL = {"init_pos_range_m": 0.0, "init_vel_range_mps": 0.0, "init_tilt_range_rad": 0.0,
         "init_yaw_range_rad": 0.0}


def _quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """Rotation matrix of a unit quaternion (w, x, y, z), textbook form."""
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])  # fmt: skip


def _teacher_flight(env: QuadForestEnv, seed: int, options: dict | None = None,
                    follow_teacher: bool = True, steps: int = 1500) -> tuple[dict, float, float]:
    """Fly ``env`` with the PD reflex fed ``info["error"]`` in place of the observation's own
    errors (the teacher's command) or the observation itself (the nominal straight line).
    Returns the last info, the smallest clearance and the largest lateral teacher command."""
    pid = QuadPID.from_env(env, integral=False)
    obs, info = env.reset(seed=seed, options=options)
    lowest, lateral = math.inf, 0.0
    for _ in range(steps):
        state = obs[:18].copy()
        if follow_teacher:
            state[0:3], state[12:15] = info["error"][:3], info["error"][3:]
            lateral = max(lateral, abs(info["teacher_velocity_mps"][1]))
        obs, _, terminated, truncated, info = env.step(pid.act(state))
        lowest = min(lowest, info["min_clearance_m"])
        if terminated or truncated:
            break
    return info, lowest, lateral


# -- conformance ------------------------------------------------------------------------------
@pytest.mark.parametrize("env_id", FOREST_IDS)
def test_check_env(env_id: str) -> None:
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_layout_info_and_reward_follow_the_documented_formulas() -> None:
    env = gym.make("neurofit/QuadForest-v0")
    base = env.unwrapped
    obs, info = env.reset(seed=4)
    assert set(info) == STEP_KEYS | {"obstacles", "n_obstacles", "teacher_velocity_mps"}
    sl = base.OBS_SLICES
    assert obs.shape == env.observation_space.shape == (18 + 3 + 64,)
    covered = sorted((s.start, s.stop) for k, s in sl.items() if k in ("state", "goal", "scan"))
    assert covered == [(0, 18), (18, 21), (21, 85)]
    goal = np.array([2.0, 0.0, 1.0])  # micro defaults: L = 4 m, h = 1 m
    cruise, dt = 1.0, 0.01
    rng = np.random.default_rng(0)
    prev_d = math.hypot(*(goal[:2] - info["qpos"][:2]))
    for _ in range(40):
        action = (base.platform.hover_action + 0.05 * rng.standard_normal(4)).astype(np.float32)
        obs, reward, terminated, _, info = env.step(action)
        assert set(info) == STEP_KEYS | {"teacher_velocity_mps"}
        p, v = info["qpos"][:3], info["qvel"][:3]
        to_goal = (goal - p)[:2]
        d = float(np.linalg.norm(to_goal))
        v_nominal = np.array([*(cruise * to_goal / d), 0.0])
        # the state block is the base layout about the nominal set-point (no sensor noise here)
        np.testing.assert_allclose(obs[sl["pos_err"]], [0.0, 0.0, goal[2] - p[2]], atol=1e-12)
        np.testing.assert_allclose(obs[sl["vel_err"]], v_nominal - v, atol=1e-12)
        np.testing.assert_allclose(obs[sl["goal"]], goal - p, atol=1e-12)
        np.testing.assert_array_equal(info["target_pos"], [p[0], p[1], goal[2]])
        # error = teacher's set-point minus the state, in the base's layout
        np.testing.assert_allclose(info["error"][:3], obs[sl["pos_err"]], atol=1e-12)
        np.testing.assert_allclose(info["error"][3:], info["teacher_velocity_mps"] - v, atol=1e-12)
        assert np.linalg.norm(info["teacher_velocity_mps"]) == pytest.approx(cruise)
        assert info["teacher_velocity_mps"][2] == 0.0
        assert info["distance_to_goal_m"] == pytest.approx(d, rel=1e-12)
        assert info["reward_progress"] == pytest.approx((prev_d - d) / (cruise * dt), rel=1e-9)
        assert info["reward_alive"] == 0.0  # the forest's default
        assert reward == pytest.approx(
            sum(v for k, v in info.items() if k.startswith("reward_")), abs=1e-12)
        scan = obs[sl["scan"]]
        assert np.all((scan >= 0.0) & (scan <= 1.0))
        prev_d = d
        if terminated:
            break
    env.close()


def test_teacher_off_changes_nothing_but_the_error() -> None:
    on = QuadForestEnv(teacher=True)
    off = QuadForestEnv(teacher=False)
    obs_on, _ = on.reset(seed=9)
    obs_off, info = off.reset(seed=9)
    np.testing.assert_array_equal(obs_on, obs_off)
    assert np.all(np.isnan(info["error"])) and info["error"].shape == (6,)
    assert "teacher_velocity_mps" not in info
    rng = np.random.default_rng(1)
    for _ in range(30):
        a = (on.platform.hover_action + 0.05 * rng.standard_normal(4)).astype(np.float32)
        o1, r1, t1, _, i1 = on.step(a)
        o2, r2, t2, _, i2 = off.step(a)
        np.testing.assert_array_equal(o1, o2)
        assert r1 == r2 and t1 == t2
        assert np.all(np.isnan(i2["error"])) and "teacher_velocity_mps" not in i2
        assert np.all(np.isfinite(i1["error"]))


# -- seeded maps ------------------------------------------------------------------------------
@pytest.mark.parametrize("platform,shape", [("micro", "cylinder"), ("micro", "mixed"),
                                            ("heavy", "box")])
def test_maps_are_seeded_recorded_and_keep_their_rules(platform: str, shape: str) -> None:
    env = QuadForestEnv(platform=platform, obstacle_shape=shape)
    d = FOREST_DEFAULTS[platform]
    length, width = d["field_length_m"], d["field_width_m"]
    n_expected = round(d["density_per_m2"] * length * width)
    maps = {}
    for seed in (0, 0, 1):
        _, info = env.reset(seed=seed)
        maps.setdefault(seed, []).append(info["obstacles"])
        ob = info["obstacles"]
        n = info["n_obstacles"]
        assert n == n_expected == ob["xy_m"].shape[0]
        xy, size, box = ob["xy_m"], ob["size_m"], ob["is_box"]
        if shape == "cylinder":
            assert not box.any()
        if shape == "box":
            assert box.all()
        circ = np.where(box, np.hypot(size[:, 0], size[:, 1]), size[:, 0])
        lo, hi = d["obstacle_size_m"]
        assert np.all((size >= lo) & (size <= hi))
        assert np.all(np.abs(xy[:, 0]) <= length / 2) and np.all(np.abs(xy[:, 1]) <= width / 2)
        for end in (env.start_pos[:2], env.goal_pos[:2]):
            assert np.all(np.linalg.norm(xy - end, axis=1) - circ >= d["clear_radius_m"])
        gaps = np.linalg.norm(xy[:, None] - xy[None], axis=2) - circ[:, None] - circ[None]
        assert np.all(gaps[~np.eye(n, dtype=bool)] >= d["min_gap_m"])
        # MuJoCo holds the same map: one visible pool geom per obstacle, at its pose and size
        m, dat = env.model, env.data
        shown = [g for g in range(m.ngeom)
                 if m.geom(g).name.startswith("obstacle_") and m.geom_group[g] == 1]
        assert len(shown) == n
        for i in range(n):
            g = min(shown, key=lambda g, i=i: np.linalg.norm(dat.geom_xpos[g, :2] - xy[i]))
            np.testing.assert_allclose(dat.geom_xpos[g, :2], xy[i], atol=1e-12)
            want = size[i] if box[i] else size[i, :1]
            np.testing.assert_allclose(m.geom_size[g, :want.size], want, atol=1e-15)
        assert dat.ncon == 0  # neither the floor nor the parked pool touches an obstacle
    a, b = maps[0]
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(maps[0][0]["xy_m"], maps[1][0]["xy_m"])


# -- the kernels against plain geometry --------------------------------------------------------
def _segment_distance(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    t = np.clip((p - a) @ (b - a) / ((b - a) @ (b - a)), 0.0, 1.0)
    return float(np.linalg.norm(p - (a + t * (b - a))))


def test_clearances_match_polygon_and_circle_distances() -> None:
    rng = np.random.default_rng(0)
    n = 12
    xy = rng.uniform(-2, 2, (n, 2))
    half = rng.uniform(0.05, 0.4, (n, 2))
    is_box = np.arange(n) % 2 == 1
    half[~is_box, 1] = half[~is_box, 0]
    yaw = np.where(is_box, rng.uniform(-math.pi, math.pi, n), 0.0)
    clear = np.zeros(n)
    for p in rng.uniform(-2.5, 2.5, (200, 2)):
        low = FK.clearances(p[0], p[1], xy, half, np.cos(yaw), np.sin(yaw), is_box, 0.07, clear)
        for i in range(n):
            if is_box[i]:  # the rectangle's corners, then edge distances; inside: negative
                c, s = math.cos(yaw[i]), math.sin(yaw[i])
                corners = [xy[i] + np.array([c * u - s * v, s * u + c * v])
                           for u, v in ((half[i, 0], half[i, 1]), (-half[i, 0], half[i, 1]),
                                        (-half[i, 0], -half[i, 1]), (half[i, 0], -half[i, 1]))]
                edge = min(_segment_distance(p, corners[k], corners[(k + 1) % 4])
                           for k in range(4))
                local = np.array([[c, s], [-s, c]]) @ (p - xy[i])
                inside = np.all(np.abs(local) <= half[i])
                want = -edge if inside else edge
            else:
                want = float(np.linalg.norm(p - xy[i])) - half[i, 0]
            assert clear[i] == pytest.approx(want - 0.07, abs=1e-12)
        assert low == clear.min()


def test_cost_to_go_is_the_shortest_path_around_a_pole() -> None:
    """Without the proximity cost the navigation function is the travel distance: straight in
    the open, tangents and an arc around an (inflated) pole; its descent points along it."""
    res, x0, y0 = 0.02, -2.0, -1.5
    grid = np.zeros((201, 151))
    pole = np.array([[0.5, 0.0]])
    r_pole, r_vehicle = 0.2, 0.1
    goal = np.array([1.6, 0.0])
    FK.cost_to_go(x0, y0, res, pole, np.full((1, 2), r_pole), np.ones(1), np.zeros(1),
                  np.zeros(1, dtype=bool), r_vehicle, 1.0, 0.0, goal[0], goal[1], grid)
    rho = r_pole + r_vehicle  # the pole inflated by the vehicle

    def travel(p: np.ndarray) -> float:
        a, b = p - pole[0], goal - pole[0]
        da, db = np.linalg.norm(a), np.linalg.norm(b)
        t = np.clip((pole[0] - p) @ (goal - p) / ((goal - p) @ (goal - p)), 0.0, 1.0)
        if np.linalg.norm(p + t * (goal - p) - pole[0]) >= rho:
            return float(np.linalg.norm(goal - p))  # in sight of the goal
        theta = math.acos(np.clip(a @ b / (da * db), -1.0, 1.0))
        arc = theta - math.acos(rho / da) - math.acos(rho / db)
        return math.sqrt(da**2 - rho**2) + math.sqrt(db**2 - rho**2) + rho * arc

    out = np.zeros(2)
    for p in ([-1.5, 0.2], [-1.0, 0.6], [-1.2, -0.9], [0.0, 1.2], [1.0, -1.0], [-0.3, 0.08]):
        p = np.array(p)
        i, j = round((p[0] - x0) / res), round((p[1] - y0) / res)
        assert grid[i, j] == pytest.approx(travel(p), rel=0.02)
        FK.descent_velocity(grid, x0, y0, res, p[0], p[1], goal[0], goal[1], 1.0, out)
        # the descent heads where the travel distance falls fastest (finite differences)
        ex, ey = np.array([1e-4, 0.0]), np.array([0.0, 1e-4])
        grad = np.array([travel(p + ex) - travel(p - ex), travel(p + ey) - travel(p - ey)]) / 2e-4
        cos = float(-grad @ out / np.linalg.norm(grad))
        assert cos > math.cos(math.radians(8.0)), (p, out, grad)


# -- the scan ---------------------------------------------------------------------------------
def _reference_scan(origin: np.ndarray, dirs: np.ndarray, layout: dict, max_range: float,
                    top_m: float) -> np.ndarray:
    """Normalised ranges by plain ray geometry: vertical cylinders and boxes (slabs in the box
    frame) from the floor to ``top_m``, and the floor plane z = 0."""
    out = np.ones(len(dirs))
    for k, dvec in enumerate(dirs):
        hits = []
        if dvec[2] < 0.0:
            hits.append(-origin[2] / dvec[2])
        for c, s, yaw, box in zip(layout["xy_m"], layout["size_m"], layout["yaw_rad"],
                                  layout["is_box"], strict=True):
            o = origin[:2] - c
            if box:
                rot = np.array([[math.cos(yaw), math.sin(yaw)], [-math.sin(yaw), math.cos(yaw)]])
                o, dd = rot @ o, rot @ dvec[:2]
                t_lo, t_hi = -math.inf, math.inf
                for ax in range(2):
                    if abs(dd[ax]) < 1e-15:
                        if abs(o[ax]) > s[ax]:
                            t_lo = math.inf
                        continue
                    t1, t2 = (-s[ax] - o[ax]) / dd[ax], (s[ax] - o[ax]) / dd[ax]
                    t_lo, t_hi = max(t_lo, min(t1, t2)), min(t_hi, max(t1, t2))
                t = t_lo if t_lo <= t_hi and t_lo >= 0.0 else None
            else:
                a = dvec[0] ** 2 + dvec[1] ** 2
                b = 2.0 * (o @ dvec[:2])
                disc = b * b - 4.0 * a * (o @ o - s[0] ** 2)
                t = (-b - math.sqrt(disc)) / (2.0 * a) if a > 0 and disc >= 0 else None
                t = t if t is not None and t >= 0.0 else None
            if t is not None and 0.0 <= origin[2] + t * dvec[2] <= top_m:
                hits.append(t)
        if hits and min(hits) <= max_range:
            out[k] = min(hits) / max_range
    return out


@pytest.mark.parametrize("frame,rows,fov", [("level", 1, 180.0), ("body", 3, 360.0),
                                            ("level", 2, 90.0)])
def test_scan_matches_ray_geometry(frame: str, rows: int, fov: float) -> None:
    spacing = 30.0
    env = QuadForestEnv(obstacle_shape="mixed", n_rays=48, n_rows=rows, fov_deg=fov,
                        row_spacing_deg=spacing, scan_frame=frame, init_tilt_range_rad=0.3,
                        init_yaw_range_rad=1.0)
    layout = {  # hand-placed around the start (-2, 0, 1), within the 3 m range
        "xy_m": [[-1.2, 0.1], [-2.0, 1.1], [-0.6, -0.9], [-2.9, -0.8], [-1.5, -1.6]],
        "size_m": [[0.15, 0.15], [0.1, 0.1], [0.12, 0.07], [0.14, 0.05], [0.08, 0.15]],
        "yaw_rad": [0.0, 0.0, 0.4, -1.1, 2.0],
        "is_box": [False, False, True, True, True],
    }
    for seed in range(3):
        obs, info = env.reset(seed=seed, options={"obstacles": layout})
        np.testing.assert_array_equal(info["obstacles"]["xy_m"], layout["xy_m"])
        q = info["qpos"]
        rot = _quat_to_matrix(q[3:7])
        if frame == "level":
            yaw = math.atan2(rot[1, 0], rot[0, 0])
            rot = np.array([[math.cos(yaw), -math.sin(yaw), 0.0],
                            [math.sin(yaw), math.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
        per_row = 48 // rows
        az = np.radians(-fov / 2 + fov * (np.arange(per_row) + 0.5) / per_row)
        el = np.radians((np.arange(rows) - (rows - 1) / 2) * spacing)
        local = np.array([[math.cos(e) * math.cos(a), math.cos(e) * math.sin(a), math.sin(e)]
                          for e in el for a in az])
        want = _reference_scan(q[:3], local @ rot.T, info["obstacles"], 3.0, 3.5)
        scan = obs[env.OBS_SLICES["scan"]]
        assert np.sum(want < 1.0) >= 5  # the layout is in view
        np.testing.assert_allclose(scan, want, rtol=0, atol=1e-9)
        if rows == 3:
            assert np.any(want[:per_row] < 1.0)  # the lowest row sees the floor


def test_range_noise_is_seeded_and_only_on_hits() -> None:
    a = QuadForestEnv(range_noise_std_m=0.05, sensor_noise="realistic")
    b = QuadForestEnv(range_noise_std_m=0.05, sensor_noise="realistic")
    clean = QuadForestEnv(sensor_noise="realistic")
    oa, _ = a.reset(seed=3)
    ob, _ = b.reset(seed=3)
    oc, _ = clean.reset(seed=3)
    np.testing.assert_array_equal(oa, ob)
    sl = a.OBS_SLICES["scan"]
    miss = oc[sl] == 1.0
    assert np.all(oa[sl][miss] == 1.0) and not np.array_equal(oa[sl][~miss], oc[sl][~miss])
    assert np.max(np.abs(oa[sl] - oc[sl])) * 3.0 < 0.05 * 6  # within 6 std
    oa2, _ = a.reset(seed=4)
    ob2, _ = b.reset(seed=5)
    assert not np.array_equal(oa2, ob2)


# -- bad input --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"n_rays": 0}, r"n_rays must be an integer in \[1, 4096\], got 0"),
        ({"n_rays": 4097}, r"n_rays must be an integer in \[1, 4096\], got 4097"),
        ({"n_rays": 64.0}, r"n_rays must be an integer in \[1, 4096\], got 64.0"),
        ({"max_range_m": -1.0}, r"max_range_m must be in \(0.0, 100.0\], got -1.0"),
        ({"max_range_m": 0.0}, r"max_range_m must be in \(0.0, 100.0\], got 0.0"),
        ({"density_per_m2": -0.1}, r"density_per_m2 must be in \[0.0, 1.0\], got -0.1"),
        ({"density_per_m2": 1.5}, r"density_per_m2 must be in \[0.0, 1.0\], got 1.5"),
        ({"density_per_m2": 1.0}, r"density_per_m2=1.0 asks for 12 obstacles .* at most \d+ "
                                  r"fit .* density_per_m2 <= 0\.\d+"),
        ({"fov_deg": 0.0}, r"fov_deg must be in \(0.0, 360.0\], got 0.0"),
        ({"fov_deg": 361.0}, r"fov_deg must be in \(0.0, 360.0\], got 361.0"),
        ({"n_rows": 3}, r"n_rays \(64\) must be a multiple of n_rows \(3\)"),
        ({"n_rows": 0}, r"n_rows must be an integer in \[1, 16\], got 0"),
        ({"n_rows": 8, "row_spacing_deg": 20.0}, r"reach beyond \+-60 deg"),
        ({"range_noise_std_m": -0.1}, r"range_noise_std_m must be in \[0.0, 3.0\]"),
        ({"scan_frame": "world"}, r"scan_frame must be one of \('level', 'body'\)"),
        ({"obstacle_shape": "cone"}, r"obstacle_shape must be one of"),
        ({"obstacle_size_m": (0.2, 0.1)}, r"obstacle_size_m must be \(min, max\) with 0 < min"),
        ({"obstacle_size_m": 0.1}, r"obstacle_size_m must be \(min, max\) in metres"),
        ({"min_gap_m": 0.1}, r"min_gap_m must exceed the vehicle's diameter, 0.137 m .* got 0.1"),
        ({"field_length_m": 6.0}, r"field_length_m must be <= 2 \* \(arena_half_width_m - "
                                  r"clear_radius_m\) = 5.0 m, got 6.0"),
        ({"flight_height_m": 3.0}, r"flight_height_m must be below arena_ceiling_m=3.0"),
        ({"clear_radius_m": 0.3}, r"clear_radius_m must exceed the initial offset plus the "
                                  r"vehicle radius \(0.351 m\), got 0.3"),
        ({"goal_radius_m": 0.6}, r"goal_radius_m must be in \(0.0, 0.5\], got 0.6"),
        ({"cruise_speed_mps": 0.0}, r"cruise_speed_mps must be in \(0.0, 20.0\], got 0.0"),
        ({"teacher": "yes"}, r"teacher must be True or False, got 'yes'"),
        ({"platform": "jumbo"}, r"platform must be one of \('micro', 'heavy'\)"),
    ],
)
def test_bad_keywords_name_field_value_and_range(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        QuadForestEnv(**kwargs)


def test_bad_hand_made_map_is_named() -> None:
    env = QuadForestEnv()  # cylinders only, 8 of them
    with pytest.raises(ValueError, match=r'options\["obstacles"\] must be a dict'):
        env.reset(seed=0, options={"obstacles": [[0.0, 0.0]]})
    with pytest.raises(ValueError, match=r"every size in \(0, 0.15\] m"):
        env.reset(seed=0, options={"obstacles": {"xy_m": [[0, 0]], "size_m": [[0.3, 0.3]]}})
    with pytest.raises(ValueError, match=r"0 cylinders and 1 boxes, but this env holds at most "
                                         r"8 cylinders and 0 boxes"):
        env.reset(seed=0, options={"obstacles": {"xy_m": [[0, 0]], "size_m": [[0.1, 0.1]],
                                                 "is_box": [True]}})


# -- collision, success -----------------------------------------------------------------------
def test_collision_terminates_with_its_reason_and_cost() -> None:
    env = QuadForestEnv(**STILL)
    pole = {"xy_m": [[-1.0, 0.0]], "size_m": [[0.1, 0.1]]}
    env.reset(seed=0, options={"obstacles": pole})
    # the rotor disc (radius 0.0685 m) overlaps the pole, the hull box does not reach it yet
    env.data.qpos[:3] = [-1.0 - 0.1 - 0.06, 0.0, 1.0]
    _, reward, terminated, _, info = env.step(np.full(4, env.platform.hover_action, np.float32))
    assert terminated and info["collision"] and not info["success"]
    assert info["termination_reason"] == "collision"
    assert info["min_clearance_m"] == pytest.approx(
        math.hypot(*(info["qpos"][:2] - [-1.0, 0.0])) - 0.1 - env.vehicle_radius_m, abs=1e-12)
    assert info["min_clearance_m"] < 0.0
    assert info["reward_collision"] == -100.0 and info["reward_crash"] == 0.0
    assert reward == pytest.approx(sum(v for k, v in info.items() if k.startswith("reward_")))


def test_obstacles_are_mujoco_collision_geoms() -> None:
    env = QuadForestEnv(obstacle_shape="box", **STILL)
    box = {"xy_m": [[-1.0, 0.0]], "size_m": [[0.1, 0.1]], "is_box": [True]}
    env.reset(seed=0, options={"obstacles": box})
    d = env.data
    d.qpos[:3] = [-1.0 - 0.1 - 0.03, 0.0, 1.0]  # the hull (half-width 0.035 m) 5 mm inside
    mujoco.mj_forward(env.model, d)
    names = {env.model.geom(g).name for c in d.contact[: d.ncon] for g in c.geom}
    assert "hull" in names and any(n.startswith("obstacle_") for n in names)
    _, _, terminated, _, info = env.step(np.full(4, env.platform.hover_action, np.float32))
    assert terminated and info["termination_reason"] == "collision"


def test_success_terminates_with_its_reason_and_bonus() -> None:
    env = QuadForestEnv(**STILL)
    env.reset(seed=0)
    env.data.qpos[:3] = env.goal_pos + np.array([-0.1, 0.05, 0.0])
    _, reward, terminated, _, info = env.step(np.full(4, env.platform.hover_action, np.float32))
    assert terminated and info["success"] and not info["collision"]
    assert info["termination_reason"] == "success"
    assert info["reward_success"] == 100.0
    assert reward == pytest.approx(sum(v for k, v in info.items() if k.startswith("reward_")))


# -- the teacher ------------------------------------------------------------------------------
def test_teacher_steers_around_a_pole_straight_ahead() -> None:
    env = QuadForestEnv(**STILL)
    pole = {"xy_m": [[0.0, 0.0]], "size_m": [[0.15, 0.15]]}  # on the start-goal line
    info, lowest, lateral = _teacher_flight(env, 0, {"obstacles": pole})
    assert info["termination_reason"] == "success"
    assert lowest > 0.05 and lateral > 0.3  # went around, with room to spare
    info, lowest, _ = _teacher_flight(env, 0, {"obstacles": pole}, follow_teacher=False)
    assert info["termination_reason"] == "collision"  # the nominal line hits it


@pytest.mark.parametrize("env_id,seeds", [("neurofit/QuadForest-v0", range(8)),
                                          ("neurofit/QuadForestHeavy-v0", range(4))])
def test_teacher_reaches_the_goal_on_random_maps(env_id: str, seeds: range) -> None:
    env = gym.make(env_id).unwrapped
    for seed in seeds:
        info, lowest, _ = _teacher_flight(env, seed)
        assert info["termination_reason"] == "success", seed
        assert lowest > 0.0


# -- record and replay ------------------------------------------------------------------------
def test_recorded_episode_replays_bit_exactly(tmp_path: Path) -> None:
    env = EpisodeRecorder(gym.make("neurofit/QuadForest-v0", range_noise_std_m=0.02),
                          tmp_path / "ds")
    base = env.unwrapped
    pid = QuadPID.from_env(base, integral=False)
    obs, info = env.reset(seed=11)
    first_map = info["obstacles"]
    for _ in range(150):
        state = obs[:18].copy()
        state[0:3], state[12:15] = info["error"][:3], info["error"][3:]
        obs, _, terminated, truncated, info = env.step(pid.act(state))
        if terminated or truncated:
            break
    env.close()
    rec = open_recording(tmp_path / "ds")
    episode = rec.episode(0)
    np.testing.assert_array_equal(episode.infos["obstacles"]["xy_m"][0], first_map["xy_m"])
    check = replay_episode(rec, 0)
    assert check.bit_exact
    assert check.n_steps > 100


# -- rendering, pickling ----------------------------------------------------------------------
def test_render_draws_the_obstacles_and_the_scan(offscreen_gl: None) -> None:
    frames = []
    for density in (0.0, 0.7):
        env = QuadForestEnv(density_per_m2=density, render_mode="rgb_array", width=160,
                            height=120)
        env.reset(seed=0)
        frames.append(env.render())
        env.close()
    assert frames[1].shape == (120, 160, 3) and frames[1].dtype == np.uint8
    changed = np.any(frames[0] != frames[1], axis=2).mean()
    assert changed > 0.02  # the obstacles and the rays that hit them show


def test_pickle_rebuilds_with_the_same_settings() -> None:
    env = QuadForestEnv(platform="heavy", n_rays=32, obstacle_shape="mixed")
    clone = pickle.loads(pickle.dumps(env))
    a, _ = env.reset(seed=2)
    b, _ = clone.reset(seed=2)
    np.testing.assert_array_equal(a, b)
    assert clone.observation_space.shape == (18 + 3 + 32,)
