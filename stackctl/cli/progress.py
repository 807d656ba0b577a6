"""The displays of stackctl.report.Reporter: a rich table redrawn on a terminal, plain lines
elsewhere (CI, pipes), nothing with --quiet or --json."""

from __future__ import annotations

import threading
from contextlib import contextmanager
import time

STYLES = {"ready": "green", "done": "green", "failed": "red", "timeout": "red", "skipped": "yellow",
          "starting": "cyan", "running": "cyan", "restarting": "cyan", "waiting": "dim"}


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def describe_transfer(done: int, total: int | None, seconds: float) -> str:
    """"12.0 MiB of 40.0 MiB, 4.0 MiB/s, 7 s left"; at the end "40.0 MiB in 10.0 s (4.0 MiB/s)"."""
    rate = done / seconds if seconds > 0 else 0.0
    if total is not None and done >= total:
        return f"{_size(done)} in {seconds:.1f} s" + (f" ({_size(rate)}/s)" if rate else "")
    said = _size(done) + (f" of {_size(total)}" if total else "") + (f", {_size(rate)}/s" if rate else "")
    if total and rate:
        said += f", {max(0, total - done) / rate:.0f} s left"
    return said


class Transfers:
    """When each transfer began, for its rate and ETA."""

    def __init__(self):
        self.began: dict[str, float] = {}

    def describe(self, what: str, done: int, total: int | None) -> str:
        now = time.monotonic()
        began = self.began.setdefault(what, now)
        return describe_transfer(done, total, now - began)


class PlainProgress:
    """One line per change of phase or service state."""

    def __init__(self, console):
        self.console = console
        self._last: dict[str, str] = {}
        self._lock = threading.Lock()
        self._phase_base = ""
        self._transfers = Transfers()
        self._told: dict[str, float] = {}

    def phase(self, text: str) -> None:
        base = text.split(" (")[0]
        with self._lock:
            if base != self._phase_base:  # build output lines would flood a log: one line a phase
                self._phase_base = base
                self.console.info(f"· {base}")

    def service(self, name: str, state: str, detail: str = "", elapsed: float | None = None) -> None:
        with self._lock:
            if self._last.get(name) == state:
                return
            self._last[name] = state
        took = f" after {elapsed:.1f}s" if elapsed is not None and state not in ("waiting", "starting", "running") else ""
        self.console.info(f"  {name:<10} {state}{took}")

    def note(self, text: str) -> None:
        from rich.markup import escape

        from stackctl.masking import mask

        self.console.info(f"· {escape(mask(text))}")

    def transfer(self, what: str, done: int, total: int | None, every: float = 5.0) -> None:
        """A line every `every` seconds of a transfer, and one when it ends (a log is not a screen)."""
        from rich.markup import escape

        said = self._transfers.describe(what, done, total)
        now = time.monotonic()
        ended = total is not None and done >= total
        if ended or now - self._told.setdefault(what, now) >= every:
            self._told[what] = now
            self.console.info(f"· {escape(what)}: {said}")

    def close(self) -> None:
        pass


class LiveProgress:
    """A table redrawn in place: service, state, elapsed, latest detail."""

    def __init__(self, console):
        from rich.live import Live

        self.console = console
        self.rows: dict[str, list] = {}
        self.phase_text = ""
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._transfers = Transfers()
        self.live = Live(self._render(), console=console.err, refresh_per_second=8, transient=False)
        self.live.__enter__()

    def _render(self):
        from rich.table import Table
        from rich.text import Text

        table = Table(box=None, show_header=False, padding=(0, 1))
        table.add_column(min_width=10, max_width=28, no_wrap=True, overflow="ellipsis")
        table.add_column(width=9)
        table.add_column(justify="right", width=6)
        table.add_column(overflow="ellipsis", no_wrap=True, max_width=70)
        for name, (state, since, detail, final) in self.rows.items():
            elapsed = final if final is not None else time.monotonic() - since
            table.add_row(name, Text(state, style=STYLES.get(state, "")), f"{elapsed:.1f}s", Text(detail, style="dim"))
        phase = Text(f"{self.phase_text}  [{time.monotonic() - self.started:.1f}s]", style="bold")
        from rich.console import Group

        return Group(phase, table)

    def phase(self, text: str) -> None:
        with self._lock:
            self.phase_text = text
            self.live.update(self._render())

    def service(self, name: str, state: str, detail: str = "", elapsed: float | None = None) -> None:
        with self._lock:
            previous = self.rows.get(name)
            since = previous[1] if previous and state not in ("waiting",) else time.monotonic()
            if previous and previous[0] == "waiting" and state != "waiting":
                since = time.monotonic()
            final = elapsed if state in ("ready", "done", "failed", "timeout", "skipped") else None
            self.rows[name] = [state, since, detail.splitlines()[0] if detail else "", final]
            self.live.update(self._render())

    def note(self, text: str) -> None:
        from stackctl.masking import mask

        self.live.console.print(f"· {mask(text)}", markup=False, highlight=False)

    def transfer(self, what: str, done: int, total: int | None) -> None:
        """A row of the table: the bytes, the rate and, when the size is known, the time left."""
        said = self._transfers.describe(what, done, total)
        ended = total is not None and done >= total
        with self._lock:
            previous = self.rows.get(what)
            since = previous[1] if previous else time.monotonic()
            self.rows[what] = ["done" if ended else "moving", since, said,
                               time.monotonic() - since if ended else None]
            self.live.update(self._render())

    def close(self) -> None:
        with self._lock:
            self.phase_text = "done"
            self.live.update(self._render())
        self.live.__exit__(None, None, None)


def make_progress(console):
    if console.quiet or console.json_output:
        from stackctl.report import Silent

        return Silent()
    return LiveProgress(console) if console.interactive else PlainProgress(console)


@contextmanager
def progress_of(app):
    """The command's progress display, closed however the block ends."""
    progress = make_progress(app.console())
    try:
        yield progress
    finally:
        progress.close()


@contextmanager
def shown(app, progress, cancel: threading.Event):
    """Around a command that starts services: the display closed however it ends, a failed
    preflight's table printed, and an interruption passed on to the waits (cancel)."""
    from stackctl.cli import render
    from stackctl.preflight import PreflightFailed

    try:
        yield
    except PreflightFailed as exc:
        progress.close()
        if not app.json:
            app.console().err.print(render.check_table(exc.report))
        raise
    except BaseException:
        cancel.set()
        progress.close()
        raise
    progress.close()
