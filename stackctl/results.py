"""Frozen results of the data, production and adopt commands: what the CLI renders for people
and what `--json` carries (stackctl.cli.output). The lifecycle's own results live beside their
code (UpResult, StatusReport, CheckReport, Restarted, Down, LogLines)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Migrated:
    service: str
    output: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"service": self.service, "output": list(self.output)}


@dataclass(frozen=True)
class MigrationStatus:
    migrations: tuple[Any, ...] | None  # stackctl.migrate.Migration, oldest first; None: the tool's own text
    raw: str

    def to_dict(self) -> dict:
        if self.migrations is None:
            return {"migrations": None, "output": self.raw}
        return {"migrations": [{"revision": m.revision, "description": m.description, "applied": m.applied,
                                "head": m.head} for m in self.migrations],
                "applied": sum(m.applied for m in self.migrations),
                "pending": sum(not m.applied for m in self.migrations)}


@dataclass(frozen=True)
class BackupMade:
    backup: Any  # stackctl.backup.sets.BackupSet
    verified: bool
    pruned: tuple[str, ...]
    pushed: Any = None  # stackctl.backup.remote.Pushed, with --push

    @property
    def empty(self) -> bool:
        """No row in any table of any database: said loudly (an app writing elsewhere?)."""
        return self.backup.rows == 0

    def to_dict(self) -> dict:
        b = self.backup
        db, cache = b.database, b.cache
        return {**b.to_dict(), "restore_tested": self.verified, "pruned": list(self.pruned),
                "pushed": self.pushed.to_dict() if self.pushed else None, "empty": self.empty,
                "database": {"kind": db["kind"], "server_version": db["server_version"],
                             "databases": {d["name"]: {"tables": len(d.get("tables", {})),
                                                       "rows": sum(d.get("tables", {}).values())}
                                           for d in b.databases()},
                             "roles": bool(db.get("globals"))},
                "cache": {"kind": cache["kind"], "version": cache.get("version"), "keys": cache.get("keys")}
                if cache else None}


@dataclass(frozen=True)
class BackupList:
    folder: Path
    backups: tuple[Any, ...]  # BackupSet, newest first
    incomplete: tuple[Path, ...]

    def to_dict(self) -> dict:
        return {"folder": str(self.folder), "backups": [b.to_dict() for b in self.backups],
                "incomplete": [str(p) for p in self.incomplete]}


@dataclass(frozen=True)
class Verified:
    backup_id: str
    tables: int
    rows: int

    def to_dict(self) -> dict:
        return {"id": self.backup_id, "checksums": True, "full_read": True, "restore_test": True,
                "tables": self.tables, "rows": self.rows}


@dataclass(frozen=True)
class ScheduleChange:
    installed: bool
    at: str | None
    paths: tuple[Path, ...]
    next_run: datetime | None = None

    def to_dict(self) -> dict:
        return {"installed": self.installed, "at": self.at, "paths": [str(p) for p in self.paths],
                "next_run": self.next_run.isoformat(timespec="minutes") if self.next_run else None}


@dataclass(frozen=True)
class CertMade:
    cert: Path
    key: Path
    expires: datetime

    def to_dict(self) -> dict:
        return {"cert": str(self.cert), "key": str(self.key), "expires": self.expires.isoformat(timespec="seconds")}


@dataclass(frozen=True)
class ReleaseList:
    current: str | None
    releases: tuple[dict, ...]  # release, current, commit, deployed_by, deployed_at; newest first

    def to_dict(self) -> dict:
        return {"current": self.current, "releases": list(self.releases)}


@dataclass(frozen=True)
class AuditLog:
    entries: tuple[dict, ...]

    def to_dict(self) -> dict:
        return {"entries": list(self.entries)}


@dataclass(frozen=True)
class RolesWritten:
    path: Path
    text: str
    written: bool
    existing: bool  # a valid stackctl.yaml was there: nothing changed
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"path": str(self.path), "written": self.written, "existing": self.existing, "proposal": self.text,
                "notes": list(self.notes)}


@dataclass(frozen=True)
class Changed:
    """What stop, start and pull did, to which services."""

    action: str
    services: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"action": self.action, "services": list(self.services)}
