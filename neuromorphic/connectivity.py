"""Seeded connectivity rules: who connects to whom, as (pre, post) index pairs.

Each rule is a small frozen dataclass with a ``pairs(n_pre, n_post, rng)`` method returning two
int arrays; :meth:`Network.connect` sorts them into CSR rows. Explicit lists go through
:class:`FromLists`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurofit.neuromorphic._checks import check_range


@dataclass(frozen=True)
class FixedProbability:
    """Each (pre, post) pair connects independently with probability ``p``."""

    p: float
    allow_self: bool = True

    def __post_init__(self) -> None:
        check_range("p", self.p, 0.0, 1.0)

    def pairs(self, n_pre: int, n_post: int, rng: np.random.Generator,
              same_population: bool = False) -> tuple[np.ndarray, np.ndarray]:
        counts = rng.binomial(n_post, self.p, size=n_pre)
        post = np.empty(int(counts.sum()), dtype=np.int64)
        at = 0
        for k in counts:
            post[at:at + k] = np.sort(rng.choice(n_post, size=k, replace=False))
            at += k
        pre = np.repeat(np.arange(n_pre, dtype=np.int64), counts)
        if same_population and not self.allow_self:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        return pre, post


@dataclass(frozen=True)
class FixedFanIn:
    """Every postsynaptic neuron receives exactly ``k`` distinct presynaptic partners."""

    k: int
    allow_self: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.k, (int, np.integer)) or self.k < 0:
            raise ValueError(f"k must be a non-negative integer, got {self.k!r}")

    def pairs(self, n_pre: int, n_post: int, rng: np.random.Generator,
              same_population: bool = False) -> tuple[np.ndarray, np.ndarray]:
        exclude_self = same_population and not self.allow_self
        available = n_pre - 1 if exclude_self else n_pre
        if self.k > available:
            raise ValueError(
                f"k must be at most {available} (presynaptic neurons available), got {self.k}"
            )
        pre = np.empty(n_post * self.k, dtype=np.int64)
        for j in range(n_post):
            chosen = rng.choice(available, size=self.k, replace=False)
            if exclude_self:
                chosen[chosen >= j] += 1
            pre[j * self.k:(j + 1) * self.k] = chosen
        post = np.repeat(np.arange(n_post, dtype=np.int64), self.k)
        return pre, post


@dataclass(frozen=True)
class AllToAll:
    """Every presynaptic neuron connects to every postsynaptic neuron."""

    allow_self: bool = True

    def pairs(self, n_pre: int, n_post: int, rng: np.random.Generator,
              same_population: bool = False) -> tuple[np.ndarray, np.ndarray]:
        pre = np.repeat(np.arange(n_pre, dtype=np.int64), n_post)
        post = np.tile(np.arange(n_post, dtype=np.int64), n_pre)
        if same_population and not self.allow_self:
            keep = pre != post
            pre, post = pre[keep], post[keep]
        return pre, post


@dataclass(frozen=True)
class OneToOne:
    """Neuron i connects to neuron i; both populations must have the same size."""

    def pairs(self, n_pre: int, n_post: int, rng: np.random.Generator,
              same_population: bool = False) -> tuple[np.ndarray, np.ndarray]:
        if n_pre != n_post:
            raise ValueError(
                f"OneToOne needs populations of equal size, got n_pre={n_pre}, n_post={n_post}"
            )
        idx = np.arange(n_pre, dtype=np.int64)
        return idx, idx.copy()


@dataclass(frozen=True)
class FromLists:
    """Explicit synapses: ``pre[k] -> post[k]`` (local indices within each population)."""

    pre: np.ndarray = field(repr=False)
    post: np.ndarray = field(repr=False)

    def pairs(self, n_pre: int, n_post: int, rng: np.random.Generator,
              same_population: bool = False) -> tuple[np.ndarray, np.ndarray]:
        pre = np.asarray(self.pre, dtype=np.int64).ravel()
        post = np.asarray(self.post, dtype=np.int64).ravel()
        if pre.shape != post.shape:
            raise ValueError(
                f"pre and post must have the same length, got {pre.size} and {post.size}"
            )
        for name, idx, n in (("pre", pre, n_pre), ("post", post, n_post)):
            if idx.size and (idx.min() < 0 or idx.max() >= n):
                raise ValueError(
                    f"{name} indices must be in [0, {n - 1}], got {idx.min()}..{idx.max()}"
                )
        return pre, post


Connectivity = FixedProbability | FixedFanIn | AllToAll | OneToOne | FromLists
