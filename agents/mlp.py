"""A small NumPy MLP policy: the conventional-network baseline, with its operations counted.

:class:`NumpyMLP` runs a dense tanh/ReLU network on NumPy alone, so a policy trained elsewhere
(Stable-Baselines3 PPO, through :meth:`NumpyMLP.from_sb3`) is evaluated without torch, and its
energy is priced on DNN hardware profiles from the same operation counts the spiking agent
reports: :meth:`NumpyMLP.count_ops` from the layer shapes, :meth:`NumpyMLP.forward_counted`
by counting while computing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np

from neurofit.neuromorphic.energy import DnnCost, mlp_inference_cost

__all__ = ["ACTIVATIONS", "NumpyMLP"]

#: Hidden-layer nonlinearities.
ACTIVATIONS: tuple[str, ...] = ("tanh", "relu")
_OUTPUT_ACTIVATIONS: tuple[str, ...] = ("identity", "tanh")

_RL_HINT = (
    "NumpyMLP.from_sb3 needs Stable-Baselines3 and torch: install the 'rl' extra, "
    "e.g. pip install 'neurofit[rl]'"
)


def _act(name: str, x: np.ndarray) -> np.ndarray:
    if name == "tanh":
        return np.tanh(x)
    if name == "relu":
        return np.maximum(x, 0)
    return x  # identity


def _act_scalar(name: str, x: float) -> float:
    if name == "tanh":
        return math.tanh(x)
    if name == "relu":
        return x if x > 0.0 else 0.0
    return x


class NumpyMLP:
    """A dense feed-forward policy ``obs → action`` in NumPy.

    Layer ``i`` computes ``h_{i+1} = f(W_i @ h_i + b_i)`` with ``W_i`` of shape
    ``(n_out, n_in)`` (torch's ``nn.Linear`` layout). Hidden layers use ``activation``; the
    output layer uses ``output_activation`` and is then clipped to
    ``[action_low, action_high]`` when bounds are given (as Stable-Baselines3 clips Box
    actions).

    Args:
        weights: one ``(n_out, n_in)`` matrix per layer.
        biases: one ``(n_out,)`` vector per layer.
        activation: hidden nonlinearity, ``"tanh"`` or ``"relu"``.
        output_activation: ``"identity"`` (default) or ``"tanh"``.
        action_low: optional lower action bound (scalar or ``(n_out,)``).
        action_high: optional upper action bound.

    Raises:
        ValueError: mismatched shapes, non-finite parameters, unknown activation, or only one
            bound given.
    """

    def __init__(
        self,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        *,
        activation: str = "tanh",
        output_activation: str = "identity",
        action_low: np.ndarray | float | None = None,
        action_high: np.ndarray | float | None = None,
    ) -> None:
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if output_activation not in _OUTPUT_ACTIVATIONS:
            raise ValueError(
                f"output_activation must be one of {_OUTPUT_ACTIVATIONS}, "
                f"got {output_activation!r}"
            )
        if len(weights) == 0 or len(weights) != len(biases):
            raise ValueError(
                f"need one bias per weight matrix and at least one layer, got {len(weights)} "
                f"weights and {len(biases)} biases"
            )
        ws: list[np.ndarray] = []
        bs: list[np.ndarray] = []
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            w = np.array(w, copy=True)
            b = np.array(b, copy=True)
            if not np.issubdtype(w.dtype, np.floating):
                w = w.astype(np.float64)
            b = b.astype(w.dtype)
            if w.ndim != 2 or b.shape != (w.shape[0],):
                raise ValueError(
                    f"layer {i}: weight must be (n_out, n_in) and bias (n_out,), got "
                    f"{w.shape} and {b.shape}"
                )
            if ws and w.shape[1] != ws[-1].shape[0]:
                raise ValueError(
                    f"layer {i} takes {w.shape[1]} inputs but layer {i - 1} gives "
                    f"{ws[-1].shape[0]}"
                )
            if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
                raise ValueError(f"layer {i}: weights and biases must be finite")
            ws.append(w)
            bs.append(b)
        if (action_low is None) != (action_high is None):
            raise ValueError("give both action_low and action_high, or neither")
        n_out = ws[-1].shape[0]
        self.action_low: np.ndarray | None = None
        self.action_high: np.ndarray | None = None
        if action_low is not None and action_high is not None:
            lo = np.broadcast_to(np.asarray(action_low, dtype=ws[-1].dtype), (n_out,)).copy()
            hi = np.broadcast_to(np.asarray(action_high, dtype=ws[-1].dtype), (n_out,)).copy()
            if np.any(lo > hi):
                raise ValueError("action_low must not exceed action_high")
            self.action_low, self.action_high = lo, hi
        self.weights: list[np.ndarray] = ws
        self.biases: list[np.ndarray] = bs
        self.activation: str = activation
        self.output_activation: str = output_activation

    # -- shape and cost ---------------------------------------------------------------------

    @property
    def layer_sizes(self) -> tuple[int, ...]:
        """``(n_inputs, hidden..., n_outputs)``."""
        return (int(self.weights[0].shape[1]), *(int(w.shape[0]) for w in self.weights))

    @property
    def n_params(self) -> int:
        """Number of weights and biases."""
        return int(sum(w.size + b.size for w, b in zip(self.weights, self.biases, strict=True)))

    def count_ops(self) -> DnnCost:
        """Operations of one inference, from the layer shapes (see
        :func:`neurofit.neuromorphic.energy.mlp_inference_cost` for the convention)."""
        return mlp_inference_cost(
            self.layer_sizes, output_nonlinear=self.output_activation != "identity"
        )

    # -- inference --------------------------------------------------------------------------

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        """The action for one observation ``(n_in,)`` or a batch ``(batch, n_in)``."""
        x = np.asarray(obs, dtype=self.weights[0].dtype)
        if x.shape[-1:] != (self.layer_sizes[0],) or x.ndim > 2:
            raise ValueError(
                f"obs must have shape ({self.layer_sizes[0]},) or (batch, "
                f"{self.layer_sizes[0]}), got {x.shape}"
            )
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = x @ w.T + b
            x = _act(self.output_activation if i == last else self.activation, x)
        if self.action_low is not None:
            x = np.clip(x, self.action_low, self.action_high)
        return x

    def forward_counted(self, obs: np.ndarray) -> tuple[np.ndarray, DnnCost]:
        """One inference computed scalar by scalar, counting every operation it performs.

        Each input activation is loaded once per layer into a register file, then each output
        starts from its bias (one read), accumulates one weight read and one MAC per input,
        applies its nonlinearity (one activation) and is stored (one write). The result
        equals :meth:`__call__` up to rounding, and the counts equal :meth:`count_ops`.
        Slow (pure Python); meant for verification.

        Returns:
            ``(action, cost)`` for a single observation of shape ``(n_in,)``.
        """
        x = np.asarray(obs, dtype=np.float64)
        if x.shape != (self.layer_sizes[0],):
            raise ValueError(f"obs must have shape ({self.layer_sizes[0]},), got {x.shape}")
        macs = acts = reads = writes = 0
        memory: list[float] = [float(v) for v in x]  # the activation buffer in memory
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            f = self.output_activation if i == last else self.activation
            regs: list[float] = []
            for v in memory:  # load each input activation once
                regs.append(v)
                reads += 1
            n_out, n_in = w.shape
            out: list[float] = [0.0] * n_out
            for j in range(n_out):
                acc = float(b[j])
                reads += 1
                row = w[j]
                for k in range(n_in):
                    acc += float(row[k]) * regs[k]
                    reads += 1
                    macs += 1
                if f != "identity":
                    acc = _act_scalar(f, acc)
                    acts += 1
                out[j] = acc
                writes += 1
            memory = out
        y = np.asarray(memory, dtype=self.weights[-1].dtype)
        if self.action_low is not None:
            y = np.clip(y, self.action_low, self.action_high)
        cost = DnnCost(macs=macs, activations=acts, memory_reads=reads, memory_writes=writes)
        return y, cost

    # -- persistence ------------------------------------------------------------------------

    def save(self, path: str | PathLike[str]) -> Path:
        """Write the network to an ``.npz`` file (no pickles) and return its path."""
        p = Path(path)
        if p.suffix != ".npz":
            p = p.with_name(p.name + ".npz")
        arrays: dict[str, Any] = {
            "n_layers": np.array(len(self.weights)),
            "activation": np.array(self.activation),
            "output_activation": np.array(self.output_activation),
        }
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"weight_{i}"] = w
            arrays[f"bias_{i}"] = b
        if self.action_low is not None:
            arrays["action_low"] = self.action_low
            arrays["action_high"] = self.action_high
        np.savez(p, **arrays)
        return p

    @classmethod
    def load(cls, path: str | PathLike[str]) -> NumpyMLP:
        """Read a network written by :meth:`save`.

        Raises:
            ValueError: the file lacks a field or holds inconsistent shapes.
        """
        p = Path(path)
        with np.load(p, allow_pickle=False) as data:
            try:
                n = int(data["n_layers"])
                weights = [data[f"weight_{i}"] for i in range(n)]
                biases = [data[f"bias_{i}"] for i in range(n)]
                activation = str(data["activation"])
                output_activation = str(data["output_activation"])
            except KeyError as exc:
                raise ValueError(f"{p}: not a NumpyMLP file (missing {exc})") from None
            low = data["action_low"] if "action_low" in data else None
            high = data["action_high"] if "action_high" in data else None
        return cls(
            weights,
            biases,
            activation=activation,
            output_activation=output_activation,
            action_low=low,
            action_high=high,
        )

    # -- export from Stable-Baselines3 ----------------------------------------------------

    @classmethod
    def from_sb3(cls, model: Any) -> NumpyMLP:
        """Export the deterministic actor of a Stable-Baselines3 PPO/A2C model.

        Takes ``model.policy.mlp_extractor.policy_net`` (Linear + Tanh/ReLU layers) and
        ``model.policy.action_net`` (the action mean); a Box action space's finite bounds become
        the clip range (as ``model.predict`` clips). Observation
        normalisation (``VecNormalize``) is not part of the policy: apply it before calling.

        Raises:
            ImportError: Stable-Baselines3 or torch is missing (install the ``rl`` extra).
            TypeError: the model's policy is not an MLP actor-critic policy over vector
                observations, mixes activations, or squashes its output (``squash_output``).
        """
        try:
            import stable_baselines3  # noqa: F401
            import torch  # noqa: F401
        except ImportError as exc:
            raise ImportError(_RL_HINT) from exc
        return cls._from_sb3_policy(model.policy, getattr(model, "action_space", None))

    @classmethod
    def _from_sb3_policy(cls, policy: Any, action_space: Any = None) -> NumpyMLP:
        """Build from an SB3 actor-critic policy's modules (duck-typed by class name)."""
        try:
            hidden = list(policy.mlp_extractor.policy_net)
            head = policy.action_net
        except AttributeError:
            raise TypeError(
                f"{type(policy).__name__} is not an MLP actor-critic policy "
                "(needs mlp_extractor.policy_net and action_net, as PPO/A2C's MlpPolicy has)"
            ) from None
        extractor = getattr(policy, "features_extractor", None)
        if extractor is not None and type(extractor).__name__ != "FlattenExtractor":
            raise TypeError(
                f"features extractor {type(extractor).__name__} is not supported; "
                "only FlattenExtractor (vector observations)"
            )
        weights: list[np.ndarray] = []
        biases: list[np.ndarray] = []
        acts: set[str] = set()
        for module in [*hidden, head]:
            kind = type(module).__name__
            if kind == "Linear":
                weights.append(module.weight.detach().cpu().numpy().astype(np.float32))
                if module.bias is None:
                    biases.append(np.zeros(weights[-1].shape[0], dtype=np.float32))
                else:
                    biases.append(module.bias.detach().cpu().numpy().astype(np.float32))
            elif kind in ("Tanh", "ReLU"):
                acts.add(kind.lower())
            else:
                raise TypeError(f"unsupported layer {kind} in the SB3 policy network")
        if len(acts) > 1:
            raise TypeError(f"mixed hidden activations {sorted(acts)} are not supported")
        if getattr(policy, "squash_output", False):
            raise TypeError(
                "squash_output policies (tanh, then rescaled to the action bounds) are not "
                "supported; export a policy trained with squash_output=False"
            )
        activation = acts.pop() if acts else "tanh"
        low = high = None
        if action_space is not None and type(action_space).__name__ == "Box":
            low = np.asarray(action_space.low, dtype=np.float32).reshape(-1)
            high = np.asarray(action_space.high, dtype=np.float32).reshape(-1)
            if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
                low = high = None
        return cls(
            weights,
            biases,
            activation=activation,
            action_low=low,
            action_high=high,
        )

    def __repr__(self) -> str:
        return (
            f"NumpyMLP(layer_sizes={self.layer_sizes}, activation={self.activation!r}, "
            f"output_activation={self.output_activation!r})"
        )
