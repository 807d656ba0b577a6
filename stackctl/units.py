"""Lines that root's systemd and cron run: quoted for each, hardened, and refused when they could
not be written safely.

systemd reads `%` as a specifier and `$` as a variable in ExecStart=, and splits words itself:
every argument is double-quoted with `\\`, `"`, `%` and `$` escaped. cron reads `%` as a newline:
it is escaped. A newline or another control character in a path would write a line of its own
into a file root runs: refused. And a unit run as root must not run a program that other users
can change: the stackctl it names, and the folders above it, must be writable by their owner only.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

from stackctl.errors import EXIT_USAGE, StackError

HARDENING = ("NoNewPrivileges=yes", "ProtectSystem=full", "PrivateTmp=yes", "ProtectKernelTunables=yes",
             "ProtectKernelModules=yes", "ProtectControlGroups=yes", "RestrictSUIDSGID=yes", "LockPersonality=yes")


def _refuse_control(value: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise StackError(f"{value!r} holds a newline or another control character: it cannot go into a unit or a "
                         "cron line root runs", "move the project to a path without one", EXIT_USAGE)
    return value


def systemd_word(word: str) -> str:
    _refuse_control(word)
    escaped = word.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def systemd_path(path: Path) -> str:
    """A path for WorkingDirectory= (no quoting there: `%` escaped, control characters refused)."""
    return _refuse_control(str(path)).replace("%", "%%")


def exec_start(argv: list[str]) -> str:
    return " ".join(systemd_word(a) for a in argv)


def cron_command(argv: list[str], log: Path) -> str:
    for word in [*argv, str(log)]:
        _refuse_control(word)
    line = f"umask 077; {shlex.join(argv)} >> {shlex.quote(str(log))} 2>&1"  # its log: owner-only
    return line.replace("%", "\\%")


def service_section(working_directory: Path, argv: list[str], *extra: str) -> str:
    lines = ["[Service]", *extra, f"WorkingDirectory={systemd_path(working_directory)}", f"ExecStart={exec_start(argv)}",
             *HARDENING]
    return "\n".join(lines) + "\n"


def only_root_can_change(executable: str) -> None:
    """A program root will run from a unit: it and every folder above it writable by root alone."""
    if os.geteuid() != 0:
        return  # the unit runs as the user who installs it: nothing is raised
    path = Path(executable).resolve()
    for part in [path, *path.parents]:
        try:
            info = part.stat()
        except OSError:
            continue
        if info.st_uid != 0 or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not info.st_mode & stat.S_ISVTX:
            raise StackError(f"the stackctl a root unit would run ({path}) can be changed by another user: {part} is "
                             f"{'owned by uid ' + str(info.st_uid) if info.st_uid else 'writable by others'}",
                             "install stackctl where only root can write (pipx as root, or chown -R root and "
                             "chmod go-w), then run this again", EXIT_USAGE)
