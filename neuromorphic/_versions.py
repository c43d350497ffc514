"""Installed package versions: the one collector that run configs, recordings, replay checks,
benchmark reports and the kernel cache stamp all use."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterable
from typing import TypeVar

__all__ = ["package_version", "package_versions"]

_M = TypeVar("_M", str, None)


def package_version(name: str, missing: _M = "unknown") -> str | _M:
    """The installed version of distribution ``name``, or ``missing`` if it is not installed
    (e.g. neurofit's sources on ``sys.path`` without an install)."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return missing


def package_versions(names: Iterable[str], missing: _M = "unknown") -> dict[str, str | _M]:
    """:func:`package_version` of each name, in order."""
    return {name: package_version(name, missing) for name in names}
