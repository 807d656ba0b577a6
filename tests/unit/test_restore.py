"""restore as a plan (text) and as its executor over a fake engine: the Postgres server is
simulated from the commands stackctl sends (fakes.FakePostgres), so the tests assert which data
ends up named what, which roles exist, and what the undo leaves."""

import hashlib

import pytest

from stackctl import kinds
from stackctl.backup import plans, restore as restore_mod, seal, sets
from stackctl.errors import StackError
from stackctl.plan import parse_model
from stackctl.roles import parse as parse_roles
from tests.unit.fakes import FakeEngine, FakePostgres, container, fake_stack

ID = "20260101T000000Z"
STAMP = "20260303000000"


def model(with_cache=True):
    services = {"db": {"image": "postgis/postgis:16"}, "api": {"image": "shop/api", "depends_on": {"db": {}}},
                "migrate": {"image": "shop/api", "depends_on": {"db": {}}}, "web": {"image": "shop/web"}}
    roles = {"database": "db", "migrate": "migrate", "apps": {"api": {"port": 3000}, "web": {}}}
    if with_cache:
        services["cache"] = {"image": "redis:7"}
        roles["cache"] = "cache"
    return parse_model({"name": "shop", "services": services}, parse_roles(roles, "test"))


def test_restore_plan_of_a_whole_server_with_its_cache():
    kept = {"shop": f"shop_before_{STAMP}", "postgres": f"postgres_before_{STAMP}"}
    assert [str(s) for s in plans.restore_steps(ID, "db", ["shop", "postgres"], kept, True, "cache", ["api", "web"],
                                                True)] == [
        f"check backup {ID} (its MAC by this host's backup key, checksums, the server's major version, the stack "
        "and environment it was made for)",
        "roles db (the set's roles this server lacks, created in one transaction (roles that exist are left as they "
        "are)) [undo: drop the roles it created]",
        "restore-into shop, postgres (each into a new database while the current ones still serve: read in full, "
        "then its rows per table compared with the set's) [undo: drop the new databases]",
        "stop api, web (nothing writes while the data changes: the writers paused (their clients wait) when the "
        "restored schema is the one they run with, else (or --restart) all stopped) [undo: resume or start them "
        "again (migrations not re-run)]",
        "copy-aside cache (a snapshot of it as it is now, copied beside the backups)",
        f"swap shop, postgres (each new database takes its name; the current data is renamed shop_before_{STAMP}, "
        f"postgres_before_{STAMP}) [undo: the names swapped back]",
        "put-snapshot cache (stop it, put the set's snapshot in place, start it) [undo: the snapshot copied aside "
        "put back]",
        "start every service (paused: resumed, their processes kept; stopped: migrations, then each gated on health)",
        "count shop, postgres (rows per table again once the services started: a table their start changed is named "
        "(exit 3))",
        f"keep shop_before_{STAMP}, postgres_before_{STAMP} (the data this restore replaced stays until the next "
        "restore, which drops it)",
    ]


def test_restore_plan_without_the_cache_leaves_it_alone():
    steps = plans.restore_steps(ID, "db", ["shop"], {"shop": "k"}, False, "cache", ["api"], False)
    assert [s.action for s in steps] == ["check", "restore-into", "stop", "swap", "start", "count", "keep"]
    assert not any("cache" in str(step) for step in steps)


def test_backup_plan_names_the_roles():
    assert [str(s).split(" (")[0] for s in plans.backup_steps("db", "cache", True, ["api"])] == [
        "dump db", "snapshot cache", "record api", "restore-test db", "seal the set", "prune old sets"]
    assert [s.action for s in plans.backup_steps("db", None, False, [])] == ["dump", "seal", "prune"]


