"""`stackctl restore`: put a backup back, or leave everything as it was.

Refuses a damaged backup before touching anything: checksums first, then the dump restored into
a new database while everything still serves from the current one (pg_restore reads the whole
dump: a dump that does not read in full fails here, its new database is dropped, nothing else was
touched). Only then: stop the services that use the data, copy Redis's RDB aside, swap names (the
current database is renamed aside, never dumped: that is what makes a restore cost little more
than pg_restore), put Redis's snapshot back, and start through the same path as `up` (migrations,
then health gates). If any step fails, the steps taken are undone newest first, the services
start again on the data as it was, and the error says so. After a success the replaced database
is kept under its own name until the next restore.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from stackctl.backup import plans, postgres, redis, sets
from stackctl.backup.create import backup_path, database_service, running_container
from stackctl.backup.verify import check_files
from stackctl.containers import ContainerInfo
from stackctl.health import credentials
from stackctl.errors import EXIT_FAILED, EXIT_USAGE, StackError
from stackctl.stack import Stack
from stackctl.steps import Plan, Step, follow
from stackctl.report import SILENT, Reporter
from stackctl.up import up as run_up


@dataclass(frozen=True)
class RestoreResult:
    restored: sets.BackupSet
    kept_database: str  # the data the restore replaced, renamed aside
    redis: bool
    redis_copy: Path | None = None  # Redis's RDB as it was before the restore

    def to_dict(self) -> dict:
        return {"restored": self.restored.id, "kept_database": self.kept_database, "redis": self.redis,
                "redis_copy": str(self.redis_copy) if self.redis_copy else None}


KEPT = "{db}_before_{stamp}"  # the replaced database; the next restore drops it


def kept_name(database: str, now: datetime | None = None) -> str:
    return KEPT.format(db=database, stamp=(now or datetime.now(timezone.utc)).strftime("%Y%m%d%H%M%S"))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def check_restorable(stack: Stack, backup_set: sets.BackupSet, db: ContainerInfo) -> None:
    problems = check_files(backup_set)
    if problems:
        raise StackError(f"backup {backup_set.id} is damaged, nothing was touched: {'; '.join(problems)}",
                         "choose another backup: stackctl backups", EXIT_USAGE)
    pg = backup_set.manifest["postgres"]
    creds = credentials.postgres(stack.engine, db)
    target = postgres.server_info(stack.engine, db.id, creds.user, creds.database)
    if postgres.major(pg["server_version_num"]) > postgres.major(target["server_version_num"]):
        raise StackError(
            f"backup {backup_set.id} is from PostgreSQL {pg['server_version']}, this server runs "
            f"{target['server_version']}: a dump does not restore into an older major version",
            f"run PostgreSQL {postgres.major(pg['server_version_num'])} or newer (POSTGRES_IMAGE), then restore",
            EXIT_USAGE)


def restore_plan(stack: Stack, ref: str, *, include_redis: bool = True, from_remote: bool = False) -> Plan:
    """The steps `restore` would take now, without taking any (nothing is read but the set's
    manifest: off-site, nothing is fetched)."""
    if from_remote:
        from stackctl.backup.remote import configured, peek

        backup_set = peek(stack, ref)
        fetch = [Step("fetch", f"backup {backup_set.id}", f"from {configured(stack)}: each file checked against "
                      "its sha256 as it arrives, into a new hidden folder", "delete that folder")]
    else:
        backup_set, fetch = sets.find_set(backup_path(stack), ref), []
    cache = stack.model.one("cache")
    # The database by its name (the set's; the run reads the container's own, normally the same),
    # not the service's: a dry run names what the run will create and keep.
    database = (backup_set.manifest.get("postgres") or {}).get("database") or database_service(stack)
    return Plan("restore", tuple(fetch + plans.restore_steps(backup_set.id, database, cache, data_users(stack),
                                                             _with_redis(stack, backup_set, include_redis),
                                                             kept_name(database))))


def data_users(stack: Stack) -> list[str]:
    """The long-running services other than the database and cache: stopped while data changes."""
    keep = (stack.model.one("database"), stack.model.one("cache"))
    return [n for n, spec in stack.model.services.items() if n not in keep and not spec.oneshot]


def _with_redis(stack: Stack, backup_set: sets.BackupSet, include_redis: bool) -> bool:
    return include_redis and bool(backup_set.manifest.get("redis")) and stack.model.one("cache") is not None


def restore(stack: Stack, ref: str, *, include_redis: bool = True, report: Reporter = SILENT) -> RestoreResult:
    """`stackctl restore` under the stack's lock: one command at a time changes a stack."""
    from stackctl import lock

    with lock.held(stack.engine, stack.name, "restore", wait=stack.settings.lock_wait):
        return _restore(stack, ref, include_redis=include_redis, report=report)


