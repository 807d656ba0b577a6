"""How the core tells what it is doing, in one protocol: the CLI passes a display (a live table
on a terminal, plain lines in a log, nothing with --quiet or --json); tests pass SILENT."""

from __future__ import annotations

from typing import Protocol


class Reporter(Protocol):
    def phase(self, text: str) -> None:
        """What the command is doing now ("building api", "checking through the proxy")."""

    def service(self, name: str, state: str, detail: str = "", elapsed: float | None = None) -> None:
        """One service's progress: a ServiceState word, or waiting / skipped / draining / timeout."""

    def note(self, text: str) -> None:
        """A line worth telling: a decision, a retry, a tool's own output."""


class Silent:
    def phase(self, text: str) -> None:
        pass

    def service(self, name: str, state: str, detail: str = "", elapsed: float | None = None) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


SILENT = Silent()
