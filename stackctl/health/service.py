"""Readiness of one compose service: its container's state plus its protocol probe."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from stackctl import kinds
from stackctl.containers import ContainerInfo, connect_host, uptime_seconds
from stackctl.engine import Engine
from stackctl.health import probes
from stackctl.health.gate import NO_EVIDENCE, Observation, State
from stackctl.plan import ServiceSpec

# The container ports HTTP is looked for on: the service's declared port, else the first of
# these that is published, else its first published port. A data kind's is its own (kinds).
HTTP_PORTS = (80, 8000, 8080, 3000, 5000, 4000)
HTTPS_PORT = 443
CRASH_LOOP_RESTARTS = 3


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

    @property
    def evidence(self) -> str:
        return kinds.kind(self.kind).evidence if self.kind not in ("http", "https") else f"http {self.path or '/'}"

    def probe(self) -> Observation:
        if self.kind not in ("http", "https"):
            seen = kinds.kind(self.kind).probe_host(self.host, self.port, self.credentials)
        else:
            seen = probes.http(f"{self.kind}://{self.host}:{self.port}{self.path or '/'}", any_answer=not self.path)
        return proven(seen, self.evidence)


def warm_probes(model) -> None:
    """The model's data kinds' probe libraries imported in the background (kinds.warm): called
    before a command lists containers, whose wait on the engine then pays for the import."""
    kinds.warm((spec.probe or "").partition(":")[0] for spec in model.services.values())


def proven(seen: Observation, evidence: str) -> Observation:
    """A ready observation named by what it rests on."""
    return Observation.ready(seen.detail, evidence) if seen.state is State.READY else seen


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
    if kind == "https":  # stackctl's edge: what users reach, through it to the proxy
        published = info.host_port(HTTPS_PORT)
        host = connect_host(published.host_ip, engine.remote) if published else None
        return Endpoint(spec.name, kind, host, published.host_port, path) if host else None
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
             for path in spec.checks if main.kind in ("http", "https")]
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


def exec_probe(engine: Engine, info: ContainerInfo, within: float = 0.0) -> Observation:
    """Run the container's own healthcheck command now, instead of waiting for the engine to
    run it at its interval: the probe for services with nothing published (production API);
    `within`: run again in there until it passes, or that many seconds pass."""
    test = list(info.healthcheck)
    if not test or test[0] == "NONE":
        return Observation.pending("no healthcheck")
    cmd = ["sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
    try:
        result = engine.exec_until(info.id, cmd, within=within)
    except Exception as exc:  # the container may be going away
        return Observation.pending(f"{type(exc).__name__}: {exc}")
    output = (result.stdout + result.stderr).strip()
    if result.exit_code == 0:
        return Observation.ready(output.splitlines()[-1] if output else "healthcheck passed", "healthcheck")
    return Observation.pending(output.splitlines()[-1] if output else f"healthcheck exit {result.exit_code}")


IMAGE_EXPOSE_GRACE = 5.0  # seconds a container whose only port is its image's EXPOSE has to listen there
# Seconds a container that can show nothing must stay up before a gate lets it pass as running: a
# process that crashes at once (address in use, a missing variable) restarts, and is caught.
STAYS_UP = 3.0
# Seconds one look of a gate may wait inside a container for a probe run there to pass (its kind's
# client, its healthcheck): the probe runs every 0.1 s in there, but the exec that carries it costs
# the engine ~45 ms of CPU, which a look every 0.2 s for the seconds an initdb takes multiplied.
LOOK_WITHIN = 2.0


def expected_ports(spec: ServiceSpec, info: ContainerInfo) -> tuple[list[int], list[int]]:
    """The ports a service serves on: (named, merely exposed). Named: its role's port (what its
    proxy forwards to), and compose's expose/ports; it is not ready until it listens on one.
    Merely exposed: its image's EXPOSE, which a worker on an API's image inherits too."""
    named = list(dict.fromkeys(([spec.port] if spec.port else []) + list(spec.exposes)))
    return named, [p for p in info.exposed if p not in named]


def http_inside(engine: Engine, spec: ServiceSpec, info: ContainerInfo) -> Observation | None:
    """An HTTP app or proxy that publishes nothing, asked at its own address on its network (an
    engine on this machine: its bridge networks are reachable from here). None: not askable."""
    kind, _, path = (spec.probe or "").partition(":")
    if kind != "http" or engine.remote is not None or not info.ips:
        return None
    ports = [spec.port] if spec.port else [p for p in HTTP_PORTS if p in info.exposed] or list(info.exposed[:1])
    if not ports:
        return None
    return proven(probes.http(f"http://{info.ips[0]}:{ports[0]}{path or '/'}", any_answer=not path),
                  f"http {path or '/'}")


def listening(spec: ServiceSpec, engine: Engine, info: ContainerInfo, stays_up: float = 0.0) -> Observation:
    """Ready when the container listens on a port it serves on. A port compose or stackctl.yaml
    names is waited for; one only its image EXPOSEs, for IMAGE_EXPOSE_GRACE seconds after it
    started (then it is running, with no evidence); with no port at all there is nothing to see
    but that it stays up (`stays_up` seconds, for a gate)."""
    named, exposed = expected_ports(spec, info)
    if not named and not exposed:
        up_for = uptime_seconds(info) or 0.0
        if up_for < stays_up:
            return Observation.pending(f"up {up_for:.1f}s: watching that it stays up (nothing else shows it serves)")
        return Observation.ready("running; it names no port and has no healthcheck", NO_EVIDENCE)
    found = engine.listening_ports(info.id, info.pid)
    if found is None:
        return Observation.ready(f"running; whether it listens on {(named + exposed)[0]} cannot be read here",
                                 NO_EVIDENCE)
    hit = next((p for p in named + exposed if p in found), None)
    if hit is not None:
        return Observation.ready(f"listening on {hit}", f"listening {hit}")
    others = ", ".join(str(p) for p in sorted(found)) or "nothing"
    if not named and (uptime_seconds(info) or 0) >= IMAGE_EXPOSE_GRACE:
        return Observation.ready(f"running; not listening on {', '.join(map(str, exposed))}, which its image "
                                 f"EXPOSEs (it listens on {others})", NO_EVIDENCE)
    return Observation.pending(f"not listening on {', '.join(map(str, named or exposed))} yet (it listens on {others})")


def observe_container(spec: ServiceSpec, info: ContainerInfo | None) -> Observation | None:
    """A verdict from the container alone, or None when the probe must decide."""
    if info is None:
        return Observation.pending("no container yet")
    if info.state in ("exited", "dead"):
        if spec.oneshot and info.exit_code == 0:
            return Observation.ready("completed", "exited 0")
        return Observation.failed(f"container exited with code {info.exit_code}")
    if info.restart_count >= CRASH_LOOP_RESTARTS:
        return Observation.failed(f"keeps crashing: restarted {info.restart_count} times by its restart policy")
    if info.state in ("created", "restarting", "paused"):
        return Observation.pending(info.state)
    if spec.oneshot:
        return Observation.pending("running")
    return None


def exec_role_probe(engine: Engine, spec: ServiceSpec, info: ContainerInfo, within: float = 0.0) -> Observation | None:
    """A data kind's own protocol, asked inside its container (nothing published)."""
    kind = (spec.probe or "").split(":")[0]
    if kind not in kinds.KNOWN:
        return None
    return proven(kinds.kind(kind).probe_inside(engine, info, within), kinds.kind(kind).evidence)


