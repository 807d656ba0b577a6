"""The cache probe's PING from the host, against a stand-in server on a local port that speaks
the protocol's framing (arrays of bulk strings in, one-line replies out) as Redis answers."""

from __future__ import annotations

import socket
import socketserver
import threading

import pytest

from stackctl.errors import StackError
from stackctl.health.gate import State
from stackctl.kinds.redis import Redis, Refused, ping


def _commands(stream):
    """Each command the client sent, as its words (the RESP array framing checked as it is read)."""
    while True:
        head = stream.readline()
        if not head:
            return
        assert head.startswith(b"*") and head.endswith(b"\r\n"), head
        words = []
        for _ in range(int(head[1:-2])):
            size = stream.readline()
            assert size.startswith(b"$"), size
            word = stream.read(int(size[1:-2]) + 2)
            assert word.endswith(b"\r\n")
            words.append(word[:-2].decode())
        yield words


class StandIn(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, password: str | None = None, loading: bool = False, answer: bytes | None = None):
        self.password, self.loading, self.answer, self.seen = password, loading, answer, []

        class Handler(socketserver.StreamRequestHandler):
            def handle(inner):
                authed = self.password is None
                for words in _commands(inner.rfile):
                    self.seen.append(words)
                    if self.answer is not None:
                        inner.wfile.write(self.answer)
                    elif words[0] == "AUTH":
                        if self.password is None:
                            inner.wfile.write(b"-ERR AUTH <password> called without any password configured\r\n")
                        elif words[1] == self.password:
                            authed = True
                            inner.wfile.write(b"+OK\r\n")
                        else:
                            inner.wfile.write(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
                    elif self.loading:
                        inner.wfile.write(b"-LOADING Redis is loading the dataset in memory\r\n")
                    elif not authed:
                        inner.wfile.write(b"-NOAUTH Authentication required.\r\n")
                    else:
                        inner.wfile.write(b"+PONG\r\n")
                    inner.wfile.flush()

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, args=(0.02,), daemon=True).start()

    @property
    def port(self) -> int:
        return self.server_address[1]


@pytest.fixture
def serve():
    servers = []

    def start(**kw) -> StandIn:
        servers.append(StandIn(**kw))
        return servers[-1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_password_goes_as_one_bulk_string_and_pong_is_the_answer(serve):
    server = serve(password='se cr"et\r\nPING é')
    assert ping("127.0.0.1", server.port, 'se cr"et\r\nPING é', 2.0) == "PONG"
    assert server.seen == [["AUTH", 'se cr"et\r\nPING é'], ["PING"]]


def test_a_server_without_a_password_gets_a_bare_ping(serve):
    server = serve()
    assert ping("127.0.0.1", server.port, None, 2.0) == "PONG"
    assert server.seen == [["PING"]]


def test_a_refusal_is_the_servers_own_words(serve):
    server = serve(password="right")
    with pytest.raises(Refused, match="^NOAUTH"):
        ping("127.0.0.1", server.port, None, 2.0)
    with pytest.raises(Refused, match="^WRONGPASS"):
        ping("127.0.0.1", server.port, "wrong", 2.0)


def test_nothing_listening_and_not_redis_are_connection_errors(serve):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(OSError):
        ping("127.0.0.1", free, None, 2.0)
    server = serve(answer=b"HTTP/1.1 400 Bad Request\r\n")
    with pytest.raises(ConnectionError, match="not a Redis server"):
        ping("127.0.0.1", server.port, None, 2.0)


def test_a_cache_whose_password_is_not_read_yet_is_pending_not_failed(serve):
    """The first look may come before redis answers (its password unknown, None): the server's
    refusal of no password then means "not yet", never a failed gate (seen under CI load); a
    password read from it and refused is a failure; a server loading its data is not ready yet."""
    server = serve(password="right")
    assert Redis().probe_host("127.0.0.1", server.port, None).state is State.PENDING
    assert Redis().probe_host("127.0.0.1", server.port, "a-password-it-gave").state is State.FAILED
    seen = Redis().probe_host("127.0.0.1", server.port, "right")
    assert seen.state is State.READY and seen.detail == "PONG"
    loading = serve(loading=True)
    seen = Redis().probe_host("127.0.0.1", loading.port, None)
    assert seen.state is State.PENDING and "LOADING" in seen.detail


class _Engine:
    """An engine whose exec answers are scripted (BGSAVE goes through exec: it changes something)."""

    def __init__(self, *answers):
        from stackctl.containers import ExecResult

        self.answers = [ExecResult(code, out, "") for code, out in answers]
        self.sent = []

    def exec(self, cid, cmd, env=None):
        self.sent.append(cmd[-1])
        return self.answers.pop(0)


def test_a_bgsave_answer_the_engine_lost_is_not_a_failed_backup_when_the_server_is_saving():
    """The engine handed back BGSAVE's output empty with exit 0 (moby#27289; a CI backup failed on
    'no answer (exit 0)'): the server's INFO decides; BGSAVE goes again only if no save started."""
    saving = _Engine((0, ""))
    Redis()._bgsave(saving, "c", None, started=lambda: True)
    assert saving.sent == ["BGSAVE"]

    idle = _Engine((0, ""), (0, "Background saving started"))
    Redis()._bgsave(idle, "c", None, started=lambda: False)
    assert idle.sent == ["BGSAVE", "BGSAVE"]

    lost_twice = _Engine((0, ""), (0, ""))
    with pytest.raises(StackError, match="no answer"):
        Redis()._bgsave(lost_twice, "c", None, started=lambda: False)

    refused = _Engine((0, "ERR Background save already in progress"))
    with pytest.raises(StackError, match="already in progress"):
        Redis()._bgsave(refused, "c", None, started=lambda: True)
    assert refused.sent == ["BGSAVE"]
