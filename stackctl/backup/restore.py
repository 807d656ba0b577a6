"""`stackctl restore`: put a backup back, or leave everything as it was.

Refuses before touching anything a set that is not authenticated by this host's key, damaged
(checksums), from a newer server major, or made for another stack or environment (each unless
the user says they accept it). Then, while everything still serves: the set's roles this server
lacks are created, and every database of the set goes into a new database (that is the dump's
full read: one that does not read in full is refused there, its new database dropped), whose rows
per table must equal the set's. Only then: stop the services that use the data, copy the cache's
snapshot aside, swap names through a maintenance connection (each current database renamed aside,
never dumped: a restore costs little more than pg_restore; `postgres` too), put the cache's
snapshot back, start through the same path as `up` (migrations, health gates), and count the rows
again: a table the services' start changed is named (exit 3). If any step before the start
settles fails, the steps taken are undone newest first and the error says what serves. After a
success the replaced databases are kept under their own names until the next restore.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from stackctl.backup import plans, seal, sets
from stackctl.backup.create import database_service, running_container
from stackctl.backup.sets import backup_path
from stackctl.backup.verify import check_files
from stackctl.errors import EXIT_FAILED, EXIT_UNHEALTHY, EXIT_USAGE, StackError
from stackctl.report import SILENT, Metered, Reporter
from stackctl.stack import Stack
from stackctl.steps import Plan, Step
from stackctl.steps import run as run_steps
from stackctl.up import up as run_up

OTHER_STACK_FLAG = "--accept-other-stack"
# Writers are paused between transactions: paused with a session inside one, they are resumed for
# QUIESCE_PAUSE and paused again, at most QUIESCE_ATTEMPTS times.
QUIESCE_ATTEMPTS = 50
QUIESCE_PAUSE = 0.02


@dataclass(frozen=True)
class Accepting:
    """What the user said they accept of a set (each an explicit flag)."""

    unauthenticated: bool = False
    other_stack: bool = False


@dataclass(frozen=True)
class RestoreResult:
    restored: sets.BackupSet
    databases: tuple[str, ...]
    kept: dict[str, str]  # database -> the name the data it replaced is kept under
    rows: int
    tables: int
    roles_created: tuple[str, ...] = ()
    redis: bool = False
    redis_copy: Path | None = None  # the cache's snapshot as it was before the restore
    changed_by_start: tuple[str, ...] = field(default=())
    paused_seconds: float | None = None  # the writers paused around the swap (None: stopped and started)

    def to_dict(self) -> dict:
        return {"restored": self.restored.id, "databases": list(self.databases), "kept": self.kept,
                "rows": self.rows, "tables": self.tables, "counts_match": not self.changed_by_start,
                "changed_by_start": list(self.changed_by_start), "roles_created": list(self.roles_created),
                "redis": self.redis, "redis_copy": str(self.redis_copy) if self.redis_copy else None,
                "paused_seconds": round(self.paused_seconds, 3) if self.paused_seconds is not None else None}


def stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(timezone.utc)).strftime("%Y%m%d%H%M%S")


def restore_plan(stack: Stack, ref: str, *, include_redis: bool = True, from_remote: bool = False,
                 database: str | None = None) -> Plan:
    """The steps `restore` would take now, without taking any (nothing is read but the set's
    manifest: off-site, nothing is fetched)."""
    if from_remote:
        from stackctl.backup.offsite import peek, where

        backup_set = peek(stack, ref)
        fetch = [Step("fetch", f"backup {backup_set.id}", f"from {where(stack)}: each file checked against "
                      "its sha256 as it arrives, into a new hidden folder", "delete that folder")]
    else:
        backup_set, fetch = sets.find_set(backup_path(stack), ref), []
    names = [d["name"] for d in chosen(backup_set, database)]
    kind = stack.kind("database")
    kept = {name: kind.kept_name(name, stamp(), i) for i, name in enumerate(names)}
    return Plan("restore", tuple(fetch + plans.restore_steps(
        backup_set.id, database_service(stack), names, kept, bool(backup_set.database.get("globals")),
        stack.model.one("cache"), data_users(stack), _with_cache(stack, backup_set, include_redis and not database))))


def chosen(backup_set: sets.BackupSet, database: str | None) -> list[dict]:
    """The set's databases a restore puts back: all, or the one `--database` names."""
    found = backup_set.databases()
    if database is None:
        return found
    picked = [d for d in found if d["name"] == database]
    if not picked:
        raise StackError(f"backup {backup_set.id} holds no database {database!r}",
                         f"it holds: {', '.join(d['name'] for d in found)}", EXIT_USAGE)
    return picked


