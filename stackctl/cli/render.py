"""Each command's result for humans: `render.NAME(console, result)`. Machines get the same
result as a JSON envelope (stackctl.cli.output)."""

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


STATUS_HEADERS = ("service", "state", "evidence", "container", "uptime", "ports", "cpu", "memory")


def _ports(ports) -> str:
    return ", ".join(f"{ip or '*'}:{hp}->{cp}" for cp, ip, hp in ports) or "-"


def _status_row(s) -> tuple[list[str], str]:
    """One service's cells under STATUS_HEADERS, and the style its state is shown in."""
    cpu = "-" if s.cpu_percent is None else f"{s.cpu_percent:.1f}%"
    cells = [s.name, str(s.state), s.evidence if s.container_state else "-", s.container_state or "-",
             _duration(s.uptime_seconds), _ports(s.ports), cpu, _bytes(s.memory_bytes)]
    return cells, "green" if s.ok else "yellow" if str(s.state) == "running" else "red"


def status_table(report, history=None):
    """The services' table for `status --follow` (rich, redrawn in place), with CPU and memory over
    the last looks beside their values (stackctl.cli.sparkline)."""
    from rich.table import Table

    table = Table(title=f"stack {report.stack} ({report.env})", title_justify="left", box=None, padding=(0, 1))
    headers = list(STATUS_HEADERS)
    if history is not None:
        headers[7:7] = ["cpu history"]
        headers.append("memory history")
    for col in headers:
        table.add_column(col, justify="right" if col in ("cpu", "memory", "uptime") else "left")
    for s in report.services:
        cells, style = _status_row(s)
        cells[1] = f"[{style}]{cells[1]}[/]"
        if history is not None:
            cells[7:7] = [f"[cyan]{history.cpu_line(s.name)}[/]"]
            cells.append(f"[magenta]{history.memory_line(s.name)}[/]")
        table.add_row(*cells)
    return table


GIVE_EVIDENCE = ("give it a healthcheck in the compose file, or name the port it serves on (apps.NAME.port in "
                 "stackctl.yaml, or expose: in compose) so stackctl can see it listen")


def _serve(names: list[str]) -> str:
    return f"{names[0]} serves" if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]} serve"


def _endpoint_row(e) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    """One endpoint check's cells (mark, name, url, what went wrong) and their styles."""
    return (("✓" if e.ok else "✗", e.name, e.url, "" if e.ok else e.detail),
            ("green" if e.ok else "red", None, None, None if e.ok else "red"))


def endpoint_table(endpoints):
    from rich.table import Table

    table = Table(box=None, show_header=False, padding=(0, 1))
    for e in endpoints:
        cells, styles = _endpoint_row(e)
        table.add_row(*(f"[{style}]{cell}[/]" if style and cell else cell for cell, style in zip(cells, styles)))
    return table


def up_summary(console, result) -> None:
    console.result(_up_summary(result))
    picture = waterfall(result.services, result.elapsed, console.out.width)
    if picture is not None:
        console.result(picture)


def waterfall(outcomes, total: float, width: int):
    """The start-up waterfall (stackctl.cli.waterfall) as rich text; None when nothing started."""
    from rich.text import Text

    from stackctl.cli import waterfall as picture

    drawn = picture.lines(outcomes, total, width)
    if not drawn:
        return None
    text = Text()
    for line in drawn:
        for piece, style in line:
            text.append(piece, style=style or None)
        text.append("\n")
    text.rstrip()
    return text


def _up_summary(result):
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    changed = [s for s in result.services if s.outcome != "kept"]
    head = Text(f"stack is up in {result.elapsed:.1f}s", style="bold green")
    if not changed and not result.built:
        head = Text(f"stack was already up; nothing to do ({result.elapsed:.1f}s)", style="bold green")
    if result.unproven:
        head = Text(f"stack is running ({result.elapsed:.1f}s), but nothing shows that {_serve(result.unproven)}: "
                    f"{GIVE_EVIDENCE}", style="bold yellow")
    shown = Table(box=None, show_header=False, padding=(0, 1))
    for s in result.services:
        if s.evidence:
            shown.add_row(s.service, s.outcome, s.evidence)
    urls = Table(box=None, show_header=False, padding=(0, 1))
    for name, url in result.urls:
        urls.add_row(name, url)
    return Group(head, shown, endpoint_table(result.endpoints), Text("where it is:", style="bold"), urls)


