"""`stackctl watch`: the monitoring flow, unattended. Every interval it looks at each service's
health (stackctl's own probes), and every resource interval at memory and disk; it posts one
alert when something goes wrong and one when it recovers, never a flood: an incident is open
from its first alert to its recovery, and nothing is said about it in between.

Where alerts go: a webhook (STACKCTL_ALERT_WEBHOOK, Slack-compatible `{"text": ...}` JSON) and/or
email (STACKCTL_ALERT_SMTP=smtps://user@host:port or smtp+starttls://..., STACKCTL_ALERT_EMAIL_TO,
the password in STACKCTL_ALERT_SMTP_PASSWORD: never in argv or a URL). Each alert waits in an
outbox until it is delivered (stackctl.alerts).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from stackctl import alerts
from stackctl.report import SILENT, Reporter
from stackctl.stack import Stack


@dataclass(frozen=True)
class Problem:
    key: str  # what the incident is about: "service api", "memory db", "disk", "backup"
    text: str


@dataclass
class Incidents:
    """Open incidents by key: an alert opens one, a recovery closes it; repeats say nothing."""

    open: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"open": [{"about": key, "what": text} for key, text in self.open.items()]}

    @classmethod
    def load(cls, path: Path) -> Incidents:
        """The incidents open when the last watch (or the last `--once`) stopped looking."""
        import json

        try:
            return cls(dict(json.loads(path.read_text())["open"]))
        except (OSError, ValueError, KeyError, TypeError):
            return cls()

    def save(self, path: Path) -> None:
        import json

        from stackctl.statefiles import write_private

        write_private(path, json.dumps({"open": self.open}, indent=2))

    def update(self, problems: list[Problem], scope: str) -> list[tuple[str, str]]:
        """(kind, text) to send: "down" for each new problem, "recovered" for each one gone
        among the keys this look covered (`scope` is a key prefix: health looks do not close
        resource incidents)."""
        messages = []
        now = {p.key: p.text for p in problems}
        for key, text in now.items():
            if key not in self.open:
                self.open[key] = text
                messages.append(("down", text))
        for key in [k for k in self.open if k.startswith(scope) and k not in now]:
            messages.append(("recovered", f"{key} recovered (was: {self.open.pop(key)})"))
        return messages


def health_problems(stack: Stack) -> list[Problem]:
    from stackctl.status import status

    report = status(stack, stats=False)
    # down or broken, not merely running without evidence (that is said by status, never alerted)
    found = [Problem(f"service {s.name}", f"{s.name} is {s.state}") for s in report.services if s.state.failing]
    failing = {s.name for s in report.services if s.state.failing}
    found += [Problem(f"service {e.name}", f"{e.name} fails its check at {e.url}: {e.detail}")
              for e in report.endpoints if not e.ok and e.name.split(" ")[0] not in failing]
    return found


def resource_problems(stack: Stack, memory_percent: int, disk_percent: int) -> list[Problem]:
    from stackctl import stats

    found = []
    containers = stack.containers()
    running = {n: (c.id, c.pid) for n, c in containers.items() if c.state == "running"}
    for name, usage in stats.sample(stack.engine, running).items():
        if usage.memory_bytes and usage.memory_limit_bytes and usage.memory_limit_bytes < (1 << 50):
            used = 100 * usage.memory_bytes / usage.memory_limit_bytes
            if used >= memory_percent:
                found.append(Problem(f"resource memory {name}", f"{name} uses {used:.0f}% of its memory limit"))
    used, _ = disk_use(stack.project.root)
    if used >= disk_percent:
        found.append(Problem("resource disk", f"the disk holding {stack.project.root} is {used:.0f}% full"))
    return found


def disk_use(path: Path) -> tuple[float, int]:
    """How full the disk holding `path` is: percent used, MiB free."""
    import shutil

    disk = shutil.disk_usage(path)
    return 100 * (disk.total - disk.free) / disk.total, disk.free // (1024 * 1024)


# "$request" $status in nginx's combined and main formats: "GET /api/stops HTTP/1.1" 502 157
STATUS = re.compile(r'"[A-Z]+ [^"]*" ([1-5][0-9][0-9]) ')


def traffic_problems(stack: Stack, since: float, percent: int, minimum: int) -> list[Problem]:
    """5xx answered through the proxy since a time (its access log): a problem when they are at
    least `minimum` and `percent`% of its requests. A proxy that is down is the health look's."""
    proxy = stack.model.one("proxy")
    info = stack.containers().get(proxy) if proxy else None
    if info is None or info.state != "running":
        return []
    codes = STATUS.findall(stack.engine.access_log(info.id, since))
    errors = sum(code.startswith("5") for code in codes)
    if errors >= minimum and 100 * errors >= percent * len(codes):
        return [Problem(f"traffic 5xx {proxy}", f"{errors} of {len(codes)} requests through {proxy} were answered "
                                                f"with a 5xx in the last {time.time() - since:.0f} s")]
    return []


def backup_problems(stack: Stack, now: datetime) -> list[Problem]:
    """A daily schedule is installed but no set is younger than 26 hours: a scheduled backup failed."""
    from stackctl.backup import sets
    from stackctl.backup.sets import backup_path

    from stackctl.backup.schedule import installed

    if not installed(stack.name):
        return []
    newest = next(iter(sets.list_sets(backup_path(stack))), None)
    if newest is None or (now - newest.created_at).total_seconds() > 26 * 3600:
        return [Problem("backup", f"no backup of {stack.name} in the last 26 hours: the scheduled one failed "
                                  f"(see {stack.project.state_dir / 'backup.log'})")]
    return []


def watch(stack: Stack, *, interval: float, resource_interval: float, rounds: int | None = None,
          report: Reporter = SILENT, clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> Incidents:
    """Look, alert, sleep; `rounds` bounds it (tests), else it runs until stopped."""
    s = stack.settings
    state = stack.project.state_dir / f"incidents-{stack.name}-{stack.project.env}.json"
    incidents = Incidents.load(state)  # a restarted watch, or the next --once, does not alert again
    outbox = alerts.Outbox.load(stack.project.state_dir / f"outbox-{stack.name}-{stack.project.env}.json")
    next_resources = clock()
    traffic_since = time.time() - resource_interval  # the first look covers one window already past
    done = 0
    while rounds is None or done < rounds:
        messages = incidents.update(health_problems(stack), "service")
        if clock() >= next_resources:
            now = datetime.now(timezone.utc)
            messages += incidents.update(resource_problems(stack, s.alert_memory_percent, s.alert_disk_percent),
                                         "resource")
            messages += incidents.update(backup_problems(stack, now), "backup")
            messages += incidents.update(traffic_problems(stack, traffic_since, s.alert_5xx_percent, s.alert_5xx_min),
                                         "traffic")
            traffic_since = time.time()
            next_resources = clock() + resource_interval
        for kind, text in messages:
            report.note(f"{kind}: {text}")
            outbox.add(stack.name, kind, text, alerts.destinations(s))
        if messages:  # the alerts are in the outbox before the incidents say they were raised
            outbox.save()
            incidents.save(state)
        for line in alerts.deliver(outbox, stack.name, s, note=report.note):
            report.note(f"delivered to {line}")
        done += 1
        if rounds is None or done < rounds:
            sleep(interval)
    return incidents
