"""Smoke tests of ``neurofit bench engine``: the real CLI in a subprocess, tiny sizes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

KEYS = {"network", "neurons", "synapses", "duration_s", "dt_s", "mode", "substeps", "wall_s",
        "wall_s_all", "cpu_s", "compile_s", "spikes", "mean_rate_hz", "synaptic_events",
        "neuron_updates", "machine"}


def _bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "neurofit.scripts.cli", "bench", "engine", "--duration-s", "0.05",
         "--neurons", "400", "--repeats", "1", "--json", *args],
        capture_output=True, text=True, timeout=600, check=False, env=os.environ.copy(),
    )


def test_bench_engine_json() -> None:
    proc = _bench()
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # one JSON object, nothing else on stdout
    assert KEYS <= out.keys()
    assert out["network"] == "cuba" and out["mode"] == "run" and out["neurons"] == 400
    assert out["neuron_updates"] == 400 * 500
    assert out["spikes"] > 0 and out["synaptic_events"] > out["spikes"]
    assert out["wall_s"] == out["wall_s_all"][0] > 0
    assert {"cpu", "cpu_count", "python", "numba", "date"} <= out["machine"].keys()
    assert [r["mode"] for r in out["results"]] == ["run"]


def test_bench_engine_both_modes_agree() -> None:
    proc = _bench("--mode", "both", "--substeps", "10")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    run, step = out["results"]
    assert (run["mode"], step["mode"]) == ("run", "step") and out["mode"] == "run"
    assert step["substeps"] == 10 and step["ticks"] == 50
    for key in ("spikes", "synaptic_events", "neuron_updates"):  # same seed, same simulation
        assert run[key] == step[key]


def _fake_python(tmp_path: Path, body: str) -> Path:
    """A stand-in for a Brian2 interpreter: a shell script that ignores its arguments."""
    tmp_path.mkdir()
    path = tmp_path / "python"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="shell-script stand-in")
def test_brian2_plumbing(tmp_path: Path) -> None:
    """Brian2's JSON is kept and divided into; a failing interpreter is reported, not fatal."""
    from neurofit.scripts.bench_engine import run_bench

    b2 = {"simulator": "brian2", "version": "x", "device": "cpp_standalone", "neurons": 400,
          "synapses": 32000, "duration_s": 0.05, "wall_s": 0.5, "compile_s": 1.0, "spikes": 100,
          "mean_rate_hz": 5.0}
    fake = _fake_python(tmp_path / "ok", f"echo 'build noise'\necho '{json.dumps(b2)}'")
    broken = _fake_python(tmp_path / "broken", "echo 'no brian2 here' >&2\nexit 3")
    out, errors = run_bench(0.05, "run", n_neurons=400, repeats=1, brian2_python=fake,
                            brian2_devices=("cpp_standalone",))
    assert errors == []
    assert out["brian2"]["results"] == [b2]
    assert out["brian2"]["ratio"]["run/cpp_standalone"] == pytest.approx(out["wall_s"] / 0.5)
    # Brian2's standalone wall_s is std::clock CPU time: compared with neurofit's CPU time
    assert out["brian2"]["ratio_cpu"]["run/cpp_standalone"] == pytest.approx(out["cpu_s"] / 0.5)

    out, errors = run_bench(0.05, "run", n_neurons=400, repeats=1, brian2_python=broken,
                            brian2_devices=("runtime",))
    assert len(errors) == 1 and "exited with 3" in errors[0] and "no brian2 here" in errors[0]
    assert "error" in out["brian2"]["results"][0] and out["brian2"]["ratio"] == {}
    assert out["wall_s"] > 0  # the neurofit figures survive
