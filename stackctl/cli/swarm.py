"""What the command line gives a swarm: --replicas APP=N parsed (the target itself is chosen in
stackctl.targets), and the commands a swarm does not take, refused in one line rather than run
on the wrong engine."""

from __future__ import annotations

from stackctl.errors import EXIT_USAGE, StackError


def check_supported(target, command: str | None) -> None:
    if command and target.supported is not None and command not in target.supported:
        raise StackError(f"stackctl {command} does not work with --target {target.name} yet ({target.name}: "
                         f"{', '.join(target.supported)})",
                         f"run it without --target {target.name}, or use docker service / docker stack for {command}",
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
