"""The NeuroFit chip is mostly analog: its imperfections, as one seeded, optional profile.

- **weight precision**: stored weights at ``weight_bits`` (deterministic or stochastic
  rounding), in every projection, static or plastic;
- **fixed-pattern mismatch**: each neuron's input gain and threshold distance drawn once with
  relative spread ``gain_mismatch`` / ``threshold_mismatch`` (Gaussian, truncated at −90%);
- **read noise**: each synaptic event sees its weight times ``1 + read_noise · N(0, 1)``;
- **drift**: stored weights random-walk by ``drift_per_sqrt_s`` of their range per √second.

Everything draws from the network's seeded generators, so the same seed replays an analog run
bit for bit. All zero (the default) means an ideal digital chip.
"""

from __future__ import annotations

from dataclasses import dataclass

from neurofit.neuromorphic._checks import check_positive
from neurofit.neuromorphic.plasticity import check_bits


@dataclass(frozen=True)
class AnalogProfile:
    """Analog non-idealities applied to a whole network (see the module docstring)."""

    weight_bits: int | None = None
    stochastic_rounding: bool = False
    gain_mismatch: float = 0.0
    threshold_mismatch: float = 0.0
    read_noise: float = 0.0
    drift_per_sqrt_s: float = 0.0

    def __post_init__(self) -> None:
        check_bits(self.weight_bits)
        for name in ("gain_mismatch", "threshold_mismatch", "read_noise", "drift_per_sqrt_s"):
            check_positive(name, getattr(self, name), allow_zero=True)

    @property
    def is_ideal(self) -> bool:
        return (self.weight_bits is None and self.gain_mismatch == 0
                and self.threshold_mismatch == 0 and self.read_noise == 0
                and self.drift_per_sqrt_s == 0)
