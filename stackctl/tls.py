"""TLS for production nginx: a self-signed pair for testing, checks of the configured pair,
and their paths for the production overlay's file-backed secrets."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

from stackctl.project import Project
from stackctl.settings import Settings


def paths(project: Project, settings: Settings) -> tuple[Path, Path]:
    def resolve(value: str) -> Path:
        path = Path(value)
        return path if path.is_absolute() else project.root / path

    return resolve(settings.tls_cert_file), resolve(settings.tls_key_file)


def self_signed(cert_path: Path, key_path: Path, hosts: list[str], days: int = 90) -> datetime:
    """Write a self-signed certificate (EC P-256) for hosts; returns its expiry."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    names = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    now = datetime.now(timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    _replace(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()), 0o600)
    _replace(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return cert.not_valid_after_utc


def _replace(path: Path, data: bytes, mode: int) -> None:
    """Write a new file beside `path` (never through a link), then rename it over `path`: a link
    at `path` is replaced, not followed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(partial, path)


def replaceable(path: Path, what: str) -> str | None:
    """Why --force must not replace the file at `path` (None: it may): only a PEM certificate or
    private key, as stackctl writes, is ever replaced; never another file a path names
    (STACKCTL_TLS_KEY_FILE=/etc/shadow), and never through a link."""
    if path.is_symlink():
        return f"{path} is a link: stackctl does not write through it"
    if not path.exists():
        return None
    if not path.is_file():
        return f"{path} is not a file"
    try:
        head = path.read_bytes()[:4096].decode("ascii")
    except (OSError, UnicodeDecodeError):
        head = ""
    marker = "-----BEGIN CERTIFICATE-----" if what == "certificate" else "PRIVATE KEY-----"
    if marker not in head:
        return f"{path} is not a PEM {what}: --force replaces only a {what}"
    return None


def problems(project: Project, settings: Settings, now: datetime | None = None) -> list[str]:
    """What is wrong with the configured certificate and key (empty when usable)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    cert_path, key_path = paths(project, settings)
    found = []
    for var, path in (("STACKCTL_TLS_CERT_FILE", cert_path), ("STACKCTL_TLS_KEY_FILE", key_path)):
        if not path.is_file():
            found.append(f"{var} {path} does not exist")
    if found:
        return found
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except ValueError:
        return [f"{cert_path} is not a PEM certificate"]
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (ValueError, TypeError):
        return [f"{key_path} is not an unencrypted PEM private key"]
    if cert.public_key().public_numbers() != key.public_key().public_numbers():
        found.append("the TLS key does not belong to the certificate")
    if cert.not_valid_after_utc <= (now or datetime.now(timezone.utc)):
        found.append(f"the certificate expired on {cert.not_valid_after_utc:%Y-%m-%d}")
    return found


def wanted(stack) -> bool:
    """A compose file names the pair stackctl provides (TLS_CERT_PATH / TLS_KEY_PATH)."""
    return any(path.is_file() and b"TLS_CERT_PATH" in path.read_bytes() for path in stack.project.compose_files())


def compose_env(project: Project, settings: Settings) -> dict[str, str]:
    """Absolute paths of the pair for the production overlay's file-backed secrets."""
    cert_path, key_path = paths(project, settings)
    return {"TLS_CERT_PATH": str(cert_path), "TLS_KEY_PATH": str(key_path)}


def make_self_signed(stack, hosts: list[str], days: int, force: bool):
    """`stackctl certs self-signed`: a pair at the configured paths, never over one without --force."""
    from stackctl.errors import EXIT_USAGE, StackError
    from stackctl.results import CertMade

    cert_path, key_path = paths(stack.project, stack.settings)
    if (cert_path.exists() or key_path.exists()) and not force:
        raise StackError(f"{cert_path} or {key_path} already exists", "add --force to replace them", EXIT_USAGE)
    for path, what in ((cert_path, "certificate"), (key_path, "private key")):
        refused = replaceable(path, what)
        if refused:
            raise StackError(f"{refused}: nothing was written", "point STACKCTL_TLS_CERT_FILE/STACKCTL_TLS_KEY_FILE "
                             "at the pair's own files", EXIT_USAGE)
    return CertMade(cert_path, key_path, self_signed(cert_path, key_path, hosts or ["localhost", "127.0.0.1"], days))


def expiry(project: Project, settings: Settings) -> datetime | None:
    """When the configured certificate stops being valid (None: there is none to read)."""
    from cryptography import x509

    cert_path, _ = paths(project, settings)
    try:
        return x509.load_pem_x509_certificate(cert_path.read_bytes()).not_valid_after_utc
    except (OSError, ValueError):
        return None
