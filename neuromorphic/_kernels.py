"""The compiled heart of the engine: one call advances a whole network by many steps.

Everything here is a top-level ``@njit`` function over flat arrays and scalars;
:mod:`neurofit.neuromorphic.network` validates, allocates, packs and calls. The packed layouts
below are the contract between the two.

Entries: :func:`advance` is the step loop over the flat arrays; :func:`advance_packed` runs it
over a network's few packed buffers and their offset table (:mod:`neurofit.neuromorphic._layout`)
— what :meth:`Network.run` and :meth:`Network.step` call, and what an agent's one compiled call
per control tick calls inside (:func:`neurofit.agents._tick.quad_error_tick`: encoder, network
substeps and plasticity, decoder, teaching signal and reflex; njit to njit, so no dispatch in
between).

One simulation step (same order as Brian2's default schedule, so results compare one to one):

1. state update: exact exponential integration of membrane, synaptic currents and adaptive
   threshold over ``dt`` (the inputs are constant within the step);
2. threshold and reset; refractory neurons hold their membrane;
3. spike propagation along CSR rows (directly into the currents, or through the delay ring);
4. bookkeeping: output counts, spike monitor, probes and the exact operation counters.

Speed notes (the membrane loop is bound by L2 bandwidth, so every array it touches counts):

- synaptic currents are stored *scaled*: the true current is ``stored * scale[p, channel]``,
  and the decay of a whole population is one scalar multiply of ``scale`` per step instead of
  a load and a store per neuron. Spikes add ``w / scale``; when ``scale`` falls below
  ``RESCALE_BELOW`` the stored currents are multiplied through and ``scale`` returns to 1;
- each neuron's resting fixed point ``v_inf = v_rest + bias + gain * ext`` (the membrane its
  drive alone holds it at) is computed once per call (once per step only with per-step
  inputs); the exact update is written relative to it,
  ``v' = v_inf + (v - v_inf) a_mem + c_exc I_exc + c_inh I_inh``;
- spike flags are bytes scanned eight at a time, because most steps have few spikes.

Rest, and the two execution models (the bus and the taxi):

- *rest rule* (part of the model, in both execution models): a LIF neuron that is not
  refractory, whose membrane is within ``settle_v`` of ``v_inf`` and whose true synaptic
  currents (and, adaptive LIF, threshold adaptation) are at most ``settle_v`` in magnitude,
  is *at rest*: its membrane is set exactly to ``v_inf`` (and ``theta`` to 0), the currents
  are ignored for that step. The rule is judged on the state *before* the step, so it is
  sticky: a neuron at rest that gets no input stays exactly at rest (its membrane is
  ``v_inf`` again, its scaled currents only shrink);
- *time-stepped* (:func:`_update_lif`): every neuron every step, the rule included;
- *event-driven*: each LIF population keeps the set of neurons not at rest (byte flags
  ``active``, their count ``n_active``, and a list in the population's own index range of
  ``active_list``). A neuron that the rule put at rest, and that did not spike, leaves the
  set; it joins again when something could move it: a non-zero synaptic input reaches its
  current (at delivery, or when the delay ring drains it), its ``v_inf`` changes (compared
  whenever it is recomputed), or a current fold leaves a current above the rest bound. A
  neuron at rest that is skipped is exactly where the time-stepped kernel would put it, so
  both give bit-identical states and spikes; a spurious wake costs one update and changes
  nothing. Each population is charged the neurons in its set (``C_EFFECTIVE_UPDATES``),
  however it is advanced: by walking its list (:func:`_update_lif_active`, scalar) when few
  are active, or by sweeping it whole (:func:`_sweep_lif`, vectorised; neurons at rest come
  out unchanged, and the list goes stale until rebuilt from the flags) when more than
  :data:`SWEEP_ABOVE` are. Delayed inputs are listed per ring slot (``ring_list``,
  ``ring_mark``), so the drain touches only neurons with input due. Spike sources are
  handled alike in both models; spikes from a list are sorted, so they propagate in index
  order as the scan does (floating-point sums then agree bit for bit).
"""

from __future__ import annotations

import numpy as np

from neurofit.neuromorphic import _layout as Y
from neurofit.neuromorphic import _plastic as L
from neurofit.neuromorphic._jit import njit
from neurofit.neuromorphic._rng import next_normal, next_uniform

# --- population kinds ---
KIND_LIF = 0
KIND_POISSON = 1
KIND_GENERATOR = 2
KIND_ALIF = 3

# --- rows of the neuron state array ``state`` (4, N) ---
S_V = 0
S_I_EXC = 1
S_I_INH = 2
S_THETA = 3  # threshold adaptation (adaptive LIF); stays 0 for plain LIF
N_STATE = 4

# --- rows of the per-neuron parameter array ``nparam`` (4, N) ---
N_V_THRESH = 0
N_GAIN = 1  # multiplies the external input current
N_BIAS = 2  # constant drive, volts
N_P_SPIKE = 3  # spike probability per step (Poisson sources)
N_NPARAM = 4

# --- columns of the per-population float parameters ``pop_f`` (P, N_POP_F) ---
PF_A_MEM = 0  # exp(-dt / tau_mem)
PF_A_EXC = 1  # exp(-dt / tau_syn_exc)
PF_A_INH = 2
PF_C_EXC = 3  # weight of the excitatory current in the exact membrane update
PF_C_INH = 4
PF_V_REST = 5
PF_V_RESET = 6
PF_A_ADAPT = 7  # exp(-dt / tau_adapt)
PF_ADAPT_INC = 8  # threshold increment per spike, volts
PF_A_TRACE = 9  # exp(-dt / tau_trace) of the plasticity trace
N_POP_F = 10

