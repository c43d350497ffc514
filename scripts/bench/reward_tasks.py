"""Learning from reward alone: two small tasks for the three-factor rules in reward mode.

Both tasks learn with node perturbation
(:func:`~neurofit.neuromorphic.plasticity.node_perturbation`): the caller injects exploration
noise into the output neurons' input currents, writes the same noise into the network's
perturbation view, and after the reward sets the modulator to the reward-prediction error,
``M = r − baseline``.

- :class:`ContextualBandit`: a context (one of ``n_contexts``) is encoded by Gaussian receptive
  fields into a hidden LIF population; a plastic projection drives ``n_actions`` action
  populations; the action with the most spikes in a trial is taken (the noise is the
  exploration); reward 1 for the context's correct action, else 0. One trial is one episode:
  the network state (eligibility included) is reset before each.
- :class:`Reaching1D`: a point whose velocity is the decoded difference of two output
  populations ("push up" minus "push down") must reach a target; the hidden population encodes
  the signed distance ``target − position``; reward ``−|target − position|`` every control tick.
  The modulator is that reward minus the reward of the tick before (the reward standing still
  would have earned, a state-dependent baseline), minus a running average of the result.

Everything is seeded: the same seed gives the same run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurofit.neuromorphic.coding import GaussianPopulationEncoder, RateDecoder
from neurofit.neuromorphic.connectivity import AllToAll
from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import FAST_LIF
from neurofit.neuromorphic.plasticity import RunningBaseline, node_perturbation

__all__ = [
    "PARAMS",
    "BanditTrial",
    "ContextualBandit",
    "Reaching1D",
    "ReachingEpisode",
]

#: Neuron parameters of both tasks: 10 ms membrane, threshold 15 mV above rest.
PARAMS = FAST_LIF
_THRESHOLD_V = PARAMS.v_thresh - PARAMS.v_rest


def _check_int(name: str, value: int, low: int) -> None:
    if not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def _check_pos(name: str, value: float, allow_zero: bool = False) -> None:
    if not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")


@dataclass(frozen=True)
class BanditTrial:
    """What one bandit trial did."""

    context: int
    action: int
    reward: float
    counts: np.ndarray  # spikes of each action population in the trial


class ContextualBandit:
    """A contextual bandit learned by node perturbation (see the module docstring).

    Args:
        n_contexts, n_actions: the task's size; context ``c``'s correct action is
            ``correct_actions[c]`` (a seeded draw, distinct actions while there are enough).
        n_hidden: Gaussian-receptive-field neurons encoding the context.
        n_per_action: neurons of each action population.
        trial_s: duration of one trial (a whole number of control ticks).
        tick_s, substeps: control tick and simulation steps per tick.
        learning_rate: η of the hidden → action projection.
        noise_sd_v: exploration noise, one value per action population and trial (volts).
        w_max_v: weight bound (weights in ``[−w_max_v, w_max_v]``).
        baseline_tau_trials: time constant of each context's running reward baseline.
        seed: seeds the task, the network and the exploration.
    """

    def __init__(self, n_contexts: int = 3, n_actions: int = 3, *, n_hidden: int = 60,
                 n_per_action: int = 10, trial_s: float = 0.05, tick_s: float = 1e-3,
                 substeps: int = 10, learning_rate: float = 0.05, noise_sd_v: float = 0.004,
                 w_max_v: float = 0.005, baseline_tau_trials: float = 10.0,
                 seed: int = 0) -> None:
        _check_int("n_contexts", n_contexts, 2)
        _check_int("n_actions", n_actions, 2)
        _check_int("n_hidden", n_hidden, n_contexts)
        _check_int("n_per_action", n_per_action, 1)
        _check_int("substeps", substeps, 1)
        for name, value in (("trial_s", trial_s), ("tick_s", tick_s), ("w_max_v", w_max_v),
                            ("baseline_tau_trials", baseline_tau_trials)):
            _check_pos(name, value)
        _check_pos("learning_rate", learning_rate, allow_zero=True)
        _check_pos("noise_sd_v", noise_sd_v, allow_zero=True)
        self.trial_ticks = round(trial_s / tick_s)
        if self.trial_ticks < 1 or abs(self.trial_ticks * tick_s - trial_s) > 1e-9:
            raise ValueError(f"trial_s must be a whole number of ticks ({tick_s} s), got {trial_s}")
        self.n_contexts, self.n_actions = int(n_contexts), int(n_actions)
        self.substeps = int(substeps)
        self.noise_sd_v = float(noise_sd_v)
        self._rng = np.random.default_rng(seed)
        order = self._rng.permutation(n_actions)
        self.correct_actions = np.array([order[c % n_actions] for c in range(n_contexts)])
        # contexts sit at evenly spaced points; receptive fields narrow enough to separate them
        self.context_values = np.linspace(-1.0, 1.0, n_contexts)
        spacing = 2.0 / (n_hidden - 1)
        self.encoder = GaussianPopulationEncoder(1, n_hidden, low=-1.0, high=1.0,
                                                 max_drive_v=2.0 * _THRESHOLD_V,
                                                 width=0.25 / (n_contexts - 1) / spacing)
        n_out = n_actions * n_per_action
        self.net = Network(dt_s=tick_s / substeps, seed=seed, tick_steps=substeps)
        self.net.add_lif("hidden", n_hidden, PARAMS, v_init=(PARAMS.v_reset, PARAMS.v_thresh))
        # action neurons rest just below threshold: silent without input, easy to perturb
        self.net.add_lif("action", n_out, PARAMS, bias_v=0.9 * _THRESHOLD_V,
                         v_init=(PARAMS.v_reset, PARAMS.v_thresh))
        self.net.connect("hidden", "action", AllToAll(), 0.0, name="policy")
        self.net.set_plasticity("policy", node_perturbation(
            learning_rate, tau_elig_s=4.0 * trial_s, w_min=-w_max_v, w_max=w_max_v))
        self.net.build()
        self._hidden_in = self.net.input_view("hidden")
        self._action_in = self.net.input_view("action")
        self._perturbation = self.net.perturbation_view("action")
        self._modulator = self.net.modulator_view("action")
        self._action = self.net.population("action").slice
        self._n_per_action = int(n_per_action)
        self.baselines = [RunningBaseline(baseline_tau_trials) for _ in range(n_contexts)]

    def trial(self, context: int, *, learn: bool = True, explore: bool = True) -> BanditTrial:
        """Run one trial in ``context``: act, get the reward and (with ``learn``) learn from it."""
        if not 0 <= context < self.n_contexts:
            raise ValueError(f"context must be in [0, {self.n_contexts - 1}], got {context}")
        net = self.net
        net.reset_state()  # a trial is an episode: membranes and eligibility start afresh
        self.encoder.encode(self.context_values[context:context + 1], out=self._hidden_in)
        noise = np.zeros(self.n_actions)
        if explore and self.noise_sd_v > 0:
            noise = self.noise_sd_v * self._rng.standard_normal(self.n_actions)
        self._action_in[:] = np.repeat(noise, self._n_per_action)
        self._perturbation[:] = self._action_in
        spikes = net.step(self.trial_ticks * self.substeps)[self._action]
        counts = spikes.reshape(self.n_actions, self._n_per_action).sum(axis=1)
        best = np.flatnonzero(counts == counts.max())
        action = int(best[self._rng.integers(best.size)])  # ties broken at random
        reward = 1.0 if action == self.correct_actions[context] else 0.0
        if learn:
            # one more tick applies M · eligibility; no new noise enters the eligibility
            self._perturbation[:] = 0.0
            self._action_in[:] = 0.0
            self._modulator[:] = self.baselines[context](reward)
            net.step(self.substeps)
            self._modulator[:] = 0.0
        return BanditTrial(context, action, reward, counts)

    def train(self, n_trials: int) -> np.ndarray:
        """``n_trials`` learning trials on random contexts; return the rewards."""
        contexts = self._rng.integers(self.n_contexts, size=n_trials)
        return np.array([self.trial(int(c)).reward for c in contexts])

    def accuracy(self, n_per_context: int = 20) -> float:
        """Fraction of correct greedy choices (no noise, no learning) over every context."""
        rewards = [self.trial(c, learn=False, explore=False).reward
                   for c in range(self.n_contexts) for _ in range(n_per_context)]
        return float(np.mean(rewards))


@dataclass(frozen=True)
class ReachingEpisode:
    """What one reaching episode did: per-tick positions and rewards, and the return."""

    target: float
    positions: np.ndarray
    rewards: np.ndarray

    @property
    def episode_return(self) -> float:
        """Sum of the rewards."""
        return float(self.rewards.sum())


class Reaching1D:
    """A point reaching a target on a line, driven by a spiking policy (see the module docstring).

    Args:
        n_hidden: Gaussian-receptive-field neurons encoding ``target − position`` over [−1, 1].
        n_per_side: neurons of each output population (up and down).
        episode_s: duration of an episode; the point starts at 0 and the target is drawn
            from ``±[min_target, 1]``.
        tick_s, substeps: control tick and simulation steps per tick.
        speed_per_hz: velocity per Hz of (up − down) mean firing rate.
        learning_rate: η of the hidden → output projection.
        noise_sd_v: exploration noise per output neuron (volts), redrawn every
            ``noise_hold_ticks`` ticks.
        tau_elig_s: eligibility time constant (bridges the lag from spikes to movement).
        w_max_v: weight bound.
        seed: seeds the targets, the network and the exploration.
    """

    def __init__(self, *, n_hidden: int = 40, n_per_side: int = 20, episode_s: float = 0.4,
                 min_target: float = 0.3, tick_s: float = 0.005, substeps: int = 50,
                 speed_per_hz: float = 0.3, learning_rate: float = 0.3,
                 noise_sd_v: float = 0.004, noise_hold_ticks: int = 4, tau_elig_s: float = 0.03,
                 w_max_v: float = 0.004, decoder_tau_s: float = 0.01, seed: int = 0) -> None:
        _check_int("n_hidden", n_hidden, 2)
        _check_int("n_per_side", n_per_side, 1)
        _check_int("substeps", substeps, 1)
        _check_int("noise_hold_ticks", noise_hold_ticks, 1)
        for name, value in (("episode_s", episode_s), ("tick_s", tick_s),
                            ("speed_per_hz", speed_per_hz), ("tau_elig_s", tau_elig_s),
                            ("w_max_v", w_max_v), ("decoder_tau_s", decoder_tau_s)):
            _check_pos(name, value)
        _check_pos("learning_rate", learning_rate, allow_zero=True)
        _check_pos("noise_sd_v", noise_sd_v, allow_zero=True)
        if not 0.0 <= min_target < 1.0:
            raise ValueError(f"min_target must be in [0, 1), got {min_target}")
        self.episode_ticks = max(round(episode_s / tick_s), 1)
        self.tick_s, self.substeps = float(tick_s), int(substeps)
        self.min_target = float(min_target)
        self.noise_sd_v, self.noise_hold_ticks = float(noise_sd_v), int(noise_hold_ticks)
        self._rng = np.random.default_rng(seed)
        self.encoder = GaussianPopulationEncoder(1, n_hidden, low=-1.0, high=1.0,
                                                 max_drive_v=2.0 * _THRESHOLD_V, width=1.5)
        self.net = Network(dt_s=tick_s / substeps, seed=seed, tick_steps=substeps)
        self.net.add_lif("hidden", n_hidden, PARAMS, v_init=(PARAMS.v_reset, PARAMS.v_thresh))
        # outputs fire at a moderate rate without input, so weights of either sign act
        self.net.add_lif("out", 2 * n_per_side, PARAMS, bias_v=1.1 * _THRESHOLD_V,
                         v_init=(PARAMS.v_reset, PARAMS.v_thresh))
        self.net.connect("hidden", "out", AllToAll(), 0.0, name="policy")
        self.net.set_plasticity("policy", node_perturbation(
            learning_rate, tau_elig_s=tau_elig_s, w_min=-w_max_v, w_max=w_max_v))
        self.net.build()
        sign = np.concatenate([np.ones(n_per_side), -np.ones(n_per_side)])
        self.decoder = RateDecoder((speed_per_hz / n_per_side * sign)[:, None],
                                   tau_s=decoder_tau_s, tick_s=tick_s)
        self._hidden_in = self.net.input_view("hidden")
        self._out_in = self.net.input_view("out")
        self._perturbation = self.net.perturbation_view("out")
        self._modulator = self.net.modulator_view("out")
        self._out = self.net.population("out").slice
        self.baseline = RunningBaseline(tau_ticks=200.0)

    def draw_target(self) -> float:
        """A target in ``±[min_target, 1]`` from the task's generator."""
        return float(self._rng.choice([-1.0, 1.0]) * self._rng.uniform(self.min_target, 1.0))

    def episode(self, target: float | None = None, *, learn: bool = True,
                explore: bool = True) -> ReachingEpisode:
        """Run one episode toward ``target`` (drawn when ``None``); learn from its rewards."""
        target = self.draw_target() if target is None else float(target)
        net = self.net
        net.reset_state()
        self.decoder.reset()
        n = self.episode_ticks
        positions, rewards = np.empty(n), np.empty(n)
        position = 0.0
        previous = -abs(target - position)
        x = np.empty(1)
        for k in range(n):
            if explore and self.noise_sd_v > 0 and k % self.noise_hold_ticks == 0:
                self._out_in[:] = self.noise_sd_v * self._rng.standard_normal(self._out_in.size)
                self._perturbation[:] = self._out_in
            x[0] = min(max(target - position, -1.0), 1.0)
            self.encoder.encode(x, out=self._hidden_in)
            counts = net.step(self.substeps)
            velocity = float(self.decoder.update(counts[self._out])[0])
            position += velocity * self.tick_s
            reward = -abs(target - position)
            positions[k], rewards[k] = position, reward
            # the reward of standing still is the state-dependent baseline: M = progress made
            self._modulator[:] = self.baseline(reward - previous) if learn else 0.0
            previous = reward
        self._modulator[:] = 0.0
        self._out_in[:] = 0.0
        self._perturbation[:] = 0.0
        return ReachingEpisode(target, positions, rewards)

    def train(self, n_episodes: int) -> np.ndarray:
        """``n_episodes`` learning episodes on drawn targets; return their returns."""
        return np.array([self.episode().episode_return for _ in range(n_episodes)])

    def evaluate(self, targets: np.ndarray | None = None) -> float:
        """Mean return over ``targets`` (default ±0.4, ±0.7, ±1) without noise or learning."""
        targets = np.array([-1.0, -0.7, -0.4, 0.4, 0.7, 1.0]) if targets is None else targets
        return float(np.mean([self.episode(float(g), learn=False, explore=False).episode_return
                              for g in targets]))
