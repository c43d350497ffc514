"""A hostile user against ``neurofit train`` / ``evaluate`` (issue 11, §3 items 2, 3, 5, 6, 7, 9):
concurrent trainers, Ctrl-C, corrupt checkpoints, full and read-only disks, bad values.
Each gets one clear line naming what is wrong and what to do, and loses nothing."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from typer.testing import CliRunner

from neurofit.agents.neurofit_agent import AgentConfig, build_memory_bytes
from neurofit.agents.training import RunLockedError, TrainConfig, TrainingInterrupted, train
from neurofit.scripts.cli import app

# a fast network and 50-step episodes: a checkpoint every 50 steps
TINY_AGENT = {"n_per_input": 10, "n_output_neurons": 20}
TINY_ENV = {"max_episode_steps": 50}
TINY = ["--set", "n_per_input=10", "--set", "n_output_neurons=20",
        "--env-kwargs", json.dumps(TINY_ENV), "--eval-episodes", "0", "--no-progress"]
ENV = "neurofit/QuadHoverPayload-v0"


def _config(steps: int) -> TrainConfig:
    return TrainConfig(env_id=ENV, env_kwargs=TINY_ENV, agent_config=TINY_AGENT,
                       total_steps=steps, eval_episodes=0)


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished 150-step run: checkpoints at steps 50, 100 (previous) and 150 (latest)."""
    run = tmp_path_factory.mktemp("finished") / "run"
    train(_config(150), run, progress=False)
    return run


def _copy(run: Path, to: Path) -> Path:
    shutil.copytree(run, to)
    return to


def _cli(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def _one_error_line(result: object, code: int = 2) -> str:
    """The CLI failed with ``code`` and printed exactly one line, no traceback."""
    assert result.exit_code == code, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    assert isinstance(result.exception, SystemExit)  # type: ignore[attr-defined]
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]  # type: ignore[attr-defined]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    return lines[0]


def _snapshot(run: Path) -> dict[str, str]:
    """Hash of every file (the lock file aside: it holds the last trainer's PID)."""
    return {str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run.rglob("*")) if p.is_file() and p.name != "train.lock"}


def _same_npz(a: Path, b: Path) -> bool:
    with np.load(a) as x, np.load(b) as y:
        return set(x.files) == set(y.files) and all(np.array_equal(x[k], y[k]) for k in x.files)


def _state_step(run: Path) -> int:
    return int(json.loads((run / "checkpoints/state.json").read_text())["step"])


# ------------------------------------------------------------------ 2 + 9: lock and Ctrl-C
def _stop(trainer: subprocess.Popen, sig: int) -> str:
    """Send ``sig`` to a running trainer, wait for it (kill it after 300 s); its stderr."""
    try:
        trainer.send_signal(sig)
        _, err = trainer.communicate(timeout=300)
    finally:
        if trainer.poll() is None:
            trainer.kill()
            trainer.wait()
    return err


