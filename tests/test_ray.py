"""The Ray backend on a real local Ray: a seed sweep gives, bit for bit, what the process pool
and a plain run in this process give (metrics and every array of every file the run saves), and
the ``neurofit`` command joins the cluster that ``RAY_ADDRESS`` names, as the README says.

Skipped only when Ray (the ``cluster`` extra) is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray")

from neurofit.agents.training import TrainConfig, train, train_many  # noqa: E402

SEEDS = [0, 1]
# the default network (its decoders are where BLAS threads once leaked into the results), on
# three short episodes and one evaluation episode
CONFIG = TrainConfig(env_id="neurofit/QuadHoverPayload-v0", env_kwargs={"max_episode_steps": 50},
                     total_steps=150, eval_episodes=1)
FILES = ("metrics.json", "metrics.csv", "eval.csv", "config.json")
ARRAYS = ("agent.npz", "checkpoints/latest.npz")


@pytest.fixture(scope="module")
def local_ray() -> Iterator[str]:
    """A real local Ray of 2 CPUs for this module; yields its address."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("RAY_ADDRESS", raising=False)  # start our own, never join a user's cluster
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def process_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference: the sweep on the process pool (2 spawned workers)."""
    root = tmp_path_factory.mktemp("process")
    before = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    train_many(CONFIG, SEEDS, workers=2, run_root=root, backend="local", progress=False)
    after = {k: os.environ.get(k) for k in before}
    assert after == before, "the workers' thread settings leaked into this process"
    return root


def _arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path) as data:
        return {k: data[k] for k in data.files}


def _assert_same_run(a: Path, b: Path) -> None:
    """Every saved text file equal, and every array of every .npz equal bit for bit."""
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{a / name} vs {b / name}"
    for name in ARRAYS:
        wa, wb = _arrays(a / name), _arrays(b / name)
        assert sorted(wa) == sorted(wb), name
        for key in wa:
            assert wa[key].dtype == wb[key].dtype and np.array_equal(wa[key], wb[key]), (
                f"{name}[{key}] differs: max |diff| "
                f"{np.max(np.abs(wa[key].astype(float) - wb[key].astype(float)))}")


def test_ray_backend_equals_process_pool_bit_for_bit(local_ray: str, process_sweep: Path,
                                                      tmp_path: Path) -> None:
    results = train_many(CONFIG, SEEDS, workers=2, run_root=tmp_path, backend="ray",
                         progress=False)
    assert [r.config.seed for r in results] == SEEDS
    assert [r.run_dir for r in results] == [tmp_path.absolute() / f"seed_{s}" for s in SEEDS]
    for seed, result in zip(SEEDS, results, strict=True):
        assert result.steps == CONFIG.total_steps and len(result.metrics) == 3
        _assert_same_run(tmp_path / f"seed_{seed}", process_sweep / f"seed_{seed}")
    # the seeds are different runs (a comparison of two copies of one run would prove nothing)
    assert results[0].metrics[0]["return"] != results[1].metrics[0]["return"]


def test_sweep_equals_a_plain_run_in_this_process(process_sweep: Path, tmp_path: Path) -> None:
    # this process keeps its own BLAS threads (one per core); the workers run one each
    for seed in SEEDS:
        train(TrainConfig(**{**CONFIG.to_dict(), "seed": seed}), tmp_path / f"seed_{seed}",
              progress=False)
        _assert_same_run(tmp_path / f"seed_{seed}", process_sweep / f"seed_{seed}")


def test_cli_joins_the_cluster_named_by_ray_address(local_ray: str, process_sweep: Path,
                                                     tmp_path: Path) -> None:
    # the README's recipe: RAY_ADDRESS=<head> neurofit train ... --backend ray
    cmd = [sys.executable, "-m", "neurofit.scripts.cli", "train",
           "--env", CONFIG.env_id, "--env-kwargs", '{"max_episode_steps": 50}',
           "--steps", str(CONFIG.total_steps), "--eval-episodes", "1",
           "--seeds", ",".join(map(str, SEEDS)), "--workers", "2", "--backend", "ray",
           "--run-dir", str(tmp_path / "sweep"), "--no-progress"]
    env = {**os.environ, "RAY_ADDRESS": local_ray}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # Ray logs which cluster a driver joined; a second local instance would say "Started"
    log = proc.stderr + proc.stdout
    assert f"Connecting to existing Ray cluster at address: {local_ray}" in log, log[-3000:]
    assert "Started a local Ray instance" not in log
    for seed in SEEDS:
        _assert_same_run(tmp_path / "sweep" / f"seed_{seed}", process_sweep / f"seed_{seed}")
