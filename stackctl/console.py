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


SGR = {"green": "32", "red": "31", "yellow": "33", "cyan": "36", "magenta": "35", "dim": "2", "bold": "1"}


# What a piece of text read from elsewhere (an app's answer, a container's name) may not send
# to a terminal: control characters (escape sequences, carriage returns) are shown as "?".
CONTROLS = {code: "?" for code in [*range(32), 127]}


def _colour(stream) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty() and os.environ.get("TERM") != "dumb"


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

    def lines(self, lines: list[list[tuple[str, str | None]]]) -> None:
        """Lines of (text, style) pieces to stdout, coloured only where rich would colour them (a
        terminal, no NO_COLOR; FORCE_COLOR forces). Written without rich: `ps` and `status` are what
        people run in loops and pipes, and rich's import was a third of what `ps` spends."""
        if self.json_output:
            return
        colour = _colour(sys.stdout)
        text = "".join("".join(f"\x1b[{SGR[style]}m{piece.translate(CONTROLS)}\x1b[0m" if colour and style in SGR
                               and piece else piece.translate(CONTROLS) for piece, style in line) + "\n"
                       for line in lines)
        sys.stdout.write(text)
        sys.stdout.flush()

    def error(self, exc: StackError) -> None:
        from rich.markup import escape

        # One line says what is wrong and what to do; details (logs) follow only when useful.
        from stackctl.masking import mask

        hint = f" [yellow]→ {escape(mask(exc.hint))}[/]" if exc.hint else ""
        self.err.print(f"[bold red]error:[/] {escape(mask(exc.message))}{hint}", soft_wrap=True)
        if exc.details:
            self.err.print(escape(mask(exc.details.rstrip())), style="dim", soft_wrap=True)
