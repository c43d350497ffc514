"""The DNN twin of error-mode NeuroFit: a reflex plus an MLP correction learned online.

:class:`FeedbackMLPAgent` has the architecture of
:class:`~neurofit.agents.neurofit_agent.NeuroFitAgent` in error mode with a dense network in
place of the spiking one: the same reflex (:mod:`neurofit.agents.reflex`), the same features
(the env's error vector, scaled to about [-1, 1]), the same output (a correction in units of
the reflex's ``correction_scale``, clipped to ``correction_limit``) and the same teaching signal
(the reflex's own feedback command — feedback-error learning, Kawato 1987). Where NeuroFit
learns by PES on its plastic projection, the MLP learns by one plain SGD step per tick on
``½‖teach‖²``: the output moves along ``teach``, and backpropagation spreads it to every layer.
So the two compare on the same task at the same level of adaptation, and the energy report
(:mod:`neurofit.agents.energy_report`) prices this agent's forward and learning operations on
DNN hardware profiles the way it prices NeuroFit's events on neuromorphic ones.

Operation counts per tick are exact and follow the layer shapes:
:func:`~neurofit.neuromorphic.energy.mlp_inference_cost` for the forward pass and
:func:`mlp_learning_cost` for one SGD step (counting convention in its docstring).
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neurofit.agents.features import ARM_FEATURE_SLICES, QUAD_ERROR_INDEX, env_features
from neurofit.agents.mlp import NumpyMLP
from neurofit.agents.reflex import Reflex, make_reflex
from neurofit.agents.usage import Usage
from neurofit.neuromorphic._atomic import write_npz
from neurofit.neuromorphic.energy import DnnCost, mlp_inference_cost

__all__ = ["FeedbackMLPAgent", "mlp_learning_cost"]


def mlp_learning_cost(layer_sizes: Sequence[int]) -> DnnCost:
    """Operations of one SGD step of a dense MLP (tanh hidden layers, identity output).

    The step is ``W_i += δ_i h_{i-1}ᵀ``, ``b_i += δ_i`` for every layer, with
    ``δ_L = η · teach`` and ``δ_{i-1} = (W_iᵀ δ_i) ⊙ (1 − h_{i-1}²)``. Per dense layer
    ``i`` with ``a`` inputs and ``b`` outputs, walking from the output back:

    * **MACs** ``a·b`` (weight update) ``+ b`` (bias update) ``+ a·b`` when a gradient is
      passed further back (not for the first layer) ``+ b`` on the output layer (``η · teach``);
    * **activations** ``a`` when the gradient is passed back (the derivative ``1 − h²``);
    * **reads** ``a·b`` weights (read once: the backward product and the update share the
      pass) ``+ b`` biases ``+ a`` layer inputs ``+ b`` gradients;
    * **writes** ``a·b`` weights ``+ b`` biases ``+ a`` back-propagated gradients (not for the
      first layer).

    Like :func:`~neurofit.neuromorphic.energy.mlp_inference_cost`, compulsory traffic only
    (every stored number touched once per step): a lower bound for any kernel.

    Raises:
        ValueError: fewer than two sizes, or a size that is not a positive integer.
    """
    sizes = list(layer_sizes)
    mlp_inference_cost(sizes)  # validates the sizes
    macs = acts = reads = writes = 0
    n_layers = len(sizes) - 1
    for i in range(n_layers, 0, -1):
        a, b = int(sizes[i - 1]), int(sizes[i])
        back = i > 1
        macs += a * b + b + (a * b if back else 0) + (b if i == n_layers else 0)
        acts += a if back else 0
        reads += a * b + b + a + b
        writes += a * b + b + (a if back else 0)
    return DnnCost(macs=macs, activations=acts, memory_reads=reads, memory_writes=writes)


class FeedbackMLPAgent:
    """Reflex + MLP feed-forward correction, learned online by SGD on the reflex's command.

    Args:
        reflex: the feedback law (:class:`~neurofit.agents.reflex.QuadReflex` or
            :class:`~neurofit.agents.reflex.ArmReflex`).
        n_inputs: size of the feature vector.
        hidden: hidden-layer widths, e.g. ``(8,)`` or ``(16, 16)``; ``()`` is a linear map.
        learning_rate: SGD step size η (per unit of teaching signal, in network units).
        correction_limit: the output is clipped to ``±correction_limit`` before it is scaled
            by the reflex's ``correction_scale`` (as NeuroFit's is).
        feature_kind, feature_scale: as :class:`~neurofit.agents.neurofit_agent.NeuroFitAgent`
            (``"error"``: the quadrotor's 6-D error; ``"arm"``: joint angles and Cartesian
            error).
        control_dt_s: control period (for the static power of an energy meter).
        learn_deadband: no SGD step (and none counted) in a tick whose teaching signal, in
            correction-scale units, has a norm ``‖teach / correction_scale‖₂`` below this —
            NeuroFit's ``error_deadband`` on the same signal, so that with equal bands both
            stop learning on the same ticks. 0 (the default) learns every tick.
        seed: seeds the initial weights (Glorot-uniform hidden layers, zero output layer, so
            the untrained agent is its reflex).

    Use it like NeuroFit: ``reset()`` per episode, ``act(obs)`` then ``observe(obs, reward,
    terminated, info)`` per step; ``learning = False`` freezes the weights.
    """

    def __init__(self, reflex: Reflex, n_inputs: int, *, hidden: Sequence[int] = (8,),
                 learning_rate: float = 0.05, correction_limit: float = 1.0,
                 feature_kind: str = "error", feature_scale: np.ndarray | None = None,
                 control_dt_s: float = 0.01, learn_deadband: float = 0.0, seed: int = 0
                 ) -> None:
        hidden = tuple(int(h) for h in hidden)
        if any(h < 1 for h in hidden):
            raise ValueError(f"hidden widths must be positive integers, got {hidden}")
        if not (math.isfinite(learning_rate) and learning_rate >= 0):
            raise ValueError(f"learning_rate must be a finite number >= 0, got {learning_rate!r}")
        if not (math.isfinite(correction_limit) and correction_limit > 0):
            raise ValueError(f"correction_limit must be > 0, got {correction_limit!r}")
        if not (math.isfinite(learn_deadband) and learn_deadband >= 0):
            raise ValueError(f"learn_deadband must be a finite number >= 0, got "
                             f"{learn_deadband!r}")
        if feature_kind not in ("error", "arm"):
            raise ValueError(f"feature_kind must be 'error' or 'arm', got {feature_kind!r}")
        self.reflex = reflex
        self.hidden = hidden
        self.learning_rate = float(learning_rate)
        self.correction_limit = float(correction_limit)
        self.learn_deadband = float(learn_deadband)
        self.control_dt_s = float(control_dt_s)
        self.seed = int(seed)
        self._feature_kind = feature_kind
        scale = np.ones(n_inputs) if feature_scale is None else np.asarray(feature_scale, float)
        self._inv_scale = 1.0 / scale
        sizes = (int(n_inputs), *hidden, int(reflex.n_correction))
        rng = np.random.default_rng(seed)
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        for i, (a, b) in enumerate(itertools.pairwise(sizes)):
            last = i == len(sizes) - 2
            bound = 0.0 if last else math.sqrt(6.0 / (a + b))
            self.weights.append(rng.uniform(-bound, bound, size=(b, a)))
            self.biases.append(np.zeros(b))
        self.layer_sizes: tuple[int, ...] = sizes
        #: operations of one forward pass and of one SGD step
        self.inference_cost: DnnCost = mlp_inference_cost(sizes)
        self.learning_cost: DnnCost = mlp_learning_cost(sizes)
        self.learning = True
        self.ticks = 0
        self.learning_steps = 0
        self._acts: list[np.ndarray] = [np.zeros(s) for s in sizes]
        self._correction = np.zeros(reflex.n_correction)
        self._have_forward = False

    @classmethod
    def from_env(cls, env: Any, *, hidden: Sequence[int] = (8,), learning_rate: float = 0.05,
                 correction_limit: float = 1.0, learn_deadband: float = 0.0, seed: int = 0,
                 **reflex_kwargs: Any) -> FeedbackMLPAgent:
        """An agent for a NeuroFit quadrotor or arm env, with NeuroFit's features and reflex."""
        kind, scale = env_features(env, "error")
        if kind not in ("error", "arm"):
            raise ValueError(
                f"{type(env.unwrapped).__name__} has no reflex: the feedback MLP needs a NeuroFit "
                "quadrotor or arm env"
            )
        reflex = make_reflex(env, **reflex_kwargs)
        return cls(reflex, scale.size, hidden=hidden, learning_rate=learning_rate,
                   correction_limit=correction_limit, feature_kind=kind, feature_scale=scale,
                   control_dt_s=float(getattr(env.unwrapped, "dt", 0.01)),
                   learn_deadband=learn_deadband, seed=seed)

    # ------------------------------------------------------------------ acting
    def reset(self, info: dict[str, Any] | None = None) -> None:
        """Start an episode: the reflex restarts (and takes the reset's ``info``, whose
        ``info["error"]`` a feedback reflex acts on at the first tick); weights are kept."""
        self.reflex.reset()
        self._have_forward = False
        if info is not None and info.get("error") is not None:
            self.reflex.observe(info)

    def features(self, obs: np.ndarray) -> np.ndarray:
        """The network's input for ``obs`` (NeuroFit's error-mode features)."""
        obs = np.asarray(obs, dtype=np.float64)
        if self._feature_kind == "error":
            f = obs[QUAD_ERROR_INDEX]
        else:
            f = np.concatenate([obs[s] for s in ARM_FEATURE_SLICES])
        return f * self._inv_scale

    def forward(self, x: np.ndarray) -> np.ndarray:
        """The network's output (network units, before clipping) for the features ``x``."""
        acts = self._acts
        acts[0][:] = x
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            z = w @ acts[i] + b
            acts[i + 1][:] = z if i == last else np.tanh(z)
        return acts[-1]

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Reflex action plus the MLP's correction: one inference."""
        y = self.forward(np.clip(self.features(obs), -1.2, 1.2))
        self.ticks += 1
        self._have_forward = True
        np.clip(y, -self.correction_limit, self.correction_limit, out=self._correction)
        self._correction *= self.reflex.correction_scale
        return self.reflex.act(np.asarray(obs, dtype=np.float64), self._correction)

    def observe(self, obs: np.ndarray, reward: float, terminated: bool,
                info: dict[str, Any]) -> None:
        """One SGD step toward the reflex's command (feedback-error learning), unless the
        command is inside ``learn_deadband``."""
        if not (self.learning and self._have_forward):
            return
        error = info.get("error")
        if error is None:
            raise ValueError("the feedback MLP needs info['error'] from the env")
        teach = self.reflex.teaching(obs, np.asarray(error, dtype=np.float64))
        if self.learn_deadband > 0.0:
            scaled = teach / self.reflex.correction_scale
            if float(np.sqrt(scaled @ scaled)) < self.learn_deadband:
                return  # nothing to learn: no step, no cost
        delta = self.learning_rate * teach / self.reflex.correction_scale
        acts = self._acts
        for i in range(len(self.weights) - 1, -1, -1):
            w = self.weights[i]
            back = w.T @ delta * (1.0 - acts[i] ** 2) if i > 0 else None
            w += np.outer(delta, acts[i])
            self.biases[i] += delta
            if back is not None:
                delta = back
        self.learning_steps += 1

    # ------------------------------------------------------------------ cost
    def dnn_cost(self) -> DnnCost:
        """Every operation so far: forward passes plus SGD steps."""
        return self.inference_cost * self.ticks + self.learning_cost * self.learning_steps

    @property
    def mlp(self) -> NumpyMLP:
        """The current network as a :class:`~neurofit.agents.mlp.NumpyMLP` (a copy)."""
        return NumpyMLP(self.weights, self.biases, activation="tanh")

    # ------------------------------------------------------------------ saving
    def config(self) -> dict[str, Any]:
        return {"hidden": list(self.hidden), "learning_rate": self.learning_rate,
                "correction_limit": self.correction_limit,
                "learn_deadband": self.learn_deadband, "seed": self.seed}

    def usage(self) -> Usage:
        """The operations so far: one forward pass per tick, one SGD step per learning step."""
        return Usage("dnn", self.ticks, inference=self.inference_cost * self.ticks,
                     learning=self.learning_cost * self.learning_steps)

    def describe(self) -> dict[str, Any]:
        """The network's layers and parameters, and one line of text for tables."""
        return {"layer_sizes": list(self.layer_sizes), "learning_rate": self.learning_rate,
                "n_params": int(sum(w.size + b.size for w, b in
                                    zip(self.weights, self.biases, strict=True))),
                "text": "MLP " + "-".join(map(str, self.layer_sizes)) + " + SGD online"}

    def save(self, path: str | Path) -> None:
        """Write weights, counters and config to ``path`` (.npz), atomically."""
        path = Path(path)
        arrays: dict[str, np.ndarray] = {
            "config": np.frombuffer(json.dumps(self.config()).encode(), dtype=np.uint8),
            "counters": np.array([self.ticks, self.learning_steps], dtype=np.int64),
        }
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"weight_{i}"] = w
            arrays[f"bias_{i}"] = b
        write_npz(path, arrays)

    def load_state(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote, into an agent built with the same config."""
        with np.load(Path(path)) as data:
            saved = json.loads(bytes(data["config"]).decode())
            saved.setdefault("learn_deadband", 0.0)  # written before the deadband existed
            if saved != self.config():
                raise ValueError(f"{path} was saved by a feedback MLP with config {saved}, "
                                 f"not {self.config()}")
            for i in range(len(self.weights)):
                self.weights[i][...] = data[f"weight_{i}"]
                self.biases[i][...] = data[f"bias_{i}"]
            self.ticks, self.learning_steps = (int(v) for v in data["counters"])
