"""Benchmark protocols and their tasks: the top layer, above the libraries they measure.

- :mod:`~neurofit.scripts.bench.adaptation`: error-mode adaptation tasks (reflex alone, PID,
  NeuroFit) — ``neurofit bench learning --task hover-payload|track-disturbed|arm-payload``;
- :mod:`~neurofit.scripts.bench.threshold_runs`: env steps to a return threshold, NeuroFit
  reward mode and Stable-Baselines3 PPO — ``neurofit bench learning --task invpend``;
- :mod:`~neurofit.scripts.bench.reacher`: error mode on Reacher-v5 against its reflex alone and
  PPO with 10x the steps — ``neurofit bench learning --task reacher``;
- :mod:`~neurofit.scripts.bench.energy_search`: the smallest NeuroFit and the smallest MLP
  that keep the score — ``neurofit bench energy``;
- :mod:`~neurofit.scripts.bench.plasticity`: what on-chip learning costs and what weight
  precision does to it — ``neurofit bench plasticity``;
- :mod:`~neurofit.scripts.bench.record`, :mod:`~neurofit.scripts.bench.env` and
  :mod:`~neurofit.scripts.bench.agent`: recording overhead and replay/render speed, env
  steps/s, agent tick against env step — ``neurofit bench record|env|agent``;
- :mod:`~neurofit.scripts.bench.engine`: the spike engine on CUBA or a sparse network, next
  to Brian2 — ``neurofit bench engine``;
- :mod:`~neurofit.scripts.bench.function_learning` and
  :mod:`~neurofit.scripts.bench.reward_tasks`: learning tasks of the bare spiking network
  (``neurofit bench plasticity`` and the learning tests).

Episodes go through :func:`neurofit.agents.rollout.run_episode`; the ``neurofit bench``
commands (``scripts/bench_*.py``) parse options, call these and print. Submodules are imported
on use (a command loads only what it runs).
"""
