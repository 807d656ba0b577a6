"""`stackctl check`: everything that would stop `up`, all at once, each with its fix."""

from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from stackctl import ports as portlib
from stackctl.engine import Engine, remote_hostname
from stackctl.errors import EXIT_NO_ENGINE, EXIT_USAGE, StackError
from stackctl.env_values import is_secret, weak_secret
from stackctl.settings import Settings
from stackctl.stack import Stack


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

    @property
    def exit_code(self) -> int:
        """0 when all pass; EXIT_NO_ENGINE when no engine answers (as from every command), else 2."""
        if self.ok:
            return 0
        return EXIT_NO_ENGINE if any(c.name == "engine" and c.detail.startswith("no Docker engine")
                                     for c in self.failures) else EXIT_USAGE

    def to_dict(self) -> dict:
        return {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}


def check_engine(host: str | None) -> tuple[Check, Engine | None]:
    try:
        engine = Engine(host)
        version = engine.version()
    except StackError as exc:
        return Check("engine", False, exc.message, exc.hint or ""), None
    return Check("engine", True, f"Docker {version.get('Version')} (API {version.get('ApiVersion')})"), engine


def check_compose(host: str | None, cache_dir: Path | None = None) -> Check:
    from stackctl.compose import installed_version, version_problem

    fix = "install the compose plugin (Debian/Ubuntu: docker-compose-plugin; or docs.docker.com/compose/install)"
    version = installed_version(host, cache_dir)
    if not version:
        return Check("compose", False, "docker compose (the CLI plugin) is not installed", fix)
    problem = version_problem(version)
    if problem:
        return Check("compose", False, problem, "upgrade the compose plugin (docs.docker.com/compose/install)")
    return Check("compose", True, f"compose v{version}")


