"""`stackctl backup`: Postgres (pg_dump custom format) and Redis (RDB) into one checked set.

Written under `.partial-<id>`, read back in full, then renamed: an interrupted or failed
backup (disk full, engine gone, Ctrl-C) leaves nothing that `backups` lists as good.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from stackctl import __version__
from stackctl.backup import postgres, redis, sets
from stackctl.backup.verify import restore_test
from stackctl.containers import ContainerInfo
from stackctl.health import credentials
from stackctl.errors import EXIT_USAGE, StackError
from stackctl.stack import Stack


def running_container(stack: Stack, service: str) -> ContainerInfo:
    info = stack.containers().get(service)
    if info is None or info.state != "running":
        raise StackError(f"{service} is not running", "start the stack first: stackctl up", EXIT_USAGE)
    return info


def database_service(stack: Stack) -> str:
    return stack.role("database", "a Postgres service: what backups and restores work on")


def backup(stack: Stack, *, include_redis: bool = True, verify: bool = False, kind: str = "manual",
           say: Callable[[str], None] = lambda _: None) -> sets.BackupSet:
    """`stackctl backup` under the stack's lock: one command at a time changes a stack."""
    from stackctl import lock

    with lock.held(stack.engine, stack.name, "backup", wait=stack.settings.lock_wait):
        return _backup(stack, include_redis=include_redis, verify=verify, kind=kind, say=say)


def _backup(stack: Stack, *, include_redis: bool = True, verify: bool = False, kind: str = "manual",
           say: Callable[[str], None] = lambda _: None) -> sets.BackupSet:
    s = stack.settings
    started = time.monotonic()
    db_service = database_service(stack)
    db = running_container(stack, db_service)
    cache_service = stack.model.one("cache") if include_redis else None
    redis_info = running_container(stack, cache_service) if cache_service else None
    db_cid, db_image = db.id, db.image
    creds = credentials.postgres(stack.engine, db)
    folder = sets.stack_dir(stack.project.root, s.backup_dir, stack.name)
    sets.make_private_dir(folder)
    backup_id = sets.new_id()
    while (folder / backup_id).exists():  # two backups in one second
        time.sleep(1)
        backup_id = sets.new_id()
    partial = folder / f"{sets.PARTIAL_PREFIX}{backup_id}"
    partial.mkdir(mode=sets.PRIVATE_DIR)
    try:
        manifest = {"format": sets.FORMAT, "id": backup_id, "stack": stack.name, "env": stack.project.env,
                    "kind": kind, "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "stackctl": __version__, "complete": False}
        say(f"dumping Postgres ({db_service}) and reading the dump back in full")
        info = postgres.server_info(stack.engine, db_cid, creds.user, creds.database)
        # The dump goes to disk and, at the same time, into a throwaway pg_restore that reads
        # it in full: one pass instead of writing and then reading back.
        writer = sets.HashingWriter(partial / "postgres.dump")
        reader = postgres.StreamingReader(stack.engine, db_image)
        try:
            result = postgres.dump(stack.engine, db_cid, creds.user, creds.database, s.backup_compression,
                                   postgres.Tee(writer, reader))
        except BaseException:
            reader.abort()
            raise
        finally:
            writer.close()
        if result.exit_code != 0:
            reader.abort()
            raise StackError(f"pg_dump failed: {result.stderr.strip()[-300:]}")
        ok, rows, error = reader.finish()
        if not ok:
            raise StackError(f"the new dump does not read back: {error}")
        manifest["postgres"] = {"file": "postgres.dump", "bytes": writer.bytes, "sha256": writer.sha256,
                                "database": creds.database, "compression": s.backup_compression,
                                "image": db_image, **info, "tables": rows}
        if redis_info:
            say(f"snapshotting Redis ({cache_service})")
            redis_image = redis_info.image
            rwriter = sets.HashingWriter(partial / "redis.rdb")
            try:
                rinfo = redis.snapshot(stack.engine, redis_info.id,
                                       credentials.redis_password(stack.engine, redis_info), rwriter)
            finally:
                rwriter.close()
            ok, error = redis.check_rdb(stack.engine, redis_image, partial / "redis.rdb")
            if not ok:
                raise StackError(f"the Redis snapshot does not check: {error}")
            manifest["redis"] = {"file": "redis.rdb", "bytes": rwriter.bytes, "sha256": rwriter.sha256,
                                 "image": redis_image, **rinfo}
        containers = stack.containers()
        manifest["apps"] = {name: {"image": containers[name].image, "image_id": containers[name].image_id}
                            for name in stack.model.with_role("app") if name in containers}
        manifest["verification"] = {"full_read": True, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        if verify:
            say("restoring into a scratch database to compare row counts")
            manifest["verification"]["restore_test"] = restore_test(stack.engine, db_image, partial / "postgres.dump",
                                                                    rows)
            if not manifest["verification"]["restore_test"]["ok"]:
                raise StackError(f"restore test failed: {manifest['verification']['restore_test']['detail']}")
        manifest["duration_seconds"] = round(time.monotonic() - started, 2)
        manifest["complete"] = True
        sets.write_manifest(partial, manifest)
        final = folder / backup_id
        partial.rename(final)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise disk_error(exc, folder) from None
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(exc, StackError):
            exc.message = f"backup failed, nothing was recorded: {exc.message}"
        raise
    return sets.BackupSet(final, manifest)


def disk_error(exc: OSError, folder: Path) -> StackError:
    """A failed write said plainly: where, why, and (when the disk is full) how much is free."""
    import errno

    if exc.errno == errno.ENOSPC:
        free = shutil.disk_usage(folder).free // (1024 * 1024)
        return StackError(f"backup failed, nothing was recorded: the disk holding {folder} is full "
                          f"({free} MiB free)", "free space there, or set STACKCTL_BACKUP_DIR to a larger disk")
    return StackError(f"backup failed, nothing was recorded: {exc.strerror or exc} ({exc.filename or folder})",
                      "check the folder's permissions and space, or set STACKCTL_BACKUP_DIR")


def apply_retention(stack: Stack, now: datetime | None = None) -> list[sets.BackupSet]:
    s = stack.settings
    folder = sets.stack_dir(stack.project.root, s.backup_dir, stack.name)
    doomed = sets.to_prune(sets.list_sets(folder), s.backup_keep_days, s.backup_keep_count, now)
    for backup_set in doomed:
        sets.delete_set(backup_set)
    return doomed


def backup_path(stack: Stack) -> Path:
    return sets.stack_dir(stack.project.root, stack.settings.backup_dir, stack.name)
