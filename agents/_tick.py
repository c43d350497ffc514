"""One compiled call per control tick of an error-mode NeuroFit agent.

:func:`quad_error_tick` is the whole tick of an agent with a
:class:`~neurofit.agents.reflex.QuadReflex`, in one ``@njit`` entry: the teaching signal of the
last error becomes the modulator (deadband, ``teach_limit``), the error becomes features, the
Gaussian encoder writes the hidden population's input, the network advances its substeps and
learns (:func:`~neurofit.neuromorphic._kernels.advance_packed`, counters inside the network's
buffers), the rate decoder reads the output population, the correction is clipped and scaled,
and the PID cascade (:func:`~neurofit.agents.pid._pid_kernel`) turns it into the action.
:func:`error_tick` is the same tick without the reflex law and the teaching signal, for the
reflexes whose law stays in Python (the arm's needs MuJoCo's Jacobians; the generic feedback
reflex its online estimate, probe stream and linear solves): the agent's ``observe`` turns
their teaching signal into the modulator (:func:`teach_to_modulator`, one small compiled call)
and their ``act`` runs after the call.

Every array the tick touches lives in a few packed buffers (:mod:`neurofit.neuromorphic._layout`):
the network's, and one ``float64`` buffer of the agent's own (features, encoder centres,
decoders and filtered rates, correction, output directions, gains, scalars), whose mutable
arrays replace the originals as views (the decoder's ``rates``/``output``, the agent's
``_correction``/``_features``), so saving, loading and resetting keep working unchanged.

The arithmetic is that of the unfused path operation for operation (the agent with
``fused_tick = None``, which the tests run as the reference), so both give the same bits. The
teaching signal's norm and its projection on the output directions are sums in a fixed order
(:func:`teach_to_modulator`, used by both paths), not BLAS, whose summation order depends on
the CPU kernel it picks.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neurofit.agents.features import QUAD_ERROR_INDEX
from neurofit.agents.pid import _pid_kernel
from neurofit.agents.reflex import QuadReflex
from neurofit.agents.spiking_policy import SpikingPolicy
from neurofit.neuromorphic import _kernels as K
from neurofit.neuromorphic import _layout as Y
from neurofit.neuromorphic._jit import njit
from neurofit.neuromorphic.coding import (
    GaussianPopulationEncoder,
    RateDecoder,
    _filter_and_decode,
    _gaussian_fields,
)

__all__ = ["FusedErrorTick", "error_tick", "make_fused_tick", "quad_error_tick",
           "teach_to_modulator"]

# --- slots of the agent's buffer (rows of its offset table) ---
(A_FEATURES, A_INV_SCALE, A_CENTRES, A_DECODERS, A_RATES, A_DEC_OUT, A_CORRECTION, A_DIRS,
 A_KP, A_KD, A_TEACH, A_SCALARS) = range(12)
# --- the scalars slot ---
F_INV_TWO_VAR, F_MAX_DRIVE, F_ALPHA, F_INV_TICK, F_CORRECTION_LIMIT, F_CORRECTION_SCALE = range(6)
F_TEACH_LIMIT, F_DEADBAND, F_DT = 6, 7, 8
N_F = 9
# --- the agent's integer array ---
I_HIDDEN_START, I_HIDDEN_STOP, I_OUT_START, I_OUT_STOP, I_SUBSTEPS, I_TICK_STEPS = range(6)
I_MON_RESERVE, I_FEATURE_INDEX = 6, 7  # then the observation's error indices (quadrotor)

#: the features are clipped to this before encoding (as :meth:`SpikingPolicy.tick` does)
FEATURE_CLIP = 1.2


@njit
def teach_to_modulator(teach, deadband, teach_limit, dirs, modulator):
    """The third factor of the error-mode rule from a teaching signal (correction-scale units).

    Norm below ``deadband``: no learning this tick (modulator 0). Above ``teach_limit``: the
    signal is scaled down to it. Then ``modulator_i = d_i · teach`` (PES error = actual −
    target = −teaching, so ``−(error · d_i)``). Sums in index order. ``teach`` is scaled in
    place.
    """
    sq = 0.0
    for k in range(teach.shape[0]):
        sq += teach[k] * teach[k]
    norm = math.sqrt(sq)
    if norm < deadband:
        modulator[:] = 0.0
        return
    if norm > teach_limit:
        shrink = teach_limit / norm
        for k in range(teach.shape[0]):
            teach[k] = teach[k] * shrink
    for i in range(dirs.shape[0]):
        s = 0.0
        for k in range(dirs.shape[1]):
            s += dirs[i, k] * teach[k]
        modulator[i] = s


@njit
def _network_tick(t0, fbuf, dbuf, ibuf, jbuf, bbuf, ubuf, noff, mon_idx, mon_step,
                  event_driven, settle_v, abuf, aoff, ai, teach, has_teach):
    """The tick from the modulator to the scaled correction (features already in place)."""
    af = Y.view1(abuf, aoff, A_SCALARS)
    h0, h1 = ai[I_HIDDEN_START], ai[I_HIDDEN_STOP]
    o0, o1 = ai[I_OUT_START], ai[I_OUT_STOP]
    if has_teach:
        inv = af[F_CORRECTION_SCALE]
        for k in range(teach.shape[0]):
            teach[k] = teach[k] / inv
        teach_to_modulator(teach, af[F_DEADBAND], af[F_TEACH_LIMIT],
                           Y.view2(abuf, aoff, A_DIRS),
                           Y.view1(dbuf, noff, Y.S_MODULATOR)[o0:o1])
    x = Y.view1(abuf, aoff, A_FEATURES)
    for k in range(x.shape[0]):  # np.clip's arithmetic (NaN passes through)
        v = x[k]
        x[k] = -FEATURE_CLIP if v < -FEATURE_CLIP else (FEATURE_CLIP if v > FEATURE_CLIP else v)
    ext = Y.view2(fbuf, noff, Y.S_EXT)
    _gaussian_fields(x, Y.view1(abuf, aoff, A_CENTRES), af[F_INV_TWO_VAR], af[F_MAX_DRIVE],
                     ext[0, h0:h1])
    K.advance_packed(ai[I_SUBSTEPS], t0, ext, False, fbuf, dbuf, ibuf, jbuf, bbuf, ubuf, noff,
                     mon_idx, mon_step, ai[I_MON_RESERVE], np.zeros(0, np.int64),
                     np.zeros((0, 0), fbuf.dtype), ai[I_TICK_STEPS], af[F_DT], event_driven,
                     settle_v)
    y = Y.view1(abuf, aoff, A_DEC_OUT)
    _filter_and_decode(Y.view1(jbuf, noff, Y.S_TICK_COUNTS)[o0:o1], af[F_ALPHA],
                       af[F_INV_TICK], Y.view1(abuf, aoff, A_RATES),
                       Y.view2(abuf, aoff, A_DECODERS), y)
    c = Y.view1(abuf, aoff, A_CORRECTION)
    limit = af[F_CORRECTION_LIMIT]
    scale = af[F_CORRECTION_SCALE]
    for k in range(c.shape[0]):
        v = y[k]
        c[k] = (-limit if v < -limit else (limit if v > limit else v)) * scale
    return c


@njit
def error_tick(t0, fbuf, dbuf, ibuf, jbuf, bbuf, ubuf, noff, mon_idx, mon_step, event_driven,
               settle_v, abuf, aoff, ai):
    """One tick without the reflex law and the teaching signal: features (written by the
    caller into the agent's buffer) → encoder → network → decoder → correction (the agent's
    ``_correction``), with the modulator as ``observe`` left it."""
    _network_tick(t0, fbuf, dbuf, ibuf, jbuf, bbuf, ubuf, noff, mon_idx, mon_step,
                  event_driven, settle_v, abuf, aoff, ai, Y.view1(abuf, aoff, A_TEACH), False)


@njit
def quad_error_tick(obs, error, has_error, learn, t0, fbuf, dbuf, ibuf, jbuf, bbuf, ubuf, noff,
                    mon_idx, mon_step, event_driven, settle_v, abuf, aoff, ai, gains, params,
                    pid_state, action):
    """The whole tick of a quadrotor agent (module docstring); the rotor commands go to
    ``action``. ``error`` is the last ``info["error"]`` (6: position, velocity), used when
    ``has_error``; before the first one of an episode the observation's error slices are the
    features, and the modulator is left as it is (zero after a reset)."""
    x = Y.view1(abuf, aoff, A_FEATURES)
    inv_scale = Y.view1(abuf, aoff, A_INV_SCALE)
    for k in range(x.shape[0]):
        src = error[k] if has_error else obs[ai[I_FEATURE_INDEX + k]]
        x[k] = src * inv_scale[k]
    teach = Y.view1(abuf, aoff, A_TEACH)
    has_teach = has_error and learn
    if has_teach:  # QuadReflex.teaching: Kp e_p + Kd e_v
        kp = Y.view1(abuf, aoff, A_KP)
        kd = Y.view1(abuf, aoff, A_KD)
        for k in range(3):
            teach[k] = kp[k] * error[k] + kd[k] * error[3 + k]
    elif has_error:  # frozen: nothing is learned from this tick
        o0, o1 = ai[I_OUT_START], ai[I_OUT_STOP]
        Y.view1(dbuf, noff, Y.S_MODULATOR)[o0:o1] = 0.0
    c = _network_tick(t0, fbuf, dbuf, ibuf, jbuf, bbuf, ubuf, noff, mon_idx, mon_step,
                      event_driven, settle_v, abuf, aoff, ai, teach, has_teach)
    _pid_kernel(obs, c, gains, params, pid_state, action)


class FusedErrorTick:
    """The per-tick driver of the compiled entries for one error-mode agent (built by the
    agent; see :func:`make_fused_tick`). Its :meth:`act` is the agent's ``act`` after the
    observation is converted: one compiled call (plus the reflex's Python law and teaching
    signal for reflexes other than :class:`QuadReflex`)."""

    def __init__(self, agent: Any) -> None:
        policy = agent.policy
        net = policy.net
        reflex = agent.reflex
        enc: GaussianPopulationEncoder = policy.encoder
        dec: RateDecoder = policy.decoder
        cfg = agent.config
        self._agent = agent
        self._policy = policy
        self._net = net
        self._reflex = reflex
        self._quad = isinstance(reflex, QuadReflex)
        #: whether :meth:`act` turns the last error into the modulator (the quadrotor's
        #: teaching signal depends on the error alone); other reflexes' signals depend on the
        #: state of their last ``act`` (the arm's Jacobian at that configuration), which a
        #: checkpoint does not hold, so the agent's ``observe`` computes them, as unfused
        self.teaches_in_act = self._quad
        n_corr = reflex.n_correction
        scalars = np.zeros(N_F)
        scalars[[F_INV_TWO_VAR, F_MAX_DRIVE, F_ALPHA, F_INV_TICK]] = (
            enc._inv_two_var, enc.max_drive_v, dec._alpha, dec._inv_tick)
        scalars[[F_CORRECTION_LIMIT, F_CORRECTION_SCALE, F_TEACH_LIMIT, F_DEADBAND, F_DT]] = (
            cfg.correction_limit, reflex.correction_scale, cfg.teach_limit, cfg.learn_deadband,
            net.dt_s)
        gains = (reflex._kp, reflex._kd) if self._quad else (np.zeros(n_corr),) * 2
        arrays = [("features", agent._features), ("inv_scale", agent._inv_scale),
                  ("centres", enc.centres), ("decoders", dec.decoders), ("rates", dec.rates),
                  ("output", dec.output), ("correction", agent._correction),
                  ("dirs", np.ascontiguousarray(policy.output_dirs)), ("kp", gains[0]),
                  ("kd", gains[1]), ("teach", np.zeros(n_corr)), ("scalars", scalars)]
        packed = Y.pack([(name, np.asarray(a, dtype=np.float64), 0) for name, a in arrays],
                        (np.float64,))
        # the state the tick changes is read and written through the buffer from now on
        agent._features = packed.views["features"]
        agent._correction = packed.views["correction"]
        dec.rates = packed.views["rates"]
        dec.output = packed.views["output"]
        self._abuf = packed.buffers[0]
        self._aoff = packed.offsets
        hidden = net.population("hidden")
        out = net.population("output")
        ints = [hidden.start, hidden.stop, out.start, out.stop, policy.shape.substeps,
                net.tick_steps, net._mon_reserve]
        self._ai = np.array(ints + (list(QUAD_ERROR_INDEX) if self._quad else []),
                            dtype=np.int64)
        self._substeps = policy.shape.substeps
        self._net_args = (*net.packed.buffers, net.packed.offsets)
        self._no_error = np.zeros(agent._features.size)

    def act(self, obs: np.ndarray, error: np.ndarray | None, learn: bool) -> np.ndarray:
        """The action for ``obs`` (float64); ``error``: the last observed error (None before
        the first of an episode); ``learn``: whether the agent was learning when it observed
        that error (used when :attr:`teaches_in_act`)."""
        net = self._net
        if net._mon_reserve:  # a recorded population: room for the tick's spikes
            net._grow_monitor(net._mon_reserve * self._substeps)
        event_driven = net.execution == "event-driven"
        has_error = error is not None
        if self._quad:
            if obs.shape != (18,):
                raise ValueError(f"obs must have shape (18,), got {obs.shape}")
            gains, params, state = self._reflex.pid.kernel_arrays()
            action = np.empty(4, dtype=np.float32)
            quad_error_tick(obs, error if has_error else self._no_error, has_error, learn,
                            net.steps, *self._net_args, net._mon_idx, net._mon_step,
                            event_driven, net.settle_v, self._abuf, self._aoff, self._ai,
                            gains, params, state, action)
        else:  # the modulator was set by observe (teaches_in_act is False)
            agent = self._agent
            agent._encode(obs, error)
            error_tick(net.steps, *self._net_args, net._mon_idx, net._mon_step, event_driven,
                       net.settle_v, self._abuf, self._aoff, self._ai)
            action = self._reflex.act(obs, agent._correction)
        net.advance_clock(self._substeps)
        self._policy._last_counts = net._tick_counts
        return action


def make_fused_tick(agent: Any) -> FusedErrorTick | None:
    """The fused tick for ``agent``, or None when its network is not the one the compiled
    entries know: error mode with the rate-coded :class:`SpikingPolicy` (reward mode and other
    policies keep their own path)."""
    policy = getattr(agent, "policy", None)
    if (agent.config.mode != "error" or agent.reflex is None
            or not isinstance(policy, SpikingPolicy)):
        return None
    return FusedErrorTick(agent)
