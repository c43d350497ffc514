"""What a user sees of the ``neurofit`` command: --version, -h on every command, defaults in
the help, one meaning per option name, and the shipped Brian2 script."""

from __future__ import annotations

import fnmatch
import importlib.metadata
import inspect
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from neurofit.scripts.cli import app

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]


def _commands(cmd: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every command and group of the CLI (click objects), with the words that reach it."""
    out = [(path, cmd)]
    for name, sub in getattr(cmd, "commands", {}).items():
        out += _commands(sub, (*path, name))
    return out


ALL = _commands(typer.main.get_command(app))
IDS = [" ".join(p) or "neurofit" for p, _ in ALL]


def _functions() -> dict[str, Any]:
    """``{command words: the Python function behind it}`` for every command."""
    out = {c.name: c.callback for c in app.registered_commands}
    for group in app.registered_groups:
        out.update({f"{group.name} {c.name}": c.callback
                    for c in group.typer_instance.registered_commands})
    return out


def _parameters(function: Any) -> dict[str, tuple[type, Any, Any]]:
    """``{option or argument name: (type, typer info, default)}`` of a command function."""
    hints = typing.get_type_hints(function, include_extras=True)
    out = {}
    for name, param in inspect.signature(function).parameters.items():
        if hints[name] is typer.Context:
            continue
        args = typing.get_args(hints[name])
        if typing.get_origin(hints[name]) is typing.Annotated:  # x: Annotated[T, Option()] = d
            base, info, default = args[0], args[1], param.default
        else:  # the older form, x: T = typer.Option(d)
            base, info, default = hints[name], param.default, param.default.default
        if typing.get_origin(base) in (typing.Union, types.UnionType):  # T | None -> T
            base = next(a for a in typing.get_args(base) if a is not type(None))
        if isinstance(info, typer.models.ArgumentInfo):
            key = f"<{name}>"
        else:
            key = (info.param_decls or ("--" + name.replace("_", "-"),))[0]
        out[key] = (base, info, default)
    return out


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_version_is_the_installed_distribution() -> None:
    import neurofit

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert neurofit.__version__ == importlib.metadata.version("neurofit") == project["version"]
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output == f"neurofit {project['version']}\n"


@pytest.mark.parametrize(("path", "cmd"), ALL, ids=IDS)
@pytest.mark.parametrize("flag", ["-h", "--help"])
def test_every_command_has_help_with_every_bracket_intact(path: tuple[str, ...], cmd: Any,
                                                          flag: str) -> None:
    result = CliRunner().invoke(app, [*path, flag], terminal_width=100)
    assert result.exit_code == 0, result.output
    text = _flat(result.output)
    assert text.startswith(_flat(f"Usage: neurofit {' '.join(path)}"))
    for param in cmd.params:
        if param.hidden or param.param_type_name != "option":
            continue
        assert param.opts[0] in text
        # help text is plain: "[default: 0]" and any other bracket survive (no rich markup)
        for bracket in re.findall(r"\[[^\]]*\]", getattr(param, "help", None) or ""):
            assert _flat(bracket) in text, (param.opts[0], bracket)


def test_train_help_shows_its_defaults() -> None:
    text = _flat(CliRunner().invoke(app, ["train", "-h"], terminal_width=100).output)
    for option, default in (("--seed", "0"), ("--steps", "20000"), ("--mode", "error"),
                            ("--agent", "neurofit"), ("--eval-episodes", "2"),
                            ("--env", "neurofit/QuadHoverPayload-v0")):
        section = text[text.index(option + " "):]
        assert f"[default: {default}]" in section[:200], (option, section[:200])


def test_option_names_mean_one_thing_everywhere() -> None:
    from neurofit.scripts.replay import VIDEO_FPS

    fps = []
    for where, function in _functions().items():
        params = _parameters(function)
        assert "--profile" not in params, where  # always the comma list --profiles
        if "--episodes" in params:  # a count
            assert params["--episodes"][0] is int, where
        if "--episode" in params:  # selects one recorded episode
            assert where == "replay", where
        if "--seeds" in params:  # a list of seeds (never a count)
            assert params["--seeds"][0] in (str, list[str]), where
        if "--fps" in params:
            fps.append(params["--fps"][2])
        for name, (_, info, _) in params.items():  # paths are options (--run-dir)
            assert not name.startswith("<") or info.hidden, f"{where}: positional {name}"
    assert fps == [VIDEO_FPS, VIDEO_FPS]  # demo and replay
    assert "--run-dir" in _parameters(_functions()["replay"])


def _replay(*args: str) -> Any:
    return CliRunner().invoke(app, ["replay", *args])


def test_replay_takes_run_dir_and_the_old_positional(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing_run")
    new = _replay("--run-dir", missing, "--check")
    old = _replay(missing, "--check")
    for result in (new, old):
        assert result.exit_code == 2
        assert "missing_run: no such file, directory or local dataset id" in _flat(result.output)
    assert "deprecated" not in new.output
    assert f"neurofit replay --run-dir {missing}" in _flat(old.stderr)
    both = _replay("--run-dir", missing, missing)
    assert both.exit_code == 2 and "give the recording once" in _flat(both.output)
    none = _replay("--check")
    assert none.exit_code == 2 and "--run-dir" in none.output


@pytest.mark.parametrize(("profiles", "message"), [
    ("loihi,jetson-class", "jetson-class is a dnn profile"),
    ("loihi,nosuchchip", "unknown hardware profile 'nosuchchip'"),
    (",", "give at least one profile"),
])
def test_demo_profiles_are_checked_before_flying(profiles: str, message: str,
                                                 tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--profiles", profiles, "--out-dir",
                                      str(tmp_path), "--no-video"])
    assert result.exit_code == 2
    assert message in _flat(result.output)
    assert not any(tmp_path.iterdir())  # nothing flown, nothing written


def test_brian2_script_ships_with_the_package() -> None:
    from importlib import resources

    from neurofit.scripts.bench_engine import BRIAN2_SCRIPT

    package = Path(str(resources.files("neurofit.scripts")))
    assert BRIAN2_SCRIPT.is_file()
    assert BRIAN2_SCRIPT.resolve().parent.parent == package.resolve()  # not a checkout path
    assert "def main" in BRIAN2_SCRIPT.read_text(encoding="utf-8")
    # the wheel holds it: the package-data globs of neurofit.scripts match its path
    data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = data["tool"]["setuptools"]["package-data"]["neurofit.scripts"]
    relative = BRIAN2_SCRIPT.resolve().relative_to(package.resolve()).as_posix()
    assert any(fnmatch.fnmatch(relative, g) for g in globs), (relative, globs)


@pytest.mark.slow
def test_brian2_script_resolves_in_an_installed_wheel(tmp_path: Path) -> None:
    """Build the wheel, install it into an empty folder and resolve the path from there."""
    import shutil
    import subprocess

    src, wheels, target = tmp_path / "src", tmp_path / "wheels", tmp_path / "site"
    src.mkdir()  # build from a copy: building leaves build/ and *.egg-info behind
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    for name in ("neurofit", "neuromorphic", "envs", "agents", "scripts"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                    str(src)], check=True, timeout=600, capture_output=True)
    (wheel,) = wheels.glob("neurofit-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(target), str(wheel)], check=True, timeout=600, capture_output=True)
    code = ("import neurofit, neurofit.scripts.bench_engine as b; "
            "print(neurofit.__file__); print(b.BRIAN2_SCRIPT); print(b.BRIAN2_SCRIPT.is_file())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=600, cwd=tmp_path,
                         env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"})
    root_init, script, exists = out.stdout.split()
    assert Path(root_init).is_relative_to(target)  # the installed copy, not the checkout
    assert Path(script).is_relative_to(target) and exists == "True"
