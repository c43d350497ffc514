"""The spiking network inside a NeuroFit agent: encode → hidden → plastic projection → output.

- the input vector (already scaled to about [-1, 1] per dimension) drives a hidden population
  through Gaussian receptive fields, ``n_per_dim`` neurons per dimension (local tuning keeps
  the learning problem well conditioned);
- a plastic all-to-all projection (one of the three-factor rules) drives an output population
  with NEF encoders over the output dimensions;
- fixed least-squares decoders read the output population's filtered rates as a vector in
  about [-1, 1] per dimension, which the agent scales to its units.

One :meth:`SpikingPolicy.tick` is one compiled network call of ``substeps`` steps (with the
encoder and decoder called around it); an error-mode agent runs the whole tick — teaching
signal, encoder, network, decoder, reflex — as one compiled call instead
(:mod:`neurofit.agents._tick`), and keeps :meth:`tick` as its unfused reference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from neurofit.agents._spike_index import spike_indices
from neurofit.neuromorphic.analog import AnalogProfile
from neurofit.neuromorphic.coding import (
    GaussianPopulationEncoder,
    NEFEncoder,
    RateDecoder,
    fit_decoders,
)
from neurofit.neuromorphic.connectivity import AllToAll, FixedProbability
from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import FAST_LIF, LIFParams
from neurofit.neuromorphic.plasticity import ThreeFactor

#: Neuron parameters of both populations: fast enough that a 1 ms tick of 10 substeps tracks
#: the input, slow enough to filter spike noise.
POLICY_NEURON = FAST_LIF


@dataclass(frozen=True)
class PolicyShape:
    """Sizes and timing of a :class:`SpikingPolicy`."""

    n_inputs: int
    n_outputs: int
    n_per_input: int = 100
    n_output_neurons: int = 200
    substeps: int = 10
    dt_s: float = 1e-4
    decoder_tau_s: float = 0.02
    input_drive_v: float = 0.03
    input_width: float = 12.0
    weight_bound_v: float = 0.01
    connection_p: float = 1.0
    tau_mem_s: float = POLICY_NEURON.tau_mem_s
    tau_syn_s: float = POLICY_NEURON.tau_syn_exc_s

    @property
    def neuron(self) -> LIFParams:
        """The LIF parameters of both populations."""
        return replace(POLICY_NEURON, tau_mem_s=self.tau_mem_s, tau_syn_exc_s=self.tau_syn_s,
                       tau_syn_inh_s=self.tau_syn_s)


class SpikingPolicy:
    """The network of the module docstring, with its encoder and decoder.

    Args:
        shape: sizes and timing.
        rule: the plasticity of the hidden → output projection.
        analog: the chip's non-idealities.
        seed: seeds encoders and the network.
    """

    def __init__(self, shape: PolicyShape, rule: ThreeFactor, *,
                 analog: AnalogProfile | None = None, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.shape = shape
        neuron = shape.neuron
        self.encoder = GaussianPopulationEncoder(
            shape.n_inputs, shape.n_per_input, low=-1.1, high=1.1,
            max_drive_v=shape.input_drive_v, width=shape.input_width,
        )
        self.out_enc = NEFEncoder(shape.n_output_neurons, shape.n_outputs, neuron,
                                  max_rates_hz=(100.0, 200.0), rng=rng)
        #: the direction in which each output neuron's input moves the decoded output
        self.output_dirs = self.out_enc.encoders * self.out_enc.gain[:, None]
        samples = rng.uniform(-1, 1, size=(max(400, 100 * shape.n_outputs), shape.n_outputs))
        decoders = fit_decoders(self.out_enc.rates(samples, neuron), samples)
        self.net = Network(dt_s=shape.dt_s, seed=seed, tick_steps=shape.substeps, analog=analog)
        v0 = (neuron.v_reset, neuron.v_thresh)
        self.net.add_lif("hidden", self.encoder.n_neurons, neuron, v_init=v0)
        self.net.add_lif("output", shape.n_output_neurons, neuron,
                         gain=self.out_enc.gain, bias_v=self.out_enc.bias_v, v_init=v0)
        rule_c = AllToAll() if shape.connection_p >= 1.0 else FixedProbability(shape.connection_p)
        self.net.connect("hidden", "output", rule_c, 0.0, name="learned")
        self.net.set_plasticity("learned", rule)
        self.net.build()
        self.hidden_input = self.net.input_view("hidden")
        self.output_input = self.net.input_view("output")
        self.modulator = self.net.modulator_view("output")
        self.perturbation = self.net.perturbation_view("output")
        self._out = self.net.population("output").slice
        self.decoder = RateDecoder(decoders, tau_s=shape.decoder_tau_s,
                                   tick_s=shape.substeps * shape.dt_s)
        # five counts: the four priced operations and the effective neuron updates
        self._counts_at_mark = self.net.counts_array(np.zeros(5, dtype=np.int64))
        self._counts_now = np.zeros(5, dtype=np.int64)
        self._last_counts = np.zeros(self.net.n_neurons, dtype=np.int32)

    @property
    def n_neurons(self) -> int:
        return self.net.n_neurons

    def tick(self, x: np.ndarray) -> np.ndarray:
        """Encode ``x`` (clipped in place to [-1.2, 1.2]), advance one control tick, return the
        decoded output (a reused array)."""
        np.clip(x, -1.2, 1.2, out=x)
        self.encoder.encode_unchecked(x, self.hidden_input)
        counts = self.net.step(self.shape.substeps)
        self._last_counts = counts
        return self.decoder.update(counts[self._out])

    def ops_since_mark(self) -> np.ndarray:
        """Operations since the previous call (exact; read from the kernel's counters): a new
        int64 array of five counts in :data:`~neurofit.neuromorphic.counters.COUNT_NAMES`
        order (the four priced operations, then the effective neuron updates)."""
        now = self.net.counts_array(self._counts_now)
        delta = now - self._counts_at_mark
        self._counts_at_mark, self._counts_now = now, self._counts_at_mark  # now is the mark
        return delta

    def spiking_neurons(self) -> np.ndarray:
        """Indices of the neurons that spiked in the last tick (a new int32 array, for
        recording)."""
        return spike_indices(self._last_counts)

    def record_marks(self) -> dict[str, np.ndarray]:
        """The state :meth:`ops_since_mark` and :meth:`spiking_neurons` keep besides the
        network's: saved with the agent, so a resumed run records the same per-tick values."""
        return {"counts_at_mark": self._counts_at_mark.copy(),
                "last_counts": self._last_counts.copy()}

    def set_record_marks(self, marks: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`record_marks` returned."""
        at_mark = np.asarray(marks["counts_at_mark"], dtype=np.int64)
        self._counts_at_mark[: at_mark.size] = at_mark
        if at_mark.size == 4:  # saved before effective counts: every update was effective
            self._counts_at_mark[4] = at_mark[0]
        self._last_counts = np.array(marks["last_counts"], dtype=np.int32)

    def reset_state(self) -> None:
        """Forget membrane state and filters (weights stay): call at an episode start."""
        self.net.reset_state()
        self.decoder.reset()
