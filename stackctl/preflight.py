"""`stackctl check`: everything that would stop `up`, all at once, each with its fix."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from stackctl import ports as portlib
from stackctl.engine import Engine, remote_host
from stackctl.errors import StackError
from stackctl.project import Project
from stackctl.settings import Settings, secret_problems


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CheckReport:
    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict:
        return {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}


def check_engine() -> tuple[Check, Engine | None]:
    try:
        engine = Engine()
        version = engine.version()
    except StackError as exc:
        return Check("engine", False, exc.message, exc.hint or ""), None
    return Check("engine", True, f"Docker {version.get('Version')} (API {version.get('ApiVersion')})"), engine


def check_compose() -> Check:
    fix = "install the compose v2 plugin: bash scripts/provision-engine.sh (or your distribution's docker-compose-plugin)"
    try:
        proc = subprocess.run(["docker", "compose", "version", "--short"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check("compose", False, f"docker CLI not usable: {exc}", fix)
    version = proc.stdout.strip().lstrip("v")
    if proc.returncode != 0 or not version:
        return Check("compose", False, "docker compose v2 is not installed", fix)
    if not version.startswith("2."):
        return Check("compose", False, f"compose {version} found; stackctl needs v2", fix)
    return Check("compose", True, f"compose v{version}")


def check_env(project: Project, settings: Settings) -> list[Check]:
    name = project.env_file.name
    checks = []
    if project.env == "production" and not project.env_file.is_file():
        checks.append(Check("env file", False, f"{name} not found in {project.root}",
                            f"cp .env.example {name} and set real secrets"))
    else:
        source = name if project.env_file.is_file() else "built-in development defaults"
        checks.append(Check("env file", True, f"settings from {source}"))
    problems = secret_problems(settings)
    if problems:
        detail = "; ".join(f"{var} {what}" for var, what in problems)
        checks.append(Check("secrets", False, detail,
                            f"set each to a random value of 16+ characters in {name} (e.g. openssl rand -hex 24)"))
    else:
        checks.append(Check("secrets", True, "production secrets set" if project.env == "production"
                            else "development defaults allowed"))
    return checks


def check_production(project: Project, settings: Settings) -> list[Check]:
    """TLS pair usable; Postgres and Redis never published beyond loopback."""
    if project.env != "production":
        return []
    from stackctl import tls

    problems = tls.problems(project, settings)
    checks = [Check("tls", not problems, "; ".join(problems) or "certificate and key usable",
                    "" if not problems else "set TLS_CERT_FILE/TLS_KEY_FILE, or for testing: stackctl --env production certs self-signed")]
    exposed = []
    if secret_problems(settings):
        return checks  # the compose model needs the secrets; the secrets check already failed
    try:
        from stackctl.stack import Stack

        config = Stack(project, settings).config
        for name, raw in config.get("services", {}).items():
            probe = ((raw.get("labels") or {}).get("stackctl.probe") or "").split(":")[0]
            if probe not in ("postgres", "redis"):
                continue
            for port in raw.get("ports") or []:
                if port.get("host_ip") not in ("127.0.0.1", "::1", "localhost"):
                    exposed.append(f"{name} on {port.get('host_ip') or '0.0.0.0'}:{port.get('published')}")
    except Exception as exc:  # reported, not raised: check lists every problem
        exposed.append(f"compose model unreadable ({getattr(exc, 'message', exc)})")
    checks.append(Check("exposure", not exposed,
                        f"published beyond loopback: {', '.join(exposed)}" if exposed
                        else "database and Redis reachable only on loopback",
                        "" if not exposed else "publish them on 127.0.0.1 only (compose/compose.prod.yaml)"))
    return checks


def check_ports(settings: Settings, engine: Engine | None) -> list[Check]:
    checks = []
    containers = []
    if engine is not None:
        try:
            containers = engine.api.containers()
        except Exception:  # attribution only; the port test itself still runs
            containers = []
    seen: dict[int, str] = {}
    for var, port in settings.ports().items():
        label = f"port {port}"
        if port in seen:
            checks.append(Check(label, False, f"{var} and {seen[port]} are both {port}",
                                f"give {var} a port of its own in the env file"))
            continue
        seen[port] = var
        holder = portlib.container_holding(port, containers)
        if holder and holder.container_project == settings.stack_name:
            checks.append(Check(label, True, f"{var}: in use by this stack ({holder.container_service})"))
            continue
        if remote_host() is not None:  # a local bind says nothing about the engine's machine
            checks.append(Check(label, holder is None, f"{var}: " + (f"{port} is taken by {holder.description}" if holder
                                else "no container on the engine publishes it (other processes there not checked)"),
                                "" if holder is None else f"stop it, or set {var} to a free port in the env file"))
            continue
        if portlib.is_free(settings.bind_address, port):
            checks.append(Check(label, True, f"{var}: free"))
            continue
        holder = holder or portlib.process_holding(port) or portlib.PortHolder("an unknown process")
        checks.append(Check(label, False, f"{var}: {port} is taken by {holder.description}",
                            f"stop it, or set {var} to a free port in the env file"))
    return checks


def check_memory(settings: Settings, engine: Engine | None = None) -> Check:
    import psutil

    if remote_host() is not None:
        if engine is None:
            return Check("memory", False, "not checked: the engine does not answer", "see the engine check")
        total = engine.info().get("MemTotal", 0) // (1024 * 1024)
        return Check("memory", total >= settings.min_memory_mb, f"{total} MiB on the engine's host (need "
                     f"{settings.min_memory_mb}; its free memory is not visible from here)",
                     "" if total >= settings.min_memory_mb else "a larger host, or lower MIN_MEMORY_MB")
    available = psutil.virtual_memory().available // (1024 * 1024)
    need = settings.min_memory_mb
    if available < need:
        return Check("memory", False, f"{available} MiB available, {need} MiB needed",
                     "close other programs or containers (or lower MIN_MEMORY_MB)")
    return Check("memory", True, f"{available} MiB available (need {need})")


def check_disk(settings: Settings, engine: Engine | None, project: Project) -> Check:
    if remote_host() is not None:
        return Check("disk", True, f"not checked: the engine runs on {remote_host()} (check its free space there)")
    path = Path("/")
    where = "/"
    if engine is not None:
        try:
            root = engine.info().get("DockerRootDir")
            if root and Path(root).exists():
                path, where = Path(root), root
        except Exception:
            pass
    free = shutil.disk_usage(path).free // (1024 * 1024)
    need = settings.min_disk_mb
    if free < need:
        return Check("disk", False, f"{free} MiB free at {where}, {need} MiB needed",
                     "free space (docker system prune removes unused images) or lower MIN_DISK_MB")
    return Check("disk", True, f"{free} MiB free at {where} (need {need})")


def run_checks(project: Project, settings: Settings) -> CheckReport:
    engine_check, engine = check_engine()
    checks = [engine_check, check_compose(), *check_env(project, settings), *check_production(project, settings),
              *check_ports(settings, engine), check_memory(settings, engine), check_disk(settings, engine, project)]
    return CheckReport(tuple(checks))
