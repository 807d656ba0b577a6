"""Is a backup set good? Its MAC, checksums, a full read of every dump, and (restore test) each
database restored into a scratch server whose row counts must equal what the dump holds."""

from __future__ import annotations

from datetime import datetime, timezone

from stackctl.backup import seal, sets
from stackctl.engine import Engine
from stackctl.errors import StackError
from stackctl.results import Verified


def restore_test(engine: Engine, kind, image: str, backup: sets.BackupSet) -> dict:
    """Every database of the set restored into one throwaway server (no network), rows compared."""
    databases = backup.databases()
    try:
        counted = kind.scratch_counts(engine, image, [backup.file(d) for d in databases])
    except StackError as exc:
        return {"ok": False, "detail": exc.message, "at": _now()}
    wrong, tables, rows = [], 0, 0
    for database, (restored, extension_tables) in zip(databases, counted):
        expected = {t: n for t, n in database.get("tables", {}).items() if t not in extension_tables}
        tables, rows = tables + len(expected), rows + sum(expected.values())
        wrong += [f"{database['name']}.{t}: {restored.get(t)} rows restored, {n} in the dump"
                  for t, n in expected.items() if restored.get(t) != n]
        wrong += [f"{database['name']}.{t}: {n} rows restored, none in the dump"
                  for t, n in restored.items() if t not in expected]
    return {"ok": not wrong, "detail": "; ".join(wrong), "tables": tables, "rows": rows, "at": _now()}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_files(backup: sets.BackupSet) -> list[str]:
    """What is wrong with the files on disk (missing, size, checksum), without reading them in full."""
    problems = []
    for _what, meta in backup.files():
        path = backup.file(meta)
        if not path.is_file():
            problems.append(f"{meta['file']} is missing")
        elif path.stat().st_size != meta["bytes"]:
            problems.append(f"{meta['file']} is {path.stat().st_size} bytes, the manifest says {meta['bytes']}")
        elif sets.sha256_file(path) != meta["sha256"]:
            problems.append(f"{meta['file']} does not match its sha256 checksum")
    return problems


def verify(stack, backup: sets.BackupSet, *, restore: bool = True) -> dict:
    """Checksums, full reads, and a scratch restore, with the stack's own images (a set's manifest
    never chooses what runs); raises on the first failure. The result is written into the set's
    manifest, sealed again with this host's key."""
    engine, images = stack.engine, stack_images(stack)
    database_kind = stack.kind("database")
    problems = check_files(backup)
    if problems:
        raise StackError(f"backup {backup.id} is damaged: {'; '.join(problems)}",
                         "use another backup (stackctl backups)")
    if backup.database.get("globals"):
        why = database_kind.globals_complete(backup.file(backup.database["globals"]))
        if why:
            raise StackError(f"backup {backup.id}: {why}", "use another backup (stackctl backups)")
    for database in backup.databases():
        ok, rows, error = database_kind.full_read(engine, images["database"], backup.file(database))
        if not ok:
            raise StackError(f"backup {backup.id}: the dump of database {database['name']} does not read in full: "
                             f"{error}", "use another backup (stackctl backups)")
        if rows != database.get("tables"):
            raise StackError(f"backup {backup.id}: the rows of database {database['name']} differ from its manifest")
    if backup.cache and images.get("cache"):
        ok, error = stack.kind("cache").check_rdb(engine, images["cache"], backup.file(backup.cache))
        if not ok:
            raise StackError(f"backup {backup.id}: the cache's snapshot does not check: {error}")
    result = {"full_read": True, "at": _now()}
    if restore:
        result["restore_test"] = restore_test(engine, database_kind, images["database"], backup)
        if not result["restore_test"]["ok"]:
            raise StackError(f"backup {backup.id}: restore test failed: {result['restore_test']['detail']}")
    key = seal.load_key(seal.key_path(stack.project, stack.settings))
    manifest = {**backup.manifest, "verification": result}
    sets.write_manifest(backup.path, seal.signed(manifest, key) if key and not seal.problem(backup.manifest, key)
                        else manifest)
    return result


def stack_images(stack) -> dict[str, str]:
    """The images the stack's database and cache run (their containers', else the compose model's)."""
    containers = stack.containers()
    found = {}
    for role in ("database", "cache"):
        service = stack.model.one(role)
        if service:
            info = containers.get(service)
            found[role] = info.image if info is not None else stack.model.services[service].image
    if "database" not in found:
        raise StackError("this stack has no database role: nothing to verify a dump with",
                         "name it in stackctl.yaml (database: SERVICE)", 2)
    return found


def verify_set(stack, ref: str, accept_unauthenticated: bool = False) -> Verified:
    """`stackctl backups verify`: the set found by id (or path), authenticated, checked in full with
    the stack's own images."""
    from stackctl.backup.sets import backup_path

    target = sets.find_set(backup_path(stack), ref)
    seal.require(target.manifest, seal.load_key(seal.key_path(stack.project, stack.settings)),
                 f"backup {target.id}", accept_unauthenticated)
    test = verify(stack, target)["restore_test"]
    return Verified(target.id, test["tables"], test["rows"])