# --- columns of the per-population integer parameters ``pop_i`` (P, N_POP_I) ---
PI_START = 0
PI_STOP = 1
PI_KIND = 2
PI_REFRAC_STEPS = 3  # steps a neuron holds its membrane after a spike
PI_RECORD = 4  # 1: spikes go to the monitor
PI_COUNTED = 5  # 1: presynaptic to a plastic projection (spikes per tick are counted)
PI_STDP_POST = 6  # 1: pre or post of a reward-STDP projection (keeps a decaying trace)
N_POP_I = 7

# --- columns of the per-projection integers ``proj_i`` (Q, N_PROJ_I) ---
QI_PRE_START = 0  # first global index of the presynaptic population
QI_ROW_OFFSET = 1  # where this projection's rows start in the shared ``indptr``
QI_CHANNEL = 2  # 0: excitatory current, 1: inhibitory current
QI_DELAYED = 3  # 1: deliver through the delay ring buffer
QI_POST_POP = 4  # index of the postsynaptic population (for its current scale)
QI_PRE_STOP = 5  # one past the last global index of the presynaptic population
N_PROJ_I = 6

# --- columns of the counters ---
C_NEURON_UPDATES = 0  # dense: every LIF neuron every step
C_SPIKES = 1
C_EFFECTIVE_UPDATES = 2  # neurons actually advanced (event-driven: the active ones)
N_POP_COUNTS = 3
C_SYNAPTIC_EVENTS = 0
C_WEIGHT_UPDATES = 1


#: Scaled currents are folded back once their population's scale falls below this (the same
#: threshold as the scaled eligibilities of the plasticity rules).
RESCALE_BELOW = L.RESCALE_BELOW

#: Event-driven execution sweeps a population whole (vectorised) when more than this fraction
#: of it is active, and walks its active list otherwise (back to the list below half of it):
#: one neuron advanced from the list costs about as much as ten swept ones (float32, AVX2).
#: Speed only: the state and the counts are the same either way.
SWEEP_ABOVE = 0.1


@njit
def _drive_terms(start, stop, pf, gain, bias, ext_row, v_inf):
    """Each neuron's resting fixed point for inputs held over a step: the membrane its drive
    alone would hold it at, ``v_rest + bias + gain * input``."""
    v_rest = pf[PF_V_REST]
    for i in range(np.uint64(start), np.uint64(stop)):
        v_inf[i] = v_rest + bias[i] + gain[i] * ext_row[i]


@njit
def _drive_terms_wake(start, stop, pf, gain, bias, ext_row, v_inf, active):
    """:func:`_drive_terms` for event-driven execution: flags every neuron whose resting point
    moved (vectorised; the caller recounts the flags and marks the list stale)."""
    v_rest = pf[PF_V_REST]
    for i in range(np.uint64(start), np.uint64(stop)):
        x = v_rest + bias[i] + gain[i] * ext_row[i]
        active[i] |= x != v_inf[i]
        v_inf[i] = x


# The four loops below share their arithmetic line for line (the tests hold them to the same
# bits); a shared inlined helper measurably slows the vectorised ones.
@njit
def _update_lif(start, stop, a_mem, c_exc, c_inh, thr_exc, thr_inh, settle_v, v_reset,
                refrac_steps, v, i_exc, i_inh, refrac, v_thresh, v_inf, spiked):
    """Integrate one LIF population for one step and flag its spikes (time-stepped).

    The exact update relative to the resting point ``v_inf``, and the rest rule of the module
    notes (``thr_exc``/``thr_inh``: ``settle_v`` over the current scales, the bound on the
    stored currents). Branch-free (selects, not ifs) over 1-D arrays and scalar constants, so
    that LLVM vectorises the loop (passing the parameter arrays in instead measurably stops
    it); the synaptic currents are only read here (see the module notes on scaled currents).
    """
    one = refrac.dtype.type(1)
    zero = refrac.dtype.type(0)
    # an unsigned index spares numba's negative-index wraparound, which blocks vectorising
    for i in range(np.uint64(start), np.uint64(stop)):
        r = refrac[i]
        held = r > zero
        v_old = v[i]
        vi = v_inf[i]
        ie = i_exc[i]
        ii = i_inh[i]
        dv = v_old - vi
        rest = (abs(dv) <= settle_v) & (abs(ie) <= thr_exc) & (abs(ii) <= thr_inh) & (not held)
        v_int = vi + dv * a_mem + c_exc * ie + c_inh * ii
        v_new = vi if rest else (v_old if held else v_int)
        spike = (v_new > v_thresh[i]) & (not held)
        v[i] = v_reset if spike else v_new
        r1 = r - one
        refrac[i] = refrac_steps if spike else (r1 if r1 > zero else zero)
        spiked[i] = spike


