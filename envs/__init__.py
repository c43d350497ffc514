"""MuJoCo robots for NeuroFit: quadrotors and an arm, disturbances, power models.

Importing this package registers every ``neurofit/`` Gymnasium id (see ``_registration.py``).
"""

from neurofit.envs._registration import register_all
from neurofit.envs.arm_reach import ArmReachEnv
from neurofit.envs.disturbances import (
    Disturbance,
    MotorDegradation,
    Payload,
    SensorNoise,
    Wind,
    make_disturbance,
    make_disturbances,
)
from neurofit.envs.error_feedback import ErrorFeedback, make_with_error
from neurofit.envs.joint_power import JointMotor, JointPowerModel
from neurofit.envs.power import HEAVY_ROTOR_POWER, MICRO_ROTOR_POWER, RotorPowerModel
from neurofit.envs.quadrotor import QuadrotorEnv, realistic_sensor_noise
from neurofit.envs.quadrotor_hover import QuadHoverEnv
from neurofit.envs.quadrotor_platform import PLATFORMS, QuadrotorPlatform, get_platform
from neurofit.envs.quadrotor_track import QuadTrackEnv

__all__ = [
    "HEAVY_ROTOR_POWER",
    "MICRO_ROTOR_POWER",
    "PLATFORMS",
    "ArmReachEnv",
    "Disturbance",
    "ErrorFeedback",
    "JointMotor",
    "JointPowerModel",
    "MotorDegradation",
    "Payload",
    "QuadHoverEnv",
    "QuadTrackEnv",
    "QuadrotorEnv",
    "QuadrotorPlatform",
    "RotorPowerModel",
    "SensorNoise",
    "Wind",
    "get_platform",
    "make_disturbance",
    "make_disturbances",
    "make_with_error",
    "realistic_sensor_noise",
    "register_all",
]

register_all()
