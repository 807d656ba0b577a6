"""HTTP probes from the host (a data kind's own probes are its module's: stackctl.kinds).

Each returns an Observation and never raises. A probe is one GET of a health path, so it uses the
standard library's HTTP client: `status` and a no-op `up` probe every app, and an HTTP library's
import (~100 ms) would be most of their time.
"""

from __future__ import annotations

import http.client as http_client
import ssl
import threading
from urllib.parse import urlsplit

from stackctl.health.gate import Observation

PROBE_TIMEOUT = 2.0
BODY_SHOWN = 200  # characters of an unhealthy answer's body said with it

_context: list[ssl.SSLContext] = []
_context_lock = threading.Lock()


def _tls_context() -> ssl.SSLContext:
    """One context for every HTTPS probe (building one costs ~30 ms). Not verifying: a local
    health probe of our own nginx, often on a self-signed certificate for another name; it checks
    health, not identity."""
    with _context_lock:
        if not _context:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            _context.append(context)
        return _context[0]


def http(url: str, timeout: float = PROBE_TIMEOUT, any_answer: bool = False) -> Observation:
    """200 from a health path; or, for an app that declares only its port, any answer below 500
    (it listens and serves: a TCP connect alone would be accepted by docker's port proxy).
    Redirects are answers, not followed."""
    parts = urlsplit(url)
    try:
        if parts.scheme == "https":
            connection = http_client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=_tls_context())
        else:
            connection = http_client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        try:
            connection.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
                               headers={"User-Agent": "stackctl-probe", "Connection": "close"})
            response = connection.getresponse()
            body = response.read(64 * 1024)
        finally:
            connection.close()
    except (OSError, http_client.HTTPException, ValueError) as exc:
        return Observation.pending(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if response.status == 200 or any_answer and response.status < 500:
        return Observation.ready(f"HTTP {response.status} from {url}")
    return Observation.pending(f"HTTP {response.status} from {url}: {body.decode('utf-8', 'replace')[:BODY_SHOWN]}")
