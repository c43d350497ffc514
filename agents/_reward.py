"""Reward mode's two learning signals besides the spikes: exploration and the TD error.

- :class:`OutputExploration`: Ornstein–Uhlenbeck noise in the *decoded* output space, injected
  into the output population through its NEF encoders. Every output neuron is perturbed (node
  perturbation; Fiete & Seung 2006), but along the few directions that move the action, which
  keeps the variance of the gradient estimate low (it grows with the number of independent
  perturbations; Werfel, Xie & Seung 2005). The noise is correlated over a few control ticks, so
  a perturbation lasts long enough to change where the plant goes (temporally correlated
  exploration, as OU noise in DDPG); it also makes the compiled rule's pairing of the TD error of
  one transition with the eligibility of the next tick (see :mod:`neurofit.agents.neurofit_agent`)
  a correlated, not a random, pairing.
- :class:`TDLambdaCritic`: a linear value function over a coarse Gaussian tiling of the
  observation, trained by TD(λ) with accumulating traces; its TD error is the third factor.
- :class:`ObservationNormaliser` and :class:`RunningScale`: what makes one configuration fit
  every task. Features are the observation in units of its own running spread, so the
  network's receptive fields and the critic's tiling cover what the task's observations
  actually do; the third factor is the TD error in units of the reward's running RMS, so the
  learning rate does not depend on the task's reward scale. Nothing is looked up by env name.

Exploration anneals once the policy is good: :class:`OutputExploration` scales its noise by
how far the recent training returns are from the best one seen, relative to the range of
returns seen (:meth:`OutputExploration.gain`), with a floor so that learning never stops.
"""

from __future__ import annotations

import math

import numpy as np

from neurofit.neuromorphic.coding import GaussianPopulationEncoder

#: Gaussian fields per input dimension of the critic's tiling, and their width in spacings.
CRITIC_FIELDS = 11
CRITIC_WIDTH = 1.0
#: Weight of each tick's reward in its running RMS (:class:`RunningScale`): about the last
#: thousand ticks, tens of episodes early in training.
REWARD_SCALE_RATE = 1e-3


class OutputExploration:
    """OU noise of standard deviation ``sd × gain`` and correlation time ``tau_s``.

    The gain anneals the noise once the policy is good: with ``R̄`` the running mean of the
    training episodes' returns (each episode weighing ``return_rate``), ``R_best`` and
    ``R_worst`` the best and worst single returns seen,
    ``gain = clip((R_best − R̄) / (R_best − R_worst), min_gain, 1)`` — full noise while returns
    are far below the best the agent has shown, ``min_gain`` once nearly every episode earns
    it. Returns come in through :meth:`add_reward` and close at :meth:`reset`; an episode in
    which nothing was added (a frozen evaluation) changes nothing.

    Args:
        n_dims: dimensions of the decoded output.
        sd: stationary standard deviation at full gain, in decoded units.
        tau_s: correlation time; ``rho = exp(-dt_s / tau_s)`` per control tick.
        dt_s: the control period.
        rng: the agent's noise generator (explicit, for determinism).
        min_gain: the floor of the gain, in (0, 1] (1: no annealing).
        return_rate: weight of the newest episode in the running mean return, in (0, 1].
    """

    def __init__(self, n_dims: int, sd: float, tau_s: float, dt_s: float,
                 rng: np.random.Generator, min_gain: float = 1.0,
                 return_rate: float = 0.1) -> None:
        self.sd = float(sd)
        self.rho = math.exp(-dt_s / tau_s)
        self._innovation = math.sqrt(1.0 - self.rho * self.rho)
        self._rng = rng
        self.min_gain = float(min_gain)
        self.return_rate = float(return_rate)
        self.state = np.zeros(n_dims)
        self.started = False
        #: episode return so far, episodes closed, running mean, best and worst return
        self.returns = np.array([0.0, 0.0, 0.0, -np.inf, np.inf])
        self._open = False  # whether add_reward was called since the last reset

    def add_reward(self, reward: float) -> None:
        """Add one training step's reward to the current episode's return."""
        self.returns[0] += reward
        self._open = True

    def gain(self) -> float:
        """The noise's current scale factor (class docstring); 1 before two episodes."""
        _, n, mean, best, worst = self.returns
        if n < 2 or best <= worst:
            return 1.0
        return min(1.0, max(self.min_gain, (best - mean) / (best - worst)))

    def reset(self) -> None:
        """Start an episode: close the last one's return; the next value is a fresh draw from
        the stationary distribution.

        Nothing is drawn until :meth:`next` is called, so episodes run without exploration
        (evaluation) leave the generator where it was.
        """
        if self._open:
            r = self.returns
            ret = r[0]
            r[1] += 1
            r[2] = ret if r[1] == 1 else r[2] + self.return_rate * (ret - r[2])
            r[3], r[4] = max(r[3], ret), min(r[4], ret)
            r[0] = 0.0
            self._open = False
        self.started = False

    def next(self) -> np.ndarray:
        """Advance one control tick; return the noise (a new array, in decoded units)."""
        draw = self._rng.normal(0.0, 1.0, self.state.size)
        if self.started:
            self.state *= self.rho
            self.state += self._innovation * draw
        else:
            self.state[:] = draw
            self.started = True
        return (self.sd * self.gain()) * self.state

    def get_state(self) -> dict[str, np.ndarray]:
        """What :meth:`set_state` restores (the noise and the return statistics)."""
        return {"state": self.state.copy(), "started": np.array(self.started),
                "returns": self.returns.copy(), "open": np.array(self._open)}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.state[:] = state["state"]
        self.started = bool(state["started"])
        self.returns[:] = state["returns"]
        self._open = bool(state["open"])


