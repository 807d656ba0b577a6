"""Container healthcheck: one line of output (the engine keeps it), exit 0 only on HTTP 200.

It runs every 5 s in every API container, so it asks over a plain socket: urllib's imports alone
cost more CPU than the whole check (75 ms per check with urllib, measured in the container)."""

import socket
import sys

HOST, PORT, PATH = "127.0.0.1", 8000, "/health"
LIMIT = 64 * 1024  # /health answers a few hundred bytes


def ask() -> tuple[int, bytes]:
    """The status code and body of GET PATH (HTTP/1.0: the server closes when done)."""
    with socket.create_connection((HOST, PORT), timeout=3) as conn:
        conn.sendall(f"GET {PATH} HTTP/1.0\r\nHost: {HOST}\r\n\r\n".encode())
        answer = b""
        while len(answer) < LIMIT and (chunk := conn.recv(LIMIT)):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split(b" ")
    return (int(status[1]) if len(status) > 1 and status[1].isdigit() else 0), body


def main() -> int:
    try:
        code, body = ask()
    except OSError as exc:
        print(f"no answer from http://{HOST}:{PORT}{PATH}: {exc}")
        return 1
    if code == 200:
        print("HTTP 200")
        return 0
    print(f"HTTP {code}: {body[:300].decode('utf-8', 'replace')}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
