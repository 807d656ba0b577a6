"""Data commands: migrate, backup, backups, restore."""

from __future__ import annotations

import sys

import click

from stackctl.cli import App, cli, pass_app
from stackctl.errors import EXIT_USAGE, StackError


@cli.command()
@click.option("--status", "show_status", is_flag=True, help="List applied and pending migrations.")
@pass_app
def migrate(app: App, show_status: bool) -> None:
    """Run the migration command in a one-off container of the current api image."""
    from stackctl import migrate as migrations

    console = app.console()
    stack = app.stack()
    if show_status:
        rows, raw = migrations.status(stack)
        if rows is None:
            console.result(raw.rstrip())
            return
        from rich.table import Table

        table = Table(box=None, padding=(0, 1))
        for col in ("revision", "state", "description"):
            table.add_column(col)
        for m in rows:
            state = "[green]applied[/]" if m.applied else "[yellow]pending[/]"
            table.add_row(m.revision + (" (head)" if m.head else ""), state, m.description)
        console.result(table)
        pending = sum(not m.applied for m in rows)
        console.result(f"{len(rows) - pending} applied, {pending} pending")
        return
    migrations.migrate(stack, lambda line: (sys.stdout.write(line), sys.stdout.flush()))


@cli.group(invoke_without_command=True)
@click.option("--verify", is_flag=True, help="Also restore into a scratch database and compare row counts.")
@click.option("--no-redis", is_flag=True, help="Postgres only.")
@click.option("--kind", type=click.Choice(["manual", "scheduled"]), default="manual", hidden=True)
@click.pass_context
def backup(ctx: click.Context, verify: bool, no_redis: bool, kind: str) -> None:
    """Back up Postgres and Redis into one checked, timestamped set."""
    if ctx.invoked_subcommand is not None:
        return
    from stackctl.backup.create import apply_retention
    from stackctl.backup.create import backup as run_backup

    app: App = ctx.obj
    console = app.console()
    stack = app.stack()
    result = run_backup(stack, include_redis=not no_redis, verify=verify, kind=kind,
                        say=lambda text: console.info(f"· {text}"))
    pruned = apply_retention(stack)
    m = result.manifest
    checked = "restored into a scratch database, row counts match" if verify else "read back in full"
    console.result(f"[green]backup {result.id}[/] ({result.size / 1e6:.1f} MB, {checked}) in {result.path}")
    console.result(f"  postgres {m['postgres']['server_version']}: {sum(m['postgres']['tables'].values())} rows "
                   f"in {len(m['postgres']['tables'])} tables" +
                   (f"; redis {m['redis']['version']}: {m['redis']['keys']} keys" if m.get("redis") else ""))
    if pruned:
        console.result(f"  retention removed {len(pruned)}: {', '.join(p.id for p in pruned)}")


@backup.command("schedule")
@click.option("--at", "at", help="Daily time HH:MM (default BACKUP_SCHEDULE_AT).")
@click.option("--remove", is_flag=True, help="Remove the schedule.")
@pass_app
def backup_schedule(app: App, at: str | None, remove: bool) -> None:
    """Run `stackctl backup` daily (systemd timer, or /etc/cron.d)."""
    import re
    from datetime import datetime

    from stackctl.backup import schedule as sched

    stack = app.stack()
    when = at or stack.settings.backup_schedule_at
    if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", when):
        raise StackError(f"--at {when!r} is not a time of day", "use HH:MM, e.g. --at 03:15", EXIT_USAGE)
    p = stack.project
    named = [*(a for f in p.files for a in ("-f", str(f))), *(("-p", p.name) if p.name else ()),
             *(a for profile in p.profiles for a in ("--profile", profile)),
             *(("--prod-file", str(p.overlay)) if p.overlay else ())]
    plan = sched.Schedule(stack.name, p.root, p.env, when, tuple(named))
    console = app.console()
    if remove:
        removed = sched.remove(plan)
        console.result(f"removed {', '.join(map(str, removed))}" if removed else "no schedule was installed")
        return
    paths = sched.install(plan)
    console.result(f"daily backup at {when} installed: {', '.join(map(str, paths))}; "
                   f"next run {sched.next_run(when, datetime.now()):%Y-%m-%d %H:%M}")


@cli.group(invoke_without_command=True)
@click.option("--json", "json_output", is_flag=True, help="Machine-readable list.")
@click.pass_context
def backups(ctx: click.Context, json_output: bool) -> None:
    """List backup sets (time, size, verified?, age)."""
    if ctx.invoked_subcommand is not None:
        return
    from stackctl.backup import sets
    from stackctl.backup.create import backup_path

    app: App = ctx.obj
    console = app.console(json_output)
    folder = backup_path(app.stack())
    found = sets.list_sets(folder)
    partial = sets.leftovers(folder)
    if json_output:
        console.emit_json({"backups": [b.to_dict() for b in found], "incomplete": [str(p) for p in partial]})
        return
    from rich.table import Table

    table = Table(box=None, padding=(0, 1))
    for col in ("id", "kind", "size", "verified", "age"):
        table.add_column(col, justify="right" if col in ("size", "age") else "left")
    for b in found:
        age = b.age().total_seconds()
        shown = f"{age / 86400:.1f}d" if age >= 86400 else f"{age / 3600:.1f}h" if age >= 3600 else f"{age / 60:.0f}m"
        table.add_row(b.id, b.manifest.get("kind", "manual"), f"{b.size / 1e6:.1f} MB", b.verified, shown)
    console.result(table if found else f"no backups in {folder}")
    for p in partial:
        console.result(f"[yellow]incomplete (not a backup, safe to delete): {p}[/]")


@backups.command("verify")
@click.argument("backup_id")
@pass_app
def backups_verify(app: App, backup_id: str) -> None:
    """Checksums, a full read, and a restore into a scratch database compared with the manifest."""
    from stackctl.backup import sets
    from stackctl.backup.create import backup_path
    from stackctl.backup.verify import verify

    stack = app.stack()
    target = sets.find_set(backup_path(stack), backup_id)
    result = verify(stack.engine, target)
    test = result["restore_test"]
    app.console().result(f"[green]backup {target.id} is good[/]: checksums match, reads in full, "
                         f"restored {test['rows']} rows in {test['tables']} tables, counts match")


@cli.command()
@click.argument("backup_id")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--no-redis", is_flag=True, help="Restore Postgres only.")
@pass_app
def restore(app: App, backup_id: str, yes: bool, no_redis: bool) -> None:
    """Restore a backup (ID or path); on any failure the data is left as it was."""
    from stackctl.backup.restore import restore as run_restore
    from stackctl.cli.progress import make_progress

    stack = app.stack()
    if not yes:
        if not sys.stdin.isatty():
            raise StackError("restore replaces the stack's data and needs confirmation", "add --yes", EXIT_USAGE)
        click.confirm(f"Replace the data of stack '{stack.name}' with backup {backup_id}?", abort=True)
    console = app.console()
    progress = make_progress(console)
    try:
        result = run_restore(stack, backup_id, include_redis=not no_redis, progress=progress,
                             say=lambda text: console.info(f"· {text}"))
    finally:
        progress.close()
    console.result(f"[green]restored backup {result.restored.id}[/]" + (" (Postgres and Redis)" if result.redis else
                   " (Postgres)") + f"; the data before it is in backup {result.safety.id}")
