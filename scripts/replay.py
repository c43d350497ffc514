"""``neurofit replay``: re-simulate a recorded episode, check it bit-exact, render it to video.

::

    neurofit replay --run-dir runs/hover                      # list the episodes
    neurofit replay --run-dir runs/hover --episode 3 --check  # re-simulate; fail unless exact
    neurofit replay --run-dir runs/hover -e 3 --video ep3.mp4 --plot ep3.png

The video stacks MuJoCo's offscreen rendering (``MUJOCO_GL=egl`` headless) over the episode's
timeline (spike raster, error, reward, actuator and compute power) with a moving cursor.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

__all__ = ["VIDEO_FPS", "MediaResult", "register", "render_video", "write_episode_media"]

# MuJoCo picks its GL backend when first imported; headless machines need EGL. A user's own
# MUJOCO_GL (glfw on a desktop) wins.
os.environ.setdefault("MUJOCO_GL", "egl")

#: ``quality="fast"`` turns shadows and reflections off: with software EGL they cost ~90 % of
#: a frame (a 4096 px shadow map); the physics is untouched (visual model fields only).
QUALITIES = ("fast", "full")
#: Default video frame rate of every command that writes one (demo, replay): a frame every
#: 4th step of a 100 Hz env, played back in real time.
VIDEO_FPS = 25.0


@dataclass
class MediaResult:
    """What :func:`write_episode_media` / :func:`render_video` produced."""

    video: Path | None = None
    plot: Path | None = None
    frames: int = 0
    fps: float = 0.0
    render_s: float = 0.0
    check: Any = None  # neurofit.envs.replay.ReplayCheck of the re-simulation (video only)


def _set_quality(env: Any, quality: str) -> None:
    if quality not in QUALITIES:
        raise ValueError(f"quality must be one of {QUALITIES}, got {quality!r}")
    if quality == "full":
        return
    model = getattr(env.unwrapped, "model", None)
    if model is None:
        return
    model.light_castshadow[:] = 0
    model.mat_reflectance[:] = 0.0


def _even16(n: int) -> int:
    return -(-n // 16) * 16


def render_video(
    rec: Any,
    episode: int,
    path: str | Path,
    *,
    fps: float = VIDEO_FPS,
    size: tuple[int, int] | None = (640, 480),
    timeline_height: int | None = None,
    quality: str = "fast",
    max_frames: int | None = None,
    progress: bool = True,
    allow_version_mismatch: bool = False,
) -> MediaResult:
    """Re-simulate ``episode`` and write an MP4: the rendered scene over the timeline.

    Args:
        rec: a :class:`~neurofit.envs.recorded.Recording`.
        episode: episode number.
        path: output ``.mp4``.
        fps: target video frame rate; a frame every ``round(control_hz / fps)`` steps, played
            back in real time.
        size: (width, height) of the rendered scene (env kwargs), or None for the env's.
        timeline_height: pixels of the timeline under the picture (default ~0.8 x height).
        quality: ``"fast"`` (no shadows/reflections) or ``"full"`` (the env's look).
        max_frames: stop after this many frames (for benchmarks).
        progress: show a progress bar (rich) on stderr.
        allow_version_mismatch: see :func:`neurofit.envs.replay.check_versions`.

    Returns:
        Frames written, effective fps, seconds spent and the replay check.
    """
    import imageio.v2 as imageio
    import numpy as np

    from neurofit.envs.replay import make_replay_env, replay_episode
    from neurofit.scripts.timeline import draw_timeline, energy_profile

    ep = rec.episode(episode)
    kwargs: dict[str, Any] = {}
    if size is not None:
        kwargs = {"width": int(size[0]), "height": int(size[1])}
    try:
        env = make_replay_env(
            rec, render_mode="rgb_array", allow_version_mismatch=allow_version_mismatch, **kwargs
        )
    except TypeError:  # an env without width/height keywords: its own size
        env = make_replay_env(
            rec, render_mode="rgb_array", allow_version_mismatch=allow_version_mismatch
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        _set_quality(env, quality)
        dt = float(getattr(env.unwrapped, "dt", 0.0) or 0.0)
        control_hz = 1.0 / dt if dt > 0 else float(env.metadata.get("render_fps", fps))
        stride = max(1, round(control_hz / fps))
        out_fps = control_hz / stride
        n_frames = ep.n_steps // stride + 1
        if max_frames is not None:
            n_frames = min(n_frames, max_frames)
        first = env.unwrapped
        probe = None
        writer = None
        canvas = None
        tl = None
        frames = 0
        t_start = time.perf_counter()
        bar = _progress(progress, n_frames, f"rendering episode {episode}")

        def on_step(k: int, e: Any) -> None:
            nonlocal writer, canvas, tl, frames, probe
            if k % stride or frames >= n_frames:
                return
            img = e.render()
            if canvas is None:
                h, w = img.shape[:2]
                th = timeline_height or round(0.8 * h)
                width = _even16(w)
                total = _even16(h + th)
                th = total - h
                tl = draw_timeline(ep, width_px=width, height_px=th,
                                   profile=energy_profile(rec))
                canvas = np.full((total, width, 3), 255, dtype=np.uint8)
                probe = (h, w)
                writer = imageio.get_writer(
                    path, fps=out_fps, codec="libx264", quality=None, macro_block_size=16,
                    pixelformat="yuv420p", ffmpeg_log_level="error",
                    output_params=["-preset", "veryfast", "-crf", "23"],
                )  # fmt: skip
            h, w = probe  # type: ignore[misc]
            canvas[:h, :w] = img
            tl.frame(float(first.data.time), canvas[h:])  # type: ignore[union-attr]
            writer.append_data(canvas)  # type: ignore[union-attr]
            frames += 1
            bar.advance()

        try:
            with bar:
                check = replay_episode(rec, ep, env=env, on_step=on_step)
        finally:
            if writer is not None:
                writer.close()
    finally:
        env.close()
    return MediaResult(
        video=path,
        frames=frames,
        fps=out_fps,
        render_s=time.perf_counter() - t_start,
        check=check,
    )


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def advance(self) -> None:
        return None


class _RichBar:
    def __init__(self, total: int, label: str) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._p = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("frames"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._p.add_task(label, total=total)

    def __enter__(self) -> _RichBar:
        self._p.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._p.stop()

    def advance(self) -> None:
        self._p.advance(self._task)


def _progress(show: bool, total: int, label: str) -> _NoBar | _RichBar:
    return _RichBar(total, label) if show else _NoBar()


def write_episode_media(
    path_or_rec: Any,
    episode: int = 0,
    *,
    video: str | Path | None = None,
    plot: str | Path | None = None,
    fps: float = VIDEO_FPS,
    quality: str = "fast",
    progress: bool = True,
) -> MediaResult:
    """Write an episode's video and/or timeline PNG (what ``neurofit demo`` ends with).

    Args:
        path_or_rec: a run / dataset path or an open :class:`~neurofit.envs.recorded.Recording`.
        episode: episode number.
        video: output MP4 (None: no video).
        plot: output PNG of the timeline alone (None: no plot).
    """
    from neurofit.envs.recorded import Recording, open_recording
    from neurofit.scripts.timeline import energy_profile, save_timeline_png

    rec = path_or_rec if isinstance(path_or_rec, Recording) else open_recording(path_or_rec)
    result = MediaResult()
    if plot is not None:
        result.plot = save_timeline_png(rec.episode(episode), plot,
                                        profile=energy_profile(rec))
    if video is not None:
        v = render_video(rec, episode, video, fps=fps, quality=quality, progress=progress)
        v.plot = result.plot
        result = v
    return result


def _parse_size(size: str) -> tuple[int, int]:
    try:
        w, h = (int(x) for x in size.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"size must look like 640x480, got {size!r}") from None
    if not (16 <= w <= 4096 and 16 <= h <= 4096):
        raise typer.BadParameter(f"size must be between 16x16 and 4096x4096, got {size!r}")
    return w, h


def replay(
    ctx: typer.Context,
    run_dir: Annotated[
        str | None,
        typer.Option(
            "--run-dir",
            help="Run directory, dataset directory, its data/ folder, main_data.hdf5, or a "
            "local Minari dataset id.",
        ),
    ] = None,
    episode: Annotated[
        int | None, typer.Option("--episode", "-e", help="Episode number (default 0).")
    ] = None,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Re-simulate and fail unless qpos, qvel, act, time, observations and rewards "
            "match the record bit-exactly at every step.",
        ),
    ] = False,
    video: Annotated[Path | None, typer.Option(help="Write an MP4 here.")] = None,
    plot: Annotated[Path | None, typer.Option(help="Write the timeline PNG here.")] = None,
    fps: Annotated[
        float, typer.Option(min=1.0, max=240.0, help="Video frames per second.")
    ] = VIDEO_FPS,
    size: Annotated[str, typer.Option(help="Rendered picture size WxH.")] = "640x480",
    quality: Annotated[
        str, typer.Option(help="fast (no shadows/reflections) or full (the env's look).")
    ] = "fast",
    ignore_versions: Annotated[
        bool,
        typer.Option(
            "--ignore-versions",
            help="Replay even if neurofit/mujoco/numpy differ from the recording's.",
        ),
    ] = False,
    list_episodes: Annotated[
        bool, typer.Option("--list", help="List the episodes and exit.")
    ] = False,
) -> None:
    """Replay a recorded episode: check it bit-exact, render a video, plot its timeline."""
    import warnings

    from rich.console import Console
    from rich.markup import escape

    from neurofit.envs.recorded import RebuiltMetadataWarning, RecordingError, open_recording

    out = Console()
    err = Console(stderr=True)
    # the old form `neurofit replay PATH` keeps working (extra arguments are allowed, unlisted)
    if len(ctx.args) > 1:
        raise typer.BadParameter(f"unexpected argument(s) {' '.join(ctx.args)}")
    positional = ctx.args[0] if ctx.args else None
    if positional is not None and run_dir is not None:
        raise typer.BadParameter("give the recording once, as --run-dir PATH")
    run_or_dataset = run_dir if positional is None else positional
    if run_or_dataset is None:
        raise typer.BadParameter("give the run or dataset to replay", param_hint="--run-dir")
    if positional is not None:  # the old form keeps working, and says what replaced it
        err.print(f"note: `neurofit replay PATH` is deprecated; write `neurofit replay --run-dir "
                  f"{positional}`", markup=False, highlight=False, soft_wrap=True)
    if quality not in QUALITIES:
        raise typer.BadParameter(f"quality must be one of {QUALITIES}, got {quality!r}")
    wh = _parse_size(size)
    try:
        with warnings.catch_warnings():  # a rebuilt metadata.json: printed as a notice below
            warnings.simplefilter("ignore", RebuiltMetadataWarning)
            rec = open_recording(run_or_dataset)
        for notice in rec.notices:
            err.print(f"[yellow]notice:[/yellow] {escape(notice)}", soft_wrap=True)
        out.print(
            f"[bold]{rec.path}[/bold]: {rec.env_id} · {rec.total_episodes} episode(s) · "
            f"recorded with neurofit {rec.versions.get('neurofit', '?')}, "
            f"mujoco {rec.versions.get('mujoco', '?')}"
        )
        if list_episodes or not (check or video or plot):
            _print_summary(out, rec)
            if not list_episodes:
                out.print("add --check, --video out.mp4 or --plot out.png to replay an episode")
            return
        n = 0 if episode is None else episode
        ep = rec.episode(n, verify=not check)  # --check reports a corrupt record (exit 1)
        if plot is not None:
            from neurofit.scripts.timeline import energy_profile, save_timeline_png

            out.print(f"timeline: {save_timeline_png(ep, plot, profile=energy_profile(rec))}")
        result = None
        if video is not None:
            res = render_video(
                rec, n, video, fps=fps, size=wh, quality=quality,
                allow_version_mismatch=ignore_versions,
            )  # fmt: skip
            out.print(
                f"video: {res.video} ({res.frames} frames at {res.fps:.3g} fps, "
                f"{res.frames / max(res.render_s, 1e-9):.1f} frames/s rendered)"
            )
            result = res.check
        elif check:
            from neurofit.envs.replay import replay_episode

            result = replay_episode(rec, ep, allow_version_mismatch=ignore_versions)
    except RecordingError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if result is not None:
        _print_check(out, result)
        if check and not result.bit_exact:
            raise typer.Exit(1)


def _print_summary(out: Any, rec: Any) -> None:
    from rich.table import Table

    table = Table(title=f"episodes of {rec.dataset_id}")
    for col in ("ep", "steps", "seed", "ended by", "return", "actuator J", "compute J", "spikes"):
        table.add_column(col, justify="right", no_wrap=True)
    for row in rec.summary():
        if "error" in row:
            table.add_row(str(row["episode"]), f"[red]{row['error']}[/red]", "", "", "", "", "", "")
            continue

        def f(v: Any, fmt: str) -> str:
            return "" if v is None or v != v else format(v, fmt)

        table.add_row(
            str(row["episode"]),
            str(row["steps"]),
            "" if row["seed"] is None else str(row["seed"]),
            row["ended_by"],
            f(row["episode_return"], ".1f"),
            f(row["actuator_energy_j"], ".3g"),
            f(row["compute_energy_j"], ".3g"),
            "" if row["spike_count"] is None else f"{row['spike_count']:,}",
        )
    out.print(table)


def _print_check(out: Any, result: Any) -> None:
    import numpy as np
    from rich.markup import escape

    for note in result.version_notes:
        out.print(f"[yellow]note:[/yellow] {note}")
    if result.initial_state_restored:
        out.print("[yellow]note:[/yellow] the reset did not reproduce the recorded initial state;"
                  " it was restored from the record")  # fmt: skip
    if result.problems:
        for problem in result.problems:
            out.print(f"[red]corrupt record:[/red] {escape(problem)}", soft_wrap=True)
    elif result.has_checksums:
        out.print("checksums: every column and attribute of the episode verified")
    else:
        out.print("[yellow]note:[/yellow] the episode has no checksums (recorded before they "
                  "were written): only the re-simulation was checked")  # fmt: skip
    verdict = "[green]bit-exact[/green]" if result.bit_exact else "[red]NOT bit-exact[/red]"
    out.print(
        f"replay of episode {result.episode}: {result.n_steps} steps checked, {verdict}; "
        f"largest |Δqpos| = {result.max_qpos_dev:.3g}, |Δqvel| = {result.max_qvel_dev:.3g} "
        "over all steps"
    )
    bad = np.flatnonzero((result.qpos_dev != 0) | (result.qvel_dev != 0))
    if bad.size:
        from rich.table import Table

        table = Table(title=f"steps that differ ({bad.size}; first 15)")
        for col in ("step", "max |Δqpos|", "max |Δqvel|"):
            table.add_column(col, justify="right")
        for k in bad[:15]:
            table.add_row(str(k), f"{result.qpos_dev[k]:.3g}", f"{result.qvel_dev[k]:.3g}")
        out.print(table)
    elif result.first_mismatch() is not None:  # act, time, observation or reward differ
        out.print(result.describe())


def register(app: typer.Typer) -> None:
    """Add ``replay`` to the ``neurofit`` app."""
    app.command("replay", context_settings={"allow_extra_args": True})(replay)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(typer.run(replay))
