"""``neurofit/QuadForest-v0``: fly through a seeded field of obstacles on a range scan.

The drone starts at one end of a field of vertical obstacles (cylinders, boxes or both, placed
from the env's ``np_random`` at every reset) and must reach a goal at the other end, at a
commanded cruise speed, without touching an obstacle. It sees its own state, the vector to the
goal and a **range scan** cast with ``mujoco.mj_multiRay`` once per control tick.

Course (world frame, x toward the goal)::

    start (-L/2, 0, h)  ───────── field L x W, obstacles ─────────▶  goal (+L/2, 0, h)

Obstacle centres are uniform in the field ``|x| <= L/2, |y| <= W/2``, rejecting a draw whose
circumscribed circle comes closer than ``clear_radius_m`` to the start or the goal, or closer
than ``min_gap_m`` to another obstacle's. ``min_gap_m`` exceeds the vehicle's diameter
(checked), so no two obstacles close a passage and a path to the goal always exists.
The count is ``round(density_per_m2 * L * W)``; a density whose obstacles cannot be placed
that far apart is refused with the largest density that can (a draw that still finds no room
after 2000 tries keeps the obstacles it has: ``info["n_obstacles"]``). Obstacles are taller
than the arena: the drone goes around them, never over. ``reset(options={"obstacles": ...})``
sets a hand-made map instead (:meth:`QuadForestEnv.reset`).

The pool of obstacle geoms is compiled into the model once (built from the platform's MJCF with
``MjSpec``): one mocap body per obstacle, so moving one is a change of MuJoCo state that ray
casting and collision detection see at once (MuJoCo's bounding volumes of a body are fixed at
compile time, in the body's frame: the geoms are compiled at the largest size and only shrunk).
A reset moves, resizes and shows the geoms it uses and parks the rest far below the floor, out
of the scan's geom groups and out of the picture.

**Command interface and the teacher (feedback-error learning).** The action is the base's
four rotor commands, so every quadrotor controller (PID, the PD reflex of a NeuroFit agent,
PPO) flies this env as it flies the others. The observation's state block is the base layout
(:mod:`neurofit.envs.quadrotor`) about a **nominal set-point** that needs no map: hold the
flight height, fly at ``cruise_speed_mps`` straight at the goal::

    p_target = (x, y, h)        (the drone's own x, y: no pull back to any line)
    v_target = cruise * unit(goal_xy - p_xy), vertical 0

A reflex tracking it flies straight into the trees. Avoidance is the learner's job: from the
scan it produces the correction that turns the nominal velocity into an avoiding one. The
**privileged teacher** sees the true map and computes that avoiding velocity ``v_teacher``:
at reset it solves a navigation function on a grid over the field (the travel cost to the
goal by the fast marching method, obstacles inflated by the vehicle's radius, travel dearer
within ``teacher_influence_m`` of them: a potential field with a single minimum, so it never
stalls in front of an obstacle or between two); each tick it commands ``cruise_speed_mps``
down that field's slope at the point the drone reaches 0.35 s later (the reflex's lag).
``info["error"]`` is the teacher's set-point minus what the agent flies, in the base's error
layout and units::

    error = [p_target - p, v_teacher - v]      (6,) world frame, as sensed
          = base error + [0, 0, 0, v_teacher - v_target]

so a reflex's feedback on ``error`` (``Kp e_p + Kd e_v``, what
:class:`~neurofit.agents.reflex.QuadReflex` teaches with) is exactly the correction the agent
still lacks, and it vanishes once the agent flies the teacher's command on its own; a
controller fed ``error`` in place of the observation's own errors flies the teacher itself
(the expert for imitation and the tests). ``teacher=False`` (evaluation) computes no teacher:
``info["error"]`` is NaN and ``info["teacher_velocity_mps"]`` is absent, so the agent flies on
the scan alone. The error is a velocity command by design: the scan tells where to go, the
inner reflex keeps the drone upright, as in the laser-scan navigation literature.

Observation, float64, ``OBS_SLICES`` (an instance attribute: the scan's size is a keyword)::

    [0:18]     state   the base's 18: p_target - p, R, v_target - v, omega (noisy with
                       ``sensor_noise``)
    [18:21]    goal    goal - p, world frame [m] (true)
    [21:21+N]  scan    range / max_range_m of each ray, 1.0 = nothing within range

The scan: ``n_rays`` rays in ``n_rows`` rows of ``n_rays / n_rows``; within a row azimuths
``-fov/2 + fov (k + 0.5) / per_row`` (k = 0 .. per_row - 1, right to left, 0 = ahead),
rows at elevations ``(j - (n_rows - 1) / 2) * row_spacing_deg`` (j = 0 lowest first); ray
``j * per_row + k``. :attr:`scan_angles_rad` lists them. Rays start at the body origin in the
heading frame (``scan_frame="level"``: a levelled scanner that turns with the yaw only) or in
the body frame (``"body"``: tilts with the drone and can see the floor). They hit obstacles and
the floor, not the drone. A hit's range gets Gaussian noise of ``range_noise_std_m`` (from the
env's ``np_random``) and is clipped into [0, max_range_m].

Reward: the base's terms (alive, position, velocity, attitude, rate, energy, crash) about the
nominal set-point, plus::

    reward_progress   progress_reward_weight * (d_prev - d) / (cruise_speed_mps * dt)
                      (d: horizontal distance to the goal; +weight per step at cruise speed)
    reward_collision  -collision_cost on a collision
    reward_success    +success_reward on reaching the goal

``reward`` is the sum of every ``reward_*`` in ``info``. Termination: the base's reasons, and
``"collision"`` (the vehicle's disc, rotor tips included, touches an obstacle, or MuJoCo
reports a contact with one; charged ``collision_cost``, not ``crash_cost``) or ``"success"``
(within ``goal_radius_m`` of the goal, horizontally, with nothing else ending the step).

``info``: every base key (module :mod:`neurofit.envs.quadrotor`; ``target_pos`` is the nominal
set-point, ``tracking_error_m`` its distance, i.e. the height error), and::

    reward_progress, reward_collision, reward_success   see above
    success, collision   bools
    min_clearance_m      distance from the vehicle's disc to the nearest obstacle surface
                         (inf without obstacles; < 0 means overlap)
    distance_to_goal_m   horizontal distance to the goal
    goal_pos             (3,) the goal
    teacher_velocity_mps (3,) the teacher's velocity command (only with ``teacher=True``)
    obstacles            at reset only: {"xy_m" (n, 2), "size_m" (n, 2) radius or box
                         half-extents, "yaw_rad" (n,), "is_box" (n,)} of the placed obstacles,
                         in placement order
    n_obstacles          at reset only

Exact replay: the map is drawn from ``np_random`` inside ``reset``, so ``reset(seed=s)``
rebuilds it bit for bit; the obstacles' poses are also mocap state, part of the MuJoCo state
the recorder saves after reset.

Rendering draws the obstacles, the start and goal markers, the scan (red to each hit, faint
green to the end of a miss) and the teacher's velocity command as an arrow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import mujoco
import numpy as np
from gymnasium import spaces, utils

from neurofit.envs import _forest_kernels as FK
from neurofit.envs import _quadrotor_kernels as K
from neurofit.envs.quadrotor import (
    _CRASH_CODES,
    _OBS_HIGH,
    _UNSTABLE_CODES,
    OBS_POS_ERR,
    OBS_RATE,
    OBS_ROT,
    OBS_SIZE,
    OBS_VEL_ERR,
    QuadrotorEnv,
    _check,
)
from neurofit.envs.quadrotor_platform import get_platform

__all__ = ["FOREST_DEFAULTS", "MAX_DENSITY_PER_M2", "MAX_RAYS", "QuadForestEnv"]

#: Per-platform defaults of the keywords left at None (a micro drone among thin poles, a
#: heavy drone among trees; the field fits the platform's arena).
FOREST_DEFAULTS: dict[str, dict[str, Any]] = {
    "micro": {
        "density_per_m2": 0.7,
        "obstacle_size_m": (0.05, 0.15),
        "min_gap_m": 0.3,
        "field_length_m": 4.0,
        "field_width_m": 3.0,
        "clear_radius_m": 0.5,
        "flight_height_m": 1.0,
        "cruise_speed_mps": 1.0,
        "goal_radius_m": 0.25,
        "max_range_m": 3.0,
        "teacher_influence_m": 0.5,
    },
    "heavy": {
        "density_per_m2": 0.1,
        "obstacle_size_m": (0.1, 0.3),
        "min_gap_m": 1.0,
        "field_length_m": 14.0,
        "field_width_m": 8.0,
        "clear_radius_m": 1.5,
        "flight_height_m": 2.0,
        "cruise_speed_mps": 3.0,
        "goal_radius_m": 0.8,
        "max_range_m": 10.0,
        "teacher_influence_m": 2.0,
    },
}
OBSTACLE_SHAPES = ("cylinder", "box", "mixed")
SCAN_FRAMES = ("level", "body")
#: Allowed ranges of the scan and density keywords.
MAX_RAYS = 4096
MAX_ROWS = 16
MAX_DENSITY_PER_M2 = 1.0
#: Largest fraction of the field the obstacles' exclusion discs (radius: circumscribed radius
#: + min_gap_m / 2) may cover: random sequential placement jams near 0.55, and stays quick
#: below this.
MAX_COVERAGE = 0.3
_MAX_ATTEMPTS = 2000  # draws per obstacle before the map keeps the ones it has
_TEACHER_LOOKAHEAD_S = 0.35  # the teacher acts on the position this far ahead (reflex lag)
_TEACHER_PROXIMITY_COST = 8.0  # the teacher's travel cost next to an obstacle: 1 + this
_MAX_GRID_NODES = 200_000  # the teacher's grid is coarsened beyond this
_HIDDEN_GROUP = 5  # geom group of parked obstacles: not in the scan, not drawn
_VISIBLE_GROUP = 1
_SCAN_GROUPS = np.array([1, 1, 0, 0, 0, 0], dtype=np.uint8)  # floor (0) and obstacles (1)
_PARK_Z_M = -100.0  # parked obstacles wait far below the floor
_CYL_RGBA = (0.45, 0.32, 0.2, 1.0)
_BOX_RGBA = (0.5, 0.52, 0.58, 1.0)
_MAX_DRAWN_RAYS = 256  # render at most this many rays (every k-th beyond)
_CAMERA_ELEVATION_DEG = 70.0  # the "fixed" camera looks down on the field (trees hide less)
_CAMERA_FOVY_DEG = 20.0
_OBS_GOAL = slice(OBS_SIZE, OBS_SIZE + 3)


def _check_int(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {value!r}")
    return int(value)


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return str(value)


class QuadForestEnv(QuadrotorEnv, utils.EzPickle):
    """Reach a goal through a seeded obstacle field on a range scan (module docstring).

    Keywords left at None take the platform's value in :data:`FOREST_DEFAULTS`.

    Args:
        platform: ``"micro"`` or ``"heavy"``.
        density_per_m2: obstacles per m² of the field, in [0, 1] (and no more than fit
            ``min_gap_m`` apart: the error names the most that do).
        obstacle_shape: ``"cylinder"``, ``"box"`` (random heading) or ``"mixed"`` (each 50/50).
        obstacle_size_m: (min, max) cylinder radius or box half-side, drawn uniformly [m].
        min_gap_m: smallest gap between obstacles' circumscribed circles; more than the
            vehicle's diameter, so a path always exists [m].
        field_length_m: start-to-goal distance L [m].
        field_width_m: width W of the field [m].
        clear_radius_m: obstacle-free radius around the start and the goal [m].
        flight_height_m: height of the start, the goal and the nominal set-point [m].
        cruise_speed_mps: commanded speed toward the goal [m/s].
        goal_radius_m: success within this horizontal distance of the goal [m].
        n_rays: rays in the scan, in [1, 4096] (the energy study uses 16 ... 1024).
        fov_deg: horizontal field of view of the scan, in (0, 360].
        n_rows: elevation rows, in [1, 16]; must divide ``n_rays``.
        row_spacing_deg: elevation step between rows, in (0, 30].
        max_range_m: range of the scan, in (0, 100] [m].
        range_noise_std_m: std of the Gaussian range noise of a hit, in [0, max_range_m].
        scan_frame: ``"level"`` (heading only) or ``"body"`` (tilts with the drone).
        teacher: compute the privileged teacher (training); False at evaluation.
        teacher_influence_m: the teacher's travel cost rises within this clearance of an
            obstacle (its paths keep off) [m].
        progress_reward_weight: reward per step of flight toward the goal at cruise speed.
        collision_cost: penalty on a collision.
        success_reward: bonus on reaching the goal.
        alive_reward: the base's per-step reward; 0 here (a bonus for time would pay hovering).
        **kwargs: every other keyword of :class:`~neurofit.envs.quadrotor.QuadrotorEnv`.
    """

    def __init__(
        self,
        platform: str = "micro",
        density_per_m2: float | None = None,
        obstacle_shape: str = "cylinder",
        obstacle_size_m: Sequence[float] | None = None,
        min_gap_m: float | None = None,
        field_length_m: float | None = None,
        field_width_m: float | None = None,
        clear_radius_m: float | None = None,
        flight_height_m: float | None = None,
        cruise_speed_mps: float | None = None,
        goal_radius_m: float | None = None,
        n_rays: int = 64,
        fov_deg: float = 180.0,
        n_rows: int = 1,
        row_spacing_deg: float = 10.0,
        max_range_m: float | None = None,
        range_noise_std_m: float = 0.0,
        scan_frame: str = "level",
        teacher: bool = True,
        teacher_influence_m: float | None = None,
        progress_reward_weight: float = 1.0,
        collision_cost: float = 100.0,
        success_reward: float = 100.0,
        alive_reward: float = 0.0,
        **kwargs: Any,
    ) -> None:
        utils.EzPickle.__init__(
            self, platform=platform, density_per_m2=density_per_m2,
            obstacle_shape=obstacle_shape, obstacle_size_m=obstacle_size_m, min_gap_m=min_gap_m,
            field_length_m=field_length_m, field_width_m=field_width_m,
            clear_radius_m=clear_radius_m, flight_height_m=flight_height_m,
            cruise_speed_mps=cruise_speed_mps, goal_radius_m=goal_radius_m, n_rays=n_rays,
            fov_deg=fov_deg, n_rows=n_rows, row_spacing_deg=row_spacing_deg,
            max_range_m=max_range_m, range_noise_std_m=range_noise_std_m, scan_frame=scan_frame,
            teacher=teacher, teacher_influence_m=teacher_influence_m,
            progress_reward_weight=progress_reward_weight, collision_cost=collision_cost,
            success_reward=success_reward, alive_reward=alive_reward, **kwargs,
        )  # fmt: skip
        p = get_platform(platform)
        dflt = FOREST_DEFAULTS[p.name]

        def pick(name: str, value: Any) -> Any:
            return dflt[name] if value is None else value

        # -- the course (validated before the model is built: it sizes the obstacle pool)
        self._field_length_m = _check(
            "field_length_m", pick("field_length_m", field_length_m), 0.0, 1e3, lo_open=True)
        self._field_width_m = _check(
            "field_width_m", pick("field_width_m", field_width_m), 0.0, 1e3, lo_open=True)
        self._vehicle_radius_m = (
            max(math.hypot(x, y) for x, y in p.rotor_xy_m) + p.power.rotor_radius_m
        )
        size = pick("obstacle_size_m", obstacle_size_m)
        try:
            lo, hi = (float(v) for v in size)
        except (TypeError, ValueError):
            raise ValueError(
                f"obstacle_size_m must be (min, max) in metres, got {obstacle_size_m!r}"
            ) from None
        if not (0.0 < lo <= hi <= 0.25 * self._field_width_m) or not math.isfinite(hi):
            raise ValueError(
                f"obstacle_size_m must be (min, max) with 0 < min <= max <= field_width_m / 4 "
                f"= {0.25 * self._field_width_m} m, got {size!r}"
            )
        self._obstacle_size_m = (lo, hi)
        self._obstacle_shape = _check_choice("obstacle_shape", obstacle_shape, OBSTACLE_SHAPES)
        self._min_gap_m = _check("min_gap_m", pick("min_gap_m", min_gap_m), 0.0, 1e3)
        if self._min_gap_m <= 2.0 * self._vehicle_radius_m:
            raise ValueError(
                f"min_gap_m must exceed the vehicle's diameter, {2.0 * self._vehicle_radius_m:.3g}"
                f" m (else two obstacles can close a passage), got {min_gap_m!r}"
            )
        self._clear_radius_m = _check(
            "clear_radius_m", pick("clear_radius_m", clear_radius_m), 0.0, 1e3, lo_open=True)
        self._density_per_m2 = _check(
            "density_per_m2", pick("density_per_m2", density_per_m2), 0.0, MAX_DENSITY_PER_M2)
        area = self._field_length_m * self._field_width_m
        self._n_obstacles = round(self._density_per_m2 * area)
        circ = hi * (math.sqrt(2.0) if self._obstacle_shape != "cylinder" else 1.0)
        disc = math.pi * (circ + 0.5 * self._min_gap_m) ** 2
        free = area - math.pi * self._clear_radius_m**2
        most = max(0, math.floor(MAX_COVERAGE * free / disc))
        if self._n_obstacles > most:
            raise ValueError(
                f"density_per_m2={self._density_per_m2!r} asks for {self._n_obstacles} "
                f"obstacles in the {self._field_length_m} x {self._field_width_m} m field; at "
                f"most {most} fit "
                f"min_gap_m={self._min_gap_m} apart with obstacle_size_m={size!r}, i.e. "
                f"density_per_m2 <= {most / area:.3g}"
            )
        self._obstacle_half_height_m = 0.0  # set by _load_model (needs the arena ceiling)

        # -- the scan
        self._n_rays = _check_int("n_rays", n_rays, 1, MAX_RAYS)
        self._n_rows = _check_int("n_rows", n_rows, 1, MAX_ROWS)
        if self._n_rays % self._n_rows:
            raise ValueError(f"n_rays ({n_rays}) must be a multiple of n_rows ({n_rows})")
        self._fov_deg = _check("fov_deg", fov_deg, 0.0, 360.0, lo_open=True)
        self._row_spacing_deg = _check("row_spacing_deg", row_spacing_deg, 0.0, 30.0,
                                       lo_open=True)
        if 0.5 * (self._n_rows - 1) * self._row_spacing_deg > 60.0:
            raise ValueError(
                f"n_rows={n_rows} rows row_spacing_deg={row_spacing_deg} apart reach beyond "
                "+-60 deg elevation; use fewer rows or a smaller spacing"
            )
        self._max_range_m = _check(
            "max_range_m", pick("max_range_m", max_range_m), 0.0, 100.0, lo_open=True)
        self._range_noise_std_m = _check(
            "range_noise_std_m", range_noise_std_m, 0.0, self._max_range_m)
        self._scan_frame = _check_choice("scan_frame", scan_frame, SCAN_FRAMES)

        # -- task, teacher, reward
        self._cruise_speed_mps = _check(
            "cruise_speed_mps", pick("cruise_speed_mps", cruise_speed_mps), 0.0, 20.0,
            lo_open=True)
        self._goal_radius_m = _check(
            "goal_radius_m", pick("goal_radius_m", goal_radius_m), 0.0, self._clear_radius_m,
            lo_open=True)
        if not isinstance(teacher, (bool, np.bool_)):
            raise ValueError(f"teacher must be True or False, got {teacher!r}")
        self._teacher = bool(teacher)
        self._teacher_influence_m = _check(
            "teacher_influence_m", pick("teacher_influence_m", teacher_influence_m), 0.0, 1e3,
            lo_open=True)
        self._progress_reward_weight = _check("progress_reward_weight", progress_reward_weight,
                                              0.0, 1e6)
        self._collision_cost = _check("collision_cost", collision_cost, 0.0, 1e6)
        self._success_reward = _check("success_reward", success_reward, 0.0, 1e6)
        self._placing = False
        self._layout: Any = None
        super().__init__(platform=platform, alive_reward=alive_reward, **kwargs)

        # -- checks that need the arena
        half, ceiling = self._arena_half_width_m, self._arena_ceiling_m
        if 0.5 * self._field_length_m + self._clear_radius_m > half:
            raise ValueError(
                f"field_length_m must be <= 2 * (arena_half_width_m - clear_radius_m) = "
                f"{2.0 * (half - self._clear_radius_m)} m, got {self._field_length_m}"
            )
        if 0.5 * self._field_width_m >= half:
            raise ValueError(
                f"field_width_m must be < 2 * arena_half_width_m = {2.0 * half} m, "
                f"got {self._field_width_m}"
            )
        self._flight_height_m = _check(
            "flight_height_m", pick("flight_height_m", flight_height_m), 0.0, ceiling,
            lo_open=True)
        if self._flight_height_m >= ceiling:
            raise ValueError(
                f"flight_height_m must be below arena_ceiling_m={ceiling}, "
                f"got {self._flight_height_m}"
            )
        init_reach = math.sqrt(2.0) * self._init_pos_range_m + self._vehicle_radius_m
        if self._clear_radius_m <= init_reach:
            raise ValueError(
                f"clear_radius_m must exceed the initial offset plus the vehicle radius "
                f"({init_reach:.3g} m), got {self._clear_radius_m}"
            )
        self._start = np.array([-0.5 * self._field_length_m, 0.0, self._flight_height_m])
        self._goal = np.array([0.5 * self._field_length_m, 0.0, self._flight_height_m])

        m = self._model
        self._quad_body = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "quad")
        names = [f"obstacle_{i}" for i in range(self._pool_size)]
        self._pool_geoms = np.array(
            [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, n) for n in names], dtype=np.int64)
        self._pool_mocap = np.array(
            [m.body_mocapid[mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, n)] for n in names],
            dtype=np.int64)
        self._pool_is_box = m.geom_type[self._pool_geoms] == int(mujoco.mjtGeom.mjGEOM_BOX)
        self._geom_lo = int(self._pool_geoms.min()) if self._pool_size else 0
        self._geom_hi = int(self._pool_geoms.max()) if self._pool_size else -1

        # -- the map in use: its first n rows (a drawn map has <= n_obstacles, a hand-made one
        # up to the pool's size)
        n = self._pool_size
        self._ob_xy = np.zeros((n, 2))
        self._ob_half = np.zeros((n, 2))
        self._ob_yaw = np.zeros(n)
        self._ob_cos = np.ones(n)
        self._ob_sin = np.zeros(n)
        self._ob_is_box = np.zeros(n, dtype=np.bool_)
        self._n_placed = 0
        self._clear = np.zeros(n)

        # -- the teacher's grid over the field and its clear margins (module docstring)
        span_x = self._field_length_m + 2.0 * self._clear_radius_m
        span_y = self._field_width_m + 2.0 * self._clear_radius_m
        # a passage is >= 3 nodes wide and no inflated obstacle falls between nodes
        res = min((self._min_gap_m - 2.0 * self._vehicle_radius_m) / 3.0,
                  self._vehicle_radius_m + self._obstacle_size_m[0])
        res = max(res, math.sqrt(span_x * span_y / _MAX_GRID_NODES))
        self._grid_res_m = res
        self._grid_x0 = -0.5 * span_x
        self._grid_y0 = -0.5 * span_y
        shape = (math.ceil(span_x / res) + 1, math.ceil(span_y / res) + 1)
        self._grid = np.zeros(shape if self._teacher else (2, 2))

        # -- scan buffers: sensor-frame directions, then per tick world directions and results
        per_row = self._n_rays // self._n_rows
        k = np.arange(per_row)
        az = np.radians(-0.5 * self._fov_deg + self._fov_deg * (k + 0.5) / per_row)
        el = np.radians((np.arange(self._n_rows) - 0.5 * (self._n_rows - 1))
                        * self._row_spacing_deg)
        az_all, el_all = np.tile(az, self._n_rows), np.repeat(el, per_row)
        self._scan_angles = np.stack([az_all, el_all])
        self._scan_angles.flags.writeable = False
        self._ray_local = np.stack([np.cos(el_all) * np.cos(az_all),
                                    np.cos(el_all) * np.sin(az_all), np.sin(el_all)], axis=1)
        self._ray_vec = np.zeros((self._n_rays, 3))
        self._ray_vec_flat = self._ray_vec.reshape(-1)  # a view: mj_multiRay's layout
        self._ray_dist = np.zeros(self._n_rays)
        self._ray_geom = np.zeros(self._n_rays, dtype=np.int32)
        self._ray_noise = np.zeros(self._n_rays)
        self._scan = np.ones(self._n_rays)
        self._pnt = np.zeros(3)

        # -- per-tick task state
        self._teacher_vel = np.zeros(3)
        self._teacher_xy = self._teacher_vel[:2]
        self._dist_goal_m = 0.0
        self._progress_m = 0.0
        self._min_clearance_m = math.inf
        self._reached = self._touched = False
        self._success = self._collision = False
        self._finite = True

        self.OBS_SLICES: dict[str, slice] = {
            "pos_err": OBS_POS_ERR,
            "rot": OBS_ROT,
            "vel_err": OBS_VEL_ERR,
            "rate": OBS_RATE,
            "state": slice(0, OBS_SIZE),
            "goal": _OBS_GOAL,
            "scan": slice(_OBS_GOAL.stop, _OBS_GOAL.stop + self._n_rays),
        }
        """Observation layout: name -> slice (module docstring)."""
        high = np.concatenate([_OBS_HIGH, np.full(3, 100.0), np.ones(self._n_rays)])
        low = np.concatenate([-_OBS_HIGH, np.full(3, -100.0), np.zeros(self._n_rays)])
        self.observation_space = spaces.Box(low, high, dtype=np.float64)

    # -- model -----------------------------------------------------------------------------
    @property
    def _pool_size(self) -> int:
        shapes = 2 if self._obstacle_shape == "mixed" else 1
        return shapes * self._n_obstacles

    def _load_model(self) -> mujoco.MjModel:
        """The platform's model plus a pool of obstacles: one mocap body per obstacle with one
        geom (cylinders, then boxes) at the largest size, parked below the floor."""
        spec = mujoco.MjSpec.from_file(self._platform.asset_path())
        top = self._arena_ceiling_m + 0.5  # taller than the arena: no way over
        self._obstacle_half_height_m = 0.5 * top
        r = self._obstacle_size_m[1]
        kinds = {"cylinder": ("cyl",), "box": ("box",), "mixed": ("cyl", "box")}
        i = 0
        for kind in kinds[self._obstacle_shape]:
            for _ in range(self._n_obstacles):
                name = f"obstacle_{i}"
                body = spec.worldbody.add_body(name=name, mocap=True, pos=[0.0, 0.0, _PARK_Z_M])
                if kind == "cyl":
                    body.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_CYLINDER,
                                  size=[r, 0.5 * top, 0.0], rgba=_CYL_RGBA, group=_HIDDEN_GROUP)
                else:
                    body.add_geom(name=name, type=mujoco.mjtGeom.mjGEOM_BOX,
                                  size=[r, r, 0.5 * top], rgba=_BOX_RGBA, group=_HIDDEN_GROUP)
                i += 1
        fixed = spec.camera("fixed")
        if fixed is not None:  # a long lens from far away: the tall obstacles hide less
            fixed.fovy = _CAMERA_FOVY_DEG
        return spec.compile()

    # -- properties ----------------------------------------------------------------------------
    @property
    def cruise_speed_mps(self) -> float:
        """The commanded cruise speed toward the goal [m/s]."""
        return self._cruise_speed_mps

    @property
    def goal_pos(self) -> np.ndarray:
        """The goal (x, y, z) [m] (a copy)."""
        return self._goal.copy()

    @property
    def start_pos(self) -> np.ndarray:
        """The start (x, y, z) [m] (a copy)."""
        return self._start.copy()

    @property
    def vehicle_radius_m(self) -> float:
        """Radius of the disc that must not touch an obstacle: rotor arm + propeller radius."""
        return self._vehicle_radius_m

    @property
    def n_obstacles(self) -> int:
        """Obstacles each map asks for (``round(density_per_m2 * L * W)``)."""
        return self._n_obstacles

    @property
    def scan_angles_rad(self) -> np.ndarray:
        """(2, n_rays): azimuth (0 ahead, + left) and elevation of each ray, sensor frame."""
        return self._scan_angles

    @property
    def obstacles(self) -> dict[str, np.ndarray]:
        """The current map (copies), as in ``info["obstacles"]`` at reset."""
        n = self._n_placed
        return {
            "xy_m": self._ob_xy[:n].copy(),
            "size_m": self._ob_half[:n].copy(),
            "yaw_rad": self._ob_yaw[:n].copy(),
            "is_box": self._ob_is_box[:n].copy(),
        }

    # -- the map ---------------------------------------------------------------------------
    def _draw_map(self, rng: np.random.Generator) -> int:
        """Draw a map (module docstring) into the obstacle arrays; returns how many fit."""
        lo, hi = self._obstacle_size_m
        half_l, half_w = 0.5 * self._field_length_m, 0.5 * self._field_width_m
        ends = np.stack([self._start[:2], self._goal[:2]])
        circ = np.zeros(self._n_obstacles)
        shape = self._obstacle_shape
        n = 0
        for _ in range(self._n_obstacles):
            for _attempt in range(_MAX_ATTEMPTS):
                box = shape == "box" or (shape == "mixed" and rng.random() < 0.5)
                a = rng.uniform(lo, hi)
                b = rng.uniform(lo, hi) if box else a
                yaw = rng.uniform(-math.pi, math.pi) if box else 0.0
                x = rng.uniform(-half_l, half_l)
                y = rng.uniform(-half_w, half_w)
                c = math.hypot(a, b) if box else a
                if np.any(np.hypot(ends[:, 0] - x, ends[:, 1] - y) < self._clear_radius_m + c):
                    continue
                gaps = np.hypot(self._ob_xy[:n, 0] - x, self._ob_xy[:n, 1] - y) - circ[:n] - c
                if np.any(gaps < self._min_gap_m):
                    continue
                self._ob_xy[n] = x, y
                self._ob_half[n] = a, b
                self._ob_yaw[n] = yaw
                self._ob_is_box[n] = box
                circ[n] = c
                n += 1
                break
        return n

    def _read_layout(self, layout: Any) -> int:
        """A hand-made map from ``reset(options={"obstacles": layout})`` (the form of
        ``info["obstacles"]``) into the obstacle arrays; returns its size."""
        where = 'options["obstacles"]'
        if not isinstance(layout, dict) or not {"xy_m", "size_m"} <= set(layout):
            raise ValueError(
                f'{where} must be a dict with "xy_m" (n, 2) and "size_m" (n, 2) '
                f'(and optionally "yaw_rad" (n,), "is_box" (n,)), got {layout!r}'
            )
        try:
            xy = np.asarray(layout["xy_m"], dtype=np.float64).reshape(-1, 2)
            n = xy.shape[0]
            size = np.array(layout["size_m"], dtype=np.float64).reshape(n, 2)
            yaw = np.array(layout.get("yaw_rad", np.zeros(n)), dtype=np.float64).reshape(n)
            box = np.asarray(layout.get("is_box", np.zeros(n, bool)), dtype=np.bool_).reshape(n)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: mismatched shapes or non-numbers ({exc})") from None
        hi = self._obstacle_size_m[1]
        if not (np.all(np.isfinite(xy)) and np.all(np.isfinite(yaw))
                and np.all((size > 0.0) & (size <= hi))):
            raise ValueError(
                f"{where}: positions and headings must be finite and every size in (0, {hi}] m "
                "(obstacle_size_m's max: the pool's geoms are compiled at that size)"
            )
        size[~box, 1] = size[~box, 0]
        yaw[~box] = 0.0
        pool_box = int(self._pool_is_box.sum())
        pool_cyl = self._pool_size - pool_box
        if int(box.sum()) > pool_box or int((~box).sum()) > pool_cyl:
            raise ValueError(
                f"{where}: {int((~box).sum())} cylinders and {int(box.sum())} boxes, but this env "
                f"holds at most {pool_cyl} cylinders and {pool_box} boxes "
                f"(obstacle_shape={self._obstacle_shape!r}, {self._n_obstacles} per map)"
            )
        self._ob_xy[:n] = xy
        self._ob_half[:n] = size
        self._ob_yaw[:n] = yaw
        self._ob_is_box[:n] = box
        return n

    def _set_out(self, n: int) -> None:
        """Park the whole pool, then move, resize and show one pool geom per obstacle."""
        m, d, pool = self._model, self._data, self._pool_geoms
        self._n_placed = n
        self._ob_cos[:n] = np.cos(self._ob_yaw[:n])
        self._ob_sin[:n] = np.sin(self._ob_yaw[:n])
        m.geom_group[pool] = _HIDDEN_GROUP
        d.mocap_pos[self._pool_mocap] = (0.0, 0.0, _PARK_Z_M)
        d.mocap_quat[self._pool_mocap] = (1.0, 0.0, 0.0, 0.0)
        free = {False: list(np.flatnonzero(~self._pool_is_box)),
                True: list(np.flatnonzero(self._pool_is_box))}
        hh = self._obstacle_half_height_m
        for i in range(n):
            box = bool(self._ob_is_box[i])
            slot = free[box].pop(0)
            g, mc = pool[slot], self._pool_mocap[slot]
            a, b = self._ob_half[i]
            m.geom_size[g] = (a, b, hh) if box else (a, hh, 0.0)
            m.geom_group[g] = _VISIBLE_GROUP
            d.mocap_pos[mc] = (self._ob_xy[i, 0], self._ob_xy[i, 1], hh)
            half_yaw = 0.5 * self._ob_yaw[i]
            d.mocap_quat[mc] = (math.cos(half_yaw), 0.0, 0.0, math.sin(half_yaw))

    # -- the tick ------------------------------------------------------------------------------
    def _set_target(self, t_s: float) -> None:
        """Nominal set-point, clearance, collision, goal and teacher at the current state."""
        if self._placing:  # the base reset, right after seeding: the map comes first, so a seed
            # gives the same map whatever the noise settings; the drone starts around the start
            layout = self._layout
            self._set_out(self._draw_map(self.np_random) if layout is None
                          else self._read_layout(layout))
            self._target_pos[:] = self._start
            self._target_vel[:] = 0.0
            return
        q = self._qpos
        px, py = float(q[0]), float(q[1])
        self._finite = math.isfinite(px) and math.isfinite(py) and math.isfinite(float(q[2]))
        if not self._finite:  # the base reports nan_state / unstable_sim
            self._reached = self._touched = False
            self._progress_m = 0.0
            return
        gx, gy = self._goal[0], self._goal[1]
        dist = math.hypot(gx - px, gy - py)
        self._progress_m = self._dist_goal_m - dist
        self._dist_goal_m = dist
        tp, tv = self._target_pos, self._target_vel
        tp[0], tp[1], tp[2] = px, py, self._flight_height_m
        if dist > 1e-9:
            tv[0] = self._cruise_speed_mps * (gx - px) / dist
            tv[1] = self._cruise_speed_mps * (gy - py) / dist
        else:
            tv[0] = tv[1] = 0.0
        tv[2] = 0.0
        n = self._n_placed
        self._min_clearance_m = FK.clearances(
            px, py, self._ob_xy[:n], self._ob_half[:n], self._ob_cos[:n], self._ob_sin[:n],
            self._ob_is_box[:n], self._vehicle_radius_m, self._clear[:n])
        self._touched = self._min_clearance_m <= 0.0 or self._obstacle_contact()
        self._reached = dist <= self._goal_radius_m
        if self._teacher:  # descend where the drone will be a reflex lag from now
            FK.descent_velocity(
                self._grid, self._grid_x0, self._grid_y0, self._grid_res_m,
                px + _TEACHER_LOOKAHEAD_S * float(self._qvel[0]),
                py + _TEACHER_LOOKAHEAD_S * float(self._qvel[1]),
                gx, gy, self._cruise_speed_mps, self._teacher_xy)

    def _obstacle_contact(self) -> bool:
        """Whether MuJoCo reports a contact involving an obstacle geom."""
        d = self._data
        if d.ncon == 0:
            return False
        geoms = d.contact.geom
        return bool(np.any((geoms >= self._geom_lo) & (geoms <= self._geom_hi)))

    def _scan_once(self) -> None:
        """Cast the scan from the body origin (module docstring) into ``self._scan``."""
        q = self._qpos
        FK.ray_directions(q, self._scan_frame == "level", self._ray_local, self._ray_vec)
        self._pnt[:] = q[0:3]
        mujoco.mj_multiRay(
            self._model, self._data, self._pnt, self._ray_vec_flat, _SCAN_GROUPS, 1,
            self._quad_body, self._ray_geom, self._ray_dist, None, self._n_rays,
            self._max_range_m,
        )  # fmt: skip
        if self._range_noise_std_m > 0.0:
            self.np_random.standard_normal(out=self._ray_noise)
        FK.normalise_scan(self._ray_dist, self._ray_noise, self._range_noise_std_m,
                          self._max_range_m, self._scan)

    # -- gymnasium API -------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """New map from ``np_random`` (seeded by ``seed``), drone at the start at hover thrust.

        ``options={"obstacles": layout}`` sets a hand-made map instead (the form of
        ``info["obstacles"]``; sizes up to ``obstacle_size_m``'s max, at most the env's pool of
        each shape; no spacing rules are applied to it).
        """
        self._placing = True
        self._layout = options.get("obstacles") if isinstance(options, dict) else None
        try:  # the map (in _set_target), then the initial state around the start
            super().reset(seed=seed, options=options)
        finally:
            self._placing = False
            self._layout = None
        if self._teacher:
            n = self._n_placed
            FK.cost_to_go(
                self._grid_x0, self._grid_y0, self._grid_res_m, self._ob_xy[:n],
                self._ob_half[:n], self._ob_cos[:n], self._ob_sin[:n], self._ob_is_box[:n],
                self._vehicle_radius_m, self._teacher_influence_m, _TEACHER_PROXIMITY_COST,
                self._goal[0], self._goal[1], self._grid)
        q = self._qpos
        self._dist_goal_m = math.hypot(self._goal[0] - q[0], self._goal[1] - q[1])
        self._set_target(0.0)
        self._progress_m = 0.0
        self._touched = self._reached = False  # a step ends the episode, never a reset
        K.post_step(
            self._qpos, self._qvel, self._force, self._target_pos, self._target_vel,
            self._params, 0, 0.0, self._obs_true, self._terms,
        )  # fmt: skip
        self._terms[: K.N_REWARD_TERMS] = 0.0
        terms = self._terms.tolist()
        self._prev_speed = terms[K.T_SPEED]
        obs = self._get_obs()
        _, reward_info = self._get_rew(K.TERM_NONE, terms)
        info = self._get_info(obs, reward_info, terms, False, "")
        info["obstacles"] = self.obstacles
        info["n_obstacles"] = self._n_placed
        return obs, info

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """The base step; a collision or reaching the goal also ends the episode."""
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated or self._collision or self._success, truncated, info

    def _get_obs(self) -> np.ndarray:
        """State (through the disturbances' ``observe``), goal vector and a fresh scan."""
        state = super()._get_obs()
        obs = np.empty(OBS_SIZE + 3 + self._n_rays)
        obs[:OBS_SIZE] = state
        if self._finite and not self._placing:  # (the base reset's observation is not used)
            self._scan_once()
            obs[_OBS_GOAL] = self._goal - self._qpos[0:3]
        else:
            obs[_OBS_GOAL] = 0.0
        obs[_OBS_GOAL.stop:] = self._scan
        return obs

    def _get_rew(self, code: int, terms: list[float]) -> tuple[float, dict[str, float]]:
        """The base terms about the nominal set-point plus progress, collision and success."""
        ok = self._finite and code not in _UNSTABLE_CODES
        self._collision = ok and self._touched
        self._success = ok and self._reached and not self._collision and code == K.TERM_NONE
        crash = -self._crash_cost if code in _CRASH_CODES and not self._collision else 0.0
        progress = (self._progress_reward_weight * self._progress_m
                    / (self._cruise_speed_mps * self._dt)) if ok else 0.0
        collision = -self._collision_cost if self._collision else 0.0
        success = self._success_reward if self._success else 0.0
        reward_info = {
            "reward_alive": terms[0],
            "reward_position": terms[1],
            "reward_velocity": terms[2],
            "reward_attitude": terms[3],
            "reward_rate": terms[4],
            "reward_energy": terms[5],
            "reward_crash": crash,
            "reward_progress": progress,
            "reward_collision": collision,
            "reward_success": success,
        }
        reward = (terms[0] + terms[1] + terms[2] + terms[3] + terms[4] + terms[5] + crash
                  + progress + collision + success)
        return reward, reward_info

    def _get_info(
        self,
        obs: np.ndarray,
        reward_info: dict[str, float],
        terms: list[float],
        clipped: bool,
        reason: str,
    ) -> dict[str, Any]:
        if self._collision:
            reason = "collision"
        elif self._success:
            reason = "success"
        info = super()._get_info(obs, reward_info, terms, clipped, reason)
        if self._teacher:
            err = info["error"]  # a fresh copy (fancy indexing): the base error, as sensed
            err[3:6] += self._teacher_vel - self._target_vel
            info["teacher_velocity_mps"] = self._teacher_vel.copy()
        else:
            info["error"] = np.full(6, math.nan)
        info["success"] = self._success
        info["collision"] = self._collision
        info["min_clearance_m"] = self._min_clearance_m
        info["distance_to_goal_m"] = self._dist_goal_m
        info["goal_pos"] = self._goal.copy()
        return info

    # -- rendering (scene decorations only: the physics is untouched) -----------------------
    def _aim_camera(self) -> None:
        """Point the world camera ``"fixed"`` at the whole field, from behind the start
        (-x) and :data:`_CAMERA_ELEVATION_DEG` above, far enough for the field to fill the frame."""
        if self._fixed_cam < 0:
            return
        m, cam = self._model, self._fixed_cam
        half_l = 0.5 * self._field_length_m + self._clear_radius_m
        half_w = 0.5 * self._field_width_m + self._clear_radius_m
        centre = np.array([0.0, 0.0, self._flight_height_m])
        elev = math.radians(_CAMERA_ELEVATION_DEG)
        tan = math.tan(math.radians(float(m.cam_fovy[cam])) / 2.0)
        # the field seen from -x: its width across the image, its length foreshortened upward
        dist = max(half_l * math.sin(elev) / tan, half_w / (tan * self._width / self._height))
        dist += half_l * math.cos(elev)
        s, c = math.sin(elev), math.cos(elev)
        m.cam_pos[cam] = centre + dist * np.array([-c, 0.0, s])
        # columns: image right (world -y), image up, and the camera's back (it looks along -z)
        mujoco.mju_mat2Quat(m.cam_quat[cam], np.array([0.0, s, -c, -1.0, 0, 0, 0, c, s]))

    def _decorate(self, scene: mujoco.MjvScene) -> None:
        """Start and goal markers, the last scan's rays and the teacher's command arrow."""
        n = self._n_rays
        step = max(1, math.ceil(n / _MAX_DRAWN_RAYS))
        if scene.ngeom + n // step + 4 > scene.maxgeom:
            return
        eye = np.eye(3).ravel()

        def add(kind: int, rgba: tuple[float, float, float, float]) -> mujoco.MjvGeom:
            geom = scene.geoms[scene.ngeom]
            mujoco.mjv_initGeom(geom, kind, np.zeros(3), np.zeros(3), eye,
                                np.array(rgba, dtype=np.float32))
            scene.ngeom += 1
            return geom

        s = self._scale_m
        markers = ((self._start, (0.2, 0.4, 0.9, 0.35)), (self._goal, (0.1, 0.85, 0.2, 0.45)))
        for pos, rgba in markers:
            g = add(mujoco.mjtGeom.mjGEOM_CYLINDER, rgba)
            g.size[:] = (self._goal_radius_m, 0.01 * s, 0.0)
            g.pos[:] = (pos[0], pos[1], pos[2])
            g = add(mujoco.mjtGeom.mjGEOM_SPHERE, rgba)
            g.size[:] = 0.6 * s
            g.pos[:] = pos
        origin = self._qpos[0:3]
        line = mujoco.mjtGeom.mjGEOM_LINE
        for i in range(0, n, step):
            d = self._ray_dist[i]
            hit = 0.0 <= d <= self._max_range_m
            end = origin + (d if hit else self._max_range_m) * self._ray_vec[i]
            g = add(line, (0.95, 0.15, 0.1, 0.9) if hit else (0.3, 0.9, 0.3, 0.25))
            mujoco.mjv_connector(g, line, 1.5, origin, end)
        if self._teacher:
            arrow = mujoco.mjtGeom.mjGEOM_ARROW
            tip = origin + 0.5 * self._teacher_vel
            if np.any(tip != origin):
                g = add(arrow, (1.0, 0.8, 0.1, 1.0))
                mujoco.mjv_connector(g, arrow, 0.15 * s, origin, tip)