class Restoring:
    """One restore as it runs: what each step of plans.restore_steps does, and undoes."""

    def __init__(self, stack: Stack, backup_set: sets.BackupSet, with_redis: bool, report: Reporter):
        self.stack, self.set, self.with_redis, self.report = stack, backup_set, with_redis, report
        self.eng = stack.engine
        self.db_service, self.cache = database_service(stack), stack.model.one("cache")
        self.db_info = running_container(stack, self.db_service)
        creds = credentials.postgres(self.eng, self.db_info)
        self.db, self.user = creds.database, creds.user
        self.fresh = f"{self.db}_restore_{backup_set.id.lower()}"
        self.previous = kept_name(self.db)
        self.users = data_users(stack)
        self.touched = False  # a step that changes what serves was taken (restore-into does not)
        self.redis_copy = backup_path(stack) / ".redis-before-restore.rdb"  # beside the sets, never one of them
        self.redis_aside: bytes | None = None  # copy-aside fills both; put-snapshot's undo puts them back
        self.redis_path = ""

    def sql(self, statement: str, database: str = "postgres") -> str:
        what = " ".join(statement.split()[:2])  # "ALTER DATABASE", "CREATE DATABASE", ...
        return postgres.checked(postgres.psql(self.eng, self.db_info.id, self.user, database, statement), what)

    def terminate(self, *names: str) -> None:
        listed = ", ".join(_literal(n) for n in names)
        self.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN ({listed}) "
                 f"AND pid <> pg_backend_pid()")

    def act(self, step: Step) -> None:
        self.report.note(f"{step.action} {step.target}")
        self.touched = self.touched or step.action not in ("check", "restore-into")
        getattr(self, "do_" + step.action.replace("-", "_"))()  # a subclass's own way of a step counts

    def undo(self, step: Step) -> None:
        getattr(self, "undo_" + step.action.replace("-", "_"))()

    def do_check(self) -> None:
        check_restorable(self.stack, self.set, self.db_info)
        if self.with_redis:
            info = running_container(self.stack, self.cache)
            password = credentials.redis_password(self.eng, info)
            if redis.cli(self.eng, info.id, password, "CONFIG", "GET", "appendonly").splitlines()[-1] == "yes":
                raise StackError("Redis runs with appendonly: its AOF, not the RDB, would be loaded",
                                 "restore with --no-redis, or turn appendonly off", EXIT_USAGE)

    def do_copy_aside(self) -> None:
        """Redis's data as it is now (nothing writes any more), read back and kept beside the project."""
        import io

        info = running_container(self.stack, self.cache)
        sink = io.BytesIO()
        details = redis.snapshot(self.eng, info.id, credentials.redis_password(self.eng, info), sink)
        self.redis_aside, self.redis_path = sink.getvalue(), details["path"]
        self.redis_copy.parent.mkdir(parents=True, exist_ok=True)
        partial = self.redis_copy.with_suffix(".partial")
        partial.write_bytes(self.redis_aside)
        partial.chmod(0o600)
        if partial.read_bytes() != self.redis_aside:
            raise StackError(f"the copy of Redis's RDB in {partial} does not read back as written")
        partial.replace(self.redis_copy)

    def stop_users(self) -> None:
        self.stack.compose.stop(self.users)

    def do_stop(self) -> None:
        self.stop_users()

    def undo_stop(self) -> None:
        # The data is what it was before the restore: start without re-running migrations.
        run_up(self.stack, None, build="never", check=False, report=self.report, run_oneshots=False)

    def do_restore_into(self) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {_q(self.fresh)}")
        self.sql(f"CREATE DATABASE {_q(self.fresh)} OWNER {_q(self.user)} TEMPLATE template0")
        result = postgres.restore_into(self.eng, self.db_info.id, self.user, self.fresh, self.set.part("postgres"))
        if result.exit_code != 0:  # its undo drops the new database: the data that serves was not touched
            raise StackError(f"backup {self.set.id} does not read in full into a new database, nothing was touched: "
                             f"{postgres.restore_error(result)}", "choose another backup: stackctl backups", EXIT_USAGE)

    def undo_restore_into(self) -> None:
        self.terminate(self.fresh)
        self.sql(f"DROP DATABASE IF EXISTS {_q(self.fresh)}")

    def do_swap(self) -> None:
        self.terminate(self.db, self.fresh)
        self.sql(f"ALTER DATABASE {_q(self.db)} RENAME TO {_q(self.previous)}")
        self.sql(f"ALTER DATABASE {_q(self.fresh)} RENAME TO {_q(self.db)}")

    def undo_swap(self) -> None:
        self.stop_users()  # the start step may have started them on the restored data
        self.terminate(self.db, self.fresh, self.previous)
        databases = self.sql("SELECT datname FROM pg_database").split()
        if self.previous not in databases:
            return  # the swap never began
        if self.db in databases:
            self.sql(f"ALTER DATABASE {_q(self.db)} RENAME TO {_q(self.fresh)}")
        self.sql(f"ALTER DATABASE {_q(self.previous)} RENAME TO {_q(self.db)}")

    def do_put_snapshot(self) -> None:
        info = running_container(self.stack, self.cache)
        # Where this server keeps its RDB (read by copy-aside), never a path the set names.
        redis.restore_rdb(self.eng, info.id, self.redis_path, self.set.part("redis").read_bytes())

    def undo_put_snapshot(self) -> None:
        info = self.stack.containers().get(self.cache)
        if info is not None:
            redis.restore_rdb(self.eng, info.id, self.redis_path, self.redis_aside)

    def do_start(self) -> None:
        run_up(self.stack, None, build="never", check=False, report=self.report)

    def do_keep(self) -> None:
        """The replaced data stays as its own database; what an earlier restore kept goes."""
        prefix = KEPT.format(db=self.db, stamp="")
        earlier = [name for name in self.sql("SELECT datname FROM pg_database").split()
                   if name.startswith(prefix) and name[len(prefix):].isdigit() and name != self.previous]
        for name in earlier:
            self.terminate(name)
            self.sql(f"DROP DATABASE IF EXISTS {_q(name)}")


