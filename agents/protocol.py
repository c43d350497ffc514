"""The :class:`Agent` protocol: what training, evaluation, the energy report, recording and
every benchmark use of a controller (beside :class:`~neurofit.agents.reflex.Reflex`, what an
error-mode agent uses of its feedback law).

Every agent of the package conforms: :class:`~neurofit.agents.neurofit_agent.NeuroFitAgent`,
the baselines of :mod:`neurofit.agents.baselines`,
:class:`~neurofit.agents.mlp_feedback.FeedbackMLPAgent` and
:class:`~neurofit.agents.rollout.FunctionAgent`; :func:`~neurofit.agents.rollout.run_episode`
drives any of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from neurofit.agents.usage import Usage

__all__ = ["Agent"]


@runtime_checkable
class Agent(Protocol):
    """A controller that acts on observations and may learn from what follows."""

    #: whether :meth:`observe` changes the agent (False: frozen, e.g. for evaluation)
    learning: bool

    def reset(self, info: dict[str, Any] | None = None) -> None:
        """Start an episode (call after every ``env.reset``, with the ``info`` it returned:
        an error-mode agent's first tick uses its ``info["error"]``); learned state is kept.
        ``info`` is optional, so ``reset()`` works too (the first tick then has no error)."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The action for ``obs`` (one control tick)."""

    def observe(self, obs: np.ndarray, reward: float, terminated: bool,
                info: dict[str, Any]) -> None:
        """Feed back the outcome of the last action (learns if :attr:`learning`)."""

    def save(self, path: str | Path) -> None:
        """Write what the agent needs to continue exactly (atomically)."""

    def load_state(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote."""

    def usage(self) -> Usage:
        """The operations performed since the agent was built (what the energy report
        prices)."""

    def describe(self) -> dict[str, Any]:
        """The controller's size and structure, with a one-line ``"text"`` for tables."""
