"""What the edge serves, read back as a client sees it, and the commands over its certificates:
`stackctl edge renew` (ACME now, or forced) and `stackctl edge root` (the local CA to import).

Every success names what was observed: the certificate read back over TLS from the edge's
published HTTPS port for the host asked (SNI), its issuer, names and expiry."""

from __future__ import annotations

import hashlib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime

from stackctl.edge import SERVICE, certs
from stackctl.errors import EXIT_FAILED, EXIT_USAGE, StackError
from stackctl.report import Reporter

FORCE_DAYS = 36500  # a renewal threshold beyond any certificate's life: lego renews now


@dataclass(frozen=True)
class Served:
    host: str  # the name asked for (SNI)
    address: str  # where it was read: 127.0.0.1:443
    names: tuple[str, ...]
    issuer: str
    not_after: datetime
    sha256: str

    def to_dict(self) -> dict:
        return {"host": self.host, "address": self.address, "names": list(self.names), "issuer": self.issuer,
                "not_after": self.not_after.isoformat(timespec="seconds"), "sha256": self.sha256}


@dataclass(frozen=True)
class EdgeCertificates:
    action: str  # renew | root
    served: tuple[Served, ...]
    root: str | None = None  # the local CA's certificate (tls: internal)
    renewed: bool = False
    detail: str = ""

    def to_dict(self) -> dict:
        return {"action": self.action, "served": [s.to_dict() for s in self.served], "root": self.root,
                "renewed": self.renewed, "detail": self.detail}


def served(host: str, address: str, port: int, timeout: float = 5.0) -> Served:
    """The certificate the edge presents for `host`, read without trusting it (what is checked is
    what it is, not whether this machine trusts it)."""
    from cryptography import x509

    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((address, port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True)
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = tuple(san.get_values_for_type(x509.DNSName)) + tuple(str(a) for a in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        names = ()
    return Served(host, f"{address}:{port}", names, cert.issuer.rfc4514_string(), cert.not_valid_after_utc,
                  hashlib.sha256(der).hexdigest())


def _where(stack) -> tuple[str, int]:
    bind = stack.settings.edge_bind
    return ("127.0.0.1" if bind in ("0.0.0.0", "::", "[::]") else bind.strip("[]")), stack.settings.edge_https_port


def _edge(stack):
    declared = stack.declared
    if declared is None or declared.edge is None or not stack.project.edge:
        raise StackError(f"no edge in {stack.project.env}: stackctl.yaml has no edge: (or this environment does not "
                         "have production's rules)", "add edge: {hosts: [...], tls: ...} to stackctl.yaml; stackctl "
                         "--env production ...", EXIT_USAGE)
    running = stack.engine.service_containers(stack.name, SERVICE, running_only=True)
    return declared.edge, (running[0] if running else None)


def root(stack) -> EdgeCertificates:
    """`stackctl edge root`: the local CA's certificate, and what the edge serves from it now."""
    edge, container = _edge(stack)
    if edge.tls != "internal":
        raise StackError(f"the edge's certificates come from {edge.tls}, not a local CA", "tls: internal in "
                         "stackctl.yaml's edge: has one", EXIT_USAGE)
    path, _ = certs.ca_paths(stack.project.state_dir)
    if not path.is_file():
        raise StackError("the edge's local CA does not exist yet", "stackctl --env production up makes it", EXIT_USAGE)
    address, port = _where(stack)
    seen = tuple(served(host, address, port) for host in edge.hosts) if container else ()
    return EdgeCertificates("root", seen, str(path), detail="" if container else "the edge is not running")


def renew(stack, force: bool, report: Reporter) -> EdgeCertificates:
    """`stackctl edge renew`: ACME now (a first certificate, or a renewal when due; `force`: a new one
    whatever is left), put in service by a reload, and read back from the edge."""
    from stackctl.edge.prepare import prepare

    edge, container = _edge(stack)
    if edge.tls != "acme":
        raise StackError(f"the edge's certificates come from {edge.tls}, not ACME", "tls: acme in stackctl.yaml's "
                         "edge: gets them from an ACME server", EXIT_USAGE)
    if container is None:
        raise StackError(f"{SERVICE} is not running", "stackctl --env production up starts it", EXIT_FAILED)
    prepare(stack, report)  # the ACME settings as they are now
    address, port = _where(stack)
    before = served(edge.hosts[0], address, port)
    report.phase(f"asking {stack.settings.acme_directory} for {', '.join(edge.hosts)}")
    command = ["stackctl-edge-acme", "renew", str(FORCE_DAYS)] if force else ["stackctl-edge-acme", "once"]
    result = stack.engine.exec(container.id, command)
    if result.exit_code != 0:
        said = (result.stderr or result.stdout).strip().splitlines()
        raise StackError(f"the ACME server gave no certificate: {said[-1] if said else f'exit {result.exit_code}'}",
                         f"stackctl logs {SERVICE}; check that {', '.join(edge.hosts)} resolve to this host and port 80 "
                         "reaches it", EXIT_FAILED, details="\n".join(said[-20:]))
    seen = tuple(served(host, address, port) for host in edge.hosts)
    missing = [s.host for s in seen if s.host not in s.names]
    if missing:
        raise StackError(f"the edge serves a certificate without {', '.join(missing)} (issuer {seen[0].issuer})",
                         f"stackctl logs {SERVICE}", EXIT_FAILED)
    return EdgeCertificates("renew", seen, renewed=seen[0].sha256 != before.sha256,
                            detail="" if seen[0].sha256 != before.sha256 else "not due: the one served is kept")
