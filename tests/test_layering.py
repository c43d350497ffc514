"""The layers import downward only: neuromorphic needs no MuJoCo or Gymnasium, envs no agents.

Checked twice: every module of every package, its imports parsed (those inside functions too),
and what importing each package actually loads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: the layers, bottom up: a module may import its own layer and the ones below
LAYERS = ("neuromorphic", "envs", "agents", "scripts")
#: third-party packages a layer must not import
FORBIDDEN = {"neuromorphic": ("mujoco", "gymnasium")}


def _modules(layer: str) -> list[Path]:
    return sorted(p for p in (ROOT / layer).rglob("*.py") if "_bench_assets" not in p.parts)


def _imported(path: Path) -> set[str]:
    """Absolute names of every module ``path`` imports, anywhere in the file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def _violations(layer: str, path: Path) -> list[str]:
    rank = LAYERS.index(layer)
    bad = []
    for name in sorted(_imported(path)):
        parts = name.split(".")
        if parts[0] in FORBIDDEN.get(layer, ()):
            bad.append(name)
        elif parts[0] == "neurofit" and len(parts) > 1 and parts[1] in LAYERS \
                and LAYERS.index(parts[1]) > rank:
            bad.append(name)
    return bad


@pytest.mark.parametrize("layer", LAYERS)
def test_every_module_imports_only_its_layer_and_below(layer: str) -> None:
    modules = _modules(layer)
    assert len(modules) > 3, f"no modules found under {ROOT / layer}"
    upward = {str(p.relative_to(ROOT)): bad for p in modules if (bad := _violations(layer, p))}
    assert not upward, f"imports above their layer (or forbidden): {upward}"


def _imported_after(module: str) -> set[str]:
    code = (f"import sys, {module}; "
            "print(' '.join(m for m in sys.modules if m.split('.')[0] in "
            "('mujoco', 'gymnasium', 'neurofit')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    return set(out.stdout.split())


def test_neuromorphic_imports_no_mujoco_or_gymnasium() -> None:
    loaded = _imported_after("neurofit.neuromorphic")
    assert not {m for m in loaded if m.split(".")[0] in ("mujoco", "gymnasium")}
    assert not {m for m in loaded if m.startswith(("neurofit.envs", "neurofit.agents"))}


def test_envs_import_no_agent_code() -> None:
    loaded = _imported_after("neurofit.envs")
    assert not {m for m in loaded if m.startswith(("neurofit.agents", "neurofit.scripts"))}


@pytest.mark.parametrize("package", ["neurofit.neuromorphic", "neurofit.envs", "neurofit.agents"])
def test_public_names_resolve(package: str) -> None:
    module = __import__(package, fromlist=["__all__"])
    for name in module.__all__:
        assert getattr(module, name) is not None, name
