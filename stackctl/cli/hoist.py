"""Global options work after the command too: `stackctl deploy --env staging` is read as
`stackctl --env staging deploy`, as users of git, docker and compose expect.

An option is moved in front of the command only when it is a global option that the command
does not define itself (`logs -f` follows, `certs self-signed --host` names the certificate), and
never from what a pass-through command hands on (`exec api sh -c ...`), nor after `--`.
"""

from __future__ import annotations

import click

WITH_VALUE = ("--env", "-f", "--file", "-p", "--project-name", "--profile", "--prod-file", "--project-dir", "--env-file",
              "--project-directory", "--target", "-H", "--host")
FLAGS = ("-q", "--quiet", "--debug")


def _own_options(command: click.Command) -> set[str]:
    found = set()
    for param in command.params:
        if isinstance(param, click.Option):
            found.update(param.opts)
            found.update(param.secondary_opts)
    return found


def hoist(args: list[str], group: click.Group) -> list[str]:
    """The arguments with every global option after the command moved before it."""
    before, i = [], 0
    while i < len(args) and args[i].startswith("-") and args[i] != "--":
        take = 2 if args[i] in WITH_VALUE else 1
        before += args[i:i + take]
        i += take
    path, command = [], group
    while i < len(args) and isinstance(command, click.Group) and args[i] in command.commands:
        command = command.commands[args[i]]
        path.append(args[i])
        i += 1
    own = _own_options(command)
    passes_through = bool(command.context_settings.get("ignore_unknown_options"))
    moved, rest, positional = [], [], False
    while i < len(args):
        token = args[i]
        name, eq, _value = token.partition("=")
        if token == "--" or (passes_through and positional):
            rest += args[i:]
            break
        if name in (*WITH_VALUE, *FLAGS) and name not in own:
            take = 2 if name in WITH_VALUE and not eq else 1
            moved += args[i:i + take]
            i += take
            continue
        positional = positional or not token.startswith("-")
        rest.append(token)
        i += 1
    return before + moved + path + rest
