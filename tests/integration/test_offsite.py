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


def ended(stderr: str, what: str, size: int) -> bool:
    """The progress said the transfer ended with exactly this many bytes ("· push ID: 41.2 KiB in 0.3 s")."""
    from stackctl.cli.progress import describe_transfer

    return f"· {what}: {describe_transfer(size, size, 1.0).split(' in ')[0]} in " in stderr


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
    # the bytes as they moved: each file written, then the push, with their sizes and time
    sent = sum(p.stat().st_size for p in there.iterdir())
    assert ended(made.stderr, f"push {first}", sent), made.stderr
    for d in manifest["database"]["databases"]:
        assert ended(made.stderr, f"backup database {d['name']}", d["bytes"]), made.stderr
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
    fetched = json.loads((backup_dir(s) / remaining[0] / "manifest.json").read_text())
    for d in fetched["database"]["databases"]:
        assert ended(restored.stderr, f"restore {d['name']}", d["bytes"]), restored.stderr


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


@pytest.fixture
def rest_server(tmp_path):
    """restic's REST protocol served by rclone (Debian's) on loopback, over a folder: the repository."""
    import socket
    import time

    from tests.integration.conftest import free_ports

    binary = shutil.which("rclone")
    assert binary, "rclone is not installed: scripts/test.sh installs it"
    folder = tmp_path / "repository"
    folder.mkdir()
    port = free_ports(1)[0]
    server = subprocess.Popen([binary, "serve", "restic", "--addr", f"127.0.0.1:{port}", str(folder)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"rest:http://127.0.0.1:{port}/", folder
    server.terminate()
    server.wait(timeout=30)


def restic_env(s, repository: str, tmp_path) -> None:
    s.env["STACKCTL_BACKUP_RESTIC_REPOSITORY"] = repository
    s.env["STACKCTL_BACKUP_RESTIC_PASSWORD_FILE"] = str(tmp_path / "restic.password")


def test_a_set_pushed_to_restic_is_encrypted_there_checked_pruned_and_brings_its_rows_back(data_stack, rest_server,
                                                                                          tmp_path):
    s = data_stack
    repository, folder = rest_server
    restic_env(s, repository, tmp_path)
    s.env["STACKCTL_BACKUP_KEEP_COUNT"] = "1"
    sql(s, "INSERT INTO stops (name, geom) VALUES ('plaintext-marker-7f3a', ST_MakePoint(1, 2)::geography)")
    before = sql(s, "SELECT count(*), md5(string_agg(name, ',' ORDER BY id)) FROM stops")[0]

    made = s.run("backup", "--push")
    assert made.returncode == 0, made.stderr
    assert f"copied off-site to restic {repository}" in made.stdout and "checksums match there" in made.stdout
    password = tmp_path / "restic.password"
    assert password.stat().st_mode & 0o777 == 0o600 and len(password.read_text().strip()) == 64
    # Encrypted there: nothing of the set reads in the repository's files (the manifest names the
    # stack and its tables in clear; the row is in the dump).
    stored = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    for clear in (s.name.encode(), b"plaintext-marker-7f3a", b"public.stops", b"manifest"):
        assert clear not in stored, clear
    listed = json.loads(s.run("backups", "--remote", "--json").stdout)["result"]["backups"]
    assert len(listed) == 1
    first = listed[0]["id"]
    local = backup_dir(s) / first
    assert ended(made.stderr, f"push {first}", sum(p.stat().st_size for p in local.iterdir())), made.stderr

    checked = s.run("backups", "check", "--read-data")
    assert checked.returncode == 0, checked.stderr
    assert "no problem found by restic check" in checked.stdout and "every pack of data" in checked.stdout

    # A second set pushed: retention (keep 1) forgets the first there and prunes its data.
    second = s.run("backup", "--push")
    assert second.returncode == 0, second.stderr
    assert f"retention there removed {first}" in second.stdout
    remaining = [b["id"] for b in json.loads(s.run("backups", "--remote", "--json").stdout)["result"]["backups"]]
    assert len(remaining) == 1 and remaining[0] != first

    # The machine loses its sets and the data changes; the set from restic brings the rows back.
    shutil.rmtree(backup_dir(s))
    sql(s, "DELETE FROM stops")
    s.env["STACKCTL_BACKUP_KEEP_COUNT"] = "0"
    plan = s.run("restore", remaining[0], "--from-remote", "--dry-run")
    assert plan.returncode == 0 and f"from restic {repository}" in plan.stdout, plan.stderr
    assert not backup_dir(s).exists() or not any(backup_dir(s).iterdir())  # the plan fetched nothing
    restored = s.run("restore", remaining[0], "--from-remote", "--yes", timeout=600)
    assert restored.returncode == 0, restored.stderr
    assert sql(s, "SELECT count(*), md5(string_agg(name, ',' ORDER BY id)) FROM stops")[0] == before

    # Another host's password reads nothing, and says what to do; a damaged pack is found by check.
    (tmp_path / "other.password").write_text("another-host-password-0123456789\n")
    (tmp_path / "other.password").chmod(0o600)
    other = s.run("backups", "--remote", extra_env={"STACKCTL_BACKUP_RESTIC_PASSWORD_FILE": str(tmp_path / "other.password")})
    assert other.returncode != 0 and len(other.stderr.strip().splitlines()) == 1, other.stderr
    assert "copy the password file from the host that made it" in other.stderr
    pack = max((p for p in (folder / "data").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pack.write_bytes(bytes(data))
    damaged = s.run("backups", "check", "--read-data")
    assert damaged.returncode != 0 and "restic check failed" in damaged.stderr, damaged.stdout + damaged.stderr


def test_a_restic_repository_over_sftp_takes_a_set_and_gives_it_back(data_stack, sftp_port, tmp_path):
    """restic's sftp backend, from its container, to the loopback sshd with the key STACKCTL_BACKUP_SSH_KEY names."""
    from pathlib import Path

    s = data_stack
    restic_env(s, f"sftp://root@127.0.0.1:{sftp_port}/{tmp_path}/restic-sftp", tmp_path)
    s.env["STACKCTL_BACKUP_SSH_KEY"] = str(Path.home() / ".ssh" / "stackctl_loopback")
    made = s.run("backup", "--push", "--json")
    assert made.returncode == 0, made.stderr
    backup_id = json.loads(made.stdout)["result"]["id"]
    assert (tmp_path / "restic-sftp" / "config").is_file() and (tmp_path / "restic-sftp" / "data").is_dir()
    shutil.rmtree(backup_dir(s))
    fetched = s.run("restore", backup_id, "--from-remote", "--dry-run")
    assert fetched.returncode == 0, fetched.stderr
    restored = s.run("restore", backup_id, "--from-remote", "--yes", timeout=600)
    assert restored.returncode == 0, restored.stderr
    manifest = json.loads((backup_dir(s) / backup_id / "manifest.json").read_text())
    for meta in manifest["database"]["databases"]:
        assert hashlib.sha256((backup_dir(s) / backup_id / meta["file"]).read_bytes()).hexdigest() == meta["sha256"]
