"""Count the bytes of the values a run holds: current and peak.

A value is counted at its base: a view (Reshape, Transpose, Squeeze, Slice results) holds
its base's memory, so a base is counted once however many views of it are alive, and a view
whose base is alive costs nothing more. Sequences count their elements.
"""

from __future__ import annotations

from dataclasses import dataclass, field


def _base(array):
    while getattr(array, "base", None) is not None and hasattr(array.base, "nbytes"):
        array = array.base
    return array


def live_bases(values) -> dict[int, int]:
    """``{id(base): nbytes}`` of the arrays among ``values`` (and inside lists of them)."""
    found: dict[int, int] = {}
    pending = list(values)
    while pending:
        value = pending.pop()
        if isinstance(value, (list, tuple)):
            pending.extend(value)
        elif hasattr(value, "nbytes") and hasattr(value, "shape"):
            base = _base(value)
            found[id(base)] = int(base.nbytes)
    return found


@dataclass
class MemoryTracker:
    """Current and peak bytes of a run's live values (inputs, intermediates, outputs).

    ``observe(values, depth)`` takes the values alive at one point of the graph run at nesting
    ``depth`` (0: the main graph; 1: a Loop body inside it...): the enclosing runs' values are
    alive too, so the current figure is the union over depths. ``total`` adds every base that
    appears: what the run would hold at the end if nothing were released.
    """

    current: int = 0
    peak: int = 0
    allocations: int = 0
    total: int = 0
    _levels: list = field(default_factory=list, repr=False)   # per depth: {id(base): bytes}

    def observe(self, values, depth: int = 0) -> None:
        del self._levels[depth + 1:]
        while len(self._levels) <= depth:
            self._levels.append({})
        bases = live_bases(values)
        alive = {}
        for level in self._levels[:depth]:
            alive.update(level)
        for key, nbytes in bases.items():
            if key not in alive and key not in self._levels[depth]:
                self.allocations += 1
                self.total += nbytes
        self._levels[depth] = bases
        alive.update(bases)
        self.current = sum(alive.values())
        self.peak = max(self.peak, self.current)

    def as_dict(self) -> dict:
        return {"current_bytes": self.current, "peak_bytes": self.peak,
                "allocations": self.allocations, "unreleased_peak_bytes": self.total}
