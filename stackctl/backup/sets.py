"""Backup sets on disk: one folder per backup with a manifest; listing and retention.

A set is good only once its manifest exists under its final name: it is written under
`.partial-<id>` and renamed when complete and checked, so a crash leaves nothing listed.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from stackctl.errors import EXIT_USAGE, StackError

MANIFEST = "manifest.json"
PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
PARTIAL_PREFIX = ".partial-"
MANIFEST_LIMIT = 4 << 20  # far more than a manifest of thousands of tables
FORMAT = 2  # a whole database server (every database and its roles) and the cache
FORMATS = (1, 2)  # format 1: one Postgres database (POSTGRES_DB) and Redis; still restored
# What stackctl itself writes, and so all a set read back (from disk, off-site) may hold: an id is
# a UTC time and the name of its folder; a file is a plain name inside the set; a database name is
# any text a server accepts (it reaches SQL only quoted).
ID = re.compile(r"^\d{8}T\d{6}Z$")
PART_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,120}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
DATABASE_KINDS = ("postgres", "mariadb")  # stackctl.kinds.DATABASES, as data: a manifest names one
CACHE_KINDS = ("redis",)


def _name_ok(value) -> bool:
    return isinstance(value, str) and 0 < len(value.encode()) <= 63 and "\0" not in value


def _file_problems(meta, label: str, seen: set) -> list[str]:
    if not isinstance(meta, dict):
        return [f"its {label} entry is not an object"]
    problems = []
    name = meta.get("file")
    if not isinstance(name, str) or not PART_FILE.match(name) or name == MANIFEST or name in seen:
        problems.append(f"its manifest names {str(name)[:60]!r} for {label}, which is not a file inside the set")
    seen.add(name)
    size = meta.get("bytes")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        problems.append(f"its {label} size is not a number of bytes")
    if not isinstance(meta.get("sha256"), str) or not SHA256.match(meta["sha256"]):
        problems.append(f"its {label} checksum is not a sha256")
    tables = meta.get("tables", {})
    if not isinstance(tables, dict) or not all(isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
                                               for k, v in tables.items()):
        problems.append(f"its {label} row counts are not numbers per table")
    return problems


def _database_problems(database, seen: set) -> list[str]:
    if not isinstance(database, dict):
        return ["it holds no database dump"]
    problems = []
    if database.get("kind") not in DATABASE_KINDS:
        problems.append(f"its database kind {str(database.get('kind'))[:20]!r} is not one stackctl backs up")
    if not isinstance(database.get("server_version_num"), int):
        problems.append("its server version is not a number")
    if database.get("globals") is not None:
        problems += _file_problems(database["globals"], "roles", seen)
    listed = database.get("databases")
    if not isinstance(listed, list) or not listed:
        return problems + ["it holds no database dump"]
    names = set()
    for entry in listed:
        if not isinstance(entry, dict) or not _name_ok(entry.get("name")) or entry["name"] in names:
            problems.append(f"its database name {str((entry or {}).get('name'))[:63]!r} is not one a server has")
            continue
        names.add(entry["name"])
        problems += _file_problems(entry, f"database {entry['name']}", seen)
        if entry.get("owner") is not None and not _name_ok(entry["owner"]):
            problems.append(f"its database {entry['name']} has no usable owner")
    return problems


def manifest_problems(manifest, folder_name: str | None = None) -> list[str]:
    """Why a manifest read back is not one stackctl wrote (empty: its fields are safe to use as
    names, paths and SQL identifiers). `folder_name`: the folder it was found in, which must be its id."""
    if not isinstance(manifest, dict):
        return ["its manifest is not a JSON object"]
    problems = []
    backup_id = manifest.get("id")
    if not isinstance(backup_id, str) or not ID.match(backup_id):
        problems.append(f"its id {str(backup_id)[:40]!r} is not a UTC time as stackctl writes it (20261201T030000Z)")
    elif folder_name is not None and folder_name != backup_id:
        problems.append(f"its id {backup_id} is not the name of its folder ({folder_name[:40]!r})")
    try:
        datetime.fromisoformat(str(manifest.get("created_at")))
    except ValueError:
        problems.append("its created_at is not a time")
    if manifest.get("format") not in FORMATS:
        return problems + [f"its format {str(manifest.get('format'))[:10]!r} is not one this stackctl reads"]
    seen: set = set()
    if manifest["format"] == 1:
        problems += _file_problems(manifest["postgres"], "postgres", seen) if manifest.get("postgres") else \
            ["it holds no database dump"]
        if manifest.get("redis"):
            problems += _file_problems(manifest["redis"], "redis", seen)
        return problems
    problems += _database_problems(manifest.get("database"), seen)
    cache = manifest.get("cache")
    if cache is not None:
        problems += _file_problems(cache, "cache", seen)
        if isinstance(cache, dict) and cache.get("kind") not in CACHE_KINDS:
            problems.append(f"its cache kind {str(cache.get('kind'))[:20]!r} is not one stackctl backs up")
    return problems


def checked_manifest(manifest, folder_name: str | None, where: str):
    """The manifest, or a one-line usage error naming what is wrong with it; nothing is touched."""
    problems = manifest_problems(manifest, folder_name)
    if problems:
        raise StackError(f"{where} is not a backup set stackctl wrote, nothing was touched: {'; '.join(problems)}",
                         "choose another backup: stackctl backups", EXIT_USAGE)
    return manifest


def new_id(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class HashingWriter:
    """A file sink that counts and hashes what it writes (one pass, no re-read). Owner-only:
    a dump holds every row of the database."""

    def __init__(self, path: Path):
        self.file = os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE), "wb")
        self.digest = hashlib.sha256()
        self.bytes = 0

    def write(self, chunk: bytes) -> None:
        self.file.write(chunk)
        self.digest.update(chunk)
        self.bytes += len(chunk)

    def close(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()

    @property
    def sha256(self) -> str:
        return self.digest.hexdigest()


class Tee:
    """One stream to several sinks (the dump's file and its full read)."""

    def __init__(self, *sinks):
        self.sinks = sinks

    def write(self, chunk: bytes) -> None:
        for sink in self.sinks:
            sink.write(chunk)


@dataclass(frozen=True)
class BackupSet:
    """A set on disk (or off-site) whose manifest passed manifest_problems. Both formats are read
    through one view: `database` (kind, versions, `globals`, `databases`) and `cache`."""

    path: Path
    manifest: dict

    @property
    def id(self) -> str:
        return self.manifest["id"]

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest["created_at"])

    @property
    def database(self) -> dict:
        m = self.manifest
        if m.get("format", 1) == 1:  # one Postgres database, as format 1 held it
            pg = m["postgres"]
            entry = {"name": pg.get("database") or "", "owner": None, "file": pg["file"], "bytes": pg["bytes"],
                     "sha256": pg["sha256"], "tables": pg.get("tables") or {}}
            return {"kind": "postgres", "image": pg.get("image"), "server_version_num": pg.get("server_version_num"),
                    "server_version": pg.get("server_version"), "postgis_version": pg.get("postgis_version"),
                    "globals": None, "databases": [entry]}
        return m["database"]

    @property
    def cache(self) -> dict | None:
        m = self.manifest
        if m.get("format", 1) == 1:
            return {**m["redis"], "kind": "redis"} if m.get("redis") else None
        return m.get("cache")

    def databases(self) -> list[dict]:
        return list(self.database["databases"])

    def files(self) -> list[tuple[str, dict]]:
        """(what it is, its entry) for every file of the set."""
        found = [("roles", self.database["globals"])] if self.database.get("globals") else []
        found += [(f"database {d['name']}", d) for d in self.databases()]
        return found + ([("cache", self.cache)] if self.cache else [])

    @property
    def size(self) -> int:
        return sum(meta.get("bytes", 0) for _, meta in self.files())

    @property
    def rows(self) -> int:
        return sum(sum(d.get("tables", {}).values()) for d in self.databases())

    def file(self, meta: dict) -> Path:
        """A file of the set, which must lie inside it: a manifest naming `../elsewhere/x.dump` or
        `/etc/passwd` is refused, never opened."""
        name = str(meta.get("file") or "")
        inside = self.path.resolve()
        path = (inside / name).resolve()
        if not name or "/" in name or "\\" in name or name in (".", "..") or path.parent != inside:
            raise StackError(f"backup {self.id} is damaged, nothing was touched: its manifest names "
                             f"{name!r}, which is not a file inside the set",
                             "choose another backup: stackctl backups", EXIT_USAGE)
        return path

    @property
    def verified(self) -> str:
        v = self.manifest.get("verification") or {}
        if (v.get("restore_test") or {}).get("ok"):
            return "restored"
        return "read" if v.get("full_read") else "no"

    def age(self, now: datetime | None = None) -> timedelta:
        return (now or datetime.now(timezone.utc)) - self.created_at

    def to_dict(self, now: datetime | None = None) -> dict:
        return {"id": self.id, "path": str(self.path), "created_at": self.manifest["created_at"],
                "kind": self.manifest.get("kind", "manual"), "bytes": self.size, "verified": self.verified,
                "databases": [d["name"] for d in self.databases()], "rows": self.rows,
                "stack": self.manifest.get("stack"), "env": self.manifest.get("env"),
                "age_seconds": round(self.age(now).total_seconds())}


