"""A sigma-delta network: a controller that computes only when its input changes (the taxi).

The network of a NeuroFit agent in change-driven coding (``AgentConfig(coding="sigma-delta")``).
Every unit is a sigma-delta neuron with graded spikes, as Loihi 2 runs them (Orchard et al.
2021, arXiv:2111.03746; the ``SigmaDelta`` process of Lava) and as O'Connor & Welling's
sigma-delta networks (arXiv:1611.02024) and Neil et al.'s delta networks (ICML 2017) compute:
a unit keeps the value it last sent and emits an event — a graded spike carrying the change —
only when its value has moved by at least its threshold; the receiver integrates the events
(sigma) and so holds the sender's value between them. A steady state sends nothing, and a
constant output costs nothing to hold (no rate-coding noise floor either).

Three layers, one compiled call per control tick (:func:`tick`):

1. **input** (``n_inputs`` send-on-delta channels): dimension ``i`` sends the graded change of
   its value when ``|x_i − x̂_i| ≥ input_quantum_i``; ``x̂`` is what the hidden layer holds;
2. **hidden** (``n_per_input`` units per input dimension, Gaussian receptive fields over
   ``[-1.1, 1.1]``, as the rate-coded controller's encoder): an input event advances the
   units of its dimension (``a_k = g_k exp(−(x̂_i − c_k)² / 2σ²)``, 0 below the
   unit's threshold); a unit whose activation moved by at least its threshold ``θ_k`` sends the
   change to every output (its fan-out: ``n_outputs`` synaptic events);
   With ``linear_inputs``, each dimension also has one *relay* unit, ``a = g x̂_i`` (signed; 0
   while ``|a|`` is below its threshold): a linear path for inputs such as a range scan, where
   the output should be a smooth function of many inputs together, not a sum of bumps;
3. **output** (``n_outputs`` units): ``u_j = Σ_k w_jk â_k`` is kept by integrating the hidden
   events (``u_j += w_jk Δ_k``) and the weight writes (``u_j += Δw_jk â_k``); an output sends
   ``u_j`` to the integrating decoder when ``|u_j − y_j| ≥ output_quantum`` — ``y`` is the
   decoded output, held between events.

Learning (error mode, the three-factor PES rule of the rate-coded controller): the modulator
``m`` (one value per output: the teaching signal in output units) sets, for every hidden unit
holding a non-zero value, ``Δw_jk = η' m_j â_k`` with ``η' = η / Σ_k a_k(0)²`` (``η`` is then
the fraction of the teaching signal the output absorbs per tick for an input at the centre of
the fields). A tick with a zero modulator writes nothing: the agent's deadband gates learning.

Operation counts (:data:`~neurofit.neuromorphic.counters.COUNT_NAMES` order): ``neuron_updates``
is dense — every hidden and output unit every tick, what a time-stepped chip pays;
``effective_neuron_updates`` counts the units advanced (hidden units of a dimension that sent
an event, output units that received an event or a write); ``spikes`` every event sent
(input, hidden, output); ``synaptic_events`` every event delivered (input → its
hidden units of its dimension, hidden → its ``n_outputs`` outputs, output → the decoder);
``weight_updates`` every weight written.

The chip's analog non-idealities (:class:`~neurofit.neuromorphic.analog.AnalogProfile`): stored
weights at ``weight_bits`` (stochastic rounding if asked), each hidden unit's gain and
threshold drawn once with relative spread ``gain_mismatch`` / ``threshold_mismatch``, and read
noise on every weight read by a synaptic event. All from seeded generators.
"""

from __future__ import annotations

import numpy as np

from neurofit.neuromorphic._checks import check_int, check_positive
from neurofit.neuromorphic._jit import njit
from neurofit.neuromorphic._plastic import quantise
from neurofit.neuromorphic._rng import new_rng_state, next_normal
from neurofit.neuromorphic.analog import AnalogProfile
from neurofit.neuromorphic.counters import OpCounts

__all__ = ["SigmaDeltaNetwork"]

# columns of the counters, as Network.counts_array
C_NEURON_UPDATES = 0
C_SPIKES = 1
C_SYNAPTIC_EVENTS = 2
C_WEIGHT_UPDATES = 3
C_EFFECTIVE = 4

