"""``neurofit bench forest``: the JSON's names and shapes on a quick run, the figures recounted
from the report's own parts (endurance from the battery, ratios from the energies), the
crossover's interpolation, and bad input in one line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from typer.testing import CliRunner

from neurofit.envs.missions import get_scenario
from neurofit.scripts.bench.forest import SNN_PROFILES, _crossings
from neurofit.scripts.cli import app


@pytest.fixture(scope="module")
def quick_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("forest") / "forest.json"
    result = CliRunner().invoke(app, ["bench", "forest", "--quick", "--rays", "16",
                                      "--sweep-rays", "16", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text()), out


def test_quick_run_names_and_shapes(quick_report: tuple[dict, Path]) -> None:
    r, out = quick_report
    for name in ("success_rate_neurofit", "success_rate_teacher", "success_rate_reflex"):
        assert 0.0 <= r[name] <= 1.0
        # a rate over n maps is a whole number of maps
        assert r[name] * r["n_maps"] == pytest.approx(round(r[name] * r["n_maps"]))
    assert r["success_rate_ppo"] is None and "skipped" in r["ppo"]
    assert set(r["ratio_vs_dnn"]) == set(SNN_PROFILES)
    assert "break_even_j_per_synaptic_event" in r
    assert [c["profile"] for c in r["crossover"]] == list(SNN_PROFILES)
    assert all(c["rays"] == 16 for c in r["crossover"])
    assert Path(r["plot"]).exists() and Path(r["plot"]).parent == out.parent
    assert set(r["mission"]["platforms"]) == {"micro", "heavy"}


def test_ratios_are_the_energies_quotient(quick_report: tuple[dict, Path]) -> None:
    r, _ = quick_report
    dnn = r["dnn"]["dynamic_j_per_inference"]
    cheapest = min(dnn.values())
    assert dnn[r["dnn"]["cheapest_profile"]] == cheapest
    for prof, ratio in r["ratio_vs_dnn"].items():
        assert ratio == pytest.approx(cheapest / r["neurofit"]["dynamic_j_per_inference"][prof])


def test_mission_minutes_follow_the_battery(quick_report: tuple[dict, Path]) -> None:
    """endurance = usable battery J / (rotors + avionics + compute), recounted."""
    r, _ = quick_report
    bills = r["mission"]["compute_bill_w"]
    for plat in r["mission"]["platforms"].values():
        scen = get_scenario(plat["mission"])
        for name, row in plat["controllers"].items():
            total_w = plat["platform_w"] + scen.avionics_w + bills[name]["compute_w"]
            assert row["endurance_min"] == pytest.approx(scen.battery.usable_j / total_w / 60)
        assert plat["controllers"]["dnn@jetson-class"]["minutes_vs_dnn_jetson"] == 0.0
    # the analog chip's bill is below Loihi's 0.94 W idle alone
    assert bills["neurofit@neurofit-analog"]["compute_w"] < 0.94 <= bills["neurofit@loihi"][
        "compute_w"]


def test_crossing_is_interpolated_on_log_axes() -> None:
    rows = [{"rays": 16, "profile": "loihi", "ratio_vs_dnn": 0.5},
            {"rays": 64, "profile": "loihi", "ratio_vs_dnn": 2.0},
            {"rays": 16, "profile": "neurofit-analog", "ratio_vs_dnn": 3.0},
            {"rays": 64, "profile": "neurofit-analog", "ratio_vs_dnn": 5.0}]
    out = _crossings(rows)
    assert out["loihi"] == pytest.approx(32.0)  # halfway on both log axes: sqrt(16 * 64)
    assert out["neurofit-analog"] is None and out["spinnaker2"] is None
    assert math.isfinite(out["loihi"])


@pytest.mark.parametrize("args", [["--sweep-rays", "16,abc"], ["--sweep-rays", "0,64"],
                                  ["--rays", "0"]])
def test_bad_input_is_one_line(args: list[str]) -> None:
    result = CliRunner().invoke(app, ["bench", "forest", "--quick", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
