"""restore as a plan (text) and as its executor over a fake engine: the Postgres catalog is
simulated from the SQL stackctl sends, so the tests assert which data ends up named what."""

import hashlib
import re

import pytest

from stackctl.backup import plans, restore as restore_mod, sets
from stackctl.backup.sets import BackupSet
from stackctl.containers import ExecResult
from stackctl.errors import StackError
from stackctl.plan import parse_model
from stackctl.roles import parse as parse_roles
from tests.unit.fakes import FakeEngine, container, fake_stack

ID = "20260101T000000Z"


def model(with_cache=True):
    services = {"db": {"image": "postgis/postgis:16"}, "api": {"image": "shop/api", "depends_on": {"db": {}}},
                "migrate": {"image": "shop/api", "depends_on": {"db": {}}}, "web": {"image": "shop/web"}}
    roles = {"database": "db", "migrate": "migrate", "apps": {"api": {"port": 3000}, "web": {}}}
    if with_cache:
        services["cache"] = {"image": "redis:7"}
        roles["cache"] = "cache"
    return parse_model({"name": "shop", "services": services}, parse_roles(roles, "test"))


KEPT = "shop_before_20260303000000"


def test_restore_plan_with_redis():
    assert [str(s) for s in plans.restore_steps(ID, "db", "cache", ["api", "web"], True, KEPT)] == [
        f"check backup {ID} (checksums, the server's major version)",
        f"restore-into db_restore_{ID.lower()} (a new database, read in full while the current one still serves) "
        "[undo: drop it]",
        "stop api, web (nothing writes while the data changes) [undo: start them again (migrations not re-run)]",
        "copy-aside cache (BGSAVE, its RDB as it is now copied beside the backups)",
        f"swap db (db_restore_{ID.lower()} takes the name; the current data is renamed {KEPT}) "
        "[undo: the names swapped back]",
        "put-snapshot cache (stop it, put the set's RDB in place, start it) [undo: the RDB copied aside put back]",
        "start every service (migrations, then each gated on health)",
        f"keep {KEPT} (the data this restore replaced stays until the next restore, which drops it)",
    ]


def test_restore_plan_without_redis_leaves_the_cache_alone():
    steps = plans.restore_steps(ID, "db", "cache", ["api"], False, KEPT)
    assert [s.action for s in steps] == ["check", "restore-into", "stop", "swap", "start", "keep"]
    assert not any("cache" in str(step) for step in steps)


def test_backup_plan_names_the_roles():
    assert [str(s).split(" (")[0] for s in plans.backup_steps("db", "cache", True, ["api"])] == [
        "dump db", "snapshot cache", "record api", "restore-test db", "seal the set", "prune old sets"]
    assert [s.action for s in plans.backup_steps("db", None, False, [])] == ["dump", "seal", "prune"]


def make_set(folder, backup_id, with_redis):
    folder.mkdir(parents=True)
    manifest = {"format": sets.FORMAT, "complete": True, "id": backup_id, "created_at": "2026-01-01T00:00:00+00:00",
                "kind": "manual"}
    for part, name, data in (("postgres", "postgres.dump", b"PGDMP"), ("redis", "redis.rdb", b"REDIS0011")):
        if part == "redis" and not with_redis:
            continue
        (folder / name).write_bytes(data)
        manifest[part] = {"file": name, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                          "server_version_num": 160004, "server_version": "16.4", "tables": {}, "path": "/data/dump.rdb"}
    sets.write_manifest(folder, manifest)
    return BackupSet(folder, manifest)


class Catalog:
    """The databases of the fake server, each name pointing at whose data it holds."""

    def __init__(self, dump_reads=True):
        self.databases = {"shop": "live data", "postgres": "system"}
        self.dump_reads = dump_reads

    def __call__(self, cid, cmd, env):
        if cmd[0] == "docker":  # restore_into via `docker exec -i`
            if not self.dump_reads:
                return ExecResult(1, "", "pg_restore: error: could not read from input file: end of file\n"
                                         "Command was: COPY public.stops (id, name) FROM stdin;\n")
            if "exec" in cmd:
                fresh = cmd[cmd.index("-d") + 1]
                self.databases[fresh] = "backup data"
            return ExecResult(0, "EXIT 0\n", "")
        if cmd[0] == "redis-cli":
            return ExecResult(0, "appendonly\nno\n", "")
        sql = cmd[-1]
        if "current_setting('server_version_num')" in sql:
            return ExecResult(0, "160004|16.4|\n", "")
        if sql.startswith("SELECT datname"):
            return ExecResult(0, "\n".join(self.databases) + "\n", "")
        if m := re.match(r'CREATE DATABASE "(\w+)"', sql):
            self.databases[m[1]] = "empty"
        elif m := re.match(r'DROP DATABASE IF EXISTS "(\w+)"', sql):
            self.databases.pop(m[1], None)
        elif m := re.match(r'ALTER DATABASE "(\w+)" RENAME TO "(\w+)"', sql):
            self.databases[m[2]] = self.databases.pop(m[1])
        return ExecResult(0, "", "")


