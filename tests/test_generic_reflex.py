"""The generic feedback reflex: error mode on any env that reports ``info["error"]``.

Checked against things the reflex does not compute itself: MuJoCo's kinematics by finite
differences, the env's own distance and survival rewards, a zero-action run, and a resumed run
against an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np
import pytest
from gymnasium.envs.mujoco.inverted_pendulum_v5 import InvertedPendulumEnv
from gymnasium.envs.mujoco.reacher_v5 import ReacherEnv
from gymnasium.wrappers import TimeLimit

from neurofit.agents.baselines import PIDAgent, make_agent
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.reflex import ArmReflex, FeedbackReflex, QuadReflex, make_reflex
from neurofit.agents.rollout import FunctionAgent, run_episode
from neurofit.envs.arm_reach import ArmReachEnv
from neurofit.envs.error_feedback import (
    FEEDBACK_SPECS,
    ErrorFeedback,
    FeedbackSpec,
    make_with_error,
    reacher_error,
    reacher_error_jacobian,
)
from neurofit.envs.quadrotor_hover import QuadHoverEnv

REACHER = "Reacher-v5"
PENDULUM = "InvertedPendulum-v5"
#: a small, fast network
SMALL = {"n_per_input": 10, "n_output_neurons": 20}


def _fd_error_jacobian(model: mujoco.MjModel, qpos: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂(target − fingertip)/∂(joint0, joint1) by central differences of MuJoCo's kinematics."""
    data = mujoco.MjData(model)
    out = np.zeros((2, 2))
    for j, joint in enumerate(("joint0", "joint1")):
        adr = model.jnt_qposadr[model.joint(joint).id]
        for sign in (1.0, -1.0):
            data.qpos[:] = qpos
            data.qpos[adr] += sign * h
            mujoco.mj_kinematics(model, data)
            error = data.body("target").xpos[:2] - data.body("fingertip").xpos[:2]
            out[:, j] += sign * error / (2 * h)
    return out


def test_reacher_jacobian_matches_finite_differences() -> None:
    env = make_with_error(REACHER)
    obs, info = env.reset(seed=3)
    base = env.unwrapped
    rng = np.random.default_rng(0)
    for _ in range(6):
        obs, _, _, _, info = env.step(rng.uniform(-1, 1, 2).astype(np.float32))
        # what the wrapper reports is the declared function's value at that moment
        np.testing.assert_array_equal(info["error_jacobian"],
                                      reacher_error_jacobian(env, obs, info))
        # bring the kinematics to the current qpos, then compare with finite differences
        mujoco.mj_kinematics(base.model, base.data)
        mujoco.mj_comPos(base.model, base.data)
        jac = reacher_error_jacobian(env, obs, info)
        np.testing.assert_allclose(jac, _fd_error_jacobian(base.model, base.data.qpos),
                                   atol=1e-8)
    # and at configurations far from the start (elbow bent both ways)
    for q in ((0.3, 2.5), (-2.0, -1.2), (1.0, 0.0)):
        base.data.qpos[:2] = q
        mujoco.mj_kinematics(base.model, base.data)
        mujoco.mj_comPos(base.model, base.data)
        np.testing.assert_allclose(reacher_error_jacobian(env, obs, info),
                                   _fd_error_jacobian(base.model, base.data.qpos), atol=1e-8)
    env.close()


def _distances(agent: object, env: gym.Env, seeds: range) -> np.ndarray:
    """Per-step fingertip-target distances (the env's own ``-reward_dist``) of each episode."""
    out: list[list[float]] = []
    for seed in seeds:
        out.append([])
        run_episode(agent, env, seed, learn=False,
                    on_step=lambda s: out[-1].append(-s.info["reward_dist"]))
    return np.array(out)


def test_reflex_alone_reduces_reacher_distance() -> None:
    env = make_with_error(REACHER)
    reflex = _distances(PIDAgent(env, integral=False), env, range(10))
    idle = _distances(FunctionAgent(lambda obs: np.zeros(2, np.float32)), env, range(10))
    assert reflex.shape == idle.shape == (10, 50)
    # measured: 0.10 m against 0.25 m on average; at the end 0.03 m against 0.25 m
    assert reflex.mean() < 0.5 * idle.mean()
    assert reflex[:, -1].mean() < 0.25 * idle[:, -1].mean()
    assert np.all(reflex[:, -1] < idle[:, -1])
    env.close()


def test_pd_baseline_balances_the_pendulum() -> None:
    env = make_with_error(PENDULUM)
    agent = PIDAgent(env, integral=False)
    assert agent.reflex is not None and agent.reflex.map_source == "declared"
    for seed in range(3):  # the env pays 1 per step the pole stays up, 1000 steps at most
        result = run_episode(agent, env, seed)
        assert result.steps == 1000 and result.episode_return == pytest.approx(1000.0)
    env.close()


