"""numba kernels of the forest env's control tick (private: :mod:`neurofit.envs.quadrotor_forest`
validates and allocates; these loop over flat arrays and scalars).

Obstacle arrays, one row per placed obstacle (float64 unless said)::

    xy       (n, 2)  centre in the horizontal plane, world frame [m]
    half     (n, 2)  half-extents along the obstacle's own x and y [m] (a cylinder: (r, r))
    cos_yaw, sin_yaw (n,)  the obstacle's heading (a cylinder: 1, 0)
    is_box   (n,) bool  box (True) or vertical cylinder (False)

Obstacles are vertical prisms taller than the arena, so every distance here is horizontal.
"""

from __future__ import annotations

import math

import numpy as np

from neurofit.neuromorphic._jit import njit


@njit
def _surface(dx: float, dy: float, ha: float, hb: float, c: float, s: float, box: bool) -> float:
    """Distance from the offset (dx, dy) (point minus centre) to one obstacle's surface, negative
    inside (the depth to the nearest face)."""
    if box:
        qx = c * dx + s * dy  # the point in the box frame
        qy = -s * dx + c * dy
        ox = abs(qx) - ha
        oy = abs(qy) - hb
        if ox > 0.0 or oy > 0.0:  # outside: distance to the nearest edge or corner
            ex = max(ox, 0.0)
            ey = max(oy, 0.0)
            return math.sqrt(ex * ex + ey * ey)
        return max(ox, oy)
    return math.sqrt(dx * dx + dy * dy) - ha


@njit
def clearances(
    px: float,
    py: float,
    xy: np.ndarray,
    half: np.ndarray,
    cos_yaw: np.ndarray,
    sin_yaw: np.ndarray,
    is_box: np.ndarray,
    vehicle_radius_m: float,
    clear: np.ndarray,
) -> float:
    """Fill ``clear[i]``: the distance from the point to obstacle ``i``'s surface (negative
    inside) minus ``vehicle_radius_m``. Returns the smallest (``inf`` without obstacles)."""
    best = math.inf
    for i in range(xy.shape[0]):
        clear[i] = _surface(px - xy[i, 0], py - xy[i, 1], half[i, 0], half[i, 1],
                            cos_yaw[i], sin_yaw[i], is_box[i]) - vehicle_radius_m
        if clear[i] < best:
            best = clear[i]
    return best


@njit
def _heap_push(keys: np.ndarray, vals: np.ndarray, n: int, key: float, val: int) -> int:
    i = n
    keys[i] = key
    vals[i] = val
    while i > 0:
        parent = (i - 1) // 2
        if keys[parent] <= keys[i]:
            break
        keys[parent], keys[i] = keys[i], keys[parent]
        vals[parent], vals[i] = vals[i], vals[parent]
        i = parent
    return n + 1


@njit
def _heap_pop(keys: np.ndarray, vals: np.ndarray, n: int) -> int:
    """Remove the root (the caller read it first); returns the new size."""
    n -= 1
    keys[0] = keys[n]
    vals[0] = vals[n]
    i = 0
    while True:
        a = 2 * i + 1
        if a >= n:
            break
        b = a + 1
        child = b if b < n and keys[b] < keys[a] else a
        if keys[i] <= keys[child]:
            break
        keys[child], keys[i] = keys[i], keys[child]
        vals[child], vals[i] = vals[i], vals[child]
        i = child
    return n


@njit
def cost_to_go(
    x0: float,
    y0: float,
    res_m: float,
    xy: np.ndarray,
    half: np.ndarray,
    cos_yaw: np.ndarray,
    sin_yaw: np.ndarray,
    is_box: np.ndarray,
    vehicle_radius_m: float,
    influence_m: float,
    proximity_cost: float,
    gx: float,
    gy: float,
    out: np.ndarray,
) -> None:
    """The teacher's navigation function on the grid ``out`` (nx, ny): node (i, j) at
    ``(x0 + i res_m, y0 + j res_m)``; the weighted travel distance to the goal, by the fast
    marching method (an upwind solution of ``|grad T| = f``, so its descent direction is not
    bent toward the grid's axes as a graph search's is).

    ``f = 1 + proximity_cost (1 - c / influence_m)^2`` within ``influence_m`` of clearance
    ``c`` (paths keep off the obstacles); nodes with ``c < 0`` (the vehicle would touch) are
    blocked. A navigation function has a single minimum, at the goal: descending it never
    stalls in front of an obstacle or between two. Blocked and unreachable nodes are set to
    the largest finite value plus the grid's diagonal, so the descent leads out of them.
    """
    nx, ny = out.shape
    n = nx * ny
    speed = np.empty(n)  # 1 / f; 0 = blocked
    for i in range(nx):
        px = x0 + i * res_m
        for j in range(ny):
            py = y0 + j * res_m
            c = math.inf
            for k in range(xy.shape[0]):
                d = _surface(px - xy[k, 0], py - xy[k, 1], half[k, 0], half[k, 1],
                             cos_yaw[k], sin_yaw[k], is_box[k]) - vehicle_radius_m
                c = min(c, d)
            if c < 0.0:
                speed[i * ny + j] = 0.0
            else:
                p = max(0.0, 1.0 - c / influence_m)
                speed[i * ny + j] = 1.0 / (1.0 + proximity_cost * p * p)
    t = np.full(n, math.inf)
    known = np.zeros(n, dtype=np.bool_)
    keys = np.empty(4 * n + 1)
    vals = np.empty(4 * n + 1, dtype=np.int64)
    gi = min(max(int((gx - x0) / res_m + 0.5), 0), nx - 1)  # the goal is inside the grid
    gj = min(max(int((gy - y0) / res_m + 0.5), 0), ny - 1)
    size = _heap_push(keys, vals, 0, 0.0, gi * ny + gj)
    t[gi * ny + gj] = 0.0
    while size > 0:
        idx = vals[0]
        size = _heap_pop(keys, vals, size)
        if known[idx]:
            continue
        known[idx] = True
        ci = idx // ny
        cj = idx - ci * ny
        for m in range(4):
            i = ci + (1 if m == 0 else -1 if m == 1 else 0)
            j = cj + (1 if m == 2 else -1 if m == 3 else 0)
            if i < 0 or i >= nx or j < 0 or j >= ny:
                continue
            k = i * ny + j
            if known[k] or speed[k] == 0.0:
                continue
            a = min(t[k - ny] if i > 0 else math.inf, t[k + ny] if i < nx - 1 else math.inf)
            b = min(t[k - 1] if j > 0 else math.inf, t[k + 1] if j < ny - 1 else math.inf)
            h = res_m / speed[k]
            if abs(a - b) >= h:
                new = min(a, b) + h
            else:
                new = 0.5 * (a + b + math.sqrt(2.0 * h * h - (a - b) * (a - b)))
            if new < t[k]:
                t[k] = new
                size = _heap_push(keys, vals, size, new, k)
    top = 0.0
    for k in range(n):
        if known[k] and t[k] > top:
            top = t[k]
    top += res_m * math.sqrt(float(nx * nx + ny * ny))
    for i in range(nx):
        for j in range(ny):
            k = i * ny + j
            out[i, j] = t[k] if known[k] else top


