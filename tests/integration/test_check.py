"""check names a taken port and who holds it; up then refuses and starts nothing."""

import os
import socket


def test_taken_port_is_named_with_its_holder_and_up_starts_nothing(stack):
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    holder.bind(("127.0.0.1", stack.http_port))
    holder.listen()
    try:
        check = stack.run("check")
        assert check.returncode == 2
        line = next(line for line in check.stdout.splitlines() if f"port {stack.http_port}" in line)
        assert f"web publishes {stack.http_port}: taken by" in line and f"(pid {os.getpid()})" in line
        assert "publish web on a free port" in check.stdout
        for service, var in (("api", "API_PORT"), ("db", "POSTGRES_PORT"), ("redis", "REDIS_PORT")):
            assert f"{service} publishes {stack.env[var]}: free" in check.stdout

        up = stack.run("up")
        assert up.returncode == 2
        assert f"web publishes {stack.http_port}: taken by" in up.stderr
        assert stack.containers() == []
    finally:
        holder.close()