# ${NAME...} or $NAME, but not $$NAME (compose's escape: the container's own variable).
INTERPOLATED = re.compile(rb"(?<!\$)\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def interpolated(stack: Stack) -> set[str]:
    """The variables the compose files interpolate."""
    names: set[str] = set()
    for path in stack.project.compose_files():
        if path.is_file():
            names.update(n.decode() for n in INTERPOLATED.findall(path.read_bytes()))
    return names


def misspelt(stack: Stack, used: set[str]) -> list[tuple[str, str]]:
    """(variable, the one it nearly is): set in the env file, used by no compose file, and all but
    the name of one that is (REDIS_PASWORD for REDIS_PASSWORD would leave the default in force)."""
    import difflib

    from dotenv import dotenv_values

    env_file = stack.project.env_file
    if not env_file.is_file():
        return []
    found = []
    for var in dotenv_values(env_file):
        if var in used or var.startswith("STACKCTL_") or var.startswith("COMPOSE_"):
            continue
        near = difflib.get_close_matches(var, sorted(used), n=1, cutoff=0.85)
        if near:
            found.append((var, near[0]))
    return found


def check_env(stack: Stack) -> list[Check]:
    project = stack.project
    name = project.env_file.name
    checks = []
    used = interpolated(stack)  # read once: the typo check and the secret check both need it
    typos = misspelt(stack, used)
    if typos:
        checks.append(Check("variables", False, "; ".join(f"{var} in {name} is used by no compose file (did you "
                                                          f"mean {near}?)" for var, near in typos),
                            f"rename it in {name}, or remove it"))
    if project.env != "development" and not project.env_file.is_file():
        checks.append(Check("env file", False, f"{name} not found in {project.root}",
                            f"create {name} with your {project.env} settings and real secrets"))
    else:
        source = name if project.env_file.is_file() else "compose defaults (no .env)"
        checks.append(Check("env file", True, f"settings from {source}"))
    if project.safety == "development":
        checks.append(Check("secrets", True, f"{project.env}: defaults allowed"
                                             + ("" if project.env == "development" else " (development's rules)")))
        return checks
    try:
        values = stack.compose.environment()  # as compose reads them: the values that will run
    except StackError as exc:
        checks.append(Check("secrets", False, f"not checked: {exc.message}", exc.hint or ""))
        return checks
    secrets = sorted(n for n in used if is_secret(n, values.get(n)))
    problems = [(var, why) for var in secrets if (why := weak_secret(values.get(var)))]
    # What services get through env_file: (or literally in the compose file) runs too: checked alike.
    seen = set(secrets)
    for service, spec in sorted((stack.config.get("services") or {}).items()):
        for var, value in sorted((spec.get("environment") or {}).items()):
            if var in seen or not isinstance(value, str) or not is_secret(var, value):
                continue
            seen.add(var)
            why = weak_secret(value)
            if why:
                problems.append((f"{var} (of {service})", why))
    if problems:
        detail = "; ".join(f"{var} {what}" for var, what in problems)
        checks.append(Check("secrets", False, detail,
                            f"set each to a random value of 16+ characters in {name} (e.g. openssl rand -hex 24)"))
    else:
        checks.append(Check("secrets", True, f"{project.env} secrets set"
                                             + (f" ({project.safety}'s rules)" if project.rules else "")))
    return checks


def check_production(stack: Stack) -> list[Check]:
    """TLS pair usable; the database and cache never published beyond loopback."""
    project, settings = stack.project, stack.settings
    if not project.production:
        return []
    from stackctl import tls

    checks = []
    if tls.wanted(stack):
        problems = tls.problems(project, settings)
        checks.append(Check("tls", not problems, "; ".join(problems) or "certificate and key usable",
                            "" if not problems else "set STACKCTL_TLS_CERT_FILE/STACKCTL_TLS_KEY_FILE, or for "
                            "testing: stackctl --env production certs self-signed"))
    remote = remote_hostname(stack.project.host)
    if remote and stack.model.one("edge"):  # refused here, before a deploy has migrated or moved anything
        checks.append(Check("edge", False, f"stackctl's edge needs the engine on the host stackctl runs on (its "
                            f"configuration is read from this machine), not on {remote}",
                            "run stackctl on the production host itself, or remove edge: from stackctl.yaml"))
    exposed = exposed_data_services(stack)
    checks.append(Check("exposure", not exposed,
                        f"reachable beyond loopback: {', '.join(exposed)}" if exposed
                        else "database and cache reachable only on loopback (or not published)",
                        "" if not exposed else "publish them on 127.0.0.1 only (\"127.0.0.1:5432:5432\"), or not at "
                        "all, in the production compose file"))
    return checks


LOOPBACK = ("127.0.0.1", "::1", "localhost")


def exposed_data_services(stack: Stack) -> list[str]:
    """The database's and cache's ports reachable from outside the host, whatever the syntax: a
    published port on any address but loopback (an ephemeral `"5432"`, a range), or the host's
    own network (network_mode: host)."""
    raw = stack.config.get("services") or {}
    found = []
    for name in (stack.model.one("database"), stack.model.one("cache")):
        service = raw.get(name) or {} if name else {}
        if service.get("network_mode") == "host":
            found.append(f"{name} on the host's own network (network_mode: host)")
        for port in service.get("ports") or []:
            if not isinstance(port, dict):
                continue
            ip = port.get("host_ip") or ""
            if ip not in LOOPBACK:
                published = port.get("published") or "an ephemeral port"
                found.append(f"{name} on {ip or '0.0.0.0'}:{published} (-> {port.get('target')})")
    return found


def check_ports(stack: Stack, engine: Engine | None) -> list[Check]:
    """The host ports the compose model publishes: free, or already this stack's."""
    checks = []
    containers = []
    if engine is not None:
        try:
            containers = engine.running_summaries()
        except StackError:  # attribution only; the port test itself still runs
            containers = []
    seen: dict[int, str] = {}
    for service, spec in sorted(stack.model.services.items()):
        for host_ip, port in spec.published:
            label, what = f"port {port}", f"{service} publishes {port}"
            if port in seen:
                if seen[port] != service:
                    checks.append(Check(label, False, f"{service} and {seen[port]} both publish {port}",
                                        f"give {service} a port of its own in the compose file or env file"))
                continue
            seen[port] = service
            holder = portlib.container_holding(port, containers)
            if holder and holder.container_project == stack.name:
                checks.append(Check(label, True, f"{what}: in use by this stack ({holder.container_service})"))
                continue
            fix = f"stop it, or publish {service} on a free port (the variable in your env file, or the compose file)"
            if remote_hostname(stack.project.host) is not None:  # a local bind says nothing about the engine's machine
                checks.append(Check(label, holder is None, f"{what}: " + (
                    f"taken by {holder.description}" if holder
                    else "no container on the engine publishes it (other processes there not checked)"),
                    "" if holder is None else fix))
                continue
            if portlib.is_free(host_ip or "0.0.0.0", port):
                checks.append(Check(label, True, f"{what}: free"))
                continue
            holder = holder or portlib.process_holding(port) or portlib.PortHolder("an unknown process")
            checks.append(Check(label, False, f"{what}: taken by {holder.description}", fix))
    return checks


def check_memory(settings: Settings, engine: Engine | None, remote: str | None) -> Check:
    import psutil

    if remote is not None:
        if engine is None:
            return Check("memory", False, "not checked: the engine does not answer", "see the engine check")
        total = engine.info().get("MemTotal", 0) // (1024 * 1024)
        return Check("memory", total >= settings.min_memory_mb, f"{total} MiB on the engine's host (need "
                     f"{settings.min_memory_mb}; its free memory is not visible from here)",
                     "" if total >= settings.min_memory_mb else "a larger host, or lower STACKCTL_MIN_MEMORY_MB")
    available = psutil.virtual_memory().available // (1024 * 1024)
    need = settings.min_memory_mb
    if available < need:
        return Check("memory", False, f"{available} MiB available, {need} MiB needed",
                     "close other programs or containers (or lower STACKCTL_MIN_MEMORY_MB)")
    return Check("memory", True, f"{available} MiB available (need {need})")


def check_disk(settings: Settings, engine: Engine | None, remote: str | None) -> Check:
    if remote is not None:
        return Check("disk", True, f"not checked: the engine runs on {remote} (check its free space there)")
    path = Path("/")
    where = "/"
    if engine is not None:
        try:
            root = engine.info().get("DockerRootDir")
            if root and Path(root).exists():
                path, where = Path(root), root
        except StackError:
            pass
    free = shutil.disk_usage(path).free // (1024 * 1024)
    need = settings.min_disk_mb
    if free < need:
        return Check("disk", False, f"{free} MiB free at {where}, {need} MiB needed",
                     "free space (docker system prune removes unused images) or lower STACKCTL_MIN_DISK_MB")
    return Check("disk", True, f"{free} MiB free at {where} (need {need})")


def check_images(stack: Stack, engine: Engine | None) -> Check:
    """Which images the stack runs the engine does not have yet: built by up, or pulled by it."""
    if engine is None:
        return Check("images", False, "not checked: the engine does not answer", "see the engine check")
    from stackctl.build import missing_pulled

    model = stack.model
    to_pull = missing_pulled(stack, list(model.services))
    to_build = sorted({spec.image: name for name, spec in model.services.items()
                       if spec.build and engine.image_id(spec.image) is None}.items())
    if not to_pull and not to_build:
        return Check("images", True, f"all {len({s.image for s in model.services.values()})} on the engine")
    parts = ([f"to build: {', '.join(f'{i} ({n})' for i, n in to_build)}"] if to_build else []) + \
            ([f"to pull: {', '.join(f'{i} ({n})' for i, n in sorted(to_pull.items()))}"] if to_pull else [])
    return Check("images", True, "not on the engine yet, up makes them: " + "; ".join(parts),
                 "offline, load pulled images first (docker load -i FILE)" if to_pull else "")


def check_model(stack: Stack) -> Check:
    try:
        model = stack.model
    except StackError as exc:
        return Check("compose model", False, exc.message, exc.hint or "")
    roles = ", ".join(f"{r} {', '.join(model.with_role(r))}" for r in ("database", "cache", "migrate", "app", "proxy")
                      if model.with_role(r))
    source = stack.project.roles_file.name if stack.declared else "detected (write them with stackctl init)"
    return Check("compose model", True, f"{len(model.services)} services; roles {source}: {roles or 'none'}")


def check_alerts(settings: Settings) -> list[Check]:
    """Where watch's alerts go: a password never crosses the network in clear."""
    if settings.alert_smtp.startswith("smtp://") and settings.alert_smtp_password:
        return [Check("alerts", False, "STACKCTL_ALERT_SMTP is smtp:// (plaintext) and a password is set: it would "
                                       "cross the network in clear", "use smtps://host:465 or smtp+starttls://host:587")]
    return []


def run_checks(stack: Stack) -> CheckReport:
    host = stack.project.host
    engine_check, engine = check_engine(host)
    compose_check = check_compose(host, stack.project.state_dir)
    checks = [engine_check, compose_check, *check_env(stack)]
    model_check = check_model(stack) if compose_check.ok else Check("compose model", False,
                                                                    "not read: no usable compose", compose_check.fix)
    checks.append(model_check)
    if model_check.ok:
        checks += [*check_production(stack), *stack.target.checks(stack, engine)]
    settings = stack.settings
    remote = remote_hostname(host)
    checks += [check_memory(settings, engine, remote), check_disk(settings, engine, remote), *check_alerts(settings)]
    return CheckReport(tuple(checks))


class PreflightFailed(StackError):
    def __init__(self, report: CheckReport):
        failures = report.failures
        message = "; ".join(f"{c.name}: {c.detail}" for c in failures)
        hint = " / ".join(c.fix for c in failures if c.fix) or "run stackctl check"
        super().__init__(f"preflight failed: {message}", hint, EXIT_USAGE)
        self.report = report