@njit
def _update_alif(start, stop, a_mem, c_exc, c_inh, thr_exc, thr_inh, settle_v, v_reset,
                 refrac_steps, a_adapt, adapt_inc, v, i_exc, i_inh, theta, refrac, v_thresh,
                 v_inf, spiked):
    """:func:`_update_lif` with spike-triggered threshold adaptation (``theta``); at rest the
    adaptation is at most ``settle_v`` too, and is set to 0."""
    one = refrac.dtype.type(1)
    zero = refrac.dtype.type(0)
    fzero = v.dtype.type(0)
    for i in range(np.uint64(start), np.uint64(stop)):
        r = refrac[i]
        held = r > zero
        v_old = v[i]
        vi = v_inf[i]
        ie = i_exc[i]
        ii = i_inh[i]
        th_old = theta[i]
        dv = v_old - vi
        rest = ((abs(dv) <= settle_v) & (abs(ie) <= thr_exc) & (abs(ii) <= thr_inh)
                & (abs(th_old) <= settle_v) & (not held))
        v_int = vi + dv * a_mem + c_exc * ie + c_inh * ii
        v_new = vi if rest else (v_old if held else v_int)
        th = fzero if rest else th_old * a_adapt
        spike = (v_new > v_thresh[i] + th) & (not held)
        v[i] = v_reset if spike else v_new
        theta[i] = th + adapt_inc if spike else th
        r1 = r - one
        refrac[i] = refrac_steps if spike else (r1 if r1 > zero else zero)
        spiked[i] = spike


@njit
def _sweep_lif(start, stop, a_mem, c_exc, c_inh, thr_exc, thr_inh, settle_v, v_reset,
               refrac_steps, v, i_exc, i_inh, refrac, v_thresh, v_inf, spiked, active):
    """Event-driven step of a population most of whose neurons are active: :func:`_update_lif`
    over every neuron (one at rest comes out unchanged), also flagging who stays active."""
    one = refrac.dtype.type(1)
    zero = refrac.dtype.type(0)
    for i in range(np.uint64(start), np.uint64(stop)):
        r = refrac[i]
        held = r > zero
        v_old = v[i]
        vi = v_inf[i]
        ie = i_exc[i]
        ii = i_inh[i]
        dv = v_old - vi
        rest = (abs(dv) <= settle_v) & (abs(ie) <= thr_exc) & (abs(ii) <= thr_inh) & (not held)
        v_int = vi + dv * a_mem + c_exc * ie + c_inh * ii
        v_new = vi if rest else (v_old if held else v_int)
        spike = (v_new > v_thresh[i]) & (not held)
        v[i] = v_reset if spike else v_new
        r1 = r - one
        refrac[i] = refrac_steps if spike else (r1 if r1 > zero else zero)
        spiked[i] = spike
        active[i] = spike | (not rest)


@njit
def _sweep_alif(start, stop, a_mem, c_exc, c_inh, thr_exc, thr_inh, settle_v, v_reset,
                refrac_steps, a_adapt, adapt_inc, v, i_exc, i_inh, theta, refrac, v_thresh,
                v_inf, spiked, active):
    """:func:`_sweep_lif` for adaptive LIF."""
    one = refrac.dtype.type(1)
    zero = refrac.dtype.type(0)
    fzero = v.dtype.type(0)
    for i in range(np.uint64(start), np.uint64(stop)):
        r = refrac[i]
        held = r > zero
        v_old = v[i]
        vi = v_inf[i]
        ie = i_exc[i]
        ii = i_inh[i]
        th_old = theta[i]
        dv = v_old - vi
        rest = ((abs(dv) <= settle_v) & (abs(ie) <= thr_exc) & (abs(ii) <= thr_inh)
                & (abs(th_old) <= settle_v) & (not held))
        v_int = vi + dv * a_mem + c_exc * ie + c_inh * ii
        v_new = vi if rest else (v_old if held else v_int)
        th = fzero if rest else th_old * a_adapt
        spike = (v_new > v_thresh[i] + th) & (not held)
        v[i] = v_reset if spike else v_new
        theta[i] = th + adapt_inc if spike else th
        r1 = r - one
        refrac[i] = refrac_steps if spike else (r1 if r1 > zero else zero)
        spiked[i] = spike
        active[i] = spike | (not rest)


@njit
def _count_flags(start, stop, flags):
    """How many of the byte flags ``flags[start:stop]`` (0 or 1) are set (a vectorised sum)."""
    n = 0
    for i in range(np.uint64(start), np.uint64(stop)):
        n += flags[i]
    return n


@njit
def _update_lif_active(base, n_act, a_mem, c_exc, c_inh, thr_exc, thr_inh, settle_v, v_reset,
                       refrac_steps, v, i_exc, i_inh, refrac, v_thresh, v_inf, spiked, active,
                       active_list, spike_list, n_spk):
    """Event-driven step over the active list ``active_list[base:base + n_act]`` only:
    :func:`_update_lif` neuron by neuron.

    Spikes are appended to ``spike_list``; neurons put at rest that did not spike leave the
    list, which is compacted in place. Returns the new length and spike count.
    """
    one = refrac.dtype.type(1)
    zero = refrac.dtype.type(0)
    kept = np.uint64(base)  # unsigned positions: no negative-index wraparound checks
    m = np.uint64(n_spk)
    for k in range(np.uint64(base), np.uint64(base + n_act)):
        i = np.uint64(active_list[k])
        r = refrac[i]
        held = r > zero
        v_old = v[i]
        vi = v_inf[i]
        ie = i_exc[i]
        ii = i_inh[i]
        dv = v_old - vi
        rest = (abs(dv) <= settle_v) & (abs(ie) <= thr_exc) & (abs(ii) <= thr_inh) & (not held)
        v_int = vi + dv * a_mem + c_exc * ie + c_inh * ii
        v_new = vi if rest else (v_old if held else v_int)
        spike = (v_new > v_thresh[i]) & (not held)
        v[i] = v_reset if spike else v_new
        r1 = r - one
        refrac[i] = refrac_steps if spike else (r1 if r1 > zero else zero)
        spiked[i] = spike
        keep = spike | (not rest)
        active[i] = keep
        spike_list[m] = i  # branch-free appends
        m += np.uint64(spike)
        active_list[kept] = i
        kept += np.uint64(keep)
    return np.int64(kept) - base, np.int64(m)


