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
        assert f"HTTP_PORT: {stack.http_port} is taken by" in line and f"(pid {os.getpid()})" in line
        assert "set HTTP_PORT to a free port" in check.stdout
        for other in ("API_PORT", "POSTGRES_PORT", "REDIS_PORT"):
            assert f"{other}: free" in check.stdout

        up = stack.run("up")
        assert up.returncode == 2
        assert f"HTTP_PORT: {stack.http_port} is taken" in up.stderr
        assert stack.containers() == []
    finally:
        holder.close()
