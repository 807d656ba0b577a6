"""doctor names the cause of real faults, each produced for real, most likely cause first."""

import json
import re
import subprocess
from datetime import datetime, timedelta, timezone


def diagnose(s, *args, **extra):
    out = s.run(*args, "doctor", "--json", extra_env=extra or None)
    return out.returncode, json.loads(out.stdout)["result"]


def test_a_healthy_stack_has_nothing_to_report(stack):
    assert stack.run("up").returncode == 0
    code, result = diagnose(stack)
    assert code == 0 and result["findings"] == []


def test_the_api_stopped_behind_nginx_is_named_before_the_502_it_causes(stack):
    assert stack.run("up").returncode == 0
    subprocess.run(["docker", "stop", f"{stack.name}-api-1"], capture_output=True, check=True)
    code, result = diagnose(stack)
    assert code == 3
    first, *rest = result["findings"]
    assert first["subject"] == "api" and first["what"].startswith("is exited"), result
    assert first["fix"].startswith("stackctl start api")
    proxy = next(f for f in rest if f["subject"] == "web")
    assert re.match(r"answers 50[24] on .*: because api is exited", proxy["what"]), proxy


def test_a_wrong_database_password_is_named_with_its_log_line(scratch_project):
    s = scratch_project
    (s.project_dir / ".env").write_text("POSTGRES_PASSWORD=first-password-of-the-db\n")
    assert s.run("up").returncode == 0
    # The volume keeps the password it was made with; the app now brings another one.
    (s.project_dir / ".env").write_text("POSTGRES_PASSWORD=another-password-entirely\n")
    assert s.run("up").returncode == 1
    code, result = diagnose(s)
    assert code == 3
    first = result["findings"][0]
    assert first["subject"] == "db" and "its data volume was made with another POSTGRES_PASSWORD" in first["what"]
    assert any("password authentication failed" in line for line in first["evidence"]), first
    assert "ALTER USER" in first["fix"]
    assert "another-password-entirely" not in json.dumps(result)  # evidence is masked


def test_an_engine_that_does_not_answer_is_the_first_and_only_finding(stack):
    code, result = diagnose(stack, DOCKER_HOST="tcp://127.0.0.1:9")
    assert code == 4 and [f["subject"] for f in result["findings"]] == ["engine"]
    assert "systemctl start docker" in result["findings"][0]["fix"]


def test_a_missing_image_and_an_expiring_certificate(prod_stack):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    s = prod_stack
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - timedelta(days=80)).not_valid_after(now + timedelta(days=5))
            .sign(key, hashes.SHA256()))
    certs = s.project_dir / "certs"
    (certs / "tls.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (certs / "tls.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                      serialization.PrivateFormat.PKCS8,
                                                      serialization.NoEncryption()))
    code, result = diagnose(s, "--env", "production")
    assert code == 3
    subjects = {f["subject"]: f for f in result["findings"]}
    assert re.match(r"the certificate expires on \d{4}-\d\d-\d\d \([45] days\)", subjects["tls"]["what"]), result
    # nothing was built for this project yet: its images are missing, named with how to get them
    assert subjects["api"]["what"].startswith("its image stackctl-it/") and "stackctl build api" in subjects["api"]["fix"]


def test_a_full_disk_under_the_backups_is_named(stack, tmp_path):
    """A real filesystem filled for real: a 4 MiB tmpfs as STACKCTL_BACKUP_DIR, 95% written."""
    disk = tmp_path / "small-disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], check=True)
    try:
        stack.env["STACKCTL_BACKUP_DIR"] = str(disk)
        code, result = diagnose(stack)
        assert not any(f["subject"] == "disk" for f in result["findings"]), result  # empty: nothing to say
        (disk / "old-backups.bin").write_bytes(b"\0" * (4 * 1024 * 1024 * 95 // 100))
        code, result = diagnose(stack)
        assert code == 3
        full = [f for f in result["findings"] if f["subject"] == "disk"]
        assert len(full) == 1 and full[0]["what"].startswith(f"the disk holding the backups ({disk}) is 9"), full
        assert "STACKCTL_BACKUP_KEEP_COUNT" in full[0]["fix"]
    finally:
        subprocess.run(["umount", str(disk)], check=False)
