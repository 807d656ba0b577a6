"""The stack's lifecycle: check, up, status, logs, restart, down."""

from __future__ import annotations

import sys

import click

from stackctl.cli import output, render
from stackctl.cli.app import Aliased, App, complete_services, json_option, pass_app
from stackctl.errors import EXIT_UNHEALTHY, EXIT_USAGE, StackError


@click.command()
@json_option
@pass_app
def check(app: App) -> None:
    """Check the engine, compose, settings, ports, memory and disk; list every problem.

    Exit 0 when all pass, 2 when one fails, 4 when no Docker engine answers."""
    from stackctl.preflight import run_checks

    report = run_checks(app.stack())
    output.finish(app, report, render.check_report, ok=report.ok)
    if not report.ok:
        sys.exit(report.exit_code)


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("--build/--no-build", "build", default=None,
              help="Always rebuild images / never build. Default: build when sources changed.")
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds each service may take to get healthy (default: STACKCTL_HEALTH_TIMEOUT, 120).")
@click.option("--skip-check", is_flag=True, help="Do not run `stackctl check` first.")
@click.option("-w", "--watch", is_flag=True,
              help="Then keep watching sources: sync, restart or rebuild on each change (develop.watch).")
@click.option("--replicas", multiple=True, metavar="APP=N",
              help="With --target swarm: how many tasks of an app service (repeatable; kept on later ups).")
@click.option("--dry-run", is_flag=True, help="Print the steps up would take now, and take none.")
@json_option
@pass_app
def up(app: App, services: tuple[str, ...], build: bool | None, timeout: float | None, skip_check: bool,
       watch: bool, replicas: tuple[str, ...], dry_run: bool) -> None:
    """Build, start in dependency order gated on health, run migrations, verify endpoints."""
    import threading

    from stackctl.cli.progress import make_progress, shown
    from stackctl.cli.swarm import parse_replicas

    mode = {None: "auto", True: "always", False: "never"}[build]
    stack = app.stack()
    target, asked = stack.target, parse_replicas(replicas)
    if watch and (app.json or target.name != "compose"):
        raise StackError("--watch is the dev loop on one host; it never ends (no --json)", "drop one of them",
                         EXIT_USAGE)
    if dry_run:
        output.finish(app, target.up_plan(stack, list(services) or None, asked), render.plan)
        return
    progress = make_progress(app.console())
    cancel = threading.Event()
    with shown(app, progress, cancel):
        result = target.up(stack, list(services) or None, replicas=asked, build=mode, timeout=timeout,
                           report=progress, cancel=cancel, check=not skip_check)
    output.finish(app, result, render.of(result))
    if watch:
        _dev_loop(app, stack, list(services), timeout)


def _dev_loop(app: App, stack, services: list[str], timeout: float | None) -> None:
    from stackctl import devloop
    from stackctl.cli.progress import PlainProgress
    from stackctl.plan import closure

    try:
        devloop.watch(stack, closure(stack.model, services or None), report=PlainProgress(app.console()),
                      timeout=timeout)
    except KeyboardInterrupt:
        app.console().info("· stopped watching; the stack keeps running")


@click.command()
@click.option("--no-stats", is_flag=True, help="Skip CPU/memory sampling (faster).")
@click.option("--follow", "-w", "--watch", "follow", is_flag=True, cls=Aliased, hidden=("-w", "--watch"), notice=True,
              help="Keep redrawing it every --interval seconds, until Ctrl-C.")
@click.option("--interval", type=click.FloatRange(min=0.5), default=2.0, show_default=True,
              help="Seconds between two looks with --follow.")
@json_option
@pass_app
def status(app: App, no_stats: bool, follow: bool, interval: float) -> None:
    """Per service state, health, uptime, ports, CPU and memory; endpoint checks. Exit 3 if unhealthy."""
    stack = app.stack()
    if follow:
        if app.json:
            raise StackError("--json gives one result and --follow never ends", "drop one of them", EXIT_USAGE)
        _follow(app, lambda: stack.target.status(stack, stats=not no_stats), interval)
        return
    report = stack.target.status(stack, stats=not no_stats)
    output.finish(app, report, render.of(report), ok=report.healthy)
    if not report.healthy:
        sys.exit(EXIT_UNHEALTHY)


