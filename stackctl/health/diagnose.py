"""What a failing service's own log lines say, turned into the command that fixes it.

Only signatures that mean one thing are listed; anything else keeps the generic hint
(`stackctl logs SERVICE`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stackctl.stack import Stack

# (role, pattern in the last log lines, what it means and what to run)
SIGNATURES = (
    ("database", re.compile(r'could not open file "global/pg_filenode\.map"|could not locate a valid checkpoint record'
                            r'|invalid primary checkpoint record'),
     "its data volume was left half-initialised (a first start was interrupted): delete it and start again "
     "with stackctl down --volumes --yes && stackctl up (this deletes the database's data; restore a backup after)"),
    ("database", re.compile(r"database files are incompatible with server"),
     "its data volume was made by another PostgreSQL major version: run that version's image, or back up, "
     "delete the volume (stackctl down --volumes --yes) and restore"),
)


def hint(role: str, logs: str) -> str | None:
    for wanted, pattern, advice in SIGNATURES:
        if wanted == role and pattern.search(logs):
            return advice
    return None


LOG_LINES = 30


def failure_details(stack: Stack, name: str, container_id: str | None) -> str:
    parts = []
    if container_id:
        info = stack.engine.inspect(container_id)
        if info is not None and info.last_health_output:
            output = "\n".join(info.last_health_output.splitlines()[-5:])
            parts.append(f"last health check output of {name}:\n{output}")
        logs = stack.engine.logs_tail(container_id, LOG_LINES).rstrip()
        parts.append(f"last {LOG_LINES} log lines of {name}:\n{logs or '(no output)'}")
    return "\n".join(parts)
