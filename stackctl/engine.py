"""The Docker engine through its SDK: latency-sensitive reads (inspect, list, stats, logs)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone

from stackctl.errors import StackError

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
ONEOFF_LABEL = "com.docker.compose.oneoff"


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
    healthcheck: tuple[str, ...] = ()  # the engine's test: ("CMD", ...) or ("CMD-SHELL", "...")
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
        service=labels.get(SERVICE_LABEL, ""),
        project=labels.get(PROJECT_LABEL, ""),
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
        healthcheck=tuple((data.get("Config", {}).get("Healthcheck") or {}).get("Test") or ()),
        env=tuple(data.get("Config", {}).get("Env") or ()),
        command=tuple(data.get("Config", {}).get("Cmd") or ()),
    )


class Engine:
    """A thin handle on the engine; one low-level client per thread (requests sessions)."""

    def __init__(self):
        self._local = threading.local()
        self.api  # connect now: an unreachable engine is reported here, once

    @property
    def api(self):
        client = getattr(self._local, "client", None)
        if client is None:
            import docker
            from docker.errors import DockerException

            kwargs = docker.utils.kwargs_from_env()
            if str(kwargs.get("base_url", "")).startswith("ssh://"):
                kwargs["use_ssh_client"] = True  # the system's ssh, its keys and known_hosts
                _tolerate_closed_ssh_pipe()
            try:
                client = docker.APIClient(version="auto", timeout=30, **kwargs)
            except DockerException as exc:
                raise StackError(f"Docker engine not reachable: {exc}",
                                 "start it (sudo systemctl start docker), then stackctl check") from None
            self._local.client = client
        return client

    def version(self) -> dict:
        return self.api.version()

    def info(self) -> dict:
        return self.api.info()

    def project_containers(self, project: str) -> dict[str, ContainerInfo]:
        """Service name -> its container (one-off `run` containers excluded)."""
        found = {}
        for summary in self.api.containers(all=True, filters={"label": f"{PROJECT_LABEL}={project}"}):
            labels = summary.get("Labels") or {}
            if labels.get(ONEOFF_LABEL) == "True":
                continue
            info = self.inspect(summary["Id"])
            if info is not None:
                found[info.service] = info
        return found

    def service_containers(self, project: str, service: str) -> list[ContainerInfo]:
        """Every container of a service (a rollout runs several), oldest first."""
        found = []
        filters = {"label": [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}={service}"]}
        for summary in self.api.containers(all=True, filters=filters):
            if (summary.get("Labels") or {}).get(ONEOFF_LABEL) == "True":
                continue
            info = self.inspect(summary["Id"])
            if info is not None:
                found.append((summary.get("Created", 0), info))
        return [info for _, info in sorted(found, key=lambda pair: pair[0])]

    def inspect(self, container_id: str) -> ContainerInfo | None:
        from docker.errors import NotFound

        try:
            return container_from_inspect(self.api.inspect_container(container_id))
        except NotFound:
            return None

    def start(self, container_id: str) -> None:
        self.api.start(container_id)

    def stop(self, container_id: str, timeout: int = 10) -> None:
        self.api.stop(container_id, timeout=timeout)

    def remove(self, container_id: str) -> None:
        self.api.remove_container(container_id)

    def restart(self, container_id: str, timeout: int = 10) -> None:
        self.api.restart(container_id, timeout=timeout)

    def logs_tail(self, container_id: str, lines: int = 30) -> str:
        from docker.errors import NotFound

        try:
            raw = self.api.logs(container_id, stdout=True, stderr=True, tail=lines)
        except NotFound:
            return ""
        return raw.decode("utf-8", "replace")

    def exec(self, container_id: str, cmd: list[str], env: dict | None = None, user: str | None = None) -> ExecResult:
        """Run a command in a running container; secrets go in env, never in cmd."""
        exec_id = self.api.exec_create(container_id, cmd, environment=env, user=user or "")["Id"]
        out, err = self.api.exec_start(exec_id, demux=True)
        code = self.api.exec_inspect(exec_id)["ExitCode"]
        return ExecResult(code, (out or b"").decode("utf-8", "replace"), (err or b"").decode("utf-8", "replace"))

    def exec_to_file(self, container_id: str, cmd: list[str], sink, env: dict | None = None) -> ExecResult:
        """Stream a command's stdout into sink.write() (a backup), keeping its stderr."""
        exec_id = self.api.exec_create(container_id, cmd, environment=env)["Id"]
        errors = bytearray()
        for out, err in self.api.exec_start(exec_id, stream=True, demux=True):
            if out:
                sink.write(out)
            if err:
                errors += err
        code = self.api.exec_inspect(exec_id)["ExitCode"]
        return ExecResult(code, "", errors.decode("utf-8", "replace"))

    def read_file(self, container_id: str, path: str, sink) -> None:
        """Copy one file out of a container (running or not) into sink.write()."""
        import tarfile

        stream, _ = self.api.get_archive(container_id, path)
        reader = _ChunkReader(stream)
        with tarfile.open(fileobj=reader, mode="r|") as tar:
            for member in tar:
                if member.isfile():
                    src = tar.extractfile(member)
                    while chunk := src.read(1 << 20):
                        sink.write(chunk)
                    return
        raise StackError(f"{path} not found in container {container_id[:12]}")

    def write_file(self, container_id: str, directory: str, name: str, data: bytes, uid: int = 0) -> None:
        """Put one file into a container's directory (running or not)."""
        import io
        import tarfile

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), 0o600, uid, uid
            tar.addfile(info, io.BytesIO(data))
        self.api.put_archive(container_id, directory, buf.getvalue())

    def image_id(self, reference: str) -> str | None:
        from docker.errors import ImageNotFound, NotFound

        try:
            return self.api.inspect_image(reference)["Id"]
        except (ImageNotFound, NotFound):
            return None


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    stdout: str
    stderr: str


