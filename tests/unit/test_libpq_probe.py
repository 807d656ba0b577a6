"""The database probe from the host through libpq itself (kinds.libpq), against a stand-in server on
a local port that speaks PostgreSQL's wire protocol as far as a connect and one query go: what the
client sent (user, database, password, the query) is checked, and the server's answers and
refusals come back as the probe's verdicts."""

from __future__ import annotations

import socketserver
import struct
import sys

import pytest

from stackctl.health.gate import State
from stackctl.kinds import libpq
from stackctl.kinds.postgres import Credentials, Postgres

SSL_REQUEST, GSS_REQUEST, PROTOCOL_3 = 80877103, 80877104, 196608
pytestmark = pytest.mark.skipif(libpq.LIB is None, reason=libpq.MISSING)


def _message(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + struct.pack("!i", len(payload) + 4) + payload


def _cstrings(*texts: str) -> bytes:
    return b"".join(text.encode() + b"\0" for text in texts)


def _error(code: str, text: str) -> bytes:
    return _message(b"E", b"SFATAL\0VFATAL\0C" + code.encode() + b"\0M" + text.encode() + b"\0\0")


class StandIn(socketserver.ThreadingTCPServer):
    """Answers one connection per probe: refuses at startup with `refuse`, or asks for a cleartext
    password, checks it, and answers `SELECT 1` with `answer`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, password: str = "s3 cr'et", answer: bytes = b"1", refuse: bytes | None = None):
        self.password, self.answer, self.refuse, self.seen = password, answer, refuse, {}
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def read_startup(self) -> dict:
                while True:
                    size, code = struct.unpack("!ii", self.rfile.read(8))
                    if code in (SSL_REQUEST, GSS_REQUEST):
                        self.wfile.write(b"N")
                        continue
                    assert code == PROTOCOL_3, code
                    words = self.rfile.read(size - 8).split(b"\0")
                    return {words[i].decode(): words[i + 1].decode() for i in range(0, len(words) - 2, 2)}

            def read_message(self) -> tuple[bytes, bytes]:
                kind = self.rfile.read(1)
                (size,) = struct.unpack("!i", self.rfile.read(4))
                return kind, self.rfile.read(size - 4)

            def handle(self):
                outer.seen.update(self.read_startup())
                if outer.refuse is not None:
                    self.wfile.write(outer.refuse)
                    return
                self.wfile.write(_message(b"R", struct.pack("!i", 3)))  # cleartext password, please
                kind, payload = self.read_message()
                outer.seen["password-sent"] = payload.rstrip(b"\0").decode()
                if kind != b"p" or payload != outer.password.encode() + b"\0":
                    self.wfile.write(_error("28P01", f'password authentication failed for user "{outer.seen["user"]}"'))
                    return
                self.wfile.write(_message(b"R", struct.pack("!i", 0)) + _message(b"S", _cstrings("server_version", "15.4"))
                                 + _message(b"K", struct.pack("!ii", 1, 2)) + _message(b"Z", b"I"))
                kind, payload = self.read_message()
                outer.seen["query"] = payload.rstrip(b"\0").decode()
                column = b"?column?\0" + struct.pack("!ihihih", 0, 0, 23, 4, -1, 0)
                self.wfile.write(_message(b"T", struct.pack("!h", 1) + column)
                                 + _message(b"D", struct.pack("!hi", 1, len(outer.answer)) + outer.answer)
                                 + _message(b"C", _cstrings("SELECT 1")) + _message(b"Z", b"I"))
                self.read_message()  # the client's Terminate

        super().__init__(("127.0.0.1", 0), Handler)

    def __enter__(self):
        import threading

        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()

    @property
    def port(self) -> int:
        return self.server_address[1]


def test_ready_when_the_server_answers_select_1_with_the_users_password():
    with StandIn() as server:
        seen = Postgres().probe_host("127.0.0.1", server.port, Credentials("app", "postgres", "s3 cr'et"))
    assert (seen.state, seen.detail) == (State.READY, "accepting queries (server 15.4)")
    assert (server.seen["user"], server.seen["database"], server.seen["application_name"]) == (
        "app", "postgres", "stackctl-probe")
    assert server.seen["password-sent"] == "s3 cr'et"
    assert server.seen["query"] == "SELECT 1"


def test_a_database_name_that_reads_like_a_connection_string_is_sent_as_a_name():
    with StandIn() as server:
        seen = Postgres().probe_host("127.0.0.1", server.port, Credentials("app", "host=elsewhere dbname=x", "s3 cr'et"))
    assert seen.state is State.READY
    assert server.seen["database"] == "host=elsewhere dbname=x"


def test_a_wrong_password_fails_and_says_what_the_server_said():
    with StandIn() as server:
        seen = Postgres().probe_host("127.0.0.1", server.port, Credentials("app", "app", "wrong"))
    assert seen.state is State.FAILED
    assert 'password authentication failed for user "app"' in seen.detail
    assert "another POSTGRES_PASSWORD" in seen.detail


def test_a_server_still_starting_is_pending_with_its_words():
    starting = _error("57P03", "the database system is starting up")
    with StandIn(refuse=starting) as server:
        seen = Postgres().probe_host("127.0.0.1", server.port, Credentials("app", "app", "x"))
    assert seen.state is State.PENDING
    assert "the database system is starting up" in seen.detail


def test_an_answer_other_than_1_is_not_ready():
    with StandIn(answer=b"2") as server:
        seen = Postgres().probe_host("127.0.0.1", server.port, Credentials("app", "app", "s3 cr'et"))
    assert seen.state is State.PENDING
    assert seen.detail == "SELECT 1 answered b'2'"


def test_nothing_listening_is_pending():
    with StandIn() as server:
        port = server.port
    seen = Postgres().probe_host("127.0.0.1", port, Credentials("app", "app", "x"))
    assert seen.state is State.PENDING
    assert "Connection refused" in seen.detail


def test_the_probe_loads_libpq_without_psycopgs_python_layer():
    import subprocess

    code = ("import sys\nfrom stackctl.kinds.postgres import Postgres, Credentials\n"
            "seen = Postgres().probe_host('127.0.0.1', 1, Credentials('a', 'b', 'c'))\n"
            "print(seen.state.value, 'psycopg' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["pending", "False"]
