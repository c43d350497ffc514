"""Exact operation counts: what a spiking network did, in events a chip would pay for."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

#: Names of the counted operations, in the column order the kernels use.
OP_NAMES: tuple[str, ...] = ("neuron_updates", "spikes", "synaptic_events", "weight_updates")


@dataclass(frozen=True)
class OpCounts:
    """Integer counts of the operations a network performed.

    Attributes:
        neuron_updates: membrane-state updates (one per neuron per simulation step).
        spikes: emitted spikes.
        synaptic_events: spikes delivered to synapses (a spike times its fan-out).
        weight_updates: synaptic weights written by plasticity.
    """

    neuron_updates: int = 0
    spikes: int = 0
    synaptic_events: int = 0
    weight_updates: int = 0

    def __add__(self, other: OpCounts) -> OpCounts:
        return OpCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: OpCounts) -> OpCounts:
        return OpCounts(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    def as_dict(self) -> dict[str, int]:
        """The counts as a plain ``{name: int}`` dict (JSON-ready)."""
        return {k: int(v) for k, v in asdict(self).items()}
