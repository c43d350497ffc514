"""The one atomic-write helper and the one package-version collector."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest

from neurofit.neuromorphic._atomic import atomic_write, write_npz
from neurofit.neuromorphic._checks import load_npz
from neurofit.neuromorphic._versions import package_version, package_versions


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "f.bin"
    atomic_write(path, b"old")

    def half_then_fail(f: BinaryIO) -> None:
        f.write(b"new, partly")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space"):
        atomic_write(path, half_then_fail)
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in path.parent.iterdir()) == ["f.bin"]


def test_write_npz_round_trips(tmp_path: Path) -> None:
    arrays = {"a": np.arange(5, dtype=np.int64), "b": np.eye(2)}
    write_npz(tmp_path / "x.npz", arrays)
    back = load_npz(tmp_path / "x.npz")
    assert set(back) == {"a", "b"}
    assert all(np.array_equal(back[k], v) for k, v in arrays.items())


def test_versions_of_installed_and_missing_packages() -> None:
    assert package_version("numpy") == np.__version__
    assert package_version("no-such-distribution-xyz") == "unknown"
    assert package_versions(["numpy", "no-such-distribution-xyz"], None) == {
        "numpy": np.__version__, "no-such-distribution-xyz": None}
