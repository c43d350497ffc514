"""``fit_decoders`` gives the same bits whatever the BLAS thread count, and LAPACK's answer.

The decoders are rebuilt from the config when an agent is built, never saved; when they came
from OpenBLAS's threaded ``solve``, a seed run on Ray workers (one BLAS thread each), in a
process pool and in a plain process (one thread per core) differed in its last bits.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from neurofit.neuromorphic.coding import NEFEncoder, fit_decoders
from neurofit.neuromorphic.neurons import LIFParams


def _problem() -> tuple[np.ndarray, np.ndarray]:
    """A problem of the default policy's size: 200 neurons, 400 samples of a 3-D output."""
    enc = NEFEncoder(200, 3, LIFParams(), rng=1)
    x = np.random.default_rng(0).uniform(-1, 1, (400, 3))
    return enc.rates(x, LIFParams()), x


def test_decoders_do_not_depend_on_the_blas_thread_count() -> None:
    # BLAS reads its thread count when it loads: one fresh interpreter per setting
    script = ("import hashlib, runpy, sys\n"
              "from neurofit.neuromorphic.coding import fit_decoders\n"
              "rates, x = runpy.run_path(sys.argv[1])['_problem']()\n"
              "print(hashlib.sha256(fit_decoders(rates, x).tobytes()).hexdigest())\n")
    digests = {}
    for n in (1, max(2, os.cpu_count() or 1)):
        env = {**os.environ, **{k: str(n) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                     "MKL_NUM_THREADS")}}
        proc = subprocess.run([sys.executable, "-c", script, __file__], env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        digests[n] = proc.stdout.strip()
    assert len(set(digests.values())) == 1, digests


def test_decoders_solve_the_ridge_normal_equations() -> None:
    rates, x = _problem()
    decoders = fit_decoders(rates, x, reg=0.1)
    # the same ridge problem solved by LAPACK (Nengo's convention: sigma = reg * max rate)
    lam = rates.shape[0] * (0.1 * rates.max()) ** 2
    lapack = np.linalg.solve(rates.T @ rates + lam * np.eye(rates.shape[1]), rates.T @ x)
    np.testing.assert_allclose(decoders, lapack, rtol=0, atol=1e-12 * np.abs(lapack).max())


def test_singular_problem_without_ridge_is_refused() -> None:
    enc = NEFEncoder(20, 1, LIFParams(), rng=0)
    x = np.linspace(-1, 1, 50)[:, None]
    rates = enc.rates(x, LIFParams())
    rates[:, 3] = 0.0  # a neuron that never fires: no decoder for it without a ridge
    with pytest.raises(ValueError, match=r"singular.*reg > 0"):
        fit_decoders(rates, x, reg=0.0)
    assert np.all(np.isfinite(fit_decoders(rates, x, reg=0.1)))
