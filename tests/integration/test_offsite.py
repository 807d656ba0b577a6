"""Off-site backups over SFTP to this machine's loopback sshd (scripts/loopback-sshd.sh): pushed,
checked there, pruned there, and restored from there with the rows they held."""

import hashlib
import json
import shutil
import subprocess

import pytest

from tests.integration.conftest import ROOT
from tests.integration.test_data import backup_dir, sql


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
    for part in ("postgres", "redis"):
        meta = manifest[part]
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
