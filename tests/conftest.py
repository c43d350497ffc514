"""Shared pytest setup: runs before any test module is imported."""

import os

# MuJoCo picks its OpenGL backend once, when it is first imported; headless machines need EGL
# (osmesa / glfw do not work here). Set it before any test module imports mujoco.
os.environ.setdefault("MUJOCO_GL", "egl")
