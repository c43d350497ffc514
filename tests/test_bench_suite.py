"""The reward-mode task suite (``neurofit bench learning --task suite``) and what makes one
configuration fit every task: running observation statistics, the TD error in units of its
RMS, exploration that anneals on the returns."""

from __future__ import annotations

import json
import math

import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

from neurofit.agents._reward import ObservationNormaliser, OutputExploration, RunningScale
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
from neurofit.scripts.bench import suite, threshold_runs
from neurofit.scripts.bench.suite import budget_table, eval_points, run_suite
from neurofit.scripts.bench.threshold_runs import neurofit_steps_to_threshold

ENV_ID = "InvertedPendulum-v5"
SMALL = AgentConfig(mode="reward", n_per_input=6, n_output_neurons=10)


# ----------------------------------------------------------------------------- protocol
def test_eval_points_are_budgets_and_curve_rounded_up_to_a_rollout() -> None:
    # 20,000 → 10 rollouts of 2,048 = 20,480; 50,000 → 25 rollouts = 51,200
    assert eval_points([20_000, 50_000], 10_240) == [10_240, 20_480, 30_720, 40_960, 51_200]
    assert eval_points([4096], 3000) == [4096]  # 3000 → 4096 and 6000 → 6144 > the last
    with pytest.raises(ValueError, match="budgets must be"):
        eval_points([0])
    with pytest.raises(ValueError, match="curve_every must be"):
        eval_points([2048], 0)


def test_budget_table_recounts_the_evaluations() -> None:
    runs = [{"evaluations": [[2048, 1.0], [4096, 3.0]]},
            {"evaluations": [[2048, 2.0], [4096, 7.0]]}]
    table = budget_table(runs, [4000])
    assert table["4000"] == {"steps": 4096, "per_seed": [3.0, 7.0], "mean": 5.0, "std": 2.0}
    with pytest.raises(ValueError, match="no evaluation at 6144"):
        budget_table(runs, [5000])


def test_threshold_runs_evaluate_at_given_steps() -> None:
    run = neurofit_steps_to_threshold(ENV_ID, 0, max_steps=700, threshold=math.inf,
                                      eval_every=2048, eval_episodes=1, config=SMALL,
                                      eval_steps=[250, 500])
    assert [s for s, _ in run.evaluations] == [250, 500, 700]
    # learning writes each synapse at most once per control tick (one per env step, plus
    # one learning tick per terminated episode)
    n_syn = 4 * 6 * 10
    per_step = run.energy["weight_updates"]
    assert 0 < per_step <= n_syn * (1 + run.train_episodes / 700)
    assert run.energy["energy_j"] > run.energy["dynamic_j"] > 0
    with pytest.raises(ValueError, match="eval_steps must be positive integers"):
        neurofit_steps_to_threshold(ENV_ID, 0, max_steps=10, config=SMALL, eval_steps=[0])