def nothing(console, result) -> None:
    pass


def check_report(console, report) -> None:
    console.result(check_table(report))


def status_report(console, report) -> None:
    rows: list[tuple[str, ...]] = [STATUS_HEADERS]
    styles: list[tuple[str | None, ...]] = [(None,) * len(STATUS_HEADERS)]
    for s in report.services:
        cells, style = _status_row(s)
        rows.append(tuple(cells))
        styles.append((None, style) + (None,) * (len(STATUS_HEADERS) - 2))
    console.lines([[(f"stack {report.stack} ({report.env})", None)], *columns(rows, styles, right=(4, 6, 7)),
                   *endpoint_lines(report.endpoints)])
    if report.unproven:
        console.result(f"[yellow]nothing shows that {_serve(report.unproven)}: running, and no more is known[/]; "
                       f"{GIVE_EVIDENCE}")


def endpoint_lines(endpoints) -> list[list[tuple[str, str | None]]]:
    rows = [_endpoint_row(e) for e in endpoints]
    return columns([cells for cells, _ in rows], [styles for _, styles in rows])


def restarted(console, result) -> None:
    console.result(f"[green]restarted {', '.join(o.service for o in result.services)}[/]")


def down(console, result) -> None:
    console.result(f"stack {result.stack} is down" + (" and its data deleted" if result.volumes_deleted
                                                       else " (data kept)"))


def plan(console, result) -> None:
    from rich.markup import escape

    for number, step in enumerate(result.steps, 1):
        console.result(f"{number:>2}. {escape(str(step))}")


def migration_status(console, result) -> None:
    from rich.table import Table

    if result.migrations is None:
        console.result(result.raw.rstrip())
        return
    table = Table(box=None, padding=(0, 1))
    for col in ("revision", "state", "description"):
        table.add_column(col)
    for m in result.migrations:
        state = "[green]applied[/]" if m.applied else "[yellow]pending[/]"
        table.add_row(m.revision + (" (head)" if m.head else ""), state, m.description)
    console.result(table)
    pending = sum(not m.applied for m in result.migrations)
    console.result(f"{len(result.migrations) - pending} applied, {pending} pending")


def backup_made(console, result) -> None:
    b = result.backup
    checked = "restored into a scratch server, row counts match" if result.verified else "read back in full"
    console.result(f"[green]backup {b.id}[/] ({b.size / 1e6:.1f} MB, {checked}, authenticated) in {b.path}")
    db, cache = b.database, b.cache
    each = ", ".join(f"{d['name']} {sum(d.get('tables', {}).values())} rows in {len(d.get('tables', {}))} tables"
                     for d in b.databases())
    console.result(f"  {db['kind']} {db['server_version']}: {each}" + ("; roles" if db.get("globals") else "")
                   + (f"; {cache['kind']} {cache.get('version')}: {cache.get('keys')} keys" if cache else ""))
    if result.empty:
        console.result(f"[bold yellow]  warning: no row in any table of {len(b.databases())} database(s): "
                       f"if your app has data, it writes somewhere this server does not hold[/]")
    if result.pruned:
        console.result(f"  retention removed {len(result.pruned)}: {', '.join(result.pruned)}")
    if result.pushed:
        pushed(console, result.pushed)


def schedule_change(console, result) -> None:
    if not result.installed:
        console.result(f"removed {', '.join(map(str, result.paths))}" if result.paths else "no schedule was installed")
        return
    console.result(f"daily backup at {result.at} installed: {', '.join(map(str, result.paths))}; "
                   f"next run {result.next_run:%Y-%m-%d %H:%M}")


