"""Readiness of one compose service: its container's state plus its protocol probe."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from stackctl import kinds
from stackctl.containers import ContainerInfo
from stackctl.engine import Engine
from stackctl.health import probes
from stackctl.health.gate import Observation
from stackctl.plan import ServiceSpec

# The container ports HTTP is looked for on: the service's declared port, else the first of
# these that is published, else its first published port. A data kind's is its own (kinds).
HTTP_PORTS = (80, 8000, 8080, 3000, 5000, 4000)
HTTPS_PORT = 443
CRASH_LOOP_RESTARTS = 3


def connect_host(published_ip: str, remote: str | None) -> str | None:
    """Where this machine reaches a published port: the engine's host (`remote`) for a remote
    engine (None when it is published on that host's loopback only: probed inside instead)."""
    if remote is None:
        return "127.0.0.1" if published_ip in ("", "0.0.0.0", "::") else published_ip
    if published_ip in ("127.0.0.1", "::1"):
        return None
    return remote if published_ip in ("", "0.0.0.0", "::") else published_ip


@dataclass(frozen=True)
class Endpoint:
    """Something stackctl can ask directly from the host."""

    name: str
    kind: str  # http | https | a data kind (postgres, redis, ...)
    host: str
    port: int
    path: str = ""
    credentials: object = field(default=None, repr=False, compare=False)  # a data kind's, from its container

    @property
    def url(self) -> str:
        host = "localhost" if self.host == "127.0.0.1" else self.host
        if self.kind not in ("http", "https"):
            return kinds.kind(self.kind).url(host, self.port, self.credentials)
        return f"{self.kind}://{host}:{self.port}{self.path}"

    def probe(self) -> Observation:
        if self.kind not in ("http", "https"):
            return kinds.kind(self.kind).probe_host(self.host, self.port, self.credentials)
        return probes.http(f"{self.kind}://{self.host}:{self.port}{self.path or '/'}", any_answer=not self.path)


def _ports(spec: ServiceSpec, kind: str) -> tuple[int, ...]:
    if kind == "http":
        return ((spec.port,) if spec.port else ()) + HTTP_PORTS
    return (kinds.kind(kind).port,)


def _published_for(spec: ServiceSpec, kind: str, info: ContainerInfo, remote: str | None):
    for container_port in _ports(spec, kind):
        published = info.host_port(container_port)
        if published is not None and connect_host(published.host_ip, remote) is not None:
            return published
    if kind == "http" and not spec.port:
        return next((p for p in info.ports if p.container_port.endswith("/tcp")
                     and connect_host(p.host_ip, remote) is not None and int(p.container_port.split("/")[0]) != 443), None)
    return None


def probe_endpoint(spec: ServiceSpec, info: ContainerInfo, engine: Engine) -> Endpoint | None:
    """The endpoint the service's role gives it, if its port is published (credentials from
    the container itself)."""
    if not spec.probe:
        return None
    kind, _, path = spec.probe.partition(":")
    if kind != "http" and kind not in kinds.KNOWN:
        return None
    published = _published_for(spec, kind, info, engine.remote)
    if published is None:
        return None
    host = connect_host(published.host_ip, engine.remote)
    if kind != "http":
        return Endpoint(spec.name, kind, host, published.host_port,
                        credentials=kinds.kind(kind).credentials(engine, info))
    return Endpoint(spec.name, kind, host, published.host_port, path or "")


def check_endpoints(spec: ServiceSpec, info: ContainerInfo, engine: Engine) -> list[Endpoint]:
    """The service's probe plus the extra paths its role names (checks through the proxy)."""
    main = probe_endpoint(spec, info, engine)
    if main is None:
        return []
    # Extra paths go where users go: HTTPS when the service publishes it (production).
    tls = info.host_port(HTTPS_PORT) if main.kind == "http" else None
    tls = tls if tls is not None and connect_host(tls.host_ip, engine.remote) is not None else None
    base = Endpoint(main.name, "https", connect_host(tls.host_ip, engine.remote), tls.host_port) if tls else main
    extra = [Endpoint(f"{spec.name} {path}", base.kind, base.host, base.port, path)
             for path in spec.checks if main.kind == "http"]
    return [main, *extra]


@dataclass(frozen=True)
class EndpointResult:
    name: str
    url: str
    ok: bool
    detail: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "url": self.url, "ok": self.ok, "detail": self.detail}


