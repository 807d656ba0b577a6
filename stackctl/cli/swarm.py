"""The verbs with `--target swarm`: the same commands, dispatched to stackctl.swarm. The rest say
so in one line rather than act on the wrong engine."""

from __future__ import annotations

import sys

from stackctl.cli import output, render
from stackctl.cli.app import App
from stackctl.errors import EXIT_UNHEALTHY, EXIT_USAGE, StackError

# backup and restore reach the database and cache through their task containers on this engine's
# node (the data node unless another carries the label); backups lists and checks sets on disk.
SUPPORTED = ("check", "up", "status", "down", "logs", "config", "backup", "backups", "restore", "rollback")


def check_supported(command: str | None) -> None:
    if command and command not in SUPPORTED:
        raise StackError(f"stackctl {command} does not work with --target swarm yet (swarm: {', '.join(SUPPORTED)})",
                         f"run it without --target swarm, or use docker service / docker stack for {command}",
                         EXIT_USAGE)


def parse_replicas(values: tuple[str, ...]) -> dict[str, int]:
    replicas = {}
    for value in values:
        name, sep, count = value.partition("=")
        if not sep or not name or not count.isdigit() or int(count) < 1:
            raise StackError(f"--replicas {value}: expected SERVICE=COUNT with COUNT 1 or more",
                             "e.g. stackctl --target swarm up --replicas api=3", EXIT_USAGE)
        replicas[name] = int(count)
    return replicas


def up(app: App, replicas: tuple[str, ...], build: str, timeout: float | None, check: bool) -> None:
    import threading

    from stackctl.cli.progress import make_progress, shown
    from stackctl.swarm.deploy import up as swarm_up

    stack = app.stack()
    asked = parse_replicas(replicas)
    progress = make_progress(app.console())
    cancel = threading.Event()
    with shown(app, progress, cancel):
        result = swarm_up(stack, replicas=asked, build=build, timeout=timeout, report=progress, cancel=cancel,
                          check=check)
    output.finish(app, result, render.swarm_up)


def status(app: App) -> None:
    from stackctl.swarm.status import status as swarm_status

    report = swarm_status(app.stack())
    output.finish(app, report, render.swarm_status, ok=report.healthy)
    if not report.healthy:
        sys.exit(EXIT_UNHEALTHY)


def down(app: App, volumes: bool) -> None:
    from stackctl.cli.progress import make_progress
    from stackctl.swarm.down import down as swarm_down

    progress = make_progress(app.console())
    try:
        result = swarm_down(app.stack(), volumes=volumes, report=progress)
    finally:
        progress.close()
    output.finish(app, result, render.swarm_down)


def rollback(app: App, release: str | None, timeout: float | None) -> None:
    from stackctl.cli.progress import make_progress
    from stackctl.swarm.rollback import rollback as swarm_rollback

    if release:
        raise StackError("on a swarm, rollback returns to the version before the last up; it takes no RELEASE",
                         "stackctl --target swarm rollback", EXIT_USAGE)
    progress = make_progress(app.console())
    try:
        result = swarm_rollback(app.stack(), report=progress, timeout=timeout)
    finally:
        progress.close()
    output.finish(app, result, render.swarm_rollback)


def logs(app: App, services: list[str], **options):
    from stackctl.swarm.logs import logs as swarm_logs

    return swarm_logs(app.stack(), services, **options)


def config(app: App, replicas: tuple[str, ...]) -> None:
    """The stack file `up` deploys (every wave), secrets masked."""
    from stackctl import masking
    from stackctl.access import compose_model, ComposeModel
    from stackctl.swarm.deploy import choose_replicas, pinned_images, render_file
    from stackctl.swarm.stackfile import SwarmChoices
    from stackctl.swarm.secrets import external, of_stack, versioned_name

    stack = app.stack()
    compose_model(stack)  # registers every secret-looking value for masking
    choices = SwarmChoices(replicas=choose_replicas(stack, parse_replicas(replicas)),
                           secrets={**external(stack.config),
                                    **{k: versioned_name(stack.name, k, v) for k, v in of_stack(stack).items()}},
                           run="(each up)", images=pinned_images(stack, tag=False))
    document, notes = render_file(stack, choices)
    output.finish(app, ComposeModel(masking.mask_data(document)), render.compose_model)
    if not app.json:
        for note in notes:
            app.console().info(f"· {note}")