def watch_service_change(console, result) -> None:
    if not result.installed:
        console.result(f"removed {', '.join(map(str, result.paths))}" if result.paths else "no monitor was installed")
        return
    console.result(f"monitor installed: {', '.join(map(str, result.paths))}; alerts go where STACKCTL_ALERT_* say")


def backup_list(console, result) -> None:
    from rich.table import Table

    table = Table(box=None, padding=(0, 1))
    for col in ("id", "kind", "size", "verified", "age"):
        table.add_column(col, justify="right" if col in ("size", "age") else "left")
    for b in result.backups:
        age = b.age().total_seconds()
        shown = f"{age / 86400:.1f}d" if age >= 86400 else f"{age / 3600:.1f}h" if age >= 3600 else f"{age / 60:.0f}m"
        table.add_row(b.id, b.manifest.get("kind", "manual"), f"{b.size / 1e6:.1f} MB", b.verified, shown)
    console.result(table if result.backups else f"no backups in {result.folder}")
    for p in result.incomplete:
        console.result(f"[yellow]incomplete (not a backup, safe to delete): {p}[/]")


def verified(console, result) -> None:
    console.result(f"[green]backup {result.backup_id} is good[/]: checksums match, reads in full, "
                   f"restored {result.rows} rows in {result.tables} tables, counts match")


def restored(console, result) -> None:
    kept = ", ".join(result.kept.values())
    console.result(f"[green]restored backup {result.restored.id}[/]: database(s) {', '.join(result.databases)}, "
                   f"{result.rows} rows in {result.tables} tables, each table's rows equal to the set's "
                   + ("in the new databases before the swap" if result.paused_seconds is not None
                      else "before and after the services started")
                   + (" (and the cache's snapshot)" if result.redis else ""))
    if result.paused_seconds is not None:
        console.result(f"  writers paused {result.paused_seconds:.2f}s around the swap, then resumed: the set has the "
                       "schema they run with, nothing migrated; their processes were kept (what an app holds in memory "
                       "is from before: restore --restart stops and starts them)")
    if result.roles_created:
        console.result(f"  roles created from the set: {', '.join(result.roles_created)}")
    if kept or result.redis_copy:
        console.result("  the data it replaced is kept" + (f" as database(s) {kept}" if kept else "")
                       + (f" and {result.redis_copy}" if result.redis_copy else "") + " until the next restore")


def cert_made(console, result) -> None:
    console.result(f"self-signed certificate {result.cert} (key {result.key}, mode 600), valid until "
                   f"{result.expires:%Y-%m-%d}; browsers will warn: use a real certificate in production")


def edge_certificates(console, result) -> None:
    out = []
    if result.root:
        out.append(f"the edge's local CA: {result.root} (import it, or: curl --cacert {result.root} https://...)")
    for seen in result.served:
        out.append(f"  {seen.host}: served on {seen.address}, issuer {seen.issuer}, valid until "
                   f"{seen.not_after:%Y-%m-%d %H:%M} UTC, names {', '.join(seen.names)}, sha256 {seen.sha256[:16]}")
    if result.action == "renew":
        out.append("a new certificate is served (read back above)" if result.renewed else f"kept: {result.detail}")
    elif result.detail:
        out.append(f"  {result.detail}")
    console.lines([[(line, None)] for line in out])


def deployed(console, result) -> None:
    seen = f"; verified: {result.verified.said()}" if result.verified else ""
    if result.action == "rollback":
        console.result(f"[green]rolled back to {result.release}[/] (from {result.previous}) in "
                       f"{result.seconds:.1f}s{seen}")
        return
    steps = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result.steps)
    if result.promoted_from:
        console.result(f"[green]promoted release {result.release}[/] from {result.promoted_from}")
    console.result(f"[green]deployed release {result.release}[/] in {result.seconds:.1f}s ({steps})"
                   + (f"; previous: {result.previous}" if result.previous else "") + seen)
    if result.pruned:
        console.result(f"pruned old images: {', '.join(result.pruned)}")


