"""HTTP probes from the host (a data kind's own probes are its module's: stackctl.kinds).

Each returns an Observation and never raises. Libraries load on first use.
"""

from __future__ import annotations

from stackctl.health.gate import Observation

PROBE_TIMEOUT = 2.0


_client = None
_client_lock = __import__("threading").Lock()


def _http_client():
    """One client for every HTTP probe: building one costs an SSL context (~30 ms) each time."""
    global _client
    import httpx

    with _client_lock:
        if _client is None:
            # verify=False: a local health probe of our own nginx, often on a self-signed
            # certificate for another name; it checks health, not identity.
            _client = httpx.Client(trust_env=False, verify=False)
        return _client


def http(url: str, timeout: float = PROBE_TIMEOUT, any_answer: bool = False) -> Observation:
    """200 from a health path; or, for an app that declares only its port, any answer below 500
    (it listens and serves: a TCP connect alone would be accepted by docker's port proxy)."""
    import httpx

    try:
        response = _http_client().get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return Observation.pending(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    if response.status_code == 200 or any_answer and response.status_code < 500:
        return Observation.ready(f"HTTP {response.status_code} from {url}")
    return Observation.pending(f"HTTP {response.status_code} from {url}: {response.text[:200]}")
