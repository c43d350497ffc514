"""The timeline of a recorded episode: spike raster, tracking error (mm), reward, actuator and
compute power (on the agent's named hardware profile) on one time axis, drawn once with
matplotlib (Agg) into an RGB image.

A video frame only needs a cursor on top of that image (:meth:`Timeline.frame`), so the plot is
never redrawn while rendering.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurofit.envs.recorded import RecordedEpisode

__all__ = ["Timeline", "draw_timeline", "energy_profile", "save_timeline_png"]

_CURSOR_RGB = np.array([220, 30, 30], dtype=np.uint8)
_SHADE = "#f3c969"


@dataclass
class Timeline:
    """A drawn timeline and the mapping from simulated time to its pixel columns.

    Attributes:
        image: (height, width, 3) uint8.
        t0, t1: time range of the x axis [s].
        x0, x1: pixel columns of ``t0`` and ``t1``.
        y0, y1: pixel rows spanned by the panels (top, bottom), where the cursor is drawn.
    """

    image: np.ndarray
    t0: float
    t1: float
    x0: float
    x1: float
    y0: int
    y1: int
    _prev: tuple[np.ndarray, int] | None = field(default=None, repr=False, compare=False)

    def column(self, t: float) -> int:
        """Pixel column of time ``t`` (clipped to the axes)."""
        if self.t1 <= self.t0:
            return round(self.x0)
        u = min(max((t - self.t0) / (self.t1 - self.t0), 0.0), 1.0)
        return round(self.x0 + u * (self.x1 - self.x0))

    def frame(self, t: float, out: np.ndarray, width: int = 2) -> np.ndarray:
        """Write the timeline with a cursor at ``t`` into ``out`` (same shape as ``image``).

        Only the cursor columns of the previous call are restored, so a frame costs a few
        hundred pixel writes, not a redraw.
        """
        prev = self._prev
        if prev is None or prev[0] is not out:
            out[...] = self.image
        else:
            c = prev[1]
            out[:, c : c + width] = self.image[:, c : c + width]
        c = max(0, min(self.column(t) - width // 2, self.image.shape[1] - width))
        out[self.y0 : self.y1, c : c + width] = _CURSOR_RGB
        self._prev = (out, c)
        return out


def _disturbance_spans(ep: RecordedEpisode, t_end: float) -> list[tuple[float, float, str]]:
    spans = []
    for d in ep.disturbances:
        if not isinstance(d, dict):
            continue
        kind = str(d.get("type", "disturbance"))
        if "at_s" in d:
            start, stop = float(d["at_s"]), t_end
        elif "start_s" in d:
            start = float(d["start_s"])
            stop = t_end if d.get("stop_s") is None else min(float(d["stop_s"]), t_end)
        else:
            continue
        if kind == "SensorNoise":  # on for the whole flight: not worth a shade
            continue
        if start < t_end:
            spans.append((start, stop, kind))
    return spans


def _raster(ax: Any, ep: RecordedEpisode, t: np.ndarray, width_px: int, height_px: int) -> bool:
    spikes = ep.spikes
    if spikes is None or spikes.indices.size == 0:
        msg = (
            "no spikes recorded (the agent has no record_tick hook)"
            if spikes is None
            else "no spikes in this episode"
        )
        ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes, fontsize=7)
        ax.set_yticks([])
        return False
    rows, neurons = spikes.events()
    n_neurons = spikes.n_neurons
    n_rows = spikes.n_rows
    tb = max(1, min(n_rows, width_px))
    nb = max(1, min(n_neurons, height_px))
    grid = np.zeros((nb, tb), dtype=np.float32)
    np.add.at(grid, (neurons.astype(np.int64) * nb // n_neurons, rows * tb // n_rows), 1.0)
    t_lo = float(t[0])
    t_hi = float(t[min(n_rows, t.shape[0]) - 1]) if n_rows > 1 else t_lo + 1.0
    ax.imshow(
        np.minimum(grid, np.percentile(grid[grid > 0], 99) if np.any(grid > 0) else 1.0),
        aspect="auto",
        origin="lower",
        cmap="Greys",
        interpolation="nearest",
        extent=(t_lo, t_hi, 0, n_neurons),
    )
    ax.set_ylabel("neuron", fontsize=7)
    ops = ep.agent.get("ops", {}) if ep.agent else {}
    wu = ops.get("weight_updates") if isinstance(ops, dict) else None
    if wu is not None and np.any(np.asarray(wu) > 0):  # when it learned
        wu = np.asarray(wu, dtype=np.float64)
        k = max(1, wu.shape[0] // 150)  # a moving average keeps the raster readable
        smooth = np.convolve(wu, np.ones(k) / k, mode="same")
        tw = ax.twinx()
        tw.plot(t[: len(wu)], smooth, color="tab:orange", lw=0.9, alpha=0.75)
        tw.set_ylabel("weight updates/tick", fontsize=6, color="tab:orange")
        tw.tick_params(labelsize=6, colors="tab:orange")
        tw.set_ylim(0.0, 1.15 * float(smooth.max()))
    return True


def energy_profile(rec: Any) -> str | None:
    """The hardware profile the recorded agent charged its compute on (None if not recorded).

    ``rec`` is a :class:`~neurofit.envs.recorded.Recording`; the profile is the agent config's
    ``energy_profile`` in its metadata.
    """
    agent = getattr(rec, "neurofit", {}).get("agent")
    config = agent.get("config") if isinstance(agent, dict) else None
    profile = config.get("energy_profile") if isinstance(config, dict) else None
    return profile if isinstance(profile, str) and profile else None


def _error_panel(ax: Any, ep: RecordedEpisode, t: np.ndarray, fs: int) -> None:
    """The tracking error in mm (:mod:`neurofit.envs.tracking`); for envs without a position
    target, the norm of ``info["error"]`` in the env's own units, labelled so."""
    track = ep.infos.get("tracking_error_m")
    err = ep.infos.get("error")
    if isinstance(track, np.ndarray) and track.shape == t.shape and np.any(np.isfinite(track)):
        ax.plot(t, 1000.0 * track, lw=0.8, color="tab:blue")
        ax.set_ylabel("tracking error (mm)", fontsize=fs)
    elif isinstance(err, np.ndarray) and err.ndim >= 1 and err.shape[0] == t.shape[0]:
        ax.plot(t, np.linalg.norm(err.reshape(err.shape[0], -1), axis=1), lw=0.8,
                color="tab:blue")
        ax.set_ylabel("|info error|\n(no position target;\nenv units)", fontsize=fs - 1)
    else:
        ax.text(0.5, 0.5, "no tracking error recorded", ha="center", va="center",
                transform=ax.transAxes, fontsize=fs)
        ax.set_ylabel("tracking error (mm)", fontsize=fs)
        return
    ax.set_ylim(bottom=0)