def test_suite_runs_reports_and_skips_ppo_without_the_rl_extra(monkeypatch, tmp_path) -> None:
    def missing() -> None:
        raise ImportError("PPO needs the rl extra: pip install 'neurofit[rl]'")

    monkeypatch.setattr(threshold_runs, "require_rl", missing)
    result = run_suite([0, 1], [1000], envs=[ENV_ID], curve_every=2048, eval_episodes=2,
                       config=SMALL)
    assert "rl extra" in result["ppo_skipped"]
    entry = result["envs"][ENV_ID]
    assert "ppo" not in entry
    runs = entry["neurofit"]["runs"]
    assert [r["seed"] for r in runs] == [0, 1]
    assert all([s for s, _ in r["evaluations"]] == [2048] for r in runs)
    row = entry["neurofit"]["budgets"]["1000"]
    assert row["per_seed"] == [r["evaluations"][0][1] for r in runs]
    assert row["mean"] == pytest.approx(np.mean(row["per_seed"]))
    assert entry["neurofit"]["energy_per_step"]["weight_updates"] == pytest.approx(
        np.mean([r["energy"]["weight_updates"] for r in runs]))
    json.dumps(result, allow_nan=False)  # strict JSON: no inf threshold left in it
    suite.plot_curves(result, str(tmp_path / "curves.png"))
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_split_runs_merge_into_one_result(monkeypatch, tmp_path) -> None:
    def fake_ppo(env_id, seed, **kw):  # an independent stand-in: a curve from the seed alone
        class Run:
            def as_dict(self):
                return {"seed": seed, "evaluations": [[s, float(seed)] for s in kw["eval_steps"]],
                        "threshold": kw["threshold"], "steps_to_threshold": None,
                        "wall_s": 0.0}
        return Run(), None

    monkeypatch.setattr(threshold_runs, "require_rl", lambda: None)
    monkeypatch.setattr(threshold_runs, "ppo_steps_to_threshold", fake_ppo)
    kw = {"envs": [ENV_ID], "curve_every": 2048, "eval_episodes": 1, "config": SMALL}
    ppo_only = run_suite([0, 3], [1000], neurofit=False, **kw)
    nf_only = run_suite([0, 3], [1000], ppo=False, **kw)
    assert set(ppo_only["envs"][ENV_ID]) == {"ppo"} and set(nf_only["envs"][ENV_ID]) == {"neurofit"}
    assert ppo_only["envs"][ENV_ID]["ppo"]["budgets"]["1000"]["mean"] == 1.5
    merged = suite.merge(nf_only, ppo_only)
    assert merged["envs"][ENV_ID] == {**nf_only["envs"][ENV_ID], **ppo_only["envs"][ENV_ID]}
    with pytest.raises(ValueError, match="both results hold"):
        suite.merge(nf_only, nf_only)
    with pytest.raises(ValueError, match="different protocols"):
        suite.merge(nf_only, run_suite([0], [1000], ppo=False, **kw))
    # the CLI joins the two saved files and prints the table
    from neurofit.scripts.cli import app

    (tmp_path / "a.json").write_text(json.dumps(nf_only))
    (tmp_path / "b.json").write_text(json.dumps(ppo_only))
    out = CliRunner().invoke(app, ["bench", "learning", "--task", "suite", "--json",
                                   "--merge", f"{tmp_path / 'a.json'},{tmp_path / 'b.json'}"])
    assert out.exit_code == 0, out.output
    assert set(json.loads(out.output)["envs"][ENV_ID]) == {"neurofit", "ppo"}
    (tmp_path / "c.json").write_text("{not json")
    out = CliRunner().invoke(app, ["bench", "learning", "--task", "suite",
                                   "--merge", f"{tmp_path / 'a.json'},{tmp_path / 'c.json'}"])
    assert out.exit_code == 2 and "cannot read a JSON result" in " ".join(out.output.split())


@pytest.mark.parametrize(("args", "message"), [
    (["--task", "invpend", "--no-neurofit"], "for --task suite"),
    (["--task", "suite", "--merge", "a.json"], "two comma-separated JSON files"),
    (["--task", "suite", "--steps", "20000,x"], "steps must be comma-separated integers"),
    (["--task", "suite", "--steps", "0"], "positive step budgets"),
    (["--task", "suite", "--plot", "curves.txt"], ".png, .svg or .pdf"),
    (["--task", "suite", "--plot", "/no/such/dir/c.png"], "does not exist"),
    (["--task", "suite", "--max-steps", "1000"], "--steps"),
    (["--task", "invpend", "--steps", "1000"], "for --task suite"),
])
def test_cli_rejects_bad_suite_options(args: list[str], message: str) -> None:
    from neurofit.scripts.cli import app

    result = CliRunner().invoke(app, ["bench", "learning", *args, "--no-progress"])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


# ----------------------------------------------------------------------------- the pieces
def test_observation_normaliser_matches_the_batch_statistics() -> None:
    rng = np.random.default_rng(0)
    data = rng.normal([5.0, -2.0, 0.0], [0.1, 30.0, 1.0], size=(500, 3))
    data[:, 2] = 4.0  # a dimension that never varies
    norm = ObservationNormaliser(3, spread=2.0, limit=1.5)
    for x in data:
        norm.apply(x.copy(), update=True)
    probe = np.array([5.05, 10.0, 4.0])
    expected = np.zeros(3)  # the constant dimension maps to 0
    expected[:2] = (probe[:2] - data[:, :2].mean(0)) / (2.0 * data[:, :2].std(0, ddof=0))
    np.testing.assert_allclose(norm.apply(probe.copy(), update=False), expected, rtol=1e-9)
    assert norm.apply(np.array([99.0, 0.0, 0.0]), update=False)[0] == 1.5  # clipped


