"""Compiled pieces of the three-factor plasticity family, called from :func:`_kernels.advance`.

Every rule writes ``Δw = η · M_post · E`` where ``M_post`` is the modulator of the synapse's
postsynaptic neuron (reward-prediction error, or a projected error) and ``E`` its
eligibility:

- ``ELIG_PRE``: the presynaptic spike count of the tick (PES / feedback-error learning, event
  driven as on Loihi's learning engine: no per-synapse state, and the cost is the synaptic
  fan-out of the neurons that spiked — the same order as spike delivery itself);
- ``ELIG_PERTURBATION``: a decaying per-synapse trace of presynaptic spikes × the exploration
  noise of the postsynaptic neuron (node perturbation);
- ``ELIG_STDP``: a decaying per-synapse trace of pre-before-post minus post-before-pre
  coincidences (reward-modulated STDP).

Per-synapse eligibilities are stored scaled, like the synaptic currents: the true value is
``elig[s] * elig_scale[q]``, so their decay is one multiply per projection and step.
"""

from __future__ import annotations

import numpy as np

from neurofit.neuromorphic._jit import njit
from neurofit.neuromorphic._rng import next_normal, next_uniform

ELIG_NONE = 0
ELIG_PRE = 1
ELIG_PERTURBATION = 2
ELIG_STDP = 3

# --- columns of the per-projection plasticity integers ``plast_i`` (Q, 4) ---
LI_KIND = 0
LI_BITS = 1  # stored weight precision; 0 = full float
LI_STOCHASTIC = 2  # 1: stochastic rounding when quantising
LI_SOFT = 3  # 1: soft weight bounds
N_PLAST_I = 4

# --- columns of the per-projection plasticity floats ``plast_f`` (Q, 8), float64 ---
LF_ETA = 0
LF_W_MIN = 1
LF_W_MAX = 2
LF_A_ELIG = 3  # eligibility decay per step, exp(-dt / tau_elig)
LF_A_PLUS = 4  # STDP potentiation per pre-before-post pairing
LF_A_MINUS = 5  # STDP depression per post-before-pre pairing
LF_READ_NOISE = 6  # relative sd of the weight read at each synaptic event
LF_DRIFT = 7  # sd of the stored-weight random walk per sqrt(second), relative to the range
N_PLAST_F = 8

RESCALE_BELOW = 1e-10


@njit
def quantise(w, w_min, w_max, bits, stochastic, rng_state):
    """Round ``w`` to one of ``2**bits`` levels spanning ``[w_min, w_max]`` (``bits=0``: clip)."""
    if w < w_min:
        w = w_min
    elif w > w_max:
        w = w_max
    if bits == 0:
        return w
    step = (w_max - w_min) / ((1 << bits) - 1)
    if step <= 0.0:
        return w
    level = (w - w_min) / step
    base = np.floor(level)
    if stochastic:
        if next_uniform(rng_state) < level - base:
            base += 1.0
    elif level - base >= 0.5:
        base += 1.0
    # the top level in floating point can land past w_max (e.g. above 0 under a sign bound)
    return min(w_min + base * step, w_max)


@njit
def _write(weights, s, delta, pf, pi, rng_state):
    w = weights[s]
    w_min = pf[LF_W_MIN]
    w_max = pf[LF_W_MAX]
    if pi[LI_SOFT]:
        span = w_max - w_min
        delta *= (w_max - w) / span if delta > 0 else (w - w_min) / span
    weights[s] = quantise(w + delta, w_min, w_max, pi[LI_BITS], pi[LI_STOCHASTIC], rng_state)


@njit
def teach_pre(pre_start, pre_stop, row0, indptr, indices, weights, pf, pi, counts, modulator,
              eta, rng_state):
    """PES writes ``Δw = eta · M_post · n_pre`` on every synapse of a presynaptic neuron that
    spiked (``n_pre`` its count in ``counts``), with the rule's bounds and precision; returns
    the writes (synapses whose modulator is not zero). The ``"pre"`` rule's general path, and
    ``Network.teach``'s write besides a projection's own rule."""
    writes = 0
    for j in range(pre_start, pre_stop):
        x = counts[j]
        if x == 0:
            continue
        row = row0 + j - pre_start
        for s in range(indptr[row], indptr[row + 1]):
            m = modulator[indices[s]]
            if m != 0.0:
                _write(weights, s, eta * m * x, pf, pi, rng_state)
                writes += 1
    return writes


