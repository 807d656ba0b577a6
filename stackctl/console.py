"""All output goes through here: results to stdout, errors and progress to stderr.

rich is imported on first use, so `--help` and `--version` stay fast.
"""

from __future__ import annotations

import os
import sys
from functools import cached_property
from typing import Any

from stackctl.errors import StackError


PIPE_WIDTH = 10_000  # rich needs a width; a pipe gets lines as long as they are


def _pipe_width(stream) -> int | None:
    """Output to a pipe or file is not wrapped at 80 columns (a path must stay on one line)."""
    if os.environ.get("COLUMNS") or stream.isatty():
        return None
    return PIPE_WIDTH


class Console:
    def __init__(self, *, json_output: bool = False, quiet: bool = False):
        self.json_output = json_output
        self.quiet = quiet

    @cached_property
    def out(self):
        from rich.console import Console as RichConsole

        return RichConsole(highlight=False, soft_wrap=False, width=_pipe_width(sys.stdout))

    @cached_property
    def err(self):
        from rich.console import Console as RichConsole

        return RichConsole(stderr=True, highlight=False, width=_pipe_width(sys.stderr))

    @property
    def interactive(self) -> bool:
        return self.err.is_terminal and not os.environ.get("CI")

    def info(self, message: str) -> None:
        if not self.quiet and not self.json_output:
            self.err.print(message)

    def result(self, renderable: Any) -> None:
        """Human output of a command (tables, summaries): stdout."""
        if not self.json_output:
            self.out.print(renderable)

    def error(self, exc: StackError) -> None:
        from rich.markup import escape

        # One line says what is wrong and what to do; details (logs) follow only when useful.
        from stackctl.masking import mask

        hint = f" [yellow]→ {escape(mask(exc.hint))}[/]" if exc.hint else ""
        self.err.print(f"[bold red]error:[/] {escape(mask(exc.message))}{hint}", soft_wrap=True)
        if exc.details:
            self.err.print(escape(mask(exc.details.rstrip())), style="dim", soft_wrap=True)
