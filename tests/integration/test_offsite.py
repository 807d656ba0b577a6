"""Off-site backups over SFTP to this machine's loopback sshd (scripts/loopback-sshd.sh): pushed,
checked there, pruned there, and restored from there with the rows they held."""

import hashlib
import json
import shutil
import subprocess

import pytest

from tests.integration.conftest import ROOT
from tests.integration.test_data import backup_dir, sql

# The loopback sshd is started once per run: its users share one worker.
pytestmark = pytest.mark.xdist_group("sshd")


@pytest.fixture(scope="module")
def sftp_port():
    out = subprocess.run(["bash", str(ROOT / "scripts" / "loopback-sshd.sh")], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1].rsplit(":", 1)[1]


def test_a_set_pushed_off_site_comes_back_with_its_rows(data_stack, sftp_port, tmp_path):
    s = data_stack
    far = tmp_path / "offsite"
    s.env["STACKCTL_BACKUP_REMOTE"] = f"sftp://root@127.0.0.1:{sftp_port}{far}"
    s.env["STACKCTL_BACKUP_KEEP_COUNT"] = "1"
    before = sql(s, "SELECT count(*) FROM stops")[0][0]

    made = s.run("backup", "--push")
    assert made.returncode == 0, made.stderr
    assert "checksums match there" in made.stdout
    listed = json.loads(s.run("backups", "--remote", "--json").stdout)["result"]["backups"]
    assert len(listed) == 1
    first = listed[0]["id"]
    there = far / s.name / first
    manifest = json.loads((there / "manifest.json").read_text())
    for meta in (*manifest["database"]["databases"], manifest["database"]["globals"], manifest["cache"]):
        assert hashlib.sha256((there / meta["file"]).read_bytes()).hexdigest() == meta["sha256"]
    assert not any(p.name.startswith(".partial") for p in (far / s.name).iterdir())

    # A second set pushed: retention (keep 1) applies off-site too.
    second = s.run("backup", "--push")
    assert second.returncode == 0, second.stderr
    remaining = [b["id"] for b in json.loads(s.run("backups", "--remote", "--json").stdout)["result"]["backups"]]
    assert len(remaining) == 1 and remaining[0] != first

    # The machine loses its local sets and the data changes; the off-site set brings the rows back.
    shutil.rmtree(backup_dir(s))
    sql(s, "DELETE FROM stops")
    s.env["STACKCTL_BACKUP_KEEP_COUNT"] = "0"  # locally: no count limit, the fetched set stays
    restored = s.run("restore", remaining[0], "--from-remote", "--yes", timeout=600)
    assert restored.returncode == 0, restored.stderr
    assert sql(s, "SELECT count(*) FROM stops")[0][0] == before
    assert (backup_dir(s) / remaining[0] / "manifest.json").is_file()  # fetched, checked, kept


def test_a_password_in_the_remote_address_is_refused(data_stack):
    s = data_stack
    # For this command only: left in the stack's env, it would refuse the teardown's down too
    # (every command refuses invalid settings), and the stack's volumes would be left behind.
    out = s.run("backups", "--remote", extra_env={"STACKCTL_BACKUP_REMOTE": "sftp://root:hunter2@127.0.0.1/srv/backups"})
    assert out.returncode == 2 and "STACKCTL_BACKUP_REMOTE" in out.stderr and "hunter2" not in out.stderr


def test_a_hostile_off_site_set_writes_nothing_anywhere_and_a_dry_run_fetches_nothing(stack, sftp_port, tmp_path):
    """A remote manifest naming `../../../victim` (shown on the old code to overwrite any file as
    root, with "nothing was touched" printed): refused in one line before any file is written."""
    s = stack
    far = tmp_path / "a" / "b" / "offsite"
    s.env["STACKCTL_BACKUP_REMOTE"] = f"sftp://root@127.0.0.1:{sftp_port}{far}"
    s.env["STACKCTL_BACKUP_DIR"] = str(tmp_path / "backups")
    victim = tmp_path / "victim"
    victim.write_text("precious")
    backup_id = "20261201T030000Z"
    evil = b"ssh-ed25519 AAAA attacker"
    there = far / s.name / backup_id
    there.mkdir(parents=True)
    (tmp_path / "a" / "b" / "victim").write_bytes(evil)  # what the remote side of the same name holds
    (there / "manifest.json").write_text(json.dumps({
        "format": 1, "id": backup_id, "created_at": "2026-12-01T03:00:00+00:00", "complete": True,
        "postgres": {"file": "../../../victim", "bytes": len(evil), "sha256": hashlib.sha256(evil).hexdigest()}}))

    for args in (("--dry-run",), ("--yes",)):
        out = s.run("restore", backup_id, "--from-remote", *args)
        assert out.returncode == 2, out.stderr
        lines = out.stderr.strip().splitlines()
        assert lines[0].startswith("error: the off-site backup 20261201T030000Z is not a backup set stackctl wrote, "
                                   "nothing was touched: its manifest names '../../../victim' for postgres")
        assert victim.read_text() == "precious"
        assert not (tmp_path / "backups").exists() or not any((tmp_path / "backups").rglob("*.dump"))
