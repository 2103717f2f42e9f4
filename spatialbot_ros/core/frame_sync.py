"""Approximate-time pairing of colour, aligned depth and camera info without message_filters.

The RealSense driver publishes the three streams with identical stamps when aligned; other
drivers may differ by a few ms. This keeps a short queue per stream and emits a triple when all
three have an item within `slop_s` of each other, oldest first, dropping what can no longer match.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
STREAMS = ("color", "depth", "info")


@dataclass
class _Item(Generic[T]):
    stamp_s: float
    value: T


@dataclass
class ApproximateTimeSync:
    slop_s: float = 0.02
    queue_size: int = 5
    _queues: dict[str, deque] = field(default_factory=lambda: {s: deque() for s in STREAMS})
    dropped: int = 0

    def __post_init__(self) -> None:
        if self.slop_s < 0 or self.queue_size < 1:
            raise ValueError(f"sync: slop_s must be >= 0 and queue_size >= 1 (got {self.slop_s}, {self.queue_size})")

    def add(self, stream: str, stamp_s: float, value: object) -> dict[str, object] | None:
        """Add one message; returns {'color','depth','info','stamp_s'} when a matching triple exists."""
        if stream not in self._queues:
            raise ValueError(f"sync: unknown stream '{stream}', expected one of {STREAMS}")
        q = self._queues[stream]
        q.append(_Item(stamp_s, value))
        while len(q) > self.queue_size:
            q.popleft()
            self.dropped += 1
        return self._match()

    def _match(self) -> dict[str, object] | None:
        if any(not q for q in self._queues.values()):
            return None
        # the colour stream drives: find, for its oldest item, the nearest of each other stream
        while self._queues["color"]:
            ref = self._queues["color"][0]
            picked: dict[str, _Item] = {"color": ref}
            for name in ("depth", "info"):
                best = min(self._queues[name], key=lambda it: abs(it.stamp_s - ref.stamp_s))
                if abs(best.stamp_s - ref.stamp_s) > self.slop_s:
                    break
                picked[name] = best
            if len(picked) == 3:
                for name, item in picked.items():
                    q = self._queues[name]
                    while q and q[0].stamp_s <= item.stamp_s:
                        q.popleft()
                return {"color": picked["color"].value, "depth": picked["depth"].value,
                        "info": picked["info"].value, "stamp_s": ref.stamp_s}
            newest_other = min(self._queues[n][-1].stamp_s for n in ("depth", "info"))
            if newest_other > ref.stamp_s + self.slop_s:
                self._queues["color"].popleft()  # nothing will ever match this colour frame
                self.dropped += 1
                continue
            return None
        return None