def data_users(stack: Stack) -> list[str]:
    """The long-running services other than the database and cache: stopped while data changes."""
    keep = (stack.model.one("database"), stack.model.one("cache"))
    return [n for n, spec in stack.model.services.items() if n not in keep and not spec.oneshot]


def _with_cache(stack: Stack, backup_set: sets.BackupSet, include: bool) -> bool:
    return include and backup_set.cache is not None and stack.model.one("cache") is not None


def restore(stack: Stack, ref: str, *, include_redis: bool = True, database: str | None = None,
            accepting: Accepting = Accepting(), report: Reporter = SILENT, restart: bool = False) -> RestoreResult:
    """`stackctl restore` under the stack's lock: one command at a time changes a stack. `restart`:
    the services stopped and started through up even where pausing them would do."""
    with stack.locked("restore"):
        return _restore(stack, ref, include_redis=include_redis and not database, database=database,
                        accepting=accepting, report=report, restart=restart)


class Restoring:
    """One restore as it runs: what each step of plans.restore_steps does, and undoes."""

    def __init__(self, stack: Stack, backup_set: sets.BackupSet, with_cache: bool, report: Reporter,
                 database: str | None = None, accepting: Accepting = Accepting(), restart: bool = False):
        self.stack, self.set, self.with_redis, self.report, self.accepting, self.restart = \
            stack, backup_set, with_cache, report, accepting, restart
        self.eng = stack.engine
        self.db_service, self.cache = database_service(stack), stack.model.one("cache")
        self.kind = stack.kind("database")
        self.db_info = running_container(stack, self.db_service)
        self.server = self.kind.server(self.eng, self.db_info)
        self.databases = chosen(backup_set, database)
        self.names = [d["name"] for d in self.databases]
        when = stamp()
        self.fresh = {d["name"]: self.kind.fresh_name(backup_set.id, i) for i, d in enumerate(self.databases)}
        self.previous = {d["name"]: self.kind.kept_name(d["name"], when, i) for i, d in enumerate(self.databases)}
        self.with_roles = bool(backup_set.database.get("globals"))
        self.roles_created: list[str] = []
        self.renames: list[tuple[str, str]] = []  # taken by swap, in order: its undo takes them back
        self.kept: dict[str, str] = {}
        self.restored_counts: dict[str, dict[str, int]] = {}
        self.changed: list[str] = []
        self.users = data_users(stack)
        self.touched = False  # a step that changes what serves was taken (check, roles, restore-into do not)
        self.redis_copy = backup_path(stack) / ".redis-before-restore.rdb"  # beside the sets, never one of them
        self.redis_aside: bytes | None = None  # copy-aside fills both; put-snapshot's undo puts them back
        self.redis_path = ""
        # Set by restore-into: the restored databases have the schema the running services run with
        # (their digests equal), so the writers are paused, not stopped, and nothing is migrated.
        self.same_schema = False
        self.present: set[str] | None = None  # the server's databases, read by restore-into while all serve
        self.paused: list[str] = []  # containers paused by stop, until start (or an undo) resumes them
        self.paused_at = 0.0
        self.paused_seconds: float | None = None  # from the pause that held to the resume of start

    def can_pause(self) -> bool:
        """Whether the writers may be paused around the swap and resumed on the restored data: not
        asked to restart (--restart), the database kind can tell schemas apart, and each user runs.
        Swarm's restore has its own way."""
        if self.restart or not hasattr(self.server, "schema"):
            return False
        running = self.stack.containers()
        return all(running.get(name) is not None and running[name].state == "running" for name in self.users)

    def steps(self) -> list[Step]:
        return plans.restore_steps(self.set.id, self.db_service, self.names, self.previous, self.with_roles,
                                   self.cache, self.users, self.with_redis)

    def handlers(self) -> dict:
        """A handler for each action of plans.restore_steps, by method: a subclass's own way of a
        step (swarm's) counts."""
        actions = ("check", "roles", "restore-into", "stop", "copy-aside", "swap", "put-snapshot", "start", "count",
                   "keep")
        return {action: (lambda step, act=getattr(self, "do_" + action.replace("-", "_")): self._act(step, act))
                for action in actions}

    def _act(self, step: Step, act) -> None:
        self.report.note(f"{step.action} {step.target}")
        self.touched = self.touched or step.action not in ("check", "roles", "restore-into")
        act()

    def undo(self, step: Step) -> None:
        getattr(self, "undo_" + step.action.replace("-", "_"))()

    def do_check(self) -> None:
        s, m = self.stack, self.set.manifest
        seal.require(m, seal.load_key(seal.key_path(s.project, s.settings)), f"backup {self.set.id}",
                     self.accepting.unauthenticated)
        made_for = (m.get("stack"), m.get("env"))
        if made_for != (s.name, s.project.env) and not self.accepting.other_stack:
            raise StackError(f"backup {self.set.id} was made for stack {made_for[0]} ({made_for[1]}), this is stack "
                             f"{s.name} ({s.project.env}): nothing was touched",
                             f"restore it here anyway with {OTHER_STACK_FLAG}", EXIT_USAGE)
        if self.set.database["kind"] != self.kind.name:
            raise StackError(f"backup {self.set.id} holds {self.set.database['kind']} databases, this stack's database "
                             f"is {self.kind.name}: nothing was touched", "choose a backup of this stack: stackctl "
                             "backups", EXIT_USAGE)
        problems = check_files(self.set)
        if problems:
            raise StackError(f"backup {self.set.id} is damaged, nothing was touched: {'; '.join(problems)}",
                             "choose another backup: stackctl backups", EXIT_USAGE)
        made, here = self.set.database, self.server.version()
        if self.kind.major(made["server_version_num"]) > self.kind.major(here["server_version_num"]):
            raise StackError(
                f"backup {self.set.id} is from {made['kind']} {made['server_version']}, this server runs "
                f"{here['server_version']}: a dump does not restore into an older major version",
                f"run {self.kind.major(made['server_version_num'])} or newer, then restore", EXIT_USAGE)
        if self.with_redis:
            cache = running_container(s, self.cache)
            if self.stack.kind("cache").appendonly(self.eng, cache):
                raise StackError("the cache runs with appendonly: its AOF, not the snapshot, would be loaded",
                                 "restore with --no-redis, or turn appendonly off", EXIT_USAGE)
            self.stack.kind("cache").rdb_owner(self.eng, cache)  # asked now, while everything serves

    def do_roles(self) -> None:
        self.roles_created = self.server.restore_roles(self.set.file(self.set.database["globals"]))

    def undo_roles(self) -> None:
        self.server.drop_roles(self.roles_created)

    def do_restore_into(self) -> None:
        for database in self.databases:
            name, fresh = database["name"], self.fresh[database["name"]]
            self.report.note(f"restoring database {name} into {fresh}")
            self.server.create(fresh, self.kind.database(database, self.server.user))
            dump = self.set.file(database)
            result = self.server.restore_into(fresh, dump, owners=self.with_roles,
                                              meter=Metered(self.report, f"restore {name}", dump.stat().st_size))
            if result.exit_code != 0:  # its undo drops the new databases: the data that serves was not touched
                raise StackError(f"backup {self.set.id} does not read in full into a new database, nothing was "
                                 f"touched: {self.kind.restore_error(result)}", "choose another backup: stackctl backups",
                                 EXIT_USAGE)
            counts, extension_tables = self.server.counts(fresh)
            expected = {t: n for t, n in database.get("tables", {}).items() if t not in extension_tables}
            wrong = _differences(expected, counts)
            if wrong:
                raise StackError(f"backup {self.set.id}: database {name} restored with other rows than the set "
                                 f"holds, nothing was touched: {'; '.join(wrong[:5])}",
                                 "choose another backup: stackctl backups", EXIT_USAGE)
            self.restored_counts[name] = counts
        self.present = set(self.server.all_names())
        self.same_schema = self._same_schema()

    def _same_schema(self) -> bool:
        """Each restored database's schema digest equals the one it replaces (read while it serves)."""
        if not self.writers() or not self.can_pause():  # nothing that writes to pause: the stop path
            return False
        present = self.present
        for name in self.names:
            fresh = self.server.schema(self.fresh[name])
            if fresh is None or name not in present or fresh != self.server.schema(name):
                self.report.note(f"{name}: the set's schema is not the one the services run with: they are "
                                 "stopped, and started through up (migrations)")
                return False
        self.report.note("the set's schema is the one the services run with: writers paused around the swap, "
                         "nothing migrated")
        return True

    def undo_restore_into(self) -> None:
        for fresh in self.fresh.values():
            self.server.drop(fresh)

    def stop_users(self) -> None:
        self.resume()
        self.stack.compose.stop(self.users)

    def writers(self) -> list[str]:
        """The users that may write: every one but the proxy (it keeps answering, and its clients wait)."""
        return [name for name in self.users if self.stack.model.services[name].role != "proxy"]

    def do_stop(self) -> None:
        if not self.same_schema:
            self.stop_users()
            return
        running = self.stack.containers()
        for attempt in range(QUIESCE_ATTEMPTS):
            self.paused_at = time.monotonic()
            try:
                for name in self.writers():
                    self.eng.pause(running[name].id)
                    self.paused.append(running[name].id)
            except StackError as exc:
                # The freezer cannot freeze a task inside the kernel (disk I/O, "unable to freeze"): a
                # later moment can, as for a transaction. An engine that never can (no cgroup freezer)
                # gets the services stopped instead.
                self.resume()
                if attempt < QUIESCE_ATTEMPTS - 1:
                    time.sleep(QUIESCE_PAUSE)
                    continue
                self.same_schema = False
                self.report.note(f"pausing did not work ({exc.message}): the services are stopped, and started "
                                 "through up")
                self.stop_users()
                return
            busy = self.server.busy(*self.names)
            if not busy:
                kept = [name for name in self.users if name not in self.writers()]
                self.report.note(f"paused {', '.join(self.writers())} between transactions"
                                 + (f"; {', '.join(kept)} keeps answering" if kept else ""))
                return
            if attempt == QUIESCE_ATTEMPTS - 1:
                self.report.note(f"{busy} session(s) still inside a transaction after {QUIESCE_ATTEMPTS} tries: "
                                 "the swap ends them (their requests fail)")
                return
            self.resume()  # paused mid-transaction: let it finish, then pause again
            time.sleep(QUIESCE_PAUSE)

    def resume(self) -> None:
        """Unpause what stop paused (the newest first)."""
        while self.paused:
            self.eng.unpause(self.paused.pop())

    def undo_stop(self) -> None:
        # The data is what it was before the restore: start without re-running migrations.
        self.resume()
        run_up(self.stack, None, build="never", check=False, report=self.report, run_oneshots=False)

    def do_copy_aside(self) -> None:
        """The cache's data as it is now (nothing writes any more), read back and kept beside the project."""
        import io

        info = running_container(self.stack, self.cache)
        sink = io.BytesIO()
        details = self.stack.kind("cache").snapshot(self.eng, info, sink)
        self.redis_aside, self.redis_path = sink.getvalue(), details["path"]
        self.redis_copy.parent.mkdir(parents=True, exist_ok=True)
        partial = self.redis_copy.with_suffix(".partial")
        partial.write_bytes(self.redis_aside)
        partial.chmod(0o600)
        if partial.read_bytes() != self.redis_aside:
            raise StackError(f"the copy of the cache's snapshot in {partial} does not read back as written")
        partial.replace(self.redis_copy)

    def _rename(self, old: str, new: str) -> None:
        self.server.rename(old, new)
        self.renames.append((old, new))

    def do_swap(self) -> None:
        present = set(self.server.all_names()) if self.present is None else self.present
        renames = []
        for name in self.names:
            if name in present:
                renames.append((name, self.previous[name]))
                self.kept[name] = self.previous[name]
            renames.append((self.fresh[name], name))
        if hasattr(self.server, "swap"):  # all at once (one transaction), where the kind can
            self.server.swap(renames)
            self.renames += renames
            return
        for old, new in renames:
            self._rename(old, new)

    def undo_swap(self) -> None:
        self.stop_users()  # the start step may have started them on the restored data (resumed first if paused)
        while self.renames:
            old, new = self.renames.pop()
            self.server.rename(new, old)

    def do_put_snapshot(self) -> None:
        info = running_container(self.stack, self.cache)
        # Where this server keeps its snapshot (read by copy-aside), never a path the set names.
        self.stack.kind("cache").restore_rdb(self.eng, info.id, self.redis_path, self.set.file(self.set.cache).read_bytes())

    def undo_put_snapshot(self) -> None:
        info = self.stack.containers().get(self.cache)
        if info is not None:
            self.stack.kind("cache").restore_rdb(self.eng, info.id, self.redis_path, self.redis_aside)

    def do_start(self) -> None:
        if not self.same_schema:
            run_up(self.stack, None, build="never", check=False, report=self.report)
            return
        self.paused_seconds = time.monotonic() - self.paused_at
        self.resume()
        self.report.note(f"{', '.join(self.writers())} resumed on the restored data after {self.paused_seconds:.2f}s "
                         "paused (their processes kept)")

    def do_count(self) -> None:
        """Rows again, once the services started on the restored data: what their start changed.
        Paused and resumed, nothing started (and clients write again at once): nothing to count."""
        if self.paused_seconds is not None:
            self.report.note("nothing was started: the rows were counted in the new databases before the swap")
            return
        for name in self.names:
            now, _ = self.server.counts(name)
            self.changed += [f"{name}.{change}" for change in _differences(self.restored_counts[name], now)]

    def do_keep(self) -> None:
        """The replaced data stays as its own databases; what an earlier restore kept goes."""
        for name in self.server.kept():
            if name not in self.kept.values():
                self.server.drop(name)


