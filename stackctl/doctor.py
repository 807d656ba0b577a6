"""`stackctl doctor`: the troubleshooting flow, run for you. Each finding says what is wrong, the
evidence (log lines, the failing probe, who holds a port) and the command that fixes it; the
most likely cause comes first (an engine that does not answer before a service that cannot
start, a database that refuses the app's password before the proxy's 502 it causes).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from stackctl import kinds
from stackctl.errors import EXIT_NO_ENGINE, EXIT_UNHEALTHY, StackError
from stackctl.stack import Stack

LOG_LINES = 40
CRASH_LOOP = 3  # restarts
CERT_WARNING = timedelta(days=14)

# What an app's own log says about the services it needs: (pattern, what it means, the fix).
APP_SIGNATURES = (
    (re.compile(r"password authentication failed for user|authentication failed for user", re.I),
     "cannot log in to the database: the password it uses is not the database's",
     "give the app and the database the same password in your env file (a database volume keeps the password "
     "it was made with), then stackctl up"),
    (re.compile(r"WRONGPASS|NOAUTH|invalid username-password pair", re.I),
     "cannot log in to Redis: the password it uses is not Redis's",
     "give the app and Redis the same password in your env file, then stackctl up"),
    (re.compile(r"ENOTFOUND|getaddrinfo|could not translate host name|Name or service not known|"
                r"Temporary failure in name resolution", re.I),
     "cannot find the host it was told to use for the database or cache",
     "use the compose service name as the host in its settings (e.g. DATABASE_HOST=db), then stackctl up"),
    (re.compile(r"ECONNREFUSED|Connection refused|could not connect to server|connection to server .* failed", re.I),
     "cannot reach the database or cache (not running, or not ready yet)",
     "stackctl status; start them with stackctl up"),
)


@dataclass(frozen=True)
class Finding:
    rank: int  # lower: more likely the cause
    subject: str  # a service, "engine", "disk", "tls", ...
    what: str
    evidence: tuple[str, ...]
    fix: str

    def to_dict(self) -> dict:
        return {"subject": self.subject, "what": self.what, "evidence": list(self.evidence), "fix": self.fix}


@dataclass(frozen=True)
class Diagnosis:
    stack: str
    findings: tuple[Finding, ...]
    answered: tuple[str, ...] = ()  # what was asked and answered (the evidence behind "no problem found")

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def exit_code(self) -> int:
        """0 nothing found; EXIT_NO_ENGINE when no engine answers (as from every command); else 3."""
        if self.ok:
            return 0
        return EXIT_NO_ENGINE if self.findings[0].subject == "engine" and self.findings[0].rank == 0 else EXIT_UNHEALTHY

    def to_dict(self) -> dict:
        return {"stack": self.stack, "ok": self.ok, "findings": [f.to_dict() for f in self.findings],
                "answered": list(self.answered)}


def _tail(stack: Stack, container_id: str, lines: int = LOG_LINES) -> list[str]:
    from stackctl.masking import mask

    return [mask(line) for line in stack.engine.logs_tail(container_id, lines).splitlines() if line.strip()]


DATABASE_SIGNATURES = (
    (re.compile(r"password authentication failed for user", re.I),
     "refuses the password its own settings give: its data volume was made with another POSTGRES_PASSWORD",
     "put back the password the volume was made with, or set the new one inside it: stackctl psql -c "
     "\"ALTER USER <user> PASSWORD '<new>'\", then stackctl up"),
)


def _app_signatures(name: str, lines: list[str], signatures=APP_SIGNATURES) -> list[Finding]:
    for pattern, what, fix in signatures:
        hits = [line for line in lines if pattern.search(line)]
        if hits:
            return [Finding(3, name, what, tuple(hits[-3:]), fix)]
    return []


def _service(stack: Stack, name: str, info, engine) -> list[Finding]:
    from stackctl.health.gate import State
    from stackctl.health.service import observer

    spec = stack.model.services[name]
    if info is None:
        if engine.image_id(spec.image) is None:
            how = f"stackctl build {name}" if spec.build else f"stackctl pull {name}"
            return [Finding(2, name, f"its image {spec.image} is not on the engine", (), f"{how}, then stackctl up")]
        return [Finding(6, name, "has no container", (), f"stackctl up {name}")]
    lines = _tail(stack, info.id)
    if spec.oneshot:
        if info.state == "exited" and info.exit_code:
            return _app_signatures(name, lines) or [Finding(4, name, f"failed (exit {info.exit_code}): the migration did not apply", tuple(lines[-8:]),
                            f"fix it, then stackctl migrate (stackctl logs {name})")]
        return []
    said = (_app_signatures(name, lines) if spec.role in ("app", "migrate") else
            [replace(f, rank=2) for f in _app_signatures(name, lines, DATABASE_SIGNATURES)]
            if spec.role == "database" else [])
    if info.state == "restarting" or info.restart_count >= CRASH_LOOP:
        return said or [Finding(3, name, f"is crash-looping ({info.restart_count} restarts, last exit "
                                         f"{info.exit_code if info.exit_code is not None else '?'})",
                                tuple(lines[-8:]), f"stackctl logs {name}")]
    if info.state != "running":
        return said or [Finding(3 if spec.role in ("database", "cache") else 5, name,
                                f"is {info.state}" + (f" (exit {info.exit_code})" if info.exit_code else ""),
                                tuple(lines[-5:]), f"stackctl start {name} (why it stopped: stackctl logs {name})")]
    verdict = observer(spec, engine, info.id)()
    if verdict.state is State.READY:
        return []
    evidence = tuple(x for x in (verdict.detail, info.last_health_output) if x)
    return said or [Finding(5, name, "is running but does not answer its health check", evidence + tuple(lines[-5:]),
                            f"stackctl logs {name}")]


# What an nginx (or another proxy) writes to its error log about the upstream that failed it.
UPSTREAM_ADDRESS = re.compile(r'upstream: "[a-z]+://\[?([0-9a-fA-F.:]+?)\]?:(\d+)')
UPSTREAM_NAME = re.compile(r'host not found in upstream "([A-Za-z0-9_.-]+)|([A-Za-z0-9_.-]+) could not be resolved')


def _published_http(stack: Stack, containers, engine) -> list[tuple[str, object]]:
    """(service, endpoint) for `/` and each declared check on every port a running service
    publishes (data services aside): what users hit."""
    from stackctl.health.service import Endpoint, check_endpoints, connect_host

    found = []
    for name in stack.model.names():
        spec, info = stack.model.services[name], containers.get(name)
        if info is None or info.state != "running" or spec.oneshot or (spec.probe or "").split(":")[0] in kinds.KNOWN:
            continue
        declared = {(e.host, e.port, e.path): e for e in check_endpoints(spec, info, engine)
                    if e.kind in ("http", "https")}
        for published in info.ports:
            host = connect_host(published.host_ip, engine.remote)
            if host is None or not published.container_port.endswith("/tcp"):
                continue
            kind = "https" if published.container_port.startswith("443/") else "http"
            # `/` with no path asked of it: any answer below 500 shows it serves (a 404 does too)
            declared.setdefault((host, published.host_port, ""), Endpoint(name, kind, host, published.host_port, ""))
        found += [(name, e) for _, e in sorted(declared.items(), key=lambda kv: (kv[0][1], kv[0][2]))]
    return found


LOG_SETTLE_SECONDS = 1.0  # how long a container's stderr line may take to reach `docker logs`


def _upstream_of(stack: Stack, containers, proxy_id: str,
                 settle: float = LOG_SETTLE_SECONDS) -> tuple[str | None, str | None]:
    """(the service the proxy's own error log says failed it, that log line). The proxy writes
    the line as it answers the 5xx; the engine's log driver makes it readable a moment later, so
    it is looked for until `settle` seconds have passed."""
    deadline = time.monotonic() + settle
    while True:
        found = _upstream_in(stack, containers, stack.engine.logs_tail(proxy_id, 200).splitlines())
        if found[1] is not None or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def _upstream_in(stack: Stack, containers, lines: list[str]) -> tuple[str | None, str | None]:
    # an upstream is logged by its address, or by the name the proxy asked for: a service or a
    # container (a stopped container keeps its name, not its address: named by the project's pattern)
    known = {ip: name for name, info in containers.items() for ip in info.ips}
    known.update({info.name: name for name, info in containers.items()})
    known.update({f"{stack.name}-{name}-1": name for name in stack.model.services})
    known.update({name: name for name in stack.model.services})
    for line in reversed(lines):
        address = UPSTREAM_ADDRESS.search(line)
        named = UPSTREAM_NAME.search(line)
        said = address.group(1) if address else (named.group(1) or named.group(2)) if named else None
        if said:
            return known.get(said), line.strip()[:300]
    return None, None


def _answers(stack: Stack, containers, findings: list[Finding], engine,
             answered: list[str]) -> list[Finding]:
    """Every published HTTP port, asked: a 5xx is followed through the answering service's own
    error log to the upstream that failed it, and that service is named (not a guess)."""
    from stackctl.health.gate import State

    found, by_subject = [], {f.subject: f for f in findings}
    for name, endpoint in _published_http(stack, containers, engine):
        seen = endpoint.probe()
        if seen.state is State.READY:
            answered.append(f"{endpoint.url}: {seen.detail.split(' from ')[0]}")
            continue
        code = re.match(r"HTTP (5\d\d) ", seen.detail or "")
        if not code:
            found.append(Finding(6, name, f"does not answer on {endpoint.url}", (seen.detail.splitlines()[0],),
                                 f"stackctl logs {name}"))
            continue
        upstream, line = _upstream_of(stack, containers, containers[name].id)
        said = (line,) if line else (re.sub(r":\s*<.*$", "", seen.detail.splitlines()[0]),)
        if upstream and upstream in by_subject:
            cause, fix = f"because {upstream} {by_subject[upstream].what}", f"see the {upstream} finding"
        elif upstream:
            cause, fix = f"{upstream} behind it does not answer it (its error log)", f"stackctl logs {upstream}"
        elif line:  # an address no running container of the stack has now (one that stopped keeps none)
            cause, fix = ("its error log names an upstream no running container has (one that stopped?)",
                          "stackctl status")
        else:
            cause, fix = "its own error log names no upstream: the fault is in it", f"stackctl logs {name}"
        found.append(Finding(7, name, f"answers {code.group(1)} on {endpoint.url}: {cause}", said, fix))
    return found


def _unproven(stack: Stack, containers, engine) -> list[Finding]:
    """Services that run with nothing to show they serve: said, so "no problem found" is never a guess."""
    from stackctl.health.gate import NO_EVIDENCE
    from stackctl.health.service import ready_now

    running = [n for n in stack.model.names() if n in containers and containers[n].state == "running"
               and not stack.model.services[n].oneshot]
    return [Finding(9, name, f"runs, and nothing shows it serves ({seen.detail})", (),
                    "give it a healthcheck in the compose file, or name the port it serves on (apps.NAME.port in "
                    "stackctl.yaml, or expose: in compose)")
            for name, seen in ready_now(stack.model, engine, containers, running).items()
            if seen.state.value == "ready" and seen.evidence == NO_EVIDENCE]


def _tls(stack: Stack, now: datetime) -> list[Finding]:
    from stackctl import tls

    if not stack.project.production or not tls.wanted(stack):
        return []
    problems = tls.problems(stack.project, stack.settings, now)
    if problems:
        return [Finding(2, "tls", "; ".join(problems), (), "install a valid pair at STACKCTL_TLS_CERT_FILE / "
                        "STACKCTL_TLS_KEY_FILE (testing: stackctl --env production certs self-signed --force)")]
    expires = tls.expiry(stack.project, stack.settings)
    if expires is not None and expires - now <= CERT_WARNING:
        return [Finding(8, "tls", f"the certificate expires on {expires:%Y-%m-%d} ({(expires - now).days} days)", (),
                        "renew it before then, then stackctl restart the proxy")]
    return []


def _backup_disk(stack: Stack) -> list[Finding]:
    """The disk the backups go to, filled past STACKCTL_ALERT_DISK_PERCENT (the next backup fails)."""
    from stackctl.backup.sets import backup_path
    from stackctl.watch import disk_use

    folder = backup_path(stack)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    used, free_mib = disk_use(folder)
    if used < stack.settings.alert_disk_percent:
        return []
    return [Finding(8, "disk", f"the disk holding the backups ({folder}) is {used:.0f}% full "
                               f"({free_mib} MiB free): the next backup may not fit", (),
                    "remove old sets (STACKCTL_BACKUP_KEEP_COUNT, STACKCTL_BACKUP_KEEP_DAYS) or point "
                    "STACKCTL_BACKUP_DIR at a larger disk")]


def diagnose(stack: Stack, now: datetime | None = None) -> Diagnosis:
    from stackctl.preflight import check_disk, check_ports
    from stackctl.engine import remote_hostname

    now = now or datetime.now(timezone.utc)
    try:
        name = stack.name
    except StackError as exc:
        return Diagnosis("?", (Finding(1, "compose", exc.message, tuple((exc.details or "").splitlines()[-5:]),
                                       exc.hint or "docker compose config"),))
    try:
        engine = stack.engine
    except StackError as exc:
        return Diagnosis(name, (Finding(0, "engine", "the Docker engine does not answer", (exc.message,),
                                        exc.hint or "sudo systemctl start docker"),))
    findings = _tls(stack, now)
    containers = stack.containers()
    for service in stack.model.names():
        findings += _service(stack, service, containers.get(service), engine)
    waiting = {s for s in stack.model.names() if s not in containers or containers[s].state != "running"}
    for check in check_ports(stack, engine):
        service = check.detail.split(" publishes ")[0]
        if not check.ok and service in waiting:
            findings.append(Finding(2, service, f"cannot start: {check.detail}", (), check.fix))
    answered: list[str] = []
    findings += _answers(stack, containers, findings, engine, answered)
    findings += _unproven(stack, containers, engine)
    disk = check_disk(stack.settings, engine, remote_hostname(stack.project.host))
    if not disk.ok:
        findings.append(Finding(8, "disk", disk.detail, (), disk.fix))
    findings += _backup_disk(stack)
    services = [n for n in stack.model.names() if not any(f.subject == n for f in findings)]
    return Diagnosis(name, tuple(sorted(findings, key=lambda f: f.rank)),
                     (f"{len(services)} services as they should be ({', '.join(services)})", *answered))
