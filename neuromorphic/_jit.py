"""The project's numba decorator: ``njit`` with an on-disk cache that cannot go stale.

numba's own ``cache=True`` stamps a kernel's cache with the hash of the kernel's own file only.
A kernel that calls a kernel of another module has that callee compiled into its own machine
code, so after the callee's module is edited (or the package upgraded) the caller keeps loading
the old callee from the cache. Here every kernel's cache index is stamped with the package
version and one hash over every source file of the packages that hold kernels
(``neurofit.neuromorphic``, ``neurofit.envs``, ``neurofit.agents``): any source change there
recompiles each kernel once, when it is next called. All sources, not only the modules with
kernels, because a kernel also bakes in the module-level constants it reads, wherever they
are defined.

The cache files are numba's: ``__pycache__/*.nbi`` (index) and ``*.nbc`` (code) beside the
sources, or under ``$NUMBA_CACHE_DIR`` when it is set.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numba
from numba.core.caching import CompileResultCacheImpl, FunctionCache
from numba.core.dispatcher import Dispatcher

from neurofit.neuromorphic._versions import package_version

__all__ = ["KernelJit", "njit"]


class _StampedLocator:
    """numba's cache locator for a kernel, with ``stamp`` added to its source stamp."""

    def __init__(self, locator: Any, stamp: str) -> None:
        self._locator = locator
        self._stamp = stamp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._locator, name)

    def get_source_stamp(self) -> tuple[Any, str]:
        return self._locator.get_source_stamp(), self._stamp


class _StampedCacheImpl(CompileResultCacheImpl):
    def __init__(self, py_func: Callable, stamp: str) -> None:
        self._stamp = stamp
        super().__init__(py_func)  # finds numba's locator for py_func, as self._locator

    @property
    def locator(self) -> _StampedLocator:
        return _StampedLocator(self._locator, self._stamp)


class KernelCache(FunctionCache):
    """numba's per-kernel cache whose index is valid only for one ``stamp``.

    numba drops a cache index whose stored source stamp differs from the current one, and
    recompiles; this cache's source stamp is numba's own (the kernel's file) plus ``stamp``.
    """

    def __init__(self, py_func: Callable, stamp: str) -> None:
        self._impl_class = functools.partial(_StampedCacheImpl, stamp=stamp)
        super().__init__(py_func)


def sources_stamp(package_dirs: Sequence[Path], version: str) -> str:
    """sha256 over ``version`` and every ``*.py`` under ``package_dirs`` (path and content)."""
    digest = hashlib.sha256(f"version={version}\n".encode())
    for root in package_dirs:
        for path in sorted(Path(root).rglob("*.py")):
            digest.update(f"{root.name}/{path.relative_to(root).as_posix()}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class KernelJit:
    """A ``numba.njit`` whose kernels are cached on disk under :func:`sources_stamp`.

    Use as ``@njit`` or ``@njit(inline="always")`` (any ``numba.njit`` option except
    ``cache``: the kernels are always cached). The stamp is computed once per process, when the
    first kernel is decorated.

    Args:
        packages: dotted names of the packages whose sources key the cache (found without
            importing them).
        version: the package version, also part of the key.
    """

    def __init__(self, packages: Sequence[str], version: str) -> None:
        self.packages = tuple(packages)
        self.version = version

    @functools.cached_property
    def stamp(self) -> str:
        dirs = []
        for name in self.packages:
            spec = importlib.util.find_spec(name)
            if spec is None or not spec.submodule_search_locations:
                raise ImportError(f"kernel package {name!r} not found (is neurofit installed?)")
            dirs.extend(Path(p) for p in spec.submodule_search_locations)
        return sources_stamp(dirs, self.version)

    def __call__(self, fn: Callable | None = None, /, **options: Any) -> Any:
        if "cache" in options:
            raise TypeError("neurofit's njit always caches (keyed on the sources); drop cache=")
        if fn is None:
            return functools.partial(self._compile, options=options)
        return self._compile(fn, options)

    def _compile(self, fn: Callable, options: dict[str, Any]) -> Any:
        dispatcher = numba.njit(**options)(fn)
        if isinstance(dispatcher, Dispatcher):  # not so under NUMBA_DISABLE_JIT=1
            try:
                # what Dispatcher.enable_caching() does, with the stamped cache
                dispatcher._cache = KernelCache(dispatcher.py_func, self.stamp)
            except (AttributeError, TypeError) as exc:
                # numba's caching internals moved (a newer numba): keep numba's own cache,
                # which can go stale only across edits of a callee's module
                warnings.warn(f"neurofit kernel cache falls back to numba's cache=True ({exc})",
                              RuntimeWarning, stacklevel=3)
                dispatcher.enable_caching()
        return dispatcher


#: the decorator of every neurofit kernel
njit = KernelJit(("neurofit.neuromorphic", "neurofit.envs", "neurofit.agents"),
                 package_version("neurofit"))
