"""One translation of what Docker, compose and the OS raise: a line that says what failed and
what to do, never "unexpected ... please report it"."""

import errno
import subprocess

import pytest
import requests
from docker.errors import APIError
from python_on_whales.exceptions import DockerException

from stackctl.engine import Engine
from stackctl.errors import StackError
from stackctl.failures import translate


class Response:
    def __init__(self, status):
        self.status_code, self.reason, self.url = status, "", "http+docker://localhost/v1.45/containers/x/stop"


def test_permission_denied_says_how_to_get_it():
    err = translate(PermissionError(errno.EACCES, "Permission denied", "/etc/systemd/system/x.timer"),
                    "stackctl backup schedule")
    assert err.message == "stackctl backup schedule: permission denied (/etc/systemd/system/x.timer)"
    assert "root" in err.hint and "docker group" in err.hint


def test_the_engine_refusing_names_the_call_and_its_reason():
    exc = APIError("409 Client Error", Response(409), explanation="container is not running")
    err = translate(exc, "docker stop 1a2b3c")
    assert err.message == "docker stop 1a2b3c: the engine refused: container is not running"


def test_an_engine_gone_mid_call_says_to_start_it():
    exc = requests.exceptions.ConnectionError("('Connection aborted.', FileNotFoundError(2, 'No such file'))")
    err = translate(exc, "docker inspect api")
    assert err.message.startswith("docker inspect api: the Docker engine stopped answering")
    assert "systemctl start docker" in err.hint


def test_a_compose_failure_keeps_its_last_line_and_the_rest_as_details():
    exc = DockerException(["docker", "compose", "up"], 1, b"", b"pulling\nservice \"api\" has neither an image nor a build\n")
    err = translate(exc, "docker compose up --no-start")
    assert err.message == 'docker compose up --no-start failed: service "api" has neither an image nor a build'
    assert err.details == "pulling"


def test_a_failed_process_names_its_command_and_exit():
    exc = subprocess.CalledProcessError(1, ["systemctl", "daemon-reload"], stderr="Access denied\n")
    err = translate(exc, "stackctl backup schedule")
    assert err.message == "stackctl backup schedule: systemctl daemon-reload exited with 1: Access denied"


def test_engine_methods_come_out_translated(monkeypatch):
    """Through the door: a raw SDK error inside an Engine method reaches the caller as a StackError."""
    engine = Engine.__new__(Engine)

    class Api:
        def restart(self, container, timeout):
            raise requests.exceptions.ConnectionError("Connection aborted.")

    monkeypatch.setattr(Engine, "_api", property(lambda self: Api()))
    with pytest.raises(StackError, match="docker restart api-1: the Docker engine stopped answering"):
        engine.restart("api-1")


def test_a_bug_is_not_dressed_up_as_an_engine_failure(monkeypatch):
    engine = Engine.__new__(Engine)

    class Api:
        def restart(self, container, timeout):
            raise KeyError("Id")

    monkeypatch.setattr(Engine, "_api", property(lambda self: Api()))
    with pytest.raises(KeyError):
        engine.restart("api-1")


def test_an_address_where_something_else_answers_http_is_not_called_an_engine():
    """DOCKER_HOST naming a web server (here: one answering 404 to everything) is said as such, in
    one line with the exit code of "no engine", not as an engine that refused."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import pytest

    from stackctl.engine import Engine
    from stackctl.errors import EXIT_NO_ENGINE, StackError

    class NotAnEngine(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), NotAnEngine)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(StackError) as raised:
            Engine(f"tcp://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
    assert raised.value.exit_code == EXIT_NO_ENGINE
    assert raised.value.message == (f"no Docker engine answers at tcp://127.0.0.1:{server.server_port}: not a Docker "
                                    "engine: GET /_ping answered HTTP 404")
    assert "check DOCKER_HOST" in raised.value.hint