@pytest.fixture
def restoring(tmp_path, monkeypatch):
    def build(with_cache=True, fail_at_start=False, fail_undo=False, dump_reads=True):
        catalog = Catalog(dump_reads)
        db_env = ("POSTGRES_USER=app", "POSTGRES_DB=shop", "POSTGRES_PASSWORD=pw")
        engine = FakeEngine([container("db", env=db_env), container("cache"), container("api"), container("web")],
                            exec_handler=catalog)
        stack = fake_stack(tmp_path, model(with_cache), engine)
        folder = tmp_path / "backups" / "shop"
        make_set(folder / ID, ID, with_redis=True)
        catalog.databases["shop_before_20250101000000"] = "what an earlier restore replaced"
        monkeypatch.setattr(restore_mod, "backup_path", lambda s: folder)
        monkeypatch.setattr(restore_mod, "kept_name", lambda db, now=None: f"{db}_before_20260303000000")

        def snapshot(engine_, cid, password, sink):
            engine.calls.append("copy aside redis")
            sink.write(b"REDIS-LIVE")
            return {"path": "/data/dump.rdb"}

        monkeypatch.setattr(restore_mod.redis, "snapshot", snapshot)
        started = []

        def up(s, services, run_oneshots=True, **kw):
            engine.calls.append("up" if run_oneshots else "up without migrations")
            if fail_at_start and run_oneshots:
                started.append(True)
                raise StackError("api did not become healthy within its deadline")
            if fail_undo and not run_oneshots:
                raise StackError("web did not start")

        monkeypatch.setattr(restore_mod, "run_up", up)
        return stack, engine, catalog

    return build


def test_a_restore_swaps_the_backup_in_and_keeps_the_data_it_replaced(restoring, tmp_path):
    stack, engine, catalog = restoring()
    result = restore_mod.restore(stack, ID)
    # the backup serves under the name; the live data is kept (renamed, never dumped); what an
    # earlier restore kept is dropped
    assert catalog.databases == {"shop": "backup data", "postgres": "system", KEPT: "live data"}
    assert result.redis and result.kept_database == KEPT
    restored = next(i for i, c in enumerate(engine.calls) if c.startswith("docker exec -i"))  # pg_restore
    # the dump goes into its new database while everything still serves; only then the writers stop
    assert restored < engine.calls.index("compose stop api web") < engine.calls.index("copy aside redis") \
        < engine.calls.index("up")
    assert "write cache-id /data/dump.rdb (9 bytes)" in engine.calls
    assert result.redis_copy.read_bytes() == b"REDIS-LIVE" and oct(result.redis_copy.stat().st_mode & 0o777) == "0o600"
    assert engine.calls[-1] == "remove stackctl-lock-shop"


def test_a_restore_that_fails_at_start_puts_everything_back(restoring):
    stack, engine, catalog = restoring(fail_at_start=True)
    with pytest.raises(restore_mod.RestoreUndone, match=f"restore of {ID} failed and was undone: api did not"):
        restore_mod.restore(stack, ID)
    assert catalog.databases == {"shop": "live data", "postgres": "system",  # the live data, under its name
                                 "shop_before_20250101000000": "what an earlier restore replaced"}
    writes = [c for c in engine.calls if c.startswith("write cache-id")]
    assert writes == ["write cache-id /data/dump.rdb (9 bytes)", "write cache-id /data/dump.rdb (10 bytes)"]
    # undone newest first: the services start on the data as it was, then the new database is dropped
    after_start = engine.calls[engine.calls.index("up without migrations") + 1:]
    assert [c.split(" -c ")[-1] for c in after_start] == [
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN ('shop_restore_{ID.lower()}') "
        "AND pid <> pg_backend_pid()", f'DROP DATABASE IF EXISTS "shop_restore_{ID.lower()}"',
        "remove stackctl-lock-shop"]


def test_a_restore_whose_undo_fails_too_says_so_instead_of_all_is_well(restoring):
    stack, engine, catalog = restoring(fail_at_start=True, fail_undo=True)
    with pytest.raises(restore_mod.RestoreUndone) as raised:
        restore_mod.restore(stack, ID)
    assert raised.value.message == (f"restore of {ID} failed (api did not become healthy within its deadline) and "
                                    "undoing it failed too: stop api, web: web did not start")
    assert "serves again" not in raised.value.hint and "no database was dropped" in raised.value.hint
    assert catalog.databases["shop"] == "live data"  # the other undos still ran: the names are swapped back


def test_a_restore_without_a_cache_role_never_touches_redis(restoring):
    stack, engine, catalog = restoring(with_cache=False)
    result = restore_mod.restore(stack, ID)
    assert not result.redis and not any(c.startswith(("write", "exec cache")) for c in engine.calls)
    assert catalog.databases["shop"] == "backup data"


def test_a_damaged_backup_is_refused_before_anything_is_touched(restoring, tmp_path):
    stack, engine, catalog = restoring()
    (tmp_path / "backups" / "shop" / ID / "postgres.dump").write_bytes(b"PGDMX")
    with pytest.raises(StackError, match=f"backup {ID} is damaged, nothing was touched"):
        restore_mod.restore(stack, ID)
    assert "compose stop api web" not in engine.calls and catalog.databases["shop"] == "live data"


def test_a_dump_that_does_not_read_in_full_is_refused_while_everything_still_serves(restoring):
    stack, engine, catalog = restoring(dump_reads=False)
    with pytest.raises(StackError, match=f"backup {ID} does not read in full into a new database, nothing was "
                                         "touched: pg_restore: error: could not read") as raised:
        restore_mod.restore(stack, ID)
    assert raised.value.exit_code == 2
    assert "compose stop api web" not in engine.calls and "copy aside redis" not in engine.calls
    assert catalog.databases == {"shop": "live data", "postgres": "system",  # the new database dropped again
                                 "shop_before_20250101000000": "what an earlier restore replaced"}