def make_set(project, folder, databases=("shop", "postgres"), with_cache=True, signed=True, stack="shop",
             env="development", roles=True) -> sets.BackupSet:
    folder.mkdir(parents=True)
    entries = []
    for index, name in enumerate(databases, start=1):
        data = f"PGDMP {name}".encode()
        (folder / f"database-{index}.dump").write_bytes(data)
        entries.append({"name": name, "owner": "reader" if name == "shop" else "app", "encoding": "UTF8",
                        "collate": "C", "ctype": "C", "file": f"database-{index}.dump", "bytes": len(data),
                        "sha256": hashlib.sha256(data).hexdigest(), "tables": {"public.stops": 3}})
    database = {"kind": "postgres", "service": "db", "image": "postgis/postgis:16", "server_version_num": 160004,
                "server_version": "16.4", "postgis_version": None, "compression": 6, "databases": entries,
                "globals": None}
    if roles:
        text = b"CREATE ROLE app;\nCREATE ROLE reader;\n-- PostgreSQL database cluster dump complete\n"
        (folder / "roles.sql").write_bytes(text)
        database["globals"] = {"file": "roles.sql", "bytes": len(text), "sha256": hashlib.sha256(text).hexdigest()}
    manifest = {"format": 2, "complete": True, "id": folder.name, "created_at": "2026-01-01T00:00:00+00:00",
                "kind": "manual", "stack": stack, "env": env, "database": database}
    if with_cache:
        (folder / "cache.rdb").write_bytes(b"REDIS0011")
        manifest["cache"] = {"kind": "redis", "file": "cache.rdb", "bytes": 9,
                             "sha256": hashlib.sha256(b"REDIS0011").hexdigest()}
    if signed:
        manifest = seal.signed(manifest, seal.load_key(project / ".stackctl" / "backup.key", create=True))
    sets.write_manifest(folder, manifest)
    return sets.BackupSet(folder, manifest)


@pytest.fixture
def restoring(tmp_path, monkeypatch):
    def build(with_cache=True, fail_at_start=False, fail_undo=False, **set_options):
        server = FakePostgres()
        server.databases["shop_before_20250101000000"] = {"data": "what an earlier restore replaced",
                                                          "owner": "app", "tables": {}}
        db_env = ("POSTGRES_USER=app", "POSTGRES_DB=shop", "POSTGRES_PASSWORD=pw")
        engine = FakeEngine([container("db", env=db_env), container("cache"), container("api"), container("web")],
                            exec_handler=server)
        stack = fake_stack(tmp_path, model(with_cache), engine)
        folder = tmp_path / "backups" / "shop"
        make_set(tmp_path, folder / ID, **set_options)
        monkeypatch.setattr(restore_mod, "backup_path", lambda s: folder)
        monkeypatch.setattr(restore_mod, "stamp", lambda now=None: STAMP)
        cache = kinds.kind("redis")

        def snapshot(engine_, info, sink):
            engine.calls.append("copy aside redis")
            sink.write(b"REDIS-LIVE")
            return {"path": "/data/dump.rdb"}

        monkeypatch.setattr(cache, "snapshot", snapshot)
        monkeypatch.setattr(cache, "appendonly", lambda engine_, info: False)

        def up(s, services, run_oneshots=True, **kw):
            engine.calls.append("up" if run_oneshots else "up without migrations")
            if fail_at_start and run_oneshots:
                raise StackError("api did not become healthy within its deadline")
            if fail_undo and not run_oneshots:
                raise StackError("web did not start")

        monkeypatch.setattr(restore_mod, "run_up", up)
        return stack, engine, server

    return build


def names(server):
    return {name: db["data"] for name, db in server.databases.items()}


def test_a_restore_puts_back_every_database_postgres_included_and_keeps_what_it_replaced(restoring):
    stack, engine, server = restoring()
    result = restore_mod.restore(stack, ID)
    assert names(server) == {"shop": "backup data", "postgres": "backup data", f"shop_before_{STAMP}": "live data",
                             f"postgres_before_{STAMP}": "system"}  # what an earlier restore kept is dropped
    assert result.kept == {"shop": f"shop_before_{STAMP}", "postgres": f"postgres_before_{STAMP}"}
    assert result.roles_created == ("reader",) and "reader" in server.roles  # app existed: left as it was
    assert server.databases["shop"]["owner"] == "reader"  # owned as in the set
    restored = next(i for i, c in enumerate(engine.calls) if c.startswith("docker exec -i"))
    assert restored < engine.calls.index("compose stop api web") < engine.calls.index("copy aside redis") \
        < engine.calls.index("up")
    assert "write cache-id /data/dump.rdb (9 bytes)" in engine.calls
    assert result.redis_copy.read_bytes() == b"REDIS-LIVE" and oct(result.redis_copy.stat().st_mode & 0o777) == "0o600"
    assert engine.calls[-1] == "remove volume stackctl-lock-shop" and engine.volumes == {}