@njit
def _update_alif_active(base, n_act, a_mem, c_exc, c_inh, thr_exc, thr_inh, settle_v, v_reset,
                        refrac_steps, a_adapt, adapt_inc, v, i_exc, i_inh, theta, refrac,
                        v_thresh, v_inf, spiked, active, active_list, spike_list, n_spk):
    """:func:`_update_lif_active` for adaptive LIF (:func:`_update_alif` neuron by neuron)."""
    one = refrac.dtype.type(1)
    zero = refrac.dtype.type(0)
    fzero = v.dtype.type(0)
    kept = np.uint64(base)  # unsigned positions: no negative-index wraparound checks
    m = np.uint64(n_spk)
    for k in range(np.uint64(base), np.uint64(base + n_act)):
        i = np.uint64(active_list[k])
        r = refrac[i]
        held = r > zero
        v_old = v[i]
        vi = v_inf[i]
        ie = i_exc[i]
        ii = i_inh[i]
        th_old = theta[i]
        dv = v_old - vi
        rest = ((abs(dv) <= settle_v) & (abs(ie) <= thr_exc) & (abs(ii) <= thr_inh)
                & (abs(th_old) <= settle_v) & (not held))
        v_int = vi + dv * a_mem + c_exc * ie + c_inh * ii
        v_new = vi if rest else (v_old if held else v_int)
        th = fzero if rest else th_old * a_adapt
        spike = (v_new > v_thresh[i] + th) & (not held)
        v[i] = v_reset if spike else v_new
        theta[i] = th + adapt_inc if spike else th
        r1 = r - one
        refrac[i] = refrac_steps if spike else (r1 if r1 > zero else zero)
        spiked[i] = spike
        keep = spike | (not rest)
        active[i] = keep
        spike_list[m] = i  # branch-free appends
        m += np.uint64(spike)
        active_list[kept] = i
        kept += np.uint64(keep)
    return np.int64(kept) - base, np.int64(m)


@njit
def _decay_currents(start, stop, pf, scale, i_exc, i_inh):
    """Advance the population's current scales by one step; fold them in when too small.

    Returns whether it folded.
    """
    scale[0] *= pf[PF_A_EXC]
    scale[1] *= pf[PF_A_INH]
    if scale[0] < RESCALE_BELOW or scale[1] < RESCALE_BELOW:
        for channel in range(2):
            current = i_exc if channel == 0 else i_inh
            f = current.dtype.type(scale[channel])
            for i in range(start, stop):
                current[i] *= f
            scale[channel] = 1.0
        return True
    return False


@njit
def _wake_after_fold(p, settle_v, pop_i, i_exc, i_inh, active, active_list, n_active):
    """Wake the neurons at rest whose folded currents came out above the rest bound.

    Folding rounds each stored current once; a neuron whose current was just under the bound
    could end just over it, and the time-stepped kernel would then advance it.
    """
    thr = i_exc.dtype.type(settle_v)  # the bound on stored currents when the scale is 1
    base = pop_i[p, PI_START]
    for i in range(base, pop_i[p, PI_STOP]):
        if active[i] == 0 and (abs(i_exc[i]) > thr or abs(i_inh[i]) > thr):
            active[i] = 1
            active_list[base + n_active[p]] = i
            n_active[p] += 1


@njit
def _update_poisson(start, stop, p_spike, rng_state, spiked):
    for i in range(start, stop):
        spiked[i] = next_uniform(rng_state) < p_spike[i]


@njit
def _update_generator(start, stop, t, gen_step, gen_idx, gen_ptr, spiked):
    """Flag this population's scheduled spikes of step ``t``.

    ``gen_ptr`` (shared by all spike-source populations, whose entries are merged in time
    order) points at the first entry not before ``t``; :func:`advance` moves it on once per
    step, after every population has read its entries.
    """
    for i in range(start, stop):
        spiked[i] = 0
    k = gen_ptr[0]
    while k < gen_step.shape[0] and gen_step[k] == t:
        j = gen_idx[k]
        if start <= j < stop:
            spiked[j] = 1
        k += 1


@njit
def _collect_word(x, base, start, stop, spike_list, n_spk):
    for b in range(8):
        if (x >> np.uint64(8 * b)) & np.uint64(0xFF):
            i = base + b
            if i >= start and i < stop:
                spike_list[n_spk] = i
                n_spk += 1
    return n_spk


@njit
def _collect(start, stop, spiked_words, spike_list, n_spk):
    """Append the flagged neurons of ``[start, stop)`` to ``spike_list``; return the new length.

    Flags are bytes read a 64-bit word (eight neurons) at a time: most words are zero. (A
    byte loop nested in the word loop compiles to code several times slower; the helper
    function keeps the scan tight.)
    """
    for w in range(start >> 3, (stop + 7) >> 3):
        x = spiked_words[w]
        if x != 0:
            n_spk = _collect_word(x, w << 3, start, stop, spike_list, n_spk)
    return n_spk


