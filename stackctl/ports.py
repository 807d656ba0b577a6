"""Is a host port free, and if not, who holds it (a container, or a process by pid)."""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass


@dataclass(frozen=True)
class PortHolder:
    description: str  # "container web-1 (project shop)" or "nginx (pid 812)"
    container_service: str | None = None
    container_project: str | None = None


def is_free(address: str, port: int) -> bool:
    """True when we could listen on address:port right now."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR: a port in TIME_WAIT is free for a server; one in LISTEN is not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def process_holding(port: int) -> PortHolder | None:
    """The listening process, from the kernel's socket table (psutil)."""
    import psutil

    try:
        connections = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, PermissionError):
        return None
    for conn in connections:
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            if conn.pid is None:
                return PortHolder("a process of another user (run as root to see which)")
            try:
                name = psutil.Process(conn.pid).name()
            except psutil.Error:
                name = "unknown"
            return PortHolder(f"{name} (pid {conn.pid})")
    return None


def container_holding(port: int, containers: list[dict]) -> PortHolder | None:
    """From engine container summaries that publish the port."""
    for summary in containers:
        for mapping in summary.get("Ports") or []:
            if mapping.get("PublicPort") == port:
                labels = summary.get("Labels") or {}
                name = (summary.get("Names") or ["?"])[0].lstrip("/")
                project = labels.get("com.docker.compose.project")
                stack = labels.get("com.docker.stack.namespace")
                where = f" (compose project {project})" if project else f" (swarm stack {stack})" if stack else ""
                return PortHolder(f"container {name}{where}", labels.get("com.docker.compose.service"),
                                  project or stack)
    return None
