"""Data commands: migrate, backup (schedule), backups (verify), restore."""

from __future__ import annotations

import sys

import click

from stackctl.cli import output, render
from stackctl.cli.app import App, Commands, json_option, pass_app
from stackctl.errors import EXIT_USAGE, StackError


@click.command()
@click.option("--status", "show_status", is_flag=True, help="List applied and pending migrations.")
@json_option
@pass_app
def migrate(app: App, show_status: bool) -> None:
    """Run your migrations service's command in a one-off container of its current image."""
    from stackctl import migrate as migrations

    stack = app.stack()
    if show_status:
        output.finish(app, migrations.status(stack), render.migration_status)
        return
    from stackctl.cli.progress import make_progress

    progress = make_progress(app.console())
    try:
        result = migrations.migrate(stack, progress)
    finally:
        progress.close()
    output.finish(app, result, render.migrated)


@click.group(cls=Commands, invoke_without_command=True)
@click.option("--verify", is_flag=True, help="Then restore the set into scratch databases and compare the rows "
              "of every table: what stackctl backups verify does.")
@click.option("--no-redis", is_flag=True, help="The databases only, not the cache.")
@click.option("--kind", type=click.Choice(["manual", "scheduled"]), default="manual", hidden=True)
@click.option("--dry-run", is_flag=True, help="Print the steps the backup would take now, and take none.")
@click.option("--push", is_flag=True, help="Then copy it off-site and check it there: what stackctl backups push "
              "does (STACKCTL_BACKUP_RESTIC_REPOSITORY, or STACKCTL_BACKUP_REMOTE).")
@json_option
@click.pass_context
def backup(ctx: click.Context, verify: bool, no_redis: bool, kind: str, dry_run: bool, push: bool) -> None:
    """Back up every database and the cache into one checked, timestamped set."""
    if ctx.invoked_subcommand is not None:
        return
    from stackctl.backup.create import backup_and_prune, backup_plan

    app: App = ctx.obj
    stack = app.stack()
    if dry_run:
        output.finish(app, backup_plan(stack, include_redis=not no_redis, verify=verify), render.plan)
        return
    from stackctl.cli.progress import make_progress

    progress = make_progress(app.console())
    try:
        result = backup_and_prune(stack, include_redis=not no_redis, verify=verify, kind=kind, report=progress,
                                  push=push)
    finally:
        progress.close()
    output.finish(app, result, render.backup_made)


@click.command("schedule")
@click.option("--at", "at", metavar="HH:MM", help="Daily time, UTC (default: STACKCTL_BACKUP_SCHEDULE_AT, 03:00).")
@click.option("--remove", is_flag=True, help="Remove the schedule.")
@json_option
@pass_app
def backup_schedule(app: App, at: str | None, remove: bool) -> None:
    """Run `stackctl backup` daily (systemd timer, or /etc/cron.d)."""
    from stackctl.backup import schedule as sched

    output.finish(app, sched.change(app.stack(), at, remove), render.schedule_change)


@click.group(cls=Commands, invoke_without_command=True)
@click.option("--remote", is_flag=True, help="The sets off-site (restic, or an SFTP folder) instead.")
@json_option
@click.pass_context
def backups(ctx: click.Context, remote: bool) -> None:
    """List backup sets (time, size, verified?, age)."""
    if ctx.invoked_subcommand is not None:
        return
    app: App = ctx.obj
    if remote:
        from stackctl.backup.offsite import listing as remote_listing

        output.finish(app, remote_listing(app.stack()), render.remote_list)
        return
    from stackctl.backup.create import listing

    output.finish(app, listing(app.stack()), render.backup_list)


@click.command("push")
@click.argument("backup_id")
@json_option
@pass_app
def backups_push(app: App, backup_id: str) -> None:
    """Copy a set off-site (restic, or an SFTP folder), read it back there, then apply retention there."""
    from stackctl.backup import sets
    from stackctl.backup.offsite import push
    from stackctl.backup.sets import backup_path

    from stackctl.cli.progress import progress_of

    stack = app.stack()
    with progress_of(app) as progress:
        pushed = push(stack, sets.find_set(backup_path(stack), backup_id), progress)
    output.finish(app, pushed, render.pushed)