@pytest.mark.parametrize("env_id, steps", [(REACHER, 50), (PENDULUM, 300)])
def test_error_mode_runs_on_gymnasium_tasks(env_id: str, steps: int) -> None:
    env = make_with_error(env_id)
    agent = make_agent("neurofit", env, AgentConfig(mode="error", **SMALL))
    assert isinstance(agent.reflex, FeedbackReflex)
    assert agent.policy.shape.n_inputs == agent.reflex.n_error == len(FEEDBACK_SPECS[env_id].kp)
    actions: list[np.ndarray] = []
    result = run_episode(agent, env, 0, max_steps=steps,
                         on_step=lambda s: actions.append(np.asarray(s.action)))
    assert result.steps == steps and not result.terminated  # the pendulum stays up
    space = env.action_space
    assert all(space.contains(a) for a in actions)
    # the teaching signal reached the synapses
    assert np.any(agent.policy.net.weights("learned") != 0.0)
    env.close()


def test_error_mode_learns_from_the_first_training_run(tmp_path: Path) -> None:
    """``neurofit train`` builds Gymnasium error-mode envs through the error adapter."""
    from neurofit.agents.training import TrainConfig, make_env

    config = TrainConfig(env_id=REACHER, mode="error", total_steps=10)
    env = make_env(config)
    _, info = env.reset(seed=0)
    assert "error" in info and "error_jacobian" in info
    env.close()
    assert "error" not in make_env(TrainConfig(env_id=REACHER, mode="reward",
                                               total_steps=10)).reset(seed=0)[1]
    with pytest.raises(ValueError, match="error mode needs the task error"):
        TrainConfig(env_id="Hopper-v5", mode="error", total_steps=10)


def _drive(agent: NeuroFitAgent, env: gym.Env, actions: list[np.ndarray], n: int,
           obs: np.ndarray) -> np.ndarray:
    for _ in range(n):
        action = agent.act(obs)
        actions.append(action)
        obs, reward, terminated, _, info = env.step(action)
        agent.observe(obs, float(reward), terminated, info)
    return obs


def test_resume_is_bit_exact(tmp_path: Path) -> None:
    config = AgentConfig(mode="error", seed=4, **SMALL)
    env = make_with_error(REACHER)
    agent = make_agent("neurofit", env, config)
    obs, _ = env.reset(seed=11)
    agent.reset()
    before: list[np.ndarray] = []
    obs = _drive(agent, env, before, 23, obs)  # mid-episode
    agent.save(tmp_path / "agent.npz")
    after: list[np.ndarray] = []
    _drive(agent, env, after, 20, obs)
    # a fresh agent from the checkpoint, on an env brought to the same state
    env2 = make_with_error(REACHER)
    obs2, _ = env2.reset(seed=11)
    for action in before:
        obs2, *_ = env2.step(action)
    resumed = make_agent("neurofit", env2, config)
    resumed.load_state(tmp_path / "agent.npz")
    again: list[np.ndarray] = []
    _drive(resumed, env2, again, 20, obs2)
    for a, b in zip(after, again, strict=True):
        np.testing.assert_array_equal(a, b)


def _undeclared_reacher() -> gym.Env:
    """Reacher under an error adapter that declares nothing (the map must be estimated)."""
    return ErrorFeedback(gym.make(REACHER), reacher_error)


def test_estimated_map_reflex_reaches_and_resumes() -> None:
    env = _undeclared_reacher()
    reflex = make_reflex(env, n_error=2, kp=2.0, kd=0.2, seed=1)
    assert isinstance(reflex, FeedbackReflex) and reflex.map_source == "estimated"
    zero = np.zeros(2)
    cosines: list[float] = []

    def observe(info: dict) -> None:
        reflex.observe(info)
        # the estimated map against the declared Jacobian-transpose law, at this state
        declared = -reacher_error_jacobian(env, None, {}).T
        estimated = reflex.get_state()["map"]
        if np.any(estimated):
            cosines.append(float(np.sum(declared * estimated)
                                 / (np.linalg.norm(declared) * np.linalg.norm(estimated))))

    class Driver(FunctionAgent):
        def observe(self, obs: np.ndarray, reward: float, terminated: bool,
                    info: dict) -> None:
            observe(info)

    driver = Driver(lambda obs: reflex.act(obs, zero), reflex.reset)
    _distances(driver, env, range(5))  # the estimate settles over a few episodes
    cosines.clear()
    learned = _distances(driver, env, range(100, 115))
    idle = _distances(FunctionAgent(lambda obs: np.zeros(2, np.float32)), env, range(100, 115))
    # measured: mean cosine 0.6 (the Jacobian turns with the arm faster than the estimate
    # follows), mean distance 0.15 m against 0.25 m without action
    assert np.mean(cosines) > 0.4
    assert learned.mean() < 0.8 * idle.mean()
    # state round trip: a copy continues exactly as the original (probe stream included)
    copy = make_reflex(env, n_error=2, kp=2.0, kd=0.2, seed=99)
    copy.set_state(reflex.get_state())
    obs = np.zeros(10)
    for _ in range(5):
        np.testing.assert_array_equal(reflex.act(obs, zero), copy.act(obs, zero))
        info = {"error": np.array([0.05, -0.02])}
        reflex.observe(info)
        copy.observe(info)
    with pytest.raises(ValueError, match="shape"):
        copy.set_state({**reflex.get_state(), "e": np.zeros(3)})
    env.close()


