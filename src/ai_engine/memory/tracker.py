"""Track the bytes of live values during a run: current and peak.

Views (Reshape, Transpose, Squeeze results) share their base's memory and are counted as zero
bytes, so the figure follows what was really allocated.
"""

from __future__ import annotations

from dataclasses import dataclass


def owned_bytes(value) -> int:
    """Bytes ``value`` owns: 0 for views and non-arrays; summed over sequences."""
    if isinstance(value, list):
        return sum(owned_bytes(v) for v in value)
    nbytes = getattr(value, "nbytes", 0)
    return 0 if getattr(value, "base", None) is not None else int(nbytes)


@dataclass
class MemoryTracker:
    """Current and peak bytes of the values a run holds (inputs, intermediates, outputs)."""

    current: int = 0
    peak: int = 0
    allocations: int = 0
    total: int = 0  # every byte allocated: the peak if nothing were released before the end

    def allocate(self, nbytes: int) -> None:
        self.current += nbytes
        self.total += nbytes
        self.allocations += 1
        if self.current > self.peak:
            self.peak = self.current

    def release(self, nbytes: int) -> None:
        self.current -= nbytes

    def as_dict(self) -> dict:
        return {"current_bytes": self.current, "peak_bytes": self.peak,
                "allocations": self.allocations, "unreleased_peak_bytes": self.total}
