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
from neurofit.envs.missions import Battery, Mission, get_mission, list_missions
from neurofit.envs.power import HEAVY_ROTOR_POWER, MICRO_ROTOR_POWER, RotorPowerModel
from neurofit.envs.quadrotor import QuadrotorEnv, realistic_sensor_noise
from neurofit.envs.quadrotor_forest import QuadForestEnv
from neurofit.envs.quadrotor_hover import QuadHoverEnv
from neurofit.envs.quadrotor_platform import PLATFORMS, QuadrotorPlatform, get_platform
from neurofit.envs.quadrotor_track import QuadTrackEnv
from neurofit.envs.recorded import Recording, open_recording
from neurofit.envs.recording import EpisodeRecorder
from neurofit.envs.replay import replay_episode
from neurofit.envs.tracking import rms_tracking_error_mm, tracking_error_m

__all__ = [
    "HEAVY_ROTOR_POWER",
    "MICRO_ROTOR_POWER",
    "PLATFORMS",
    "ArmReachEnv",
    "Battery",
    "Disturbance",
    "EpisodeRecorder",
    "ErrorFeedback",
    "JointMotor",
    "JointPowerModel",
    "Mission",
    "MotorDegradation",
    "Payload",
    "QuadForestEnv",
    "QuadHoverEnv",
    "QuadTrackEnv",
    "QuadrotorEnv",
    "QuadrotorPlatform",
    "Recording",
    "RotorPowerModel",
    "SensorNoise",
    "Wind",
    "get_mission",
    "get_platform",
    "list_missions",
    "make_disturbance",
    "make_disturbances",
    "make_with_error",
    "open_recording",
    "realistic_sensor_noise",
    "register_all",
    "replay_episode",
    "rms_tracking_error_mm",
    "tracking_error_m",
]

register_all()
