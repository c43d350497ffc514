"""NumpyMLP: forward pass, operation counts (shapes vs instrumented), save/load, SB3 export."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from neurofit.agents.mlp import NumpyMLP
from neurofit.neuromorphic.energy import mlp_inference_cost


def _random_mlp(sizes: list[int], seed: int = 0, **kw: object) -> NumpyMLP:
    rng = np.random.default_rng(seed)
    weights = [rng.normal(0, 0.5, (b, a)).astype(np.float32) for a, b in itertools.pairwise(sizes)]
    biases = [rng.normal(0, 0.1, b).astype(np.float32) for b in sizes[1:]]
    return NumpyMLP(weights, biases, **kw)  # type: ignore[arg-type]


def test_forward_matches_reference() -> None:
    mlp = _random_mlp([5, 8, 3], activation="relu")
    x = np.linspace(-1, 1, 5, dtype=np.float32)
    h = np.maximum(mlp.weights[0] @ x + mlp.biases[0], 0)
    y = mlp.weights[1] @ h + mlp.biases[1]
    np.testing.assert_allclose(mlp(x), y, rtol=1e-6)
    batch = np.stack([x, -x])
    assert mlp(batch).shape == (2, 3)
    np.testing.assert_allclose(mlp(batch)[0], y, rtol=1e-6)
    assert mlp.layer_sizes == (5, 8, 3)
    assert mlp.n_params == 5 * 8 + 8 + 8 * 3 + 3


@pytest.mark.parametrize(
    ("sizes", "kw"),
    [
        ([17, 64, 64, 4], {"activation": "tanh"}),
        ([3, 5], {"activation": "relu"}),
        ([6, 7, 2], {"activation": "relu", "output_activation": "tanh"}),
    ],
)
def test_shape_count_equals_instrumented_count(sizes: list[int], kw: dict[str, str]) -> None:
    mlp = _random_mlp(sizes, **kw)
    obs = np.random.default_rng(1).normal(size=sizes[0]).astype(np.float32)
    action, counted = mlp.forward_counted(obs)
    assert counted == mlp.count_ops()
    nonlinear_out = kw.get("output_activation") == "tanh"
    assert counted == mlp_inference_cost(sizes, output_nonlinear=nonlinear_out)
    np.testing.assert_allclose(action, mlp(obs), rtol=1e-5, atol=1e-6)


def test_action_clipping() -> None:
    mlp = _random_mlp([4, 6, 2], action_low=-0.1, action_high=0.1)
    y = mlp(np.full(4, 10.0))
    assert np.all(np.abs(y) <= 0.1 + 1e-7)
    with pytest.raises(ValueError, match="both"):
        _random_mlp([4, 2], action_low=-1.0)


def test_save_load_roundtrip(tmp_path: Path) -> None:
    mlp = _random_mlp([4, 6, 2], activation="relu", action_low=[-1, -2], action_high=[1, 2])
    path = mlp.save(tmp_path / "policy")
    assert path.suffix == ".npz"
    back = NumpyMLP.load(path)
    assert back.layer_sizes == mlp.layer_sizes and back.activation == "relu"
    obs = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(back(obs), mlp(obs))
    np.testing.assert_array_equal(back.action_high, mlp.action_high)
    np.savez(tmp_path / "junk.npz", a=np.zeros(2))
    with pytest.raises(ValueError, match="not a NumpyMLP file"):
        NumpyMLP.load(tmp_path / "junk.npz")


def test_bad_construction() -> None:
    with pytest.raises(ValueError, match="activation"):
        _random_mlp([3, 2], activation="sigmoid")
    with pytest.raises(ValueError, match="takes"):
        NumpyMLP([np.zeros((4, 3)), np.zeros((2, 5))], [np.zeros(4), np.zeros(2)])
    with pytest.raises(ValueError, match="finite"):
        NumpyMLP([np.full((2, 3), np.nan)], [np.zeros(2)])
    mlp = _random_mlp([3, 2])
    with pytest.raises(ValueError, match="obs must have shape"):
        mlp(np.zeros(4))


def test_from_sb3_without_rl_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(ImportError, match=r"neurofit\[rl\]"):
        NumpyMLP.from_sb3(object())


# Fakes with the attribute layout of an SB3 ActorCriticPolicy (modules matched by class name).
class _Tensor:
    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    def detach(self) -> _Tensor:
        return self

    def cpu(self) -> _Tensor:
        return self

    def numpy(self) -> np.ndarray:
        return self._a


class Linear:
    def __init__(self, w: np.ndarray, b: np.ndarray) -> None:
        self.weight, self.bias = _Tensor(w), _Tensor(b)


class Tanh:
    pass


class FlattenExtractor:
    pass


class Box:
    def __init__(self, low: float, high: float, n: int) -> None:
        self.low, self.high = np.full(n, low), np.full(n, high)


def test_sb3_export_logic() -> None:
    ref = _random_mlp([5, 8, 8, 2])
    policy = SimpleNamespace(
        mlp_extractor=SimpleNamespace(policy_net=[
            Linear(ref.weights[0], ref.biases[0]), Tanh(),
            Linear(ref.weights[1], ref.biases[1]), Tanh(),
        ]),
        action_net=Linear(ref.weights[2], ref.biases[2]),
        features_extractor=FlattenExtractor(),
        squash_output=False,
    )
    mlp = NumpyMLP._from_sb3_policy(policy, Box(-1.0, 1.0, 2))
    assert mlp.layer_sizes == (5, 8, 8, 2) and mlp.activation == "tanh"
    obs = np.ones(5, dtype=np.float32)
    np.testing.assert_allclose(mlp(obs), np.clip(ref(obs), -1, 1))
    with pytest.raises(TypeError, match="squash_output"):
        NumpyMLP._from_sb3_policy(SimpleNamespace(**{**vars(policy), "squash_output": True}))
    with pytest.raises(TypeError, match="not an MLP actor-critic policy"):
        NumpyMLP._from_sb3_policy(SimpleNamespace())