def release_list(console, result) -> None:
    from rich.table import Table

    if not result.releases:
        console.result("no releases on the target yet: stackctl --env production deploy")
        return
    table = Table(box=None, padding=(0, 1))
    for col in ("", "release", "status", "images", "deployed at", "by", "commit"):
        table.add_column(col)
    for row in result.releases:
        style = "green" if row["status"] == "deployed" else "red"
        table.add_row("[green]*[/]" if row["current"] else "", row["release"], f"[{style}]{row['status']}[/]",
                      "on the target" if row["on_target"] else "gone", row["deployed_at"] or "",
                      row["deployed_by"] or "", (row["commit"] or "")[:12])
    console.result(table)


def audit_log(console, result) -> None:
    from rich.table import Table

    if not result.entries:
        console.result("no deploys recorded yet")
        return
    table = Table(box=None, padding=(0, 1))
    for col in ("when", "action", "result", "release", "by", "seconds", "error"):
        table.add_column(col, justify="right" if col == "seconds" else "left")
    for e in result.entries:
        table.add_row(str(e.get("when", "?")), str(e.get("action", "?")), str(e.get("result", "?")),
                      str(e.get("release", "?")), str(e.get("who", "?")), str(e.get("seconds", "?")),
                      str(e.get("error") or ""))
    console.result(table)


def roles_written(console, result) -> None:
    if result.existing:
        console.result(f"{result.path} already declares the roles, and each service it names is in the compose "
                       "files; nothing changed")
        for note in result.notes:
            console.result(f"  {note}")
        return
    console.result(f"[green]wrote {result.path}[/]; next: stackctl check, then stackctl up" if result.written
                   else f"not written: run stackctl init --yes to write {result.path}")


def pipeline_written(console, result) -> None:
    if result.existing:
        console.result(f"{result.path} exists: left as it is (move it aside to propose a new one)")
        return
    console.result(f"[green]wrote {result.path}[/]; next: set the secrets and variables its first lines name"
                   if result.written else f"not written: run stackctl ci init --yes to write {result.path}")


def migrated(console, result) -> None:
    console.result(f"[green]migrations ran[/] ({result.service}, {len(result.output)} lines of output)")


def listing(console, result) -> None:
    """Columns as `docker compose ps` prints them (no table widget, no rich: see columns)."""
    rows = [("service", "state", "container", "ports")]
    styles = [(None,) * 4]
    for s in result.services:
        rows.append((s.name, str(s.state), s.container or "-", _ports(s.ports)))
        styles.append((None, "green" if s.state.ok else "red" if s.container else "dim", None, None))
    console.lines([[(f"stack {result.stack}", None)], *columns(rows, styles)])


def columns(rows: list[tuple[str, ...]], styles: list[tuple[str | None, ...]] | None = None,
            right: tuple[int, ...] = ()) -> list[list[tuple[str, str | None]]]:
    """Rows of plain cells aligned in columns, as lines of (text, style) for Console.lines: what
    `ps` and `status` print, without rich's table widget (or rich), which cost a command people run
    in loops a good part of its time."""
    if not rows:
        return []
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for r, row in enumerate(rows):
        line: list[tuple[str, str | None]] = [(" ", None)]
        for c, (value, width) in enumerate(zip(row, widths)):
            pad, style = (" " * (width - len(value)), None), (value, styles[r][c] if styles else None)
            line += [("  " if c else "", None), *((pad, style) if c in right else (style, pad))]
        while line and not line[-1][0].strip():
            line.pop()
        lines.append(line)
    return lines


def shipped(console, result) -> None:
    console.result(f"[green]pushed release {result.release}[/] to {result.registry} in {result.seconds:.1f}s "
                   f"({_bytes(result.bytes_pushed)} sent; the registry's digests:)")
    for service, ref in sorted(result.images.items()):
        console.result(f"  {service}: {ref}")
    console.result(f"deploy it anywhere: stackctl --env production deploy --release {result.release}")


