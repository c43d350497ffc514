"""Baseline agents with the NeuroFit agent's interface, and :func:`make_agent` to build any of them.

Every agent here has what the training loop and :func:`~neurofit.agents.training.evaluate`
use of :class:`~neurofit.agents.neurofit_agent.NeuroFitAgent`: ``reset()``, ``act(obs)``,
``observe(obs, reward, terminated, info)``, a ``learning`` attribute, ``save(path)`` and
``load_state(path)``. None of them learns, so ``learning`` is always False and ``save`` writes
only what changes while the agent runs (the random agent's generator) or nothing at all.

- :class:`RandomAgent`: uniform actions from the env's action space, from its own seeded
  generator (never the env's);
- :class:`PIDAgent`: the env's reference controller — the quadrotor's cascaded
  :class:`~neurofit.agents.pid.QuadPID`, the arm's operational-space
  :class:`~neurofit.agents.arm_pd.ArmPDController`, or for any other env that reports
  ``info["error"]`` the :class:`~neurofit.agents.reflex.FeedbackReflex` of its feedback
  declaration — with the integral action on (``"pid"``) or off (``"pd"``: the reflex alone,
  what error-mode NeuroFit builds on);
- :class:`MLPAgent`: a :class:`~neurofit.agents.mlp.NumpyMLP` policy (e.g. exported from
  Stable-Baselines3), charged per inference on a DNN hardware profile.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from neurofit.agents.arm_pd import ArmPDController
from neurofit.agents.mlp import NumpyMLP
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.pid import QuadPID
from neurofit.agents.reflex import FeedbackReflex
from neurofit.agents.usage import Usage
from neurofit.envs.arm_reach import ArmReachEnv
from neurofit.envs.error_feedback import find_error_feedback
from neurofit.envs.quadrotor import QuadrotorEnv
from neurofit.neuromorphic._atomic import write_npz
from neurofit.neuromorphic._checks import load_npz
from neurofit.neuromorphic.energy import EnergyMeter

__all__ = [
    "AGENT_KINDS",
    "MLPAgent",
    "PIDAgent",
    "RandomAgent",
    "has_error_feedback",
    "make_agent",
]

#: The kinds :func:`make_agent` builds.
AGENT_KINDS: tuple[str, ...] = ("neurofit", "pd", "pid", "random", "mlp")


class RandomAgent:
    """Uniform random actions from ``env.action_space``, drawn from the agent's own generator.

    Args:
        env: the env (only its action space is used).
        seed: seeds the generator; :meth:`save` / :meth:`load_state` keep its state, so a
            resumed run draws the same actions as an uninterrupted one.
    """

    learning = False

    def __init__(self, env: gym.Env[Any, Any], seed: int = 0) -> None:
        space = env.action_space
        if not isinstance(space, gym.spaces.Box):
            raise ValueError(f"RandomAgent needs a Box action space, got {space}")
        self._low = np.asarray(space.low, dtype=np.float64)
        self._high = np.asarray(space.high, dtype=np.float64)
        if not (np.all(np.isfinite(self._low)) and np.all(np.isfinite(self._high))):
            raise ValueError("RandomAgent needs finite action bounds")
        self._dtype = space.dtype
        self._rng = np.random.default_rng(seed)

    def reset(self, info: dict[str, Any] | None = None) -> None:
        """Nothing to restart (the generator runs on across episodes)."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        return self._rng.uniform(self._low, self._high).astype(self._dtype)

    def observe(self, obs: np.ndarray, reward: float, terminated: bool,
                info: dict[str, Any]) -> None:
        """Random actions learn nothing."""

    def save(self, path: str | Path) -> None:
        """Write the generator's state to ``path`` (.npz), atomically."""
        state = json.dumps(self._rng.bit_generator.state).encode()
        write_npz(path, {"rng": np.frombuffer(state, dtype=np.uint8)})

    def load_state(self, path: str | Path) -> None:
        """Restore the generator's state written by :meth:`save`."""
        arrays = load_npz(path)  # a clear CorruptFileError (a ValueError) if it is damaged
        if "rng" not in arrays:
            raise ValueError(f"{path} is not a random agent's checkpoint (it has no rng state)")
        self._rng.bit_generator.state = json.loads(bytes(arrays["rng"]).decode())

    def usage(self) -> Usage:
        """No network: nothing to price (a draw per tick on the flight MCU)."""
        return Usage("reflex")

    def describe(self) -> dict[str, Any]:
        return {"text": "RandomAgent (no network)"}