def test_renaming_postgres_goes_through_a_maintenance_connection_never_the_database_itself(restoring):
    stack, engine, server = restoring()
    restore_mod.restore(stack, ID)
    renames = [c for c in engine.calls if "RENAME TO" in c]
    assert renames and all(("-d template1" in c) == ('"postgres"' in c.split(" -c ")[1]) for c in renames)


def test_one_database_with_database_leaves_the_others_and_the_cache_alone(restoring):
    stack, engine, server = restoring()
    result = restore_mod.restore(stack, ID, database="postgres")
    assert names(server)["shop"] == "live data" and names(server)["postgres"] == "backup data"
    assert result.databases == ("postgres",) and not result.redis and "copy aside redis" not in engine.calls
    with pytest.raises(StackError, match="holds no database 'nope'") as raised:
        restore_mod.restore(stack, ID, database="nope")
    assert raised.value.exit_code == 2


def test_a_restore_that_fails_at_start_puts_everything_back(restoring):
    stack, engine, server = restoring(fail_at_start=True)
    with pytest.raises(restore_mod.RestoreUndone, match=f"restore of {ID} failed and was undone: api did not"):
        restore_mod.restore(stack, ID)
    assert names(server) == {"shop": "live data", "postgres": "system",
                             "shop_before_20250101000000": "what an earlier restore replaced"}
    assert server.roles == {"app"}  # the role it created is dropped again
    writes = [c for c in engine.calls if c.startswith("write cache-id")]
    assert writes == ["write cache-id /data/dump.rdb (9 bytes)", "write cache-id /data/dump.rdb (10 bytes)"]


def test_a_restore_whose_undo_fails_too_says_so_instead_of_all_is_well(restoring):
    stack, engine, server = restoring(fail_at_start=True, fail_undo=True)
    with pytest.raises(restore_mod.RestoreUndone) as raised:
        restore_mod.restore(stack, ID)
    assert raised.value.message == (f"restore of {ID} failed (api did not become healthy within its deadline) and "
                                    "undoing it failed too: stop api, web: web did not start")
    assert "serves again" not in raised.value.hint and "no database was dropped" in raised.value.hint
    assert names(server)["shop"] == "live data"  # the other undos still ran: the names are swapped back


def test_a_restore_without_a_cache_role_never_touches_redis(restoring):
    stack, engine, server = restoring(with_cache=False)
    result = restore_mod.restore(stack, ID)
    assert not result.redis and not any(c.startswith(("write", "exec cache")) for c in engine.calls)
    assert names(server)["shop"] == "backup data"


def untouched(engine, server):
    assert "compose stop api web" not in engine.calls and "copy aside redis" not in engine.calls
    assert names(server) == {"shop": "live data", "postgres": "system",
                             "shop_before_20250101000000": "what an earlier restore replaced"}
    assert server.roles == {"app"}


def test_a_damaged_backup_is_refused_before_anything_is_touched(restoring, tmp_path):
    stack, engine, server = restoring()
    (tmp_path / "backups" / "shop" / ID / "database-1.dump").write_bytes(b"PGDMX shop")
    with pytest.raises(StackError, match=f"backup {ID} is damaged, nothing was touched") as raised:
        restore_mod.restore(stack, ID)
    assert raised.value.exit_code == 2
    untouched(engine, server)


def test_a_dump_that_does_not_read_in_full_is_refused_while_everything_still_serves(restoring):
    stack, engine, server = restoring()
    server.fail.add("pg_restore")
    with pytest.raises(StackError, match=f"backup {ID} does not read in full into a new database, nothing was "
                                         "touched: pg_restore: error: could not read") as raised:
        restore_mod.restore(stack, ID)
    assert raised.value.exit_code == 2
    untouched(engine, server)  # the new databases and the roles it created are gone again


