"""The mended ssh transport: a response's reader leaves the ssh pipe open for the next call,
a hijacked stream marks its connection as spent, and a spent or dead connection is replaced."""

import io

from docker.transport import sshconn

from stackctl import engine_ssh


class _Proc:
    def __init__(self, data=b"", exited=False):
        self.stdout = io.BufferedReader(io.BytesIO(data))
        self._exited = exited

    def poll(self):
        return 0 if self._exited else None


def _socket(proc):
    sock = sshconn.SSHSocket("root@example")
    sock.proc = proc
    return sock


def test_a_response_closed_leaves_the_pipe_open_for_the_next_call():
    engine_ssh.mend()
    sock = _socket(_Proc(b"HTTP/1.1 200 OK\r\n"))
    reader = sock.makefile("rb")
    assert reader.readline() == b"HTTP/1.1 200 OK\r\n"
    reader.close()
    assert reader.closed and not sock.proc.stdout.closed


def test_a_hijacked_stream_marks_its_socket_spent():
    engine_ssh.mend()
    sock = _socket(_Proc())
    assert sock.makefile("rb").channel is sock
    assert sock.stackctl_hijacked


def _pool_holding(sock):
    engine_ssh.mend()
    pool = sshconn.SSHConnectionPool(timeout=5, maxsize=1, host="root@example")
    conn = sshconn.SSHConnection(ssh_transport=None, timeout=5, host="root@example")
    conn.sock = sock
    pool.pool.get()  # the empty slot urllib3 starts with
    pool.pool.put(conn)
    return pool, conn


def test_a_live_connection_is_handed_out_again():
    sock = _socket(_Proc())
    pool, conn = _pool_holding(sock)
    assert pool._get_conn(timeout=1) is conn


def test_a_hijacked_or_exited_connection_is_replaced():
    for sock in (_socket(_Proc()), _socket(_Proc(exited=True))):
        if sock.proc.poll() is None:
            sock.stackctl_hijacked = True
        sock.close = lambda: None
        pool, conn = _pool_holding(sock)
        assert pool._get_conn(timeout=1) is not conn
