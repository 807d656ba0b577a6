"""The command line: parse and validate, call one core function, render. Nothing else.

Heavy libraries are imported inside the commands that need them, so --help stays fast.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click

from stackctl import __version__
from stackctl.errors import EXIT_INTERRUPTED, EXIT_UNHEALTHY, EXIT_USAGE, StackError


@dataclass
class App:
    env: str
    project_dir: Path | None
    debug: bool
    quiet: bool
    files: tuple[str, ...] = ()
    project_name: str | None = None
    profiles: tuple[str, ...] = ()
    prod_file: str | None = None

    def console(self, json_output: bool = False):
        from stackctl.console import Console

        return Console(json_output=json_output, quiet=self.quiet, debug=self.debug)

    def project(self, env: str | None = None, host: str | None = None):
        from stackctl.project import open_project

        return open_project(self.project_dir, env or self.env, self.files, self.project_name, self.profiles,
                            self.prod_file, host)

    def stack(self, env: str | None = None, host: str | None = None):
        from stackctl.stack import Stack

        return Stack(self.project(env, host))


pass_app = click.make_pass_decorator(App)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "-V", "--version", prog_name="stackctl")
@click.option("--env", "env", envvar=["STACKCTL_ENV", "STACK_ENV"], default="development", show_default=True,
              help="development (.env), production (.env.production + the production overlay), or any NAME (.env.NAME).")
@click.option("-f", "--file", "files", multiple=True, help="Compose file (repeatable), as for docker compose. "
              "Default: COMPOSE_FILE, else compose.yaml / docker-compose.yml found from the current directory.")
@click.option("-p", "--project-name", envvar="COMPOSE_PROJECT_NAME", help="Compose project name.")
@click.option("--profile", "profiles", multiple=True, help="Compose profile to enable (repeatable; or COMPOSE_PROFILES).")
@click.option("--prod-file", envvar="STACKCTL_PROD_FILE",
              help="The production overlay. Default: compose.prod.yaml / docker-compose.prod.yml beside the compose file.")
@click.option("--project-dir", type=click.Path(file_okay=False, path_type=Path), envvar="STACKCTL_PROJECT_DIR",
              help="The project folder (holds the compose file, stackctl.yaml, .env). Default: found from here.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and results.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, env: str, files: tuple[str, ...], project_name: str | None, profiles: tuple[str, ...],
        prod_file: str | None, project_dir: Path | None, quiet: bool, debug: bool) -> None:
    """Take your docker compose web stack from a laptop to a production host."""
    ctx.obj = App(env=env, project_dir=project_dir, debug=debug, quiet=quiet, files=files,
                  project_name=project_name, profiles=profiles, prod_file=prod_file)


@cli.command()
@click.option("--json", "json_output", is_flag=True, help="Machine-readable result.")
@pass_app
def check(app: App, json_output: bool) -> None:
    """Check the engine, compose, settings, ports, memory and disk; list every problem."""
    from stackctl.cli.render import check_table
    from stackctl.preflight import run_checks

    console = app.console(json_output)
    stack = app.stack()
    report = run_checks(stack)
    if json_output:
        console.emit_json(report.to_dict())
    else:
        console.result(check_table(report))
    if not report.ok:
        sys.exit(EXIT_USAGE)


@cli.command()
@click.argument("services", nargs=-1)
@click.option("--build/--no-build", "build", default=None,
              help="Always rebuild images / never build. Default: build when sources changed.")
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds each service may take to get healthy.")
@click.option("--skip-check", is_flag=True, help="Do not run `stackctl check` first.")
@click.option("--json", "json_output", is_flag=True, help="Machine-readable result.")
@pass_app
def up(app: App, services: tuple[str, ...], build: bool | None, timeout: float | None, skip_check: bool,
       json_output: bool) -> None:
    """Build, start in dependency order gated on health, run migrations, verify endpoints."""
    import threading

    from stackctl.cli.progress import make_progress
    from stackctl.cli.render import check_table, up_summary
    from stackctl.up import PreflightFailed
    from stackctl.up import up as run_up

    console = app.console(json_output)
    stack = app.stack()
    mode = {None: "auto", True: "always", False: "never"}[build]
    progress = make_progress(console)
    cancel = threading.Event()
    try:
        result = run_up(stack, list(services) or None, build=mode, timeout=timeout, progress=progress,
                        cancel=cancel, check=not skip_check)
    except PreflightFailed as exc:
        progress.close()
        if not json_output:
            console.err.print(check_table(exc.report))
        raise
    except BaseException:
        cancel.set()
        progress.close()
        raise
    progress.close()
    if json_output:
        console.emit_json({
            "ok": result.ok, "elapsed_seconds": round(result.elapsed, 2), "built": list(result.built),
            "services": [{"name": s.service, "action": s.action, "outcome": s.outcome,
                          "seconds": round(s.elapsed, 2)} for s in result.services],
            "endpoints": [e.to_dict() for e in result.endpoints],
            "urls": dict(result.urls),
        })
    else:
        console.result(up_summary(result))


@cli.command()
@click.option("--json", "json_output", is_flag=True, help="Stable JSON (schema 1).")
@click.option("--no-stats", is_flag=True, help="Skip CPU/memory sampling (faster).")
@pass_app
def status(app: App, json_output: bool, no_stats: bool) -> None:
    """Per service state, health, uptime, ports, CPU and memory; endpoint checks. Exit 3 if unhealthy."""
    from stackctl.cli.render import endpoint_table, status_table
    from stackctl.status import status as run_status

    console = app.console(json_output)
    report = run_status(app.stack(), stats=not no_stats)
    if json_output:
        console.emit_json(report.to_dict())
    else:
        console.result(status_table(report))
        if report.endpoints:
            console.result(endpoint_table(report.endpoints))
    if not report.healthy:
        sys.exit(EXIT_UNHEALTHY)


@cli.command()
@click.argument("services", nargs=-1)
@click.option("-f", "--follow", is_flag=True, help="Keep streaming new lines.")
@click.option("-n", "--tail", type=int, help="Lines from the end of each service's log.")
@click.option("--since", help="Since a time (2026-01-02T13:23:37Z) or a duration (42m).")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@pass_app
def logs(app: App, services: tuple[str, ...], follow: bool, tail: int | None, since: str | None,
         timestamps: bool) -> None:
    """Show service logs (all services by default)."""
    from stackctl.lifecycle import logs as run_logs
    from stackctl.masking import mask

    out = sys.stdout
    for line in run_logs(app.stack(), list(services), follow=follow, tail=tail, since=since, timestamps=timestamps):
        out.write(mask(line))
        out.flush()


@cli.command()
@click.argument("services", nargs=-1)
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds each service may take to get healthy.")
@pass_app
def restart(app: App, services: tuple[str, ...], timeout: float | None) -> None:
    """Restart services in dependency order, each gated on health."""
    from stackctl.cli.progress import make_progress
    from stackctl.lifecycle import restart as run_restart

    console = app.console()
    progress = make_progress(console)
    try:
        outcomes = run_restart(app.stack(), list(services), timeout=timeout, progress=progress)
    finally:
        progress.close()
    console.result(f"[green]restarted {', '.join(o.service for o in outcomes)}[/]")


@cli.command()
@click.option("-v", "--volumes", is_flag=True, help="Also delete the data volumes (Postgres, Redis).")
@click.option("-y", "--yes", is_flag=True, help="Do not ask before deleting data.")
@pass_app
def down(app: App, volumes: bool, yes: bool) -> None:
    """Stop and remove the stack's containers; data volumes are kept unless --volumes."""
    from stackctl.lifecycle import down as run_down

    stack = app.stack()
    if volumes and not yes:
        if not sys.stdin.isatty():
            raise StackError("--volumes deletes the stack's data and needs confirmation",
                             "add --yes to confirm, or drop --volumes to keep the data", EXIT_USAGE)
        click.confirm(f"Delete all data volumes of stack '{stack.name}'? This cannot be undone", abort=True)
    run_down(stack, volumes=volumes)
    app.console().result(f"stack {stack.name} is down" + (" and its data deleted" if volumes else " (data kept)"))


def _register() -> None:
    from stackctl.cli import adopt, data, prod  # noqa: F401  (their commands attach to `cli`)


_register()


def interrupted() -> None:
    click.echo("interrupted: run stackctl up again to finish what was started, or stackctl down", err=True)
    sys.exit(EXIT_INTERRUPTED)


def main() -> None:
    debug = "--debug" in sys.argv
    try:
        cli.main(standalone_mode=False, prog_name="stackctl")
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort; a "no" at a confirmation prompt is an Abort too.
        if isinstance(exc.__cause__, KeyboardInterrupt):
            interrupted()
        click.echo("aborted: nothing was changed", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        interrupted()
    except StackError as exc:
        if debug:
            raise
        from stackctl.console import Console

        Console().error(exc)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # the OS (permissions, a full disk) or a bug: one line, never silence
        if debug:
            raise
        from stackctl.console import Console
        from stackctl.failures import translate

        failure = translate(exc, "stackctl " + " ".join(a for a in sys.argv[1:2] if not a.startswith("-")))
        Console().error(failure)
        sys.exit(failure.exit_code)
