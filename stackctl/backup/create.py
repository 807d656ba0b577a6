"""`stackctl backup`: the whole database server (every database that is not a template, each
dumped and read back in full, and its roles) and the cache, into one checked, authenticated set.

Written under `.partial-<id>`, read back in full, sealed (a MAC over the manifest, which holds
every file's sha256: stackctl.backup.seal), then renamed: an interrupted or failed backup (disk
full, engine gone, Ctrl-C) leaves nothing that `backups` lists as good.
"""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

from stackctl import __version__
from stackctl.backup import plans, seal, sets
from stackctl.backup.sets import backup_path
from stackctl.backup.verify import restore_test
from stackctl.containers import ContainerInfo
from stackctl.errors import StackError
from stackctl.report import SILENT, Metered, Reporter
from stackctl.results import BackupList, BackupMade
from stackctl.stack import Stack
from stackctl.steps import Plan, Step
from stackctl.steps import run as run_steps


def running_container(stack: Stack, service: str) -> ContainerInfo:
    info = stack.containers().get(service)
    if info is None or info.state != "running":
        raise stack.target.not_running(stack, service)  # on a swarm: which node it runs on
    return info


def database_service(stack: Stack) -> str:
    return stack.role("database", "a database service: what backups and restores work on")


def backup(stack: Stack, *, include_redis: bool = True, verify: bool = False, kind: str = "manual",
           report: Reporter = SILENT) -> sets.BackupSet:
    """`stackctl backup` under the stack's lock: one command at a time changes a stack."""
    with stack.locked("backup"):
        return _backup(stack, include_redis=include_redis, verify=verify, kind=kind, report=report)[0]


