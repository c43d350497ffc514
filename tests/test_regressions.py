"""Regression tests for bugs found in review (each failed before its fix)."""

from __future__ import annotations

import numpy as np
import pytest

from neurofit.agents.neurofit_agent import AgentConfig
from neurofit.neuromorphic.connectivity import FromLists
from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import LIFParams
from neurofit.neuromorphic.plasticity import reward_stdp

DT = 1e-4
QUIET = LIFParams(v_rest=-0.065, v_reset=-0.065, v_thresh=-0.050)


def _same_step_pairing(pre_first: bool) -> float:
    """Eligibility after a pre and a post spike in the same step (step 4)."""
    net = Network(dt_s=DT, seed=0, tick_steps=1000)
    if pre_first:
        net.add_spike_source("pre", 1, times_s=[4 * DT], indices=[0])
    net.add_spike_source("post_src", 1, times_s=[2 * DT], indices=[0])
    net.add_lif("post", 1, QUIET)
    if not pre_first:  # the presynaptic population after the postsynaptic one
        net.add_spike_source("pre", 1, times_s=[4 * DT], indices=[0])
    net.connect("post_src", "post", FromLists([0], [0]), 3.0)  # post fires at step 4
    net.connect("pre", "post", FromLists([0], [0]), 0.0, name="w")
    net.set_plasticity("w", reward_stdp(1e-3, a_plus=1.0, a_minus=0.5))
    post_spikes = []
    for _ in range(6):
        counts = net.step(1)
        post_spikes.append(int(counts[net.population("post").start]))
    assert post_spikes[4] == 1, post_spikes  # the pairing really is in one step
    q = net.projections["w"]
    return float(net._elig[q.synapse_start] * net._elig_scale[q.index])


def test_stdp_does_not_depend_on_population_order() -> None:
    assert _same_step_pairing(True) == pytest.approx(_same_step_pairing(False), abs=1e-12)


def test_network_tick_steps_is_readable_and_fixed() -> None:
    net = Network(dt_s=DT, tick_steps=7)
    assert net.tick_steps == 7
    with pytest.raises(AttributeError):
        net.tick_steps = 3  # type: ignore[misc]


def test_run_shorter_than_a_step_is_an_error() -> None:
    net = Network(dt_s=DT)
    net.add_lif("a", 2, QUIET)
    with pytest.raises(ValueError, match="shorter than one step"):
        net.run(0.4 * DT)


@pytest.mark.parametrize("field", ["n_per_input", "substeps", "seed"])
def test_agent_config_rejects_booleans_as_integers(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        AgentConfig(**{field: True})


def test_counts_array_matches_counts() -> None:
    net = Network(dt_s=DT, seed=1)
    net.add_poisson("in", 20, rate_hz=200.0)
    net.add_lif("out", 5, QUIET)
    net.connect("in", "out", FromLists(np.arange(20), np.arange(20) % 5), 0.004)
    net.run(0.05)
    assert net.counts_array().tolist() == list(net.counts().as_dict().values())
