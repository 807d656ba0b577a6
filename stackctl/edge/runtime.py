"""HAProxy's runtime API in the edge container (stackctl-edge-admin, through the engine's exec):
which proxy containers the edge sends to, draining one, and reloads."""

from __future__ import annotations

import time
from dataclasses import dataclass

from stackctl.edge.haproxy import BACKEND
from stackctl.engine import Engine
from stackctl.errors import EXIT_FAILED, StackError

OPERATIONAL = {"0": "stopped", "1": "starting", "2": "running", "3": "stopping"}
ADMIN_DRAIN, ADMIN_RESOLVING = 0x08, 0x20  # srv_admin_state bits: forced drain; no address from DNS (empty slot)


class EdgeError(StackError):
    pass


@dataclass(frozen=True)
class Server:
    name: str  # the slot's name in the backend (web1, web2, ...)
    address: str  # the container's address on the network, as the edge resolved it
    state: str  # stopped | starting | running | stopping (HAProxy's operational state)
    draining: bool
    sessions: int = 0  # connections to it now


def admin(engine: Engine, container: str, command: str) -> str:
    result = engine.exec(container, ["stackctl-edge-admin", *command.split(" ")])
    if result.exit_code != 0:
        raise EdgeError(f"edge: `{command}` failed: {(result.stderr or result.stdout).strip()[:300]}",
                        "stackctl logs stackctl-edge", EXIT_FAILED)
    return result.stdout


def _slots(engine: Engine, container: str) -> list[tuple[str, str, str, int]]:
    """Every slot of the backend: (name, address, operational state, admin state bits)."""
    found = []
    for line in admin(engine, container, f"show servers state {BACKEND}").splitlines():
        fields = line.split()
        # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ...
        if len(fields) >= 7 and fields[0].isdigit() and fields[1] == BACKEND:
            found.append((fields[3], fields[4], fields[5], int(fields[6])))
    return found


def servers(engine: Engine, container: str) -> list[Server]:
    """The backend's slots that have an address (a container of the proxy), with their sessions."""
    slots = _slots(engine, container)
    sessions = _sessions(admin(engine, container, "show stat -1 4 -1"))
    return [Server(name, address, OPERATIONAL.get(op, op), bool(bits & ADMIN_DRAIN), sessions.get(name, 0))
            for name, address, op, bits in slots if address not in ("-", "0.0.0.0") and not bits & ADMIN_RESOLVING]


def release(engine: Engine, container: str, name: str, timeout: float) -> bool:
    """Once the slot `name` lost its address (the drained container is gone from DNS), clear its drain,
    so the next container DNS puts in that slot (after a reload, say) takes requests. False: the
    address was still there at the deadline (the drain is kept: nothing is sent to a stopped container)."""
    deadline = time.monotonic() + timeout
    while True:
        slot = next((s for s in _slots(engine, container) if s[0] == name), None)
        if slot is None:
            return True
        if slot[1] in ("-", "0.0.0.0") or slot[3] & ADMIN_RESOLVING:
            if slot[3] & ADMIN_DRAIN:
                admin(engine, container, f"set server {BACKEND}/{name} state ready")
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)


def _sessions(csv: str) -> dict[str, int]:
    """scur per server of the proxy backend, from `show stat` (CSV, header first)."""
    lines = csv.splitlines()
    if not lines:
        return {}
    header = lines[0].lstrip("# ").split(",")
    try:
        px, sv, cur = header.index("pxname"), header.index("svname"), header.index("scur")
    except ValueError:
        return {}
    found = {}
    for line in lines[1:]:
        cells = line.split(",")
        if len(cells) > cur and cells[px] == BACKEND and cells[sv] not in ("FRONTEND", "BACKEND"):
            found[cells[sv]] = int(cells[cur] or 0)
    return found


def serving(engine: Engine, container: str, address: str, timeout: float) -> Server:
    """Wait until the edge sends to the proxy container at `address` (resolved and checked healthy)."""
    deadline = time.monotonic() + timeout
    seen: list[Server] = []
    while time.monotonic() < deadline:
        seen = servers(engine, container)
        found = next((s for s in seen if s.address == address), None)
        if found and found.state == "running" and not found.draining:
            return found
        if found and found.draining:
            admin(engine, container, f"set server {BACKEND}/{found.name} state ready")
        time.sleep(0.2)
    raise EdgeError(f"edge: the new proxy container ({address}) was not taken in within {timeout:g} s "
                    f"(edge sees: {', '.join(f'{s.address} {s.state}' for s in seen) or 'none'})",
                    "stackctl logs stackctl-edge", EXIT_FAILED)


def drain(engine: Engine, container: str, address: str, timeout: float) -> tuple[str | None, int]:
    """No new request to the proxy container at `address`; wait until what it serves is done.
    Returns its slot's name (None: the edge does not send to it) and the connections still open at
    the deadline (0: it finished)."""
    deadline = time.monotonic() + timeout
    while True:
        found = next((s for s in servers(engine, container) if s.address == address), None)
        if found is None:
            return None, 0
        if not found.draining:
            admin(engine, container, f"set server {BACKEND}/{found.name} state drain")
            continue
        if found.sessions == 0 or time.monotonic() >= deadline:
            return found.name, found.sessions
        time.sleep(0.1)


def reload(engine: Engine, container: str) -> None:
    """A new worker with what the edge's files say now; the listening sockets are handed over and
    the servers' runtime state (a drain) kept."""
    admin(engine, container, "reload")
