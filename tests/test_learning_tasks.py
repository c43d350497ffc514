"""Learning from error and from reward, each against a no-learning baseline in the same test.

- error mode (PES): :class:`FunctionLearner` learns ``sin(πx)`` online, and re-adapts when the
  target flips to ``−sin(πx)`` mid-run;
- reward mode (node perturbation): a contextual bandit and a 1-D reaching task
  (:mod:`neurofit.scripts.bench.reward_tasks`).

Every run is seeded. The ``slow`` variants repeat the tasks over more seeds and sizes.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurofit.scripts.bench.function_learning import FunctionLearner, rmse
from neurofit.scripts.bench.reward_tasks import ContextualBandit, Reaching1D


def neg_sine(x: np.ndarray) -> np.ndarray:
    return -np.sin(np.pi * x)


# ----------------------------------------------------------------------------- error mode
def function_learning(seed: int, train_s: float) -> tuple[float, float]:
    """Frozen RMSE over 2 s of the untrained network and of one trained ``train_s`` online."""
    untrained = rmse(FunctionLearner(seed=seed).run(2.0, learn=False))
    learner = FunctionLearner(seed=seed)
    learner.run(train_s)
    return untrained, rmse(learner.run(2.0, learn=False))


def test_pes_learns_sine_online() -> None:
    untrained, trained = function_learning(seed=0, train_s=10.0)
    assert untrained > 0.6, untrained  # the untrained output is ~0: RMSE ≈ RMS of sin(πx)
    assert trained < 0.15 * untrained, (untrained, trained)


def test_pes_readapts_when_the_target_changes() -> None:
    """sin(πx) for 6 s, then −sin(πx): the error jumps at the switch, then falls again well
    below its level just after the switch (and the frozen network fits the new target)."""
    learner = FunctionLearner(seed=0)
    sq = learner.run(14.0, switch_at_s=6.0, switched_fn=neg_sine)
    ticks_per_s = round(1.0 / learner.tick_s)

    def window(start_s: float, stop_s: float) -> float:
        return rmse(sq[round(start_s * ticks_per_s):round(stop_s * ticks_per_s)])

    before, after, late = window(5.0, 6.0), window(6.0, 7.0), window(12.0, 14.0)
    assert after > 2.5 * before, (before, after)
    assert late < 0.4 * after, (after, late)
    frozen = rmse(learner.run(2.0, neg_sine, learn=False))
    assert frozen < 0.4 * after, (after, frozen)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pes_learns_sine_over_seeds(seed: int) -> None:
    untrained, trained = function_learning(seed=seed, train_s=20.0)
    assert trained < 0.1 * untrained, (untrained, trained)


# ----------------------------------------------------------------------------- bandit
def test_bandit_learns_from_reward_alone() -> None:
    untrained = ContextualBandit(seed=0)
    learner = ContextualBandit(seed=0)
    chance = 1.0 / learner.n_actions
    baseline = untrained.accuracy(n_per_context=40)
    rewards = learner.train(300)
    accuracy = learner.accuracy(n_per_context=40)
    assert abs(baseline - chance) < 0.2, baseline  # untrained: ties between silent actions
    assert accuracy >= 0.9, accuracy
    assert rewards[-100:].mean() > rewards[:50].mean()  # with exploration too
    assert learner.net.counts().weight_updates > 0


@pytest.mark.slow
@pytest.mark.parametrize(("n", "seed"), [(2, 1), (3, 1), (3, 2), (4, 0), (4, 3)])
def test_bandit_learns_over_sizes_and_seeds(n: int, seed: int) -> None:
    learner = ContextualBandit(n, n, seed=seed)
    learner.train(600)
    assert learner.accuracy(n_per_context=40) >= 0.9


def test_bandit_is_reproducible_and_rejects_bad_settings() -> None:
    a, b = ContextualBandit(seed=5), ContextualBandit(seed=5)
    np.testing.assert_array_equal(a.train(30), b.train(30))
    np.testing.assert_array_equal(a.net.weights("policy"), b.net.weights("policy"))
    with pytest.raises(ValueError, match="n_actions"):
        ContextualBandit(n_actions=1)
    with pytest.raises(ValueError, match="learning_rate"):
        ContextualBandit(learning_rate=-1.0)
    with pytest.raises(ValueError, match="trial_s"):
        ContextualBandit(trial_s=0.0505)
    with pytest.raises(ValueError, match="context"):
        a.trial(3)


# ----------------------------------------------------------------------------- reaching
def test_reaching_learns_from_reward_alone() -> None:
    """Reward −|target − position| each tick; node perturbation. The untrained policy does not
    move; the trained one reaches: its return is far above the untrained return."""
    task = Reaching1D(seed=0)
    untrained = task.evaluate()
    returns = task.train(150)
    trained = task.evaluate()
    assert trained > 0.5 * untrained, (untrained, trained)  # returns are negative
    assert returns[-30:].mean() > returns[:30].mean()
    episode = task.episode(0.7, learn=False, explore=False)
    assert abs(episode.positions[-1] - 0.7) < 0.15, episode.positions[-1]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_reaching_over_seeds(seed: int) -> None:
    task = Reaching1D(seed=seed)
    untrained = task.evaluate()
    task.train(400)
    assert task.evaluate() > 0.3 * untrained


def test_reaching_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="min_target"):
        Reaching1D(min_target=1.0)
    with pytest.raises(ValueError, match="tau_elig_s"):
        Reaching1D(tau_elig_s=-1.0)
    with pytest.raises(ValueError, match="noise_sd_v"):
        Reaching1D(noise_sd_v=-0.001)
