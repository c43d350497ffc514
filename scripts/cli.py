"""Entry point of the ``neurofit`` command: sub-commands are registered here, defined elsewhere.

Each command lives in its own module under ``neurofit.scripts`` and is imported lazily inside
its function, so ``neurofit --help`` stays fast and a missing optional extra only breaks the
command that needs it.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

# headless rendering: EGL works on servers without a display (set before mujoco is imported)
os.environ.setdefault("MUJOCO_GL", "egl")

# Help texts are plain text: rich markup would eat "[default: 0]" and any other [bracket].
# The context settings are inherited by every sub-command: -h works everywhere, and help uses up
# to 100 columns of a wider terminal.
_CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

app = typer.Typer(
    name="neurofit",
    help="Spiking, feedback-learning robot control that knows its own energy bill.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings=_CONTEXT,
)
bench_app = typer.Typer(help="Benchmarks: print a table, or one JSON object with --json.",
                        rich_markup_mode=None, context_settings=_CONTEXT)
app.add_typer(bench_app, name="bench")


def _print_version(value: bool) -> None:
    if value:
        from neurofit import __version__

        typer.echo(f"neurofit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True,
        help="Print the installed neurofit version and exit.")] = False,
) -> None:
    """Spiking, feedback-learning robot control that knows its own energy bill."""


def _register() -> None:
    """Attach every command module's commands to the apps above."""
    from neurofit.scripts import (
        bench_agent,
        bench_analog,
        bench_energy,
        bench_engine,
        bench_env,
        bench_forest,
        bench_learning,
        bench_plasticity,
        bench_record,
        bench_taxi,
        demo,
        energy,
        evaluate,
        replay,
        train,
    )

    for module in (demo, train, evaluate, replay, energy):
        module.register(app)
    for module in (bench_engine, bench_plasticity, bench_env, bench_agent, bench_learning,
                   bench_record, bench_energy, bench_taxi, bench_analog, bench_forest):
        module.register(bench_app)


_register()


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
