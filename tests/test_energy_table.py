"""``neurofit energy`` as a user reads it: every requested profile gets a row (the DNN twin) or
a note saying why not, and the tables stay whole at 100 and 120 columns."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from neurofit.agents.training import TrainConfig, train
from neurofit.scripts.cli import app
from neurofit.scripts.energy import print_report

PROFILES = "loihi,neurofit-analog,spinnaker2,jetson-class,cpu-x86,mcu-cortex-m4"
TINY = {"n_per_input": 5, "n_output_neurons": 10, "substeps": 2, "dt_s": 5e-4}


@pytest.fixture(scope="module")
def hover(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained run called "hover", so that its controller is "neurofit:hover"."""
    run = tmp_path_factory.mktemp("runs") / "hover"
    train(TrainConfig(env_id="neurofit/QuadHover-v0", total_steps=20, eval_episodes=0,
                      env_kwargs={"max_episode_steps": 12}, agent_config=TINY),
          run, progress=False)
    return run


def _energy(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["energy", *args, "--episodes", "2", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def report(hover: Path) -> dict[str, Any]:
    return _energy("--run-dir", str(hover), "--profiles", PROFILES)


def test_a_dnn_profile_gets_the_dnn_twin_on_the_same_episodes(report: dict[str, Any]) -> None:
    rows = {(r["controller"], r["profile"]) for r in report["rows"]}
    assert rows == {("neurofit:hover", p) for p in ("loihi", "neurofit-analog", "spinnaker2")} | {
        ("feedback-mlp", p) for p in ("jetson-class", "cpu-x86", "mcu-cortex-m4")}
    twin, snn = report["task_score"]["feedback-mlp"], report["task_score"]["neurofit:hover"]
    assert (twin["episodes"], twin["steps"]) == (snn["episodes"], snn["steps"]) == (2, 24)
    assert report["controllers"]["feedback-mlp"]["kind"] == "dnn"
    assert report["controllers"]["feedback-mlp"]["layer_sizes"] == [6, 1, 3]  # --mlp-hidden 1
    (note,) = report["notices"]
    assert "DNN twin of neurofit:hover" in note and "jetson-class, cpu-x86, mcu-cortex-m4" in note
    assert report["ratio_vs_dnn"]["dnn"]["controller"] == "feedback-mlp"
    # every row says which execution model its profile has and which count it charged
    charged = {r["profile"]: (r["execution"], r["neuron_updates_charged"])
               for r in report["rows"]}
    assert charged == {"loihi": ("time-stepped", "dense"), "spinnaker2": ("time-stepped", "dense"),
                       "neurofit-analog": ("event-driven", "effective"),
                       **{p: (None, None) for p in ("jetson-class", "cpu-x86", "mcu-cortex-m4")}}


def test_a_profile_without_a_row_is_named_with_the_reason(hover: Path) -> None:
    off = _energy("--run-dir", str(hover), "--profiles", "loihi,jetson-class", "--no-dnn-twin")
    assert {r["profile"] for r in off["rows"]} == {"loihi"}
    (note,) = off["notices"]
    assert note.startswith("jetson-class: no row") and "DNN controller" in note
    dnn_only = _energy("--env", "neurofit/QuadHover-v0", "--agent", "feedback-mlp",
                       "--max-steps", "12", "--profiles", "loihi,jetson-class")
    assert {r["profile"] for r in dnn_only["rows"]} == {"jetson-class"}
    (note,) = dnn_only["notices"]
    assert note.startswith("loihi: no row") and "spiking controller" in note


@pytest.mark.parametrize("width", [100, 120])
@pytest.mark.parametrize("name", ["neurofit:hover", "neurofit:hover-payload-sweep-seed_12"])
def test_tables_are_whole_at_100_and_120_columns(report: dict[str, Any], width: int,
                                                 name: str) -> None:
    report = json.loads(json.dumps(report).replace('"neurofit:hover"', json.dumps(name)))
    out = io.StringIO()
    print_report(report, Console(file=out, width=width, color_system=None))
    text = out.getvalue()
    assert "…" not in text  # nothing cut
    assert max(len(line) for line in text.splitlines()) <= width
    lines = text.splitlines()
    for r in report["rows"]:  # each row shows its controller and profile whole (short names)
        if len(r["controller"]) <= 16:
            profile = r["profile"] + ("*" if r["estimate"] else "")
            assert any(line.split()[:2] == [r["controller"], profile] for line in lines), r
    # a long name folds onto a second line: it starts the score, activity and energy rows
    rows = sum(r["controller"] == name for r in report["rows"])
    assert sum(line.startswith(name[:12]) for line in lines) == 2 + rows
    for header in ("J/inf", "learning", "compute", "rotor W", "flight", "DNN s", "Hz/neuron",
                   "MAC+act", "platform"):
        assert header in text
    assert "note: feedback-mlp" in text
