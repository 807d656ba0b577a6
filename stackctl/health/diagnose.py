"""What a failing service's own log lines say, turned into the command that fixes it.

Only signatures that mean one thing are listed; anything else keeps the generic hint
(`stackctl logs SERVICE`).
"""

from __future__ import annotations

import re

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