def _trainer_at_first_checkpoint(run: Path) -> subprocess.Popen:
    """A long `neurofit train` in a subprocess, returned once its first checkpoint is on disk."""
    trainer = subprocess.Popen(
        [sys.executable, "-m", "neurofit.scripts.cli", "train", "--env", ENV, "--steps",
         "1000000", "--run-dir", str(run), *TINY],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 600
    while not (run / "checkpoints/state.json").exists():
        if trainer.poll() is not None or time.monotonic() > deadline:
            trainer.kill()
            raise AssertionError(trainer.communicate())
        time.sleep(0.2)
    return trainer


def test_second_trainer_is_refused_and_ctrl_c_says_how_to_resume(finished_run: Path,
                                                                  tmp_path: Path) -> None:
    run = tmp_path / "run"
    trainer = _trainer_at_first_checkpoint(run)
    try:
        # a second trainer (this process) on the same run dir: refused at once, by PID
        before = _snapshot(finished_run)
        line = _one_error_line(_cli("train", "--run-dir", str(run), "--resume",
                                    "--steps", "2000000", "--no-progress"))
        assert f"PID {trainer.pid} on host" in line and "is in use" in line
        assert trainer.poll() is None  # the first one trains on
        assert _snapshot(finished_run) == before
    finally:
        # Ctrl-C: exit 130, where the run stands, and the command that resumes it
        err = _stop(trainer, signal.SIGINT)
    assert trainer.returncode == 130, err
    ckpt = _state_step(run)  # what the run's own files say
    m = re.search(r"stopped at step (\d+) of 1000000; its last checkpoint is at step (\d+)", err)
    assert m is not None, err
    stopped, said = int(m.group(1)), int(m.group(2))
    assert said == ckpt and ckpt % 50 == 0 and ckpt <= stopped <= ckpt + 50
    command = re.search(r"resume with: (.+)", err)
    assert command is not None and "Traceback" not in err
    args = shlex.split(command.group(1))
    assert args[:1] == ["neurofit"] and args[1:] == ["train", "--run-dir", str(run), "--resume"]
    # the command works (with a budget just past the checkpoint, to keep the test short)
    result = _cli(*args[1:], "--steps", str(ckpt + 50), "--no-progress")
    assert result.exit_code == 0, result.stderr
    assert _state_step(run) == ckpt + 50


def test_lock_dies_with_its_holder_and_guards_the_temp_files(finished_run: Path,
                                                            tmp_path: Path) -> None:
    run = _copy(finished_run, tmp_path / "run")
    # what writers killed mid-write leave behind, and two files that are not theirs
    stale = [run / "checkpoints/tmpab12cd/agent.npz.tmp", run / "checkpoints/.latest.npz.9.ab.tmp",
             run / "tmpq1w2e3.npz.tmp", run / ".metrics.csv.9.cafe.tmp",
             run / ".staging-x1y2/agent.npz"]  # the final agent's staging (a kill mid-save)
    keep = [run / "notes.tmp", run / "checkpoints/keep.txt"]
    for p in stale + keep:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"partial")
    with subprocess.Popen(
            [sys.executable, "-c", "import sys, time; from pathlib import Path; "
             "from neurofit.agents._run_dir import _lock_run_dir; "
             "_lock_run_dir(Path(sys.argv[1])); print('locked', flush=True); time.sleep(600)",
             str(run)], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            with pytest.raises(RunLockedError, match=f"PID {holder.pid} on host"):
                train(_config(150), run, resume=True, progress=False)
            assert all(p.exists() for p in stale)  # not touched without the lock
        finally:
            holder.send_signal(signal.SIGKILL)  # the OS drops the lock with its holder
    result = train(_config(150), run, resume=True, progress=False)
    assert result.steps == 150
    assert not any(p.exists() for p in stale) and all(p.exists() for p in keep)


# ------------------------------------------------------------------ 9: fewer steps than done
def test_resume_with_fewer_steps_than_done_is_refused(finished_run: Path, tmp_path: Path) -> None:
    run = _copy(finished_run, tmp_path / "run")
    before = _snapshot(run)
    line = _one_error_line(_cli("train", "--run-dir", str(run), "--resume", "--steps", "100",
                                "--no-progress"))
    assert "has already done 150 steps" in line and "total_steps (--steps) 100 is fewer" in line
    assert _snapshot(run) == before  # config.json not rewritten


# ------------------------------------------------------------------ 3: corrupt checkpoints
def _truncate(p: Path) -> None:
    p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])


def _empty(p: Path) -> None:
    p.write_bytes(b"")


def _random(p: Path) -> None:
    p.write_bytes(np.random.default_rng(0).bytes(5000))


def _pickle(p: Path) -> None:  # numpy would suggest allow_pickle for this one
    p.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}))


