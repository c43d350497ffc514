"""Controllers that drive NeuroFit's robots: the spiking agent and its baselines, and training."""

from neurofit.agents.arm_pd import ArmPDController
from neurofit.agents.baselines import MLPAgent, PIDAgent, RandomAgent, make_agent
from neurofit.agents.mlp import NumpyMLP
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.pid import PIDGains, QuadPID
from neurofit.agents.reflex import ArmReflex, QuadReflex, make_reflex
from neurofit.agents.training import TrainConfig, evaluate, train, train_many

__all__ = [
    "AgentConfig",
    "ArmPDController",
    "ArmReflex",
    "MLPAgent",
    "NeuroFitAgent",
    "NumpyMLP",
    "PIDAgent",
    "PIDGains",
    "QuadPID",
    "QuadReflex",
    "RandomAgent",
    "TrainConfig",
    "evaluate",
    "make_agent",
    "make_reflex",
    "train",
    "train_many",
]