class PIDAgent:
    """The env's reference feedback controller, as an agent.

    Args:
        env: a NeuroFit quadrotor (``QuadHover*``, ``QuadTrack*``) or arm (``ArmReach*``) env,
            or an env wrapped in :class:`~neurofit.envs.error_feedback.ErrorFeedback`
            (``make_with_error``: its :class:`~neurofit.agents.reflex.FeedbackReflex`).
        integral: integral action on (PID, the tuned reference) or off (the PD reflex that
            error-mode NeuroFit builds on).

    Raises:
        ValueError: the env is none of these, or (``integral``) declares no integral gains.
    """

    learning = False

    def __init__(self, env: gym.Env[Any, Any], integral: bool = True) -> None:
        base = env.unwrapped
        self.integral = bool(integral)
        self.controller: QuadPID | ArmPDController | None = None
        self.reflex: FeedbackReflex | None = None
        if isinstance(base, QuadrotorEnv):
            self.controller = QuadPID.from_env(env, integral=self.integral)
        elif isinstance(base, ArmReachEnv):
            self.controller = ArmPDController.from_env(env, integral=self.integral)
        elif find_error_feedback(env) is not None:
            self.reflex = FeedbackReflex.from_env(env, integral=self.integral)
            self._zero = np.zeros(self.reflex.n_correction)
        else:
            raise ValueError(
                f"no PID/PD controller for {type(base).__name__}; the pd and pid baselines "
                "need a NeuroFit quadrotor or arm env (neurofit/QuadHover-v0, "
                "neurofit/ArmReach-v0, ...) or an env that reports info['error'] "
                "(make_with_error)"
            )

    def reset(self, info: dict[str, Any] | None = None) -> None:
        """Clear the integrators (call at every env reset, with its ``info``: a feedback
        reflex acts on its ``info["error"]`` at the first tick)."""
        if self.reflex is not None:
            self.reflex.reset()
            if info is not None:
                self.reflex.observe(info)
        else:
            self.controller.reset()  # type: ignore[union-attr]

    def act(self, obs: np.ndarray) -> np.ndarray:
        if self.reflex is not None:
            return self.reflex.act(obs, self._zero)
        return self.controller.act(np.asarray(obs, dtype=np.float64))  # type: ignore[union-attr]

    def observe(self, obs: np.ndarray, reward: float, terminated: bool,
                info: dict[str, Any]) -> None:
        """A fixed controller learns nothing; a feedback reflex takes the step's error."""
        if self.reflex is not None:
            self.reflex.observe(info)

    def save(self, path: str | Path) -> None:
        """Nothing to save: the controller's state restarts every episode."""

    def load_state(self, path: str | Path) -> None:
        """Nothing to restore."""

    def usage(self) -> Usage:
        """No network: the law runs on the flight MCU, whose power the mission holds."""
        return Usage("reflex")

    def describe(self) -> dict[str, Any]:
        return {"text": f"{'PID' if self.integral else 'PD reflex'} on the flight MCU"}