def test_rows_that_differ_from_the_set_after_restore_into_are_refused_before_anything_stops(restoring):
    stack, engine, server = restoring()
    server.restored_rows = {"public.stops": 2}
    with pytest.raises(StackError, match="database shop restored with other rows than the set holds, nothing was "
                                         r"touched: public.stops: 3 -> 2") as raised:
        restore_mod.restore(stack, ID)
    assert raised.value.exit_code == 2
    untouched(engine, server)


def test_a_table_the_services_start_changed_is_named_and_exits_3(restoring, monkeypatch):
    stack, engine, server = restoring()

    def up(s, services, run_oneshots=True, **kw):  # an entrypoint that flushes a table as it starts
        server.databases["shop"]["tables"]["public.stops"] = 0

    monkeypatch.setattr(restore_mod, "run_up", up)
    with pytest.raises(restore_mod.StartChangedData) as raised:
        restore_mod.restore(stack, ID)
    assert raised.value.exit_code == 3
    assert "the services' start changed them: shop.public.stops: 3 -> 0" in raised.value.message
    assert names(server)["shop"] == "backup data"  # the restore itself stands: it is not undone


@pytest.mark.parametrize("options, accepting, why", [
    ({"signed": False}, restore_mod.Accepting(), "is not authenticated by this host's backup key, nothing was "
                                                 "touched: it carries no MAC"),
    ({"stack": "other"}, restore_mod.Accepting(), "was made for stack other (development), this is stack shop "
                                                  "(development): nothing was touched"),
    ({"env": "production"}, restore_mod.Accepting(), "was made for stack shop (production)"),
])
def test_a_set_not_authenticated_or_made_for_another_stack_is_refused_unless_accepted(restoring, options, accepting,
                                                                                      why):
    stack, engine, server = restoring(**options)
    with pytest.raises(StackError, match=why.replace("(", r"\(").replace(")", r"\)")) as raised:
        restore_mod.restore(stack, ID)
    assert raised.value.exit_code == 2 and "--accept-" in raised.value.hint
    untouched(engine, server)
    accept = restore_mod.Accepting(unauthenticated="signed" in options, other_stack="signed" not in options)
    assert restore_mod.restore(stack, ID, accepting=accept).databases == ("shop", "postgres")


def test_a_set_changed_after_it_was_made_does_not_authenticate(restoring, tmp_path):
    import json

    stack, engine, server = restoring()
    path = tmp_path / "backups" / "shop" / ID / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["database"]["databases"][0]["tables"]["public.stops"] = 4
    path.write_text(json.dumps(manifest))
    with pytest.raises(StackError, match="its manifest was changed after it was made"):
        restore_mod.restore(stack, ID)
    untouched(engine, server)


def test_a_format_1_set_still_restores_its_one_database(restoring, tmp_path):
    stack, engine, server = restoring()
    folder = tmp_path / "backups" / "shop" / "20250101T000000Z"
    folder.mkdir()
    (folder / "postgres.dump").write_bytes(b"PGDMP")
    manifest = {"format": 1, "complete": True, "id": folder.name, "created_at": "2025-01-01T00:00:00+00:00",
                "stack": "shop", "env": "development",
                "postgres": {"file": "postgres.dump", "bytes": 5, "sha256": hashlib.sha256(b"PGDMP").hexdigest(),
                             "database": "shop", "server_version_num": 160004, "server_version": "16.4",
                             "tables": {"public.stops": 3}}}
    sets.write_manifest(folder, seal.signed(manifest, seal.load_key(tmp_path / ".stackctl" / "backup.key")))
    result = restore_mod.restore(stack, folder.name)
    assert result.databases == ("shop",) and names(server)["shop"] == "backup data"
    assert names(server)["postgres"] == "system"


def test_a_restore_tells_the_bytes_of_each_dump_it_feeds(restoring):
    from tests.unit.fakes import Transfers

    stack, engine, server = restoring()
    seen = Transfers()
    restore_mod.restore(stack, ID, report=seen)
    ended = seen.ended()
    sizes = {f"restore {d['name']}": (d["bytes"], d["bytes"]) for d in sets.find_set(
        stack.project.root / "backups" / "shop", ID).database["databases"]}
    assert ended == sizes and all(b > 0 for b, _ in sizes.values())
    assert all(total == ended[what][1] for what, _, total in seen.transfers)  # the size was known from the start


