"""Re-simulate a recorded episode and check, step by step, that MuJoCo lands on the record.

The episode's checksums and spike indices are verified first (a replay of a record that changed
after recording is not bit-exact, whatever the physics says). The env is re-created from the
recorded spec (same id, kwargs and wrappers), reset exactly as
it was (with the recorded seed, or with ``np_random`` restored to its recorded state), then fed
the recorded actions. Disturbances draw from the env's generator, so wind gusts, sensor noise
and payload drops come out the same. After every step ``qpos``, ``qvel``, ``act`` and time in
``MjData``, the observation and the reward are compared with the record; a replay is
bit-exact when every difference is exactly zero::

    rec = open_recording("runs/hover")
    check = replay_episode(rec, 3)
    assert check.bit_exact, check.describe()

``on_step(k, env)`` is called after the reset (``k = 0``) and after each step ``k``: that is
where a renderer takes its frames (``env.render()`` with ``render_mode="rgb_array"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np

from neurofit.envs._record_format import DatasetVersionError, RecordingError, UnknownEnvError
from neurofit.envs.recorded import RecordedEpisode, Recording
from neurofit.neuromorphic._versions import package_version

__all__ = [
    "STRICT_VERSION_PACKAGES",
    "ReplayCheck",
    "check_versions",
    "make_replay_env",
    "replay_episode",
    "restore_reset",
]

#: Packages whose version must match the recording's for a replay to be trusted bit-exact.
STRICT_VERSION_PACKAGES = ("neurofit", "mujoco", "numpy")


@dataclass
class ReplayCheck:
    """Step-by-step deviation of a re-simulation from its record.

    Row 0 is the state right after reset (before any restore), row ``k`` the state after step
    ``k``. Deviations are max-abs differences (0.0 = bit-identical; NaN in both = equal).
    ``problems`` lists what the integrity check of the record found (a column that does not
    match its checksum, a spike index out of range), each naming the episode file.
    """

    episode: int
    n_steps: int
    qpos_dev: np.ndarray
    qvel_dev: np.ndarray
    act_dev: np.ndarray
    time_dev: np.ndarray
    obs_dev: np.ndarray
    reward_dev: np.ndarray
    initial_state_restored: bool = False
    version_notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    has_checksums: bool = False

    @property
    def max_qpos_dev(self) -> float:
        return float(np.max(self.qpos_dev)) if self.qpos_dev.size else 0.0

    @property
    def max_qvel_dev(self) -> float:
        return float(np.max(self.qvel_dev)) if self.qvel_dev.size else 0.0

    @property
    def state_exact(self) -> bool:
        """qpos and qvel equal the record at every step."""
        return self.max_qpos_dev == 0.0 and self.max_qvel_dev == 0.0

    @property
    def bit_exact(self) -> bool:
        """The record is intact (checksums, spike indices) and qpos, qvel, act, time,
        observations and rewards all equal it."""
        return not self.problems and self.state_exact and all(
            float(np.max(d)) == 0.0 if d.size else True
            for d in (self.act_dev, self.time_dev, self.obs_dev, self.reward_dev)
        )

    def first_mismatch(self) -> int | None:
        """First row where anything differs (None if the replay is bit-exact)."""
        rows = np.zeros(self.n_steps + 1, dtype=bool)
        for d in (self.qpos_dev, self.qvel_dev, self.act_dev, self.time_dev, self.obs_dev):
            if d.size:
                rows[: d.shape[0]] |= d != 0.0
        if self.reward_dev.size:
            rows[1:] |= self.reward_dev != 0.0
        hits = np.flatnonzero(rows)
        return int(hits[0]) if hits.size else None

    def describe(self) -> str:
        """A one-paragraph report."""
        worst = {
            "qpos": self.max_qpos_dev,
            "qvel": self.max_qvel_dev,
            "act": _max(self.act_dev),
            "time": _max(self.time_dev),
            "obs": _max(self.obs_dev),
            "reward": _max(self.reward_dev),
        }
        parts = ", ".join(f"max |Δ{k}| = {v:.3g}" for k, v in worst.items())
        first = self.first_mismatch()
        verdict = (
            "bit-exact" if self.bit_exact
            else "RECORD CORRUPT" if first is None
            else f"DIFFERS from step {first}"
        )  # fmt: skip
        note = " (initial state restored from the record)" if self.initial_state_restored else ""
        corrupt = "".join(f"; {p}" for p in self.problems)
        return f"episode {self.episode}: {self.n_steps} steps, {verdict}{note}: {parts}{corrupt}"


def _max(d: np.ndarray) -> float:
    return float(np.max(d)) if d.size else 0.0


def _dev(a: Any, b: Any) -> float:
    """Max-abs difference; NaN at the same place in both counts as equal, elsewhere as inf."""
    a = np.atleast_1d(np.asarray(a, dtype=np.float64))
    b = np.atleast_1d(np.asarray(b, dtype=np.float64))
    if a.shape != b.shape:
        return float("inf")
    if np.array_equal(a, b, equal_nan=True):
        return 0.0
    d = np.abs(a - b)
    d[np.isnan(a) & np.isnan(b)] = 0.0
    d[np.isnan(d)] = np.inf
    return float(d.max()) if d.size else 0.0


def check_versions(rec: Recording, allow_mismatch: bool = False) -> list[str]:
    """Compare the recording's package versions with this installation's.

    Returns:
        Notes about every difference (empty if none).

    Raises:
        DatasetVersionError: a package of :data:`STRICT_VERSION_PACKAGES` differs and
            ``allow_mismatch`` is False.
    """
    recorded = rec.versions
    notes, strict = [], []
    for name, was in recorded.items():
        if name == "python":
            continue
        now = package_version(name, "not installed")
        if name == "mujoco":
            now = mujoco.__version__
        if now != was:
            notes.append(f"{name} {was} recorded, {now} installed")
            if name in STRICT_VERSION_PACKAGES:
                strict.append(notes[-1])
    if strict and not allow_mismatch:
        raise DatasetVersionError(
            f"{rec.path / 'metadata.json'}: version mismatch ({'; '.join(strict)}): the "
            "physics may differ, so the replay could not be trusted bit-exact. Install the "
            "recorded versions, or pass allow_version_mismatch=True (--ignore-versions)."
        )
    return notes


def make_replay_env(
    rec: Recording,
    *,
    render_mode: str | None = None,
    allow_version_mismatch: bool = False,
    **make_kwargs: Any,
) -> gym.Env[Any, Any]:
    """The recorded env, re-created from its spec (``gymnasium.make``).

    Args:
        rec: the recording.
        render_mode: e.g. ``"rgb_array"`` to render frames.
        allow_version_mismatch: see :func:`check_versions`.
        **make_kwargs: extra env keyword arguments (``width``, ``height`` ...).

    Raises:
        UnknownEnvError: the recorded env id is not registered in this installation.
        DatasetVersionError: see :func:`check_versions`.
        RecordingError: the dataset has no env spec.
    """
    import neurofit.envs  # noqa: F401  (registers the neurofit/ ids)

    where = rec.path / "metadata.json"
    spec = rec.env_spec
    if spec is None:
        raise RecordingError(f"{where}: the dataset has no env_spec, so it cannot be replayed")
    if spec.id not in gym.registry:
        known = sorted(k for k in gym.registry if k.startswith("neurofit/"))
        raise UnknownEnvError(
            f"{where}: recorded on env id {spec.id!r}, which is not registered in this "
            f"installation (registered neurofit ids: {', '.join(known)}). Import the package "
            "that registers it, or use the NeuroFit version that recorded it "
            f"({rec.versions.get('neurofit', 'unknown')})."
        )
    for w in spec.additional_wrappers:
        if w.kwargs is None:
            raise RecordingError(
                f"{where}: the recorded env was wrapped in {w.name}, which did not record its "
                "constructor arguments, so it cannot be re-created"
            )
    check_versions(rec, allow_version_mismatch)
    kwargs = dict(make_kwargs)
    if render_mode is not None:
        kwargs["render_mode"] = render_mode
    return gym.make(spec, **kwargs)


def _mj(env: gym.Env[Any, Any]) -> tuple[mujoco.MjModel, mujoco.MjData] | None:
    base = env.unwrapped
    data = getattr(base, "data", None)
    model = getattr(base, "model", None)
    if isinstance(data, mujoco.MjData) and isinstance(model, mujoco.MjModel):
        return model, data
    return None


def restore_reset(env: gym.Env[Any, Any], ep: RecordedEpisode) -> tuple[Any, dict[str, Any]]:
    """Reset ``env`` the way the recorded episode was reset (seed or generator state).

    Returns:
        The reset's ``(obs, info)``.
    """
    if ep.seed is not None:
        return env.reset(seed=ep.seed, options=ep.options)
    if ep.rng_state:
        try:
            bit_gen = getattr(np.random, ep.rng_state["bit_generator"])()
            bit_gen.state = ep.rng_state
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise RecordingError(
                f"{ep.file}: episode {ep.index} has an unusable generator state ({exc})"
            ) from None
        env.unwrapped.np_random = np.random.Generator(bit_gen)
    return env.reset(options=ep.options)


def replay_episode(
    rec: Recording,
    episode: int | RecordedEpisode,
    *,
    env: gym.Env[Any, Any] | None = None,
    on_step: Callable[[int, gym.Env[Any, Any]], None] | None = None,
    allow_version_mismatch: bool = False,
) -> ReplayCheck:
    """Re-simulate one episode from its recorded initial state and actions; compare each step.

    Args:
        rec: the recording.
        episode: episode number, or an episode already read.
        env: an env made by :func:`make_replay_env` (made and closed here if None).
        on_step: ``(k, env)`` after the reset (k = 0) and after each step k.
        allow_version_mismatch: see :func:`check_versions`.

    Returns:
        The per-step deviations and the record's integrity problems; ``.bit_exact`` tells
        whether the record is intact and the replay matched it exactly.
    """
    ep = episode if isinstance(episode, RecordedEpisode) else rec.episode(episode, verify=False)
    own = env is None
    if env is None:
        env = make_replay_env(rec, allow_version_mismatch=allow_version_mismatch)
    notes = check_versions(rec, allow_mismatch=True)
    try:
        return _run(rec, ep, env, on_step, notes)
    finally:
        if own:
            env.close()


def _run(
    rec: Recording,
    ep: RecordedEpisode,
    env: gym.Env[Any, Any],
    on_step: Callable[[int, gym.Env[Any, Any]], None] | None,
    notes: list[str],
) -> ReplayCheck:
    n = ep.n_steps
    infos = ep.infos
    rec_qpos, rec_qvel = infos.get("qpos"), infos.get("qvel")
    rec_act, rec_time = infos.get("act"), infos.get("time_s")
    obs_rec = ep.observations if isinstance(ep.observations, np.ndarray) else None
    actions = ep.actions
    if not isinstance(actions, np.ndarray) or actions.shape[0] != n:
        raise RecordingError(f"{ep.file}: episode {ep.index} has unusable actions")
    if rec_qpos is None or rec_qvel is None:
        raise RecordingError(
            f"{ep.file}: episode {ep.index} has no infos/qpos and infos/qvel to check against"
        )
    mj = _mj(env)
    if mj is None:
        raise RecordingError(f"{rec.env_id}: not a MuJoCo env (no model/data to check)")
    model, data = mj
    dev = {k: np.zeros(n + 1) for k in ("qpos", "qvel", "act", "time", "obs")}
    reward_dev = np.zeros(n)

    def compare(k: int, obs: Any) -> None:
        dev["qpos"][k] = _dev(data.qpos, rec_qpos[k])
        dev["qvel"][k] = _dev(data.qvel, rec_qvel[k])
        if rec_act is not None:
            dev["act"][k] = _dev(data.act, rec_act[k])
        if rec_time is not None:
            dev["time"][k] = _dev(data.time, rec_time[k])
        if obs_rec is not None:
            dev["obs"][k] = _dev(obs, obs_rec[k])

    obs, _ = restore_reset(env, ep)
    compare(0, obs)
    restored = False
    if ep.initial_state is not None and ep.initial_state_spec is not None:
        now = np.empty(mujoco.mj_stateSize(model, ep.initial_state_spec))
        mujoco.mj_getState(model, data, now, ep.initial_state_spec)
        if now.shape != ep.initial_state.shape or not np.array_equal(
            now, ep.initial_state, equal_nan=True
        ):
            if now.shape == ep.initial_state.shape:
                mujoco.mj_setState(model, data, ep.initial_state, ep.initial_state_spec)
                mujoco.mj_forward(model, data)
                restored = True
    if on_step is not None:
        on_step(0, env)
    rewards = ep.rewards
    step = env.step
    for k in range(n):
        obs, reward, _, _, _ = step(actions[k])
        compare(k + 1, obs)
        reward_dev[k] = _dev(reward, rewards[k])
        if on_step is not None:
            on_step(k + 1, env)
    return ReplayCheck(
        episode=ep.index,
        n_steps=n,
        qpos_dev=dev["qpos"],
        qvel_dev=dev["qvel"],
        act_dev=dev["act"],
        time_dev=dev["time"],
        obs_dev=dev["obs"],
        reward_dev=reward_dev,
        initial_state_restored=restored,
        version_notes=notes,
        problems=[f"{ep.file}: {p}" for p in ep.problems],
        has_checksums=ep.has_checksums,
    )
