"""The layers import downward only: neuromorphic needs no MuJoCo or Gymnasium, envs no agents."""

from __future__ import annotations

import subprocess
import sys

import pytest


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