class ObservationNormaliser:
    """Features in units of the observation's own running spread:
    ``clip((x − mean) / (spread × std), −limit, limit)``, per dimension.

    Mean and variance are Welford's running statistics of every observation given to
    :meth:`apply` with ``update=True`` (the agent's training steps), so they settle as data
    accumulates and the features stop drifting under the learned weights. A dimension that has
    not varied yet (std 0) maps to 0.

    Args:
        n_dims: dimensions of the observation.
        spread: how many standard deviations reach a feature of 1 (the encoders tile about
            [-1, 1]).
        limit: features are clipped to ``±limit``.
    """

    def __init__(self, n_dims: int, spread: float = 3.0, limit: float = 1.5) -> None:
        self.spread = float(spread)
        self.limit = float(limit)
        self.count = 0
        self.mean = np.zeros(n_dims)
        self.m2 = np.zeros(n_dims)
        self._inv = np.zeros(n_dims)  # 1 / (spread × std), 0 where std is 0

    def apply(self, x: np.ndarray, update: bool) -> np.ndarray:
        """Normalise ``x`` in place (after counting it when ``update``) and return it."""
        if update:
            self.count += 1
            d = x - self.mean
            self.mean += d / self.count
            self.m2 += d * (x - self.mean)
            std = np.sqrt(self.m2 / self.count)
            np.divide(1.0, self.spread * std, out=self._inv, where=std > 1e-12)
            self._inv[std <= 1e-12] = 0.0
        x -= self.mean
        x *= self._inv
        np.clip(x, -self.limit, self.limit, out=x)
        return x

    def get_state(self) -> dict[str, np.ndarray]:
        """What :meth:`set_state` restores."""
        return {"count": np.array(self.count), "mean": self.mean.copy(), "m2": self.m2.copy(),
                "inv": self._inv.copy()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        self.count = int(state["count"])
        self.mean[:] = state["mean"]
        self.m2[:] = state["m2"]
        self._inv[:] = state["inv"]


class RunningScale:
    """The running RMS of a signal, ``sqrt(mean of x²)``, the mean being an exponential
    average (weight ``rate`` per sample) corrected for its start at 0, as Adam's.

    Args:
        rate: weight of the newest sample, in (0, 1].
    """

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self.state = np.zeros(2)  # [biased mean of x², (1 − rate)^samples]
        self.state[1] = 1.0

    def update(self, x: float) -> float:
        """Count ``x``; return the RMS so far (0 while every sample was 0)."""
        s = self.state
        s[0] += self.rate * (x * x - s[0])
        s[1] *= 1.0 - self.rate
        return math.sqrt(s[0] / (1.0 - s[1]))


class TDLambdaCritic:
    """``V(s) = wᵀφ(s)`` on a Gaussian tiling of the scaled observation, trained by TD(λ).

    The step is normalised by ``‖φ‖²`` of the tiling (about constant over the tiled range), so
    ``learning_rate`` is the fraction of the TD error corrected at the current state.

    Args:
        n_inputs: dimensions of the scaled observation (about [-1, 1] each).
        learning_rate: normalised step size, > 0.
        gamma: discount per control tick.
        lam: trace decay λ (0: TD(0)).
    """

    def __init__(self, n_inputs: int, learning_rate: float, gamma: float, lam: float) -> None:
        self._encoder = GaussianPopulationEncoder(n_inputs, CRITIC_FIELDS, low=-1.1, high=1.1,
                                                  max_drive_v=1.0, width=CRITIC_WIDTH)
        n = self._encoder.n_neurons + 1
        self.weights = np.zeros(n)
        self.trace = np.zeros(n)
        self.gamma = float(gamma)
        self._decay = float(gamma) * float(lam)
        phi0 = self.features(np.zeros(n_inputs), np.empty(n))
        self._step = float(learning_rate) / float(phi0 @ phi0)

    @property
    def n_features(self) -> int:
        return self.weights.size

    def features(self, x: np.ndarray, out: np.ndarray) -> np.ndarray:
        """φ(x) into ``out``: the tiling of ``x`` clipped to [-1.2, 1.2], then a bias of 1."""
        self._encoder.encode(np.clip(x, -1.2, 1.2), out=out[:-1])
        out[-1] = 1.0
        return out

    def reset(self) -> None:
        """Start an episode: clear the trace."""
        self.trace[:] = 0.0

    def td_error(self, phi: np.ndarray, reward: float, phi_next: np.ndarray,
                 terminal: bool) -> float:
        """Return ``δ = r + γ V(s') − V(s)`` (no bootstrap when ``terminal``) and learn."""
        target = reward if terminal else reward + self.gamma * float(self.weights @ phi_next)
        delta = target - float(self.weights @ phi)
        self.trace *= self._decay
        self.trace += phi
        self.weights += (self._step * delta) * self.trace
        return delta