def _tolerate_closed_ssh_pipe() -> None:
    """docker-py's ssh shell-out socket flushes into the ssh process on close(); after an
    exec that process has often exited, and close() raises BrokenPipeError although every
    byte was read (docker/docker-py#3218, open). Closing a dead pipe is done either way."""
    from docker.transport import sshconn

    if getattr(sshconn.SSHSocket.close, "_stackctl", False):
        return
    original = sshconn.SSHSocket.close

    def close(self):
        try:
            original(self)
        except BrokenPipeError:
            if self.proc is not None:
                self.proc.terminate()

    close._stackctl = True
    sshconn.SSHSocket.close = close


def remote_host() -> str | None:
    """The engine's host when it is not this machine's (DOCKER_HOST=ssh://... or tcp://...)."""
    import os
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("DOCKER_HOST", "") or "unix://")
    if url.scheme in ("ssh", "tcp", "http", "https") and url.hostname:
        return url.hostname
    return None


class _ChunkReader:
    """A file-like view over an iterator of byte chunks (for tarfile's stream mode)."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._buf = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buf) < size:
            try:
                self._buf += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            data, self._buf = self._buf, b""
        else:
            data, self._buf = self._buf[:size], self._buf[size:]
        return data


def uptime_seconds(info: ContainerInfo, now: datetime | None = None) -> float | None:
    if info.started_at is None or info.state != "running":
        return None
    now = now or datetime.now(timezone.utc)
    return max(0.0, (now - info.started_at).total_seconds())


def docker_cli(args: list[str], stdin_path=None, timeout: float | None = None) -> ExecResult:
    """`docker ARGS` with a file streamed to its stdin: for `run -i` / `exec -i` of dumps.
    Arguments never carry secrets (they would show in `ps`); those go through the SDK."""
    import subprocess

    stdin = open(stdin_path, "rb") if stdin_path is not None else subprocess.DEVNULL
    try:
        proc = subprocess.run(["docker", *args], stdin=stdin, capture_output=True, timeout=timeout)
    finally:
        if stdin_path is not None:
            stdin.close()
    return ExecResult(proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace"))
