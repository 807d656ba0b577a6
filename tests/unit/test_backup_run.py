"""backup followed over a fake engine: a set appears only whole; a failure leaves no folder."""

import json

import pytest

from stackctl.backup import create
from stackctl.containers import ExecResult
from stackctl.errors import StackError
from tests.unit.fakes import FakeEngine, container, fake_stack
from tests.unit.test_restore import model


def server(dump_exit=0):
    def handler(cid, cmd, env):
        if cmd[0] == "pg_dump":
            return ExecResult(dump_exit, "PGDMP-bytes", "" if dump_exit == 0 else "pg_dump: error: connection lost")
        if cmd[0] == "docker":  # the full read of the dump as it streams
            return ExecResult(0, "ROWS public.stops 3\nEXIT 0\n", "")
        if cmd[-1].startswith("SELECT current_setting"):
            return ExecResult(0, "160004|16.4|3.4.2\n", "")
        return ExecResult(0, "", "")
    return handler


@pytest.fixture
def stack(tmp_path, monkeypatch):
    def build(dump_exit=0):
        db_env = ("POSTGRES_USER=app", "POSTGRES_DB=shop", "POSTGRES_PASSWORD=pw")
        engine = FakeEngine([container("db", env=db_env), container("api")], exec_handler=server(dump_exit))
        monkeypatch.setenv("STACKCTL_BACKUP_DIR", str(tmp_path / "backups"))
        return fake_stack(tmp_path / "project", model(with_cache=False), engine)
    (tmp_path / "project").mkdir()
    return build


def test_a_backup_is_a_sealed_set_with_a_checked_manifest(stack, tmp_path):
    made = create.backup_and_prune(stack(), include_redis=False)
    manifest = json.loads((made.backup.path / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["postgres"]["tables"] == {"public.stops": 3}
    assert manifest["postgres"]["postgis_version"] == "3.4.2" and "redis" not in manifest
    assert (made.backup.path / "postgres.dump").read_bytes() == b"PGDMP-bytes"
    assert [p.name for p in made.backup.path.parent.iterdir()] == [made.backup.id]


def test_a_failed_dump_leaves_nothing_that_looks_like_a_backup(stack, tmp_path):
    with pytest.raises(StackError, match="backup failed, nothing was recorded: pg_dump failed: pg_dump: error: "
                                         "connection lost"):
        create.backup_and_prune(stack(dump_exit=1), include_redis=False)
    assert list((tmp_path / "backups" / "shop").iterdir()) == []  # not even a .partial folder


def test_the_plan_says_what_a_backup_does(stack):
    assert [str(s).split(" (")[0] for s in create.backup_plan(stack(), include_redis=False).steps] == [
        "dump db", "record api, web", "seal the set", "prune old sets"]
