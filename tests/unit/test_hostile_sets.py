"""Sets read back from disk or off-site are input: a manifest that is not one stackctl wrote is
refused before any of its fields names a path, a file, a database or an image, and a remote
fetch can write nothing outside the folder it makes for the set."""

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path

import pytest

from stackctl.backup import remote, sets
from stackctl.errors import StackError

GOOD_ID = "20261201T030000Z"
DUMP = b"PGDMP-the-dump"


def manifest(**changes) -> dict:
    base = {"format": 1, "id": GOOD_ID, "created_at": "2026-12-01T03:00:00+00:00", "complete": True,
            "postgres": {"file": "postgres.dump", "bytes": len(DUMP), "sha256": hashlib.sha256(DUMP).hexdigest(),
                         "database": "app", "tables": {}}}
    base.update(changes)
    return base


def with_part(**changes) -> dict:
    return manifest(postgres={**manifest()["postgres"], **changes})


@pytest.mark.parametrize("bad, why", [
    (manifest(id="x'); DROP TABLE probe; --"), "is not a UTC time"),
    (manifest(id="../../etc"), "is not a UTC time"),
    (manifest(id="20261201T030000Z/.."), "is not a UTC time"),
    (manifest(id=7), "is not a UTC time"),
    (manifest(created_at="yesterday"), "created_at is not a time"),
    (with_part(file="../../root/.ssh/authorized_keys"), "not a file inside the set"),
    (with_part(file="/etc/passwd"), "not a file inside the set"),
    (with_part(file="manifest.json"), "not a file inside the set"),
    (with_part(file=".hidden"), "not a file inside the set"),
    (with_part(file="a\nb"), "not a file inside the set"),
    (with_part(file=None), "not a file inside the set"),
    (with_part(bytes=-1), "size is not a number of bytes"),
    (with_part(bytes="12"), "size is not a number of bytes"),
    (with_part(bytes=True), "size is not a number of bytes"),
    (with_part(sha256="abc"), "checksum is not a sha256"),
    (manifest(postgres=None), "holds no database dump"),
    (manifest(redis={"file": "postgres.dump", "bytes": 1, "sha256": "0" * 64}), "not a file inside the set"),
    (manifest(redis="evil"), "redis entry is not an object"),
])
def test_a_manifest_stackctl_did_not_write_is_named_for_what_is_wrong(bad, why):
    problems = sets.manifest_problems(bad, GOOD_ID)
    assert any(why in p for p in problems), problems


def test_a_good_manifest_has_no_problem_and_its_folder_must_be_its_id():
    assert sets.manifest_problems(manifest(), GOOD_ID) == []
    assert "is not the name of its folder" in sets.manifest_problems(manifest(), "20261201T030001Z")[0]
    assert sets.manifest_problems([1, 2], GOOD_ID) == ["its manifest is not a JSON object"]


def write_set(folder: Path, data: dict, name: str = GOOD_ID) -> Path:
    path = folder / name
    path.mkdir(parents=True)
    (path / "postgres.dump").write_bytes(DUMP)
    (path / "manifest.json").write_text(json.dumps(data))
    return path


def test_a_forged_local_set_is_not_listed_and_refused_by_path_in_one_line(tmp_path):
    write_set(tmp_path, manifest(id="20261201T040000Z"))  # a set whose id is not its folder's name
    assert sets.list_sets(tmp_path) == []
    with pytest.raises(StackError) as err:
        sets.find_set(tmp_path, str(tmp_path / GOOD_ID))
    assert err.value.exit_code == 2 and "\n" not in err.value.message
    assert "nothing was touched" in err.value.message


class LocalSFTP:
    """The part of paramiko's SFTPClient that fetch uses, over a local folder (the 'remote')."""

    def __init__(self, root: Path):
        self.root = root

    def _p(self, path: str) -> Path:
        return Path(path)

    def listdir(self, path: str) -> list[str]:
        if not self._p(path).is_dir():
            raise FileNotFoundError(path)
        return sorted(os.listdir(path))

    def open(self, path: str, mode: str = "rb"):
        return open(self._p(path), mode)


@pytest.fixture
def off_site(tmp_path, monkeypatch):
    """A fake stack whose off-site folder is a local one, reached through LocalSFTP."""
    far = tmp_path / "far"

    class Stack:
        name = "shop"

        class settings:
            backup_remote = f"sftp://u@example.invalid{far}"

    @contextmanager
    def connected(_remote):
        yield LocalSFTP(far)

    monkeypatch.setattr(remote, "connected", connected)
    (far / "shop").mkdir(parents=True)
    return Stack(), far / "shop", tmp_path / "local"


def nothing_outside(local: Path, victim: Path) -> None:
    assert victim.read_text() == "precious"
    assert not any(p.name.startswith(".partial") for p in local.iterdir()) if local.is_dir() else True


@pytest.mark.parametrize("name", ["../../victim", "/tmp/../victim", "..", "sub/x"])
def test_a_remote_manifest_naming_a_file_outside_the_set_writes_nothing(off_site, tmp_path, name):
    stack, far, local = off_site
    victim = tmp_path / "victim"
    victim.write_text("precious")
    write_set(far, with_part(file=name))
    with pytest.raises(StackError) as err:
        remote.fetch(stack, GOOD_ID, local)
    assert err.value.exit_code == 2 and "not a file inside the set" in err.value.message
    nothing_outside(local, victim)
    assert not (local / GOOD_ID).exists()


def test_a_remote_id_that_is_a_path_is_never_used(off_site, tmp_path):
    stack, far, local = off_site
    write_set(far, manifest(id="../../victim"))
    victim = tmp_path / "victim"
    victim.write_text("precious")
    with pytest.raises(StackError) as err:
        remote.fetch(stack, GOOD_ID, local)
    assert err.value.exit_code == 2 and "is not a UTC time" in err.value.message
    nothing_outside(local, victim)


def test_a_remote_file_longer_than_its_manifest_is_cut_off_and_refused(off_site, tmp_path):
    stack, far, local = off_site
    path = write_set(far, manifest())
    (path / "postgres.dump").write_bytes(DUMP + b"x" * (3 << 20))  # far more than the manifest says
    with pytest.raises(StackError) as err:
        remote.fetch(stack, GOOD_ID, local)
    assert "larger than the manifest says" in err.value.message and "nothing was restored" in err.value.message
    assert not (local / GOOD_ID).exists() and not (local / f".partial-{GOOD_ID}").exists()


def test_a_link_planted_where_the_partial_folder_goes_is_not_followed(off_site, tmp_path):
    stack, far, local = off_site
    write_set(far, manifest())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    local.mkdir()
    (local / f".partial-{GOOD_ID}").symlink_to(elsewhere)
    fetched = remote.fetch(stack, GOOD_ID, local)
    assert fetched.path == local / GOOD_ID and (local / GOOD_ID / "postgres.dump").read_bytes() == DUMP
    assert list(elsewhere.iterdir()) == []
    assert (local / GOOD_ID / "postgres.dump").stat().st_mode & 0o777 == 0o600


def test_a_good_remote_set_is_fetched_checked_and_peeked_without_a_file(off_site):
    stack, far, local = off_site
    write_set(far, manifest())
    assert remote.peek(stack, "2026").id == GOOD_ID
    assert not local.exists()  # peek (what --dry-run uses) fetched nothing
    fetched = remote.fetch(stack, "2026", local)
    assert fetched.id == GOOD_ID and sets.list_sets(local)[0].id == GOOD_ID
