"""Packed buffers: a network's (or an agent's) arrays as views into a few flat buffers.

A compiled entry pays for every array it is handed (numba unboxes each one, ~50 ns), and the
engine's step used to take 55 arguments. Here the arrays of one kind live side by side in one
flat buffer, and an ``int64`` offset table (one row per array: start, then up to three
dimensions) says where each one is; the owner's attributes become *views* into the buffers, so
every existing Python reader and writer keeps working, and a compiled entry gets a handful of
buffers plus the table and cuts the views out again (:func:`view1`, :func:`view2`,
:func:`view3` — a slice and a reshape, a few nanoseconds inside numba).

The network's buffers are by role (:data:`NET_ROLES`), each array in the role its kernel
dtype gives it (:data:`NET_SLOTS`); the slot numbers are the contract with
:func:`neurofit.neuromorphic._kernels.advance_packed`. Arrays that can grow (the spike
monitor) are not packed: they stay separate arguments.

Views stay valid as long as nobody *rebinds* the owner's attribute to a new array: write into
them (``a[...] = x``), never ``owner.a = x``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from neurofit.neuromorphic._jit import njit

__all__ = ["NET_ROLES", "NET_SLOTS", "PackedArrays", "pack", "view1", "view2", "view3"]

#: Each array starts on a 64-byte boundary of its buffer (a cache line; aligned SIMD loads).
ALIGN_BYTES = 64
#: Columns of an offset table: start (elements), then dimensions (unused ones are 1).
O_START, O_D0, O_D1, O_D2 = 0, 1, 2, 3
N_OFFSET_COLS = 4

# --- the network's buffers, by role (the float role is the network's dtype) ---
R_FLOAT = 0  # float32 or float64: states, parameters, weights, ring, inputs
R_F64 = 1  # float64: current scales, plasticity constants, modulator, perturbation
R_I64 = 2  # int64: structure, counters, lists
R_I32 = 3  # int32: refractory counters, synapse targets, delays, spike counts
R_U8 = 4  # uint8: byte flags
R_U64 = 5  # uint64: the random generator's state
NET_ROLES = ("float", "float64", "int64", "int32", "uint8", "uint64")

#: The network arrays (``Network`` attribute names without the underscore) and their roles,
#: in slot order: slot ``k`` is row ``k`` of the network's offset table.
NET_SLOTS: tuple[tuple[str, int], ...] = (
    ("state", R_FLOAT), ("nparam", R_FLOAT), ("pop_f", R_FLOAT), ("weights", R_FLOAT),
    ("ring", R_FLOAT), ("v_inf", R_FLOAT), ("elig", R_FLOAT), ("trace", R_FLOAT),
    ("ext", R_FLOAT),
    ("pop_scale", R_F64), ("plast_f", R_F64), ("elig_scale", R_F64), ("modulator", R_F64),
    ("perturbation", R_F64),
    ("pop_i", R_I64), ("pop_out_ptr", R_I64), ("pop_out_proj", R_I64), ("proj_i", R_I64),
    ("indptr", R_I64), ("gen_step", R_I64), ("gen_ptr", R_I64), ("pop_counts", R_I64),
    ("proj_counts", R_I64), ("spike_list", R_I64), ("mon_n", R_I64), ("plast_i", R_I64),
    ("csc_ptr", R_I64), ("csc_syn", R_I64), ("csc_pre", R_I64), ("csc_proj", R_I64),
    ("n_active", R_I64), ("ring_n", R_I64),
    ("refrac", R_I32), ("indices", R_I32), ("delays", R_I32), ("gen_idx", R_I32),
    ("tick_counts", R_I32), ("tick_spikes", R_I32), ("active_list", R_I32),
    ("ring_list", R_I32),
    ("spiked", R_U8), ("active_padded", R_U8), ("list_ok", R_U8), ("ring_mark", R_U8),
    ("rng_state", R_U64),
)
(S_STATE, S_NPARAM, S_POP_F, S_WEIGHTS, S_RING, S_V_INF, S_ELIG, S_TRACE, S_EXT,
 S_POP_SCALE, S_PLAST_F, S_ELIG_SCALE, S_MODULATOR, S_PERTURBATION,
 S_POP_I, S_POP_OUT_PTR, S_POP_OUT_PROJ, S_PROJ_I, S_INDPTR, S_GEN_STEP, S_GEN_PTR,
 S_POP_COUNTS, S_PROJ_COUNTS, S_SPIKE_LIST, S_MON_N, S_PLAST_I, S_CSC_PTR, S_CSC_SYN,
 S_CSC_PRE, S_CSC_PROJ, S_N_ACTIVE, S_RING_N,
 S_REFRAC, S_INDICES, S_DELAYS, S_GEN_IDX, S_TICK_COUNTS, S_TICK_SPIKES, S_ACTIVE_LIST,
 S_RING_LIST,
 S_SPIKED, S_ACTIVE_PADDED, S_LIST_OK, S_RING_MARK,
 S_RNG_STATE) = range(len(NET_SLOTS))


class PackedArrays:
    """Arrays packed into one flat buffer per role, with their offset table.

    Attributes:
        buffers: one 1-D C-contiguous buffer per role (in role order).
        offsets: ``int64 (n_arrays, 4)``: start within its buffer, then the dimensions.
        views: each array by name, as a view into its buffer (holding the packed values).
    """

    def __init__(self, buffers: tuple[np.ndarray, ...], offsets: np.ndarray,
                 views: dict[str, np.ndarray]) -> None:
        self.buffers = buffers
        self.offsets = offsets
        self.views = views


def pack(arrays: Sequence[tuple[str, np.ndarray, int]], dtypes: Sequence[np.dtype]
         ) -> PackedArrays:
    """Copy ``arrays`` (name, array of at most 3 dimensions, role) into one buffer per role.

    Role ``r`` holds ``dtypes[r]``; an array of another dtype, or of more than three
    dimensions, is refused (a packing bug, not a user error). Row ``k`` of the offset table is
    ``arrays[k]``.
    """
    dtypes = [np.dtype(d) for d in dtypes]
    sizes = [0] * len(dtypes)
    offsets = np.ones((len(arrays), N_OFFSET_COLS), dtype=np.int64)
    for k, (name, arr, role) in enumerate(arrays):
        if arr.dtype != dtypes[role] or arr.ndim > 3:
            raise TypeError(f"cannot pack {name!r}: {arr.dtype} {arr.shape} in a "
                            f"{dtypes[role]} buffer of at most 3 dimensions")
        align = max(ALIGN_BYTES // dtypes[role].itemsize, 1)
        start = -(-sizes[role] // align) * align
        offsets[k, O_START] = start
        offsets[k, O_D0:O_D0 + arr.ndim] = arr.shape
        sizes[role] = start + arr.size
    buffers = tuple(_aligned_zeros(size, dtype) for size, dtype in zip(sizes, dtypes, strict=True))
    views = {}
    for k, (name, arr, role) in enumerate(arrays):
        start = int(offsets[k, O_START])
        view = buffers[role][start:start + arr.size].reshape(arr.shape)
        view[...] = arr
        views[name] = view
    return PackedArrays(buffers, offsets, views)


def _aligned_zeros(n: int, dtype: np.dtype) -> np.ndarray:
    """``np.zeros(n, dtype)`` starting on an :data:`ALIGN_BYTES` boundary (at least one
    element, so that even an empty role has a buffer)."""
    n = max(n, 1)
    raw = np.zeros(n * dtype.itemsize + ALIGN_BYTES, dtype=np.uint8)
    shift = -raw.ctypes.data % ALIGN_BYTES
    return raw[shift:shift + n * dtype.itemsize].view(dtype)


@njit
def view1(buf, offsets, k):
    """Array ``k`` of ``offsets`` as a 1-D view into ``buf``."""
    s = offsets[k, O_START]
    return buf[s:s + offsets[k, O_D0]]


@njit
def view2(buf, offsets, k):
    """Array ``k`` of ``offsets`` as a 2-D view into ``buf``."""
    s = offsets[k, O_START]
    d0 = offsets[k, O_D0]
    d1 = offsets[k, O_D1]
    return buf[s:s + d0 * d1].reshape((d0, d1))


@njit
def view3(buf, offsets, k):
    """Array ``k`` of ``offsets`` as a 3-D view into ``buf``."""
    s = offsets[k, O_START]
    d0 = offsets[k, O_D0]
    d1 = offsets[k, O_D1]
    d2 = offsets[k, O_D2]
    return buf[s:s + d0 * d1 * d2].reshape((d0, d1, d2))