def running_endpoints(model, containers: dict[str, ContainerInfo], names, engine: Engine) -> list[Endpoint]:
    """The endpoints of the named services that run now (one-shots have none)."""
    found = []
    for name in names:
        spec, info = model.services[name], containers.get(name)
        if info is not None and info.state == "running" and not spec.oneshot:
            found.extend(check_endpoints(spec, info, engine))
    return found


def exec_probe(engine: Engine, info: ContainerInfo) -> Observation:
    """Run the container's own healthcheck command now, instead of waiting for the engine to
    run it at its interval: the probe for services with nothing published (production API)."""
    test = list(info.healthcheck)
    if not test or test[0] == "NONE":
        return Observation.pending("no healthcheck")
    cmd = ["sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
    try:
        result = engine.exec(info.id, cmd)
    except Exception as exc:  # the container may be going away
        return Observation.pending(f"{type(exc).__name__}: {exc}")
    output = (result.stdout + result.stderr).strip()
    if result.exit_code == 0:
        return Observation.ready(output.splitlines()[-1] if output else "healthcheck passed")
    return Observation.pending(output.splitlines()[-1] if output else f"healthcheck exit {result.exit_code}")


def observe_container(spec: ServiceSpec, info: ContainerInfo | None) -> Observation | None:
    """A verdict from the container alone, or None when the probe must decide."""
    if info is None:
        return Observation.pending("no container yet")
    if info.state in ("exited", "dead"):
        if spec.oneshot and info.exit_code == 0:
            return Observation.ready("completed")
        return Observation.failed(f"container exited with code {info.exit_code}")
    if info.restart_count >= CRASH_LOOP_RESTARTS:
        return Observation.failed(f"keeps crashing: restarted {info.restart_count} times by its restart policy")
    if info.state in ("created", "restarting", "paused"):
        return Observation.pending(info.state)
    if spec.oneshot:
        return Observation.pending("running")
    return None


def exec_role_probe(engine: Engine, spec: ServiceSpec, info: ContainerInfo) -> Observation | None:
    """A data kind's own protocol, asked inside its container (nothing published)."""
    kind = (spec.probe or "").split(":")[0]
    return kinds.kind(kind).probe_inside(engine, info) if kind in kinds.KNOWN else None


def observer(spec: ServiceSpec, engine: Engine, container_id: str) -> Callable[[], Observation]:
    """observe() for the gate: ready when the container runs and the protocol answers.

    Where nothing is published the protocol is asked inside the container (database, cache),
    else Docker's own healthcheck is run now, else the container running is enough.
    """
    endpoint: list[Endpoint | None] = []

    def observe() -> Observation:
        info = engine.inspect(container_id)
        verdict = observe_container(spec, info)
        if verdict is not None:
            return verdict
        if not endpoint:
            endpoint.append(probe_endpoint(spec, info, engine))
        if endpoint[0] is not None:
            return endpoint[0].probe()
        inside = exec_role_probe(engine, spec, info)
        if inside is not None:
            return inside
        if info.healthcheck:
            return exec_probe(engine, info)
        if info.health == "healthy" or (info.health is None and not spec.has_healthcheck):
            return Observation.ready(info.health or "running")
        return Observation.pending(info.last_health_output or f"health: {info.health or 'starting'}")

    return observe


def ready_now(model, engine: Engine, containers: dict[str, ContainerInfo], names: list[str]) -> dict[str, bool]:
    """Each named service's container asked once, as the gate asks it, all in parallel: ready?"""
    from concurrent.futures import ThreadPoolExecutor

    from stackctl.health.gate import State

    def ask(name: str) -> bool:
        return observer(model.services[name], engine, containers[name].id)().state is State.READY

    if not names:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
        return dict(zip(names, pool.map(ask, names)))