def _follow(app: App, look, interval: float) -> None:
    """A table redrawn in place on a terminal (a new one each time elsewhere), until Ctrl-C."""
    import time
    from datetime import datetime

    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    from stackctl.cli.sparkline import History

    console = app.console()
    history = History()

    def frame():
        report = look()
        history.add(report)
        head = Text(f"{datetime.now():%H:%M:%S}  every {interval:g}s, Ctrl-C to stop", style="dim")
        return Group(head, render.status_table(report, history), render.endpoint_table(report.endpoints))

    try:
        if not console.out.is_terminal:
            while True:
                console.result(frame())
                time.sleep(interval)
        with Live(frame(), console=console.out, auto_refresh=False) as live:
            while True:
                time.sleep(interval)
                live.update(frame(), refresh=True)
    except KeyboardInterrupt:
        return


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("-f", "--follow", is_flag=True, help="Keep streaming new lines.")
@click.option("-n", "--tail", type=int, help="Lines from the end of each service's log.")
@click.option("--since", help="Since a time (2026-01-02T13:23:37Z) or a duration (42m).")
@click.option("--until", help="Before a time (2026-01-02T13:23:37Z) or a duration ago (42m).")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@json_option
@pass_app
def logs(app: App, services: tuple[str, ...], follow: bool, tail: int | None, since: str | None,
         until: str | None, timestamps: bool) -> None:
    """Show service logs (all services by default); secrets in them are masked."""
    from stackctl.lifecycle import LogLines
    from stackctl.masking import mask

    if app.json and follow:
        raise StackError("--json gives one result and --follow never ends", "drop one of them", EXIT_USAGE)
    stack = app.stack()
    lines = stack.target.logs(stack, list(services), follow=follow, tail=tail, since=since, timestamps=timestamps,
                              until=until)
    if app.json:
        output.finish(app, LogLines(tuple(mask(line).rstrip("\n") for line in lines)), render.nothing)
        return
    out = sys.stdout
    for line in lines:
        out.write(mask(line))
        out.flush()


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds each service may take to get healthy (default: STACKCTL_HEALTH_TIMEOUT, 120).")
@json_option
@pass_app
def restart(app: App, services: tuple[str, ...], timeout: float | None) -> None:
    """Restart services in dependency order, each gated on health."""
    from stackctl.cli.progress import make_progress
    from stackctl.lifecycle import restart as run_restart

    progress = make_progress(app.console())
    try:
        result = run_restart(app.stack(), list(services), timeout=timeout, report=progress)
    finally:
        progress.close()
    output.finish(app, result, render.restarted)


@click.command()
@click.option("-v", "--volumes", is_flag=True, help="Also delete the data volumes (your databases' and cache's data).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before deleting data.")
@json_option
@pass_app
def down(app: App, volumes: bool, yes: bool) -> None:
    """Stop and remove the stack's containers; data volumes are kept unless --volumes."""
    from stackctl.cli.progress import progress_of

    stack = app.stack()
    if volumes and not yes:
        if not sys.stdin.isatty():
            raise StackError("--volumes deletes the stack's data and needs confirmation",
                             "add --yes to confirm, or drop --volumes to keep the data", EXIT_USAGE)
        click.confirm(f"Delete all data volumes of stack '{stack.name}'? This cannot be undone", abort=True)
    with progress_of(app) as progress:
        result = stack.target.down(stack, volumes=volumes, report=progress)
    output.finish(app, result, render.of(result))


@click.command()
@json_option
@pass_app
def ps(app: App) -> None:
    """Each service's container and state as the engine knows it (fast: no probes, no stats)."""
    from stackctl.listing import ps as run_ps

    output.finish(app, run_ps(app.stack()), render.listing)


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@json_option
@pass_app
def stop(app: App, services: tuple[str, ...]) -> None:
    """Stop services (all by default); containers and data stay. stackctl start brings them back."""
    from stackctl.lifecycle import stop as run_stop

    output.finish(app, run_stop(app.stack(), list(services)), render.changed)


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds each service may take to get healthy (default: STACKCTL_HEALTH_TIMEOUT, 120).")
@json_option
@pass_app
def start(app: App, services: tuple[str, ...], timeout: float | None) -> None:
    """Start stopped services in dependency order, each gated on health (no build, no migrations)."""
    from stackctl.cli.progress import make_progress
    from stackctl.lifecycle import start as run_start

    progress = make_progress(app.console())
    try:
        result = run_start(app.stack(), list(services), timeout=timeout, report=progress)
    finally:
        progress.close()
    output.finish(app, result, render.changed)


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@json_option
@pass_app
def pull(app: App, services: tuple[str, ...]) -> None:
    """Pull the images of the services stackctl does not build (all by default)."""
    from stackctl.lifecycle import pull as run_pull

    output.finish(app, run_pull(app.stack(), list(services)), render.changed)


