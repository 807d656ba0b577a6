"""The Engine's light client (stackctl.engine_http) against a stand-in engine on a unix socket:
the SDK's requests (paths, filters, bodies), its answers, and its failures as the SDK's would be told."""

from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

import pytest

from stackctl import engine_http
from stackctl.errors import EXIT_NO_ENGINE
from stackctl.failures import translate


class _Engine(BaseHTTPRequestHandler):
    seen: list = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        url = urlparse(self.path)
        _Engine.seen.append((url.path, parse_qs(url.query)))
        if url.path == "/containers/json":
            self._answer(200, [{"Id": "abc", "Labels": {}}])
        elif url.path == "/containers/gone/json":
            self._answer(404, {"message": "No such container: gone"})
        elif url.path == "/info":
            self._answer(500, {"message": "the engine broke"})
        else:
            self._answer(200, {"path": url.path})

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        _Engine.seen.append((self.path, json.loads(self.rfile.read(length))))
        self._answer(201, {"Name": "stackctl-lock-shop", "Labels": {"held-by": "up"}})

    def do_DELETE(self):  # noqa: N802
        _Engine.seen.append((self.path, None))
        if self.path.endswith("/gone"):
            self._answer(404, {"message": "get gone: no such volume"})
            return
        self.send_response(204)
        self.end_headers()

    def _answer(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def address_string(self):
        return "unix"

    def log_message(self, *args):
        pass


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@pytest.fixture
def engine_socket(tmp_path):
    path = tmp_path / "docker.sock"
    server = _Server(str(path), _Engine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Engine.seen = []
    yield path
    server.shutdown()
    server.server_close()


def test_reads_send_the_sdks_requests_and_return_its_answers(engine_socket):
    reads = engine_http.for_address(f"unix://{engine_socket}")
    assert reads.containers(all=True, filters={"label": "com.docker.compose.project=shop"}) == [{"Id": "abc", "Labels": {}}]
    path, query = _Engine.seen[-1]
    assert path == "/containers/json"
    assert query["all"] == ["1"]
    assert json.loads(query["filters"][0]) == {"label": ["com.docker.compose.project=shop"]}
    assert reads.inspect_image("registry.example:5000/shop/api@sha256:ab") == {"path": "/images/registry.example:5000/shop/api@sha256:ab/json"}


def test_a_missing_object_is_not_found_and_an_engine_error_is_refused(engine_socket):
    reads = engine_http.for_address(f"unix://{engine_socket}")
    with pytest.raises(engine_http.NotFound) as missing:
        reads.inspect_container("gone")
    assert missing.value.status_code == 404 and "No such container" in missing.value.explanation
    with pytest.raises(engine_http.Refused) as refused:
        reads.info()
    error = translate(refused.value, "docker info")
    assert error.message == "docker info: the engine refused: the engine broke"


def test_no_engine_at_the_socket_is_unreachable_and_told_as_an_engine_that_is_gone(tmp_path):
    reads = engine_http.for_address(f"unix://{tmp_path}/nothing.sock")
    with pytest.raises(engine_http.Unreachable) as gone:
        reads.ping()
    assert translate(gone.value, "docker ps").exit_code == EXIT_NO_ENGINE


def test_tls_and_ssh_engines_stay_with_the_sdk(monkeypatch):
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    monkeypatch.delenv("DOCKER_CERT_PATH", raising=False)
    assert engine_http.for_address("ssh://deploy@prod") is None
    assert engine_http.for_address("https://prod:2376") is None
    assert engine_http.for_address("tcp://10.0.0.5:2375") is not None
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    assert engine_http.for_address("tcp://10.0.0.5:2376") is None
    assert engine_http.for_address("unix:///var/run/docker.sock") is not None


def test_the_locks_volume_is_created_and_removed_as_the_sdk_would(engine_socket):
    client = engine_http.for_address(f"unix://{engine_socket}")
    made = client.create_volume("stackctl-lock-shop", labels={"held-by": "up"})
    assert made["Labels"] == {"held-by": "up"}
    assert _Engine.seen[-1] == ("/volumes/create", {"Name": "stackctl-lock-shop", "Labels": {"held-by": "up"}})
    client.remove_volume("stackctl-lock-shop")
    assert _Engine.seen[-1] == ("/volumes/stackctl-lock-shop", None)
    with pytest.raises(engine_http.NotFound):
        client.remove_volume("gone")
