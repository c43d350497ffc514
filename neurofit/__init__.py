"""NeuroFit: spiking, feedback-learning robot control that knows its own energy bill.

The import root. The code lives in the repository's top-level folders, installed beneath this
package through ``[tool.setuptools] package-dir`` in pyproject.toml: ``neurofit.neuromorphic``,
``neurofit.envs``, ``neurofit.agents`` and ``neurofit.scripts`` (the ``neurofit`` command).
Nothing is imported here, so ``import neurofit.neuromorphic`` stays free of MuJoCo.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    #: The installed distribution's version (pyproject.toml ``[project] version``).
    __version__: str = version("neurofit")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
