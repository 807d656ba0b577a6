"""`stackctl doctor`: the troubleshooting flow, run for you. Each finding says what is wrong, the
evidence (log lines, the failing probe, who holds a port) and the command that fixes it; the
most likely cause comes first (an engine that does not answer before a service that cannot
start, a database that refuses the app's password before the proxy's 502 it causes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone

from stackctl.errors import StackError
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

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict:
        return {"stack": self.stack, "ok": self.ok, "findings": [f.to_dict() for f in self.findings]}


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


def _proxy(stack: Stack, containers, findings: list[Finding], engine) -> list[Finding]:
    """What users see through the proxy: a 502/504 names the app behind it, when that app has a finding."""
    from stackctl.health.service import check_endpoints

    proxy = stack.model.one("proxy")
    info = containers.get(proxy) if proxy else None
    if info is None or info.state != "running":
        return []
    upstream = stack.model.upstream
    behind = next((f for f in findings if f.subject == upstream), None)
    found = []
    endpoints = check_endpoints(stack.model.services[proxy], info, engine)
    for endpoint in endpoints[1:] or endpoints[:1]:  # the paths through to the app, else its health
        result = endpoint.probe()
        code = re.match(r"HTTP (50[234]) ", result.detail or "")
        if code:
            cause = (f"because {upstream} {behind.what}" if behind else
                     "the app behind it is down or too slow to answer")
            found.append(Finding(7, proxy, f"answers {code.group(1)} on {endpoint.url}: {cause}",
                                 (re.sub(r":\s*<.*$", "", result.detail.splitlines()[0]),),
                                 f"see the {upstream} finding" if behind else
                                 f"stackctl logs {upstream or proxy}"))
    return found


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
    from stackctl.backup.create import backup_path
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
    findings += _proxy(stack, containers, findings, engine)
    disk = check_disk(stack.settings, engine, remote_hostname(stack.project.host))
    if not disk.ok:
        findings.append(Finding(8, "disk", disk.detail, (), disk.fix))
    findings += _backup_disk(stack)
    return Diagnosis(name, tuple(sorted(findings, key=lambda f: f.rank)))
