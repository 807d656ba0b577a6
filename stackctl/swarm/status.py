"""`stackctl --target swarm status`: each service's replicas running / wanted, its tasks per node,
and what swarm last said went wrong. A task with a healthcheck is `running` only once healthy."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from stackctl.stack import Stack
from stackctl.swarm import gate


@dataclass(frozen=True)
class SwarmServiceStatus:
    name: str
    role: str
    mode: str  # replicated | job
    running: int
    desired: int
    state: str  # ready | starting | done | failed | absent
    tasks: tuple[str, ...]  # "node: state", current tasks
    ports: tuple[str, ...]
    error: str = ""


@dataclass(frozen=True)
class SwarmStatus:
    stack: str
    services: tuple[SwarmServiceStatus, ...]

    @property
    def healthy(self) -> bool:
        return bool(self.services) and all(s.state in ("ready", "done") for s in self.services)

    def to_dict(self) -> dict:
        return {**asdict(self), "healthy": self.healthy}


def status(stack: Stack) -> SwarmStatus:
    engine, name = stack.engine, stack.name
    nodes = {n["ID"]: n["Description"]["Hostname"] for n in engine.swarm_nodes()}
    found = {s["Spec"]["Name"].removeprefix(f"{name}_"): s for s in engine.stack_services(name)}
    rows = []
    for service in sorted(stack.model.services):
        spec = stack.model.services[service]
        raw = found.get(service)
        if raw is None:
            rows.append(SwarmServiceStatus(service, spec.role, "job" if spec.oneshot else "replicated", 0, 0,
                                           "absent", (), ()))
            continue
        rows.append(_row(service, spec.role, raw, engine.swarm_tasks(raw), nodes))
    return SwarmStatus(name, tuple(rows))


def _row(name: str, role: str, service: dict, tasks: list[dict], nodes: dict[str, str]) -> SwarmServiceStatus:
    mode = service["Spec"].get("Mode") or {}
    ports = tuple(f"{p.get('PublishedPort')}->{p.get('TargetPort')}/{p.get('Protocol', 'tcp')}"
                  for p in (service["Spec"].get("EndpointSpec") or {}).get("Ports") or [])
    error = gate.last_error(tasks)
    if "ReplicatedJob" in mode:
        mine = gate.this_iteration(service, tasks)
        states = [t["Status"]["State"] for t in mine]
        state = "done" if "complete" in states else "failed" if {"failed", "rejected"} & set(states) else "starting"
        return SwarmServiceStatus(name, role, "job", states.count("complete"), 1, state,
                                  tuple(f"{nodes.get(t.get('NodeID'), '?')}: {t['Status']['State']}" for t in mine),
                                  ports, error if state == "failed" else "")
    desired = (mode.get("Replicated") or {}).get("Replicas", 0)
    live = [t for t in tasks if t.get("DesiredState") == "running"]
    running = sum(1 for t in live if t["Status"]["State"] == "running")
    state = "ready" if running >= desired else "starting"
    return SwarmServiceStatus(name, role, "replicated", running, desired, state,
                              tuple(f"{nodes.get(t.get('NodeID'), '?')}: {t['Status']['State']}" for t in live),
                              ports, error if state != "ready" else "")