@click.command()
@click.argument("services", nargs=-1, shell_complete=complete_services)
@click.option("--push", is_flag=True, help="Build every image the stack builds as a new release (tagged with its "
              "id and the git commit) and push it to the registry (registry: in stackctl.yaml, or "
              "STACKCTL_REGISTRY); prints each image's digest. Deploy it anywhere with deploy --release ID.")
@json_option
@pass_app
def build(app: App, services: tuple[str, ...], push: bool) -> None:
    """Build the images of SERVICES (all that build by default), whether or not their sources changed."""
    from stackctl.build import build_now
    from stackctl.cli.progress import make_progress

    if push and services:
        raise StackError("build --push builds every image of the release", "drop the service names", EXIT_USAGE)
    progress = make_progress(app.console())
    try:
        if push:
            from stackctl import targets
            from stackctl.deploy.ship import build_and_push

            # as deploy reads the stack: one host's deployment environment, a swarm's as opened
            env = app.deployment_env() if targets.of(app.target).releases else None
            result = build_and_push(app.stack(env), report=progress)
        else:
            result = build_now(app.stack(), list(services), report=progress)
    finally:
        progress.close()
    output.finish(app, result, render.shipped if push else render.changed)


@click.command()
@json_option
@pass_app
def doctor(app: App) -> None:
    """Find what is wrong and how to fix it: most likely cause first, with its evidence.

    Exit 0 when nothing is, 3 when something is, 4 when no Docker engine answers."""
    from stackctl.doctor import diagnose

    result = diagnose(app.stack())
    output.finish(app, result, render.diagnosis, ok=result.ok)
    if not result.ok:
        sys.exit(result.exit_code)


@click.command("monitor")
@click.option("--interval", type=click.FloatRange(min=0.5), help="Seconds between health looks "
              "(default: STACKCTL_MONITOR_INTERVAL, 30).")
@click.option("--once", is_flag=True, help="Look once, alert, and exit (3 if anything is wrong): for cron.")
@click.option("--install", "install", flag_value="install", help="Keep it running: a systemd service, else a "
              "cron entry running --once every minute.")
@click.option("--uninstall", "install", flag_value="uninstall", help="Remove what --install installed.")
@json_option
@pass_app
def monitor(app: App, interval: float | None, once: bool, install: str | None) -> None:
    """Monitor health, 5xx, memory, disk and scheduled backups; alert once when something breaks, once when it
    recovers."""
    from stackctl.cli.progress import make_progress
    from stackctl.watch import watch as run_watch

    if install:
        from stackctl import watch_service

        output.finish(app, watch_service.change(app.stack(), install == "uninstall"), render.watch_service_change)
        return
    if app.json and not once:
        raise StackError("--json gives one result and monitor never ends", "add --once", EXIT_USAGE)
    stack = app.stack()
    s = stack.settings
    if not (s.alert_webhook or (s.alert_smtp and s.alert_email_to)):
        app.console().info("· no alert destination is set (STACKCTL_ALERT_WEBHOOK, STACKCTL_ALERT_SMTP): "
                           "alerts are only printed")
    progress = make_progress(app.console())
    try:
        incidents = run_watch(stack, interval=interval or s.monitor_interval,
                              resource_interval=s.monitor_resource_interval, rounds=1 if once else None,
                              report=progress)
    except KeyboardInterrupt:
        return
    finally:
        progress.close()
    output.finish(app, incidents, render.nothing, ok=not incidents.open)
    if incidents.open:
        sys.exit(EXIT_UNHEALTHY)


COMMANDS = (check, up, status, doctor, monitor, ps, logs, restart, stop, start, down, pull, build)
