"""One rollout (run_episode) and one agent contract (Agent) for every agent class."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import neurofit.envs  # noqa: F401
from neurofit.agents import Agent, FunctionAgent, ReflexAgent, StepResult, run_episode
from neurofit.agents.baselines import MLPAgent, PIDAgent, RandomAgent
from neurofit.agents.mlp import NumpyMLP
from neurofit.agents.mlp_feedback import FeedbackMLPAgent
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.agents.reflex import QuadReflex

ENV = "neurofit/QuadHover-v0"


def _by_hand(env: gym.Env, seed: int, n: int) -> tuple[float, list[float]]:
    """The same episode's first ``n`` steps with a fresh random agent, written out."""
    agent = RandomAgent(env, seed=3)
    obs, _ = env.reset(seed=seed)
    total, rewards = 0.0, []
    for _ in range(n):
        obs, reward, terminated, truncated, _ = env.step(agent.act(obs))
        total += float(reward)
        rewards.append(float(reward))
        if terminated or truncated:
            break
    return total, rewards


def test_run_episode_matches_a_hand_written_loop_and_stops_where_told() -> None:
    env = gym.make(ENV)
    expect_total, expect_rewards = _by_hand(env, 5, 10_000)  # random actions crash early
    seen: list[float] = []
    whole = run_episode(RandomAgent(env, seed=3), env, 5,
                        on_step=lambda s: seen.append(float(s.reward)))
    assert whole.steps == len(expect_rewards) > 10
    assert whole.episode_return == pytest.approx(expect_total, rel=0, abs=1e-12)
    assert seen == expect_rewards
    assert whole.terminated and whole.done

    cut = run_episode(RandomAgent(env, seed=3), env, 5, max_steps=10)
    assert cut.steps == 10 and not cut.done
    assert cut.episode_return == pytest.approx(sum(expect_rewards[:10]), rel=0, abs=1e-12)

    def stop_at_7(s: StepResult) -> bool:
        return s.step < 7

    stopped = run_episode(RandomAgent(env, seed=3), env, 5, on_step=stop_at_7)
    assert stopped.steps == 7 and not stopped.done
    assert stopped.episode_return == pytest.approx(sum(expect_rewards[:7]), rel=0, abs=1e-12)
    env.close()


def test_run_episode_freezes_learning_only_for_the_episode() -> None:
    env = gym.make(ENV)
    agent = NeuroFitAgent.from_env(env, AgentConfig(mode="error", n_per_input=8))
    flags: list[bool] = []
    run_episode(agent, env, 0, learn=False, max_steps=3,
                on_step=lambda s: flags.append(agent.learning))
    assert flags == [False] * 3
    assert agent.learning is True
    env.close()


def test_every_agent_class_conforms_to_the_agent_protocol() -> None:
    quad = gym.make(ENV)
    arm = gym.make("neurofit/ArmReach-v0")
    agents = [
        NeuroFitAgent.from_env(quad, AgentConfig(mode="error", n_per_input=8)),
        NeuroFitAgent.from_env(arm, AgentConfig(mode="error", n_per_input=8)),
        PIDAgent(quad), PIDAgent(arm, integral=False), RandomAgent(quad),
        MLPAgent(NumpyMLP([np.zeros((4, 18)), np.zeros((4, 4))], [np.zeros(4), np.zeros(4)])),
        FeedbackMLPAgent.from_env(quad),
        FunctionAgent(lambda obs: np.zeros(4)), ReflexAgent(QuadReflex(quad)),
    ]
    for agent in agents:
        assert isinstance(agent, Agent), type(agent).__name__
        assert isinstance(agent.describe()["text"], str)
        assert agent.usage().kind in ("snn", "dnn", "reflex")
    assert not isinstance(object(), Agent)
    quad.close()
    arm.close()
