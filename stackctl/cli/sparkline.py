"""A short history as one line of block characters (▁▂▃▄▅▆▇█), for `status --follow`."""

from __future__ import annotations

from collections import deque

BLOCKS = "▁▂▃▄▅▆▇█"
KEPT = 20  # looks kept per service and measure


def spark(values, ceiling: float | None = None) -> str:
    """Each value as a block, scaled to `ceiling` (default: the largest); a missing one as a space."""
    known = [v for v in values if v is not None]
    top = ceiling or (max(known) if known else 0)
    if not top:
        return "".join(" " if v is None else BLOCKS[0] for v in values)
    return "".join(" " if v is None else BLOCKS[min(len(BLOCKS) - 1, int(v / top * (len(BLOCKS) - 1) + 0.5))]
                   for v in values)


class History:
    """CPU and memory of each service over the last looks."""

    def __init__(self, kept: int = KEPT):
        self.kept = kept
        self.cpu: dict[str, deque] = {}
        self.memory: dict[str, deque] = {}

    def add(self, report) -> None:
        for s in report.services:
            self.cpu.setdefault(s.name, deque(maxlen=self.kept)).append(getattr(s, "cpu_percent", None))
            self.memory.setdefault(s.name, deque(maxlen=self.kept)).append(getattr(s, "memory_bytes", None))

    def cpu_line(self, name: str) -> str:
        return spark(self.cpu.get(name, ()), ceiling=100.0 if max((v or 0) for v in self.cpu.get(name, [0])) <= 100
                     else None)

    def memory_line(self, name: str) -> str:
        return spark(self.memory.get(name, ()))
