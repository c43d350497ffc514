"""``neurofit bench record``: what recording costs, and how fast episodes replay and render.

- ``record_overhead``: extra time per step of the agent + env loop when every episode is
  recorded, as a fraction of the unrecorded loop (target <= 0.10). It includes everything
  recording causes: the recorder's per-step copies, writing each finished episode (HDF5 file,
  Minari link, metadata) and the agent's own ``record_tick`` hook. The split is reported too:
  the hook alone is timed in a run where an env wrapper calls it where the recorder does
  (after every reset and step), and nothing else.
- ``replay_fps``: steps/s of a checked re-simulation (no rendering).
- ``render_fps``: frames/s of the video pipeline (re-simulation, MuJoCo offscreen rendering,
  timeline cursor, H.264 encoding), at the default size and quality.

The agent is the NeuroFit agent (error mode) when it is available, else the PID baseline.
The overhead is measured in CPU time of this process (``time.process_time``: user + system,
HDF5 writes included), not wall time: on a shared machine other processes' load changes wall
time far more than the recorder does. Plain, hooked and recorded runs alternate, every one on
the same seeds, and the median per-step time of each is taken. The speeds are wall time.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_ENV", "run_bench"]

os.environ.setdefault("MUJOCO_GL", "egl")

DEFAULT_ENV = "neurofit/QuadHoverWind-v0"


def _make_agent(env: Any, kind: str) -> tuple[Any, str]:
    if kind in ("auto", "neurofit"):
        try:
            from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
        except ImportError:
            if kind == "neurofit":
                raise
        else:
            return NeuroFitAgent.from_env(env, AgentConfig(mode="error")), "NeuroFitAgent(error)"
    from neurofit.agents.baselines import PIDAgent

    return PIDAgent(env), "QuadPID"


def _hooked(env: Any, tick: Any) -> Any:
    """``env`` calling the agent's ``tick`` (its ``record_tick``) where the recorder does: after
    every ``reset`` and ``step``, and nothing else."""
    import gymnasium as gym

    class _Hooked(gym.Wrapper):  # type: ignore[type-arg]
        def reset(self, **kwargs: Any) -> Any:
            out = self.env.reset(**kwargs)
            tick()
            return out

        def step(self, action: Any) -> Any:
            out = self.env.step(action)
            tick()
            return out

    return _Hooked(env)


def _episodes(env: Any, agent: Any, n_episodes: int, seed: int) -> tuple[float, int]:
    """Run ``n_episodes`` from seeds ``seed, seed + 1, ...``; returns (CPU seconds, steps)."""
    from neurofit.agents.rollout import run_episode

    clock = time.process_time
    steps = 0
    t0 = clock()
    for i in range(n_episodes):
        steps += run_episode(agent, env, seed + i).steps
    return clock() - t0, steps


def run_bench(
    env_id: str = DEFAULT_ENV,
    agent_kind: str = "auto",
    episodes: int = 2,
    max_steps: int = 1000,
    repeats: int = 5,
    frames: int = 60,
    workdir: str | Path | None = None,
) -> dict[str, Any]:
    """Measure recording overhead, replay and render speed (see the module docstring)."""
    import gymnasium as gym

    import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)
    from neurofit.envs.recorded import open_recording
    from neurofit.envs.recording import EpisodeRecorder
    from neurofit.envs.replay import replay_episode
    from neurofit.scripts._machine import machine_info
    from neurofit.scripts.replay import render_video

    tmp = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="neurofit_bench_record_"))
    plain_env = gym.make(env_id, max_episode_steps=max_steps)
    agent, agent_name = _make_agent(plain_env, agent_kind)
    has_hook = callable(getattr(agent, "record_tick", None))
    hooked_env = _hooked(plain_env, agent.record_tick) if has_hook else plain_env
    try:
        _episodes(hooked_env, agent, 1, 10_000)  # warm-up: JIT, caches
        data_path = tmp / "dataset"
        rec_env = EpisodeRecorder(
            gym.make(env_id, max_episode_steps=max_steps), data_path, agent=agent
        )
        plain, hooked, recorded = [], [], []
        write_s = steps_recorded = 0.0
        for r in range(repeats):
            seed = 100 * r
            t, n = _episodes(plain_env, agent, episodes, seed)
            plain.append(t / n)
            if has_hook:
                t, n = _episodes(hooked_env, agent, episodes, seed)
                hooked.append(t / n)
            w0 = rec_env.write_time_s
            t, n = _episodes(rec_env, agent, episodes, seed)
            recorded.append(t / n)
            write_s += rec_env.write_time_s - w0
            steps_recorded += n
        rec_env.close()
        base = statistics.median(plain)
        with_hook = statistics.median(hooked) if hooked else base
        rec_t = statistics.median(recorded)

        rec = open_recording(data_path)
        t0 = time.perf_counter()
        steps = 0
        exact = True
        for i in rec.episode_indices():
            check = replay_episode(rec, i)
            steps += check.n_steps
            exact &= check.bit_exact
        replay_s = time.perf_counter() - t0
        ep_kb = rec.episode_file(0).stat().st_size / 1e3

        media = render_video(rec, 0, tmp / "bench.mp4", max_frames=frames, progress=False)
        render_fps = media.frames / media.render_s if media.render_s > 0 else 0.0
    finally:
        plain_env.close()
        if workdir is None:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "record_overhead": (rec_t - base) / base,
        "replay_fps": steps / replay_s,
        "render_fps": render_fps,
        "env_id": env_id,
        "agent": agent_name,
        "episodes": episodes,
        "max_steps": max_steps,
        "repeats": repeats,
        "clock": "process CPU time",
        "step_us_plain": base * 1e6,
        "step_us_recorded": rec_t * 1e6,
        "hook_us_per_step": (with_hook - base) * 1e6,
        "recorder_overhead": (rec_t - with_hook) / with_hook,
        "write_us_per_step": write_s / steps_recorded * 1e6,
        "episode_file_kb": ep_kb,
        "replay_bit_exact": bool(exact),
        "render_frames": media.frames,
        "render_size": "640x480 scene + timeline, quality fast",
        "machine": machine_info(),
    }