@njit
def update_traces(start, stop, a_trace, spiked, trace):
    """STDP traces: decay by one step and add this step's spikes."""
    for i in range(np.uint64(start), np.uint64(stop)):
        trace[i] = trace[i] * a_trace + spiked[i]


@njit
def stdp_on_pre(s0, s1, post_idx, trace, elig, scale, a_minus):
    """A presynaptic spike depresses each synapse's eligibility by the postsynaptic trace."""
    f = a_minus / scale
    for s in range(s0, s1):
        elig[s] -= f * trace[post_idx[s]]


@njit
def stdp_on_post(i, csc_ptr, csc_syn, syn_pre, trace, elig, elig_scale, syn_proj, a_plus_of):
    """A postsynaptic spike potentiates each incoming synapse's eligibility by the pre trace."""
    for k in range(csc_ptr[i], csc_ptr[i + 1]):
        s = csc_syn[k]
        q = syn_proj[k]
        elig[s] += a_plus_of[q] / elig_scale[q] * trace[syn_pre[k]]


@njit
def apply_tick(q, n_steps, dt, pre_start, pre_stop, row0, indptr, indices, weights, plast_i,
               plast_f, elig, elig_scale, tick_spikes, modulator, perturbation, rng_state,
               proj_counts, c_weight_updates):
    """End-of-tick learning of projection ``q``: eligibility bookkeeping, then the writes."""
    pi = plast_i[q]
    pf = plast_f[q]
    kind = pi[LI_KIND]
    eta = pf[LF_ETA]
    writes = 0
    if kind == ELIG_PRE and (pi[LI_BITS] != 0 or pi[LI_SOFT]):  # quantised or soft bounds
        writes = teach_pre(pre_start, pre_stop, row0, indptr, indices, weights, pf, pi,
                           tick_spikes, modulator, eta, rng_state)
    elif kind == ELIG_PRE:  # the common float case, kept tight: a multiply-add and a clip
        w_min = weights.dtype.type(pf[LF_W_MIN])
        w_max = weights.dtype.type(pf[LF_W_MAX])
        for j in range(pre_start, pre_stop):
            x = tick_spikes[j]
            if x == 0:
                continue
            row = row0 + j - pre_start
            f = eta * x
            for s in range(indptr[row], indptr[row + 1]):
                m = modulator[indices[s]]
                w = weights[s] + weights.dtype.type(f * m)
                weights[s] = min(max(w, w_min), w_max)
                writes += m != 0.0
    elif kind == ELIG_PERTURBATION or kind == ELIG_STDP:
        scale = elig_scale[q]
        if kind == ELIG_PERTURBATION:
            inv = 1.0 / scale
            for j in range(pre_start, pre_stop):
                if tick_spikes[j] == 0:
                    continue
                x = tick_spikes[j] * inv
                row = row0 + j - pre_start
                for s in range(indptr[row], indptr[row + 1]):
                    elig[s] += perturbation[indices[s]] * x
        s_first = indptr[row0]
        s_last = indptr[row0 + pre_stop - pre_start]
        for s in range(s_first, s_last):
            m = modulator[indices[s]]
            e = elig[s] * scale
            if m != 0.0 and e != 0.0:
                _write(weights, s, eta * m * e, pf, pi, rng_state)
                writes += 1
        if scale < RESCALE_BELOW:
            for s in range(s_first, s_last):
                elig[s] *= scale
            elig_scale[q] = 1.0
    proj_counts[q, c_weight_updates] += writes
    drift = pf[LF_DRIFT]
    if drift > 0.0:
        sd = drift * np.sqrt(n_steps * dt) * (pf[LF_W_MAX] - pf[LF_W_MIN])
        for s in range(indptr[row0], indptr[row0 + pre_stop - pre_start]):
            w = weights[s] + sd * next_normal(rng_state)
            weights[s] = quantise(w, pf[LF_W_MIN], pf[LF_W_MAX], pi[LI_BITS], pi[LI_STOCHASTIC],
                                  rng_state)
