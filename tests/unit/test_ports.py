import socket

from stackctl import ports


def listener():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_free_port_is_free():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    assert ports.is_free("127.0.0.1", port)


def test_listening_port_is_taken_and_attributed_to_this_process():
    sock = listener()
    try:
        port = sock.getsockname()[1]
        assert not ports.is_free("127.0.0.1", port)
        assert not ports.is_free("0.0.0.0", port)  # a wildcard bind collides too
        holder = ports.process_holding(port)
        import os

        assert holder is not None and f"(pid {os.getpid()})" in holder.description
    finally:
        sock.close()


def test_container_attribution_from_engine_summaries():
    summaries = [{"Names": ["/shop-web-1"], "Ports": [{"PrivatePort": 80, "PublicPort": 8080}],
                  "Labels": {"com.docker.compose.project": "shop", "com.docker.compose.service": "web"}}]
    holder = ports.container_holding(8080, summaries)
    assert holder.description == "container shop-web-1 (compose project shop)"
    assert (holder.container_project, holder.container_service) == ("shop", "web")
    assert ports.container_holding(9090, summaries) is None
