"""`stackctl ps`: each service's container and state as the engine knows it. Fast on purpose:
no probes, no stats, nothing imported that a listing does not use."""

from __future__ import annotations

from dataclasses import dataclass

from stackctl.service_state import ServiceState, classify
from stackctl.stack import Stack


@dataclass(frozen=True)
class Listed:
    name: str
    container: str | None
    state: ServiceState  # from the engine alone (its healthcheck), no probe
    container_state: str | None
    ports: tuple[tuple[str, str, int], ...]

    def to_dict(self) -> dict:
        return {"name": self.name, "container": self.container, "state": str(self.state),
                "container_state": self.container_state,
                "ports": [{"container_port": c, "host_ip": ip, "host_port": p} for c, ip, p in self.ports]}


@dataclass(frozen=True)
class Listing:
    stack: str
    services: tuple[Listed, ...]

    def to_dict(self) -> dict:
        return {"stack": self.stack, "services": [s.to_dict() for s in self.services]}


def ps(stack: Stack) -> Listing:
    """`stackctl ps`: each service's container and state as the engine knows it (fast: no probes)."""
    containers = stack.containers()
    rows = []
    for name in stack.model.names():
        info = containers.get(name)
        rows.append(Listed(name, info.name if info else None, classify(stack.model.services[name].oneshot, info),
                           info.state if info else None,
                           tuple((p.container_port, p.host_ip, p.host_port) for p in info.ports) if info else ()))
    return Listing(stack.name, tuple(rows))
