"""backup followed over a fake engine: a set appears only whole, holds every database and the
roles, and is authenticated; a failure leaves no folder."""

import json

import pytest

from stackctl.backup import create, seal, sets
from stackctl.errors import StackError
from tests.unit.fakes import FakeEngine, FakePostgres, container, fake_stack
from tests.unit.test_restore import model


@pytest.fixture
def stack(tmp_path, monkeypatch):
    def build(fail=()):
        server = FakePostgres()
        server.fail.update(fail)
        db_env = ("POSTGRES_USER=app", "POSTGRES_DB=shop", "POSTGRES_PASSWORD=pw")
        engine = FakeEngine([container("db", env=db_env), container("api")], exec_handler=server)
        monkeypatch.setenv("STACKCTL_BACKUP_DIR", str(tmp_path / "backups"))
        return fake_stack(tmp_path / "project", model(with_cache=False), engine)
    (tmp_path / "project").mkdir()
    return build


def test_a_backup_holds_every_database_and_the_roles_in_an_authenticated_set(stack, tmp_path):
    made = create.backup_and_prune(stack(), include_redis=False)
    manifest = json.loads((made.backup.path / "manifest.json").read_text())
    database = manifest["database"]
    assert manifest["format"] == 2 and manifest["complete"] is True and "cache" not in manifest
    assert [d["name"] for d in database["databases"]] == ["postgres", "shop"]  # postgres too: an app may write there
    assert all(d["tables"] == {"public.stops": 3} for d in database["databases"])
    assert database["postgis_version"] == "3.4.2" and database["globals"]["file"] == "roles.sql"
    assert (made.backup.path / "database-2.dump").read_bytes() == b"PGDMP shop"
    assert [p.name for p in made.backup.path.parent.iterdir()] == [made.backup.id]
    key = seal.load_key(tmp_path / "project" / ".stackctl" / "backup.key")
    assert seal.problem(manifest, key) is None
    assert (tmp_path / "project" / ".stackctl" / "backup.key").stat().st_mode & 0o777 == 0o600
    assert not made.empty and made.to_dict()["database"]["databases"]["shop"] == {"tables": 1, "rows": 3}


def test_a_restore_keeps_its_own_databases_out_of_the_next_backup(stack):
    s = stack()
    server = s.engine.exec_handler
    server.databases["shop_before_20250101000000"] = {"data": "kept", "owner": "app", "tables": {}}
    server.databases["stackctl_restore_20250101t000000z_0"] = {"data": "left", "owner": "app", "tables": {}}
    made = create.backup_and_prune(s, include_redis=False)
    assert [d["name"] for d in made.backup.databases()] == ["postgres", "shop"]


def test_a_set_with_no_rows_anywhere_says_so(stack):
    s = stack()
    s.engine.exec_handler.dump_rows = {}
    made = create.backup_and_prune(s, include_redis=False)
    assert made.empty and made.to_dict()["empty"] is True


def test_a_failed_dump_leaves_nothing_that_looks_like_a_backup(stack, tmp_path):
    with pytest.raises(StackError, match="backup failed, nothing was recorded: database postgres: pg_dump: error: "
                                         "connection lost"):
        create.backup_and_prune(stack(fail={"pg_dump"}), include_redis=False)
    assert list((tmp_path / "backups" / "shop").iterdir()) == []  # not even a .partial folder


def test_the_plan_says_what_a_backup_does(stack):
    assert [str(s).split(" (")[0] for s in create.backup_plan(stack(), include_redis=False).steps] == [
        "dump db", "record api, web", "seal the set", "prune old sets"]


def test_a_backup_key_others_can_read_is_refused_and_nothing_is_recorded(stack, tmp_path):
    s = stack()
    key = tmp_path / "project" / ".stackctl" / "backup.key"
    seal.load_key(key, create=True)
    key.chmod(0o644)
    with pytest.raises(StackError, match="backup key .* is readable by others") as raised:
        create.backup_and_prune(s, include_redis=False)
    assert raised.value.exit_code == 2 and sets.list_sets(tmp_path / "backups" / "shop") == []


def test_a_backup_tells_the_bytes_of_each_file_it_writes(stack):
    from tests.unit.fakes import Transfers

    seen = Transfers()
    made = create.backup_and_prune(stack(), include_redis=False, report=seen)
    written = {f"backup database {d['name']}": (d["bytes"], d["bytes"]) for d in made.backup.database["databases"]}
    assert seen.ended() == {**written, "backup the roles": ((made.backup.path / "roles.sql").stat().st_size,) * 2}
    assert seen.transfers[0][1] == 0  # said as it begins, not only when it is over
