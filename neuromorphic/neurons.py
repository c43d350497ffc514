"""Neuron models: parameter dataclasses with units in their names, validated on construction.

The membrane follows the current-based LIF of Brian2's CUBA example (Vogels & Abbott 2005)::

    tau_mem_s  dv/dt = (v_rest - v) + I_exc + I_inh + bias + gain * I_ext
    tau_syn_exc_s dI_exc/dt = -I_exc          (likewise I_inh)

Currents are in volts (the membrane resistance folded in), so a synaptic weight is the jump of
its current in volts. The system is linear between spikes and the engine integrates it exactly.
The adaptive LIF raises its threshold by ``adapt_increment_v`` at each spike; the raise decays
with ``tau_adapt_s``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from neurofit.neuromorphic._checks import check_finite, check_positive


@dataclass(frozen=True)
class LIFParams:
    """Leaky integrate-and-fire with exponential excitatory and inhibitory synaptic currents.

    Defaults are the CUBA benchmark's (Brian2 ``examples/CUBA.py``).
    """

    tau_mem_s: float = 0.020
    tau_syn_exc_s: float = 0.005
    tau_syn_inh_s: float = 0.010
    v_rest: float = -0.049
    v_reset: float = -0.060
    v_thresh: float = -0.050
    refractory_s: float = 0.005

    def __post_init__(self) -> None:
        for name in ("tau_mem_s", "tau_syn_exc_s", "tau_syn_inh_s"):
            check_positive(name, getattr(self, name))
        for name in ("v_rest", "v_reset", "v_thresh"):
            check_finite(name, getattr(self, name))
        check_positive("refractory_s", self.refractory_s, allow_zero=True)
        if self.v_reset >= self.v_thresh:
            raise ValueError(
                f"v_reset must be below v_thresh, got v_reset={self.v_reset} >= "
                f"v_thresh={self.v_thresh}"
            )

    def smallest_time_constant_s(self) -> float:
        """The fastest time constant, which bounds the usable step size."""
        return min(self.tau_mem_s, self.tau_syn_exc_s, self.tau_syn_inh_s)

    def steady_isi_s(self, drive_v: float) -> float:
        """Analytic interspike interval under a constant drive (volts above ``v_rest``).

        ``inf`` when the drive never reaches threshold.
        """
        v_inf = self.v_rest + drive_v
        if v_inf <= self.v_thresh:
            return math.inf
        charge = self.tau_mem_s * math.log((v_inf - self.v_reset) / (v_inf - self.v_thresh))
        return self.refractory_s + charge


#: The fast LIF neuron of the learning networks (the agents' spiking policy, the function and
#: reward learning benchmarks): a 10 ms membrane and 5 ms synapses, fast enough that a 1 ms
#: tick of 10 substeps tracks the input and slow enough to filter spike noise; reset to rest,
#: 15 mV from rest to threshold, 2 ms refractory.
FAST_LIF = LIFParams(tau_mem_s=0.010, tau_syn_exc_s=0.005, tau_syn_inh_s=0.005,
                     v_rest=-0.065, v_reset=-0.065, v_thresh=-0.050, refractory_s=0.002)


@dataclass(frozen=True)
class AdaptiveLIFParams(LIFParams):
    """LIF with spike-triggered threshold adaptation (a raise that decays with ``tau_adapt_s``)."""

    tau_adapt_s: float = 0.100
    adapt_increment_v: float = 0.002

    def __post_init__(self) -> None:
        super().__post_init__()
        check_positive("tau_adapt_s", self.tau_adapt_s)
        check_positive("adapt_increment_v", self.adapt_increment_v, allow_zero=True)

    def smallest_time_constant_s(self) -> float:
        """The fastest time constant, the adaptation's included."""
        return min(super().smallest_time_constant_s(), self.tau_adapt_s)
