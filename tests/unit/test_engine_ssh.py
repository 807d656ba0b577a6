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


def test_the_tunnel_forwards_a_private_socket_to_the_engine_with_the_users_port_and_login():
    argv = engine_ssh.ssh_argv("ssh://deploy@server.example:2200", "/tmp/stackctl-ssh-x/docker.sock")
    assert " ".join(argv) == (
        "-N -T -o BatchMode=yes -o ExitOnForwardFailure=yes -o StreamLocalBindUnlink=yes "
        "-o ServerAliveInterval=10 -o ConnectTimeout=15 -p 2200 -l deploy "
        "-L /tmp/stackctl-ssh-x/docker.sock:/var/run/docker.sock -- server.example")
    assert " ".join(engine_ssh.ssh_argv("ssh://server", "/s")) == (
        "-N -T -o BatchMode=yes -o ExitOnForwardFailure=yes -o StreamLocalBindUnlink=yes "
        "-o ServerAliveInterval=10 -o ConnectTimeout=15 -L /s:/var/run/docker.sock -- server")


def test_only_an_ssh_engine_is_dialled_through_a_tunnel():
    assert engine_ssh.dial("tcp://10.0.0.5:2375") == "tcp://10.0.0.5:2375"
    env = {"DOCKER_HOST": "unix:///var/run/docker.sock", "X": "1"}
    assert engine_ssh.dial_env(env) is env


def test_an_unreachable_ssh_engine_falls_back_to_dockers_own_ssh(monkeypatch):
    monkeypatch.setattr(engine_ssh, "READY_SECONDS", 5.0)
    host = "ssh://nobody@127.0.0.1:1"  # nothing listens on port 1: ssh exits, no tunnel
    assert engine_ssh.dial(host) == host
    assert engine_ssh.dial_env({"DOCKER_HOST": host}) == {"DOCKER_HOST": host}