@njit
def _deliver(i, t, pop, pop_out_ptr, pop_out_proj, proj_i, indptr, indices, weights, delays,
             i_exc, i_inh, pop_scale, ring, proj_counts, plast_i, plast_f, trace, elig,
             elig_scale, rng_state):
    """Add neuron ``i``'s spike to every target of every projection leaving its population."""
    ring_len = ring.shape[1]
    for k in range(pop_out_ptr[pop], pop_out_ptr[pop + 1]):
        q = pop_out_proj[k]
        row = proj_i[q, QI_ROW_OFFSET] + i - proj_i[q, QI_PRE_START]
        s0 = indptr[row]
        s1 = indptr[row + 1]
        channel = proj_i[q, QI_CHANNEL]
        read_noise = plast_f[q, L.LF_READ_NOISE]
        if read_noise > 0.0:  # analog read noise: each event sees a perturbed weight
            current = i_exc if channel == 0 else i_inh
            inv_scale = 1.0 / pop_scale[proj_i[q, QI_POST_POP], channel]
            for s in range(s0, s1):
                w = weights[s] * (1.0 + read_noise * next_normal(rng_state))
                if proj_i[q, QI_DELAYED]:
                    ring[channel, (t + delays[s]) % ring_len, indices[s]] += w
                else:
                    current[indices[s]] += w * inv_scale
        elif proj_i[q, QI_DELAYED]:
            buf = ring[channel]
            for s in range(s0, s1):
                buf[(t + delays[s]) % ring_len, indices[s]] += weights[s]
        else:
            current = i_exc if channel == 0 else i_inh
            inv_scale = current.dtype.type(1.0 / pop_scale[proj_i[q, QI_POST_POP], channel])
            for s in range(s0, s1):
                current[indices[s]] += weights[s] * inv_scale
        if plast_i[q, L.LI_KIND] == L.ELIG_STDP:
            L.stdp_on_pre(s0, s1, indices, trace, elig, elig_scale[q], plast_f[q, L.LF_A_MINUS])
        proj_counts[q, C_SYNAPTIC_EVENTS] += s1 - s0


@njit
def _drain_ring(slot, pop_i, pop_scale, i_exc, i_inh, ring):
    """Move the delayed inputs due now from the ring buffer into the (scaled) currents."""
    for p in range(pop_i.shape[0]):
        kind = pop_i[p, PI_KIND]
        if kind != KIND_LIF and kind != KIND_ALIF:
            continue
        for channel in range(2):
            current = i_exc if channel == 0 else i_inh
            buf = ring[channel, slot]
            inv_scale = current.dtype.type(1.0 / pop_scale[p, channel])
            for j in range(np.uint64(pop_i[p, PI_START]), np.uint64(pop_i[p, PI_STOP])):
                current[j] += buf[j] * inv_scale
                buf[j] = 0


@njit
def _mark_targets(n_spk, spike_list, t, pop_out_ptr, pop_out_proj, proj_i, indptr, indices,
                  weights, delays, pop_i, active, active_list, n_active, ring_list, ring_n,
                  ring_mark):
    """Event-driven bookkeeping of this step's spikes (after :func:`_deliver`; one call a step).

    Targets of undelayed synapses are woken now; targets of delayed ones are listed under the
    ring slot their input is due in, and woken when it drains. A zero weight moves nothing,
    so it wakes nothing. (Waking sets the flag, counts, and appends to the list; appending to
    a stale list is harmless, it is rebuilt from the flags. Written out in each loop: a
    helper taking the arrays costs a reference count per call.)
    """
    ring_len = ring_list.shape[0]
    pop = 0
    for m in range(n_spk):
        i = spike_list[m]
        while pop_i[pop, PI_STOP] <= i:
            pop += 1
        for k in range(pop_out_ptr[pop], pop_out_ptr[pop + 1]):
            q = pop_out_proj[k]
            row = proj_i[q, QI_ROW_OFFSET] + i - proj_i[q, QI_PRE_START]
            s0 = indptr[row]
            s1 = indptr[row + 1]
            if proj_i[q, QI_DELAYED]:
                for s in range(s0, s1):
                    j = indices[s]
                    slot = (t + delays[s]) % ring_len
                    if weights[s] != 0 and ring_mark[slot, j] == 0:
                        ring_mark[slot, j] = 1
                        ring_list[slot, ring_n[slot]] = j
                        ring_n[slot] += 1
            else:
                post = proj_i[q, QI_POST_POP]
                base = pop_i[post, PI_START]
                n = n_active[post]
                if n == pop_i[post, PI_STOP] - base:
                    continue  # every target is awake already
                for s in range(s0, s1):
                    j = indices[s]
                    if weights[s] != 0 and active[j] == 0:
                        active[j] = 1
                        active_list[base + n] = j
                        n += 1
                n_active[post] = n


@njit
def _drain_ring_active(slot, pop_i, pop_scale, i_exc, i_inh, ring, ring_list, ring_n,
                       ring_mark, active, active_list, n_active):
    """:func:`_drain_ring` over the neurons listed under ``slot`` only; wakes those with input.

    Every other entry of the slot is zero, so the dense drain would add nothing to them.
    """
    buf_exc = ring[0, slot]
    buf_inh = ring[1, slot]
    for k in range(ring_n[slot]):
        j = ring_list[slot, k]
        ring_mark[slot, j] = 0
        b_exc = buf_exc[j]
        b_inh = buf_inh[j]
        if b_exc != 0 or b_inh != 0:
            p = 0
            while pop_i[p, PI_STOP] <= j:  # j's population (there are few)
                p += 1
            i_exc[j] += b_exc * i_exc.dtype.type(1.0 / pop_scale[p, 0])
            i_inh[j] += b_inh * i_inh.dtype.type(1.0 / pop_scale[p, 1])
            buf_exc[j] = 0
            buf_inh[j] = 0
            if active[j] == 0:  # wake
                active[j] = 1
                active_list[pop_i[p, PI_START] + n_active[p]] = j
                n_active[p] += 1
    ring_n[slot] = 0


