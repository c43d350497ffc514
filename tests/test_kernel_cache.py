"""The kernels' on-disk cache (``neuromorphic/_jit.py``) never runs stale code.

numba's own ``cache=True`` keys a kernel's cache on its own file: after an edit of a module it
calls (or reads a constant from), a warm cache kept running the old code. The end-to-end test
builds a tiny kernel package in a temporary folder, warms its cache in one process, edits a
callee's module and re-runs in a fresh process, as a user who upgrades or a developer who
edits would.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import numba
import pytest
from numba.core.registry import CPUDispatcher

from neurofit.neuromorphic._jit import KernelCache, njit

pytestmark = pytest.mark.skipif(numba.config.DISABLE_JIT, reason="NUMBA_DISABLE_JIT: no kernels")

JIT = """import os
from neurofit.neuromorphic._jit import KernelJit

njit = KernelJit(["kpkg"], version=os.environ["KPKG_VERSION"])
"""
CONSTS = "INC = {inc}\n"  # no kernel here: a constant the callee compiles in
CALLEE = """from kpkg._jit import njit
from kpkg.consts import INC


@njit
def bump(x):
    return x {op} INC
"""
CALLER = """from kpkg._jit import njit
from kpkg.callee import bump


@njit
def twice_bumped(x):
    return 2 * bump(x)
"""
RUN = """from kpkg.caller import twice_bumped

value = twice_bumped(5)
print(value, sum(twice_bumped.stats.cache_hits.values()))
"""


def _write(pkg: Path, inc: int, op: str) -> None:
    (pkg / "consts.py").write_text(CONSTS.format(inc=inc))
    (pkg / "callee.py").write_text(CALLEE.format(op=op))


def _run(tmp_path: Path, version: str = "1") -> tuple[int, int]:
    """``twice_bumped(5)`` and the caller's cache hits, in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "NUMBA_CACHE_DIR": str(tmp_path / "cache"),
           "KPKG_VERSION": version,
           "PYTHONDONTWRITEBYTECODE": "1"}  # same-size edits in the same second: no stale .pyc
    out = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    value, hits = out.stdout.split()
    return int(value), int(hits)


def test_edited_callee_runs_with_a_warm_cache(tmp_path: Path) -> None:
    pkg = tmp_path / "kpkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "_jit.py").write_text(JIT)
    (pkg / "caller.py").write_text(CALLER)
    _write(pkg, inc=1, op="+")
    assert _run(tmp_path) == (2 * (5 + 1), 0)  # compiled
    assert _run(tmp_path) == (2 * (5 + 1), 1)  # loaded from the warm cache
    _write(pkg, inc=2, op="+")  # a constant in a module without kernels
    assert _run(tmp_path) == (2 * (5 + 2), 0)
    assert _run(tmp_path) == (2 * (5 + 2), 1)
    _write(pkg, inc=2, op="*")  # the callee's own code; the caller's file is untouched
    assert _run(tmp_path) == (2 * (5 * 2), 0)
    assert _run(tmp_path, version="2") == (2 * (5 * 2), 0)  # an upgrade recompiles too


def test_every_kernel_uses_the_stamped_cache() -> None:
    """A kernel decorated with ``numba.njit(cache=True)`` would bring the stale cache back."""
    kernels, plain = [], []
    for package in njit.packages:
        for root in importlib.import_module(package).__path__:
            for path in sorted(Path(root).rglob("*.py")):
                if "njit" not in path.read_text(encoding="utf-8"):
                    continue
                dotted = ".".join((package, *path.relative_to(root).with_suffix("").parts))
                module = importlib.import_module(dotted.removesuffix(".__init__"))
                for name, obj in vars(module).items():
                    if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == module.__name__:
                        kernels.append(name)
                        if not isinstance(obj._cache, KernelCache):
                            plain.append(f"{module.__name__}.{name}")
    assert {"advance", "apply_tick", "_osc_kernel", "_pid_kernel", "post_step"} <= set(kernels)
    assert not plain, f"not decorated with neurofit.neuromorphic._jit.njit: {plain}"


def test_cache_option_is_refused() -> None:
    with pytest.raises(TypeError, match="always caches"):
        njit(cache=True)


def test_falls_back_to_numbas_cache_when_its_internals_move(monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """A newer numba without the caching internals we extend still compiles and caches."""
    import numba.core.caching

    from neurofit.neuromorphic import _jit

    def moved(*_args: object, **_kwargs: object) -> None:
        raise AttributeError("'FunctionCache' has no attribute '_impl_class'")

    monkeypatch.setattr(_jit, "KernelCache", moved)

    def add_one(x):
        return x + 1

    with pytest.warns(RuntimeWarning, match="falls back to numba's cache=True"):
        kernel = _jit.KernelJit(("neurofit.neuromorphic",), "0")(add_one)
    assert kernel(2) == 3
    assert isinstance(kernel._cache, numba.core.caching.FunctionCache)
