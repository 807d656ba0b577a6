"""Probes that speak each service's protocol from the host: SQL, RESP, HTTP.

Each returns an Observation and never raises. Libraries load on first use.
"""

from __future__ import annotations

from stackctl.health.gate import Observation

PROBE_TIMEOUT = 2.0


def postgres(host: str, port: int, user: str, password: str, dbname: str,
             timeout: float = PROBE_TIMEOUT) -> Observation:
    import psycopg

    try:
        with psycopg.connect(host=host, port=port, user=user, password=password, dbname=dbname,
                             connect_timeout=max(1, int(timeout)), application_name="stackctl-probe") as conn:
            conn.execute("SELECT 1")
            version = conn.info.server_version
        return Observation.ready(f"accepting queries (server {version // 10000}.{version % 10000})")
    except psycopg.OperationalError as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "password authentication failed" in text or "does not exist" in text and "role" in text:
            return Observation.failed(
                f"{text}: the data volume may have been initialised with another POSTGRES_PASSWORD/USER")
        return Observation.pending(text)
    except Exception as exc:  # probe must not raise
        return Observation.pending(f"{type(exc).__name__}: {exc}")


def redis(host: str, port: int, password: str, timeout: float = PROBE_TIMEOUT) -> Observation:
    import redis as redis_lib

    client = redis_lib.Redis(host=host, port=port, password=password, socket_timeout=timeout,
                             socket_connect_timeout=timeout)
    try:
        client.ping()
        return Observation.ready("PONG")
    except redis_lib.AuthenticationError as exc:
        return Observation.failed(f"authentication refused ({exc}): REDIS_PASSWORD differs from the server's")
    except (redis_lib.ConnectionError, redis_lib.TimeoutError, redis_lib.BusyLoadingError, OSError) as exc:
        return Observation.pending(str(exc) or type(exc).__name__)
    except redis_lib.ResponseError as exc:
        return Observation.pending(str(exc))
    finally:
        client.close()


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
