"""How the core tells what it is doing, in one protocol: the CLI passes a display (a live table
on a terminal, plain lines in a log, nothing with --quiet or --json); tests pass SILENT."""

from __future__ import annotations

import time
from typing import Protocol


class Reporter(Protocol):
    def phase(self, text: str) -> None:
        """What the command is doing now ("building api", "checking through the proxy")."""

    def service(self, name: str, state: str, detail: str = "", elapsed: float | None = None) -> None:
        """One service's progress: a ServiceState word, or waiting / skipped / draining / timeout."""

    def note(self, text: str) -> None:
        """A line worth telling: a decision, a retry, a tool's own output."""

    def transfer(self, what: str, done: int, total: int | None) -> None:
        """Bytes moved so far (a dump, a restore, a push, a pull) of `total` when it is known;
        the last call of a transfer has done == total. The display works out rate and ETA."""


class Silent:
    def phase(self, text: str) -> None:
        pass

    def service(self, name: str, state: str, detail: str = "", elapsed: float | None = None) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def transfer(self, what: str, done: int, total: int | None) -> None:
        pass

    def close(self) -> None:
        pass


SILENT = Silent()


class Metered:
    """Bytes on their way, told to a reporter at most every `every` seconds and once at the end:
    a sink (write) that passes them on, or a counter (count) where something else moves them."""

    def __init__(self, report, what: str, total: int | None = None, sink=None, every: float = 0.5):
        self.report, self.what, self.total, self.sink, self.every = report, what, total, sink, every
        self.done = 0
        self._told = time.monotonic()
        transfer = getattr(report, "transfer", None)
        self._tell = transfer if callable(transfer) else None
        if self._tell:
            self._tell(what, 0, total)

    def write(self, data) -> int:
        written = self.sink.write(data) if self.sink is not None else None
        self.count(len(data))
        return written if written is not None else len(data)

    def count(self, moved: int) -> None:
        self.done += moved
        now = time.monotonic()
        if self._tell and now - self._told >= self.every:
            self._told = now
            self._tell(self.what, self.done, self.total)

    def finish(self) -> None:
        if self._tell:
            self._tell(self.what, self.done, self.done)
