"""The command line: parse and validate, call one core function, render its result. Nothing else.

The verbs live in one module per group (lifecycle, access, data, production, adopt) and are added to
the group here, explicitly; importing a module registers nothing. Heavy libraries are imported
inside the commands that need them, so --help stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from stackctl.cli import output
from stackctl.targets import onehost as _onehost, swarm as _swarm  # noqa: F401  (the targets this CLI knows: each registers itself)
from stackctl.cli.app import Aliased, App, Commands
from stackctl.errors import EXIT_INTERRUPTED, StackError


def show_versions(ctx: click.Context, _param, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    import os

    from stackctl.versions import versions

    for name, said in versions(os.environ.get("DOCKER_HOST") or None):
        click.echo(f"{name + ':':9} {said}")
    ctx.exit()


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("-V", "--version", is_flag=True, expose_value=False, is_eager=True, callback=show_versions,
              help="stackctl's version, and the engine's and compose's it would use.")
@click.option("--env", "env", envvar=["STACKCTL_ENV", "STACK_ENV"], default="development", show_default=True,
              help="development (.env), production (.env.production + the production overlay), or any NAME (.env.NAME).")
@click.option("-f", "--file", "files", multiple=True, help="Compose file (repeatable), as for docker compose. "
              "Default: COMPOSE_FILE, else compose.yaml / docker-compose.yml found from the current directory.")
@click.option("-p", "--project-name", envvar="COMPOSE_PROJECT_NAME", help="Compose project name.")
@click.option("--profile", "profiles", multiple=True, help="Compose profile to enable (repeatable; or COMPOSE_PROFILES).")
@click.option("--prod-file", envvar="STACKCTL_PROD_FILE",
              help="The production overlay. Default: compose.prod.yaml / docker-compose.prod.yml beside the compose file.")
@click.option("--project-directory", "--project-dir", "project_dir", type=click.Path(file_okay=False, path_type=Path),
              envvar="STACKCTL_PROJECT_DIR", cls=Aliased, hidden=("--project-dir",),
              help="The project folder (holds the compose file, stackctl.yaml, .env). Default: found from here.")
@click.option("--env-file", "env_file", metavar="PATH",
              help="The env file to read instead of the environment's own (.env, .env.NAME), as docker compose "
              "--env-file.")
@click.option("-H", "--host", "host", envvar="DOCKER_HOST", metavar="ADDRESS",
              help="The Docker engine to use (ssh://user@host, tcp://, unix://), as docker -H. Default: DOCKER_HOST.")
@click.option("--target", type=click.Choice(["compose", "swarm"]), envvar="STACKCTL_TARGET", default="compose",
              show_default=True, help="compose: one host, as docker compose runs it. swarm: the same files as a "
              "swarm stack (run it on a manager).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and results.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
@click.pass_context
def cli(ctx: click.Context, env: str, files: tuple[str, ...], project_name: str | None, profiles: tuple[str, ...],
        prod_file: str | None, project_dir: Path | None, env_file: str | None, host: str | None, target: str,
        quiet: bool, debug: bool) -> None:
    """Take your docker compose web stack from a laptop to a production host.

    Global options may also come after the command (stackctl deploy --env staging)."""
    from stackctl import targets
    from stackctl.cli.swarm import check_supported

    ctx.obj = App(env=env, project_dir=project_dir, debug=debug, quiet=quiet, files=files,
                  project_name=project_name, profiles=profiles, prod_file=prod_file, target=target, host=host,
                  env_file=env_file)
    check_supported(targets.of(target), ctx.invoked_subcommand)


def register(group: click.Group) -> click.Group:
    from stackctl.cli import access, adopt, data, lifecycle, production, tooling

    for command in (*lifecycle.COMMANDS, *access.COMMANDS, *data.COMMANDS, *production.COMMANDS, *adopt.COMMANDS,
                    *tooling.COMMANDS):
        group.add_command(command)
    return group


register(cli)


def interrupted() -> None:
    click.echo("interrupted: run stackctl up again to finish what was started, or stackctl down", err=True)
    sys.exit(EXIT_INTERRUPTED)


def _as_interrupt(signum, _frame) -> None:
    """SIGTERM (a cancelled CI job, systemd) and SIGHUP (an ssh connection gone) end a command as
    Ctrl-C does: its undo runs, its lock is let go."""
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    import signal

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _as_interrupt)
    debug = "--debug" in sys.argv
    as_json = "--json" in sys.argv
    from stackctl.cli.hoist import hoist

    try:
        cli.main(args=hoist(sys.argv[1:], cli), standalone_mode=False, prog_name="stackctl")
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C into Abort; a "no" at a confirmation prompt is an Abort too.
        if isinstance(exc.__cause__, KeyboardInterrupt):
            interrupted()
        output.fail(StackError("aborted: nothing was changed"), as_json)
        sys.exit(1)
    except click.ClickException as exc:
        if as_json:
            output.write(output.envelope(output.command_name(), error=StackError(exc.format_message(), None,
                                                                                  exc.exit_code)))
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        interrupted()
    except StackError as exc:
        if debug:
            raise
        output.fail(exc, as_json)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # the OS (permissions, a full disk) or a bug: one line, never silence
        if debug:
            raise
        from stackctl.failures import translate

        failure = translate(exc, f"stackctl {output.command_name()}")
        output.fail(failure, as_json)
        sys.exit(failure.exit_code)
