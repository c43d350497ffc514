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
"""

from __future__ import annotations

import math

import numpy as np

from neurofit.neuromorphic.coding import GaussianPopulationEncoder

#: Gaussian fields per input dimension of the critic's tiling, and their width in spacings.
CRITIC_FIELDS = 11
CRITIC_WIDTH = 1.0


class OutputExploration:
    """Stationary OU noise of standard deviation ``sd`` and correlation time ``tau_s``.

    Args:
        n_dims: dimensions of the decoded output.
        sd: stationary standard deviation, in decoded units.
        tau_s: correlation time; ``rho = exp(-dt_s / tau_s)`` per control tick.
        dt_s: the control period.
        rng: the agent's noise generator (explicit, for determinism).
    """

    def __init__(self, n_dims: int, sd: float, tau_s: float, dt_s: float,
                 rng: np.random.Generator) -> None:
        self.sd = float(sd)
        self.rho = math.exp(-dt_s / tau_s)
        self._innovation = math.sqrt(1.0 - self.rho * self.rho)
        self._rng = rng
        self.state = np.zeros(n_dims)
        self.started = False

    def reset(self) -> None:
        """Start an episode: the next value is a fresh draw from the stationary distribution.

        Nothing is drawn until :meth:`next` is called, so episodes run without exploration
        (evaluation) leave the generator where it was.
        """
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
        return self.sd * self.state


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
