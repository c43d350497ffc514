"""The PPO baseline (optional ``rl`` extra): a clear error without it; with it, a tiny run whose
exported NumPy policy acts exactly as SB3's deterministic policy."""

from __future__ import annotations

import contextlib
import sys

import numpy as np
import pytest

# With the rl extra, torch imports triton lazily (torch._dynamo, when SB3 builds its policy).
# Loading triton after the first EGL render in the same process segfaults (exit 139, not our
# bug): `...; env.render(); import triton` crashes in triton's native module, which bundles its
# own LLVM, after Mesa's EGL driver has loaded libLLVM. pytest imports every test module before
# it runs any test, so importing triton here, at collection, loads it before anything renders.
with contextlib.suppress(ImportError):
    import triton  # noqa: F401

ENV_ID = "InvertedPendulum-v5"


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from neurofit.scripts.bench import threshold_runs as ppo

    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # import now fails
    with pytest.raises(ImportError, match=r"neurofit\[rl\]"):
        ppo.require_rl()
    with pytest.raises(ImportError, match=r"neurofit\[rl\]"):
        ppo.ppo_steps_to_threshold(ENV_ID, 0, max_steps=10)


def test_exported_policy_acts_as_sb3_deterministic() -> None:
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("torch")
    from neurofit.agents.mlp import NumpyMLP
    from neurofit.agents.ppo import make_ppo

    model = make_ppo(ENV_ID, seed=0, n_steps=128, batch_size=64, n_epochs=2)
    model.learn(total_timesteps=256)
    policy = NumpyMLP.from_sb3(model)
    obs = np.random.default_rng(0).normal(0.0, 0.3, (32, 4)).astype(np.float32)
    sb3_actions, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose(policy(obs), sb3_actions, rtol=1e-5, atol=1e-5)
    assert np.all(np.abs(policy(obs * 50)) <= 3.0)  # clipped to the action bounds, as SB3 does


def test_ppo_threshold_run_tiny() -> None:
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("torch")
    from neurofit.scripts.bench.threshold_runs import ppo_steps_to_threshold

    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    run, policy = ppo_steps_to_threshold(ENV_ID, 0, max_steps=256, eval_every=128,
                                         eval_episodes=2, n_steps=128, batch_size=64,
                                         n_epochs=2)
    assert torch.get_num_threads() == threads  # restored
    assert [s for s, _ in run.evaluations] == [128, 256]  # after each update
    assert run.learner == "ppo" and run.steps_to_threshold is None
    assert run.train_episodes >= 1
    assert policy.layer_sizes == (4, 64, 64, 1)