@njit
def _learn(tick_steps, dt, pop_i, proj_i, indptr, indices, weights, plast_i, plast_f, elig,
           elig_scale, tick_spikes, modulator, perturbation, rng_state, proj_counts):
    """End of a control tick: every plastic (or drifting) projection learns; counts restart."""
    for q in range(proj_i.shape[0]):
        if plast_i[q, L.LI_KIND] == L.ELIG_NONE and plast_f[q, L.LF_DRIFT] == 0.0:
            continue
        L.apply_tick(q, tick_steps, dt, proj_i[q, QI_PRE_START], proj_i[q, QI_PRE_STOP],
                     proj_i[q, QI_ROW_OFFSET], indptr, indices, weights, plast_i, plast_f, elig,
                     elig_scale, tick_spikes, modulator, perturbation, rng_state, proj_counts,
                     C_WEIGHT_UPDATES)
    for p in range(pop_i.shape[0]):
        if pop_i[p, PI_COUNTED]:
            for i in range(pop_i[p, PI_START], pop_i[p, PI_STOP]):
                tick_spikes[i] = 0


@njit
def advance(
    n_steps, t0, ext, ext_per_step,
    v, i_exc, i_inh, theta, refrac, v_thresh, gain, bias, p_spike,
    pop_f, pop_i, pop_scale, pop_out_ptr, pop_out_proj,
    proj_i, indptr, indices, weights, delays, ring,
    gen_step, gen_idx, gen_ptr, rng_state,
    pop_counts, proj_counts, tick_counts, v_inf, spiked, spiked_words, spike_list,
    mon_idx, mon_step, mon_n, mon_reserve, probe_idx, probe_out,
    tick_steps, dt, plast_i, plast_f, elig, elig_scale, trace, tick_spikes, modulator,
    perturbation, csc_ptr, csc_syn, csc_pre, csc_proj,
    event_driven, settle_v, active, active_list, n_active, list_ok,
    ring_list, ring_n, ring_mark,
):
    """Advance the network ``n_steps`` steps from global step ``t0``; return the steps done.

    ``ext`` holds external input currents, one row per step when ``ext_per_step`` else one
    row for all steps. ``tick_counts`` is zeroed, then counts each neuron's spikes in this
    call. The call stops early (returning fewer steps) only when the spike monitor has less
    than ``mon_reserve`` free slots; the caller grows it and calls again.

    Plasticity: traces follow every step; at the end of every ``tick_steps``-th global step
    each plastic projection applies ``Δw = η · modulator[post] · eligibility`` (see
    :mod:`neurofit.neuromorphic._plastic`).

    Execution: time-stepped, or ``event_driven`` over the active sets (module notes); both
    apply the rest rule with bound ``settle_v`` (volts), so they give the same bits.
    """
    n_proj = proj_i.shape[0]
    n_pops = pop_i.shape[0]
    ring_len = ring.shape[1]
    n_probe = probe_idx.shape[0]
    active_words = active.view(np.uint64)  # ``active`` is padded to whole words
    ftype = v.dtype.type
    itype = refrac.dtype.type
    tol = ftype(settle_v)
    tick_counts[:] = 0
    for step in range(n_steps):
        if mon_n[0] + mon_reserve > mon_idx.shape[0]:
            return step
        t = t0 + step
        if step == 0 or ext_per_step:
            ext_row = ext[step] if ext_per_step else ext[0]
            for p in range(n_pops):
                if pop_i[p, PI_KIND] == KIND_LIF or pop_i[p, PI_KIND] == KIND_ALIF:
                    if event_driven:
                        _drive_terms_wake(pop_i[p, PI_START], pop_i[p, PI_STOP], pop_f[p], gain,
                                          bias, ext_row, v_inf, active)
                        n = _count_flags(pop_i[p, PI_START], pop_i[p, PI_STOP], active)
                        if n != n_active[p]:
                            n_active[p] = n
                            list_ok[p] = 0  # rebuilt from the flags when next walked
                    else:
                        _drive_terms(pop_i[p, PI_START], pop_i[p, PI_STOP], pop_f[p], gain,
                                     bias, ext_row, v_inf)
        n_spk = 0
        for p in range(n_pops):
            start = pop_i[p, PI_START]
            stop = pop_i[p, PI_STOP]
            kind = pop_i[p, PI_KIND]
            first = n_spk
            if kind == KIND_LIF or kind == KIND_ALIF:
                # written out here, not in a helper: each array passed costs a reference count
                pf = pop_f[p]
                a_mem = pf[PF_A_MEM]
                c_exc = ftype(pf[PF_C_EXC] * pop_scale[p, 0])
                c_inh = ftype(pf[PF_C_INH] * pop_scale[p, 1])
                thr_exc = ftype(settle_v / pop_scale[p, 0])
                thr_inh = ftype(settle_v / pop_scale[p, 1])
                steps = itype(pop_i[p, PI_REFRAC_STEPS])
                n_act = stop - start
                sweep = True
                if event_driven:
                    n_act = n_active[p]
                    # hysteresis: a swept population (stale list) is walked again only once
                    # clearly sparse, so the list is not rebuilt every other step
                    sweep = n_act > (SWEEP_ABOVE if list_ok[p] else 0.5 * SWEEP_ABOVE) * (
                        stop - start)
                if not sweep:  # event-driven, few active: walk the active list
                    if not list_ok[p]:
                        _collect(start, stop, active_words, active_list, start)
                        list_ok[p] = 1
                    if kind == KIND_LIF:
                        kept, n_spk = _update_lif_active(
                            start, n_act, a_mem, c_exc, c_inh, thr_exc, thr_inh, tol,
                            pf[PF_V_RESET], steps, v, i_exc, i_inh, refrac, v_thresh, v_inf,
                            spiked, active, active_list, spike_list, n_spk)
                    else:
                        kept, n_spk = _update_alif_active(
                            start, n_act, a_mem, c_exc, c_inh, thr_exc, thr_inh, tol,
                            pf[PF_V_RESET], steps, pf[PF_A_ADAPT], pf[PF_ADAPT_INC], v, i_exc,
                            i_inh, theta, refrac, v_thresh, v_inf, spiked, active, active_list,
                            spike_list, n_spk)
                    n_active[p] = kept
                    if n_spk - first > 1:  # propagate in index order, as the scan does
                        spike_list[first:n_spk].sort()
                elif not event_driven:
                    if kind == KIND_LIF:
                        _update_lif(start, stop, a_mem, c_exc, c_inh, thr_exc, thr_inh, tol,
                                    pf[PF_V_RESET], steps, v, i_exc, i_inh, refrac, v_thresh,
                                    v_inf, spiked)
                    else:
                        _update_alif(start, stop, a_mem, c_exc, c_inh, thr_exc, thr_inh, tol,
                                     pf[PF_V_RESET], steps, pf[PF_A_ADAPT], pf[PF_ADAPT_INC], v,
                                     i_exc, i_inh, theta, refrac, v_thresh, v_inf, spiked)
                    n_spk = _collect(start, stop, spiked_words, spike_list, n_spk)
                else:  # event-driven, many active: sweep the population whole, vectorised
                    if kind == KIND_LIF:
                        _sweep_lif(start, stop, a_mem, c_exc, c_inh, thr_exc, thr_inh, tol,
                                   pf[PF_V_RESET], steps, v, i_exc, i_inh, refrac, v_thresh,
                                   v_inf, spiked, active)
                    else:
                        _sweep_alif(start, stop, a_mem, c_exc, c_inh, thr_exc, thr_inh, tol,
                                    pf[PF_V_RESET], steps, pf[PF_A_ADAPT], pf[PF_ADAPT_INC], v,
                                    i_exc, i_inh, theta, refrac, v_thresh, v_inf, spiked, active)
                    n_active[p] = _count_flags(start, stop, active)
                    list_ok[p] = 0
                    n_spk = _collect(start, stop, spiked_words, spike_list, n_spk)
                pop_counts[p, C_EFFECTIVE_UPDATES] += n_act
                if _decay_currents(start, stop, pop_f[p], pop_scale[p], i_exc, i_inh) \
                        and event_driven:
                    _wake_after_fold(p, settle_v, pop_i, i_exc, i_inh, active, active_list,
                                     n_active)
                pop_counts[p, C_NEURON_UPDATES] += stop - start
            else:
                if kind == KIND_POISSON:
                    _update_poisson(start, stop, p_spike, rng_state, spiked)
                else:
                    _update_generator(start, stop, t, gen_step, gen_idx, gen_ptr, spiked)
                n_spk = _collect(start, stop, spiked_words, spike_list, n_spk)
            pop_counts[p, C_SPIKES] += n_spk - first
            if pop_i[p, PI_COUNTED]:
                for k in range(first, n_spk):
                    tick_spikes[spike_list[k]] += 1
            if pop_i[p, PI_STDP_POST]:
                L.update_traces(start, stop, ftype(pop_f[p, PF_A_TRACE]), spiked, trace)
            if pop_i[p, PI_RECORD]:
                for k in range(first, n_spk):
                    mon_idx[mon_n[0]] = spike_list[k]
                    mon_step[mon_n[0]] = t
                    mon_n[0] += 1
        while gen_ptr[0] < gen_step.shape[0] and gen_step[gen_ptr[0]] <= t:
            gen_ptr[0] += 1
        # propagate after every population has updated, as Brian2 does (synapses after
        # thresholds), so the order of populations never matters
        pop = 0
        for k in range(n_spk):
            i = spike_list[k]
            tick_counts[i] += 1
            while pop_i[pop, PI_STOP] <= i:
                pop += 1
            _deliver(i, t, pop, pop_out_ptr, pop_out_proj, proj_i, indptr, indices, weights,
                     delays, i_exc, i_inh, pop_scale, ring, proj_counts, plast_i, plast_f,
                     trace, elig, elig_scale, rng_state)
            if pop_i[pop, PI_STDP_POST]:  # after every trace took this step's spikes
                L.stdp_on_post(i, csc_ptr, csc_syn, csc_pre, trace, elig, elig_scale,
                               csc_proj, plast_f[:, L.LF_A_PLUS])
        if event_driven and n_spk > 0:
            _mark_targets(n_spk, spike_list, t, pop_out_ptr, pop_out_proj, proj_i, indptr,
                          indices, weights, delays, pop_i, active, active_list, n_active,
                          ring_list, ring_n, ring_mark)
        if ring_len > 1:
            if event_driven:
                _drain_ring_active(t % ring_len, pop_i, pop_scale, i_exc, i_inh, ring,
                                   ring_list, ring_n, ring_mark, active, active_list, n_active)
            else:
                _drain_ring(t % ring_len, pop_i, pop_scale, i_exc, i_inh, ring)
        for q in range(n_proj):
            kind = plast_i[q, L.LI_KIND]
            if kind == L.ELIG_PERTURBATION or kind == L.ELIG_STDP:
                elig_scale[q] *= plast_f[q, L.LF_A_ELIG]
        if (t + 1) % tick_steps == 0:
            _learn(tick_steps, dt, pop_i, proj_i, indptr, indices, weights, plast_i, plast_f,
                   elig, elig_scale, tick_spikes, modulator, perturbation, rng_state,
                   proj_counts)
        for k in range(n_probe):
            probe_out[step, k] = v[probe_idx[k]]
    return n_steps