@njit
def descent_velocity(
    grid: np.ndarray,
    x0: float,
    y0: float,
    res_m: float,
    px: float,
    py: float,
    gx: float,
    gy: float,
    speed_mps: float,
    out: np.ndarray,
) -> None:
    """``speed_mps`` along the steepest descent of the bilinear interpolation of ``grid``
    (:func:`cost_to_go`) at (px, py) (clamped into the grid) into ``out`` (2); straight at the
    goal where the grid is flat (at the goal itself: zero)."""
    nx, ny = grid.shape
    fx = min(max((px - x0) / res_m, 0.0), nx - 1.000001)
    fy = min(max((py - y0) / res_m, 0.0), ny - 1.000001)
    i = int(fx)
    j = int(fy)
    tx = fx - i
    ty = fy - j
    d00 = grid[i, j]
    d10 = grid[i + 1, j]
    d01 = grid[i, j + 1]
    d11 = grid[i + 1, j + 1]
    vx = -((1.0 - ty) * (d10 - d00) + ty * (d11 - d01))
    vy = -((1.0 - tx) * (d01 - d00) + tx * (d11 - d10))
    n = math.sqrt(vx * vx + vy * vy)
    if n < 1e-9 * res_m:
        vx = gx - px
        vy = gy - py
        n = math.sqrt(vx * vx + vy * vy)
        if n < 1e-9:
            out[0] = 0.0
            out[1] = 0.0
            return
    out[0] = vx / n * speed_mps
    out[1] = vy / n * speed_mps


@njit
def ray_directions(
    qpos: np.ndarray, level: bool, local: np.ndarray, out: np.ndarray
) -> None:
    """World directions of the scan's rays into ``out`` (n, 3): ``local`` (n, 3, sensor frame)
    rotated by the body attitude from ``qpos[3:7]`` (w, x, y, z), or by its heading (yaw) alone
    when ``level`` (a levelled scanner)."""
    w = qpos[3]
    x = qpos[4]
    y = qpos[5]
    z = qpos[6]
    nq = w * w + x * x + y * y + z * z
    s = 2.0 / nq if nq > 0.0 else 0.0
    r00 = 1.0 - s * (y * y + z * z)
    r10 = s * (x * y + w * z)
    if level:
        h = math.sqrt(r00 * r00 + r10 * r10)
        c = r00 / h if h > 1e-12 else 1.0
        sn = r10 / h if h > 1e-12 else 0.0
        r00, r01, r02 = c, -sn, 0.0
        r10, r11, r12 = sn, c, 0.0
        r20, r21, r22 = 0.0, 0.0, 1.0
    else:
        r01 = s * (x * y - w * z)
        r02 = s * (x * z + w * y)
        r11 = 1.0 - s * (x * x + z * z)
        r12 = s * (y * z - w * x)
        r20 = s * (x * z - w * y)
        r21 = s * (y * z + w * x)
        r22 = 1.0 - s * (x * x + y * y)
    for i in range(local.shape[0]):
        a = local[i, 0]
        b = local[i, 1]
        c3 = local[i, 2]
        out[i, 0] = r00 * a + r01 * b + r02 * c3
        out[i, 1] = r10 * a + r11 * b + r12 * c3
        out[i, 2] = r20 * a + r21 * b + r22 * c3


@njit
def normalise_scan(
    dist: np.ndarray, noise: np.ndarray, noise_std_m: float, max_range_m: float, out: np.ndarray
) -> None:
    """``out[i] = range_i / max_range_m`` in [0, 1]: 1 where the ray hit nothing within range
    (``dist < 0``, MuJoCo's "no hit"); a hit's range gets ``noise_std_m * noise[i]`` added and
    is clipped into [0, max_range_m]."""
    for i in range(dist.shape[0]):
        d = dist[i]
        if d < 0.0 or d > max_range_m:
            out[i] = 1.0
            continue
        if noise_std_m > 0.0:
            d = min(max(d + noise_std_m * noise[i], 0.0), max_range_m)
        out[i] = d / max_range_m
