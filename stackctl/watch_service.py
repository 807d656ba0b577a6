"""`stackctl monitor --install`: the monitoring flow left running with no unit written by hand.

Where systemd runs, a service that runs `stackctl monitor` and is restarted if it stops; else a
file in /etc/cron.d running `stackctl monitor --once` every minute. (Before the command was
`monitor` it was `watch`: a unit or cron file of that name is replaced by install, removed by
uninstall.) Either way the open incidents
are kept in .stackctl/ between looks, so a restart or the next cron run never alerts twice for
one incident. Rendering is pure; installing takes a root directory so tests can use a scratch tree.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from stackctl import units
from stackctl.backup.schedule import project_args, scheduler
from stackctl.results import ScheduleChange


@dataclass(frozen=True)
class WatchService:
    stack: str
    project_dir: Path
    env: str
    project: tuple[str, ...] = ()  # how the project was named: -f FILE..., -p NAME, --profile P...

    @property
    def unit(self) -> str:
        return f"stackctl-monitor-{self.stack}"

    @property
    def old_unit(self) -> str:
        return f"stackctl-watch-{self.stack}"

    @property
    def log(self) -> Path:
        return self.project_dir / ".stackctl" / "monitor.log"

    def command(self, executable: str | None = None, once: bool = False) -> list[str]:
        exe = executable or str(Path(sys.argv[0]).resolve())
        return [exe, "--project-directory", str(self.project_dir), *self.project, "--env", self.env, "monitor",
                *(["--once"] if once else [])]


def render_systemd(service: WatchService, executable: str | None = None) -> str:
    return (f"[Unit]\nDescription=stackctl monitor of stack {service.stack}\n"
            f"After=docker.service\nWants=docker.service\n\n"
            + units.service_section(service.project_dir, service.command(executable), "Restart=always",
                                    "RestartSec=10")
            + "\n[Install]\nWantedBy=multi-user.target\n")


def render_cron(service: WatchService, executable: str | None = None) -> str:
    return (f"# Monitoring of stack {service.stack}: managed by `stackctl monitor --install`; do not edit.\n"
            f"SHELL=/bin/sh\n"
            f"* * * * * root {units.cron_command(service.command(executable, once=True), service.log)}\n")


def install(service: WatchService, root: Path = Path("/"), executable: str | None = None,
            activate: bool = True) -> list[Path]:
    units.only_root_can_change(executable or service.command()[0])
    _remove(service.old_unit, root, activate)  # one monitor per stack, whatever it was called
    if scheduler(root) == "systemd":
        path = root / "etc/systemd/system" / f"{service.unit}.service"
        path.write_text(render_systemd(service, executable))
        if activate:
            subprocess.run(["systemctl", "daemon-reload"], check=True)
            subprocess.run(["systemctl", "enable", "--now", path.name], check=True)
        return [path]
    path = root / "etc/cron.d" / service.unit
    path.write_text(render_cron(service, executable))
    path.chmod(0o644)
    return [path]


def remove(service: WatchService, root: Path = Path("/"), activate: bool = True) -> list[Path]:
    return _remove(service.unit, root, activate) + _remove(service.old_unit, root, activate)


def _remove(name: str, root: Path, activate: bool) -> list[Path]:
    unit = root / "etc/systemd/system" / f"{name}.service"
    if unit.exists() and activate:
        subprocess.run(["systemctl", "disable", "--now", unit.name], check=False)
    removed = []
    for path in (root / "etc/cron.d" / name, unit):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def change(stack, remove_it: bool, root: Path = Path("/")) -> ScheduleChange:
    """`stackctl monitor --install | --uninstall` for this stack, named as it was named."""
    p = stack.project
    service = WatchService(stack.name, p.root, p.env, project_args(p))
    if remove_it:
        return ScheduleChange(False, None, tuple(remove(service, root)))
    return ScheduleChange(True, None, tuple(install(service, root)))
