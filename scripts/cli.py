"""Entry point of the ``neurofit`` command: sub-commands are registered here, defined elsewhere.

Each command lives in its own module under ``neurofit.scripts`` and is imported lazily inside
its function, so ``neurofit --help`` stays fast and a missing optional extra only breaks the
command that needs it.
"""

from __future__ import annotations

import importlib.util

import typer

app = typer.Typer(
    name="neurofit",
    help="Spiking, feedback-learning robot control that knows its own energy bill.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
bench_app = typer.Typer(help="Benchmarks: print a table, or one JSON object with --json.")
app.add_typer(bench_app, name="bench")


def _register() -> None:
    """Attach every command module's commands to the apps above."""
    from neurofit.scripts import bench_env

    bench_env.register(bench_app)
    # demo and bench_engine are being written in parallel: tolerate their absence until they land
    pending = ("demo", "bench_engine")
    if any(importlib.util.find_spec(f"neurofit.scripts.{m}") is None for m in pending):
        return
    from neurofit.scripts import bench_engine, demo

    demo.register(app)
    bench_engine.register(bench_app)


_register()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
