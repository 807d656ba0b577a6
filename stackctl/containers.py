"""What the engine says about a container, as plain frozen data (no docker import)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONEOFF_LABEL = "com.docker.compose.oneoff"
STACK_LABEL = "com.docker.stack.namespace"  # a swarm stack's services and task containers
SWARM_SERVICE_LABEL = "com.docker.swarm.service.name"  # <stack>_<service> on a task's container


def connect_host(published_ip: str, remote: str | None) -> str | None:
    """Where this machine reaches a published port: the engine's host (`remote`) for a remote
    engine (None when it is published on that host's loopback only: probed inside instead)."""
    if remote is None:
        return "127.0.0.1" if published_ip in ("", "0.0.0.0", "::") else published_ip
    if published_ip in ("127.0.0.1", "::1"):
        return None
    return remote if published_ip in ("", "0.0.0.0", "::") else published_ip


@dataclass(frozen=True)
class PublishedPort:
    container_port: str  # "5432/tcp"
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    service: str
    project: str
    state: str  # created | running | restarting | exited | paused | dead
    health: str | None = None  # starting | healthy | unhealthy | None (no healthcheck)
    exit_code: int | None = None
    started_at: datetime | None = None
    image_id: str = ""
    image: str = ""  # the reference it was created from (Config.Image), e.g. stackctl/api:2026...
    pid: int = 0
    restart_count: int = 0
    ports: tuple[PublishedPort, ...] = ()
    last_health_output: str = ""
    user: str = ""  # Config.User
    healthcheck: tuple[str, ...] = ()  # the engine's test: ("CMD", ...) or ("CMD-SHELL", "...")
    exposed: tuple[int, ...] = ()  # TCP ports it says it serves: its image's EXPOSE, compose's expose and ports
    ips: tuple[str, ...] = ()  # its addresses on its networks
    read_only_binds: tuple[str, ...] = ()  # host paths bind-mounted read-only (configuration it reads)
    labels: dict = field(default_factory=dict, compare=False, hash=False, repr=False)
    # The container's own environment and command: where stackctl reads the credentials of the
    # database and cache (never shown: repr=False).
    env: tuple[str, ...] = field(default=(), compare=False, hash=False, repr=False)
    command: tuple[str, ...] = field(default=(), compare=False, hash=False, repr=False)

    def env_value(self, name: str) -> str | None:
        prefix = name + "="
        return next((item[len(prefix):] for item in self.env if item.startswith(prefix)), None)

    def host_port(self, container_port: int) -> PublishedPort | None:
        for port in self.ports:
            if port.container_port.split("/")[0] == str(container_port):
                return port
        return None


def _parse_time(value: str | None) -> datetime | None:
    if not value or value.startswith("0001-"):
        return None
    # Docker gives nanoseconds; fromisoformat takes at most microseconds.
    head, _, frac = value.rstrip("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(frac + '000000')[:6]}+00:00")


def container_from_inspect(data: dict) -> ContainerInfo:
    state = data.get("State", {})
    health = state.get("Health") or {}
    logs = health.get("Log") or []
    labels = data.get("Config", {}).get("Labels") or {}
    ports = []
    for container_port, bindings in sorted((data.get("NetworkSettings", {}).get("Ports") or {}).items()):
        for b in bindings or []:
            ports.append(PublishedPort(container_port, b.get("HostIp", ""), int(b["HostPort"])))
    return ContainerInfo(
        id=data["Id"],
        name=data.get("Name", "").lstrip("/"),
        service=labels.get(SERVICE_LABEL) or labels.get(SWARM_SERVICE_LABEL, "").removeprefix(
            f"{labels.get(STACK_LABEL, '')}_"),
        project=labels.get(PROJECT_LABEL) or labels.get(STACK_LABEL, ""),
        state=state.get("Status", "unknown"),
        health=health.get("Status"),
        exit_code=state.get("ExitCode") if state.get("Status") in ("exited", "dead") else None,
        started_at=_parse_time(state.get("StartedAt")) if state.get("Running") else None,
        image_id=data.get("Image", ""),
        image=data.get("Config", {}).get("Image", ""),
        pid=int(state.get("Pid") or 0),
        restart_count=int(data.get("RestartCount") or 0),
        ports=tuple(ports),
        last_health_output=(logs[-1].get("Output", "") if logs else "").strip(),
        user=data.get("Config", {}).get("User") or "",
        healthcheck=tuple((data.get("Config", {}).get("Healthcheck") or {}).get("Test") or ()),
        exposed=tuple(sorted(int(p.split("/")[0]) for p in (data.get("Config", {}).get("ExposedPorts") or {})
                             if p.endswith("/tcp") and p.split("/")[0].isdigit())),
        labels=dict(labels),
        ips=tuple(n.get("IPAddress") for n in ((data.get("NetworkSettings") or {}).get("Networks") or {}).values()
                  if n and n.get("IPAddress")),
        read_only_binds=tuple(m["Source"] for m in data.get("Mounts") or ()
                              if m.get("Type") == "bind" and m.get("RW") is False and m.get("Source")),
        env=tuple(data.get("Config", {}).get("Env") or ()),
        command=tuple(data.get("Config", {}).get("Cmd") or ()),
    )


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


def uptime_seconds(info: ContainerInfo, now: datetime | None = None) -> float | None:
    if info.started_at is None or info.state != "running":
        return None
    now = now or datetime.now(timezone.utc)
    return max(0.0, (now - info.started_at).total_seconds())
