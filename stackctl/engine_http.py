"""The engine's simple requests over the standard library's HTTP client, for the Engine only.

A command that only reads (ps, status, a no-op up) should not pay for importing the docker SDK
(requests, urllib3 and docker-py: ~250 ms on this project's machines, more than `docker compose
ps` takes in all). Where the engine is a local socket or plain tcp (no TLS, no ssh), the Engine
sends these through this client instead: the GETs it reads with, and the lock's volume (create,
remove), with the same paths, bodies and JSON as the SDK's. Everything else (exec, streams,
archives, builds, pulls, containers' changes) and every TLS or ssh engine stays with the SDK.

Each request opens its own connection (a unix socket connects in microseconds), so one Client
is safe to share between threads.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
from urllib.parse import quote, urlencode, urlparse

DEFAULT_SOCKET = "/var/run/docker.sock"
TIMEOUT = 30.0


class Unreachable(ConnectionError):
    """No answer from the engine's address (classified as "gone" by stackctl.failures)."""


class Refused(Exception):
    """The engine answered with an error (status_code and explanation as the SDK's APIError has)."""

    def __init__(self, status_code: int, explanation: str):
        super().__init__(f"{status_code}: {explanation}")
        self.status_code, self.explanation = status_code, explanation


class NotFound(Refused):
    """404: no such container, image, service or volume."""


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self.socket_path)
        except BaseException:
            sock.close()
            raise
        self.sock = sock


def for_address(host: str | None) -> Client | None:
    """A reader for the engine at `host` (None: DOCKER_HOST, else the default socket), or None
    where the SDK is needed: ssh, TLS (DOCKER_TLS_VERIFY or https), or an address of another kind."""
    address = host or os.environ.get("DOCKER_HOST") or f"unix://{DEFAULT_SOCKET}"
    url = urlparse(address)
    if url.scheme == "unix" and url.path:
        return Client(address, lambda: _UnixConnection(url.path, TIMEOUT))
    if os.environ.get("DOCKER_TLS_VERIFY") or os.environ.get("DOCKER_CERT_PATH"):
        return None
    if url.scheme in ("tcp", "http") and url.hostname:
        port = url.port or 2375
        return Client(address, lambda: http.client.HTTPConnection(url.hostname, port, timeout=TIMEOUT))
    return None


def _filters(filters: dict | None) -> dict:
    """As the SDK sends them: each value a list, the whole JSON-encoded."""
    if not filters:
        return {}
    return {"filters": json.dumps({k: v if isinstance(v, list) else [v] for k, v in filters.items()})}


class Client:
    """The SDK's methods this project sends here, by the SDK's names and arguments."""

    def __init__(self, address: str, connect):
        self.address, self._connect = address, connect

    def get(self, path: str, params: dict | None = None):
        return self.request("GET", path, params)

    def request(self, method: str, path: str, params: dict | None = None, body: dict | None = None):
        query = f"?{urlencode(params)}" if params else ""
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        connection = self._connect()
        try:
            try:
                connection.request(method, path + query, body=data, headers=headers)
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise Unreachable(f"{self.address}: {exc or type(exc).__name__}") from None
        finally:
            connection.close()
        if response.status >= 400:
            try:
                said = json.loads(body).get("message") or body.decode("utf-8", "replace")
            except (ValueError, AttributeError):
                said = body.decode("utf-8", "replace")
            raise (NotFound if response.status == 404 else Refused)(response.status, said.strip())
        return json.loads(body) if body.strip().startswith((b"{", b"[")) else body.decode("utf-8", "replace")

    def ping(self) -> None:
        self.get("/_ping")

    def version(self) -> dict:
        return self.get("/version")

    def info(self) -> dict:
        return self.get("/info")

    def containers(self, all: bool = False, filters: dict | None = None) -> list[dict]:  # noqa: A002 (the SDK's name)
        return self.get("/containers/json", {**({"all": "1"} if all else {}), **_filters(filters)})

    def inspect_container(self, container: str) -> dict:
        return self.get(f"/containers/{quote(container, safe='')}/json")

    def inspect_image(self, reference: str) -> dict:
        return self.get(f"/images/{quote(reference, safe='/:@')}/json")

    def images(self, name: str | None = None) -> list[dict]:
        return self.get("/images/json", _filters({"reference": name} if name else None))

    def services(self, filters: dict | None = None) -> list[dict]:
        return self.get("/services", _filters(filters))

    def inspect_service(self, service: str) -> dict:
        return self.get(f"/services/{quote(service, safe='')}")

    def tasks(self, filters: dict | None = None) -> list[dict]:
        return self.get("/tasks", _filters(filters))

    def nodes(self) -> list[dict]:
        return self.get("/nodes")

    def networks(self, filters: dict | None = None) -> list[dict]:
        return self.get("/networks", _filters(filters))

    def inspect_volume(self, name: str) -> dict:
        return self.get(f"/volumes/{quote(name, safe='')}")

    def secrets(self, filters: dict | None = None) -> list[dict]:
        return self.get("/secrets", _filters(filters))

    def create_volume(self, name: str, labels: dict[str, str] | None = None) -> dict:
        """The volume of that name, created unless it exists (the engine answers with the one it has)."""
        return self.request("POST", "/volumes/create", body={"Name": name, "Labels": labels or {}})

    def remove_volume(self, name: str) -> None:
        self.request("DELETE", f"/volumes/{quote(name, safe='')}")
