"""Is a backup set good? Checksums, a full read, and (restore test) a scratch restore whose
row counts must equal what the dump holds."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from stackctl.backup import postgres, redis, sets
from stackctl.engine import Engine
from stackctl.errors import StackError
from stackctl.results import Verified


def restore_test(engine: Engine, image: str, dump: Path, expected: dict[str, int]) -> dict:
    try:
        restored, extension_tables = postgres.scratch_restore_counts(engine, image, dump)
    except StackError as exc:
        return {"ok": False, "detail": exc.message, "at": _now()}
    compared = {t: n for t, n in expected.items() if t not in extension_tables}
    wrong = {t: (n, restored.get(t)) for t, n in compared.items() if restored.get(t) != n}
    wrong.update({t: (None, n) for t, n in restored.items() if t not in compared})
    detail = "; ".join(f"{t}: {got} rows restored, {want} in the dump" for t, (want, got) in wrong.items())
    return {"ok": not wrong, "detail": detail, "tables": len(compared), "rows": sum(compared.values()), "at": _now()}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_files(backup: sets.BackupSet) -> list[str]:
    """What is wrong with the files on disk (missing, size, checksum), without reading them in full."""
    problems = []
    for part, meta in backup.files().items():
        path = backup.part(part)
        if not path.is_file():
            problems.append(f"{meta['file']} is missing")
        elif path.stat().st_size != meta["bytes"]:
            problems.append(f"{meta['file']} is {path.stat().st_size} bytes, the manifest says {meta['bytes']}")
        elif sets.sha256_file(path) != meta["sha256"]:
            problems.append(f"{meta['file']} does not match its sha256 checksum")
    return problems


def verify(engine: Engine, backup: sets.BackupSet, images: dict[str, str], *, restore: bool = True) -> dict:
    """Checksums, full reads, and a scratch restore; raises on the first failure. `images`: the
    stack's own images for each part (postgres, redis): a set's manifest never chooses what runs."""
    problems = check_files(backup)
    if problems:
        raise StackError(f"backup {backup.id} is damaged: {'; '.join(problems)}",
                         "use another backup (stackctl backups)")
    pg = backup.manifest["postgres"]
    ok, rows, error = postgres.full_read(engine, images["postgres"], backup.part("postgres"))
    if not ok:
        raise StackError(f"backup {backup.id}: the Postgres dump does not read in full: {error}",
                         "use another backup (stackctl backups)")
    if rows != pg.get("tables"):
        raise StackError(f"backup {backup.id}: the dump's rows differ from its manifest")
    if backup.manifest.get("redis") and images.get("redis"):
        ok, error = redis.check_rdb(engine, images["redis"], backup.part("redis"))
        if not ok:
            raise StackError(f"backup {backup.id}: the Redis snapshot does not check: {error}")
    result = {"full_read": True, "at": _now()}
    if restore:
        result["restore_test"] = restore_test(engine, images["postgres"], backup.part("postgres"), pg["tables"])
        if not result["restore_test"]["ok"]:
            raise StackError(f"backup {backup.id}: restore test failed: {result['restore_test']['detail']}")
    manifest = {**backup.manifest, "verification": result}
    sets.write_manifest(backup.path, manifest)
    return result


def stack_images(stack) -> dict[str, str]:
    """The images the stack's database and cache run (their containers', else the compose model's)."""
    containers = stack.containers()
    found = {}
    for part, role in (("postgres", "database"), ("redis", "cache")):
        service = stack.model.one(role)
        if service:
            info = containers.get(service)
            found[part] = info.image if info is not None else stack.model.services[service].image
    if "postgres" not in found:
        raise StackError("this stack has no database role: nothing to verify a dump with",
                         "name it in stackctl.yaml (database: SERVICE)", 2)
    return found


def verify_set(stack, ref: str) -> Verified:
    """`stackctl backups verify`: the set found by id (or path), checked in full with the stack's
    own images."""
    from stackctl.backup.create import backup_path

    target = sets.find_set(backup_path(stack), ref)
    test = verify(stack.engine, target, stack_images(stack))["restore_test"]
    return Verified(target.id, test["tables"], test["rows"])
