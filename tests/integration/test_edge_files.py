"""`edge: {tls: files}`: the edge serves the certificate the user brings (STACKCTL_TLS_CERT_FILE /
STACKCTL_TLS_KEY_FILE, as a CA of the user's own issued it), and a renewed pair put in its place
is served after the next deploy by a reload: the same edge container, no failed request."""

from __future__ import annotations

import hashlib
import socket
import ssl
from datetime import datetime, timedelta, timezone

import httpx

from conftest import remove_everything
from load import Load, amid
from test_deploy import service_container_ids
from test_mounted_config import deployed_behind_edge, project

EDGE = """
edge:
  hosts: [shop.test]
  tls: files
  upstream_port: 80
"""


def issue(ca_key, ca_name, host: str) -> tuple[bytes, bytes]:
    """A leaf for `host` signed by the test's CA: (certificate PEM, key PEM)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def certificate_authority(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "the team's own CA")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    (tmp_path / "ca.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, name, tmp_path / "ca.pem"


def served(port: int, ca: str) -> str:
    """The sha256 of the certificate the edge serves for shop.test, checked against the CA alone."""
    context = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname="shop.test") as tls:
        return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


def pem_sha256(pem: bytes) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.decode())).hexdigest()


def test_the_edge_serves_the_users_certificate_and_a_renewed_one_after_a_deploy_without_a_failed_request(tmp_path):
    s = project(tmp_path)
    ca_key, ca_name, ca = certificate_authority(tmp_path)
    cert, key = issue(ca_key, ca_name, "shop.test")
    (s.project_dir / "tls").mkdir()
    (s.project_dir / "tls" / "shop.crt").write_bytes(cert)
    (s.project_dir / "tls" / "shop.key").write_bytes(key)
    try:
        https_port = deployed_behind_edge(s, EDGE, STACKCTL_TLS_CERT_FILE="tls/shop.crt",
                                          STACKCTL_TLS_KEY_FILE="tls/shop.key")
        assert served(https_port, str(ca)) == pem_sha256(cert)
        edge = service_container_ids(s, "stackctl-edge")
        assert len(edge) == 1

        renewed, renewed_key = issue(ca_key, ca_name, "shop.test")
        (s.project_dir / "tls" / "shop.crt").write_bytes(renewed)
        (s.project_dir / "tls" / "shop.key").write_bytes(renewed_key)
        url = f"https://127.0.0.1:{https_port}/which"
        with Load(url, rate=20) as load:
            again = amid(lambda: s.run("--env", "production", "deploy", timeout=600))
        assert again.returncode == 0, again.stderr
        assert "reloaded without closing a connection" in again.stderr, again.stderr
        assert load.total >= 30 and load.failures == [], (load.total, load.failures[:5])
        assert served(https_port, str(ca)) == pem_sha256(renewed) != pem_sha256(cert)
        assert service_container_ids(s, "stackctl-edge") == edge  # a reload, not a new edge
        assert httpx.get(url, verify=False, timeout=10).text == "v1"
        print(f"\nthe user's renewed certificate behind the edge: {load.total} requests, 0 failed")
    finally:
        remove_everything(s)