@njit
def advance_packed(n_steps, t0, ext, ext_per_step, fbuf, dbuf, ibuf, jbuf, bbuf, ubuf, offsets,
                   mon_idx, mon_step, mon_reserve, probe_idx, probe_out, tick_steps, dt,
                   event_driven, settle_v):
    """:func:`advance` over a network's packed buffers (:mod:`neurofit.neuromorphic._layout`):
    cuts the views out of the buffers (role order float, float64, int64, int32, uint8,
    uint64; ``offsets`` the network's table) and runs the same step loop. The spike monitor
    (it grows), the probes and ``ext`` (per-step inputs of a run) stay separate; for a tick
    ``ext`` is the network's own held input, the buffer's ``ext`` slot.
    """
    state = Y.view2(fbuf, offsets, Y.S_STATE)
    nparam = Y.view2(fbuf, offsets, Y.S_NPARAM)
    spiked = Y.view1(bbuf, offsets, Y.S_SPIKED)
    return advance(
        n_steps, t0, ext, ext_per_step,
        state[S_V], state[S_I_EXC], state[S_I_INH], state[S_THETA],
        Y.view1(jbuf, offsets, Y.S_REFRAC),
        nparam[N_V_THRESH], nparam[N_GAIN], nparam[N_BIAS], nparam[N_P_SPIKE],
        Y.view2(fbuf, offsets, Y.S_POP_F), Y.view2(ibuf, offsets, Y.S_POP_I),
        Y.view2(dbuf, offsets, Y.S_POP_SCALE), Y.view1(ibuf, offsets, Y.S_POP_OUT_PTR),
        Y.view1(ibuf, offsets, Y.S_POP_OUT_PROJ), Y.view2(ibuf, offsets, Y.S_PROJ_I),
        Y.view1(ibuf, offsets, Y.S_INDPTR), Y.view1(jbuf, offsets, Y.S_INDICES),
        Y.view1(fbuf, offsets, Y.S_WEIGHTS), Y.view1(jbuf, offsets, Y.S_DELAYS),
        Y.view3(fbuf, offsets, Y.S_RING),
        Y.view1(ibuf, offsets, Y.S_GEN_STEP), Y.view1(jbuf, offsets, Y.S_GEN_IDX),
        Y.view1(ibuf, offsets, Y.S_GEN_PTR), Y.view1(ubuf, offsets, Y.S_RNG_STATE),
        Y.view2(ibuf, offsets, Y.S_POP_COUNTS), Y.view2(ibuf, offsets, Y.S_PROJ_COUNTS),
        Y.view1(jbuf, offsets, Y.S_TICK_COUNTS), Y.view1(fbuf, offsets, Y.S_V_INF),
        spiked, spiked.view(np.uint64), Y.view1(ibuf, offsets, Y.S_SPIKE_LIST),
        mon_idx, mon_step, Y.view1(ibuf, offsets, Y.S_MON_N), mon_reserve, probe_idx,
        probe_out,
        tick_steps, dt, Y.view2(ibuf, offsets, Y.S_PLAST_I),
        Y.view2(dbuf, offsets, Y.S_PLAST_F), Y.view1(fbuf, offsets, Y.S_ELIG),
        Y.view1(dbuf, offsets, Y.S_ELIG_SCALE), Y.view1(fbuf, offsets, Y.S_TRACE),
        Y.view1(jbuf, offsets, Y.S_TICK_SPIKES), Y.view1(dbuf, offsets, Y.S_MODULATOR),
        Y.view1(dbuf, offsets, Y.S_PERTURBATION), Y.view1(ibuf, offsets, Y.S_CSC_PTR),
        Y.view1(ibuf, offsets, Y.S_CSC_SYN), Y.view1(ibuf, offsets, Y.S_CSC_PRE),
        Y.view1(ibuf, offsets, Y.S_CSC_PROJ),
        event_driven, settle_v, Y.view1(bbuf, offsets, Y.S_ACTIVE_PADDED),
        Y.view1(jbuf, offsets, Y.S_ACTIVE_LIST), Y.view1(ibuf, offsets, Y.S_N_ACTIVE),
        Y.view1(bbuf, offsets, Y.S_LIST_OK), Y.view2(jbuf, offsets, Y.S_RING_LIST),
        Y.view1(ibuf, offsets, Y.S_RING_N), Y.view2(bbuf, offsets, Y.S_RING_MARK),
    )
