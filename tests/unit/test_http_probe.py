"""The HTTP probe (stackctl.health.probes.http) against a real local server: what it calls ready."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from stackctl.health import probes
from stackctl.health.gate import State


class _App(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        status, body = {"/health": (200, b"ok"), "/moved": (301, b""), "/sick": (503, b"database away")}.get(
            self.path.split("?")[0], (404, b"no"))
        self.send_response(status)
        if status == 301:
            self.send_header("Location", "https://example.invalid/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def app():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _App)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_200_on_the_health_path_is_ready_and_names_it(app):
    seen = probes.http(f"{app}/health")
    assert seen.state is State.READY and seen.detail == f"HTTP 200 from {app}/health"


def test_an_unhealthy_answer_is_pending_with_what_it_said(app):
    seen = probes.http(f"{app}/sick")
    assert seen.state is State.PENDING and "HTTP 503" in seen.detail and "database away" in seen.detail


def test_a_redirect_is_an_answer_for_a_port_only_app_but_not_a_health_pass(app):
    assert probes.http(f"{app}/moved", any_answer=True).state is State.READY
    assert probes.http(f"{app}/moved").state is State.PENDING


def test_nothing_listening_is_pending_never_an_exception():
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    seen = probes.http(f"http://127.0.0.1:{port}/health", timeout=1)
    assert seen.state is State.PENDING and "refused" in seen.detail.lower()
