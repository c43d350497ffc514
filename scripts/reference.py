"""The tables of ``docs/reference.md``: every energy and physical figure the code uses, with its
source, generated from the code itself (each value, and the ``source`` text beside it).

The document's prose is written by hand; each table sits between two marker comments::

    <!-- generated: hardware -->
    ...
    <!-- end generated: hardware -->

and is rewritten from the code by::

    python -m neurofit.scripts.reference            # rewrite docs/reference.md's tables
    python -m neurofit.scripts.reference --check    # exit 1 if they differ from the code

(run from the repository root, or give the document's path). ``tests/test_reference_doc.py``
runs the check, so a figure changed in the code without the document fails the suite.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["BLOCKS", "fill", "format_si", "main", "render_blocks"]

#: Default location of the document, relative to the repository root.
DOC_PATH = Path("docs") / "reference.md"

_BEGIN = "<!-- generated: {name} -->"
_END = "<!-- end generated: {name} -->"
_PREFIXES = ((1.0, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p"))


def format_si(x: float, unit: str, digits: int = 4) -> str:
    """``x`` with an SI prefix and ``digits`` significant digits: ``2.356e-9, "J"`` → ``2.356 nJ``.

    Values of 1 and above keep their plain unit (``130 W``, ``3330 J``).
    """
    if x == 0:
        return f"0 {unit}"
    for scale, prefix in _PREFIXES:
        if abs(x) >= scale * (1 - 1e-12):
            return f"{x / scale:.{digits}g} {prefix}{unit}"
    return f"{x:.{digits}g} {unit}"


def _num(x: float, unit: str = "", digits: int = 5) -> str:
    text = f"{x:.{digits}g}"
    return f"{text} {unit}".strip()


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# --------------------------------------------------------------------------------- the tables
def _hardware() -> str:
    from neurofit.neuromorphic.hardware import get_profile, list_profiles

    parts = []
    for name in list_profiles():
        p = get_profile(name)
        label = "estimate" if p.estimate else "measured"
        rows = []
        for figure, value in p.figures().items():
            if figure == "weight_bits":
                text = f"{value} bits"
            elif figure == "static_w":
                text = format_si(value, "W")
            else:
                text = format_si(value, "J")
            rows.append((f"`{figure}`", text, p.source[figure]))
        if p.execution is not None:
            rows.append(("`execution`", p.execution, p.source.get("execution", "not given")))
        parts.append(f"#### `{p.name}` ({p.kind}, {label})\n\n"
                     + _table(("figure", "value", "source"), rows)
                     + f"\n\n{_cell(p.notes)}")
    return "\n\n".join(parts)


def _platforms() -> str:
    from neurofit.envs.quadrotor_platform import PLATFORMS

    parts = []
    for p in PLATFORMS.values():
        src = p.sources
        x, y = (abs(v) for v in p.rotor_xy_m[0])
        rows = [
            ("`mass_kg`", _num(p.mass_kg, "kg"), src["mass_kg"]),
            ("`inertia_kgm2`", ", ".join(_num(i) for i in p.inertia_kgm2) + " kg·m²",
             src["inertia_kgm2"]),
            ("`rotor_xy_m`", f"±{_num(x)}, ±{_num(y)} m (x, y)", src["rotor_xy_m"]),
            ("`yaw_moment_ratio_m`", _num(p.yaw_moment_ratio_m, "m"), src["yaw_moment_ratio_m"]),
            ("`max_thrust_n`", _num(p.max_thrust_n, "N") + " per rotor", src["max_thrust_n"]),
            ("`motor_tau_s`", _num(p.motor_tau_s, "s"), src["motor_tau_s"]),
            ("`arena_half_width_m`, `arena_ceiling_m`",
             f"{_num(p.arena_half_width_m)} m, {_num(p.arena_ceiling_m)} m", src["arena"]),
            ("thrust-to-weight", _num(p.thrust_to_weight, digits=4),
             "derived: 4 × max_thrust_n / (mass_kg × g)"),
            ("hover power", _num(p.power.hover_power_w(p.mass_kg), "W", 4),
             "derived: the rotor power model below at mass_kg × g"),
        ]
        parts.append(f"#### `{p.name}` (`{p.asset}`)\n\n"
                     + _table(("constant", "value", "source"), rows))
    return "\n\n".join(parts)


def _rotor_power() -> str:
    from neurofit.envs import power as pw

    models = _table(
        ("model", "`rotor_radius_m`", "`figure_of_merit`", "`motor_efficiency`", "`idle_w`",
         "source"),
        [(f"`{name}`", _num(m.rotor_radius_m, "m"), _num(m.figure_of_merit),
          _num(m.motor_efficiency), _num(m.idle_w, "W"), m.source)
         for name, m in (("MICRO_ROTOR_POWER", pw.MICRO_ROTOR_POWER),
                         ("HEAVY_ROTOR_POWER", pw.HEAVY_ROTOR_POWER))])
    stand = "Bitcraze thrust-stand measurements, Crazyflie 2.1 with stock motors and propellers"
    rows = [
        ("`CRAZYFLIE_THRUST_STAND`", "; ".join(f"{_num(g)} g → {_num(w)} W"
                                               for g, w in pw.CRAZYFLIE_THRUST_STAND), stand),
        ("`CRAZYFLIE_IDLE_W`", _num(pw.CRAZYFLIE_IDLE_W, "W"), f"{stand}: motors idling"),
        ("`CRAZYFLIE_HOVER_POINT`", f"{_num(pw.CRAZYFLIE_HOVER_POINT[0])} g → "
         f"{_num(pw.CRAZYFLIE_HOVER_POINT[1])} W", f"{stand}: about 7.4 W to hover 27 g (a "
         "check of the fit, not fitted)"),
        ("`MICRO_FITTED_EFFICIENCY`", _num(pw.MICRO_FITTED_EFFICIENCY),
         "fit_rotor_efficiency(CRAZYFLIE_THRUST_STAND, idle 0.96 W, 4 rotors, 22.5 mm): FM × η"),
        ("`AIR_DENSITY_KGPM3`", _num(pw.AIR_DENSITY_KGPM3, "kg/m³"), "ISA sea level"),
        ("`GRAVITY_MPS2`", _num(pw.GRAVITY_MPS2, "m/s²"), "standard gravity, rounded"),
    ]
    return models + "\n\n" + _table(("constant", "value", "source"), rows)


def _missions() -> str:
    from neurofit.envs.missions import get_scenario, list_missions

    parts = []
    for name in list_missions():
        s = get_scenario(name)
        b = s.battery
        src = s.source
        rows = [
            ("`capacity_mah`", _num(b.capacity_mah, "mAh"), src["capacity_mah"]),
            ("`voltage_v`", _num(b.voltage_v, "V"), src["voltage_v"]),
            ("`usable_fraction`", _num(b.usable_fraction), src["usable_fraction"]),
            ("`platform_w`", _num(s.platform_w, "W"), src["platform_w"]),
            ("`avionics_w`", _num(s.avionics_w, "W"), src["avionics_w"]),
            ("usable energy", _num(b.usable_j / 1e3, "kJ", 4),
             "derived: capacity_mah / 1000 × voltage_v × 3600 × usable_fraction"),
            ("endurance, no compute", _num(s.mission().endurance_min, "min", 3),
             "derived: usable energy / (platform_w + avionics_w)"),
        ]
        label = "estimate" if s.estimate else "measured"
        parts.append(f"#### `{s.name}` ({label}): {_cell(s.description)}\n\n"
                     + _table(("constant", "value", "source"), rows)
                     + f"\n\n{_cell(s.notes)}")
    return "\n\n".join(parts)


def _arm() -> str:
    import mujoco

    from neurofit.envs.arm_reach import ARM_XML, JOINT_MOTORS, NOMINAL_PAYLOAD_KG
    from neurofit.envs.joint_power import XM540_W150, XM540_W270

    motors = _table(
        ("motor", "`torque_constant_nm_per_a`", "`winding_resistance_ohm`", "`stall_torque_nm`",
         "`supply_voltage_v`", "source"),
        [(m.name, _num(m.torque_constant_nm_per_a, "N·m/A"),
          _num(m.winding_resistance_ohm, "Ω", 4), _num(m.stall_torque_nm, "N·m"),
          _num(m.supply_voltage_v, "V"), m.source)
         for m in (XM540_W150, XM540_W270)])
    model = mujoco.MjModel.from_xml_path(str(ARM_XML))
    masses = ", ".join(
        f"{mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_BODY, i)} {model.body_mass[i]:.4g}"
        for i in range(1, model.nbody))
    rows = [
        ("`JOINT_MOTORS` (base, shoulder, elbow, wrist)",
         ", ".join(m.name.split()[-1] for m in JOINT_MOTORS),
         "arm.xml: shoulder and elbow carry the stronger W270"),
        ("`NOMINAL_PAYLOAD_KG`", _num(NOMINAL_PAYLOAD_KG, "kg"),
         "ESTIMATE: a small service-robot load"),
        ("body masses in `arm.xml` (kg)", masses,
         "servo 165 g each (ROBOTIS e-Manual) lumped into the link that carries it; tubes and "
         "payload: ESTIMATES for a service arm of this class"),
    ]
    return motors + "\n\n" + _table(("constant", "value", "source"), rows)


def _sensor_noise() -> str:
    from neurofit.envs.quadrotor import REALISTIC_SENSOR_NOISE_STD as std

    parts = (("position", std[0:3], "m", "Lighthouse / UWB-class positioning"),
             ("rotation-matrix elements", std[3:12], "", "~0.6 deg"),
             ("velocity", std[12:15], "m/s", "an EKF estimate"),
             ("body rates", std[15:18], "rad/s", "MEMS gyro white noise ~0.014 deg/s/√Hz per "
                                                 "its datasheet, plus frame vibration"))
    rows = [(f"`REALISTIC_SENSOR_NOISE_STD`: {what}",
             ", ".join(_num(x, unit) for x in dict.fromkeys(v)),
             f"ESTIMATE of an onboard state estimate's jitter at 100 Hz: {why}")
            for what, v, unit, why in parts]
    return _table(("constant", "value (std per element)", "source"), rows)


def _cuba() -> str:
    from neurofit.neuromorphic import cuba

    p = cuba.CUBA_PARAMS
    src = "Brian2 examples/CUBA.py (Vogels & Abbott, J. Neurosci. 2005)"
    ms, mv = 1e3, 1e3
    rows = [
        ("`tau_mem_s`", _num(p.tau_mem_s * ms, "ms"), src),
        ("`tau_syn_exc_s`, `tau_syn_inh_s`",
         f"{_num(p.tau_syn_exc_s * ms)} ms, {_num(p.tau_syn_inh_s * ms)} ms", src),
        ("`v_rest` (E_l), `v_reset`, `v_thresh`",
         f"{_num(p.v_rest * mv)}, {_num(p.v_reset * mv)}, {_num(p.v_thresh * mv)} mV", src),
        ("`refractory_s`", _num(p.refractory_s * ms, "ms"), src),
        ("`CUBA_W_EXC_V`, `CUBA_W_INH_V`",
         f"{_num(cuba.CUBA_W_EXC_V * mv)} mV, {_num(cuba.CUBA_W_INH_V * mv)} mV",
         f"{src}: (60 × 0.27 / 10) mV and (−20 × 4.5 / 10) mV"),
        ("`CUBA_FAN_IN`", str(cuba.CUBA_FAN_IN), f"{src}: 4,000 neurons × p = 0.02"),
    ]
    return _table(("constant", "value", "source"), rows)


#: Block name → generator, in document order.
BLOCKS: dict[str, Callable[[], str]] = {
    "hardware": _hardware,
    "missions": _missions,
    "platforms": _platforms,
    "rotor-power": _rotor_power,
    "sensor-noise": _sensor_noise,
    "arm": _arm,
    "cuba": _cuba,
}


def render_blocks() -> dict[str, str]:
    """Every generated table, ``{block name: markdown}``."""
    return {name: make() for name, make in BLOCKS.items()}


def fill(doc: str, blocks: dict[str, str] | None = None) -> str:
    """``doc`` with the text between each block's markers replaced by the generated one.

    Raises:
        ValueError: a block's markers are missing (or appear twice).
    """
    blocks = render_blocks() if blocks is None else blocks
    for name, body in blocks.items():
        begin, end = _BEGIN.format(name=name), _END.format(name=name)
        pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
        found = pattern.findall(doc)
        if len(found) != 1:
            raise ValueError(f"the document needs exactly one '{begin}' ... '{end}' pair, "
                             f"found {len(found)}")
        doc = pattern.sub(lambda _m, b=body, s=begin, e=end: f"{s}\n\n{b}\n\n{e}", doc)
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite (or ``--check``) the generated tables of the reference document."""
    parser = argparse.ArgumentParser(prog="python -m neurofit.scripts.reference",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DOC_PATH,
                        help=f"the document (default: {DOC_PATH})")
    parser.add_argument("--check", action="store_true",
                        help="do not write; exit 1 if the tables differ from the code")
    args = parser.parse_args(argv)
    try:
        old = args.path.read_text(encoding="utf-8")
        new = fill(old)
    except (OSError, ValueError) as exc:
        print(f"error: {args.path}: {exc}", file=sys.stderr)
        return 2
    if args.check:
        if new != old:
            print(f"{args.path} is stale: run python -m neurofit.scripts.reference",
                  file=sys.stderr)
            return 1
        return 0
    if new != old:
        args.path.write_text(new, encoding="utf-8")
        print(f"updated {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
