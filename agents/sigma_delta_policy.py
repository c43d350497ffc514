"""The change-driven network inside a NeuroFit agent (``AgentConfig(coding="sigma-delta")``).

The same role as :class:`~neurofit.agents.spiking_policy.SpikingPolicy` — features in, a
decoded output in about [-1, 1] per dimension out, a modulator that sets the next tick's
learning — on a :class:`~neurofit.neuromorphic.sigma_delta.SigmaDeltaNetwork`: inputs enter as
events only when they change by a quantum, hidden units send only when their activation moves,
and the integrating decoder holds the output between events. A steady state costs nothing.

One :meth:`SigmaDeltaPolicy.tick` is one compiled call (learning, encoding, propagation,
decoding, counting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurofit.neuromorphic.analog import AnalogProfile
from neurofit.neuromorphic.counters import COUNT_NAMES, OpCounts
from neurofit.neuromorphic.sigma_delta import SigmaDeltaNetwork

__all__ = ["SigmaDeltaPolicy", "SigmaDeltaShape"]


@dataclass(frozen=True)
class SigmaDeltaShape:
    """Sizes and thresholds of a :class:`SigmaDeltaPolicy` (see
    :class:`~neurofit.neuromorphic.sigma_delta.SigmaDeltaNetwork` for each).

    The learning split was chosen on hover-payload and track-disturbed (seeds 0-2) with 4-bit
    weights in mind: half the rate goes to the outputs' full-precision bias registers, half
    to the weights; weights are written only while the teaching signal's norm is at least
    ``weight_gate`` (below it the bias takes the whole rate). Coarse stochastic-rounding
    weight writes then stop once the error is small, instead of kicking a settled hover by a
    weight step every tick; the bias removes the last millimetres. A weight bound of 0.01
    (a 4-bit step of 0.0013) is wide enough for the state-dependent part the weights learn.
    """

    n_inputs: int
    n_outputs: int
    n_per_input: int = 100
    input_width: float = 6.0
    input_quantum: float = 0.02
    hidden_threshold: float = 0.01
    output_quantum: float = 1e-6
    learning_rate: float = 0.015
    weight_bound: float = 0.01
    bias_share: float = 0.5
    weight_gate: float = 1e-2
    linear_inputs: bool = False


class SigmaDeltaPolicy:
    """A sigma-delta network with the interface the agent uses (module docstring)."""

    def __init__(self, shape: SigmaDeltaShape, *, analog: AnalogProfile | None = None,
                 seed: int = 0) -> None:
        self.shape = shape
        self.net = SigmaDeltaNetwork(
            shape.n_inputs, shape.n_outputs, n_per_input=shape.n_per_input,
            input_width=shape.input_width, input_quantum=shape.input_quantum,
            hidden_threshold=shape.hidden_threshold, output_quantum=shape.output_quantum,
            learning_rate=shape.learning_rate, weight_bound=shape.weight_bound,
            bias_share=shape.bias_share, weight_gate=shape.weight_gate,
            linear_inputs=shape.linear_inputs, analog=analog,
            seed=seed)
        self.modulator = self.net.modulator
        #: each output's direction in the decoded space: the modulator is the teaching signal
        #: itself (the agent's ``modulator_i = d_i · teaching``)
        self.output_dirs = np.eye(shape.n_outputs)
        self._at_mark = np.zeros(len(COUNT_NAMES), dtype=np.int64)

    @property
    def n_neurons(self) -> int:
        return self.net.n_units

    @property
    def n_synapses(self) -> int:
        return self.net.n_synapses

    def tick(self, x: np.ndarray, learn: bool = True) -> np.ndarray:
        """Learn from :attr:`modulator`, take ``x`` (clipped in place to [-1.2, 1.2]), return
        the decoded output (a reused array)."""
        np.clip(x, -1.2, 1.2, out=x)
        return self.net.tick(x, learn)

    def counts(self) -> OpCounts:
        """Every operation so far (the kernel's exact counters)."""
        return self.net.counts()

    def ops_since_mark(self) -> np.ndarray:
        """Operations since the previous call: a new int64 array of five counts in
        :data:`~neurofit.neuromorphic.counters.COUNT_NAMES` order (as the rate-coded
        policy's)."""
        delta = self.net.counters - self._at_mark
        self._at_mark[:] = self.net.counters
        return delta

    def spiking_neurons(self) -> np.ndarray:
        """Units that sent an event in the last tick (for recording)."""
        return np.sort(self.net.sent_units()).astype(np.int32)

    def record_marks(self) -> dict[str, np.ndarray]:
        """What :meth:`ops_since_mark` keeps (saved with the agent)."""
        return {"counts_at_mark": self._at_mark.copy()}

    def set_record_marks(self, marks: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`record_marks` returned."""
        self._at_mark[:] = np.asarray(marks["counts_at_mark"], dtype=np.int64)

    def get_state(self) -> dict[str, np.ndarray]:
        """Everything that changes while the network runs (for checkpoints)."""
        return self.net.get_state()

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`get_state` returned."""
        self.net.set_state(state)

    def reset_state(self) -> None:
        """Forget what was sent (weights stay): call at an episode start."""
        self.net.reset_state()
