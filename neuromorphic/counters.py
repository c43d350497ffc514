"""Exact operation counts: what a spiking network did, in events a chip would pay for."""

from __future__ import annotations

from dataclasses import dataclass, fields

#: Names of the counted operations, in the column order the kernels use. Their counts are
#: disjoint: together they are all the work a network did (``effective_neuron_updates``, a part
#: of ``neuron_updates``, is not among them).
OP_NAMES: tuple[str, ...] = ("neuron_updates", "spikes", "synaptic_events", "weight_updates")

#: :data:`OP_NAMES` and ``effective_neuron_updates``: the columns of
#: ``Network.counts_array(out)`` when ``out`` has room for five.
COUNT_NAMES: tuple[str, ...] = (*OP_NAMES, "effective_neuron_updates")


@dataclass(frozen=True)
class OpCounts:
    """Integer counts of the operations a network performed.

    Attributes:
        neuron_updates: membrane-state updates, dense: one per neuron per simulation step,
            whatever the execution model (what a time-stepped chip such as Loihi pays for).
        spikes: emitted spikes.
        synaptic_events: spikes delivered to synapses (a spike times its fan-out).
        weight_updates: synaptic weights written by plasticity.
        effective_neuron_updates: the neuron updates actually performed — fewer than
            ``neuron_updates`` in event-driven execution, where a neuron at rest with no
            input is not advanced (NeuroBench's "effective" count). A part of
            ``neuron_updates``, not an extra operation; when not given it equals
            ``neuron_updates`` (time-stepped execution advances every neuron).
    """

    neuron_updates: int = 0
    spikes: int = 0
    synaptic_events: int = 0
    weight_updates: int = 0
    effective_neuron_updates: int | None = None

    def __post_init__(self) -> None:
        if self.effective_neuron_updates is None:
            object.__setattr__(self, "effective_neuron_updates", self.neuron_updates)

    def __add__(self, other: OpCounts) -> OpCounts:
        return OpCounts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))

    def __sub__(self, other: OpCounts) -> OpCounts:
        return OpCounts(*(getattr(self, f.name) - getattr(other, f.name) for f in fields(self)))

    def as_dict(self, *, effective: bool = False) -> dict[str, int]:
        """The counts as a plain ``{name: int}`` dict (JSON-ready), in :data:`OP_NAMES` order.

        Its values are disjoint operations, so they add up to the work done; with
        ``effective=True`` it also holds ``effective_neuron_updates`` (a part of
        ``neuron_updates``).
        """
        names = COUNT_NAMES if effective else OP_NAMES
        return {k: int(getattr(self, k)) for k in names}
