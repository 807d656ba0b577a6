"""`stackctl backup`: Postgres (pg_dump custom format) and Redis (RDB) into one checked set.

Written under `.partial-<id>`, read back in full, then renamed: an interrupted or failed
backup (disk full, engine gone, Ctrl-C) leaves nothing that `backups` lists as good.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

from stackctl import __version__
from stackctl.backup import plans, postgres, redis, sets
from stackctl.backup.verify import restore_test
from stackctl.containers import ContainerInfo
from stackctl.health import credentials
from stackctl.errors import EXIT_USAGE, StackError
from stackctl.report import SILENT, Reporter
from stackctl.results import BackupList, BackupMade
from stackctl.stack import Stack
from stackctl.steps import Plan, Step, follow


def running_container(stack: Stack, service: str) -> ContainerInfo:
    info = stack.containers().get(service)
    if info is None or info.state != "running":
        if stack.project.target == "swarm":
            from stackctl.swarm.placement import not_here

            raise not_here(stack, service)
        raise StackError(f"{service} is not running", "start the stack first: stackctl up", EXIT_USAGE)
    return info


def database_service(stack: Stack) -> str:
    return stack.role("database", "a Postgres service: what backups and restores work on")


def backup(stack: Stack, *, include_redis: bool = True, verify: bool = False, kind: str = "manual",
           report: Reporter = SILENT) -> sets.BackupSet:
    """`stackctl backup` under the stack's lock: one command at a time changes a stack."""
    from stackctl import lock

    with lock.held(stack.engine, stack.name, "backup", wait=stack.settings.lock_wait):
        return _backup(stack, include_redis=include_redis, verify=verify, kind=kind, report=report)[0]