def stack_dir(root: Path, backup_dir: str, stack: str) -> Path:
    base = Path(backup_dir)
    return (base if base.is_absolute() else root / base) / stack


def backup_path(stack) -> Path:
    """Where a stack's sets are: STACKCTL_BACKUP_DIR/<stack>."""
    return stack_dir(stack.project.root, stack.settings.backup_dir, stack.name)


def make_private_dir(path: Path) -> None:
    """A folder only its owner can read, parents included where stackctl creates them."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
    path.chmod(PRIVATE_DIR)


def write_manifest(folder: Path, manifest: dict) -> None:
    tmp = folder / (MANIFEST + ".tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE), "w") as f:
        json.dump(manifest, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(folder / MANIFEST)


def list_sets(folder: Path) -> list[BackupSet]:
    """Good sets, newest first. Partial folders and folders without a manifest are not sets."""
    sets = []
    if not folder.is_dir():
        return sets
    for child in folder.iterdir():
        if child.name.startswith(".") or not (child / MANIFEST).is_file():
            continue
        manifest = read_manifest(child)
        if isinstance(manifest, dict) and manifest.get("complete") and not manifest_problems(manifest, child.name):
            sets.append(BackupSet(child, manifest))
    return sorted(sets, key=lambda s: (s.created_at, s.id), reverse=True)


def leftovers(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob(PARTIAL_PREFIX + "*")) if folder.is_dir() else []


def find_set(folder: Path, ref: str) -> BackupSet:
    """By id, by a unique id prefix, or by a path to a set folder."""
    as_path = Path(ref)
    if (as_path / MANIFEST).is_file():
        return _checked_set(as_path.resolve(), ref)
    matches = [s for s in list_sets(folder) if s.id == ref] or [s for s in list_sets(folder) if s.id.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    named = folder / ref
    if not matches and as_path.name == ref and not ref.startswith(".") and (named / MANIFEST).is_file():
        _checked_set(named, f"backup {ref}")  # a folder of that name that is not a set: say why
        raise StackError(f"backup {ref} was never completed, nothing was touched", "choose another backup: "
                         "stackctl backups", EXIT_USAGE)
    if not matches:
        raise StackError(f"no backup '{ref}' in {folder}", "list them with stackctl backups", EXIT_USAGE)
    raise StackError(f"'{ref}' matches {len(matches)} backups", "give more of the id", EXIT_USAGE)


def _checked_set(path: Path, where: str) -> BackupSet:
    """The set in `path` if its manifest is one stackctl wrote, or a one-line usage error saying why not."""
    manifest = read_manifest(path)
    if manifest is None:
        raise StackError(f"{where} is not a backup set stackctl wrote, nothing was touched: its manifest is not "
                         f"JSON of at most {MANIFEST_LIMIT >> 20} MiB", "choose another backup: stackctl backups",
                         EXIT_USAGE)
    return BackupSet(path, checked_manifest(manifest, path.name, where))


def read_manifest(path: Path):
    """A set folder's manifest as parsed JSON, or None when it is not JSON or is larger than any
    stackctl writes (never read whole)."""
    try:
        with open(path / MANIFEST, "rb") as f:
            data = f.read(MANIFEST_LIMIT + 1)
        return json.loads(data) if len(data) <= MANIFEST_LIMIT else None
    except (ValueError, UnicodeDecodeError, OSError):
        return None


def to_prune(sets: list[BackupSet], keep_days: int, keep_count: int, now: datetime | None = None) -> list[BackupSet]:
    """Which sets retention deletes: older than keep_days (0: none by age), or beyond the
    keep_count newest (0: no limit). The newest set is never deleted."""
    now = now or datetime.now(timezone.utc)
    ordered = sorted(sets, key=lambda s: (s.created_at, s.id), reverse=True)
    doomed = []
    for index, backup in enumerate(ordered):
        if index == 0:
            continue
        too_old = keep_days > 0 and backup.age(now) > timedelta(days=keep_days)
        too_many = keep_count > 0 and index >= keep_count
        if too_old or too_many:
            doomed.append(backup)
    return doomed


def delete_set(backup: BackupSet) -> None:
    shutil.rmtree(backup.path)
