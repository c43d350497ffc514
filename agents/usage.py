"""What an agent has computed so far: :class:`Usage`, the operations the energy report prices.

Every agent reports its own (``agent.usage()``, the :class:`~neurofit.agents.protocol.Agent`
protocol): a spiking agent its exact kernel counters, an MLP its forward passes and SGD steps,
a fixed feedback law (PD/PID, no network) only its ticks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from neurofit.neuromorphic.counters import OpCounts
from neurofit.neuromorphic.energy import DnnCost

__all__ = ["Usage"]


@dataclass(frozen=True)
class Usage:
    """Cumulative operations of a controller (subtract two to get a flight's).

    Attributes:
        kind: ``"snn"`` (spiking network), ``"dnn"`` (dense network) or ``"reflex"`` (no
            network: a PD/PID law on the flight MCU).
        ticks: control ticks (inferences).
        ops: spiking-network operations.
        inference: DNN forward-pass operations.
        learning: DNN learning (SGD) operations.
    """

    kind: str
    ticks: int = 0
    ops: OpCounts = field(default_factory=OpCounts)
    inference: DnnCost = field(default_factory=DnnCost)
    learning: DnnCost = field(default_factory=DnnCost)

    def __sub__(self, other: Usage) -> Usage:
        if other.kind != self.kind:
            raise ValueError(f"cannot subtract a {other.kind} usage from a {self.kind} one")
        return Usage(
            self.kind, self.ticks - other.ticks, self.ops - other.ops,
            DnnCost(*(a - b for a, b in zip(_cost_tuple(self.inference),
                                            _cost_tuple(other.inference), strict=True))),
            DnnCost(*(a - b for a, b in zip(_cost_tuple(self.learning),
                                            _cost_tuple(other.learning), strict=True))),
        )


def _cost_tuple(c: DnnCost) -> tuple[int, int, int, int]:
    return (c.macs, c.activations, c.memory_reads, c.memory_writes)
