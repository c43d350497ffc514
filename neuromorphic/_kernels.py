"""The compiled heart of the engine: one call advances a whole network by many steps.

Everything here is a top-level ``@njit(cache=True)`` function over flat arrays and scalars;
:mod:`neurofit.neuromorphic.network` validates, allocates, packs and calls. The packed layouts
below are the contract between the two.

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
- the constant part of the drive, ``(v_rest + bias + gain * ext) * (1 - a_mem)``, is computed
  once per call (once per step only with per-step inputs);
- spike flags are bytes scanned eight at a time, because most steps have few spikes.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurofit.neuromorphic import _plastic as L
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
C_NEURON_UPDATES = 0
C_SPIKES = 1
C_SYNAPTIC_EVENTS = 0
C_WEIGHT_UPDATES = 1


#: Scaled currents are folded back once their population's scale falls below this (the same
#: threshold as the scaled eligibilities of the plasticity rules).
RESCALE_BELOW = L.RESCALE_BELOW


@njit(cache=True)
def _drive_terms(start, stop, pf, gain, bias, ext_row, drive):
    """Constant part of the exact membrane update, per neuron, for inputs held over a step."""
    a_mem = pf[PF_A_MEM]
    b_mem = pf.dtype.type(1) - a_mem
    v_rest = pf[PF_V_REST]
    for i in range(np.uint64(start), np.uint64(stop)):
        drive[i] = (v_rest + bias[i] + gain[i] * ext_row[i]) * b_mem


@njit(cache=True)
def _update_lif(start, stop, a_mem, c_exc, c_inh, v_reset, refrac_steps, v, i_exc, i_inh, refrac,
                v_thresh, drive, spiked):
    """Integrate one LIF population for one step and flag its spikes.

    Branch-free (selects, not ifs) over 1-D arrays and scalar constants, so that LLVM
    vectorises the loop (passing the parameter arrays in instead measurably stops it); the
    synaptic currents are only read here (see the module notes on scaled currents).
    """
    one = refrac.dtype.type(1)
    zero = refrac.dtype.type(0)
    # an unsigned index spares numba's negative-index wraparound, which blocks vectorising
    for i in range(np.uint64(start), np.uint64(stop)):
        r = refrac[i]
        held = r > zero
        v_old = v[i]
        v_int = v_old * a_mem + drive[i] + c_exc * i_exc[i] + c_inh * i_inh[i]
        v_new = v_old if held else v_int
        spike = (v_new > v_thresh[i]) & (not held)
        v[i] = v_reset if spike else v_new
        r1 = r - one
        refrac[i] = refrac_steps if spike else (r1 if r1 > zero else zero)
        spiked[i] = spike


@njit(cache=True)
def _update_alif(start, stop, a_mem, c_exc, c_inh, v_reset, refrac_steps, a_adapt, adapt_inc,
                 v, i_exc, i_inh, theta, refrac, v_thresh, drive, spiked):
    """:func:`_update_lif` with spike-triggered threshold adaptation (``theta``)."""
    one = refrac.dtype.type(1)
    zero = refrac.dtype.type(0)
    for i in range(np.uint64(start), np.uint64(stop)):
        r = refrac[i]
        held = r > zero
        v_old = v[i]
        v_int = v_old * a_mem + drive[i] + c_exc * i_exc[i] + c_inh * i_inh[i]
        v_new = v_old if held else v_int
        th = theta[i] * a_adapt
        spike = (v_new > v_thresh[i] + th) & (not held)
        v[i] = v_reset if spike else v_new
        theta[i] = th + adapt_inc if spike else th
        r1 = r - one
        refrac[i] = refrac_steps if spike else (r1 if r1 > zero else zero)
        spiked[i] = spike


@njit(cache=True)
def _decay_currents(start, stop, pf, scale, i_exc, i_inh):
    """Advance the population's current scales by one step; fold them in when too small."""
    scale[0] *= pf[PF_A_EXC]
    scale[1] *= pf[PF_A_INH]
    if scale[0] < RESCALE_BELOW or scale[1] < RESCALE_BELOW:
        for channel in range(2):
            current = i_exc if channel == 0 else i_inh
            f = current.dtype.type(scale[channel])
            for i in range(start, stop):
                current[i] *= f
            scale[channel] = 1.0


