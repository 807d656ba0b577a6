"""`stackctl restore`: put a backup back, or leave everything as it was.

Refuses a damaged backup before touching anything. Then: safety backup, stop the services
that use the data, restore Postgres into a new database, swap names, put Redis's snapshot
back, and start through the same path as `up` (migrations, then health gates). If any step
after the safety backup fails, the swap is undone (and Redis put back), the services are
started again, and the error says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackctl.backup import plans, postgres, redis, sets
from stackctl.backup.create import apply_retention, backup, backup_path, database_service, running_container
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
    safety: sets.BackupSet
    redis: bool

    def to_dict(self) -> dict:
        return {"restored": self.restored.id, "safety_backup": self.safety.id, "redis": self.redis}


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


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
    ok, _rows, error = postgres.full_read(stack.engine, db.image, backup_set.part("postgres"))
    if not ok:
        raise StackError(f"backup {backup_set.id} does not read in full, nothing was touched: {error}",
                         "choose another backup: stackctl backups", EXIT_USAGE)


def restore_plan(stack: Stack, ref: str, *, include_redis: bool = True) -> Plan:
    """The steps `restore` would take now, without taking any (nothing is read but the set)."""
    backup_set = sets.find_set(backup_path(stack), ref)
    db_service, cache = database_service(stack), stack.model.one("cache")
    return Plan("restore", tuple(plans.restore_steps(backup_set.id, db_service, cache, data_users(stack),
                                                     _with_redis(stack, backup_set, include_redis))))


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
        self.users = data_users(stack)
        self.safety: sets.BackupSet | None = None

    @property
    def previous(self) -> str:
        return f"{self.db}_before_{self.safety.id.lower()}"

    def sql(self, statement: str, database: str = "postgres") -> str:
        what = " ".join(statement.split()[:2])  # "ALTER DATABASE", "CREATE DATABASE", ...
        return postgres.checked(postgres.psql(self.eng, self.db_info.id, self.user, database, statement), what)

    def terminate(self, *names: str) -> None:
        listed = ", ".join(f"'{n}'" for n in names)
        self.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN ({listed}) "
                 f"AND pid <> pg_backend_pid()")

    def act(self, step: Step) -> None:
        self.report.note(f"{step.action} {step.target}")
        DO[step.action](self)

    def undo(self, step: Step) -> None:
        UNDO[step.action](self)

    def do_check(self) -> None:
        check_restorable(self.stack, self.set, self.db_info)
        if self.with_redis:
            info = running_container(self.stack, self.cache)
            password = credentials.redis_password(self.eng, info)
            if redis.cli(self.eng, info.id, password, "CONFIG", "GET", "appendonly").splitlines()[-1] == "yes":
                raise StackError("Redis runs with appendonly: its AOF, not the RDB, would be loaded",
                                 "restore with --no-redis, or turn appendonly off", EXIT_USAGE)

    def do_safety_backup(self) -> None:
        self.safety = backup(self.stack, include_redis=self.with_redis, kind="pre-restore")

    def do_stop(self) -> None:
        self.stack.compose.stop(self.users)

    def undo_stop(self) -> None:
        # The data is what it was before the restore: start without re-running migrations.
        run_up(self.stack, None, build="never", check=False, report=self.report, run_oneshots=False)

    def do_restore_into(self) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {_q(self.fresh)}")
        self.sql(f"CREATE DATABASE {_q(self.fresh)} OWNER {_q(self.user)} TEMPLATE template0")
        result = postgres.restore_into(self.eng, self.db_info.id, self.user, self.fresh, self.set.part("postgres"))
        if result.exit_code != 0:
            raise StackError(f"pg_restore failed: {result.stderr.strip()[-400:]}")

    def undo_restore_into(self) -> None:
        self.terminate(self.fresh)
        self.sql(f"DROP DATABASE IF EXISTS {_q(self.fresh)}")

    def do_swap(self) -> None:
        self.terminate(self.db, self.fresh)
        self.sql(f"ALTER DATABASE {_q(self.db)} RENAME TO {_q(self.previous)}")
        self.sql(f"ALTER DATABASE {_q(self.fresh)} RENAME TO {_q(self.db)}")

    def undo_swap(self) -> None:
        self.stack.compose.stop(self.users)  # the start step may have started them on the restored data
        self.terminate(self.db, self.fresh, self.previous)
        databases = self.sql("SELECT datname FROM pg_database").split()
        if self.previous not in databases:
            return  # the swap never began
        if self.db in databases:
            self.sql(f"ALTER DATABASE {_q(self.db)} RENAME TO {_q(self.fresh)}")
        self.sql(f"ALTER DATABASE {_q(self.previous)} RENAME TO {_q(self.db)}")

    def do_put_snapshot(self) -> None:
        info = running_container(self.stack, self.cache)
        redis.restore_rdb(self.eng, info.id, self.set.manifest["redis"]["path"], self.set.part("redis").read_bytes())

    def undo_put_snapshot(self) -> None:
        info = self.stack.containers().get(self.cache)
        if info is not None:
            redis.restore_rdb(self.eng, info.id, self.safety.manifest["redis"]["path"],
                              self.safety.part("redis").read_bytes())

    def do_start(self) -> None:
        run_up(self.stack, None, build="never", check=False, report=self.report)

    def do_drop(self) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {_q(self.previous)}")

    def do_prune(self) -> None:
        apply_retention(self.stack)


DO = {"check": Restoring.do_check, "safety-backup": Restoring.do_safety_backup, "stop": Restoring.do_stop,
      "restore-into": Restoring.do_restore_into, "swap": Restoring.do_swap, "put-snapshot": Restoring.do_put_snapshot,
      "start": Restoring.do_start, "drop": Restoring.do_drop, "prune": Restoring.do_prune}
UNDO = {"stop": Restoring.undo_stop, "restore-into": Restoring.undo_restore_into, "swap": Restoring.undo_swap,
        "put-snapshot": Restoring.undo_put_snapshot}


def _restore(stack: Stack, ref: str, *, include_redis: bool = True, report: Reporter = SILENT) -> RestoreResult:
    backup_set = sets.find_set(backup_path(stack), ref)
    run = Restoring(stack, backup_set, _with_redis(stack, backup_set, include_redis), report)
    plan = plans.restore_steps(backup_set.id, run.db_service, run.cache, run.users, run.with_redis)
    started = next(i for i, step in enumerate(plan) if step.action == "start") + 1
    try:
        follow(plan[:started], run.act, undo=lambda step: (report.note(f"undoing {step.action} {step.target}"),
                                                            run.undo(step)), note=report.note)
    except BaseException as exc:
        if run.safety is None or isinstance(exc, KeyboardInterrupt):
            raise  # before the safety backup nothing was touched
        reason = exc.message if isinstance(exc, StackError) else type(exc).__name__
        raise RestoreUndone(f"restore of {backup_set.id} failed and was undone: {reason}",
                            f"the data is as it was; safety backup {run.safety.id} holds it too") from None
    follow(plan[started:], run.act, note=report.note)  # the restored data serves: nothing after this is undone
    return RestoreResult(backup_set, run.safety, run.with_redis)


class RestoreUndone(StackError):
    """A restore that failed after touching the data, and was put back."""

    def __init__(self, message: str, hint: str):
        super().__init__(message, hint, EXIT_FAILED)
