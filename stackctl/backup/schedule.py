"""`stackctl backup schedule`: a daily backup with no cron line written by hand.

Where systemd runs, a service + timer (Persistent=true: a run missed while the machine was
off happens at boot); otherwise a file in /etc/cron.d. Rendering is pure; installing takes
a root directory so tests can install into a scratch tree.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from stackctl import units
from stackctl.errors import EXIT_USAGE, StackError
from stackctl.results import ScheduleChange


@dataclass(frozen=True)
class Schedule:
    stack: str
    project_dir: Path
    env: str
    at: str  # HH:MM, local time
    project: tuple[str, ...] = ()  # how the project was named: -f FILE..., -p NAME, --profile P...

    @property
    def unit(self) -> str:
        return f"stackctl-backup-{self.stack}"

    def command(self, executable: str | None = None) -> list[str]:
        exe = executable or str(Path(sys.argv[0]).resolve())
        return [exe, "--project-directory", str(self.project_dir), *self.project, "--env", self.env, "--quiet", "backup",
                "--kind", "scheduled"]

    def hour_minute(self) -> tuple[int, int]:
        hour, minute = (int(x) for x in self.at.split(":"))
        return hour, minute


def project_args(project) -> tuple[str, ...]:
    """The global options that name this project as it was named (-f, -p, --profile, --prod-file),
    for a command run later by systemd or cron."""
    return (*(a for f in project.files for a in ("-f", str(f))), *(("-p", project.name) if project.name else ()),
            *(a for profile in project.profiles for a in ("--profile", profile)),
            *(("--prod-file", str(project.overlay)) if project.overlay else ()))


def next_run(at: str, now: datetime) -> datetime:
    hour, minute = (int(x) for x in at.split(":"))
    candidate = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return candidate if candidate > now else candidate + timedelta(days=1)


def render_cron(schedule: Schedule, executable: str | None = None) -> str:
    hour, minute = schedule.hour_minute()
    log = schedule.project_dir / ".stackctl" / "backup.log"
    return (f"# Daily backup of stack {schedule.stack}: managed by `stackctl backup schedule`; do not edit.\n"
            f"SHELL=/bin/sh\n"
            f"{minute} {hour} * * * root {units.cron_command(schedule.command(executable), log)}\n")


def render_systemd(schedule: Schedule, executable: str | None = None) -> tuple[str, str]:
    hour, minute = schedule.hour_minute()
    service = (f"[Unit]\nDescription=stackctl backup of stack {schedule.stack}\n"
               f"After=docker.service\nWants=docker.service\n\n"
               + units.service_section(schedule.project_dir, schedule.command(executable), "Type=oneshot"))
    timer = (f"[Unit]\nDescription=Daily stackctl backup of stack {schedule.stack}\n\n"
             f"[Timer]\nOnCalendar=*-*-* {hour:02d}:{minute:02d}:00\nPersistent=true\n\n"
             f"[Install]\nWantedBy=timers.target\n")
    return service, timer


def scheduler(root: Path = Path("/")) -> str:
    if (root / "run/systemd/system").is_dir():
        return "systemd"
    if (root / "etc/cron.d").is_dir():
        return "cron"
    raise StackError("neither systemd nor cron is available to run scheduled backups",
                     "install cron (apt-get install cron) and run this again", EXIT_USAGE)


def install(schedule: Schedule, root: Path = Path("/"), executable: str | None = None,
            activate: bool = True) -> list[Path]:
    units.only_root_can_change(executable or schedule.command()[0])
    kind = scheduler(root)
    if kind == "systemd":
        service, timer = render_systemd(schedule, executable)
        base = root / "etc/systemd/system"
        paths = [base / f"{schedule.unit}.service", base / f"{schedule.unit}.timer"]
        for path, text in zip(paths, (service, timer)):
            path.write_text(text)
        if activate:
            subprocess.run(["systemctl", "daemon-reload"], check=True)
            subprocess.run(["systemctl", "enable", "--now", f"{schedule.unit}.timer"], check=True)
        return paths
    path = root / "etc/cron.d" / schedule.unit
    path.write_text(render_cron(schedule, executable))
    path.chmod(0o644)
    return [path]


def installed(stack: str, root: Path = Path("/")) -> bool:
    """Whether a daily backup of this stack is scheduled (a timer or a cron file)."""
    unit = Schedule(stack, Path(), "", "00:00").unit
    return (root / "etc/systemd/system" / f"{unit}.timer").exists() or (root / "etc/cron.d" / unit).exists()


def remove(schedule: Schedule, root: Path = Path("/"), activate: bool = True) -> list[Path]:
    removed = []
    timer = root / "etc/systemd/system" / f"{schedule.unit}.timer"
    if timer.exists() and activate:
        subprocess.run(["systemctl", "disable", "--now", timer.name], check=False)
    for path in (root / "etc/cron.d" / schedule.unit, timer,
                 root / "etc/systemd/system" / f"{schedule.unit}.service"):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def change(stack, at: str | None, remove_it: bool) -> ScheduleChange:
    """`stackctl backup schedule [--at HH:MM] [--remove]` for this stack, named as it was named."""
    import re

    when = at or stack.settings.backup_schedule_at
    if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", when):
        raise StackError(f"--at {when!r} is not a time of day", "use HH:MM, e.g. --at 03:15", EXIT_USAGE)
    p = stack.project
    plan = Schedule(stack.name, p.root, p.env, when, project_args(p))
    if remove_it:
        return ScheduleChange(False, None, tuple(remove(plan)))
    return ScheduleChange(True, when, tuple(install(plan)), next_run(when, datetime.now()))
