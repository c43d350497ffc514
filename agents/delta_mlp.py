"""The DNN's own taxi: the feedback MLP run as a delta network (Neil et al., ICML 2017).

:class:`DeltaFeedbackMLPAgent` is :class:`~neurofit.agents.mlp_feedback.FeedbackMLPAgent` —
the same reflex, features, output, initial weights, SGD step and ``learn_deadband`` — executed
the way a delta network executes (Neil, Lee, Delbruck & Liu, "Delta networks for optimized
recurrent network computation", arXiv 1612.05571): a unit recomputes and sends only when its
value changed by more than a threshold since it last sent.

State, per layer ``l`` with weights ``W_l`` and bias ``b_l``:

* every input unit ``k`` keeps ``x̂_k``, the last value it sent; each tick it tests
  ``|x_k − x̂_k| > delta``. If so it sends ``Δ = x_k − x̂_k`` (and sets ``x̂_k = x_k``): every unit
  of the next layer adds ``W_jk Δ`` to its accumulated pre-activation ``M_j`` — the input's
  fan-out in MACs, one weight read each. Else it sends nothing and costs only its test.
* every hidden unit ``j`` keeps ``M̂_j``, the pre-activation at which it last sent, and ``ĥ_j``,
  the activation it sent. It tests ``|M_j − M̂_j| > delta``; if so it evaluates
  ``h = tanh(M_j)``, sends ``h − ĥ_j`` to its fan-out and sets ``M̂_j = M_j``, ``ĥ_j = h``; else
  it evaluates nothing and sends nothing.
* the output units are the accumulators ``M`` of the last layer (identity output).

So ``M_{l+1} = W_l v̂_l + b_l`` holds exactly, with ``v̂_0 = x̂`` and ``v̂_l = ĥ_l``: in exact
(fixed-point) arithmetic a delta network computes the dense network of its last-sent values.
This simulation evaluates that expression as the dense network does (``W @ v̂ + b``), so that
with ``delta = 0`` it is bit-for-bit the dense MLP; the **counts** are those of the delta
updates above (:meth:`DeltaFeedbackMLPAgent.forward`). Learning is the dense twin's SGD step on
the values the network actually used (``x̂``, ``ĥ``); it changes ``W`` and ``b`` and so every
accumulator: ``M_j += δ_j (‖v̂‖² + 1)`` after ``W += δ v̂ᵀ``, ``b += δ`` — counted with the step
(:func:`delta_learning_upkeep`).

Error bound (per output, for the weights in use): an input's sent value is within ``delta`` of
the true one, so a first-layer accumulator is within ``e_j = delta · Σ_k |W_jk|``; a hidden
unit's sent pre-activation is within ``delta`` of its accumulator and tanh is 1-Lipschitz, so
its sent activation is within ``delta + e_j`` of the dense one; and so on to the output
(:meth:`DeltaFeedbackMLPAgent.output_error_bound`). The output clip is 1-Lipschitz too.

Counting convention (each stored number touched once, as
:func:`~neurofit.neuromorphic.energy.mlp_inference_cost`), per tick and per layer of ``a``
inputs and ``b`` outputs:

* each sending unit's test: 2 reads (its current and its last-sent value), 1 op;
* each unit that sends: 1 write (its last-sent value); a hidden one also 1 activation (tanh),
  1 read and 1 write of ``ĥ`` and 1 op (``h − ĥ``); then ``b`` MACs and ``b`` weight reads;
* the ``b`` accumulators of the next layer: ``b`` reads and ``b`` writes when at least one
  of its inputs sent, else none.

Ops that are not MACs are counted in ``DnnCost.activations`` (each priced as one MAC).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurofit.agents.features import env_features
from neurofit.agents.mlp_feedback import FeedbackMLPAgent
from neurofit.agents.reflex import Reflex, make_reflex
from neurofit.agents.usage import Usage
from neurofit.neuromorphic._atomic import write_npz
from neurofit.neuromorphic.energy import DnnCost

__all__ = ["DEFAULT_DELTA", "DeltaFeedbackMLPAgent", "delta_learning_upkeep"]

#: Default change threshold, in feature units (the features are scaled to about [-1, 1]) and
#: in pre-activation units for hidden units.
DEFAULT_DELTA = 0.01


def delta_learning_upkeep(layer_sizes: Sequence[int]) -> DnnCost:
    """Operations to keep a delta network's accumulators exact after one SGD step.

    A step ``W_l += δ v̂ᵀ``, ``b_l += δ`` moves accumulator ``j`` by ``δ_j (‖v̂‖² + 1)``. Per
    layer of ``a`` inputs and ``b`` outputs: ``a`` MACs for ``‖v̂‖²`` (the ``a`` inputs are
    already read by the step), ``b`` MACs, and ``b`` reads and ``b`` writes of the
    accumulators.
    """
    sizes = [int(s) for s in layer_sizes]
    macs = reads = writes = 0
    for a, b in itertools.pairwise(sizes):
        macs += a + b
        reads += b
        writes += b
    return DnnCost(macs=macs, memory_reads=reads, memory_writes=writes)


class DeltaFeedbackMLPAgent(FeedbackMLPAgent):
    """:class:`FeedbackMLPAgent` executed as a delta network (see the module docstring).

    Args:
        reflex, n_inputs, hidden, learning_rate, correction_limit, feature_kind,
        feature_scale, control_dt_s, learn_deadband, seed: as :class:`FeedbackMLPAgent`.
        delta: change threshold, ``>= 0``: an input (feature units) or a hidden unit
            (pre-activation units) sends only when its value moved by more than this since it
            last sent. 0 sends every change, and is bit-for-bit the dense MLP.

    Raises:
        ValueError: a negative or non-finite ``delta`` (and :class:`FeedbackMLPAgent`'s own).
    """

    def __init__(self, reflex: Reflex, n_inputs: int, *, delta: float = DEFAULT_DELTA,
                 **kwargs: Any) -> None:
        if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not (
                np.isfinite(delta) and delta >= 0):
            raise ValueError(f"delta must be a finite number >= 0, got {delta!r}")
        super().__init__(reflex, n_inputs, **kwargs)
        self.delta = float(delta)
        self._upkeep = delta_learning_upkeep(self.layer_sizes)
        self._forward_cost = DnnCost()
        self._reset_delta_state()

    @classmethod
    def from_env(cls, env: Any, *, delta: float = DEFAULT_DELTA,  # type: ignore[override]
                 hidden: Sequence[int] = (8,), learning_rate: float = 0.05,
                 correction_limit: float = 1.0, learn_deadband: float = 0.0, seed: int = 0,
                 **reflex_kwargs: Any) -> DeltaFeedbackMLPAgent:
        """An agent for a NeuroFit quadrotor or arm env (as :meth:`FeedbackMLPAgent.from_env`).

        Raises:
            ValueError: an env without a reflex, or a bad ``delta``.
        """
        kind, scale = env_features(env, "error")
        if kind not in ("error", "arm"):
            raise ValueError(
                f"{type(env.unwrapped).__name__} has no reflex: the delta MLP needs a NeuroFit "
                "quadrotor or arm env"
            )
        return cls(make_reflex(env, **reflex_kwargs), scale.size, delta=delta, hidden=hidden,
                   learning_rate=learning_rate, correction_limit=correction_limit,
                   feature_kind=kind, feature_scale=scale,
                   control_dt_s=float(getattr(env.unwrapped, "dt", 0.01)),
                   learn_deadband=learn_deadband, seed=seed)

    # ------------------------------------------------------------------ delta state
    def _reset_delta_state(self) -> None:
        sizes = self.layer_sizes
        #: last value sent by each unit of each sending layer (x̂ for the inputs, ĥ hidden)
        self._sent = [np.zeros(s) for s in sizes[:-1]]
        #: pre-activation at which each hidden unit last sent (M̂); index l for layer l >= 1
        self._sent_pre = [np.zeros(s) for s in sizes[1:-1]]

    def reset(self) -> None:
        """Start an episode: the reflex restarts and every unit forgets what it sent (the first
        tick sends every nonzero input); weights are kept."""
        super().reset()
        self._reset_delta_state()

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The network's output for the features ``x``, executed as a delta network; adds the
        operations of this pass to the agent's count."""
        acts = self._acts
        d = self.delta
        last = len(self.weights) - 1
        macs = ops = reads = writes = 0
        sent = self._sent[0]
        changed = np.abs(x - sent) > d
        sent[changed] = x[changed]
        n_sent = int(np.count_nonzero(changed))
        reads += 2 * sent.size
        ops += sent.size
        writes += n_sent
        acts[0][:] = sent
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            n_out = w.shape[0]
            macs += n_sent * n_out
            reads += n_sent * n_out
            if n_sent:
                reads += n_out
                writes += n_out
            pre = w @ acts[i] + b  # = the accumulators M, exactly (module docstring)
            if i == last:
                acts[i + 1][:] = pre
                continue
            sent_pre, sent_h = self._sent_pre[i], self._sent[i + 1]
            fire = np.abs(pre - sent_pre) > d
            sent_pre[fire] = pre[fire]
            sent_h[fire] = np.tanh(pre[fire])
            n_sent = int(np.count_nonzero(fire))
            reads += 2 * n_out + n_sent  # test: M and M̂; ĥ read for the difference
            ops += n_out + 2 * n_sent  # test; tanh and h − ĥ of each unit that sends
            writes += 2 * n_sent  # M̂ and ĥ
            acts[i + 1][:] = sent_h
        self._forward_cost = self._forward_cost + DnnCost(
            macs=macs, activations=ops, memory_reads=reads, memory_writes=writes)
        return acts[-1]

    def output_error_bound(self) -> np.ndarray:
        """Per output, the largest ``|y_delta − y_dense|`` the threshold allows with the current
        weights, for any input (the module docstring derives it)."""
        d = self.delta
        err = np.full(self.layer_sizes[0], d)
        last = len(self.weights) - 1
        for i, w in enumerate(self.weights):
            acc = np.abs(w) @ err
            err = acc if i == last else acc + d
        return err

    # ------------------------------------------------------------------ cost
    # Learning is the inherited observe(): the dense twin's SGD step (same teaching signal,
    # same deadband) on the values the delta network used (self._acts); each step's
    # accumulator upkeep is counted below.
    def dnn_cost(self) -> DnnCost:
        """Every operation so far: delta passes plus SGD steps with their upkeep."""
        return self._forward_cost + (self.learning_cost + self._upkeep) * self.learning_steps

    def usage(self) -> Usage:
        """The operations so far, as counted by the delta passes and the SGD steps."""
        return Usage("dnn", self.ticks, inference=self._forward_cost,
                     learning=(self.learning_cost + self._upkeep) * self.learning_steps)

    def describe(self) -> dict[str, Any]:
        """As :meth:`FeedbackMLPAgent.describe`, with the threshold."""
        out = super().describe()
        out["delta"] = self.delta
        out["text"] = ("delta MLP " + "-".join(map(str, self.layer_sizes))
                       + f" (Δ {self.delta:g}) + SGD online")
        return out

    def config(self) -> dict[str, Any]:
        return {**super().config(), "delta": self.delta}

    def save(self, path: str | Path) -> None:
        """Write weights, counters, the counted forward cost and the delta state (.npz)."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {
            "config": np.frombuffer(json.dumps(self.config()).encode(), dtype=np.uint8),
            "counters": np.array([self.ticks, self.learning_steps], dtype=np.int64),
            "forward_cost": np.array(list(self._forward_cost.as_dict().values()),
                                     dtype=np.int64),
        }
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"weight_{i}"] = w
            arrays[f"bias_{i}"] = b
        for i, v in enumerate(self._sent):
            arrays[f"sent_{i}"] = v
        for i, v in enumerate(self._sent_pre):
            arrays[f"sent_pre_{i}"] = v
        write_npz(path, arrays)

    def load_state(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote, into an agent built with the same config."""
        super().load_state(path)
        with np.load(Path(path)) as data:
            if "forward_cost" not in data:
                raise ValueError(f"{path} was not written by a delta MLP (no forward_cost)")
            self._forward_cost = DnnCost(*(int(v) for v in data["forward_cost"]))
            for i in range(len(self._sent)):
                self._sent[i][...] = data[f"sent_{i}"]
            for i in range(len(self._sent_pre)):
                self._sent_pre[i][...] = data[f"sent_pre_{i}"]