@click.command("check")
@click.option("--read-data", is_flag=True, help="Read and authenticate every pack of data (slow: all of it travels).")
@json_option
@pass_app
def backups_check(app: App, read_data: bool) -> None:
    """Check the off-site restic repository (restic check): its structure, and with --read-data its data."""
    from stackctl.backup.offsite import check

    output.finish(app, check(app.stack(), read_data), render.remote_checked)


@click.command("verify")
@click.argument("backup_id")
@click.option("--accept-unauthenticated-set", "accept_unauthenticated", is_flag=True,
              help="Check a set this host's backup key does not authenticate (made elsewhere, or before sets were "
                   "authenticated).")
@json_option
@pass_app
def backups_verify(app: App, backup_id: str, accept_unauthenticated: bool) -> None:
    """Its MAC, checksums, a full read, and a restore into a scratch server compared with the manifest."""
    from stackctl.backup.verify import verify_set

    output.finish(app, verify_set(app.stack(), backup_id, accept_unauthenticated), render.verified)


@click.command()
@click.argument("backup_id")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@click.option("--no-redis", is_flag=True, help="Restore the databases only; the cache is left as it is.")
@click.option("--database", "database", metavar="NAME",
              help="Restore only this database of the set (the cache and the other databases are left as they are).")
@click.option("--dry-run", is_flag=True, help="Print the steps the restore would take now, and take none.")
@click.option("--from-remote", is_flag=True, help="Fetch the set from off-site first (checked before use).")
@click.option("--accept-unauthenticated-set", "accept_unauthenticated", is_flag=True,
              help="Restore a set this host's backup key does not authenticate: its contents run as SQL on your "
                   "server, so only a set you trust.")
@click.option("--accept-other-stack", "accept_other_stack", is_flag=True,
              help="Restore a set made for another stack or environment into this one.")
@click.option("--restart", is_flag=True,
              help="Stop the services and start them through up (migrations, new processes) even when the set has "
                   "the schema they run with (then they are only paused around the swap).")
@json_option
@pass_app
def restore(app: App, backup_id: str, yes: bool, no_redis: bool, database: str | None, dry_run: bool,
            from_remote: bool, accept_unauthenticated: bool, accept_other_stack: bool, restart: bool) -> None:
    """Restore a backup (ID or path); on any failure the data is left as it was."""
    from stackctl.backup.restore import Accepting, restore_plan
    from stackctl.backup.restore import restore as run_restore
    from stackctl.cli.progress import make_progress

    stack = app.stack()
    if dry_run:  # off-site too, nothing is fetched: the plan comes from the set's checked manifest
        output.finish(app, restore_plan(stack, backup_id, include_redis=not no_redis, from_remote=from_remote,
                                        database=database), render.plan)
        return
    if not yes:
        if not sys.stdin.isatty():
            raise StackError("restore replaces the stack's data and needs confirmation", "add --yes", EXIT_USAGE)
        click.confirm(f"Replace the data of stack '{stack.name}' with backup {backup_id}?", abort=True)
    if from_remote:
        from stackctl.backup.offsite import fetch
        from stackctl.backup.sets import backup_path

        backup_id = fetch(stack, backup_id, backup_path(stack)).id
    progress = make_progress(app.console())
    try:
        result = run_restore(stack, backup_id, include_redis=not no_redis, database=database,
                             accepting=Accepting(accept_unauthenticated, accept_other_stack), report=progress,
                             restart=restart)
    finally:
        progress.close()
    output.finish(app, result, render.restored)


backup.add_command(backup_schedule)
backups.add_command(backups_verify)
backups.add_command(backups_push)
backups.add_command(backups_check)
COMMANDS = (migrate, backup, backups, restore)
