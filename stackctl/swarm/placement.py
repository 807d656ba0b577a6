"""Where a swarm service's task runs, for the commands that must reach its container (backup,
restore): they work through this engine's node, and say which node to run on when it is another."""

from __future__ import annotations

from stackctl.errors import EXIT_USAGE, StackError
from stackctl.stack import Stack


def not_here(stack: Stack, service: str) -> StackError:
    """The error for a service with no running container on this engine's node."""
    engine, full = stack.engine, f"{stack.name}_{service}"
    found = engine.swarm_service(full) if engine.swarm().get("ControlAvailable") else None
    running = [t for t in (engine.swarm_tasks(found) if found else []) if t["Status"]["State"] == "running"]
    if not running:
        return StackError(f"{service} is not running on the swarm",
                          "start it: stackctl --target swarm up (see stackctl --target swarm status)", EXIT_USAGE)
    node = next((n for n in engine.swarm_nodes() if n["ID"] == running[0].get("NodeID")), {})
    host = (node.get("Description") or {}).get("Hostname", running[0].get("NodeID", "?"))
    addr = (node.get("Status") or {}).get("Addr", host)
    return StackError(f"{service} runs on node {host} ({addr}), not on this engine's node: its data is reached "
                      "through that node's engine", f"run it there, e.g. DOCKER_HOST=ssh://root@{addr} stackctl "
                      "--target swarm ...", EXIT_USAGE)
