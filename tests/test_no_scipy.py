"""Every numba kernel compiles without scipy, which no dependency declares.

numba implements ``a @ b``, ``np.dot``, ``np.vdot`` and ``np.linalg.*`` by calling BLAS / LAPACK
through scipy; inside a kernel they fail on a machine without scipy ("scipy 0.16+ is required
for linear algebra"), as every arm task once did. A fresh process where ``import scipy`` fails
and the kernel cache is empty (so each kernel really compiles) drives the agents, envs, engine
and coding, then checks that every kernel of the package was compiled.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numba
import pytest

pytestmark = pytest.mark.skipif(numba.config.DISABLE_JIT, reason="NUMBA_DISABLE_JIT: no kernels")

SCRIPT = r"""
import sys

sys.modules["scipy"] = None  # `import scipy` now fails, as on a machine without scipy

import importlib
from pathlib import Path

import gymnasium as gym
import numpy as np
from numba.core.registry import CPUDispatcher

import neurofit.envs  # noqa: F401  (registers the env ids)
from neurofit.agents.arm_pd import ArmPDController
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.pid import QuadPID
from neurofit.neuromorphic import _rng
from neurofit.neuromorphic._jit import njit
from neurofit.neuromorphic.coding import GaussianPopulationEncoder, RateDecoder, fit_decoders
from neurofit.neuromorphic.delta_coding import IntegratingDecoder, SigmaDeltaEncoder
from neurofit.neuromorphic.sigma_delta import SigmaDeltaNetwork
from neurofit.neuromorphic.connectivity import AllToAll, FixedProbability
from neurofit.neuromorphic.network import Network
from neurofit.neuromorphic.neurons import AdaptiveLIFParams, LIFParams
from neurofit.neuromorphic.plasticity import deadband_modulator, error_modulator, pes

# error mode: the arm's operational-space reflex, the quadrotor's PID reflex, the plastic network
config = AgentConfig(n_per_input=10, n_output_neurons=20, mode="error")
for env_id in ("neurofit/ArmReach-v0", "neurofit/QuadHoverPayload-v0"):
    env = gym.make(env_id)
    agent = NeuroFitAgent.from_env(env, config)
    obs, _ = env.reset(seed=0)
    agent.reset()
    for _ in range(3):
        obs, reward, terminated, _, info = env.step(agent.act(obs))
        agent.observe(obs, reward, terminated, info)
        agent.record_tick()  # the recorder's hook: the spike indices of the tick
    agent.energy()

env = gym.make("neurofit/ArmReach-v0")  # joint-space PD with its integrator
ctl = ArmPDController.from_env(env, mode="joint", integral=True)
obs, _ = env.reset(seed=0)
for _ in range(3):
    obs, *_ = env.step(ctl.act(obs))
env = gym.make("neurofit/QuadHover-v0")  # the full PID, position integrator on
pid = QuadPID.from_env(env, integral=True)
obs, _ = env.reset(seed=0)
for _ in range(3):
    obs, *_ = env.step(pid.act(obs))
env = gym.make("neurofit/QuadForest-v0")  # the forest: scan, clearances, the teacher's planner
obs, _ = env.reset(seed=0)
for _ in range(3):
    obs, *_ = env.step(pid.act(obs[:18]))

# the engine: Poisson, generator, LIF and adaptive LIF, delays, both channels, plasticity
net = Network(dt_s=1e-4, seed=0)
net.add_poisson("in", 8, rate_hz=200.0)
net.add_spike_source("gen", 2, times_s=[0.0, 1e-3], indices=[0, 1])
net.add_lif("a", 6, LIFParams(), v_init=(-0.06, -0.05), record=True)
net.add_lif("b", 4, AdaptiveLIFParams(), v_init=(-0.06, -0.05))
net.connect("in", "a", AllToAll(), 2e-3, delay_s=2e-4)
net.connect("gen", "b", AllToAll(), 2e-3)
net.connect("a", "b", FixedProbability(0.5), -1e-3, channel="inh")
net.set_plasticity("in->a", pes(1e-4))
net.run(0.005)
net.teach("in->a", np.ones(6), 1e-4)
net.counts()
error_modulator(np.ones(2), np.ones((6, 2)), net.modulator_view("a"))
_rng.next_uniform(_rng.new_rng_state(1))

# coding
GaussianPopulationEncoder(2, 8).encode(np.array([0.1, -0.3]))
rates = np.abs(np.random.default_rng(0).normal(size=(20, 5))) + 1.0
RateDecoder(fit_decoders(rates, rates[:, :2]), 0.02, 0.001).update(np.ones(5))
events = SigmaDeltaEncoder(2, 0.1).encode(np.array([0.35, -0.2]))
IntegratingDecoder(np.ones((2, 3))).update(events)
sd = SigmaDeltaNetwork(2, 1, n_per_input=4)
sd.modulator[:] = 0.1
sd.tick(np.array([0.2, -0.1]))
error_modulator(np.ones(2), np.ones((6, 2)), net.modulator_view("a"), deadband=0.5)
deadband_modulator(np.array([0.1, -2.0, 0.0]), 0.5)

# every kernel of the package has been compiled (else this script misses one)
compiled, missing = [], []
for package in njit.packages:
    for root in importlib.import_module(package).__path__:
        for path in sorted(Path(root).rglob("*.py")):
            if "njit" not in path.read_text(encoding="utf-8"):
                continue
            rel = path.relative_to(root).with_suffix("").parts
            module = importlib.import_module(".".join((package, *rel)).removesuffix(".__init__"))
            for name, obj in vars(module).items():
                if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == module.__name__:
                    (compiled if obj.signatures else missing).append(name)
if missing:
    sys.exit(f"kernels this test never compiled (call them above): {sorted(missing)}")
print(" ".join(compiled))
"""


def test_every_kernel_compiles_without_scipy(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    env.setdefault("MUJOCO_GL", "egl")
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    compiled = set(out.stdout.split())
    named = {"_osc_kernel", "_joint_pd_kernel", "_pid_kernel", "advance", "apply_tick",
             "_gaussian_fields", "rotor_power_w_kernel", "_step_power", "post_step"}
    assert named <= compiled, named - compiled
    assert list((tmp_path / "numba-cache").glob("*/*.nbi")), "compiled outside NUMBA_CACHE_DIR"
