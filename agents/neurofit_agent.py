"""The NeuroFit agent: a spiking controller that learns online from error or reward.

Per control tick (``act``), one compiled network call: the encoder turns the observation into
input currents, the network advances ``substeps`` steps, the decoder reads the output, and the
plastic projection learns from the third factor set by the previous ``observe``. The operation
counters are read once per tick and charged on a hardware profile.

- **error mode** (adaptive motor learning): ``action = reflex(obs) + learned correction``; the
  reflex's own feedback command is the teaching signal (feedback-error learning, PES), so the
  network takes over what the reflex cannot — a payload, wind, a weak motor.
- **reward mode**: the network is the policy; it learns from reward alone by node
  perturbation, modulated by the TD error of a linear critic on the hidden rates.

Typical loop::

    agent = NeuroFitAgent.from_env(env, AgentConfig(mode="error"))
    obs, info = env.reset(seed=0)
    agent.reset()
    while not done:
        action = agent.act(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        agent.observe(obs, reward, terminated, info)
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neurofit.agents.reflex import ArmReflex, QuadReflex, Reflex, make_reflex
from neurofit.agents.spiking_policy import PolicyShape, SpikingPolicy
from neurofit.neuromorphic.analog import AnalogProfile
from neurofit.neuromorphic.energy import EnergyMeter
from neurofit.neuromorphic.plasticity import LinearCritic, ThreeFactor, error_modulator

MODES = ("error", "reward")


@dataclass(frozen=True)
class AgentConfig:
    """Everything that defines a NeuroFit agent (saved with every run).

    Attributes:
        mode: ``"error"`` (reflex + learned correction, needs ``info["error"]``) or
            ``"reward"`` (the network is the policy, learns from reward alone).
        n_per_input: hidden neurons per input dimension (Gaussian receptive fields).
        n_output_neurons: neurons of the output population.
        substeps: network steps per control tick (one compiled call).
        dt_s: network step.
        tau_mem_s, tau_syn_s: membrane and synaptic time constants of the network's neurons.
        learning_rate: η of the plastic projection.
        weight_bound_v: learned weights stay in ``[-bound, bound]`` volts.
        connection_p: connection probability of the plastic hidden → output projection (1 =
            all to all); fewer synapses cost fewer synaptic events and weight updates.
        correction_limit: error mode: the correction is clipped to this fraction of the
            reflex's correction scale — a guard that keeps learning from running away.
        exploration_v: reward mode: sd of the node-perturbation noise (volts of drive).
        tau_elig_s: reward mode: eligibility time constant.
        critic_learning_rate, gamma: reward mode: the TD(0) critic.
        action_scale: reward mode: action units per unit of decoded output.
        weight_bits: stored precision of learned weights (``None``: float).
        analog: the chip's analog non-idealities (fields of :class:`AnalogProfile`).
        energy_profile: hardware profile charged per tick (``neurofit energy`` compares more).
        seed: seeds the network, the encoders and the exploration noise.
    """

    mode: Literal["error", "reward"] = "error"
    n_per_input: int = 100
    n_output_neurons: int = 200
    substeps: int = 10
    dt_s: float = 1e-4
    tau_mem_s: float = 0.010
    tau_syn_s: float = 0.005
    learning_rate: float = 4e-3
    weight_bound_v: float = 0.01
    connection_p: float = 0.5
    correction_limit: float = 1.0
    exploration_v: float = 0.004
    tau_elig_s: float = 0.05
    critic_learning_rate: float = 0.01
    gamma: float = 0.98
    action_scale: float = 1.0
    weight_bits: int | None = None
    analog: dict[str, Any] = field(default_factory=dict)
    energy_profile: str = "loihi"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        for name in ("n_per_input", "n_output_neurons", "substeps"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("dt_s", "tau_mem_s", "tau_syn_s", "weight_bound_v", "correction_limit",
                     "tau_elig_s", "action_scale"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        for name in ("learning_rate", "exploration_v", "critic_learning_rate"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not 0.0 < self.connection_p <= 1.0:
            raise ValueError(f"connection_p must be in (0, 1], got {self.connection_p!r}")
        if not 0.0 <= self.gamma <= 1.0:
            raise ValueError(f"gamma must be in [0, 1], got {self.gamma!r}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        AnalogProfile(**self.analog)  # validates the analog fields

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AgentConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown agent config field(s) {sorted(unknown)}; "
                             f"known fields: {sorted(known)}")
        return cls(**data)


def _env_features(env: Any, mode: str) -> tuple[str, np.ndarray]:
    """Which signal the network sees, and the scale that brings it to about [-1, 1]."""
    name = type(env.unwrapped).__name__.lower()
    if mode == "error" and "quad" in name:
        return "error", np.array([0.5, 0.5, 0.5, 1.0, 1.0, 1.0])  # m, m/s
    if mode == "error" and "arm" in name:
        return "arm", np.array([np.pi] * 4 + [0.1] * 3)  # joint angles, Cartesian error
    high = np.asarray(env.observation_space.high, dtype=np.float64)
    scale = np.where(np.isfinite(high) & (high < 1e6), high, 1.0)
    if "invertedpendulum" in name:
        scale = np.array([1.0, 0.2, 1.0, 1.0])  # cart m, pole rad, velocities
    return "obs", scale


class NeuroFitAgent:
    """A spiking controller for one env (see the module docstring).

    Args:
        config: the agent's configuration.
        n_inputs: size of the feature vector the network encodes.
        n_outputs: size of the decoded output (correction or action).
        reflex: the feedback law of error mode (``None`` in reward mode).
        feature_kind, feature_scale: how observations become features (see
            :meth:`from_env`).
        control_dt_s: the env's control period (for the energy meter's static power).
    """

    def __init__(self, config: AgentConfig, n_inputs: int, n_outputs: int, *,
                 reflex: Reflex | None = None, feature_kind: str = "obs",
                 feature_scale: np.ndarray | None = None, control_dt_s: float = 0.01) -> None:
        if config.mode == "error" and reflex is None:
            raise ValueError("error mode needs a reflex (a feedback controller)")
        self.config = config
        self.reflex = reflex
        self._feature_kind = feature_kind
        self._inv_scale = 1.0 / (np.ones(n_inputs) if feature_scale is None
                                 else np.asarray(feature_scale, dtype=np.float64))
        if config.mode == "error":
            rule = ThreeFactor("pre", config.learning_rate, w_min=-config.weight_bound_v,
                               w_max=config.weight_bound_v, weight_bits=config.weight_bits,
                               stochastic_rounding=config.weight_bits is not None)
        else:
            rule = ThreeFactor("perturbation", config.learning_rate,
                               tau_elig_s=config.tau_elig_s, w_min=-config.weight_bound_v,
                               w_max=config.weight_bound_v, weight_bits=config.weight_bits,
                               stochastic_rounding=config.weight_bits is not None)
        shape = PolicyShape(n_inputs, n_outputs, n_per_input=config.n_per_input,
                            n_output_neurons=config.n_output_neurons,
                            substeps=config.substeps, dt_s=config.dt_s,
                            weight_bound_v=config.weight_bound_v,
                            connection_p=config.connection_p, tau_mem_s=config.tau_mem_s,
                            tau_syn_s=config.tau_syn_s)
        self.policy = SpikingPolicy(shape, rule, analog=AnalogProfile(**config.analog),
                                    seed=config.seed)
        self.meter = EnergyMeter(config.energy_profile, control_dt_s)
        self.learning = True
        self._features = np.zeros(n_inputs)
        self._noise_rng = np.random.default_rng(config.seed + 1)
        self._correction = np.zeros(n_outputs)
        self._action = np.zeros(n_outputs, dtype=np.float32)
        if config.mode == "reward":
            self.critic = LinearCritic(self.policy.encoder.n_neurons + 1,
                                       config.critic_learning_rate, config.gamma)
            self._phi = np.zeros(self.policy.encoder.n_neurons + 1)
            self._phi_next = np.zeros_like(self._phi)
            self._gain = self.policy.out_enc.gain
            self.policy.track_hidden_rates = True
        self.last_energy_j = 0.0
        self.ticks = 0
        self._last_error: np.ndarray | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_env(cls, env: Any, config: AgentConfig | None = None,
                 **reflex_kwargs: Any) -> NeuroFitAgent:
        """An agent sized for ``env``: its reflex, features and output from the env's type."""
        config = config or AgentConfig()
        base = env.unwrapped
        kind, scale = _env_features(env, config.mode)
        dt = float(getattr(base, "dt", 0.01))
        if config.mode == "error":
            reflex = make_reflex(env, **reflex_kwargs)
            return cls(config, scale.size, reflex.n_correction, reflex=reflex,
                       feature_kind=kind, feature_scale=scale, control_dt_s=dt)
        n_act = int(np.prod(env.action_space.shape))
        return cls(config, scale.size, n_act, feature_kind=kind, feature_scale=scale,
                   control_dt_s=dt)

    # ------------------------------------------------------------------ acting
    def reset(self) -> None:
        """Start an episode: network state, filters and reflex restart; weights are kept."""
        self.policy.reset_state()
        if self.reflex is not None:
            self.reflex.reset()
        self.policy.modulator[:] = 0.0
        self._last_error = None

    def _encode(self, obs: np.ndarray, error: np.ndarray | None) -> np.ndarray:
        f = self._features
        if self._feature_kind == "error":
            f[:] = (obs[[0, 1, 2, 12, 13, 14]] if error is None else error) * self._inv_scale
        elif self._feature_kind == "arm":
            f[:4] = obs[0:4]
            f[4:7] = obs[8:11]
            f *= self._inv_scale
        else:
            np.multiply(obs, self._inv_scale, out=f)
        return f

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The action for ``obs``: one compiled network tick (plus the reflex in error mode)."""
        obs = np.asarray(obs, dtype=np.float64)
        cfg = self.config
        if cfg.mode == "reward" and self.learning and cfg.exploration_v > 0:
            noise = self._noise_rng.normal(0.0, cfg.exploration_v, self.policy.perturbation.size)
            self.policy.perturbation[:] = noise
            self.policy.output_input[:] = noise / self._gain
        elif cfg.mode == "reward":
            self.policy.perturbation[:] = 0.0
            self.policy.output_input[:] = 0.0
        y = self.policy.tick(self._encode(obs, self._last_error))
        self.ticks += 1
        if cfg.mode == "error":
            limit = cfg.correction_limit
            np.clip(y, -limit, limit, out=self._correction)
            self._correction *= self.reflex.correction_scale
            return self.reflex.act(obs, self._correction)
        np.clip(y * cfg.action_scale, -cfg.action_scale, cfg.action_scale, out=self._correction)
        self._action[:] = self._correction
        return self._action.copy()

    def observe(self, obs: np.ndarray, reward: float, terminated: bool,
                info: dict[str, Any]) -> None:
        """Feed back the step's outcome: sets the third factor of the next tick's learning."""
        if self.config.mode == "error":
            error = info.get("error")
            if error is None:
                raise ValueError(
                    "error mode needs info['error'] from the env; use reward mode, or wrap the "
                    "env with neurofit.envs.error_feedback.ErrorFeedback"
                )
            self._last_error = np.asarray(error, dtype=np.float64)
            if self.learning:
                teach = self.reflex.teaching(obs, self._last_error) / self.reflex.correction_scale
                # PES error = actual − target = −teaching; the modulator is −(error · d_i)
                error_modulator(-teach, self.policy.output_dirs, out=self.policy.modulator)
            else:
                self.policy.modulator[:] = 0.0
            return
        if not math.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward!r}")
        rates = self.policy.hidden_rates.rates
        self._phi_next[:-1] = rates / 100.0
        self._phi_next[-1] = 1.0
        delta = self.critic.td_error(self._phi, reward, self._phi_next, terminated)
        self._phi, self._phi_next = self._phi_next, self._phi
        self.policy.modulator[:] = delta if self.learning else 0.0
        if terminated:
            self._phi[:] = 0.0

    # ------------------------------------------------------------------ introspection
    def record_tick(self) -> dict[str, Any]:
        """Spikes of the last tick, and the operations and compute energy since the previous
        call (for the recorder, which calls it once per tick)."""
        ops = self.policy.ops_since_mark()
        tick = self.meter.charge(ops)
        self.last_energy_j = tick.total_j
        return {
            "spikes": self.policy.spiking_neurons(),
            "ops": ops.as_dict(),
            "compute_energy_j": tick.total_j,
            "compute_power_w": tick.total_j / self.meter.control_dt_s,
        }

    def energy(self) -> EnergyMeter:
        """A meter charged with every operation so far, on the agent's energy profile."""
        meter = EnergyMeter(self.config.energy_profile, self.meter.control_dt_s)
        meter.charge_cumulative(self.policy.net.counts())
        return meter

    @property
    def n_neurons(self) -> int:
        return self.policy.n_neurons

    # ------------------------------------------------------------------ saving
    def save(self, path: str | Path) -> None:
        """Write config, network state and learner state to ``path`` (.npz), atomically."""
        path = Path(path)
        arrays = {f"net.{k}": v for k, v in self.policy.net.get_state().items()}
        arrays["decoder.rates"] = self.policy.decoder.rates
        arrays["hidden.rates"] = self.policy.hidden_rates.rates
        arrays["noise_rng"] = np.frombuffer(
            json.dumps(self._noise_rng.bit_generator.state).encode(), dtype=np.uint8)
        arrays["config"] = np.frombuffer(self.config.to_json().encode(), dtype=np.uint8)
        if self.config.mode == "reward":
            arrays["critic.weights"] = self.critic.weights
            arrays["critic.phi"] = self._phi
        if self._last_error is not None:
            arrays["last_error"] = self._last_error
        arrays["ticks"] = np.array(self.ticks)
        if isinstance(self.reflex, QuadReflex):
            arrays["reflex.state"] = self.reflex.pid._state
        elif isinstance(self.reflex, ArmReflex):
            arrays["reflex.state"] = self.reflex.ctl._integ
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
        os.close(fd)
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it owner-only; a checkpoint is not secret
        os.replace(tmp, path)

    def load_state(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote into an agent built with the same config and env."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no agent checkpoint at {path}")
        try:
            with np.load(path) as data:
                arrays = {k: data[k] for k in data.files}
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path} is not a readable agent checkpoint: {exc}") from exc
        saved = json.loads(bytes(arrays["config"]).decode())
        if saved != json.loads(self.config.to_json()):
            raise ValueError(f"{path} was saved by an agent with a different config")
        self.policy.net.set_state({k[4:]: v for k, v in arrays.items() if k.startswith("net.")})
        self.policy.decoder.rates[:] = arrays["decoder.rates"]
        self.policy.hidden_rates.rates[:] = arrays["hidden.rates"]
        self._noise_rng.bit_generator.state = json.loads(bytes(arrays["noise_rng"]).decode())
        if self.config.mode == "reward":
            self.critic.weights[:] = arrays["critic.weights"]
            self._phi[:] = arrays["critic.phi"]
        self._last_error = arrays["last_error"].copy() if "last_error" in arrays else None
        self.ticks = int(arrays["ticks"])
        self.policy.ops_since_mark()  # the recorder's per-tick counts restart from here
        if isinstance(self.reflex, QuadReflex):
            self.reflex.pid._state[:] = arrays["reflex.state"]
        elif isinstance(self.reflex, ArmReflex):
            self.reflex.ctl._integ[:] = arrays["reflex.state"]
