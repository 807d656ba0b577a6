"""The certificates the edge serves, as files HAProxy loads (one PEM: chain, then key).

- `tls: internal`: a local CA of this project (`.stackctl/edge-ca/`, made once, ten years; its
  key readable by its owner only) signs a certificate for the hosts and localhost, renewed when
  30 days are left or the hosts change. `stackctl edge root` prints where the root is, to import
  into a browser or hand to `curl --cacert`.
- `tls: files`: the user's pair (STACKCTL_TLS_CERT_FILE, STACKCTL_TLS_KEY_FILE).
- `tls: acme`: lego in the edge writes its own; stackctl writes only a self-signed stand-in the
  edge serves until the first certificate arrives.

Keys are made by `cryptography`, never by hand.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta, timezone
from pathlib import Path

from stackctl.errors import ConfigError

CA_DAYS = 3650
LEAF_DAYS = 90
RENEW_BEFORE = timedelta(days=30)
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


def _names(hosts) -> list:
    from cryptography import x509

    found = []
    for host in dict.fromkeys(hosts):
        try:
            found.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            found.append(x509.DNSName(host))
    return found


def _pem_key(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return cert.public_bytes(serialization.Encoding.PEM)


def _builder(subject, issuer, public_key, days: int):
    """A certificate builder with what every certificate here shares: a random serial, valid from
    five minutes ago (clocks differ a little) for `days`."""
    from cryptography import x509

    now = datetime.now(timezone.utc)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days)))


def ca_paths(state_dir: Path) -> tuple[Path, Path]:
    folder = state_dir / "edge-ca"
    return folder / "root.pem", folder / "root.key"


def local_ca(state_dir: Path):
    """This project's CA (certificate, key), made on first use."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    from stackctl.statefiles import private_dir
    from stackctl.tls import _replace

    cert_path, key_path = ca_paths(state_dir)
    if cert_path.is_file() and key_path.is_file():
        try:
            return (x509.load_pem_x509_certificate(cert_path.read_bytes()),
                    serialization.load_pem_private_key(key_path.read_bytes(), None))
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"{cert_path.parent}: the edge's local CA does not read ({exc})",
                              f"move {cert_path.parent} aside; stackctl up makes a new CA (clients must import it again)")
    private_dir(cert_path.parent)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"stackctl local CA ({state_dir.parent.name})")])
    cert = (_builder(name, name, key.public_key(), CA_DAYS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _replace(key_path, _pem_key(key), 0o600)
    _replace(cert_path, _pem_cert(cert), 0o644)
    return cert, key


def signed_by_local_ca(state_dir: Path, hosts: tuple[str, ...]) -> bytes:
    """A PEM (certificate, then the CA, then the key) for the hosts and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert, ca_key = local_ca(state_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0])])
    cert = (_builder(subject, ca_cert.subject, key.public_key(), LEAF_DAYS)
            .add_extension(x509.SubjectAlternativeName(_names((*hosts, *LOCAL_NAMES))), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return _pem_cert(cert) + _pem_cert(ca_cert) + _pem_key(key)


def self_signed(hosts: tuple[str, ...]) -> bytes:
    """A throwaway self-signed PEM (certificate, key): what the edge serves until ACME's arrives."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{hosts[0]} (waiting for ACME)")])
    cert = (_builder(name, name, key.public_key(), LEAF_DAYS)
            .add_extension(x509.SubjectAlternativeName(_names(hosts)), critical=False)
            .sign(key, hashes.SHA256()))
    return _pem_cert(cert) + _pem_key(key)


def current_serves(pem: Path, hosts: tuple[str, ...], issuer_pem: Path | None = None) -> bool:
    """The PEM there still serves these hosts (every one named), for more than RENEW_BEFORE, and was
    signed by this issuer (when one is given)."""
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(pem.read_bytes())
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        issuer = x509.load_pem_x509_certificate(issuer_pem.read_bytes()) if issuer_pem else None
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    covered = set(names.get_values_for_type(x509.DNSName)) | {str(a) for a in names.get_values_for_type(x509.IPAddress)}
    fresh = cert.not_valid_after_utc - datetime.now(timezone.utc) > RENEW_BEFORE
    return set(hosts) <= covered and fresh and (issuer is None or cert.issuer == issuer.subject)