def _runner(stack: Stack) -> type[Restoring]:
    if stack.project.target == "swarm":
        from stackctl.swarm.restore import SwarmRestoring  # the same steps, through swarm's services

        return SwarmRestoring
    return Restoring


def _restore(stack: Stack, ref: str, *, include_redis: bool = True, report: Reporter = SILENT) -> RestoreResult:
    backup_set = sets.find_set(backup_path(stack), ref)
    run = _runner(stack)(stack, backup_set, _with_redis(stack, backup_set, include_redis), report)
    plan = plans.restore_steps(backup_set.id, run.db, run.cache, run.users, run.with_redis, run.previous)
    started = next(i for i, step in enumerate(plan) if step.action == "start") + 1
    undo_failed: list[str] = []

    def undo(step: Step) -> None:
        report.note(f"undoing {step.action} {step.target}")
        try:
            run.undo(step)
        except Exception as exc:
            undo_failed.append(f"{step.action} {step.target}: {getattr(exc, 'message', exc)}")
            raise  # follow says it and goes on with the other undos

    try:
        follow(plan[:started], run.act, undo=undo, note=report.note)
    except BaseException as exc:
        if not run.touched or isinstance(exc, KeyboardInterrupt):
            raise  # a check that fails touches nothing
        reason = exc.message if isinstance(exc, StackError) else type(exc).__name__
        if undo_failed:  # said, not hidden: what could not be put back is named
            raise RestoreUndone(f"restore of {backup_set.id} failed ({reason}) and undoing it failed too: "
                                f"{'; '.join(undo_failed)}", "see stackctl status; no database was dropped (the data as it "
                                f"was is {run.db} or, if the swap stayed, {run.previous})") from None
        raise RestoreUndone(f"restore of {backup_set.id} failed and was undone: {reason}",
                            "the data is as it was and serves again") from None
    follow(plan[started:], run.act, note=report.note)  # the restored data serves: nothing after this is undone
    return RestoreResult(backup_set, run.previous, run.with_redis, run.redis_copy if run.with_redis else None)


class RestoreUndone(StackError):
    """A restore that failed after touching the data: put back, or (said in the message) what could not be."""

    def __init__(self, message: str, hint: str):
        super().__init__(message, hint, EXIT_FAILED)
