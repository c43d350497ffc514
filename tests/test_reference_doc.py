"""docs/reference.md: every energy and physical figure the code uses, with its source.

The document's tables are generated from the code (``python -m neurofit.scripts.reference``);
these tests check that the committed document is what the code generates, read its numbers
back (so a formatting slip cannot pass), and hold the core physical figures against the
published values, typed here from the sources (not from the code).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from neurofit.envs.missions import get_scenario
from neurofit.envs.power import CRAZYFLIE_IDLE_W, CRAZYFLIE_THRUST_STAND
from neurofit.envs.quadrotor_platform import PLATFORMS
from neurofit.neuromorphic.hardware import get_profile, list_profiles
from neurofit.scripts import reference

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reference.md"
_PREFIX = {"": 1.0, "m": 1e-3, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "k": 1e3}


def _si(text: str, unit: str) -> float:
    """``"2.356 nJ"`` → 2.356e-9 (``unit`` "J"); ``"0.027 kg"`` → 0.027 (``unit`` "kg")."""
    if unit in ("J", "W"):
        m = re.fullmatch(r"([-+0-9.e]+) ([mµnpk]?)" + unit, text.strip())
        assert m, f"{text!r} is not a number of {unit}"
        return float(m.group(1)) * _PREFIX[m.group(2)]
    m = re.fullmatch(r"([-+0-9.e]+) " + re.escape(unit), text.strip())
    assert m, f"{text!r} is not a number of {unit}"
    return float(m.group(1))


def _section(doc: str, heading: str) -> str:
    """The text from ``heading`` up to the next heading of any level."""
    start = doc.index(heading)
    nxt = re.search(r"^#{1,4} ", doc[start + len(heading):], re.MULTILINE)
    return doc[start: start + len(heading) + (nxt.start() if nxt else len(doc))]


def _rows(text: str) -> dict[str, list[str]]:
    """Markdown table rows of ``text`` by their first cell (backticks stripped)."""
    out = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("|---"):
            cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            out[cells[0].strip("`")] = cells[1:]
    return out


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_committed_document_is_what_the_code_generates(doc: str) -> None:
    assert reference.fill(doc) == doc, (
        "docs/reference.md is stale: run python -m neurofit.scripts.reference")
    assert reference.main([str(DOC), "--check"]) == 0


def test_check_fails_on_a_stale_document(doc: str, tmp_path: Path) -> None:
    stale = tmp_path / "reference.md"
    stale.write_text(doc.replace("| `joules_per_synaptic_event` | 23.6 pJ |",
                                 "| `joules_per_synaptic_event` | 23.7 pJ |"), encoding="utf-8")
    assert reference.main([str(stale), "--check"]) == 1
    assert reference.main([str(stale)]) == 0  # rewrites it
    assert stale.read_text(encoding="utf-8") == doc
    with pytest.raises(ValueError, match="generated: hardware"):
        reference.fill(doc.replace("<!-- end generated: hardware -->", ""))


@pytest.mark.parametrize("name", list_profiles())
def test_every_builtin_profile_figure_and_source_is_in_the_document(doc: str, name: str) -> None:
    p = get_profile(name)
    rows = _rows(_section(doc, f"#### `{name}` ("))
    execution = {"execution"} if p.execution is not None else set()
    assert set(rows) == {"figure", *p.figures(), *execution}
    if execution:
        assert rows["execution"] == [p.execution, p.source["execution"]]
    for figure, value in p.figures().items():
        text, source = rows[figure]
        if figure == "weight_bits":
            assert text == f"{value} bits"
        else:
            unit = "W" if figure == "static_w" else "J"
            assert _si(text, unit) == pytest.approx(value, rel=5e-4, abs=1e-18), figure
        assert source == p.source[figure]


def test_quadrotor_platforms_and_missions_are_in_the_document(doc: str) -> None:
    for p in PLATFORMS.values():
        rows = _rows(_section(doc, f"#### `{p.name}` (`{p.asset}`)"))
        assert _si(rows["mass_kg"][0], "kg") == pytest.approx(p.mass_kg)
        inertia = [float(x) for x in rows["inertia_kgm2"][0].removesuffix(" kg·m²").split(", ")]
        assert inertia == pytest.approx(list(p.inertia_kgm2))
        assert _si(rows["yaw_moment_ratio_m"][0], "m") == pytest.approx(p.yaw_moment_ratio_m)
        assert _si(rows["max_thrust_n"][0].removesuffix(" per rotor"), "N") == pytest.approx(
            p.max_thrust_n)
        assert rows["mass_kg"][1] == p.sources["mass_kg"]
    for name in ("micro-drone", "delivery-drone", "service-robot"):
        s = get_scenario(name)
        rows = _rows(_section(doc, f"#### `{name}` ("))
        assert _si(rows["capacity_mah"][0], "mAh") == s.battery.capacity_mah
        assert _si(rows["voltage_v"][0], "V") == s.battery.voltage_v
        assert _si(rows["platform_w"][0], "W") == pytest.approx(s.platform_w)
        assert _si(rows["avionics_w"][0], "W") == pytest.approx(s.avionics_w)
        assert rows["capacity_mah"][1] == s.source["capacity_mah"]
    power = _rows(_section(doc, "### Rotor electrical power"))
    assert power["CRAZYFLIE_THRUST_STAND"][0] == "; ".join(
        f"{g:g} g → {w:g} W" for g, w in CRAZYFLIE_THRUST_STAND)
    assert _si(power["CRAZYFLIE_IDLE_W"][0], "W") == CRAZYFLIE_IDLE_W


def test_crazyflie_figures_are_the_published_ones(doc: str) -> None:
    """Bitcraze datasheet and thrust stand, Menagerie bitcraze_crazyflie_2 and gym-pybullet-drones
    cf2x.urdf, as /work/shared/REFERENCE.md quotes them: typed here, read from the document."""
    micro = _rows(_section(doc, "#### `micro` (`quadrotor_micro.xml`)"))
    assert _si(micro["mass_kg"][0], "kg") == 0.027
    assert micro["inertia_kgm2"][0] == "2.3951e-05, 2.3951e-05, 3.2347e-05 kg·m²"
    kf, km = 3.16e-10, 7.94e-12  # N/rpm², N·m/rpm²
    assert _si(micro["yaw_moment_ratio_m"][0], "m") == pytest.approx(km / kf, rel=1e-4)
    assert _si(micro["max_thrust_n"][0].removesuffix(" per rotor"), "N") == pytest.approx(
        2.25 * 0.027 * 9.81 / 4, rel=1e-4)  # thrust-to-weight 2.25
    drone = _rows(_section(doc, "#### `micro-drone` ("))
    assert (drone["capacity_mah"][0], drone["voltage_v"][0]) == ("250 mAh", "3.7 V")
    assert drone["usable energy"][0] == "3.33 kJ"  # 0.25 Ah x 3.7 V x 3600 s/h
    power = _rows(_section(doc, "### Rotor electrical power"))
    assert power["CRAZYFLIE_THRUST_STAND"][0] == "24.4 g → 6.8 W; 28.6 g → 7.7 W"
    assert power["CRAZYFLIE_IDLE_W"][0] == "0.96 W"
    assert power["CRAZYFLIE_HOVER_POINT"][0] == "27 g → 7.4 W"


def test_format_si() -> None:
    assert reference.format_si(3 * 238e-6 / 1e6 * 3.3, "J") == "2.356 nJ"
    assert reference.format_si(23.6e-12, "J") == "23.6 pJ"
    assert reference.format_si(0.94, "W") == "940 mW"
    assert reference.format_si(2.0, "W") == "2 W"
    assert reference.format_si(0.0, "J") == "0 J"


def test_readme_points_inside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme
    assert "(docs/reference.md)" in readme