@njit(cache=True)
def _update_poisson(start, stop, p_spike, rng_state, spiked):
    for i in range(start, stop):
        spiked[i] = next_uniform(rng_state) < p_spike[i]


@njit(cache=True)
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


@njit(cache=True)
def _collect_word(x, base, start, stop, spike_list, n_spk):
    for b in range(8):
        if (x >> np.uint64(8 * b)) & np.uint64(0xFF):
            i = base + b
            if i >= start and i < stop:
                spike_list[n_spk] = i
                n_spk += 1
    return n_spk


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
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


@njit(cache=True)
def advance(
    n_steps, t0, ext, ext_per_step,
    v, i_exc, i_inh, theta, refrac, v_thresh, gain, bias, p_spike,
    pop_f, pop_i, pop_scale, pop_out_ptr, pop_out_proj,
    proj_i, indptr, indices, weights, delays, ring,
    gen_step, gen_idx, gen_ptr, rng_state,
    pop_counts, proj_counts, tick_counts, drive, spiked, spiked_words, spike_list,
    mon_idx, mon_step, mon_n, mon_reserve, probe_idx, probe_out,
    tick_steps, dt, plast_i, plast_f, elig, elig_scale, trace, tick_spikes, modulator,
    perturbation, csc_ptr, csc_syn, csc_pre, csc_proj,
):
    """Advance the network ``n_steps`` steps from global step ``t0``; return the steps done.

    ``ext`` holds external input currents, one row per step when ``ext_per_step`` else one
    row for all steps. ``tick_counts`` is zeroed, then counts each neuron's spikes in this
    call. The call stops early (returning fewer steps) only when the spike monitor has less
    than ``mon_reserve`` free slots; the caller grows it and calls again.

    Plasticity: traces follow every step; at the end of every ``tick_steps``-th global step
    each plastic projection applies ``Δw = η · modulator[post] · eligibility`` (see
    :mod:`neurofit.neuromorphic._plastic`).
    """
    n_proj = proj_i.shape[0]
    n_pops = pop_i.shape[0]
    ring_len = ring.shape[1]
    n_probe = probe_idx.shape[0]
    ftype = v.dtype.type
    itype = refrac.dtype.type
    tick_counts[:] = 0
    for step in range(n_steps):
        if mon_n[0] + mon_reserve > mon_idx.shape[0]:
            return step
        t = t0 + step
        if step == 0 or ext_per_step:
            ext_row = ext[step] if ext_per_step else ext[0]
            for p in range(n_pops):
                if pop_i[p, PI_KIND] == KIND_LIF or pop_i[p, PI_KIND] == KIND_ALIF:
                    _drive_terms(pop_i[p, PI_START], pop_i[p, PI_STOP], pop_f[p], gain, bias,
                                 ext_row, drive)
        n_spk = 0
        for p in range(n_pops):
            start = pop_i[p, PI_START]
            stop = pop_i[p, PI_STOP]
            kind = pop_i[p, PI_KIND]
            if kind == KIND_LIF or kind == KIND_ALIF:
                pf = pop_f[p]
                c_exc = ftype(pf[PF_C_EXC] * pop_scale[p, 0])
                c_inh = ftype(pf[PF_C_INH] * pop_scale[p, 1])
                steps = itype(pop_i[p, PI_REFRAC_STEPS])
                if kind == KIND_LIF:
                    _update_lif(start, stop, pf[PF_A_MEM], c_exc, c_inh, pf[PF_V_RESET], steps,
                                v, i_exc, i_inh, refrac, v_thresh, drive, spiked)
                else:
                    _update_alif(start, stop, pf[PF_A_MEM], c_exc, c_inh, pf[PF_V_RESET], steps,
                                 pf[PF_A_ADAPT], pf[PF_ADAPT_INC], v, i_exc, i_inh, theta,
                                 refrac, v_thresh, drive, spiked)
            elif kind == KIND_POISSON:
                _update_poisson(start, stop, p_spike, rng_state, spiked)
            else:
                _update_generator(start, stop, t, gen_step, gen_idx, gen_ptr, spiked)
            if kind == KIND_LIF or kind == KIND_ALIF:
                _decay_currents(start, stop, pop_f[p], pop_scale[p], i_exc, i_inh)
                pop_counts[p, C_NEURON_UPDATES] += stop - start
            first = n_spk
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
        if ring_len > 1:
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