class Hovering(QuadHoverEnv):
    """A quadrotor env whose class name says nothing of what it is."""


class Reaching(ArmReachEnv):
    """The NeuroFit arm under another name."""


class Planar(ReacherEnv):
    """Gymnasium's Reacher under another name."""


class QuadArmPendulum(InvertedPendulumEnv):
    """A pendulum whose name contains "quad" and "arm"."""


def test_reflex_choice_follows_type_and_declaration_not_name() -> None:
    assert isinstance(make_reflex(Hovering()), QuadReflex)
    assert isinstance(make_reflex(Reaching()), ArmReflex)
    planar = ErrorFeedback(TimeLimit(Planar(), 50), reacher_error,
                           feedback=FEEDBACK_SPECS[REACHER])
    reflex = make_reflex(planar)
    assert isinstance(reflex, FeedbackReflex) and reflex.map_source == "jacobian"
    # and it works on the renamed env as on Reacher-v5
    far = _distances(FunctionAgent(lambda obs: np.zeros(2, np.float32)), planar, range(3))
    near = _distances(PIDAgent(planar, integral=False), planar, range(3))
    assert near.mean() < 0.5 * far.mean()
    with pytest.raises(ValueError, match="no reflex for"):
        make_reflex(TimeLimit(QuadArmPendulum(), 10))
    agent = NeuroFitAgent.from_env(Hovering(), AgentConfig(mode="error", **SMALL))
    assert isinstance(agent.reflex, QuadReflex)


def test_feedback_spec_and_reflex_reject_bad_input() -> None:
    with pytest.raises(ValueError, match="kd"):
        FeedbackSpec(kp=(1.0, 1.0), kd=(1.0,), error_scale=(1.0, 1.0),
                     error_to_action=((1.0, 1.0),))
    with pytest.raises(ValueError, match="exactly one"):
        FeedbackSpec(kp=(1.0,), kd=(0.0,), error_scale=(1.0,))
    with pytest.raises(ValueError, match="give the reflex's kp, kd, n_error"):
        make_reflex(_undeclared_reacher())
    with pytest.raises(ValueError, match="integral gains"):
        make_agent("pid", make_with_error(REACHER))
    square = FeedbackSpec(kp=(1.0, 1.0), kd=(0.0, 0.0), error_scale=(1.0, 1.0),
                          jacobian_fn=lambda e, o, i: np.zeros((2, 2)))
    bad = ErrorFeedback(gym.make(PENDULUM), lambda e, o, i: np.zeros(2),
                        feedback=square)  # a 2 x 2 Jacobian for 1 action
    with pytest.raises(ValueError, match="jacobian_fn must return"):
        bad.reset(seed=0)
    reflex = make_reflex(make_with_error(REACHER))
    with pytest.raises(ValueError, match="error_jacobian"):
        reflex.observe({"error": np.zeros(2)})


def test_bench_learning_reacher_json_tiny() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "neurofit.scripts.cli", "bench", "learning", "--task", "reacher",
         "--seeds", "0", "--max-steps", "100", "--no-ppo", "--json", "--no-progress"],
        capture_output=True, text=True, timeout=600, check=False, env=os.environ.copy())
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["task"] == "reacher" and out["env_id"] == REACHER
    assert out["protocol"]["train_steps"] == 100 and out["protocol"]["ppo_steps"] == 1000
    assert out["return_ppo"] is None and out["met"]["beats_ppo_10x"] is None
    (row,) = out["per_seed"]
    assert row["seed"] == 0 and out["return_reflex"]["per_seed"] == [row["reflex"]]
    # the reflex's figure is the mean return of the evaluation episodes, recounted here
    env = make_with_error(REACHER)
    recount = np.mean([run_episode(PIDAgent(env, integral=False), env, 10_000 + k).episode_return
                       for k in range(out["protocol"]["eval_episodes"])])
    assert row["reflex"] == pytest.approx(recount, abs=1e-9)


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="measured: NeuroFit's learned correction does not beat "
                   "the return-tuned reflex on Reacher-v5 (docs/benchmarks.md, Reacher error "
                   "mode); XPASS means it now does: drop this mark")
def test_neurofit_beats_reflex_alone_on_reacher() -> None:
    # the benchmark's protocol on one seed (after 5,000 steps the correction is still too small
    # to tell: +0.003 on these 50 episodes; at 20,000 it is -0.034)
    from neurofit.scripts.bench.reacher import run_reacher

    result = run_reacher(seeds=(0,), train_steps=20_000, eval_episodes=50, ppo=False)
    assert result["neurofit_minus_reflex"] > 0.0