def _flip(p: Path) -> None:  # one byte of array data: only the member's CRC can tell
    data = bytearray(p.read_bytes())
    data[len(data) // 2] ^= 0xFF
    p.write_bytes(bytes(data))


DAMAGE = {"truncated": (_truncate, "truncated or damaged"), "empty": (_empty, "empty (0 bytes)"),
          "random": (_random, "not an .npz archive"), "pickle": (_pickle, "not an .npz archive"),
          "flipped": (_flip, "truncated or damaged")}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_corrupt_latest_checkpoint_is_named_and_nothing_changes(finished_run: Path,
                                                                tmp_path: Path,
                                                                kind: str) -> None:
    run = _copy(finished_run, tmp_path / "run")
    damage, reason = DAMAGE[kind]
    damage(run / "checkpoints/latest.npz")
    before = _snapshot(run)
    line = _one_error_line(_cli("train", "--run-dir", str(run), "--resume", "--no-progress"))
    assert f"{run}/checkpoints/latest.npz is corrupt" in line and reason in line
    assert "previous.npz (step 100) is intact" in line and "--from-previous" in line
    assert "pickle" not in line
    assert _snapshot(run) == before


@pytest.mark.parametrize("kind", ["truncated", "empty", "random", "pickle"])
def test_corrupt_agent_file_is_named_on_evaluate(finished_run: Path, tmp_path: Path,
                                                 kind: str) -> None:
    run = _copy(finished_run, tmp_path / "run")
    damage, reason = DAMAGE[kind]
    damage(run / "agent.npz")
    before = _snapshot(run)
    line = _one_error_line(_cli("evaluate", "--run-dir", str(run), "--episodes", "1",
                                "--baselines", ""))
    assert f"{run}/agent.npz is corrupt" in line and reason in line and "pickle" not in line
    assert f"latest checkpoint (step 150) with: neurofit train --run-dir {run} --resume" in line
    assert _snapshot(run) == before


def test_from_previous_resumes_to_the_uninterrupted_result(finished_run: Path,
                                                           tmp_path: Path) -> None:
    run = _copy(finished_run, tmp_path / "run")
    _truncate(run / "checkpoints/latest.npz")
    damaged = (run / "checkpoints/latest.npz").read_bytes()
    result = _cli("train", "--run-dir", str(run), "--resume", "--from-previous", "--no-progress")
    assert result.exit_code == 0, result.stderr
    # the damaged file is kept aside; steps 100-150 trained again give the same agent
    assert (run / "checkpoints/latest.corrupt.npz").read_bytes() == damaged
    assert _same_npz(run / "agent.npz", finished_run / "agent.npz")
    assert _same_npz(run / "checkpoints/latest.npz", finished_run / "checkpoints/latest.npz")
    # an intact latest checkpoint is not rolled back
    line = _one_error_line(_cli("train", "--run-dir", str(run), "--resume", "--from-previous",
                                "--no-progress"))
    assert "latest.npz is intact" in line


# ------------------------------------------------------------------ 5: full and read-only disks
def _no_temp_files(run: Path) -> None:
    left = [p for p in run.rglob("*") if p.name.endswith(".tmp")
            or (p.is_dir() and p.name.startswith("tmp"))]
    assert not left, left


def test_disk_full_while_checkpointing_is_one_line(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(np, "savez", full)  # every .npz write: checkpoints and agent files
    run = tmp_path / "run"
    line = _one_error_line(_cli("train", "--env", ENV, "--steps", "100", "--run-dir", str(run),
                                *TINY), code=1)
    assert line.startswith(f"error: cannot write {run}/checkpoints/latest.npz: "
                           "No space left on device (the disk is full")
    _no_temp_files(run)


def _mount_tmpfs(where: Path, size: str) -> None:
    where.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}",
                                            "tmpfs", str(where)], check=False).returncode:
        pytest.skip("needs root to mount a tmpfs")


def test_real_full_and_read_only_disks(finished_run: Path, tmp_path: Path) -> None:
    full, ro = tmp_path / "full", tmp_path / "ro"
    _mount_tmpfs(full, "40k")
    try:
        run = full / "run"
        line = _one_error_line(_cli("train", "--env", ENV, "--steps", "150", "--run-dir",
                                    str(run), *TINY), code=1)
        assert re.match(rf"error: cannot write {run}/\S+: No space left on device", line), line
        _no_temp_files(run)
    finally:
        subprocess.run(["umount", str(full)], check=True)
    _mount_tmpfs(ro, "2m")
    try:
        _copy(finished_run, ro / "run")
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
        for args in (["train", "--run-dir", str(ro / "run"), "--resume", "--steps", "200",
                      "--no-progress"],
                     ["evaluate", "--run-dir", str(ro / "run"), "--episodes", "1",
                      "--baselines", "", "--record"]):
            line = _one_error_line(_cli(*args), code=1)
            assert line.startswith(f"error: cannot write {ro}/run/")
            assert "Read-only file system" in line
    finally:
        subprocess.run(["umount", str(ro)], check=True)


# ------------------------------------------------------------------ 6 + 7: bad values
@pytest.mark.parametrize(("args", "message"), [
    (["--set", "connection_p=abc"], "connection_p must be a number in (0, 1], got 'abc' (a str)"),
    (["--set", 'gamma="x"'], "gamma must be a number in [0, 1], got 'x' (a str)"),
    (["--set", 'analog={"nosuch":1}'], "unknown analog field(s) ['nosuch']; known fields: "
                                        "weight_bits, stochastic_rounding"),
    (["--set", "weight_bits=2.5"], "weight_bits must be None or an integer in [1, 24], got 2.5"),
    (["--set", "energy_profile=nosuch"], "energy_profile: unknown hardware profile 'nosuch'"),
    (["--set", "input_width=true"], "input_width must be a finite number > 0, got True"),
    (["--set", "learning_rate=NaN"], "learning_rate must be a finite number >= 0, got nan"),
    (["--env-kwargs", "{bad json"], "--env-kwargs is not valid JSON"),
    (["--env-kwargs", "[1]"], "--env-kwargs must be a JSON object"),
    (["--backend", "nosuch"], "--backend must be local or ray, got 'nosuch'"),
])
def test_bad_values_name_option_value_and_range(args: list[str], message: str,
                                                tmp_path: Path) -> None:
    run = tmp_path / "r"
    line = _one_error_line(_cli("train", "--env", ENV, "--steps", "10", "--run-dir", str(run),
                                "--no-progress", *args))
    assert message in line
    assert not run.exists()  # nothing written


