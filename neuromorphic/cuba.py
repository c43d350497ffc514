"""The CUBA benchmark network (Vogels & Abbott 2005), exactly as in Brian2's ``examples/CUBA.py``.

4,000 LIF neurons (80% excitatory), connection probability 0.02, dt 0.1 ms, tau_m 20 ms,
tau_e 5 ms, tau_i 10 ms, V_t -50 mV, V_r -60 mV, E_l -49 mV, refractory 5 ms, w_e 1.62 mV,
w_i -9 mV, initial v uniform in [V_r, V_t]. Brian2 reports a mean rate of about 5.6 Hz.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from neurofit.neuromorphic.connectivity import FixedProbability
from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import LIFParams

CUBA_PARAMS = LIFParams(
    tau_mem_s=0.020, tau_syn_exc_s=0.005, tau_syn_inh_s=0.010,
    v_rest=-0.049, v_reset=-0.060, v_thresh=-0.050, refractory_s=0.005,
)
CUBA_W_EXC_V = 60 * 0.27 / 10 * 1e-3  # 1.62 mV, Brian2 examples/CUBA.py
CUBA_W_INH_V = -20 * 4.5 / 10 * 1e-3  # -9 mV
CUBA_FAN_IN = 80  # 4,000 neurons x p = 0.02


def build_cuba(
    n_neurons: int = 4000,
    *,
    seed: int = 0,
    dt_s: float = 1e-4,
    dtype: Any = np.float32,
    fixed_fan_in: bool = True,
    record: bool = False,
) -> Network:
    """Build the CUBA network with ``n_neurons`` (80% excitatory).

    With ``fixed_fan_in`` the connection probability is ``80 / n_neurons``, so every size has
    the 4,000-neuron network's mean fan-in and activity (for scaling studies); at 4,000 neurons
    both choices give p = 0.02.
    """
    if n_neurons < 10:
        raise ValueError(f"n_neurons must be >= 10, got {n_neurons}")
    p = min(CUBA_FAN_IN / n_neurons, 1.0) if fixed_fan_in else 0.02
    n_exc = round(0.8 * n_neurons)
    net = Network(dt_s=dt_s, seed=seed, dtype=dtype)
    v_range = (CUBA_PARAMS.v_reset, CUBA_PARAMS.v_thresh)
    net.add_lif("exc", n_exc, CUBA_PARAMS, v_init=v_range, record=record)
    net.add_lif("inh", n_neurons - n_exc, CUBA_PARAMS, v_init=v_range, record=record)
    rule = FixedProbability(p)
    for pre, weight, channel in (("exc", CUBA_W_EXC_V, "exc"), ("inh", CUBA_W_INH_V, "inh")):
        for post in ("exc", "inh"):
            net.connect(pre, post, rule, weight, channel=channel)
    return net
