"""numba kernels of the quadrotor envs' step (private; the env classes validate and allocate).

One call before and one after ``mj_step`` per control step keeps the Python work small.
Observation layout (18 elements) is documented in :mod:`neurofit.envs.quadrotor`.
"""

from __future__ import annotations

import math

import numpy as np

from neurofit.neuromorphic._jit import njit

# termination codes returned by _post_step
TERM_NONE = 0
TERM_NAN = 1
TERM_FLOOR = 2
TERM_TILT = 3
TERM_ARENA = 4
TERM_UNSTABLE = 5
#: MuJoCo's mjMAXVAL: beyond it MuJoCo itself warns that the simulation is unstable
MAX_STATE_VALUE = 1e10

# indices into the params array of _post_step
P_W_ALIVE = 0
P_W_POS = 1
P_W_VEL = 2
P_W_ATT = 3
P_W_RATE = 4
P_W_ENERGY = 5
P_COS_MAX_TILT = 6
P_ARENA_HALF = 7
P_CEILING = 8
P_CRASH_SPEED = 9
P_IDLE_W = 10
P_POWER_COEF = 11
P_HOVER_POWER_W = 12
N_PARAMS = 13

# indices into the terms array (reward terms, then other scalars)
T_ALIVE = 0
T_POS = 1
T_VEL = 2
T_ATT = 3
T_RATE = 4
T_ENERGY = 5
N_REWARD_TERMS = 6
T_POWER_W = 6
T_SPEED = 7
T_TRACKING_M = 8  # |p_target - p|, the tracking error (neurofit.envs.tracking)
N_TERMS = 9


@njit
def action_to_ctrl(action: np.ndarray, max_thrust_n: float, ctrl: np.ndarray) -> int:
    """Map normalised commands in [-1, 1] to thrust set-points ``(a + 1) / 2 * max_thrust_n``.

    Returns ``-1 - i`` if ``action[i]`` is not finite (``ctrl`` untouched), else the number of
    elements clipped into [-1, 1].
    """
    n = action.shape[0]
    for i in range(n):
        if not math.isfinite(action[i]):
            return -1 - i
    clipped = 0
    for i in range(n):
        a = float(action[i])
        if a > 1.0:
            a = 1.0
            clipped += 1
        elif a < -1.0:
            a = -1.0
            clipped += 1
        ctrl[i] = 0.5 * (a + 1.0) * max_thrust_n
    return clipped


@njit
def observe(
    qpos: np.ndarray,
    qvel: np.ndarray,
    target_pos: np.ndarray,
    target_vel: np.ndarray,
    obs: np.ndarray,
) -> None:
    """Fill ``obs`` (18): target-pos, R (row-major), target-vel - vel, body rates."""
    for i in range(3):
        obs[i] = target_pos[i] - qpos[i]
        obs[12 + i] = target_vel[i] - qvel[i]
        obs[15 + i] = qvel[3 + i]  # free joint: angular velocity in the body frame
    w = qpos[3]
    x = qpos[4]
    y = qpos[5]
    z = qpos[6]
    n = w * w + x * x + y * y + z * z
    s = 2.0 / n if n > 0.0 else 0.0
    obs[3] = 1.0 - s * (y * y + z * z)
    obs[4] = s * (x * y - w * z)
    obs[5] = s * (x * z + w * y)
    obs[6] = s * (x * y + w * z)
    obs[7] = 1.0 - s * (x * x + z * z)
    obs[8] = s * (y * z - w * x)
    obs[9] = s * (x * z - w * y)
    obs[10] = s * (y * z + w * x)
    obs[11] = 1.0 - s * (x * x + y * y)


@njit
def post_step(
    qpos: np.ndarray,
    qvel: np.ndarray,
    thrust_n: np.ndarray,
    target_pos: np.ndarray,
    target_vel: np.ndarray,
    params: np.ndarray,
    ncon: int,
    prev_speed: float,
    obs: np.ndarray,
    terms: np.ndarray,
) -> int:
    """Observation, reward terms, power and termination after a physics step.

    Fills ``obs`` (true state) and ``terms`` (reward terms, power [W], speed [m/s], tracking
    error [m]) and returns a termination code (``TERM_*``). Reward terms::

        alive     +w_alive
        position  -w_pos  * |p_target - p|                 [m]
        velocity  -w_vel  * |v_target - v|                 [m/s]
        attitude  -w_att  * angle(R, level & yaw 0)        [rad]
        rate      -w_rate * |omega|                        [rad/s]
        energy    -w_energy * P_elec / P_hover             [-]
    """
    unstable = False
    for i in range(7):
        if not math.isfinite(qpos[i]):
            return TERM_NAN
        unstable = unstable or abs(qpos[i]) > MAX_STATE_VALUE
    for i in range(6):
        if not math.isfinite(qvel[i]):
            return TERM_NAN
        unstable = unstable or abs(qvel[i]) > MAX_STATE_VALUE
    if unstable:
        return TERM_UNSTABLE
    observe(qpos, qvel, target_pos, target_vel, obs)
    ep = math.sqrt(obs[0] * obs[0] + obs[1] * obs[1] + obs[2] * obs[2])
    ev = math.sqrt(obs[12] * obs[12] + obs[13] * obs[13] + obs[14] * obs[14])
    wr = math.sqrt(obs[15] * obs[15] + obs[16] * obs[16] + obs[17] * obs[17])
    c = 0.5 * (obs[3] + obs[7] + obs[11] - 1.0)
    c = min(1.0, max(-1.0, c))
    angle = math.acos(c)
    power = 0.0
    for i in range(thrust_n.shape[0]):
        t = thrust_n[i]
        if t > 0.0:
            power += t * math.sqrt(t)
    power = params[P_IDLE_W] + params[P_POWER_COEF] * power
    terms[T_ALIVE] = params[P_W_ALIVE]
    terms[T_POS] = -params[P_W_POS] * ep
    terms[T_VEL] = -params[P_W_VEL] * ev
    terms[T_ATT] = -params[P_W_ATT] * angle
    terms[T_RATE] = -params[P_W_RATE] * wr
    terms[T_ENERGY] = -params[P_W_ENERGY] * power / params[P_HOVER_POWER_W]
    terms[T_POWER_W] = power
    speed = math.sqrt(qvel[0] * qvel[0] + qvel[1] * qvel[1] + qvel[2] * qvel[2])
    terms[T_SPEED] = speed
    terms[T_TRACKING_M] = ep
    if ncon > 0 and max(speed, prev_speed) > params[P_CRASH_SPEED]:
        return TERM_FLOOR
    if obs[11] < params[P_COS_MAX_TILT]:
        return TERM_TILT
    half = params[P_ARENA_HALF]
    if abs(qpos[0]) > half or abs(qpos[1]) > half or qpos[2] > params[P_CEILING]:
        return TERM_ARENA
    return TERM_NONE
