"""Where off-site copies go, chosen in one place: a restic repository (STACKCTL_BACKUP_RESTIC_
REPOSITORY: encrypted and authenticated, stackctl.backup.restic) or an SFTP folder of plain copies
(STACKCTL_BACKUP_REMOTE, stackctl.backup.remote). New copies go to restic when it is configured;
sets copied to the SFTP folder before stay listed and restorable from there."""

from __future__ import annotations

from pathlib import Path

from stackctl.backup import remote, restic, sets
from stackctl.errors import EXIT_USAGE, StackError


def _destinations(stack) -> list:
    found = ([restic] if restic.configured(stack) else []) + ([remote] if stack.settings.backup_remote else [])
    if not found:
        raise StackError("no off-site destination is configured",
                         "set STACKCTL_BACKUP_RESTIC_REPOSITORY (restic: encrypted) or STACKCTL_BACKUP_REMOTE "
                         "(sftp://user@host/folder) in your env file", EXIT_USAGE)
    return found


def where(stack) -> str:
    return " or ".join(f"restic {stack.settings.backup_restic_repository}" if d is restic else str(remote.configured(stack))
                       for d in _destinations(stack))


def push(stack, backup_set: sets.BackupSet, report=None):
    """The set to the first destination configured; `report` is told the bytes as they go."""
    from stackctl.report import SILENT

    return _destinations(stack)[0].push(stack, backup_set, report or SILENT)


def listing(stack) -> remote.RemoteList:
    found = [(d, d.listing(stack)) for d in _destinations(stack)]
    if len(found) == 1:
        return found[0][1]
    return remote.RemoteList("; ".join(listed.remote for _, listed in found),
                             tuple({**b, "where": listed.remote} for _, listed in found for b in listed.backups))


def _first(stack, act):
    """`act` on each destination in turn: the first that has the set answers."""
    missing = None
    for destination in _destinations(stack):
        try:
            return act(destination)
        except StackError as exc:
            if not exc.message.startswith("no off-site backup"):
                raise
            missing = missing or exc
    raise missing


def peek(stack, backup_id: str) -> sets.BackupSet:
    return _first(stack, lambda d: d.peek(stack, backup_id))


def fetch(stack, backup_id: str, local_folder: Path) -> sets.BackupSet:
    return _first(stack, lambda d: d.fetch(stack, backup_id, local_folder))


def check(stack, read_data: bool = False) -> restic.Checked:
    if not restic.configured(stack):
        raise StackError("checking off-site copies needs a restic repository",
                         "set STACKCTL_BACKUP_RESTIC_REPOSITORY (an SFTP folder's copies are checked against their "
                         "checksums at every push and fetch)", EXIT_USAGE)
    return restic.check(stack, read_data)