class Backing:
    """One backup as it runs: what each step of plans.backup_steps does. Everything is written
    under a `.partial-<id>` folder that only the last step renames into a set."""

    def __init__(self, stack: Stack, include_redis: bool, verify: bool, kind: str, report: Reporter):
        self.stack, self.verify, self.report, self.s = stack, verify, report, stack.settings
        self.db_service = database_service(stack)
        self.db = running_container(stack, self.db_service)
        self.cache = stack.model.one("cache") if include_redis else None
        self.redis_info = running_container(stack, self.cache) if self.cache else None
        self.creds = credentials.postgres(stack.engine, self.db)
        self.folder = sets.stack_dir(stack.project.root, self.s.backup_dir, stack.name)
        self.apps = [name for name in stack.model.with_role("app")]
        self.started = time.monotonic()
        self.manifest = {"format": sets.FORMAT, "stack": stack.name, "env": stack.project.env, "kind": kind,
                         "stackctl": __version__, "complete": False}
        self.partial: Path | None = None
        self.made: sets.BackupSet | None = None

    def steps(self) -> list[Step]:
        return plans.backup_steps(self.db_service, self.cache, self.verify, self.apps)

    def act(self, step: Step) -> None:
        DO[step.action](self)

    def open(self) -> None:
        sets.make_private_dir(self.folder)
        backup_id = sets.new_id()
        while (self.folder / backup_id).exists():  # two backups in one second
            time.sleep(1)
            backup_id = sets.new_id()
        self.partial = self.folder / f"{sets.PARTIAL_PREFIX}{backup_id}"
        self.partial.mkdir(mode=sets.PRIVATE_DIR)
        self.manifest.update(id=backup_id, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def do_dump(self) -> None:
        eng, creds = self.stack.engine, self.creds
        self.report.note(f"dumping Postgres ({self.db_service}) and reading the dump back in full")
        info = postgres.server_info(eng, self.db.id, creds.user, creds.database)
        # The dump goes to disk and, at the same time, into a throwaway pg_restore that reads
        # it in full: one pass instead of writing and then reading back.
        writer = sets.HashingWriter(self.partial / "postgres.dump")
        reader = postgres.StreamingReader(eng, self.db.image)
        try:
            result = postgres.dump(eng, self.db.id, creds.user, creds.database, self.s.backup_compression,
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
        self.manifest["postgres"] = {"file": "postgres.dump", "bytes": writer.bytes, "sha256": writer.sha256,
                                     "database": creds.database, "compression": self.s.backup_compression,
                                     "image": self.db.image, **info, "tables": rows}
        self.manifest["verification"] = {"full_read": True,
                                          "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    def do_snapshot(self) -> None:
        self.report.note(f"snapshotting Redis ({self.cache})")
        eng, info = self.stack.engine, self.redis_info
        writer = sets.HashingWriter(self.partial / "redis.rdb")
        try:
            details = redis.snapshot(eng, info.id, credentials.redis_password(eng, info), writer)
        finally:
            writer.close()
        ok, error = redis.check_rdb(eng, info.image, self.partial / "redis.rdb")
        if not ok:
            raise StackError(f"the Redis snapshot does not check: {error}")
        self.manifest["redis"] = {"file": "redis.rdb", "bytes": writer.bytes, "sha256": writer.sha256,
                                  "image": info.image, **details}

    def do_record(self) -> None:
        containers = self.stack.containers()
        self.manifest["apps"] = {name: {"image": containers[name].image, "image_id": containers[name].image_id}
                                 for name in self.apps if name in containers}

    def do_restore_test(self) -> None:
        self.report.note("restoring into a scratch database to compare row counts")
        test = restore_test(self.stack.engine, self.db.image, self.partial / "postgres.dump",
                            self.manifest["postgres"]["tables"])
        self.manifest["verification"]["restore_test"] = test
        if not test["ok"]:
            raise StackError(f"restore test failed: {test['detail']}")

    def do_seal(self) -> None:
        self.manifest["duration_seconds"] = round(time.monotonic() - self.started, 2)
        self.manifest["complete"] = True
        sets.write_manifest(self.partial, self.manifest)
        final = self.folder / self.manifest["id"]
        self.partial.rename(final)
        self.made = sets.BackupSet(final, self.manifest)

    def do_prune(self) -> None:
        self.pruned = apply_retention(self.stack)

    def discard(self, _step: Step) -> None:
        """Every step's undo: the partial folder goes, so nothing half-written is ever listed."""
        if self.partial is not None and self.made is None:
            shutil.rmtree(self.partial, ignore_errors=True)


DO = {"dump": Backing.do_dump, "snapshot": Backing.do_snapshot, "record": Backing.do_record,
      "restore-test": Backing.do_restore_test, "seal": Backing.do_seal, "prune": Backing.do_prune}


def _backup(stack: Stack, *, include_redis: bool = True, verify: bool = False, kind: str = "manual",
            report: Reporter = SILENT, prune: bool = False) -> tuple[sets.BackupSet, list]:
    run = Backing(stack, include_redis, verify, kind, report)
    steps = [s for s in run.steps() if prune or s.action != "prune"]
    run.pruned = []
    try:
        run.open()
        follow(steps, run.act, undo=run.discard, note=report.note)
    except OSError as exc:
        if run.made is not None:
            raise
        raise disk_error(exc, run.folder) from None
    except StackError as exc:
        if run.made is not None:
            raise  # the set is sealed; what failed came after it (retention)
        raise StackError(f"backup failed, nothing was recorded: {exc.message}", exc.hint, exc.exit_code,
                         exc.details) from None
    return run.made, run.pruned


def backup_plan(stack: Stack, *, include_redis: bool = True, verify: bool = False) -> Plan:
    """The steps `backup` would take now, without taking any."""
    cache = stack.model.one("cache") if include_redis else None
    return Plan("backup", tuple(plans.backup_steps(database_service(stack), cache, verify,
                                                   list(stack.model.with_role("app")))))


def backup_and_prune(stack: Stack, *, include_redis: bool = True, verify: bool = False, kind: str = "manual",
                     report: Reporter = SILENT, push: bool = False) -> BackupMade:
    """`stackctl backup`: a set, then the retention rules applied (and, with push, a checked
    copy off-site)."""
    from stackctl import lock

    with lock.held(stack.engine, stack.name, "backup", wait=stack.settings.lock_wait):
        made, pruned = _backup(stack, include_redis=include_redis, verify=verify, kind=kind, report=report,
                               prune=True)
    pushed = None
    if push:
        from stackctl.backup.remote import push as push_off_site

        report.note(f"copying {made.id} off-site and reading it back there")
        pushed = push_off_site(stack, made)
    return BackupMade(made, verify, tuple(p.id for p in pruned), pushed)


def listing(stack: Stack) -> BackupList:
    folder = backup_path(stack)
    return BackupList(folder, tuple(sets.list_sets(folder)), tuple(sets.leftovers(folder)))


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
