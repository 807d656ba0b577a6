"""`stackctl status`: each service's state, health, uptime, ports, CPU and memory, plus the
endpoint checks. Its JSON result is a stable contract (tests/unit/test_status_json.py)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from stackctl import stats as stats_lib
from stackctl.containers import ContainerInfo, uptime_seconds
from stackctl.health.gate import Observation, State
from stackctl.service_state import ServiceState, classify, evidence_of
from stackctl.health.service import EndpointResult, ready_now, running_endpoints, warm_probes
from stackctl.stack import Stack

@dataclass(frozen=True)
class ServiceStatus:
    name: str
    state: ServiceState  # ready | done | starting | unhealthy | stopped | failed | absent | ...
    container_state: str | None  # the engine's word: running | exited | created | ... (None: no container)
    docker_health: str | None  # the engine's own healthcheck verdict, which lags by its interval
    oneshot: bool
    uptime_seconds: float | None
    ports: tuple[tuple[str, str, int], ...]  # (container port, host ip, host port)
    cpu_percent: float | None
    memory_bytes: int | None
    memory_limit_bytes: int | None
    evidence: str = "none"  # what its state rests on: sql, ping, http <path>, healthcheck, listening <port>, ...
    detail: str = ""  # what stackctl's look at it saw when it is not ready (the probe's own words)

    @property
    def ok(self) -> bool:
        return self.state is ServiceState.DONE if self.oneshot else self.state is ServiceState.READY

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "state": str(self.state),
            "container_state": self.container_state,
            "docker_health": self.docker_health,
            "oneshot": self.oneshot,
            "ok": self.ok,
            "evidence": self.evidence,
            "detail": self.detail,
            "uptime_seconds": None if self.uptime_seconds is None else round(self.uptime_seconds, 1),
            "ports": [{"container_port": c, "host_ip": ip, "host_port": p} for c, ip, p in self.ports],
            "cpu_percent": self.cpu_percent,
            "memory_bytes": self.memory_bytes,
            "memory_limit_bytes": self.memory_limit_bytes,
        }


@dataclass(frozen=True)
class StatusReport:
    stack: str
    env: str
    services: tuple[ServiceStatus, ...]
    endpoints: tuple[EndpointResult, ...]

    @property
    def healthy(self) -> bool:
        """Nothing down or failing: every service ready on evidence, done, or running with nothing to
        show (that is said apart: `unproven`), and every endpoint answers."""
        return bool(self.services) and all(s.ok or s.state is ServiceState.RUNNING for s in self.services) \
            and all(e.ok for e in self.endpoints)

    @property
    def unproven(self) -> list[str]:
        """Running services with nothing to show they serve."""
        return [s.name for s in self.services if s.state is ServiceState.RUNNING]

    def to_dict(self) -> dict:
        return {
            "stack": self.stack,
            "env": self.env,
            "healthy": self.healthy,
            "without_evidence": self.unproven,
            "services": [s.to_dict() for s in self.services],
            "endpoints": [e.to_dict() for e in self.endpoints],
        }


def _probe_all(stack: Stack, names: list[str],
               containers: dict[str, ContainerInfo]) -> tuple[list[EndpointResult], dict[str, Observation]]:
    """The endpoints' results, and each service's own look from them (its first endpoint)."""
    endpoints = running_endpoints(stack.model, containers, names, stack.engine)
    if not endpoints:
        return [], {}

    def probe(endpoint) -> tuple[EndpointResult, Observation]:
        seen = endpoint.probe()
        return EndpointResult(endpoint.name, endpoint.url, seen.state.value == "ready", seen.detail), seen

    with ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
        done = list(pool.map(probe, endpoints))
    looks: dict[str, Observation] = {}
    for endpoint, (_, seen) in zip(endpoints, done):
        looks.setdefault(endpoint.name, seen)  # a service's main probe comes first; checks are "name path"
    return [result for result, _ in done], looks


def status(stack: Stack, *, stats: bool = True) -> StatusReport:
    warm_probes(stack.model)
    containers = stack.containers()
    names = stack.model.names()
    running = {n: (containers[n].id, containers[n].pid) for n in names
               if n in containers and containers[n].state == "running"}
    # The CPU sample needs a quarter-second window: probe the endpoints meanwhile.
    with ThreadPoolExecutor(max_workers=1) as background:
        sampling = background.submit(stats_lib.sample, stack.engine, running) if stats and running else None
        endpoints, looks = _probe_all(stack, names, containers)
        usage = sampling.result() if sampling else {}
    # A running service no endpoint here reached (nothing published, a remote engine) and whose
    # engine healthcheck has not said healthy: asked now, as the gate asks it (its healthcheck run
    # now, its protocol inside, a listener on its port), so its state rests on something seen.
    unasked = [n for n in names if n not in looks and n in containers and containers[n].state == "running"
               and containers[n].health != "healthy" and not stack.model.services[n].oneshot]
    looks.update(ready_now(stack.model, stack.engine, containers, unasked))
    containers = settled(stack, containers, looks)
    services = []
    for name in names:
        spec, info = stack.model.services[name], containers.get(name)
        u = usage.get(name)
        services.append(ServiceStatus(
            name=name,
            state=classify(spec.oneshot, info, looks.get(name)),  # our look, else the engine's healthcheck
            container_state=info.state if info else None,
            docker_health=info.health if info else None,
            oneshot=spec.oneshot,
            uptime_seconds=uptime_seconds(info) if info else None,
            ports=tuple((p.container_port, p.host_ip, p.host_port) for p in info.ports) if info else (),
            cpu_percent=u.cpu_percent if u else None,
            memory_bytes=u.memory_bytes if u else None,
            memory_limit_bytes=u.memory_limit_bytes if u else None,
            evidence=evidence_of(info, looks.get(name)),
            detail=looks[name].detail if name in looks and looks[name].state is not State.READY else "",
        ))
    return StatusReport(stack.name, stack.project.env, tuple(services), tuple(endpoints))


SETTLE_SECONDS = 0.3  # how long the engine may take to record a container's exit (SIGKILL, a crash)


def settled(stack: Stack, containers: dict[str, ContainerInfo], looks: dict[str, Observation],
            pause: float = SETTLE_SECONDS) -> dict:
    """A probe that failed may have met a container on its way out (killed, crashed): the
    engine records the exit a moment after the process is gone. Each such container is asked
    again after that moment, so one that has stopped is said stopped, not unhealthy."""
    found = dict(containers)
    failed = [name for name, seen in looks.items() if name in found and found[name].state == "running"
              and seen is not None and seen.state is not State.READY]
    if failed and pause:
        time.sleep(pause)
    for name in failed:
        info = found[name]
        now = stack.engine.inspect(info.id)
        if now is None or now.state != "running":
            looks.pop(name)
            if now is None:
                found.pop(name)
            else:
                found[name] = now
    return found
