"""Controllers that drive NeuroFit's robots: the spiking agent and its baselines, and training."""

from neurofit.agents.arm_pd import ArmPDController
from neurofit.agents.baselines import MLPAgent, PIDAgent, RandomAgent, make_agent
from neurofit.agents.mlp import NumpyMLP
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.pid import PIDGains, QuadPID
from neurofit.agents.protocol import Agent
from neurofit.agents.reflex import ArmReflex, QuadReflex, make_reflex
from neurofit.agents.rollout import (
    EpisodeResult,
    FunctionAgent,
    ReflexAgent,
    StepResult,
    run_episode,
)
from neurofit.agents.training import TrainConfig, evaluate, train, train_many
from neurofit.agents.usage import Usage

__all__ = [
    "Agent",
    "AgentConfig",
    "ArmPDController",
    "ArmReflex",
    "EpisodeResult",
    "FunctionAgent",
    "MLPAgent",
    "NeuroFitAgent",
    "NumpyMLP",
    "PIDAgent",
    "PIDGains",
    "QuadPID",
    "QuadReflex",
    "RandomAgent",
    "ReflexAgent",
    "StepResult",
    "TrainConfig",
    "Usage",
    "evaluate",
    "make_agent",
    "make_reflex",
    "run_episode",
    "train",
    "train_many",
]
