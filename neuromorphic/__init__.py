"""NeuroFit's spiking-network library: engine, plasticity, coding and energy.

Imports neither MuJoCo nor Gymnasium; it stands on its own.
"""

from neurofit.neuromorphic.analog import AnalogProfile
from neurofit.neuromorphic.coding import (
    GaussianPopulationEncoder,
    NEFEncoder,
    RateDecoder,
    SignedEncoder,
    fit_decoders,
    lif_rate,
)
from neurofit.neuromorphic.connectivity import (
    AllToAll,
    FixedFanIn,
    FixedProbability,
    FromLists,
    OneToOne,
)
from neurofit.neuromorphic.counters import OP_NAMES, OpCounts
from neurofit.neuromorphic.cuba import build_cuba
from neurofit.neuromorphic.delta_coding import IntegratingDecoder, SigmaDeltaEncoder
from neurofit.neuromorphic.energy import (
    DnnCost,
    EnergyMeter,
    TickEnergy,
    inference_energy_j,
    mlp_inference_cost,
)
from neurofit.neuromorphic.hardware import (
    HardwareProfile,
    get_profile,
    list_profiles,
    load_profile_toml,
)
from neurofit.neuromorphic.network import Network, Population, Projection, RunResult
from neurofit.neuromorphic.neurons import AdaptiveLIFParams, LIFParams
from neurofit.neuromorphic.plasticity import (
    LinearCritic,
    RunningBaseline,
    ThreeFactor,
    deadband_modulator,
    error_modulator,
    node_perturbation,
    pes,
    reward_stdp,
)

__all__ = [
    "OP_NAMES",
    "AdaptiveLIFParams",
    "AllToAll",
    "AnalogProfile",
    "DnnCost",
    "EnergyMeter",
    "FixedFanIn",
    "FixedProbability",
    "FromLists",
    "GaussianPopulationEncoder",
    "HardwareProfile",
    "IntegratingDecoder",
    "LIFParams",
    "LinearCritic",
    "NEFEncoder",
    "Network",
    "OneToOne",
    "OpCounts",
    "Population",
    "Projection",
    "RateDecoder",
    "RunResult",
    "RunningBaseline",
    "SigmaDeltaEncoder",
    "SignedEncoder",
    "ThreeFactor",
    "TickEnergy",
    "build_cuba",
    "deadband_modulator",
    "error_modulator",
    "fit_decoders",
    "get_profile",
    "inference_energy_j",
    "lif_rate",
    "list_profiles",
    "load_profile_toml",
    "mlp_inference_cost",
    "node_perturbation",
    "pes",
    "reward_stdp",
]
