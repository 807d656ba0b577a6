"""`stackctl restore`: put a backup back, or leave everything as it was.

Refuses a damaged backup before touching anything. Then: safety backup, stop the services
that use the data, restore Postgres into a new database, swap names, put Redis's snapshot
back, and start through the same path as `up` (migrations, then health gates). If any step
after the safety backup fails, the swap is undone (and Redis put back), the services are
started again, and the error says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from stackctl.backup import postgres, redis, sets
from stackctl.backup.create import apply_retention, backup, backup_path, database_service, running_container
from stackctl.backup.verify import check_files
from stackctl.containers import ContainerInfo
from stackctl.health import credentials
from stackctl.errors import EXIT_FAILED, EXIT_USAGE, StackError
from stackctl.stack import Stack
from stackctl.up import Progress
from stackctl.up import up as run_up


@dataclass(frozen=True)
class RestoreResult:
    restored: sets.BackupSet
    safety: sets.BackupSet
    redis: bool


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


def restore(stack: Stack, ref: str, *, include_redis: bool = True, progress: Progress,
            say: Callable[[str], None] = lambda _: None) -> RestoreResult:
    """`stackctl restore` under the stack's lock: one command at a time changes a stack."""
    from stackctl import lock

    with lock.held(stack.engine, stack.name, "restore", wait=stack.settings.lock_wait):
        return _restore(stack, ref, include_redis=include_redis, progress=progress, say=say)


def _restore(stack: Stack, ref: str, *, include_redis: bool = True, progress: Progress,
            say: Callable[[str], None] = lambda _: None) -> RestoreResult:
    eng = stack.engine
    db_service, redis_service = database_service(stack), stack.model.one("cache")
    db_info = running_container(stack, db_service)
    db_cid = db_info.id
    backup_set = sets.find_set(backup_path(stack), ref)
    say(f"checking backup {backup_set.id}")
    check_restorable(stack, backup_set, db_info)
    with_redis = include_redis and bool(backup_set.manifest.get("redis")) and redis_service is not None
    if with_redis:
        redis_info = running_container(stack, redis_service)
        redis_cid = redis_info.id
        password = credentials.redis_password(eng, redis_info)
        if redis.cli(eng, redis_cid, password, "CONFIG", "GET", "appendonly").splitlines()[-1] == "yes":
            raise StackError("Redis runs with appendonly: its AOF, not the RDB, would be loaded",
                             "restore with --no-redis, or turn appendonly off", EXIT_USAGE)

    say("taking a safety backup first")
    safety = backup(stack, include_redis=with_redis, kind="pre-restore")
    users = [n for n, spec in stack.model.services.items()
             if n not in (db_service, redis_service) and not spec.oneshot]
    creds = credentials.postgres(eng, db_info)
    db, user = creds.database, creds.user
    fresh, previous = f"{db}_restore_{backup_set.id.lower()}", f"{db}_before_{safety.id.lower()}"
    swapped = redis_put = False

    def sql(statement: str, database: str = "postgres") -> str:
        what = " ".join(statement.split()[:2])  # "ALTER DATABASE", "CREATE DATABASE", ...
        return postgres.checked(postgres.psql(eng, db_cid, user, database, statement), what)

    try:
        say(f"stopping {', '.join(users)}")
        stack.compose.stop(users)
        sql(f"DROP DATABASE IF EXISTS {_q(fresh)}")
        sql(f"CREATE DATABASE {_q(fresh)} OWNER {_q(user)} TEMPLATE template0")
        say("restoring Postgres into a new database")
        result = postgres.restore_into(eng, db_cid, user, fresh, backup_set.part("postgres"))
        if result.exit_code != 0:
            raise StackError(f"pg_restore failed: {result.stderr.strip()[-400:]}")
        say("swapping it in")
        sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN ('{db}', '{fresh}') "
            f"AND pid <> pg_backend_pid()")
        sql(f"ALTER DATABASE {_q(db)} RENAME TO {_q(previous)}")
        swapped = True
        sql(f"ALTER DATABASE {_q(fresh)} RENAME TO {_q(db)}")
        if with_redis:
            say("putting Redis's snapshot back")
            rd = backup_set.manifest["redis"]
            redis.restore_rdb(eng, redis_cid, rd["path"], backup_set.part("redis").read_bytes())
            redis_put = True
        say("migrating and starting the services")
        run_up(stack, None, build="never", check=False, progress=progress)
    except BaseException as exc:
        _roll_back(stack, say, sql, users, db, fresh, previous, swapped, redis_put, safety, redis_service, progress)
        reason = exc.message if isinstance(exc, StackError) else type(exc).__name__
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise StackError(f"restore of {backup_set.id} failed and was undone: {reason}",
                         f"the data is as it was; safety backup {safety.id} holds it too", EXIT_FAILED) from None
    sql(f"DROP DATABASE IF EXISTS {_q(previous)}")
    apply_retention(stack)
    return RestoreResult(backup_set, safety, with_redis)


def _roll_back(stack, say, sql, users, db, fresh, previous, swapped, redis_put, safety, redis_service,
               progress) -> None:
    say("restore failed: putting the previous data back")
    stack.compose.stop(users)
    sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN ('{db}', '{fresh}', '{previous}') "
        f"AND pid <> pg_backend_pid()")
    if swapped:
        databases = sql("SELECT datname FROM pg_database").split()
        if db in databases and previous in databases:
            sql(f"ALTER DATABASE {_q(db)} RENAME TO {_q(fresh)}")
        if previous in sql("SELECT datname FROM pg_database").split():
            sql(f"ALTER DATABASE {_q(previous)} RENAME TO {_q(db)}")
    sql(f"DROP DATABASE IF EXISTS {_q(fresh)}")
    if redis_put:
        rd = safety.manifest["redis"]
        cid = running_container(stack, redis_service).id
        redis.restore_rdb(stack.engine, cid, rd["path"], safety.part("redis").read_bytes())
    # The data is what it was before the restore: start without re-running migrations.
    run_up(stack, None, build="never", check=False, progress=progress, run_oneshots=False)
