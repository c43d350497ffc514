"""``neurofit energy``: what each controller's compute costs per inference on each hardware
profile, at its task score, and what that does to a mission's endurance.

Two sources of controllers (combine them freely):

- ``--run-dir RUN`` (repeatable): a training run (``config.json`` + ``agent.npz`` or
  ``checkpoints/latest.npz``); every episode starts from the trained agent;
- ``--env ID --agent neurofit,feedback-mlp,feedback-mlp-delta,pid``: fresh agents on fresh
  episodes (``feedback-mlp-delta``: the same MLP run as a delta network, ``--mlp-delta``).

Every controller flies ``--episodes`` seeded episodes (learning on, as deployed; ``--frozen``
turns it off); the report prices its exact operation counts on every profile of its kind
(spiking networks on neuromorphic profiles, MLPs on DNN ones; a PD/PID runs on the flight MCU
inside the avionics power) and prints rich tables, or one JSON object with ``--json``. When a
DNN profile is asked for but only spiking controllers were given, a ``feedback-mlp`` (the DNN
twin: the same reflex plus an MLP learning from the same error) flies the same episodes, so
every profile gets a row (``--no-dnn-twin``: it does not; a profile without a row is named in
a note, with the reason).
``ratio_vs_dnn`` compares the spiking controller, on every neuromorphic profile, with the
cheapest DNN row that holds its score (RMS within +10 %), per-inference fixed costs included,
and gives the break-even energy per synaptic event (and per neuron update on a time-stepped
chip) at which it would tie that DNN or be 10× below it.
The library behind it is :mod:`neurofit.agents.energy_report`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["plot_report", "print_report", "register"]

#: Default change threshold of ``feedback-mlp-delta`` (kept in step with
#: :data:`neurofit.agents.delta_mlp.DEFAULT_DELTA`, which the CLI does not import at start-up).
DEFAULT_DELTA = 0.01

AGENTS = ("neurofit", "feedback-mlp", "feedback-mlp-delta", "pd", "pid", "random")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _split(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _fmt_j(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if x == 0:
        return "0"
    for scale, prefix in ((1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n"), (1e-12, "p")):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {prefix}J"
    return f"{x:.2e} J"


def _fmt_w(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if x == 0:
        return "0"
    for scale, prefix in ((1, ""), (1e-3, "m"), (1e-6, "µ"), (1e-9, "n")):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {prefix}W"
    return f"{x:.2e} W"


def _opt(x: float | None, fmt: str) -> str:
    return "-" if x is None else format(x, fmt)


#: Name columns keep up to this many characters on one line; a longer name folds, never cut.
_NAME_MIN_WIDTH = 16


def _name_column(table: Any, header: str, names: Sequence[str]) -> None:
    """A left column that is never cut: as wide as its longest name up to
    :data:`_NAME_MIN_WIDTH` characters (``neurofit-analog*``); longer names fold."""
    width = min(max([len(header), *(len(n) for n in names)]), _NAME_MIN_WIDTH)
    table.add_column(header, justify="left", overflow="fold", min_width=width)


def _table(title: str) -> Any:
    from rich import box
    from rich.table import Table

    # one pad + the box's blank divider between columns, no outer edge: fits 100 columns
    return Table(title=title, box=box.SIMPLE_HEAD, padding=(0, 0, 0, 1), pad_edge=False,
                 show_edge=False, title_justify="left")


def print_report(report: dict[str, Any], console: Any = None) -> None:
    """The report as rich tables: task score, activity per tick, then controller × profile.

    Headers are short, two lines, with their unit; the legend under the tables spells them
    out. Names are never cut, so the tables read at 100 columns.
    """
    from rich.console import Console

    if console is None:
        console = Console(highlight=False)
        if not console.is_terminal:  # piped: no terminal width to respect
            console = Console(width=200, highlight=False)
    names = list(report["task_score"])
    scores = _table("Task score: RMS tracking error over the last half of each episode")
    _name_column(scores, "controller", names)
    scores.add_column("what", overflow="fold", ratio=1)
    for col in ("RMS\nmm", "return", "episodes", "crashed", "platform\nW"):
        scores.add_column(col, justify="right", no_wrap=True, overflow="fold")
    for name, s in report["task_score"].items():
        scores.add_row(name, report["controllers"][name].get("text", ""),
                       f"{s['rms_error_m'] * 1e3:.2f}", f"{s['return']:.1f}",
                       str(s["episodes"]), str(s["crashed"]),
                       f"{report['platform_power_w'][name]:.3f}")
    console.print(scores)
    console.print()

    rows = report["rows"]
    first = {}  # activity per tick does not depend on the profile: one row per controller
    for r in rows:
        if r["kind"] in ("snn", "dnn"):
            first.setdefault(r["controller"], r)
    if first:
        act = _table("Activity per control tick (the same on every profile)")
        _name_column(act, "controller", list(first))
        for col in ("spikes\nHz/neuron", "spiking\n%/step", "synaptic\nevents",
                    "neuron\nupdates", "weight\nupdates", "MAC+act"):
            act.add_column(col, justify="right", no_wrap=True, overflow="fold")
        for name, r in first.items():
            frac = r["spike_fraction_per_step"]
            act.add_row(name, _opt(r["spike_rate_hz"], ".2f"),
                        _opt(None if frac is None else 100 * frac, ".3f"),
                        _opt(r["synaptic_events_per_inference"], ",.0f"),
                        _opt(r["neuron_updates_per_inference"], ",.0f"),
                        _opt(r["weight_updates_per_inference"], ",.0f"),
                        _opt(r["macs_per_inference"], ",.0f"))
        console.print(act)
        console.print()

    mis = report["mission"]
    table = _table(f"Compute energy per inference (1 control tick) and {mis['name']} endurance "
                   f"({mis['battery_usable_j'] / 1e3:.2f} kJ usable, avionics "
                   f"{mis['avionics_w']:g} W)")
    _name_column(table, "controller", [r["controller"] for r in rows])
    _name_column(table, "profile", [r["profile"] + ("*" if r["estimate"] else "") for r in rows])
    for col in ("dynamic\nJ/inf", "learning\nJ/inf", "static\nJ/inf", "compute\nW",
                "% of\nrotor W", "flight\nmin", "Δ vs\nDNN s"):
        table.add_column(col, justify="right", no_wrap=True, overflow="fold")
    for r in rows:
        table.add_row(
            r["controller"], r["profile"] + ("*" if r["estimate"] else ""),
            _fmt_j(r["dynamic_j_per_inference"]), _fmt_j(r["learning_j_per_inference"]),
            _fmt_j(r["static_j_per_inference"]), _fmt_w(r["compute_w"]),
            _opt(r["compute_pct_of_platform"], ".3f"), f"{r['endurance_s'] / 60:.3f}",
            _opt(r["endurance_vs_dnn_s"], "+.1f"),
        )
    console.print(table)
    console.print()
    console.print(
        "* estimated profile (see neurofit.neuromorphic.hardware notes). Per inference (one "
        "control tick): dynamic J = the tick's operations, learning J = the part of it spent "
        "learning; static J = the device's idle power x one tick; compute W = static + dynamic "
        "power; % of rotor W = compute W / platform (rotor) power; flight min = endurance on "
        "the mission's battery; Δ vs DNN s = endurance change against the reference DNN row "
        "at the same platform power. Activity: Hz/neuron = spikes per neuron per second of "
        "flight; %/step = spikes / neuron updates; MAC+act = multiply-accumulates and "
        "activations of a dense network (a delta network's change tests included); a DNN "
        "profile's dynamic J includes its fixed cost per inference call.", markup=False,
        highlight=False)
    for note in report.get("notices", []):
        console.print(f"note: {note}", markup=False, highlight=False)
    ratio = report.get("ratio_vs_dnn")
    if ratio:
        _print_ratio(ratio, console)


def _break_even_text(be: dict[str, Any] | None, what: str) -> str:
    """What the break-even figures say, in one sentence (or why there are none)."""
    if be is None:
        return f"no {what}s, so no figure per {what} moves its bill"
    now = (f"now {_fmt_j(be['current_j'])} x {be['events_per_inference']:,.0f} per inference, "
           f"rest of the bill {_fmt_j(be['rest_j'])}")
    if be["tie"] is None:
        return (f"neither a tie nor a 10× win is reachable by this figure alone: the rest of "
                f"the bill is already above the DNN's ({now})")
    if be["10x"] is None:
        return (f"ties at ≤ {_fmt_j(be['tie'])} per {what}; a 10× win is not reachable by this "
                f"figure alone: the rest of the bill is above a tenth of the DNN's ({now})")
    return (f"ties at ≤ {_fmt_j(be['tie'])}; to win this task by 10×, your chip needs ≤ "
            f"{_fmt_j(be['10x'])} per {what} ({now})")


def _print_ratio(ratio: dict[str, Any], console: Any) -> None:
    """The reference DNN, then per neuromorphic profile the ratio and the break-even figures."""
    d = ratio["dnn"]
    console.print(
        f"ratio_vs_dnn of {ratio['snn']['controller']} against the reference DNN (the cheapest "
        f"DNN row holding the score, RMS ≤ {ratio['score_threshold_m'] * 1e3:.2f} mm): "
        f"{d['controller']} on {d['profile']}, {_fmt_j(d['dynamic_j_per_inference'])} dynamic "
        f"per inference (of it {_fmt_j(d['overhead_j_per_inference'])} fixed per call), RMS "
        f"{d['rms_error_m'] * 1e3:.2f} mm.", markup=False, highlight=False)
    for prof, e in ratio["by_profile"].items():
        s = e["snn"]
        parts = s["dynamic_parts_j"]
        inf_only = e["inference_only"]
        text = (
            f"- on {prof} ({s['execution']}): ratio {e['value']:.3g}× (inference only: "
            f"{'-' if inf_only is None else format(inf_only, '.3g')}×), the SNN's "
            f"{_fmt_j(s['dynamic_j_per_inference'])} at RMS {s['rms_error_m'] * 1e3:.2f} mm, "
            f"spiking {100 * (s['spike_fraction_per_step'] or 0):.3f} % of neurons per step "
            f"({s['spike_rate_hz']:.2f} Hz/neuron); neuron updates "
            f"{_fmt_j(parts.get('neuron_j'))}, synaptic events "
            f"{_fmt_j(parts.get('synaptic_j'))}, learning {_fmt_j(parts.get('learning_j'))}, "
            f"spikes {_fmt_j(parts.get('spikes_j'))}. Per synaptic event: "
            + _break_even_text(e["break_even_j_per_synaptic_event"], "synaptic event") + ".")
        if "break_even_j_per_neuron_update" in e:
            text += " Per neuron update (every one charged): " + _break_even_text(
                e["break_even_j_per_neuron_update"], "neuron update") + "."
        console.print(text, markup=False, highlight=False)


def plot_report(report: dict[str, Any], path: str | Path) -> Path:
    """Stacked power bars (platform / avionics / compute static / compute dynamic) per
    controller × profile, and dynamic and static energy per inference on a log axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = report["rows"]
    labels = [f"{r['controller']}\n{r['profile']}" for r in rows]
    x = np.arange(len(rows))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(max(7.0, 1.1 * len(rows) + 2), 8.5))
    bottom = np.zeros(len(rows))
    for key, label, color in (("platform_w", "platform (rotors)", "#9aa5b1"),
                              ("avionics_w", "avionics", "#52606d"),
                              ("static_w", "compute static", "#e67e22"),
                              ("dynamic_w", "compute dynamic", "#c0392b")):
        vals = np.array([r[key] for r in rows], dtype=float)
        ax1.bar(x, vals, bottom=bottom, label=label, color=color)
        bottom += vals
    for xi, r in zip(x, rows, strict=True):
        ax1.text(xi, bottom[xi], f"{r['endurance_s'] / 60:.2f} min", ha="center",
                 va="bottom", fontsize=7)
    ax1.set_ylim(0, 1.08 * float(bottom.max()))
    ax1.set_ylabel("power (W)")
    ax1.set_title(f"Power on the {report['mission']['name']} mission (label: endurance)")
    ax1.set_xticks(x, labels, fontsize=7)
    ax1.legend(fontsize=7, loc="lower right")
    dyn = np.array([r["dynamic_j_per_inference"] for r in rows], dtype=float)
    sta = np.array([r["static_j_per_inference"] for r in rows], dtype=float)
    w = 0.4
    ax2.bar(x - w / 2, np.where(dyn > 0, dyn, np.nan), w, label="dynamic", color="#c0392b")
    ax2.bar(x + w / 2, np.where(sta > 0, sta, np.nan), w, label="static (per tick)",
            color="#e67e22")
    ax2.set_yscale("log")
    ax2.set_ylabel("J per inference")
    ax2.set_title("Energy per inference (log)")
    ax2.set_xticks(x, labels, fontsize=7)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def _run_dir_controller(run_dir: Path, frozen: bool) -> tuple[str, Any, str, dict[str, Any]]:
    """(name, factory, env id, env kwargs) of a training run directory."""
    from neurofit.agents.baselines import make_agent
    from neurofit.agents.training import TrainConfig

    if not run_dir.is_dir():
        raise FileNotFoundError(f"run dir {run_dir} does not exist")
    config = TrainConfig.load(run_dir)
    state = next((p for p in (run_dir / "agent.npz", run_dir / "checkpoints" / "latest.npz")
                  if p.exists()), None)

    def make(env: Any, seed: int) -> Any:
        agent = make_agent(config.agent, env, config.agent_cfg(), mlp=config.mlp_path)
        if state is not None:
            agent.load_state(state)
        if hasattr(agent, "learning"):
            agent.learning = (not frozen) and config.agent == "neurofit"
        return agent

    return f"{config.agent}:{run_dir.name}", make, config.env_id, dict(config.env_kwargs)