def draw_timeline(
    ep: RecordedEpisode,
    *,
    width_px: int = 1200,
    height_px: int = 800,
    dpi: int = 100,
    title: str | None = None,
    profile: str | None = None,
) -> Timeline:
    """Draw the timeline of ``ep`` into an RGB image of ``width_px`` x ``height_px``.

    ``profile`` names the hardware profile of the compute-power line (:func:`energy_profile`
    of the recording); None labels it "profile not recorded".
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    t = ep.time_s
    n = ep.n_steps
    t0, t1 = float(t[0]), float(t[-1]) if t.size > 1 else float(t[0]) + 1.0
    small = width_px < 800
    fs = 6 if small else 8
    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    axes = fig.subplots(4, 1, sharex=True, gridspec_kw={"height_ratios": [1.6, 1, 1, 1.2]})
    fig.subplots_adjust(
        left=0.11 if small else 0.07,
        right=0.88 if small else 0.92,
        top=0.93,
        bottom=0.1 if small else 0.07,
        hspace=0.12,
    )
    ax_sp, ax_err, ax_rew, ax_pow = axes
    _raster(ax_sp, ep, t, int(width_px * 0.8), int(height_px * 0.3))
    _error_panel(ax_err, ep, t, fs)
    if n:
        ax_rew.plot(t[1 : n + 1], ep.rewards, lw=0.8, color="tab:green")
    ax_rew.set_ylabel("reward", fontsize=fs)
    pw = ep.infos.get("power_w")
    if isinstance(pw, np.ndarray) and pw.shape[0] == t.shape[0]:
        ax_pow.plot(t[1:], pw[1:], lw=0.8, color="tab:red", label="actuators")
    ax_pow.set_ylabel("actuator power (W)", fontsize=fs, color="tab:red")
    agent = ep.agent or {}
    cp = agent.get("compute_power_w")
    if isinstance(cp, np.ndarray) and cp.size > 1:
        scale, unit = _unit(float(np.max(np.abs(cp[1:]))) if cp.size > 1 else 0.0)
        tw = ax_pow.twinx()
        tw.plot(t[1 : cp.shape[0]], cp[1:] * scale, lw=0.8, color="tab:purple")
        on = f"on {profile}" if profile else "profile not recorded"
        tw.set_ylabel(f"compute power ({unit})\n{on}", fontsize=fs, color="tab:purple")
        tw.tick_params(labelsize=fs, colors="tab:purple")
        top = float(np.max(cp[1:])) * scale
        tw.set_ylim(0.0, 1.15 * top if top > 0 else 1.0)  # static power alone is a flat line
    ax_pow.set_xlabel("simulated time [s]", fontsize=fs)
    labels: dict[float, list[str]] = {}
    for start, stop, kind in _disturbance_spans(ep, t1):
        for ax in axes:
            ax.axvspan(start, stop, color=_SHADE, alpha=0.2, lw=0)
        labels.setdefault(start, []).append(kind)
    for start, kinds in labels.items():
        ax_sp.text(start, 1.0, " " + " + ".join(kinds), transform=ax_sp.get_xaxis_transform(),
                   fontsize=fs - 1, va="bottom", ha="left", color="#9a6b00")  # fmt: skip
    for ax in axes:
        ax.tick_params(labelsize=fs)
        ax.set_xlim(t0, t1)
        ax.grid(alpha=0.25, lw=0.5)
    fig.suptitle(title or _title(ep, profile), fontsize=fs + 1)
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    h = image.shape[0]
    # pixel geometry of the shared x axis (display coords have their origin bottom-left)
    x0 = float(ax_sp.transData.transform((t0, 0.0))[0])
    x1 = float(ax_sp.transData.transform((t1, 0.0))[0])
    top = ax_sp.get_window_extent().y1
    bottom = ax_pow.get_window_extent().y0
    return Timeline(
        image=image,
        t0=t0,
        t1=t1,
        x0=x0,
        x1=x1,
        y0=max(0, math.floor(h - top)),
        y1=min(h, math.ceil(h - bottom)),
    )


def _unit(peak: float) -> tuple[float, str]:
    for scale, unit in ((1.0, "W"), (1e3, "mW"), (1e6, "µW"), (1e9, "nW")):
        if peak * scale >= 1.0:
            return scale, unit
    return 1e9, "nW"


def _title(ep: RecordedEpisode, profile: str | None) -> str:
    parts = [f"episode {ep.index}", f"{ep.n_steps} steps", f"return {ep.episode_return:.1f}"]
    e = ep.infos.get("energy_j")
    if isinstance(e, np.ndarray) and e.size:
        parts.append(f"actuators {float(e[-1]):.2f} J")
    agent = ep.agent or {}
    ce = agent.get("compute_energy_j")
    if isinstance(ce, np.ndarray) and ce.size:
        on = f" on {profile}" if profile else ""
        parts.append(f"compute {float(np.sum(ce)):.3g} J{on}")
    s = ep.spikes
    if s is not None:
        parts.append(f"{s.indices.size:,} spikes")
    return " · ".join(parts)


def save_timeline_png(
    ep: RecordedEpisode,
    path: str | Path,
    *,
    width_px: int = 1200,
    height_px: int = 800,
    title: str | None = None,
    profile: str | None = None,
) -> Path:
    """Draw the timeline of ``ep`` (:func:`draw_timeline`) and save it as a PNG."""
    import imageio.v3 as iio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tl = draw_timeline(ep, width_px=width_px, height_px=height_px, title=title, profile=profile)
    iio.imwrite(path, tl.image, extension=".png")
    return path
