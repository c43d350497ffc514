"""The NeuroFit agent: a spiking controller that learns online from error or reward.

Per control tick (``act``), one compiled network call: the encoder turns the observation into
input currents, the network advances ``substeps`` steps, the decoder reads the output, and the
plastic projection learns from the third factor set by the previous ``observe``. The operation
counters are read once per tick and charged on a hardware profile.

- **error mode** (adaptive motor learning): ``action = reflex(obs) + learned correction``; the
  reflex's own feedback command is the teaching signal (feedback-error learning, PES), so the
  network takes over what the reflex cannot — a payload, wind, a weak motor.
- **reward mode**: the network is the policy; it learns from reward alone by node
  perturbation: exploration noise enters the output population along its encoders, each
  synapse's eligibility is its presynaptic spikes × the noise its neuron received, and the
  third factor is the TD error of a TD(λ) critic on a Gaussian tiling of the observation
  (:mod:`neurofit.agents._reward`). The network runs in real time (one control period of
  network time per tick) so that the policy does not lag the plant. A decoded output beyond
  the action range is pulled back to its edge by an error-driven write of the same family
  (:meth:`~neurofit.neuromorphic.network.Network.teach`): a clipped action carries no signal
  for node perturbation, whose noise would otherwise walk the weights further out.

Reward mode's timing, in detail: the rule learns at the end of every tick with the modulator
set by the previous ``observe``, so the TD error of transition ``t`` meets the eligibility
``e(t+1) = a·e(t) + noise(t+1)·pre(t+1)`` (``a = exp(-tick / tau_elig_s)``): the noise of
tick ``t`` is credited with weight ``a``, and the OU exploration's correlation makes the
``noise(t+1)`` term correlated with it rather than pure variance. On termination the agent
runs one more tick without exploration so that the terminal TD error — the most informative
one — reaches the synapses before ``reset`` clears the eligibility.

Typical loop (what :func:`~neurofit.agents.rollout.run_episode` runs)::

    agent = NeuroFitAgent.from_env(env, AgentConfig(mode="error"))
    obs, info = env.reset(seed=0)
    agent.reset(info)
    while not done:
        action = agent.act(obs)
        obs, reward, terminated, truncated, info = env.step(action)
        agent.observe(obs, reward, terminated, info)
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neurofit.agents._reward import (
    REWARD_SCALE_RATE,
    ObservationNormaliser,
    OutputExploration,
    RunningScale,
    TDLambdaCritic,
)
from neurofit.agents._tick import make_fused_tick, teach_to_modulator
from neurofit.agents.features import ARM_FEATURE_SLICES, QUAD_ERROR_INDEX, env_features
from neurofit.agents.reflex import FeedbackReflex, Reflex, make_reflex
from neurofit.agents.sigma_delta_policy import SigmaDeltaPolicy, SigmaDeltaShape
from neurofit.agents.spiking_policy import PolicyShape, SpikingPolicy
from neurofit.agents.usage import Usage
from neurofit.envs.recording import TickRecord
from neurofit.neuromorphic._atomic import write_npz
from neurofit.neuromorphic._checks import (
    check_choice,
    check_int,
    check_range,
    check_real,
    load_npz,
)
from neurofit.neuromorphic.analog import AnalogProfile
from neurofit.neuromorphic.energy import EnergyMeter
from neurofit.neuromorphic.hardware import get_profile, list_profiles
from neurofit.neuromorphic.network import EXECUTIONS
from neurofit.neuromorphic.plasticity import ThreeFactor, check_bits

MODES = ("error", "reward")

#: Defaults of the fields left ``None``, per mode. Error mode runs the network ten times faster
#: than real time (1 ms of network time per tick): the reflex closes the fast loop and the
#: network learns a slowly varying correction. In reward mode the network is the whole policy,
#: so it runs in real time (40 steps of 1 ms: one 25 Hz control period); at 1 ms per tick its
#: 10-30 ms of membrane, synapse and decoder dynamics lag the plant by ~20 ticks, and on
#: InvertedPendulum-v5 even a hand-set stabilising linear law fails within 16 steps. Reward mode
#: also uses a smaller network (all to all, fields of the same width in input units): node
#: perturbation needs no more, and it is four times cheaper per tick.
MODE_DEFAULTS: dict[str, dict[str, Any]] = {
    "error": {"n_per_input": 100, "n_output_neurons": 200, "substeps": 10, "dt_s": 1e-4,
              "input_width": 12.0, "learning_rate": 4e-3, "connection_p": 0.5},
    "reward": {"n_per_input": 25, "n_output_neurons": 50, "substeps": 40, "dt_s": 1e-3,
               "input_width": 3.0, "learning_rate": 4e-4, "connection_p": 1.0},
}

CODINGS = ("rate", "sigma-delta")

#: Defaults per coding, applied after :data:`MODE_DEFAULTS` (same rule: fields left ``None``).
#: Sigma-delta's were chosen on hover-payload seeds 0-2 (seeds 3-7 checked): a learning rate
#: of 0.015 of the teaching signal per tick is as fast as the PID's integrator and stable with
#: the reflex's gains; fields 6 spacings wide halve the units holding a value (and so the
#: writes) against 12, at the same error; the deadband stops writing once the teaching signal
#: is below 3e-5 of the correction scale (a residual of ~20 µm on the micro quadrotor).
CODING_DEFAULTS: dict[str, dict[str, Any]] = {
    "rate": {"learn_deadband": 0.0},
    "sigma-delta": {"learning_rate": 0.015, "input_width": 6.0, "learn_deadband": 3e-5},
}


@dataclass(frozen=True)
class AgentConfig:
    """Everything that defines a NeuroFit agent (saved with every run).

    Fields left ``None`` take their mode's default (:data:`MODE_DEFAULTS`) at construction, so
    a config always holds resolved values (``dataclasses.replace`` keeps them: to switch the
    mode of a config, build a new one).

    Attributes:
        mode: ``"error"`` (reflex + learned correction, needs ``info["error"]``) or
            ``"reward"`` (the network is the policy, learns from reward alone).
        n_per_input: hidden neurons per input dimension (Gaussian receptive fields; >= 2).
        n_output_neurons: neurons of the output population.
        substeps: network steps per control tick (one compiled call).
        dt_s: network step.
        input_width: width of the hidden population's Gaussian receptive fields, in spacings
            of their centres.
        tau_mem_s, tau_syn_s: membrane and synaptic time constants of the network's neurons.
        learning_rate: η of the plastic projection.
        weight_bound_v: learned weights stay in ``[-bound, bound]`` volts.
        connection_p: connection probability of the plastic hidden → output projection (1 =
            all to all); fewer synapses cost fewer synaptic events and weight updates.
        correction_limit: error mode: the correction is clipped to this fraction of the
            reflex's correction scale — a guard that keeps learning from running away.
        teach_limit: error mode: the teaching signal's norm (in correction-scale units) is
            clipped to this each tick, so a large transient cannot drive one huge step; with
            the correction limit, what keeps learning stable over a 3x range of rates.
        learn_deadband: error mode: no weight is written (nor counted) in a tick whose teaching
            signal's norm (correction-scale units, before ``teach_limit``) is below this —
            :func:`~neurofit.neuromorphic.plasticity.error_modulator`'s ``error_deadband``,
            and the DNN twin's ``learn_deadband`` on the same signal. 0 (the default): learn
            every tick.
        exploration_sd: reward mode: sd of the exploration noise, in decoded units (a
            fraction of the action half-range), entering every output neuron along its
            encoder; 0 switches exploration (and so learning) off.
        exploration_tau_s: reward mode: correlation time of the exploration noise (OU).
        exploration_min_gain: reward mode: the floor, in (0, 1], of the exploration's
            annealing gain (full strength while training returns are far below the best
            seen, this fraction once they are all near it; 1: no annealing).
        feature_spread: reward mode: features are the observation minus its running mean,
            divided by this many running standard deviations (the task's own scale).
        tau_elig_s: reward mode: eligibility time constant (network time, which in reward
            mode is real time).
        critic_learning_rate, critic_lambda, gamma: reward mode: the TD(λ) critic
            (normalised step, trace decay, discount per control tick).
        action_scale: reward mode: the action is the centre of the action space plus its
            half-range times ``clip(action_scale × decoded output, -1, 1)``.
        bound_learning_rate: reward mode: rate of the error-driven (PES) write that pulls a
            decoded output beyond the action range back to its edge, the excess being the
            error (0: off). Node perturbation learns nothing from a clipped action, and its
            noise walks the weights further out: on Hopper-v5, outputs sat beyond the range
            on up to all ticks and learning stopped (rl_games' PPO has a bounds loss on its
            mean for the same reason). 1e-3 of the excess per presynaptic spike: of 0, 1e-3
            and 1e-2 the best suite mean on seeds 0-4 (docs/benchmarks.md).
        weight_bits: stored precision of learned weights (``None``: float).
        analog: the chip's analog non-idealities (fields of :class:`AnalogProfile`).
        energy_profile: hardware profile charged per tick (``neurofit energy`` compares more).
        execution: how the engine runs the network: ``"time-stepped"`` (every neuron every
            step) or ``"event-driven"`` (only neurons with input or not yet at rest; the same
            spikes, fewer effective neuron updates). ``None`` (the default): the energy
            profile's own execution model, so an event-driven chip is charged for what it
            would run.
        coding: ``"rate"`` (LIF network, Gaussian input currents, filtered-rate decoder) or
            ``"sigma-delta"`` (error mode only: the change-driven network of
            :mod:`neurofit.neuromorphic.sigma_delta` — inputs send events when they change by
            ``input_quantum``, hidden units when their activation moves by
            ``hidden_threshold``, outputs when they move by ``output_quantum``; an integrating
            decoder holds the output; ``learning_rate`` is then the fraction of the teaching
            signal absorbed per tick). Its defaults: ``learning_rate`` 0.015,
            ``input_width`` 6, ``learn_deadband`` 3e-5.
        input_quantum, hidden_threshold, output_quantum: sigma-delta coding's thresholds, in
            feature units (features are scaled to about [-1, 1]), activation units (peak 1)
            and output units (the correction limit is 1).
        linear_inputs: sigma-delta coding: one relay unit per input beside its Gaussian
            fields (``n_per_input`` 0: relay units only) — a linear path for many inputs
            that act together, such as a range scan.
        seed: seeds the network, the encoders and the exploration noise.
    """

    mode: Literal["error", "reward"] = "error"
    n_per_input: int | None = None
    n_output_neurons: int | None = None
    substeps: int | None = None
    dt_s: float | None = None
    input_width: float | None = None
    tau_mem_s: float = 0.010
    tau_syn_s: float = 0.005
    learning_rate: float | None = None
    weight_bound_v: float = 0.01
    connection_p: float | None = None
    correction_limit: float = 1.0
    teach_limit: float = 0.5
    learn_deadband: float | None = None
    exploration_sd: float = 0.2
    exploration_tau_s: float = 0.3
    exploration_min_gain: float = 0.2
    feature_spread: float = 3.0
    tau_elig_s: float = 0.3
    critic_learning_rate: float = 0.1
    critic_lambda: float = 0.9
    gamma: float = 0.98
    action_scale: float = 1.0
    bound_learning_rate: float = 1e-3
    weight_bits: int | None = None
    analog: dict[str, Any] = field(default_factory=dict)
    energy_profile: str = "loihi"
    execution: str | None = None
    coding: str = "rate"
    input_quantum: float = 0.02
    hidden_threshold: float = 0.01
    output_quantum: float = 1e-6
    linear_inputs: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, MODES)
        check_choice("coding", self.coding, CODINGS)
        if self.coding == "sigma-delta" and self.mode != "error":
            raise ValueError("coding='sigma-delta' is for error mode only (reward mode needs "
                             "the rate-coded network's exploration); use coding='rate'")
        for name, value in {**MODE_DEFAULTS[self.mode], **CODING_DEFAULTS[self.coding]}.items():
            if getattr(self, name) is None:
                object.__setattr__(self, name, value)
        if self.execution is None:
            _check_energy_profile(self.energy_profile)
            object.__setattr__(self, "execution", get_profile(self.energy_profile).execution)
        if not isinstance(self.linear_inputs, bool):
            raise ValueError(f"linear_inputs must be True or False, got {self.linear_inputs!r}")
        if self.linear_inputs and self.coding != "sigma-delta":
            raise ValueError("linear_inputs=True is an option of coding='sigma-delta'")
        if not (self.linear_inputs and self.n_per_input == 0):  # 0: relay units only
            check_int("n_per_input", self.n_per_input, 2)  # receptive fields need two centres
        for name in ("n_output_neurons", "substeps"):
            check_int(name, getattr(self, name), 1)
        for name in ("dt_s", "tau_mem_s", "tau_syn_s", "weight_bound_v", "correction_limit",
                     "teach_limit", "tau_elig_s", "action_scale", "input_width",
                     "exploration_tau_s", "input_quantum", "hidden_threshold",
                     "output_quantum"):
            check_real(name, getattr(self, name))
        for name in ("learning_rate", "exploration_sd", "critic_learning_rate",
                     "learn_deadband", "bound_learning_rate"):
            check_real(name, getattr(self, name), allow_zero=True)
        check_range("connection_p", self.connection_p, 0, 1, low_open=True)
        check_range("exploration_min_gain", self.exploration_min_gain, 0, 1, low_open=True)
        check_real("feature_spread", self.feature_spread)
        for name in ("gamma", "critic_lambda"):
            check_range(name, getattr(self, name), 0, 1)
        check_int("seed", self.seed, 0)
        check_bits(self.weight_bits)
        _check_analog(self.analog)
        _check_energy_profile(self.energy_profile)
        check_choice("execution", self.execution, EXECUTIONS)

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


def _check_analog(analog: Any) -> None:
    """``analog`` must be a dict of :class:`AnalogProfile` fields with valid values."""
    if not isinstance(analog, dict):
        raise ValueError(f"analog must be a dict of AnalogProfile fields, got {analog!r}")
    known = [f.name for f in dataclasses.fields(AnalogProfile)]
    unknown = sorted(set(analog) - set(known))
    if unknown:
        raise ValueError(f"unknown analog field(s) {unknown}; known fields: {', '.join(known)}")
    try:
        AnalogProfile(**analog)
    except ValueError as exc:
        raise ValueError(f"analog: {exc}") from None


def _sigma_delta_analog(config: AgentConfig) -> AnalogProfile:
    """The sigma-delta network's non-idealities: the config's ``analog``, with
    ``weight_bits`` (the config's field wins) stored by stochastic rounding."""
    fields = dict(config.analog)
    if config.weight_bits is not None:
        fields["weight_bits"] = config.weight_bits
    if fields.get("weight_bits") is not None:
        fields.setdefault("stochastic_rounding", True)
    return AnalogProfile(**fields)


def _check_energy_profile(name: Any) -> None:
    """``name`` must name a profile (built-in, or a .toml path) that prices spiking events."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"energy_profile must be a profile name or a .toml path, got {name!r}")
    try:
        profile = get_profile(name)
    except (ValueError, OSError) as exc:
        raise ValueError(f"energy_profile: {exc}") from None
    if not profile.prices_events:
        spiking = [p for p in list_profiles() if get_profile(p).prices_events]
        raise ValueError(
            f"energy_profile {name!r} is a {profile.kind} profile with no per-spike figures; "
            f"a spiking agent needs one of {', '.join(spiking)} (or such a .toml profile)")


#: Peak bytes per synapse while the network is built (connection lists, their sort, the
#: compressed matrix), measured as the growth of the process's resident-set high-water mark
#: with 1.2 million synapses: 84-86 B.
_BUILD_BYTES_PER_SYNAPSE = 85


def build_memory_bytes(config: AgentConfig, n_inputs: int, n_outputs: int) -> int:
    """Peak memory, in bytes, of building an agent's network (before anything is allocated).

    The larger of two phases: the plastic projection (expected synapses × 85 B) and the
    decoder fit (the output population's Gram matrix, ``8 N²`` bytes for ``N`` output neurons,
    and its tuning-curve rates on the sample points with their temporaries, ``5 × 8 N`` bytes
    per sample).
    """
    n_hidden = n_inputs * config.n_per_input
    synapses = n_hidden * config.n_output_neurons * config.connection_p
    samples = max(400, 100 * n_outputs)  # SpikingPolicy's decoder sample points
    decoder = 8 * config.n_output_neurons * (config.n_output_neurons + 5 * samples)
    return int(max(_BUILD_BYTES_PER_SYNAPSE * synapses, decoder))


def _available_memory_bytes() -> int | None:
    """Memory available to a new allocation (Linux ``MemAvailable``; None elsewhere)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _bytes_text(n: float) -> str:
    k = min(int(math.log(max(n, 1.0), 1024)), 4)
    return f"{n / 1024**k:.3g} {('B', 'KiB', 'MiB', 'GiB', 'TiB')[k]}"


def _check_build_memory(config: AgentConfig, n_inputs: int, n_outputs: int) -> None:
    """Refuse, with the figure, a network that cannot fit in the memory available."""
    need = build_memory_bytes(config, n_inputs, n_outputs)
    have = _available_memory_bytes()
    if have is not None and need > have:
        raise ValueError(
            f"n_per_input={config.n_per_input}, n_output_neurons={config.n_output_neurons} and "
            f"connection_p={config.connection_p} make {n_inputs * config.n_per_input:,} hidden "
            f"neurons for this env's {n_inputs} inputs and about "
            f"{n_inputs * config.n_per_input * config.n_output_neurons * config.connection_p:.3g}"
            f" synapses: building the network needs about {_bytes_text(need)} of memory, but "
            f"{_bytes_text(have)} is available; lower n_per_input, n_output_neurons or "
            "connection_p")


class NeuroFitAgent:
    """A spiking controller for one env (see the module docstring).

    Args:
        config: the agent's configuration.
        n_inputs: size of the feature vector the network encodes.
        n_outputs: size of the decoded output (correction or action).
        reflex: the feedback law of error mode (``None`` in reward mode).
        feature_kind, feature_scale: how observations become features (see
            :meth:`from_env`).
        control_dt_s: the env's control period (for the energy meter's static power, and
            the exploration's correlation in reward mode).
        action_low, action_high: reward mode: the action bounds (default ``[-1, 1]``; an
            unbounded dimension gets centre 0 and half-range 1).
    """

    def __init__(self, config: AgentConfig, n_inputs: int, n_outputs: int, *,
                 reflex: Reflex | None = None, feature_kind: str = "obs",
                 feature_scale: np.ndarray | None = None, control_dt_s: float = 0.01,
                 action_low: np.ndarray | None = None,
                 action_high: np.ndarray | None = None) -> None:
        if config.mode == "error" and reflex is None:
            raise ValueError("error mode needs a reflex (a feedback controller)")
        _check_build_memory(config, n_inputs, n_outputs)
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
        self.policy: SpikingPolicy | SigmaDeltaPolicy
        if config.coding == "sigma-delta":
            self.policy = SigmaDeltaPolicy(SigmaDeltaShape(
                n_inputs, n_outputs, n_per_input=config.n_per_input,
                input_width=config.input_width, input_quantum=config.input_quantum,
                hidden_threshold=config.hidden_threshold, output_quantum=config.output_quantum,
                learning_rate=config.learning_rate, linear_inputs=config.linear_inputs),
                analog=_sigma_delta_analog(config),
                seed=config.seed)
        else:
            shape = PolicyShape(n_inputs, n_outputs, n_per_input=config.n_per_input,
                                n_output_neurons=config.n_output_neurons,
                                substeps=config.substeps, dt_s=config.dt_s,
                                weight_bound_v=config.weight_bound_v,
                                input_width=config.input_width,
                                connection_p=config.connection_p, tau_mem_s=config.tau_mem_s,
                                tau_syn_s=config.tau_syn_s)
            self.policy = SpikingPolicy(shape, rule, analog=AnalogProfile(**config.analog),
                                        seed=config.seed)
            self.policy.net.execution = config.execution
        self.meter = EnergyMeter(config.energy_profile, control_dt_s)
        self.learning = True
        self._features = np.zeros(n_inputs)
        self._noise_rng = np.random.default_rng(config.seed + 1)
        self._correction = np.zeros(n_outputs)
        self._action = np.zeros(n_outputs, dtype=np.float32)
        if config.mode == "reward":
            self.critic = TDLambdaCritic(n_inputs, config.critic_learning_rate, config.gamma,
                                         config.critic_lambda)
            self._phi = np.zeros(self.critic.n_features)
            self._phi_next = np.zeros_like(self._phi)
            self._phi_ready = False  # φ(s) of the episode's first state is taken in act()
            self.exploration = OutputExploration(n_outputs, config.exploration_sd,
                                                 config.exploration_tau_s, control_dt_s,
                                                 self._noise_rng, config.exploration_min_gain)
            self.obs_norm = ObservationNormaliser(n_inputs, config.feature_spread)
            self.reward_scale = RunningScale(REWARD_SCALE_RATE)
            low, high = (np.broadcast_to(np.asarray(default if bound is None else bound,
                                                    dtype=np.float64).reshape(-1), (n_outputs,))
                         for bound, default in ((action_low, -1.0), (action_high, 1.0)))
            bounded = np.isfinite(low) & np.isfinite(high)
            self._action_mid = np.where(bounded, 0.5 * (low + high), 0.0)
            self._action_half = np.where(bounded, 0.5 * (high - low), 1.0)
        self.ticks = 0
        self._last_error: np.ndarray | None = None
        self._learn_from_error = True  # whether the agent learned when it took _last_error
        #: error mode: the one compiled call per tick (:mod:`neurofit.agents._tick`); None
        #: runs the unfused reference path (tests compare the two)
        self.fused_tick = make_fused_tick(self)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_env(cls, env: Any, config: AgentConfig | None = None,
                 **reflex_kwargs: Any) -> NeuroFitAgent:
        """An agent sized for ``env``: its reflex, features and output from the env's type."""
        config = config or AgentConfig()
        base = env.unwrapped
        kind, scale = env_features(env, config.mode)
        dt = float(getattr(base, "dt", 0.01))
        if config.mode == "error":
            reflex = make_reflex(env, **reflex_kwargs)
            if isinstance(reflex, FeedbackReflex):  # the reported error, scaled as declared
                kind, scale = "feedback", reflex.error_scale
            return cls(config, scale.size, reflex.n_correction, reflex=reflex,
                       feature_kind=kind, feature_scale=scale, control_dt_s=dt)
        n_act = int(np.prod(env.action_space.shape))
        space = env.action_space
        return cls(config, scale.size, n_act, feature_kind=kind, feature_scale=scale,
                   control_dt_s=dt, action_low=getattr(space, "low", None),
                   action_high=getattr(space, "high", None))

    # ------------------------------------------------------------------ acting
    def reset(self, info: dict[str, Any] | None = None) -> None:
        """Start an episode: network state, filters and reflex restart; weights are kept.

        ``info`` is what ``env.reset`` returned: in error mode its ``info["error"]`` is the
        error the first tick acts on (the reflex's and the network's), as every later tick
        acts on the previous step's; without it the first tick has none."""
        self.policy.reset_state()
        if self.reflex is not None:
            self.reflex.reset()
        self.policy.modulator[:] = 0.0
        self._last_error = None
        if self.config.mode == "error" and info is not None and info.get("error") is not None:
            self._last_error = np.array(info["error"], dtype=np.float64)
            self._learn_from_error = False  # the first tick acts on it; nothing to learn yet
            self.reflex.observe(info)
        if self.config.mode == "reward":
            self.critic.reset()
            self.exploration.reset()
            self._phi_ready = False

    def _encode(self, obs: np.ndarray, error: np.ndarray | None) -> np.ndarray:
        f = self._features
        if self._feature_kind == "error":
            f[:] = (obs[QUAD_ERROR_INDEX] if error is None else error) * self._inv_scale
        elif self._feature_kind == "feedback":  # the reported error; none before the first
            if error is None:
                f[:] = 0.0
            else:
                np.multiply(error, self._inv_scale, out=f)
        elif self._feature_kind == "arm":
            qpos, err = ARM_FEATURE_SLICES
            f[:4] = obs[qpos]
            f[4:7] = obs[err]
            f *= self._inv_scale
        else:
            np.multiply(obs, self._inv_scale, out=f)
        return f

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The action for ``obs``: one compiled network tick (plus the reflex in error mode)."""
        obs = np.asarray(obs, dtype=np.float64)
        if self.fused_tick is not None:
            self.ticks += 1
            return self.fused_tick.act(obs, self._last_error, self._learn_from_error)
        cfg = self.config
        if cfg.mode == "reward" and self.learning and cfg.exploration_sd > 0:
            noise = self.exploration.next()
            # along the encoders: the neuron's input (× its gain inside the network) and the
            # drive it adds, which is the eligibility's postsynaptic factor
            self.policy.output_input[:] = self.policy.out_enc.encoders @ noise
            self.policy.perturbation[:] = self.policy.output_dirs @ noise
        elif cfg.mode == "reward":
            self.policy.perturbation[:] = 0.0
            self.policy.output_input[:] = 0.0
        features = self._encode(obs, self._last_error)
        if cfg.mode == "reward":  # in the task's own units; training steps update them
            self.obs_norm.apply(features, update=self.learning)
        y = self.policy.tick(features)
        if cfg.mode == "reward" and self.learning and not self._phi_ready:
            self.critic.features(self._features, self._phi)
            self._phi_ready = True
        self.ticks += 1
        if cfg.mode == "error":
            limit = cfg.correction_limit
            np.clip(y, -limit, limit, out=self._correction)
            self._correction *= self.reflex.correction_scale
            return self.reflex.act(obs, self._correction)
        if self.learning and cfg.bound_learning_rate > 0:
            self._pull_into_range(y)
        np.clip(y * cfg.action_scale, -1.0, 1.0, out=self._correction)
        self._action[:] = self._action_mid + self._action_half * self._correction
        return self._action.copy()

    def _pull_into_range(self, y: np.ndarray) -> None:
        """Reward mode: a PES write with the decoded output's excess beyond the action range
        as the error (``AgentConfig.bound_learning_rate``); nothing while it is in range."""
        limit = 1.0 / self.config.action_scale
        excess = y - np.clip(y, -limit, limit)
        if excess.any():
            self.policy.net.teach("learned", -(self.policy.output_dirs @ excess),
                                  self.config.bound_learning_rate)

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
            self._learn_from_error = self.learning
            self.reflex.observe(info)
            if self.fused_tick is not None and self.fused_tick.teaches_in_act:
                return  # the next act's compiled call turns the error into learning
            if self.learning:
                teach = self.reflex.teaching(obs, self._last_error) / self.reflex.correction_scale
                # no write below learn_deadband; one tick's signal at most teach_limit (a
                # guard against runaway); modulator d_i · teaching
                teach_to_modulator(teach, self.config.learn_deadband, self.config.teach_limit,
                                   self.policy.output_dirs, self.policy.modulator)
            else:
                self.policy.modulator[:] = 0.0
            return
        if not math.isfinite(reward):
            raise ValueError(f"reward must be finite, got {reward!r}")
        if not self.learning:  # frozen: neither the critic nor the synapses learn
            self.policy.modulator[:] = 0.0
            return
        self.exploration.add_reward(reward)
        features = self.obs_norm.apply(self._encode(np.asarray(obs, dtype=np.float64), None),
                                       update=False)
        self.critic.features(features, self._phi_next)
        if not self._phi_ready:  # no act() since reset(): nothing to credit yet
            self._phi, self._phi_next = self._phi_next, self._phi
            self._phi_ready = True
            return
        delta = self.critic.td_error(self._phi, reward, self._phi_next, terminated)
        self._phi, self._phi_next = self._phi_next, self._phi
        # the third factor in units of the reward's running RMS when that is above 1: large
        # rewards (Hopper's ~3 per step) do not blow up the step, and small ones (Reacher's,
        # Swimmer's) are not amplified into noise that drives the weights to their bounds
        rms = self.reward_scale.update(reward)
        self.policy.modulator[:] = delta / max(rms, 1.0)
        if terminated:  # one learning tick without exploration (see the module docstring)
            self.policy.perturbation[:] = 0.0
            self.policy.output_input[:] = 0.0
            self.policy.tick(self._features)
            self.policy.modulator[:] = 0.0

    # ------------------------------------------------------------------ introspection
    def record_tick(self) -> TickRecord:
        """The operations since the previous call and the spikes of the last tick if the
        network ticked since then (for the recorder, which calls it once per tick: at a reset
        nothing has ticked, so the previous row's spikes are not repeated).

        A :class:`~neurofit.envs.recording.TickRecord`: the counters' difference and the spike
        indices; the compute energy and power of each tick (``compute_energy_j``,
        ``compute_power_w``, on the agent's energy profile) are priced when read, or for a
        whole episode at once when the recorder writes it."""
        ops = self.policy.ops_since_mark()
        price = getattr(self, "_record_price", None)
        if price is None:  # one function for every tick: the recorder prices episodes with it
            meter = self.meter

            def price_ticks(counts: np.ndarray) -> dict[str, np.ndarray]:
                energy = meter.tick_energy_j(counts)
                return {"compute_energy_j": energy,
                        "compute_power_w": energy / meter.control_dt_s}

            price = self._record_price = price_ticks
        ticked = ops[0] > 0
        spikes = self.policy.spiking_neurons() if ticked else np.empty(0, np.int32)
        return TickRecord(spikes, ops, price)

    def energy(self) -> EnergyMeter:
        """A meter charged with every operation so far, on the agent's energy profile."""
        meter = EnergyMeter(self.config.energy_profile, self.meter.control_dt_s)
        meter.charge_cumulative(self.policy.net.counts())
        return meter

    def usage(self) -> Usage:
        """The operations so far: the network's exact kernel counters and the ticks."""
        return Usage("snn", self.ticks, self.policy.net.counts())

    def describe(self) -> dict[str, Any]:
        """The network's size and timing, and one line of text for tables."""
        cfg = self.config
        if cfg.coding == "sigma-delta":
            return {"n_neurons": self.n_neurons, "substeps": 1, "n_per_input": cfg.n_per_input,
                    "n_synapses": int(self.policy.n_synapses), "coding": cfg.coding,
                    "text": f"{self.n_neurons} sigma-delta units ({cfg.n_per_input}/input + "
                            f"{self.policy.shape.n_outputs} out), one step per tick"}
        return {"n_neurons": self.n_neurons, "substeps": cfg.substeps, "dt_s": cfg.dt_s,
                "n_per_input": cfg.n_per_input, "n_output_neurons": cfg.n_output_neurons,
                "n_synapses": int(self.policy.net.n_synapses),
                "text": f"{self.n_neurons} LIF ({cfg.n_per_input}/input + "
                        f"{cfg.n_output_neurons} out), {cfg.substeps} x {cfg.dt_s * 1e3:g} ms"}

    @property
    def n_neurons(self) -> int:
        return self.policy.n_neurons

    # ------------------------------------------------------------------ saving
    def save(self, path: str | Path) -> None:
        """Write config, network state and learner state to ``path`` (.npz), atomically."""
        path = Path(path)
        arrays = {f"net.{k}": v for k, v in self.policy.net.get_state().items()}
        if isinstance(self.policy, SpikingPolicy):
            arrays["decoder.rates"] = self.policy.decoder.rates
        arrays["noise_rng"] = np.frombuffer(
            json.dumps(self._noise_rng.bit_generator.state).encode(), dtype=np.uint8)
        arrays["config"] = np.frombuffer(self.config.to_json().encode(), dtype=np.uint8)
        if self.config.mode == "reward":
            arrays["critic.weights"] = self.critic.weights
            arrays["critic.trace"] = self.critic.trace
            arrays["critic.phi"] = self._phi
            arrays["critic.phi_ready"] = np.array(self._phi_ready)
            arrays.update({f"exploration.{k}": v for k, v in self.exploration.get_state().items()})
            arrays.update({f"obs_norm.{k}": v for k, v in self.obs_norm.get_state().items()})
            arrays["reward_scale"] = self.reward_scale.state
        if self._last_error is not None:
            arrays["last_error"] = self._last_error
        arrays["ticks"] = np.array(self.ticks)
        arrays.update({f"record.{k}": v for k, v in self.policy.record_marks().items()})
        if self.reflex is not None:
            arrays.update({f"reflex.{k}": v for k, v in self.reflex.get_state().items()})
        write_npz(path, arrays)

    def load_state(self, path: str | Path) -> None:
        """Restore what :meth:`save` wrote into an agent built with the same config and env."""
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"no agent checkpoint at {path}")
        arrays = load_npz(path)  # a clear CorruptFileError (a ValueError) if it is damaged
        if "config" not in arrays:
            raise ValueError(f"{path} is not a NeuroFit agent checkpoint (it has no config)")
        saved = json.loads(bytes(arrays["config"]).decode())
        if saved != json.loads(self.config.to_json()):
            raise ValueError(f"{path} was saved by an agent with a different config")
        self.policy.net.set_state({k[4:]: v for k, v in arrays.items() if k.startswith("net.")})
        if isinstance(self.policy, SpikingPolicy):
            self.policy.decoder.rates[:] = arrays["decoder.rates"]
        self._noise_rng.bit_generator.state = json.loads(bytes(arrays["noise_rng"]).decode())
        if self.config.mode == "reward":
            self.critic.weights[:] = arrays["critic.weights"]
            self.critic.trace[:] = arrays["critic.trace"]
            self._phi[:] = arrays["critic.phi"]
            self._phi_ready = bool(arrays["critic.phi_ready"])
            for prefix, part in (("exploration.", self.exploration), ("obs_norm.", self.obs_norm)):
                part.set_state({k[len(prefix):]: v for k, v in arrays.items()
                                if k.startswith(prefix)})
            self.reward_scale.state[:] = arrays["reward_scale"]
        self._last_error = arrays["last_error"].copy() if "last_error" in arrays else None
        self.ticks = int(arrays["ticks"])
        marks = {k[7:]: v for k, v in arrays.items() if k.startswith("record.")}
        if marks:  # the recorder's per-tick values continue exactly where they were
            self.policy.set_record_marks(marks)
        else:  # a checkpoint from before they were saved: restart the counts from here
            self.policy.ops_since_mark()
        if self.reflex is not None:
            self.reflex.set_state({k[7:]: v for k, v in arrays.items()
                                   if k.startswith("reflex.")})
