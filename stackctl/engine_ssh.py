"""docker-py's ssh transport (the system's `ssh`, shelled out), mended where it is known broken.

Its adapter makes a new connection pool for every request, so each API call starts an ssh
process and logs in again (~0.5 s each here; docker/docker-py#2966, open): a deploy over ssh
made hundreds. Here one pool is kept per adapter (docker-py keys its pools by the full URL),
and one ssh process serves call after call (HTTP keep-alive through `docker system
dial-stdio`). For that, a response must not close the pipe when it is done (http.client closes
what `makefile` gave it), and a connection whose stream was hijacked (exec, attach: the
engine ends it) or whose ssh process has exited is never handed out again. Applied once,
only for ssh:// engines.
"""

from __future__ import annotations


class _ResponseReader:
    """The ssh process's stdout for one HTTP response: reads go to the pipe's own buffer (which
    a hijacked stream goes on reading through the socket), close() leaves the pipe open."""

    def __init__(self, sock):
        self._sock, self._stream = sock, sock.proc.stdout
        self.closed = False

    @property
    def channel(self):
        self._sock.stackctl_hijacked = True  # docker-py reads a hijacked stream from here
        return self._sock

    def close(self) -> None:
        self.closed = True

    def flush(self) -> None:
        pass

    def __getattr__(self, name):
        return getattr(self._stream, name)


def mend() -> None:
    from docker.transport import sshconn

    if getattr(sshconn, "_stackctl_mended", False):
        return
    sshconn._stackctl_mended = True
    _tolerate_closed_pipe(sshconn)

    def makefile(self, mode):
        if not self.proc:
            self.connect()
        return _ResponseReader(self)

    sshconn.SSHSocket.makefile = makefile

    original_get_connection = sshconn.SSHHTTPAdapter.get_connection

    def get_connection(self, url, proxies=None):
        if self.ssh_client is not None:  # the paramiko path keeps its pools already
            return original_get_connection(self, url, proxies)
        with self.pools.lock:  # one pool for every path, not one per URL
            pool = self.pools.get(self.ssh_host)
            if pool is None:
                pool = sshconn.SSHConnectionPool(timeout=self.timeout, maxsize=self.max_pool_size, host=self.ssh_host)
                self.pools[self.ssh_host] = pool
        return pool

    sshconn.SSHHTTPAdapter.get_connection = get_connection

    original_get_conn = sshconn.SSHConnectionPool._get_conn

    def _get_conn(self, timeout):
        conn = original_get_conn(self, timeout)
        sock = getattr(conn, "sock", None)
        if sock is not None and (getattr(sock, "stackctl_hijacked", False) or
                                 sock.proc is None or sock.proc.poll() is not None):
            conn.close()  # its stream was the engine's to end, or its ssh is gone: a new one
            return self._new_conn()
        return conn

    sshconn.SSHConnectionPool._get_conn = _get_conn


def _tolerate_closed_pipe(sshconn) -> None:
    """SSHSocket.close() flushes into the ssh process; after an exec that process has often
    exited, and close() raises BrokenPipeError although every byte was read
    (docker/docker-py#3218, open). Closing a dead pipe is done either way."""
    original = sshconn.SSHSocket.close

    def close(self):
        try:
            original(self)
        except BrokenPipeError:
            if self.proc is not None:
                self.proc.terminate()

    sshconn.SSHSocket.close = close