def changed(console, result) -> None:
    console.result(f"{result.action} {', '.join(result.services)}" if result.services
                   else f"nothing {result.action}")


def compose_model(console, result) -> None:
    import yaml

    console.out.print(yaml.safe_dump(result.config, sort_keys=False), markup=False, highlight=False, end="")


def diagnosis(console, result) -> None:
    from rich.markup import escape

    if result.ok:
        console.result(f"[green]stack {result.stack}: no problem found[/]; what answered:")
        for line in result.answered:
            console.result(f"  {escape(line)}")
        return
    for number, f in enumerate(result.findings, 1):
        console.result(f"[bold red]{number}. {escape(f.subject)}[/] {escape(f.what)}")
        for line in f.evidence:
            console.result(f"     [dim]{escape(line)}[/]")
        console.result(f"     [yellow]fix:[/] {escape(f.fix)}")


def pushed(console, result) -> None:
    console.result(f"[green]copied off-site[/] to {result.remote}, checksums match there"
                   + (f"; retention there removed {', '.join(result.pruned)}" if result.pruned else ""))


def remote_checked(console, result) -> None:
    what = "structure and every pack of data" if result.read_data else "structure (add --read-data to read every pack)"
    console.result(f"[green]no problem found[/] by restic check in {result.repository}: its {what}")


def remote_list(console, result) -> None:
    from rich.table import Table

    if not result.backups:
        console.result(f"no backups in {result.remote}")
        return
    table = Table(title=str(result.remote), title_justify="left", box=None, padding=(0, 1))
    for col in ("id", "kind", "size", "created"):
        table.add_column(col, justify="right" if col == "size" else "left")
    for b in result.backups:
        size = f"{b['bytes'] / 1e6:.1f} MB" if b.get("bytes") is not None else "(restic)"
        table.add_row(b["id"], b["kind"], size, b["created_at"] or "")
    console.result(table)


def swarm_up(console, result) -> None:
    from rich.markup import escape

    console.result(f"[bold green]stack {result.stack} is up on swarm in {result.elapsed:.1f}s[/]")
    for service in result.services:
        console.result(f"  {service.name:<12} {service.outcome:<10} {escape(service.detail)}")
    for note in result.notes:
        console.info(f"· {note}")


def swarm_status(console, report) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"stack {report.stack} on swarm", title_justify="left")
    for column in ("service", "role", "state", "replicas", "tasks", "ports", "last error"):
        table.add_column(column)
    colour = {"ready": "green", "done": "green", "starting": "yellow", "failed": "red", "absent": "red"}
    for s in report.services:
        table.add_row(s.name, s.role, f"[{colour.get(s.state, 'white')}]{s.state}[/]", f"{s.running}/{s.desired}",
                      escape(", ".join(s.tasks)), ", ".join(s.ports), escape(s.error))
    console.result(table)


def swarm_down(console, result) -> None:
    console.result(f"stack {result.stack} is down on swarm ({len(result.services)} services removed in "
                   f"{result.elapsed:.1f}s)" + (f"; volumes deleted: {', '.join(result.volumes)}" if result.volumes
                                                 else "; data kept"))


def swarm_rollback(console, result) -> None:
    for s in result.services:
        console.result(f"{s.service} rolled back on swarm in {s.elapsed:.1f}s: {s.from_image} -> {s.to_image}")


def of(result):
    """The renderer of a flow's result, by its kind (a target's up, status, down and rollback each
    return their own)."""
    return {"UpResult": up_summary, "SwarmUp": swarm_up, "StatusReport": status_report, "SwarmStatus": swarm_status,
            "Down": down, "SwarmDown": swarm_down, "DeployResult": deployed,
            "SwarmRollback": swarm_rollback}[type(result).__name__]