def test_running_scale_is_the_bias_corrected_rms() -> None:
    scale, rate = RunningScale(0.1), 0.1
    xs = [3.0, -1.0, 0.5, 2.0]
    for k, x in enumerate(xs, start=1):  # weights (1 − rate)^age, normalised to sum 1
        weights = [(1 - rate) ** (k - j) for j in range(1, k + 1)]
        ms = sum(w * v * v for w, v in zip(weights, xs[:k], strict=True)) / sum(weights)
        assert scale.update(x) == pytest.approx(math.sqrt(ms))
    assert RunningScale(0.1).update(0.0) == 0.0


def test_exploration_gain_anneals_on_the_returns() -> None:
    exp = OutputExploration(1, 0.2, 0.3, 0.04, np.random.default_rng(0), min_gain=0.25,
                            return_rate=0.5)
    exp.reset()  # the first episode starts
    exp.add_reward(4.0)
    exp.add_reward(6.0)
    assert exp.gain() == 1.0  # still open
    exp.reset()
    assert exp.gain() == 1.0  # one episode closed: no range yet
    for episode_return in (110.0, 60.0):
        exp.add_reward(episode_return)
        exp.reset()
        # mean 10 → 60 → 60; best 110, worst 10: (110 − 60) / 100
        assert exp.gain() == pytest.approx(0.5)
    for _ in range(20):
        exp.add_reward(110.0)
        exp.reset()
    assert exp.gain() == 0.25  # every episode at the best: the floor
    exp.reset()  # an episode without rewards (frozen evaluation) changes nothing
    assert exp.returns[1] == 23


def _train(env: gym.Env, steps: int) -> NeuroFitAgent:
    agent = NeuroFitAgent.from_env(env, AgentConfig(mode="reward", seed=2))
    obs, _ = env.reset(seed=0)
    agent.reset()
    for _ in range(steps):
        obs, reward, terminated, truncated, info = env.step(agent.act(obs))
        agent.observe(obs, float(reward), terminated, info)
        if terminated or truncated:
            obs, _ = env.reset()
            agent.reset()
    return agent


def test_learning_does_not_depend_on_observation_units_or_large_reward_scales() -> None:
    """The same task with its observation in other units (× 40, offset 3) and its reward
    scaled from × 50 to × 1250 learns the same weights: nothing in reward mode is tied to a
    task's scales once its rewards are large (RMS above 1, where the third factor is taken
    in units of the reward's RMS)."""
    base = gym.make(ENV_ID)
    box = gym.spaces.Box(-np.inf, np.inf, base.observation_space.shape, np.float64)
    plain = _train(gym.wrappers.TransformReward(gym.make(ENV_ID), lambda r: 50.0 * r), 400)
    scaled_env = gym.wrappers.TransformReward(
        gym.wrappers.TransformObservation(base, lambda o: 40.0 * o + 3.0, box),
        lambda r: 1250.0 * r)
    scaled = _train(scaled_env, 400)
    w, w_scaled = (a.policy.net.weights("learned") for a in (plain, scaled))
    assert np.abs(w).max() > 0
    np.testing.assert_allclose(w_scaled, w, rtol=1e-4, atol=1e-9)


def test_small_rewards_are_not_amplified() -> None:
    """Rewards with an RMS below 1 keep their own scale (a tenth of the reward: a tenth of
    each weight change), so that their noise does not drive the weights to their bounds."""
    ref = _train(gym.make(ENV_ID), 300)
    small = _train(gym.wrappers.TransformReward(gym.make(ENV_ID), lambda r: 0.1 * r), 300)
    w, w_small = (a.policy.net.weights("learned") for a in (ref, small))
    assert np.abs(w_small).max() < 0.5 * np.abs(w).max()
