"""`stackctl migrate`: the migrate role's service (its own command: `npm run migration:run`,
`alembic upgrade head`, ...) in a one-off container on the stack's network, output streamed.
Concurrent runs apply once when the migration tool locks (the reference API's env.py holds a
Postgres advisory lock; TypeORM and node-pg-migrate lock too)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

from stackctl.errors import EXIT_FAILED, EXIT_USAGE, StackError
from stackctl.report import SILENT, Reporter
from stackctl.results import Migrated, MigrationStatus
from stackctl.stack import Stack

# alembic history --indicate-current:  "0001 -> 0002 (head) (current), Reference data..."
HISTORY_LINE = re.compile(r"^(?P<down>\S+) -> (?P<rev>\w+)(?P<flags>(?: \((?:head|current|branchpoint|mergepoint)\))*), ?(?P<doc>.*)$")


def oneshot_service(stack: Stack) -> str:
    return stack.role("migrate", "a one-shot service that runs the migrations")


def _require_db(stack: Stack, service: str) -> None:
    containers = stack.containers()
    for dep in stack.model.services[service].needs:
        info = containers.get(dep)
        if info is None or info.state != "running":
            raise StackError(f"{dep} is not running, migrations need it", f"start it: stackctl up {dep}", EXIT_USAGE)


def migrate(stack: Stack, report: Reporter = SILENT, command: str | None = None) -> Migrated:
    """`stackctl migrate` under the stack's lock: one command at a time changes a stack."""
    with stack.locked("migrate"):
        return _migrate(stack, report, command)


def _migrate(stack: Stack, report: Reporter, command: str | None = None) -> Migrated:
    service = oneshot_service(stack)
    _require_db(stack, service)
    argv = shlex.split(command) if command else []  # none: the service's own command
    said: list[str] = []
    try:
        for line in stack.compose.run(service, argv):
            said.append(line.rstrip("\n"))
            if line.strip():
                report.note(line.rstrip())
        return Migrated(service, tuple(said))
    except StackError as exc:
        raise StackError(f"migration failed: {exc.message.removeprefix('docker compose run ' + service + ' failed: ')}",
                         "fix the migration, then stackctl migrate; the running API was not touched",
                         EXIT_FAILED, details=exc.details) from None


@dataclass(frozen=True)
class Migration:
    revision: str
    description: str
    applied: bool
    head: bool


def parse_history(text: str) -> list[Migration] | None:
    """Oldest first; None when the output is not alembic's history format."""
    rows = []
    for line in text.splitlines():
        match = HISTORY_LINE.match(line.strip())
        if match:
            rows.append(match)
        elif line.strip() and not line.startswith(("INFO", "WARN")):
            return None
    if not rows:
        return None
    rows.reverse()  # alembic lists newest first
    current = max((i for i, m in enumerate(rows) if "(current)" in m["flags"]), default=-1)
    return [Migration(m["rev"], m["doc"].strip(), i <= current, "(head)" in m["flags"]) for i, m in enumerate(rows)]


def status(stack: Stack) -> MigrationStatus:
    service = oneshot_service(stack)
    if not stack.model.migrate_status:
        raise StackError("no command lists this stack's migrations",
                         "set migrate.status_command in stackctl.yaml (e.g. npm run typeorm migration:show)", EXIT_USAGE)
    _require_db(stack, service)
    text = "".join(stack.compose.run(service, shlex.split(stack.model.migrate_status)))
    rows = parse_history(text)
    return MigrationStatus(tuple(rows) if rows is not None else None, text)