class Backing:
    """One backup as it runs: what each step of plans.backup_steps does. Everything is written
    under a `.partial-<id>` folder that only the last step renames into a set."""

    def __init__(self, stack: Stack, include_redis: bool, verify: bool, kind: str, report: Reporter):
        self.stack, self.verify, self.report, self.s = stack, verify, report, stack.settings
        self.db_service = database_service(stack)
        self.db = running_container(stack, self.db_service)
        self.database_kind = stack.kind("database")
        self.server = self.database_kind.server(stack.engine, self.db)
        self.cache = stack.model.one("cache") if include_redis else None
        self.cache_kind = stack.kind("cache") if self.cache else None
        self.redis_info = running_container(stack, self.cache) if self.cache else None
        self.folder = sets.stack_dir(stack.project.root, self.s.backup_dir, stack.name)
        self.key_file = seal.key_path(stack.project, self.s)
        self.apps = [name for name in stack.model.with_role("app")]
        self.started = time.monotonic()
        self.manifest = {"format": sets.FORMAT, "stack": stack.name, "env": stack.project.env, "kind": kind,
                         "stackctl": __version__, "complete": False}
        self.partial: Path | None = None
        self.made: sets.BackupSet | None = None

    def steps(self) -> list[Step]:
        return plans.backup_steps(self.db_service, self.cache, self.verify, self.apps)

    def open(self) -> None:
        sets.make_private_dir(self.folder)
        self.key = seal.load_key(self.key_file, create=True)
        backup_id = sets.new_id()
        while (self.folder / backup_id).exists():  # two backups in one second
            time.sleep(1)
            backup_id = sets.new_id()
        self.partial = self.folder / f"{sets.PARTIAL_PREFIX}{backup_id}"
        self.partial.mkdir(mode=sets.PRIVATE_DIR)
        self.manifest.update(id=backup_id, created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"))

    def _write(self, name: str, produce, what: str) -> dict:
        """A file of the set, counted and hashed as it is written; `produce(sink)` returns the ExecResult."""
        writer = sets.HashingWriter(self.partial / name)
        meter = Metered(self.report, f"backup {what}", sink=writer)
        try:
            result = produce(meter)
        finally:
            writer.close()
        if result is not None and result.exit_code != 0:
            raise StackError(f"{what}: {result.stderr.strip()[-300:] or f'exit {result.exit_code}'}")
        meter.finish()
        return {"file": name, "bytes": writer.bytes, "sha256": writer.sha256}

    def do_dump(self) -> None:
        server, kind = self.server, self.database_kind
        info = server.version()
        databases = server.databases()
        self.report.note(f"dumping {self.db_service}: roles and {len(databases)} database(s) "
                         f"({', '.join(d.name for d in databases)}), each read back in full as it is written")
        roles = self._write("roles.sql", server.dump_globals, "the roles")
        problem = kind.globals_complete(self.partial / "roles.sql")
        if problem:
            raise StackError(f"the roles dump does not read back: {problem}")
        entries = []
        for index, database in enumerate(databases, start=1):
            self.report.note(f"dumping database {database.name}")
            # The dump goes to disk and, at the same time, into a throwaway reader that reads it
            # in full: one pass instead of writing and then reading back.
            reader = kind.reader(self.stack.engine, self.db.image)
            try:
                entry = self._write(f"database-{index}.dump", lambda sink, d=database: server.dump(
                    d.name, self.s.backup_compression, sets.Tee(sink, reader)), f"database {database.name}")
            except BaseException:
                reader.abort()
                raise
            ok, rows, error = reader.finish()
            if not ok:
                raise StackError(f"the dump of database {database.name} does not read back: {error}")
            entries.append({**database.to_dict(), **entry, "tables": rows})
        self.manifest["database"] = {"kind": kind.name, "service": self.db_service, "image": self.db.image,
                                     "compression": self.s.backup_compression, **info, "globals": roles,
                                     "databases": entries}
        self.manifest["verification"] = {"full_read": True,
                                          "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    def do_snapshot(self) -> None:
        self.report.note(f"snapshotting the cache ({self.cache})")
        eng, info, kind = self.stack.engine, self.redis_info, self.cache_kind
        details: dict = {}
        entry = self._write("cache.rdb", lambda sink: details.update(kind.snapshot(eng, info, sink)), "the cache")
        ok, error = kind.check_rdb(eng, info.image, self.partial / "cache.rdb")
        if not ok:
            raise StackError(f"the cache's snapshot does not check: {error}")
        details.pop("path", None)  # where this server keeps it: a restore asks its own server
        self.manifest["cache"] = {"kind": kind.name, "service": self.cache, **entry, "image": info.image, **details}

    def do_record(self) -> None:
        containers = self.stack.containers()
        self.manifest["apps"] = {name: {"image": containers[name].image, "image_id": containers[name].image_id}
                                 for name in self.apps if name in containers}

    def do_restore_test(self) -> None:
        self.report.note("restoring into a scratch database to compare row counts")
        test = restore_test(self.stack.engine, self.database_kind, self.db.image,
                            sets.BackupSet(self.partial, {**self.manifest, "id": self.manifest["id"]}))
        self.manifest["verification"]["restore_test"] = test
        if not test["ok"]:
            raise StackError(f"restore test failed: {test['detail']}")

    def do_seal(self) -> None:
        self.manifest["duration_seconds"] = round(time.monotonic() - self.started, 2)
        self.manifest["complete"] = True
        self.manifest = seal.signed(self.manifest, self.key)
        sets.write_manifest(self.partial, self.manifest)
        final = self.folder / self.manifest["id"]
        self.partial.rename(final)
        self.made = sets.BackupSet(final, self.manifest)

    def do_prune(self) -> None:
        self.pruned = apply_retention(self.stack)

    def handlers(self) -> dict:
        """A handler for each action of plans.backup_steps."""
        return {action: (lambda _step, act=getattr(self, "do_" + action.replace("-", "_")): act())
                for action in ("dump", "snapshot", "record", "restore-test", "seal", "prune")}

    def discard(self, _step: Step) -> None:
        """Every step's undo: the partial folder goes, so nothing half-written is ever listed."""
        if self.partial is not None and self.made is None:
            shutil.rmtree(self.partial, ignore_errors=True)


def _backup(stack: Stack, *, include_redis: bool = True, verify: bool = False, kind: str = "manual",
            report: Reporter = SILENT, prune: bool = False) -> tuple[sets.BackupSet, list]:
    run = Backing(stack, include_redis, verify, kind, report)
    steps = [s for s in run.steps() if prune or s.action != "prune"]
    run.pruned = []
    try:
        run.open()
        run_steps(steps, run.handlers(), undo=run.discard, note=report.note)
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
    with stack.locked("backup"):
        made, pruned = _backup(stack, include_redis=include_redis, verify=verify, kind=kind, report=report,
                               prune=True)
    pushed = None
    if push:
        from stackctl.backup.offsite import push as push_off_site

        report.note(f"copying {made.id} off-site and reading it back there")
        pushed = push_off_site(stack, made, report)
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

