"""Registers every NeuroFit environment id in Gymnasium's ``neurofit/`` namespace.

Time limits live here (``max_episode_steps``), never inside an env.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym


def _register(env_id: str, entry_point: str, max_episode_steps: int, **kwargs: Any) -> None:
    if env_id in gym.registry:  # importing twice (e.g. in a worker process) is harmless
        return
    gym.register(
        id=env_id, entry_point=entry_point, max_episode_steps=max_episode_steps, kwargs=kwargs
    )


def register_all() -> None:
    """Register all ``neurofit/`` ids (called on import of :mod:`neurofit.envs`)."""
    # -- quadrotors (envs/quadrotor*.py) --
    # 10 s hover / 20 s (two figure-eights) at dt = 0.01 s (frame_skip 5 x 2 ms); disturbances as
    # dicts keep the specs JSON-able. Payload / wind / motor act on body "quad", rotors 0-3.
    hover = "neurofit.envs.quadrotor_hover:QuadHoverEnv"
    track = "neurofit.envs.quadrotor_track:QuadTrackEnv"
    payload_30 = {"type": "Payload", "body": "quad", "mass_fraction": 0.3, "at_s": 2.0}
    _register("neurofit/QuadHover-v0", hover, 1000)
    _register("neurofit/QuadHoverNoisy-v0", hover, 1000, sensor_noise="realistic")
    _register("neurofit/QuadHoverHeavy-v0", hover, 1000, platform="heavy", sensor_noise="realistic")
    _register("neurofit/QuadHoverPayload-v0", hover, 1000, disturbances=[dict(payload_30)])
    _register(
        "neurofit/QuadHoverWind-v0",
        hover,
        1000,
        disturbances=[
            {"type": "Wind", "body": "quad", "mean_mps": [2.0, 0.0, 0.0], "gust_std_mps": 1.0,
             "gust_tau_s": 0.5, "start_s": 1.0}
        ],
    )
    _register("neurofit/QuadTrack-v0", track, 2000)
    _register(
        "neurofit/QuadTrackDisturbed-v0",
        track,
        2000,
        sensor_noise="realistic",
        disturbances=[
            dict(payload_30),
            {"type": "MotorDegradation", "actuators": [0], "fraction": 0.7, "at_s": 2.0},
            {"type": "Wind", "body": "quad", "mean_mps": [1.0, 0.5, 0.0], "gust_std_mps": 1.0,
             "gust_tau_s": 0.5, "start_s": 2.0},
        ],
    )
    # 15 s to cross the forest (envs/quadrotor_forest.py): ~3x the straight flight at cruise
    # speed (micro 4 m at 1 m/s, heavy 14 m at 3 m/s); 64 rays, teacher on (training)
    forest = "neurofit.envs.quadrotor_forest:QuadForestEnv"
    _register("neurofit/QuadForest-v0", forest, 1500)
    _register("neurofit/QuadForestHeavy-v0", forest, 1500, platform="heavy")
    # -- arm (envs/arm*.py) --
    # 4 targets x 2.0 s at dt = 0.01 s (frame_skip 5 x 2 ms) = 800 steps
    _register("neurofit/ArmReach-v0", "neurofit.envs.arm_reach:ArmReachEnv", 800)
    # payload doubled (+100 % of the nominal 0.2 kg) at t = 1 s; dict keeps the spec JSON-able
    _register(
        "neurofit/ArmReachPayload-v0",
        "neurofit.envs.arm_reach:ArmReachEnv",
        800,
        disturbances=[{"type": "Payload", "body": "payload", "mass_fraction": 1.0, "at_s": 1.0}],
    )
