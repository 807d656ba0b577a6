"""An engine at ssh://user@host: one ssh connection for the whole command, whatever it runs.

`dial(host)` opens one ssh connection that forwards a private local socket to the remote
engine's socket (`ssh -N -L sock:/var/run/docker.sock`) and returns its unix:// address; the
SDK, compose and the docker CLI all dial that, so every API call, exec and build is a channel
in the same ssh connection instead of an ssh login of its own (~0.5 s each here). The tunnel
lives as long as this process (its ssh is stopped when the process ends, however it ends).
Where it cannot be had (an engine socket elsewhere, as rootless Docker's; forwarding refused
by sshd), `dial` returns the ssh:// address and the SDK goes through docker-py's own shell-out
to `docker system dial-stdio`, mended by `mend()`:

docker-py's adapter makes a new connection pool for every request, so each API call starts an
ssh process and logs in again (docker/docker-py#2966, open): a deploy over ssh made hundreds.
Here one pool is kept per adapter (docker-py keys its pools by the full URL), and one ssh
process serves call after call (HTTP keep-alive through `docker system dial-stdio`). For that,
a response must not close the pipe when it is done (http.client closes what `makefile` gave
it), and a connection whose stream was hijacked (exec, attach: the engine ends it) or whose ssh
process has exited is never handed out again. Applied once, only for ssh:// engines.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

REMOTE_SOCKET = "/var/run/docker.sock"
READY_SECONDS = 20.0

_tunnels: dict[str, str] = {}
_lock = threading.Lock()

# Runs ssh and stops it when stackctl's end of the pipe on its stdin closes (stackctl exited or
# was killed), then removes the socket's folder: ssh -N itself would outlive us.
# (A background job's stdin is /dev/null in sh, hence fd 3.)
_KEEPER = ('exec 3<&0; ssh "$@" </dev/null 2>"$STACKCTL_SSH_LOG" & pid=$!; '
           '(read -r _ <&3; kill "$pid" 2>/dev/null) & wait "$pid"; rm -rf "$STACKCTL_SSH_DIR"')


def dial(host: str) -> str:
    """The address to reach the engine at `host` by: a tunnel's unix:// for ssh://, else `host`."""
    if not host.startswith("ssh://"):
        return host
    with _lock:
        if host not in _tunnels:
            _tunnels[host] = _open_tunnel(host) or host
        return _tunnels[host]


def dial_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with an ssh:// DOCKER_HOST replaced by the address to dial."""
    host = env.get("DOCKER_HOST", "")
    return {**env, "DOCKER_HOST": dial(host)} if host.startswith("ssh://") else env


def ssh_argv(host: str, local_socket: str) -> list[str]:
    url = urlparse(host)
    return ["-N", "-T", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-o", "StreamLocalBindUnlink=yes",
            "-o", "ServerAliveInterval=10", "-o", "ConnectTimeout=15", *(["-p", str(url.port)] if url.port else []),
            *(["-l", url.username] if url.username else []), "-L", f"{local_socket}:{REMOTE_SOCKET}", "--",
            url.hostname or ""]


def _open_tunnel(host: str) -> str | None:
    if shutil.which("ssh") is None:
        return None
    folder = Path(tempfile.mkdtemp(prefix="stackctl-ssh-"))  # 0700: the socket is the engine
    local = folder / "docker.sock"
    env = {**os.environ, "STACKCTL_SSH_DIR": str(folder), "STACKCTL_SSH_LOG": str(folder / "ssh.log")}
    keeper = subprocess.Popen(["sh", "-c", _KEEPER, "sh", *ssh_argv(host, str(local))], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)

    def close():
        try:
            keeper.stdin.close()
            keeper.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            keeper.kill()
        shutil.rmtree(folder, ignore_errors=True)

    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline and keeper.poll() is None:
        answer = _ping(local)
        if answer is not None:
            if answer:
                atexit.register(close)
                return f"unix://{local}"
            break
        time.sleep(0.05)
    close()
    return None


def _ping(path: Path) -> bool | None:
    """Whether the engine answers /_ping through the tunnel (a wrong remote socket: the channel
    is closed at once); None while ssh is not listening yet."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(10)
            sock.connect(str(path))
            try:
                sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
                return sock.recv(64).startswith(b"HTTP/1.")
            except OSError:
                return False
    except OSError:
        return None


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
