"""Readiness of one compose service: its container's state plus its protocol probe."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from stackctl.engine import ContainerInfo, Engine, remote_host
from stackctl.health import probes
from stackctl.health.gate import Observation
from stackctl.plan import ServiceSpec
from stackctl.settings import Settings

# The container port each probe kind talks to; HTTP takes the first of these that is published.
PROBE_PORTS = {"postgres": (5432,), "redis": (6379,), "http": (80, 8000, 8080, 3000)}
HTTPS_PORT = 443
CRASH_LOOP_RESTARTS = 3


def connect_host(published_ip: str) -> str | None:
    """Where this machine reaches a published port: the engine's host for a remote engine
    (None when it is published on that host's loopback only: probed inside instead)."""
    remote = remote_host()
    if remote is None:
        return "127.0.0.1" if published_ip in ("", "0.0.0.0", "::") else published_ip
    if published_ip in ("127.0.0.1", "::1"):
        return None
    return remote if published_ip in ("", "0.0.0.0", "::") else published_ip


@dataclass(frozen=True)
class Endpoint:
    """Something stackctl can ask directly from the host."""

    name: str
    kind: str  # postgres | redis | http | https
    host: str
    port: int
    path: str = ""

    @property
    def url(self) -> str:
        host = "localhost" if self.host == "127.0.0.1" else self.host
        return f"{self.kind}://{host}:{self.port}{self.path}"

    def probe(self, settings: Settings) -> Observation:
        if self.kind == "postgres":
            return probes.postgres(self.host, self.port, settings.postgres_user,
                                   settings.secret("postgres_password"), settings.postgres_db)
        if self.kind == "redis":
            return probes.redis(self.host, self.port, settings.secret("redis_password"))
        return probes.http(f"{self.kind}://{self.host}:{self.port}{self.path}")


def probe_endpoint(spec: ServiceSpec, info: ContainerInfo) -> Endpoint | None:
    """The endpoint a service's stackctl.probe label names, if its port is published."""
    if not spec.probe:
        return None
    kind, _, path = spec.probe.partition(":")
    if kind not in PROBE_PORTS:
        return None
    for container_port in PROBE_PORTS[kind]:
        published = info.host_port(container_port)
        if published is not None and connect_host(published.host_ip) is not None:
            return Endpoint(spec.name, kind, connect_host(published.host_ip), published.host_port, path or "")
    return None


def check_endpoints(spec: ServiceSpec, info: ContainerInfo) -> list[Endpoint]:
    """The service's probe plus the extra paths its stackctl.check label names."""
    main = probe_endpoint(spec, info)
    if main is None:
        return []
    # Extra paths go where users go: HTTPS when the service publishes it (production).
    tls = info.host_port(HTTPS_PORT) if main.kind == "http" else None
    tls = tls if tls is not None and connect_host(tls.host_ip) is not None else None
    base = Endpoint(main.name, "https", connect_host(tls.host_ip), tls.host_port) if tls else main
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


def running_endpoints(model, containers: dict[str, ContainerInfo], names) -> list[Endpoint]:
    """The endpoints of the named services that run now (one-shots have none)."""
    found = []
    for name in names:
        spec, info = model.services[name], containers.get(name)
        if info is not None and info.state == "running" and not spec.oneshot:
            found.extend(check_endpoints(spec, info))
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


def observer(spec: ServiceSpec, engine: Engine, container_id: str, settings: Settings) -> Callable[[], Observation]:
    """observe() for the gate: ready when the container runs and the protocol answers.

    Services without a published probe fall back to Docker's own healthcheck.
    """
    endpoint: list[Endpoint | None] = []

    def observe() -> Observation:
        info = engine.inspect(container_id)
        verdict = observe_container(spec, info)
        if verdict is not None:
            return verdict
        if not endpoint:
            endpoint.append(probe_endpoint(spec, info))
        if endpoint[0] is not None:
            return endpoint[0].probe(settings)
        if info.healthcheck:
            return exec_probe(engine, info)
        if info.health == "healthy" or (info.health is None and not spec.has_healthcheck):
            return Observation.ready(info.health or "running")
        return Observation.pending(info.last_health_output or f"health: {info.health or 'starting'}")

    return observe