def _differences(expected: dict[str, int], found: dict[str, int]) -> list[str]:
    changed = [f"{t}: {n} -> {found.get(t, 'gone')}" for t, n in sorted(expected.items()) if found.get(t) != n]
    return changed + [f"{t}: none -> {n}" for t, n in sorted(found.items()) if t not in expected]


def _restore(stack: Stack, ref: str, *, include_redis: bool, database: str | None, accepting: Accepting,
             report: Reporter, restart: bool = False) -> RestoreResult:
    backup_set = sets.find_set(backup_path(stack), ref)
    run = stack.target.restoring(stack, backup_set, _with_cache(stack, backup_set, include_redis), report, database,
                                 accepting, restart=restart)
    plan = run.steps()
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
        run_steps(plan[:started], run.handlers(), undo=undo, note=report.note)
    except BaseException as exc:
        if not run.touched or isinstance(exc, KeyboardInterrupt):
            raise  # nothing that serves was touched (what was made aside is undone)
        reason = exc.message if isinstance(exc, StackError) else type(exc).__name__
        if undo_failed:  # said, not hidden: what could not be put back is named
            raise RestoreUndone(f"restore of {backup_set.id} failed ({reason}) and undoing it failed too: "
                                f"{'; '.join(undo_failed)}", "see stackctl status; no database was dropped (the data as "
                                f"it was is under its own name or {', '.join(run.previous.values())})") from None
        raise RestoreUndone(f"restore of {backup_set.id} failed and was undone: {reason}",
                            "the data is as it was and serves again (stackctl status shows it)") from None
    run_steps(plan[started:], run.handlers(), note=report.note)  # the restored data serves: none of this is undone
    result = RestoreResult(backup_set, tuple(run.names), dict(run.kept),
                           sum(sum(c.values()) for c in run.restored_counts.values()),
                           sum(len(c) for c in run.restored_counts.values()), tuple(run.roles_created),
                           run.with_redis, run.redis_copy if run.with_redis else None, tuple(run.changed),
                           run.paused_seconds)
    if run.changed:
        raise StartChangedData(result)
    return result


class RestoreUndone(StackError):
    """A restore that failed after touching the data: put back, or (said in the message) what could not be."""

    def __init__(self, message: str, hint: str):
        super().__init__(message, hint, EXIT_FAILED)


class StartChangedData(StackError):
    """The set's data went in with the set's rows, and the services' start changed some (exit 3)."""

    def __init__(self, result: RestoreResult):
        super().__init__(f"restored backup {result.restored.id} with the set's rows, then the services' start "
                         f"changed them: {'; '.join(result.changed_by_start[:8])}",
                         "an entrypoint or migration writes at start (a flush or seed step?): see stackctl logs",
                         EXIT_UNHEALTHY)
        self.result = result