def observer(spec: ServiceSpec, engine: Engine, container_id: str, stays_up: float = 0.0,
             within: float = 0.0) -> Callable[[], Observation]:
    """observe() for the gate: ready when the container runs and something shows it serves, and
    named by what: the protocol from the host where it is published (sql, ping, http <path>),
    inside its container where not (a data kind's own client), its healthcheck run now, HTTP at
    its own address, or a listener on a port it says it serves on. A container that names no
    port and has no healthcheck is only running: ready with no evidence, which up and status
    say as such, never as ready. `within` (a gate's looks: LOOK_WITHIN): a probe run inside the
    container is run again in there until it passes or that many seconds pass, one exec per look.
    """
    endpoint: list[Endpoint | None] = []

    def observe() -> Observation:
        info = engine.inspect(container_id)
        verdict = observe_container(spec, info)
        if verdict is not None:
            return verdict
        if not endpoint or endpoint[0] is not None and endpoint[0].kind not in ("http", "https"):
            # a data kind's credentials are read from the server, which may not answer yet: again each look
            endpoint[:] = [probe_endpoint(spec, info, engine)]
        if endpoint[0] is not None:
            return endpoint[0].probe()
        for ask in (lambda e, s_, i: exec_role_probe(e, s_, i, within),
                    lambda e, s_, i: exec_probe(e, i, within) if i.healthcheck else None, http_inside):
            seen = ask(engine, spec, info)
            if seen is not None:
                return seen
        if info.health == "healthy":
            return Observation.ready("healthy", "healthcheck")
        if spec.has_healthcheck:
            return Observation.pending(info.last_health_output or f"health: {info.health or 'starting'}")
        return listening(spec, engine, info, stays_up)

    return observe


def ready_now(model, engine: Engine, containers: dict[str, ContainerInfo], names: list[str]) -> dict[str, Observation]:
    """Each named service's container asked once, as the gate asks it, all in parallel."""
    from concurrent.futures import ThreadPoolExecutor

    def ask(name: str) -> Observation:
        return observer(model.services[name], engine, containers[name].id)()

    if not names:
        return {}
    with ThreadPoolExecutor(max_workers=min(8, len(names))) as pool:
        return dict(zip(names, pool.map(ask, names)))
