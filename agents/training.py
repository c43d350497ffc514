"""Training loop: online learning on an env, metrics, evaluation, atomic checkpoints and resume.

One run is one :class:`TrainConfig` and one run directory::

    result = train(TrainConfig(env_id="neurofit/QuadHoverPayload-v0", total_steps=20_000),
                   "runs/hover")
    evaluate("runs/hover", episodes=10, baselines=("pd", "pid"))

## Run directory

::

    config.json            the resolved TrainConfig (+ "resolved": agent config, env facts)
    metrics.csv            one row per training episode (columns: see below)
    metrics.json           {"episodes": [...rows], "eval": [...rows]}
    eval.csv               one row per periodic evaluation (means over its episodes)
    learning_curve.png     return and RMS tracking error (mm) per episode, evaluation points
    agent.npz              the agent at the end of training (``agent.save``)
    checkpoints/latest.npz the agent at the latest checkpoint plus the trainer state
    checkpoints/previous.npz  the checkpoint before it (kept in case latest.npz is damaged)
    checkpoints/state.json the trainer state of latest.npz, readable (step, episode, seeds, rows)
    train.lock             the OS lock of the process training in the run dir (its PID, host)
    dataset/               Minari-format episodes, with ``record=True`` (envs/recording.py)

A seed sweep (:func:`train_many`) puts one such directory per seed under the root,
``<root>/seed_<k>``, and a ``seeds.json`` listing them.

## Metrics (one row per episode; the same keys in eval rows, averaged)

``episode, env_seed, step`` (global step at the episode's end), ``length``, ``complete`` (0
when the step budget or a callback cut the episode), ``terminated``; ``return`` and every
``reward_*`` term of ``info`` summed; ``rms_tracking_error_mm`` (the RMS tracking error in
millimetres over the whole episode: ``1000 * sqrt(mean of info["tracking_error_m"] ** 2)``, the
distance from the target position to the controlled point, see :mod:`neurofit.envs.tracking`;
empty for envs without a position target) and ``rms_tracking_error_mm_last_half`` (the same
over the episode's last half); ``error_<i>_rms`` (RMS of component ``i`` of ``info["error"]``,
in that component's own unit); ``actuator_energy_j`` and ``actuator_power_w`` (from
``info["power_w"]``); for agents that count operations (``agent.energy()``): ``spike_rate_hz``
(per neuron, in network time),
``activity`` (spikes per neuron update), ``ops_per_tick`` (every counted operation: neuron
updates, spikes, synaptic events and weight updates; or a DNN's MACs, activations and memory
accesses) and each operation per tick (``<op>_per_tick``),
``compute_<category>_j`` per energy category for the episode (spikes, synaptic, neuron, learning,
mac, memory, static), ``compute_energy_j``, ``compute_energy_per_tick_j``,
``compute_dynamic_per_tick_j`` (static left out) and ``compute_power_w`` (on the agent's
``energy_profile``). Values that do not apply are empty in the CSV and null in the JSON.

## Resume gives the same result

Every episode starts with ``env.reset(seed=episode_seed(seed, episode))``, and checkpoints are
taken only at episode boundaries. A checkpoint holds the agent's whole state (network, learner,
RNGs, operation counters) and the trainer's (step, episode, schedules, metric rows), in one
file written to a temporary name and renamed into place. Resuming restores both and replays the
episode that was in progress from its start, so ``N/2`` steps + resume to ``N`` equals ``N`` in
one go, metrics and weights alike. A recorded dataset is rolled back to the episodes it had at
the checkpoint (those after it, and a partial one saved at an interrupt, are recorded again), so
it too equals the uninterrupted run's. Evaluation runs on a copy of the agent and a separate env.
"""

from __future__ import annotations

from neurofit.agents._evaluation import evaluate
from neurofit.agents._run_dir import RunLockedError, last_checkpoint_step
from neurofit.agents._train_config import TrainConfig, episode_seed, make_env
from neurofit.agents._train_loop import Callback, TrainingInterrupted, TrainResult, train
from neurofit.agents._train_plot import plot_learning_curve
from neurofit.agents._train_sweep import train_many

__all__ = [
    "Callback",
    "RunLockedError",
    "TrainConfig",
    "TrainResult",
    "TrainingInterrupted",
    "episode_seed",
    "evaluate",
    "last_checkpoint_step",
    "make_env",
    "plot_learning_curve",
    "train",
    "train_many",
]