#: the range the Gaussian fields' centres span (the rate-coded encoder's)
FIELD_LOW, FIELD_HIGH = -1.1, 1.1


class SigmaDeltaNetwork:
    """The network of the module docstring.

    Args:
        n_inputs, n_outputs: sizes of the input and the decoded output.
        n_per_input: Gaussian hidden units per input dimension (>= 2; 0 with
            ``linear_inputs``).
        linear_inputs: add one relay unit per input dimension (module docstring).
        input_width: σ of the Gaussian fields, in spacings of their centres.
        input_quantum: send-on-delta threshold of each input dimension (input units; scalar
            or one per dimension).
        hidden_threshold: a hidden unit's send threshold (activation units, peak 1).
        output_quantum: an output's send threshold (output units).
        learning_rate: η of the module docstring (0: no learning).
        weight_bound: learned weights stay in ``[-bound, bound]``.
        analog: the chip's non-idealities.
        seed: seeds the mismatch and the noise.
    """

    def __init__(self, n_inputs: int, n_outputs: int, *, n_per_input: int = 100,
                 input_width: float = 12.0, input_quantum: float | np.ndarray = 0.01,
                 hidden_threshold: float = 0.01, output_quantum: float = 1e-5,
                 learning_rate: float = 0.05, weight_bound: float = 0.05,
                 bias_share: float = 0.0, weight_gate: float = 0.0,
                 linear_inputs: bool = False,
                 analog: AnalogProfile | None = None, seed: int = 0) -> None:
        check_int("n_inputs", n_inputs, 1)
        check_int("n_outputs", n_outputs, 1)
        check_int("n_per_input", n_per_input, 0)
        if n_per_input < 2 and not (linear_inputs and n_per_input == 0):
            raise ValueError(f"n_per_input must be >= 2 (Gaussian fields need two centres), or "
                             f"0 with linear_inputs=True (relay units only), got {n_per_input}")
        for name, value in (("input_width", input_width), ("hidden_threshold", hidden_threshold),
                            ("output_quantum", output_quantum), ("weight_bound", weight_bound)):
            check_positive(name, value)
        check_positive("learning_rate", learning_rate, allow_zero=True)
        quantum = np.broadcast_to(np.asarray(input_quantum, dtype=np.float64),
                                  (n_inputs,)).copy()
        if not (np.all(np.isfinite(quantum)) and np.all(quantum > 0)):
            raise ValueError(f"input_quantum must be finite and > 0 in every dimension, got "
                             f"{input_quantum!r}")
        analog = analog or AnalogProfile()
        self.n_inputs, self.n_outputs, self.n_per_input = n_inputs, n_outputs, n_per_input
        self.linear_inputs = bool(linear_inputs)
        self.n_per_dim = n_per_input + int(self.linear_inputs)  # hidden units per dimension
        self.n_hidden = n_inputs * self.n_per_dim
        self.analog = analog
        self.centres = np.linspace(FIELD_LOW, FIELD_HIGH, n_per_input)
        sigma = input_width * (FIELD_HIGH - FIELD_LOW) / max(n_per_input - 1, 1)
        self.inv_two_sigma2 = 1.0 / (2.0 * sigma * sigma)
        self.input_quantum = quantum
        rng = np.random.default_rng(seed)
        # fixed-pattern mismatch, truncated at -90% as the rate-coded network's
        self.gain = np.maximum(1.0 + analog.gain_mismatch * rng.standard_normal(self.n_hidden),
                               0.1)
        self.threshold = hidden_threshold * np.maximum(
            1.0 + analog.threshold_mismatch * rng.standard_normal(self.n_hidden), 0.1)
        self.output_quantum = float(output_quantum)
        # η' = η / Σ a(0)²: the fields' activations for an input at 0 on every dimension
        peak = np.exp(-self.centres**2 * self.inv_two_sigma2)
        norm = n_inputs * float(np.sum(np.where(peak >= hidden_threshold, peak, 0.0) ** 2))
        if self.linear_inputs:  # a relay's mean square for inputs spread over [-1, 1]
            norm += n_inputs / 3.0
        self.learning_rate = float(learning_rate)
        self.bias_share = float(bias_share)
        self.eta = self.learning_rate * (1.0 - self.bias_share) / max(norm, 1e-12)
        self.eta_bias = self.learning_rate * self.bias_share
        self.weight_gate = float(weight_gate)
        self.weight_bound = float(weight_bound)
        self.params = np.array([self.eta, self.weight_bound, analog.read_noise,
                                self.output_quantum, self.inv_two_sigma2, self.eta_bias,
                                self.weight_gate, self.learning_rate - self.eta_bias])
        self.flags = np.array([analog.weight_bits or 0, int(analog.stochastic_rounding),
                               int(self.linear_inputs)], dtype=np.int64)
        self.weights = np.zeros((self.n_hidden, n_outputs))  # row k: unit k's fan-out
        self.bias = np.zeros(n_outputs)  # learned, kept across episodes like the weights
        self.x_sent = np.zeros(n_inputs)
        self.h_sent = np.zeros(self.n_hidden)
        self.u = np.zeros(n_outputs)
        self.y = np.zeros(n_outputs)
        self.modulator = np.zeros(n_outputs)
        self.counters = np.zeros(5, dtype=np.int64)
        #: the units (hidden 0…, outputs ``n_hidden``…) that sent an event in the last tick
        self.sent = np.zeros(self.n_units, dtype=np.int32)
        self.n_sent = np.zeros(1, dtype=np.int64)
        self.rng_state = new_rng_state(seed)
        self.fresh = np.ones(1, dtype=np.int64)  # 1: the next tick sends every input once

    @property
    def n_units(self) -> int:
        """Hidden and output units (what a time-stepped chip updates every tick)."""
        return self.n_hidden + self.n_outputs

    @property
    def n_synapses(self) -> int:
        return self.n_hidden * self.n_outputs

    def tick(self, x: np.ndarray, learn: bool = True) -> np.ndarray:
        """Learn from :attr:`modulator` (if ``learn``), take input ``x`` (shape
        ``(n_inputs,)``, float64), return the decoded output (:attr:`y`, a reused array)."""
        tick(x, learn, self.centres, self.input_quantum, self.gain, self.threshold,
             self.params, self.flags, self.weights, self.bias, self.x_sent, self.h_sent,
             self.u, self.y,
             self.modulator, self.counters, self.sent, self.n_sent, self.rng_state, self.fresh)
        return self.y

    def sent_units(self) -> np.ndarray:
        """Indices of the units that sent an event in the last tick (hidden ``0…``, outputs
        ``n_hidden…``; a view, reused between ticks)."""
        return self.sent[: self.n_sent[0]]

    def reset_state(self) -> None:
        """Forget what was sent (an episode start): the next tick sends its whole input."""
        self.x_sent[:] = 0.0
        self.h_sent[:] = 0.0
        self.u[:] = self.bias
        self.y[:] = self.bias
        self.modulator[:] = 0.0
        self.fresh[0] = 1

    def counts(self) -> OpCounts:
        """Every operation since construction (exact)."""
        return OpCounts(*self.counters.tolist())

    def counts_array(self, out: np.ndarray | None = None) -> np.ndarray:
        """The counters as int64, as ``Network.counts_array``: ``OP_NAMES`` order (four) by
        default; an ``out`` of five entries also gets ``effective_neuron_updates``."""
        if out is None:
            out = np.zeros(4, dtype=np.int64)
        if out.shape not in ((4,), (5,)) or out.dtype != np.int64:
            raise ValueError(f"out must be an int64 array of 4 or 5 entries, got {out.dtype} "
                             f"{out.shape}")
        out[:] = self.counters[: out.size]
        return out

    _STATE = ("weights", "bias", "x_sent", "h_sent", "u", "y", "modulator", "counters",
              "rng_state",
              "fresh")

    def get_state(self) -> dict[str, np.ndarray]:
        """Copies of everything that changes while the network runs."""
        return {name: getattr(self, name).copy() for name in self._STATE}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`get_state` returned."""
        for name in self._STATE:
            if name not in state:
                raise ValueError(f"sigma-delta network state has no {name!r}")
            target = getattr(self, name)
            value = np.asarray(state[name])
            if value.shape != target.shape:
                raise ValueError(f"sigma-delta network state {name!r} has shape {value.shape}, "
                                 f"expected {target.shape}: saved by a network of another size")
            target[...] = value


@njit
def tick(x, learn, centres, quantum, gain, threshold, params, flags, weights, bias, x_sent,
         h_sent, u, y, modulator, counters, sent, n_sent, rng_state, fresh):
    """One control tick of :class:`SigmaDeltaNetwork` (module docstring); returns nothing."""
    eta, bound, read_noise, out_q, inv2s2 = params[0], params[1], params[2], params[3], params[4]
    eta_bias, weight_gate, eta_rest = params[5], params[6], params[7]
    bits, stochastic, linear = flags[0], flags[1], flags[2]
    n_in = x.shape[0]
    n_rbf = centres.shape[0]
    n_per = n_rbf + linear
    n_hidden, n_out = weights.shape
    touched_out = False
    n_sent[0] = 0
    # 1. learning, from the modulator the previous observation set
    if learn and (eta > 0.0 or eta_bias > 0.0):
        any_m = False
        m2 = 0.0
        for j in range(n_out):
            if modulator[j] != 0.0:
                any_m = True
            m2 += modulator[j] * modulator[j]
        weights_learn = eta > 0.0 and m2 >= weight_gate * weight_gate
        if any_m and eta_bias > 0.0:  # the outputs' bias registers (full precision)
            # below the weights' gate the bias takes the whole learning rate
            rate = eta_bias if weights_learn else eta_bias + eta_rest
            for j in range(n_out):
                db = rate * modulator[j]
                bias[j] += db
                u[j] += db
            counters[C_WEIGHT_UPDATES] += n_out
            touched_out = True
        if any_m and weights_learn:
            for k in range(n_hidden):
                h = h_sent[k]
                if h == 0.0:
                    continue
                for j in range(n_out):
                    w_old = weights[k, j]
                    w_new = quantise(w_old + eta * modulator[j] * h, -bound, bound, bits,
                                     stochastic, rng_state)
                    weights[k, j] = w_new
                    u[j] += (w_new - w_old) * h
                counters[C_WEIGHT_UPDATES] += n_out
                touched_out = True
    # 2. input events and the hidden units they advance
    first = fresh[0] == 1
    fresh[0] = 0
    for i in range(n_in):
        diff = x[i] - x_sent[i]
        if not first and abs(diff) < quantum[i]:
            continue
        x_sent[i] = x[i]
        counters[C_SPIKES] += 1
        counters[C_SYNAPTIC_EVENTS] += n_per
        counters[C_EFFECTIVE] += n_per
        for m in range(n_per):
            k = i * n_per + m
            if m < n_rbf:
                d = x_sent[i] - centres[m]
                a = gain[k] * np.exp(-d * d * inv2s2)
            else:  # the dimension's relay unit
                a = gain[k] * x_sent[i]
            if abs(a) < threshold[k]:
                a = 0.0  # silent below its threshold: holds no value, learns nothing
            delta = a - h_sent[k]
            if abs(delta) < threshold[k]:
                continue
            h_sent[k] = a
            sent[n_sent[0]] = k
            n_sent[0] += 1
            counters[C_SPIKES] += 1
            counters[C_SYNAPTIC_EVENTS] += n_out
            touched_out = True
            for j in range(n_out):
                w = weights[k, j]
                if read_noise > 0.0:
                    w *= 1.0 + read_noise * next_normal(rng_state)
                u[j] += w * delta
    # 3. outputs to the integrating decoder
    if touched_out:
        counters[C_EFFECTIVE] += n_out
        for j in range(n_out):
            if abs(u[j] - y[j]) >= out_q:
                y[j] = u[j]
                sent[n_sent[0]] = n_hidden + j
                n_sent[0] += 1
                counters[C_SPIKES] += 1
                counters[C_SYNAPTIC_EVENTS] += 1
    counters[C_NEURON_UPDATES] += n_hidden + n_out
