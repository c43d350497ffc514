"""``neurofit bench agent``: µs per agent tick next to µs per env step, in the same run."""

from __future__ import annotations

import json
import time
from dataclasses import replace

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from neurofit.scripts._machine import machine_info


def _median_us(fn, n: int, repeats: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - start) / n * 1e6)
    return float(np.median(runs)), runs


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("agent")
    def bench_agent(
        env_id: str = typer.Option("neurofit/QuadHover-v0", "--env", help="Env to step."),
        ticks: int = typer.Option(2000, min=10, help="Ticks per repeat."),
        repeats: int = typer.Option(5, min=1, help="Repeats (the median is reported)."),
        n_per_input: int = typer.Option(134, min=1, help="Hidden neurons per input dim."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    ) -> None:
        """Time everything ``act`` + ``observe`` do (reflex, encoder, network at 10 substeps,
        decoder, learning) against ``env.step`` of the same env."""
        import gymnasium as gym

        import neurofit.envs  # noqa: F401
        from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent

        env = gym.make(env_id)
        obs, info = env.reset(seed=0)
        agent = NeuroFitAgent.from_env(env, replace(AgentConfig(), n_per_input=n_per_input))
        agent.reset()
        for _ in range(200):  # compile and settle
            action = agent.act(obs)
            obs, reward, terminated, truncated, info = env.step(action)
            agent.observe(obs, reward, terminated, info)
            if terminated or truncated:
                obs, info = env.reset(seed=1)
        state = {"obs": obs, "info": info}

        def agent_tick() -> None:
            agent.act(state["obs"])
            agent.observe(state["obs"], 0.0, False, state["info"])

        fixed_action = agent.act(obs)

        def env_step() -> None:
            _o, _, term, trunc, _ = env.step(fixed_action)
            if term or trunc:
                env.reset(seed=2)

        agent_us, agent_all = _median_us(agent_tick, ticks, repeats)
        env_us, env_all = _median_us(env_step, ticks, repeats)
        result = {
            "env_id": env_id, "neurons": agent.n_neurons, "substeps": agent.config.substeps,
            "agent_tick_us": agent_us, "env_step_us": env_us, "ratio": agent_us / env_us,
            "agent_tick_us_all": agent_all, "env_step_us_all": env_all,
            "target_ratio": 1.0, "machine": machine_info(),
        }
        if as_json:
            typer.echo(json.dumps(result))
            return
        table = Table(title=f"Agent tick vs env step ({env_id}, median of {repeats})")
        for col in ("neurons", "substeps", "agent tick µs", "env step µs", "ratio"):
            table.add_column(col, justify="right")
        table.add_row(str(agent.n_neurons), str(agent.config.substeps), f"{agent_us:.1f}",
                      f"{env_us:.1f}", f"{agent_us / env_us:.2f}")
        Console().print(table)