def test_a_set_with_the_schema_the_services_run_with_pauses_the_writers_and_starts_nothing(restoring):
    stack, engine, server = restoring()
    server.schemas = {"shop": "v1", "postgres": "v1"}
    result = restore_mod.restore(stack, ID)
    assert names(server)["shop"] == "backup data" and result.kept["shop"] == f"shop_before_{STAMP}"
    assert result.paused_seconds is not None
    pause, unpause = engine.calls.index("pause api-id"), engine.calls.index("unpause api-id")
    swaps = [i for i, c in enumerate(engine.calls) if "RENAME TO" in c]
    assert pause < engine.calls.index("copy aside redis") < min(swaps) and max(swaps) < unpause
    assert "pause web-id" in engine.calls  # an app here (the proxy is never paused: the integration test)
    assert not any(c.startswith(("compose stop", "up")) for c in engine.calls)  # nothing stopped, migrated, started


def test_writers_paused_inside_a_transaction_are_resumed_and_paused_again(restoring):
    stack, engine, server = restoring(with_cache=False)
    server.schemas, server.busy = {"shop": "v1", "postgres": "v1"}, [1, 2, 0]
    restore_mod.restore(stack, ID)
    toggles = [c for c in engine.calls if c.endswith("pause api-id")]
    assert toggles == ["pause api-id", "unpause api-id"] * 3


@pytest.mark.parametrize("schema, restart", [("v2", False), ("v1", True)])
def test_another_schema_or_restart_stops_and_starts_through_up(restoring, schema, restart):
    stack, engine, server = restoring()
    server.schemas, server.restored_schema = {"shop": "v1", "postgres": "v1"}, schema
    result = restore_mod.restore(stack, ID, restart=restart)
    assert result.paused_seconds is None and "pause api-id" not in engine.calls
    assert engine.calls.index("compose stop api web") < engine.calls.index("up")


def test_an_engine_that_cannot_pause_gets_the_services_stopped_and_started_instead(restoring, monkeypatch):
    stack, engine, server = restoring()
    server.schemas = {"shop": "v1", "postgres": "v1"}
    monkeypatch.setattr(restore_mod, "QUIESCE_PAUSE", 0)
    tries = []

    def cannot(container):
        tries.append(container)
        raise StackError("docker pause api-id: the engine refused: cgroup freezer not available")

    monkeypatch.setattr(engine, "pause", cannot)
    result = restore_mod.restore(stack, ID)
    assert len(tries) == restore_mod.QUIESCE_ATTEMPTS  # asked at later moments first, as for a transaction
    assert result.paused_seconds is None and names(server)["shop"] == "backup data"
    assert engine.calls.index("compose stop api web") < engine.calls.index("up")


def test_a_freeze_that_fails_once_is_tried_again_at_a_later_moment(restoring, monkeypatch):
    stack, engine, server = restoring(with_cache=False)
    server.schemas = {"shop": "v1", "postgres": "v1"}
    monkeypatch.setattr(restore_mod, "QUIESCE_PAUSE", 0)
    pause, failed = engine.pause, []

    def once(container):
        if container == "web-id" and not failed:
            failed.append(container)
            raise StackError("docker pause web-id: OCI runtime pause failed: unable to freeze")
        pause(container)

    monkeypatch.setattr(engine, "pause", once)
    result = restore_mod.restore(stack, ID)
    assert result.paused_seconds is not None and "compose stop api web" not in engine.calls
    toggles = [c for c in engine.calls if c.endswith("pause api-id")]
    assert toggles == ["pause api-id", "unpause api-id"] * 2  # the first freeze undone, then the second held


def test_with_nothing_that_writes_to_pause_the_users_are_stopped_and_started(restoring, monkeypatch):
    """Only a proxy uses the data (no app): nothing to pause, so the stop path, never a pause of nothing."""
    stack, engine, server = restoring()
    server.schemas = {"shop": "v1", "postgres": "v1"}
    monkeypatch.setattr(restore_mod.Restoring, "writers", lambda self: [])
    result = restore_mod.restore(stack, ID)
    assert result.paused_seconds is None and names(server)["shop"] == "backup data"
    assert engine.calls.index("compose stop api web") < engine.calls.index("up")
