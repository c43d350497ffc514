"""The machine a benchmark ran on, printed with every figure (``machine`` in ``--json``)."""

from __future__ import annotations

import datetime
import os
import platform
from typing import Any

from neurofit.neuromorphic._versions import package_versions

_VERSIONED = ("numpy", "numba", "mujoco", "gymnasium")


def machine_info() -> dict[str, Any]:
    """CPU model, cores, load average, library versions and the UTC date."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load: list[float] | None = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    versions = package_versions(_VERSIONED, None)
    return {
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "load_avg": load,
        "platform": platform.platform(),
        "python": platform.python_version(),
        **versions,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
