"""Shared pytest setup: runs before any test module is imported."""

import os

import pytest

# MuJoCo picks its OpenGL backend once, when it is first imported; headless machines need EGL
# (osmesa / glfw do not work here). Set it before any test module imports mujoco.
os.environ.setdefault("MUJOCO_GL", "egl")


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