def energy_command(
    run_dir: Annotated[list[Path] | None, typer.Option(
        "--run-dir", help="A training run directory (repeatable).")] = None,
    env_id: Annotated[str | None, typer.Option(
        "--env", help="Env id for fresh agents (default: the run's).")] = None,
    agent: Annotated[str, typer.Option(
        help=f"Fresh agents, comma-separated, of {', '.join(AGENTS)} (with --env or no "
             "--run-dir).")] = "",
    profiles: Annotated[str, typer.Option(
        help="Hardware profiles, comma-separated: built-in names or .toml files.")] = (
        "loihi,neurofit-analog,spinnaker2,jetson-class,cpu-x86,mcu-cortex-m4"),
    mission: Annotated[str, typer.Option(help="Mission scenario for endurance.")] = (
        "micro-drone"),
    episodes: Annotated[int, typer.Option(min=1, help="Episodes per controller.")] = 3,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the first episode.")] = 0,
    max_steps: Annotated[int | None, typer.Option(
        min=1, help="Cut episodes to this many steps (max_episode_steps).")] = None,
    env_kwargs: Annotated[str, typer.Option(
        help="JSON object of gymnasium.make keyword arguments.")] = "{}",
    n_per_input: Annotated[int | None, typer.Option(
        min=1, help="neurofit: hidden neurons per input.")] = None,
    n_output_neurons: Annotated[int | None, typer.Option(
        min=1, help="neurofit: output neurons.")] = None,
    substeps: Annotated[int | None, typer.Option(
        min=1, help="neurofit: network steps per tick (dt_s becomes 1 ms / substeps).")] = None,
    coding: Annotated[str, typer.Option(
        help="neurofit: 'rate' (LIF network, the default) or 'sigma-delta' (the change-driven "
             "network: events only when something changes).")] = "rate",
    mlp_hidden: Annotated[str, typer.Option(
        help="feedback-mlp: hidden widths, comma-separated ('' = linear); the default is the "
             "smallest that matched NeuroFit on hover-payload (neurofit bench energy).")] = "1",
    mlp_lr: Annotated[float, typer.Option(min=0.0, help="feedback-mlp: SGD step.")] = 0.02,
    mlp_delta: Annotated[float, typer.Option(
        min=0.0, help="feedback-mlp-delta: change threshold of its inputs (feature units, "
                      "about [-1, 1]) and hidden pre-activations; 0 = the dense MLP's every "
                      "result.")] = DEFAULT_DELTA,
    frozen: Annotated[bool, typer.Option(
        "--frozen", help="Switch learning off (no weight updates are charged).")] = False,
    dnn_twin: Annotated[bool, typer.Option(
        help="When a DNN profile is asked for and no DNN controller is given, also fly a "
             "feedback-mlp (the spiking controller's DNN twin) on the same episodes.")] = True,
    plot: Annotated[Path | None, typer.Option(help="Write the power/energy plot here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Energy per inference, compute power and endurance per controller × hardware profile."""
    from dataclasses import replace

    from neurofit.agents import energy_report as er
    from neurofit.agents.neurofit_agent import AgentConfig
    from neurofit.envs.missions import get_scenario
    from neurofit.neuromorphic.hardware import get_profile

    try:
        profs = [get_profile(p) for p in _split(profiles)]
        if not profs:
            raise ValueError("--profiles is empty")
        get_scenario(mission)
        kwargs = json.loads(env_kwargs)
        if not isinstance(kwargs, dict):
            raise ValueError("--env-kwargs must be a JSON object")
        kinds = _split(agent)
        bad = [k for k in kinds if k not in AGENTS]
        if bad:
            raise ValueError(f"unknown agent(s) {bad}; choose from {', '.join(AGENTS)}")
        hidden = tuple(int(h) for h in _split(mlp_hidden))
        runs = [_run_dir_controller(Path(r), frozen) for r in (run_dir or [])]
    except (ValueError, FileNotFoundError, OSError) as exc:
        raise _fail(str(exc)) from None
    if not runs and not kinds:
        kinds = ["neurofit"]
    if kinds and env_id is None:
        if not runs:
            raise _fail("give --env ID with --agent (or --run-dir RUN)")
        env_id = runs[0][2]
    if max_steps is not None:
        kwargs["max_episode_steps"] = max_steps

    extra = {"max_episode_steps": max_steps} if max_steps is not None else {}
    controllers: list[tuple[str, Any, str, dict[str, Any]]] = [
        (n, f, env_id or e, {**k, **extra}) for n, f, e, k in runs]
    try:
        base = AgentConfig(mode="error", coding=coding)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if n_per_input is not None:
        base = replace(base, n_per_input=n_per_input)
    if n_output_neurons is not None:
        base = replace(base, n_output_neurons=n_output_neurons)
    if substeps is not None:
        base = replace(base, substeps=substeps, dt_s=er.TICK_NETWORK_S / substeps)
    for kind in kinds:
        controllers.append((kind, _fresh_factory(kind, base, hidden, mlp_lr, frozen,
                                                 mlp_delta), str(env_id), kwargs))

    seeds = list(range(seed, seed + episodes))
    measurements = []
    notices: list[str] = []
    try:
        with _Progress(True, len(controllers) * episodes) as step:
            for name, factory, env, ekw in controllers:
                measurements.append(er.measure_controller(
                    name, factory, env, seeds, env_kwargs=ekw,
                    on_episode=lambda r, n=name: step(f"{n}: seed {r.seed}")))
        if dnn_twin:
            twin = _measure_dnn_twin(measurements, controllers, profs, seeds,
                                     _fresh_factory("feedback-mlp", base, hidden, mlp_lr, frozen),
                                     notices)
            if twin is not None:
                measurements.append(twin)
        report = er.energy_report(measurements, profs, mission)
    except (ValueError, FileNotFoundError) as exc:
        raise _fail(str(exc)) from None
    notices += _missing_profile_notices(report["rows"], profs, dnn_twin)
    report["notices"] = notices
    report["env_id"] = controllers[0][2]
    report["learning"] = not frozen
    if plot is not None:
        report["plot"] = str(plot_report(report, plot))
    if as_json:
        typer.echo(json.dumps(report, allow_nan=True, default=_json_default))
        return
    print_report(report)
    if plot is not None:
        typer.echo(f"plot: {report['plot']}")


#: Name of the DNN twin's rows (the ``--agent`` name of the same controller).
DNN_TWIN = "feedback-mlp"


def _measure_dnn_twin(measurements: Sequence[Any], controllers: Sequence[tuple[str, Any, str,
                      dict[str, Any]]], profs: Sequence[Any], seeds: Sequence[int],
                      factory: Any, notices: list[str]) -> Any:
    """A feedback-mlp flown on the first spiking controller's episodes, when DNN profiles were
    asked for but no DNN controller was measured (else they would have no row); or None."""
    from neurofit.agents import energy_report as er

    dnn_profiles = [p.name for p in profs if p.kind == "dnn"]
    snn = [(m, c) for m, c in zip(measurements, controllers, strict=True) if m.kind == "snn"]
    if not dnn_profiles or not snn or any(m.kind == "dnn" for m in measurements):
        return None
    m, (_, _, env_id, ekw) = snn[0]
    try:
        with _Progress(True, len(seeds)) as step:
            twin = er.measure_controller(DNN_TWIN, factory, env_id, seeds, env_kwargs=ekw,
                                         on_episode=lambda r: step(f"{DNN_TWIN}: seed {r.seed}"))
    except ValueError as exc:  # an env the feedback MLP cannot fly
        notices.append(f"{', '.join(dnn_profiles)}: no DNN twin of {m.name} ({exc})")
        return None
    notices.append(
        f"{DNN_TWIN} ({twin.info.get('text', 'MLP')}) was added as the DNN twin of {m.name} for "
        f"{', '.join(dnn_profiles)}: the same {len(seeds)} episode(s) of {env_id}; "
        "--no-dnn-twin leaves it out.")
    return twin


def _missing_profile_notices(rows: Sequence[dict[str, Any]], profs: Sequence[Any],
                             dnn_twin: bool) -> list[str]:
    """Why a requested profile has no row: it prices the other kind of network."""
    priced = {r["profile"] for r in rows}
    out = []
    for p in profs:
        if p.name in priced:
            continue
        if p.kind == "dnn":
            out.append(f"{p.name}: no row — a DNN profile prices dense networks and no DNN "
                       "controller was measured (give --agent feedback-mlp"
                       f"{'' if dnn_twin else ', or leave out --no-dnn-twin'}).")
        else:
            out.append(f"{p.name}: no row — a neuromorphic profile prices spiking networks and "
                       "no spiking controller was measured (give --agent neurofit or a NeuroFit "
                       "--run-dir).")
    return out


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _fresh_factory(kind: str, base: Any, hidden: Sequence[int], lr: float, frozen: bool,
                   delta: float = DEFAULT_DELTA) -> Any:
    from dataclasses import replace

    from neurofit.agents.baselines import make_agent
    from neurofit.agents.energy_report import delta_mlp_factory, mlp_factory

    # the DNN side learns under the same gate as the spiking controller (a fair comparison)
    if kind == "feedback-mlp":
        inner = mlp_factory(hidden, lr, base.learn_deadband)
    elif kind == "feedback-mlp-delta":
        inner = delta_mlp_factory(hidden, lr, delta, base.learn_deadband)
    else:
        def inner(env: Any, seed: int) -> Any:
            return make_agent(kind, env, replace(base, seed=seed))

    def make(env: Any, seed: int) -> Any:
        agent = inner(env, seed)
        if frozen and hasattr(agent, "learning"):
            agent.learning = False
        return agent

    return make


class _Progress:
    """A rich progress bar on stderr (or nothing); ``with _Progress(on, total) as step``."""

    def __init__(self, enabled: bool, total: int) -> None:
        self._enabled = enabled and total > 0
        self._total = total

    def __enter__(self) -> Any:
        if not self._enabled:
            return lambda text="": None
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                             MofNCompleteColumn(), console=Console(stderr=True),
                             transient=True)
        self._bar.__enter__()
        task = self._bar.add_task("episodes", total=self._total)

        def step(text: str = "") -> None:
            self._bar.update(task, advance=1, description=text or "episodes")

        return step

    def __exit__(self, *exc: object) -> None:
        if self._enabled:
            self._bar.__exit__(None, None, None)


def register(app: typer.Typer) -> None:
    """Add ``energy`` to the ``neurofit`` app."""
    app.command("energy")(energy_command)


if __name__ == "__main__":  # pragma: no cover
    typer.run(energy_command)