def test_a_network_too_big_for_memory_is_refused_before_allocating(tmp_path: Path) -> None:
    line = _one_error_line(_cli("train", "--env", ENV, "--steps", "10", "--run-dir",
                                str(tmp_path / "r"), "--set", "n_per_input=100000000"))
    # 6 inputs × 1e8 neurons × 200 outputs × p 0.5 = 6e10 synapses; their int64 index lists
    # alone are 2 × 447 GiB, so the figure is in TiB
    assert "n_per_input=100000000" in line and "6e+10 synapses" in line
    figure = re.search(r"needs about ([\d.]+) TiB", line)
    assert figure is not None and 2 * 6e10 * 8 / 2**40 < float(figure.group(1)) < 10


def test_build_memory_estimate_matches_the_measured_peak() -> None:
    """Against the resident-set high-water mark of really building the network (a fresh
    process), one network dominated by its synapses and one by its decoder fit."""
    if not Path("/proc/self/status").exists():
        pytest.skip("reads VmHWM from /proc")
    code = """
import sys, gymnasium as gym, neurofit.envs
from neurofit.agents.neurofit_agent import AgentConfig, NeuroFitAgent
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM"):
            return int(line.split()[1]) * 1024
env = gym.make("neurofit/QuadHoverPayload-v0")
NeuroFitAgent.from_env(env, AgentConfig(n_per_input=5, n_output_neurons=5))  # compiled, warm
before = hwm()
NeuroFitAgent.from_env(env, AgentConfig(**eval(sys.argv[1])))
print(hwm() - before)
"""
    for fields in ({"n_per_input": 500, "n_output_neurons": 400, "connection_p": 1.0},
                   {"n_per_input": 10, "n_output_neurons": 2500, "connection_p": 0.1}):
        out = subprocess.run([sys.executable, "-c", code, repr(fields)], capture_output=True,
                             text=True, check=True, timeout=600)
        measured = int(out.stdout.split()[-1])
        estimate = build_memory_bytes(AgentConfig(**fields), 6, 4)  # quad: 6 features, 4 outputs
        assert 0.75 * measured < estimate < 1.25 * measured, (fields, estimate, measured)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("weight_bits", 2.5, "weight_bits must be None or an integer in [1, 24], got 2.5"),
    ("energy_profile", "nosuch", "energy_profile: unknown hardware profile 'nosuch'"),
    ("energy_profile", "cpu-x86", "'cpu-x86' is a dnn profile with no per-spike figures"),
    ("input_width", True, "input_width must be a finite number > 0, got True (a bool)"),
    ("n_per_input", 1, "n_per_input must be an integer >= 2, got 1"),
    ("n_output_neurons", 100.0, "n_output_neurons must be a positive integer, got 100.0"),
    ("analog", {"gain_mismatch": "x"}, "analog: gain_mismatch must be a finite number >= 0"),
])
def test_agent_config_rejects_at_construction(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        AgentConfig(**{field: value})
    assert message in str(info.value)


def test_evaluate_on_an_env_of_other_shapes_names_both(finished_run: Path) -> None:
    line = _one_error_line(_cli("evaluate", "--run-dir", str(finished_run), "--env",
                                "neurofit/ArmReach-v0", "--episodes", "1"))
    shapes = {}
    for env_id in (ENV, "neurofit/ArmReach-v0"):
        env = gym.make(env_id)
        shapes[env_id] = (env.observation_space.shape, env.action_space.shape)
        env.close()
    assert (f"was trained on {ENV} (observation shape {shapes[ENV][0]}, action shape "
            f"{shapes[ENV][1]}); its neurofit agent cannot be evaluated on neurofit/ArmReach-v0 "
            f"(observation shape {shapes['neurofit/ArmReach-v0'][0]}") in line


def test_interrupt_in_process_reports_the_checkpoint(tmp_path: Path) -> None:
    """The library's side of Ctrl-C: a KeyboardInterrupt at step 120 becomes a
    TrainingInterrupted that knows the step and the last checkpoint (step 100)."""

    class CtrlC:
        def on_step(self, locals_: dict) -> bool:
            if locals_["step"] == 120:
                raise KeyboardInterrupt
            return True

    with pytest.raises(TrainingInterrupted) as info:
        train(_config(150), tmp_path / "run", callbacks=[CtrlC()], progress=False)
    assert (info.value.step, info.value.total_steps, info.value.checkpoint_step) == (120, 150, 100)
    assert _state_step(tmp_path / "run") == 100
    assert isinstance(info.value, KeyboardInterrupt)  # Ctrl-C semantics kept for callers


@pytest.mark.parametrize("group", [True, False], ids=["terminal-ctrl-c", "parent-only"])
def test_ctrl_c_stops_a_process_pool_sweep(tmp_path: Path, group: bool) -> None:
    """Ctrl-C on ``--seeds 0,1,2,3 --workers 2``: the running seeds stop (resumable), the queued
    ones never start, the command exits 130; the sweep resumes without repeating ``--seeds``.
    A terminal's Ctrl-C signals the whole process group; ``kill -INT`` only the parent."""
    root = tmp_path / "sweep"
    trainer = subprocess.Popen(
        [sys.executable, "-m", "neurofit.scripts.cli", "train", "--env", ENV, "--steps",
         "1000000", "--seeds", "0,1,2,3", "--workers", "2", "--run-dir", str(root), *TINY],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 600
        while not all((root / f"seed_{s}/checkpoints/state.json").exists() for s in (0, 1)):
            assert trainer.poll() is None, trainer.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        if group:
            os.killpg(trainer.pid, signal.SIGINT)
        else:
            trainer.send_signal(signal.SIGINT)
        _, err = trainer.communicate(timeout=120)
    finally:
        if trainer.poll() is None:
            os.killpg(trainer.pid, signal.SIGKILL)
            trainer.wait()
    assert trainer.returncode == 130, err
    assert "Traceback" not in err
    assert not (root / "seed_2/checkpoints").exists() and not (root / "seed_3/config.json").exists()
    steps = {s: _state_step(root / f"seed_{s}") for s in (0, 1)}
    assert all(v % 50 == 0 and v > 0 for v in steps.values())
    # seeds.json was written before training: --resume needs no --seeds
    total = max(steps.values()) + 50
    result = _cli("train", "--run-dir", str(root), "--resume", "--steps", str(total),
                  "--workers", "1", "--no-progress")
    assert result.exit_code == 0, result.stderr
    assert all(_state_step(root / f"seed_{s}") == total for s in range(4))


def test_evaluate_record_takes_the_run_lock(finished_run: Path, tmp_path: Path) -> None:
    """`evaluate --record` writes into the run dir: not while a trainer holds it."""
    from neurofit.agents._run_dir import _lock_run_dir

    run = _copy(finished_run, tmp_path / "run")
    fd = _lock_run_dir(run)  # as a trainer would
    try:
        line = _one_error_line(_cli("evaluate", "--run-dir", str(run), "--episodes", "1",
                                    "--baselines", "", "--record"))
        assert "is in use" in line and not (run / "eval_dataset").exists()
    finally:
        os.close(fd)
    result = _cli("evaluate", "--run-dir", str(run), "--episodes", "1", "--baselines", "",
                  "--record")
    assert result.exit_code == 0, result.stderr
    assert (run / "eval_dataset").exists()


def test_sigterm_stops_a_run_as_ctrl_c_does(tmp_path: Path) -> None:
    """`kill` (SIGTERM) ends a run with exit 130 at a checkpoint it can resume from."""
    run = tmp_path / "run"
    trainer = _trainer_at_first_checkpoint(run)
    err = _stop(trainer, signal.SIGTERM)
    assert trainer.returncode == 130, err
    assert "resume with:" in err and "Traceback" not in err
    assert _state_step(run) % 50 == 0


def test_sigterm_during_a_checkpoint_waits_for_it() -> None:
    from neurofit.agents._run_dir import _sigint_deferred, sigterm_as_interrupt

    done = []
    with sigterm_as_interrupt():
        with pytest.raises(KeyboardInterrupt), _sigint_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            done.append(True)
    assert done == [True]
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_ctrl_c_during_a_checkpoint_waits_for_it() -> None:
    """latest.npz and its state.json are written as one: a SIGINT inside is held until after."""
    from neurofit.agents._run_dir import _sigint_deferred

    done = []
    with pytest.raises(KeyboardInterrupt), _sigint_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # Python runs the handler here, between bytecodes
        done.append(True)
    assert done == [True]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
