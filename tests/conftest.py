"""Shared pytest setup: runs before any test module is imported."""

import os
import signal

import pytest
from hypothesis import settings

# Property tests draw the same examples on every machine (the README's `python -m pytest` and CI
# give one answer for one commit); `HYPOTHESIS_PROFILE=explore` searches fresh random examples
# — two edge cases (tiny errors whose squares underflow) were found that way.
settings.register_profile("reproducible", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))

# MuJoCo picks its OpenGL backend once, when it is first imported; headless machines need EGL
# (osmesa / glfw do not work here). Set it before any test module imports mujoco.
os.environ.setdefault("MUJOCO_GL", "egl")

# The Ctrl-C tests need SIGINT delivered. A shell that starts pytest as a background job
# (`cmd &` in a script) starts it with SIGINT ignored, Python then keeps it ignored, and every
# process a test starts inherits that: give this process Python's own handler back, so that it
# and its children (which then start with the default disposition) take Ctrl-C as a user would.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def offscreen_gl() -> None:
    """Skip the test when this machine cannot give MuJoCo an offscreen OpenGL context (no EGL
    device or driver). Only creating the context on an empty model is guarded: any error a
    test's own rendering raises afterwards fails the test."""
    import mujoco
    from OpenGL.error import GLError  # PyOpenGL, a dependency of mujoco's renderer

    try:
        renderer = mujoco.Renderer(mujoco.MjModel.from_xml_string("<mujoco/>"), 16, 16)
    except (ImportError, RuntimeError, GLError, mujoco.FatalError) as exc:
        pytest.skip(f"no offscreen OpenGL for MuJoCo (MUJOCO_GL={os.environ['MUJOCO_GL']}): "
                    f"{type(exc).__name__}: {exc}")
    renderer.close()
