"""Tables and summaries for humans; machines get --json."""

from __future__ import annotations


def _bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s >= 86400:
        return f"{s // 86400}d{s % 86400 // 3600}h"
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60}m"
    if s >= 60:
        return f"{s // 60}m{s % 60}s"
    return f"{s}s"


def check_table(report):
    from rich.table import Table

    table = Table(box=None, show_header=False, padding=(0, 1))
    for c in report.checks:
        mark = "[green]✓[/]" if c.ok else "[red]✗[/]"
        table.add_row(mark, c.name, c.detail)
        if not c.ok and c.fix:
            table.add_row("", "", f"[yellow]fix:[/] {c.fix}")
    return table


def status_table(report):
    from rich.table import Table

    table = Table(title=f"stack {report.stack} ({report.env})", title_justify="left", box=None, padding=(0, 1))
    for col in ("service", "state", "health", "uptime", "ports", "cpu", "memory"):
        table.add_column(col, justify="right" if col in ("cpu", "memory", "uptime") else "left")
    for s in report.services:
        style = "green" if s.ok else "red"
        ports = ", ".join(f"{ip or '*'}:{hp}->{cp}" for cp, ip, hp in s.ports) or "-"
        cpu = "-" if s.cpu_percent is None else f"{s.cpu_percent:.1f}%"
        table.add_row(s.name, s.state, f"[{style}]{s.health}[/]", _duration(s.uptime_seconds), ports, cpu,
                      _bytes(s.memory_bytes))
    return table


def endpoint_table(endpoints):
    from rich.table import Table

    table = Table(box=None, show_header=False, padding=(0, 1))
    for e in endpoints:
        table.add_row("[green]✓[/]" if e.ok else "[red]✗[/]", e.name, e.url, "" if e.ok else f"[red]{e.detail}[/]")
    return table


def up_summary(result):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    changed = [s for s in result.services if s.outcome != "kept"]
    head = Text(f"stack is up in {result.elapsed:.1f}s", style="bold green")
    if not changed and not result.built:
        head = Text(f"stack was already up; nothing to do ({result.elapsed:.1f}s)", style="bold green")
    urls = Table(box=None, show_header=False, padding=(0, 1))
    for name, url in result.urls:
        urls.add_row(name, url)
    return Group(head, endpoint_table(result.endpoints), Text("where it is:", style="bold"), urls)