class MLPAgent:
    """A :class:`~neurofit.agents.mlp.NumpyMLP` policy, priced per inference.

    Args:
        mlp: the policy network (``obs → action``).
        energy_profile: DNN hardware profile its inferences are charged on.
        control_dt_s: control period, for the profile's static power.
    """

    learning = False

    def __init__(self, mlp: NumpyMLP, *, energy_profile: str = "mcu-cortex-m4",
                 control_dt_s: float = 0.01) -> None:
        self.mlp = mlp
        self.energy_profile = energy_profile
        self.control_dt_s = float(control_dt_s)
        self.cost = mlp.count_ops()
        EnergyMeter(energy_profile, control_dt_s).charge_inference(self.cost)  # validates
        self.ticks = 0

    def reset(self, info: dict[str, Any] | None = None) -> None:
        """Nothing to restart."""

    def act(self, obs: np.ndarray) -> np.ndarray:
        self.ticks += 1
        return np.asarray(self.mlp(obs), dtype=np.float32)

    def observe(self, obs: np.ndarray, reward: float, terminated: bool,
                info: dict[str, Any]) -> None:
        """A fixed policy learns nothing."""

    def energy(self) -> EnergyMeter:
        """A meter charged with every inference so far."""
        return EnergyMeter.from_inferences(self.energy_profile, self.control_dt_s, self.cost,
                                           self.ticks)

    def save(self, path: str | Path) -> None:
        """Nothing to save: the network is fixed (save it with ``NumpyMLP.save``)."""

    def load_state(self, path: str | Path) -> None:
        """Nothing to restore."""

    def usage(self) -> Usage:
        """One forward pass per tick."""
        return Usage("dnn", self.ticks, inference=self.cost * self.ticks)

    def describe(self) -> dict[str, Any]:
        return {"layer_sizes": list(self.mlp.layer_sizes),
                "text": "MLP " + "-".join(map(str, self.mlp.layer_sizes))}


def has_error_feedback(env: gym.Env[Any, Any]) -> bool:
    """Whether ``env`` reports the task error ``info["error"]`` (NeuroFit envs and envs
    wrapped in :class:`~neurofit.envs.error_feedback.ErrorFeedback`)."""
    return (isinstance(env.unwrapped, (QuadrotorEnv, ArmReachEnv))
            or find_error_feedback(env) is not None)


def make_agent(kind: str, env: gym.Env[Any, Any], config: AgentConfig | None = None, *,
               mlp: NumpyMLP | str | Path | None = None) -> Any:
    """An agent of ``kind`` for ``env``.

    Args:
        kind: ``"neurofit"``, ``"pd"`` (reference controller, integral off), ``"pid"``
            (integral on), ``"random"`` or ``"mlp"``.
        env: the env the agent will drive.
        config: the NeuroFit agent's configuration (its ``seed`` also seeds the random agent).
        mlp: the network of the ``"mlp"`` kind, or the path of a ``NumpyMLP.save`` file.

    Raises:
        ValueError: an unknown kind, a config mode the env's feedback cannot serve (error mode
            on an env without ``info["error"]``), an env the baseline has no controller for,
            or ``"mlp"`` without a network.
    """
    config = config or AgentConfig()
    if kind not in AGENT_KINDS:
        raise ValueError(f"unknown agent kind {kind!r}; choose one of {', '.join(AGENT_KINDS)}")
    if kind == "neurofit":
        if config.mode == "error" and not has_error_feedback(env):
            raise ValueError(
                f"error mode needs the task error info['error'], which "
                f"{_env_name(env)} does not report; use reward mode (--mode reward), or wrap "
                "the env with neurofit.envs.error_feedback.ErrorFeedback (make_with_error)"
            )
        return NeuroFitAgent.from_env(env, config)
    if kind in ("pd", "pid"):
        return PIDAgent(env, integral=kind == "pid")
    if kind == "random":
        return RandomAgent(env, seed=config.seed)
    if mlp is None:
        raise ValueError("the mlp agent needs a network: pass mlp=NumpyMLP(...) or a .npz path")
    net = mlp if isinstance(mlp, NumpyMLP) else NumpyMLP.load(mlp)
    return MLPAgent(net, control_dt_s=float(getattr(env.unwrapped, "dt", 0.01)))


def _env_name(env: gym.Env[Any, Any]) -> str:
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else type(env.unwrapped).__name__
