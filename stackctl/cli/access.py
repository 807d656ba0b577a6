"""Getting into the stack: exec, psql, redis-cli, config."""

from __future__ import annotations

import sys

import click

from stackctl.cli import output, render
from stackctl.cli.app import App, complete_services, json_option, pass_app

PASS_THROUGH = {"ignore_unknown_options": True, "allow_interspersed_args": False}


def _finish(app: App, result) -> None:
    output.finish(app, result, render.nothing)
    if result.exit_code:
        sys.exit(result.exit_code)


@click.command("exec", context_settings=PASS_THROUGH)
@click.option("-u", "--user", metavar="USER[:GROUP]", help="Run as this user, as docker compose exec -u.")
@click.option("-e", "variables", multiple=True, metavar="NAME[=VALUE]",
              help="Set a variable in the container (repeatable), as docker compose exec -e. The stack's "
              "environment is chosen before the command: stackctl --env staging exec ...")
@click.option("-w", "--workdir", metavar="DIR", help="Working directory inside the container.")
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="No pseudo-terminal (default: one when attached to one).")
@click.argument("service", shell_complete=complete_services)
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@json_option
@pass_app
def exec_(app: App, user: str | None, variables: tuple[str, ...], workdir: str | None, no_tty: bool, service: str,
          command: tuple[str, ...]) -> None:
    """Run COMMAND (default: a shell) in SERVICE's running container; exits with its code."""
    from stackctl.access import ExecOptions, run_in

    options = ExecOptions(user, variables, workdir, no_tty)
    _finish(app, run_in(app.stack(), service, list(command), capture=app.json, options=options))


@click.command(context_settings=PASS_THROUGH)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@json_option
@pass_app
def psql(app: App, args: tuple[str, ...]) -> None:
    """psql in the database service as its own user (e.g. stackctl psql -c 'SELECT 1')."""
    from stackctl.access import psql as run_psql

    _finish(app, run_psql(app.stack(), list(args), capture=app.json))


@click.command("redis-cli", context_settings=PASS_THROUGH)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
@json_option
@pass_app
def redis_cli(app: App, args: tuple[str, ...]) -> None:
    """redis-cli in the cache service, authenticated (the password never in argv)."""
    from stackctl.access import redis_cli as run_redis_cli

    _finish(app, run_redis_cli(app.stack(), list(args), capture=app.json))


@click.command()
@click.option("--replicas", multiple=True, metavar="APP=N", help="With --target swarm: as for up.")
@json_option
@pass_app
def config(app: App, replicas: tuple[str, ...]) -> None:
    """The merged compose model stackctl runs (your files, the overlay, the env), secrets masked.
    With --target swarm: the stack file `up` deploys."""
    from stackctl.cli.swarm import parse_replicas

    stack = app.stack()
    model, notes = stack.target.config(stack, parse_replicas(replicas))
    output.finish(app, model, render.compose_model)
    if not app.json:
        for note in notes:
            app.console().info(f"· {note}")


COMMANDS = (exec_, psql, redis_cli, config)
