"""`logs`, `restart` and `down`: the stack's day-to-day operations."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Iterator

from stackctl.errors import EXIT_FAILED, EXIT_USAGE, ConfigError, StackError
from stackctl.health.gate import wait_ready
from stackctl.health.service import LOOK_WITHIN, observer
from stackctl.plan import check_known, start_order
from stackctl.service_state import ServiceState
from stackctl.stack import Stack
from stackctl.report import Reporter
from stackctl.results import Changed
from stackctl.health.diagnose import LOG_LINES, failure_details
from stackctl.service_state import ServiceOutcome


@dataclass(frozen=True)
class LogLines:
    lines: tuple[str, ...]

    def to_dict(self) -> dict:
        return {"lines": list(self.lines)}


@dataclass(frozen=True)
class Restarted:
    services: tuple[ServiceOutcome, ...]

    def to_dict(self) -> dict:
        return {"services": [s.to_dict() for s in self.services]}


@dataclass(frozen=True)
class Down:
    stack: str
    volumes_deleted: bool

    def to_dict(self) -> dict:
        return {"stack": self.stack, "volumes_deleted": self.volumes_deleted}


def validate_services(stack: Stack, services: list[str]) -> list[str]:
    return check_known(stack.model, services)


def logs(stack: Stack, services: list[str], *, follow: bool, tail: int | None, since: str | None,
         timestamps: bool = False, until: str | None = None) -> Iterator[str]:
    validate_services(stack, services)
    if tail is not None and tail < 0:
        raise ConfigError(f"--tail must be 0 or more, not {tail}", "e.g. stackctl logs --tail 100")
    stack.engine  # noqa: B018  (no engine: stackctl's one line, before compose prints its own)
    return stack.compose.logs(services, follow=follow, tail=None if tail is None else str(tail),
                              since=since, timestamps=timestamps, until=until)


def restart(stack: Stack, services: list[str], *, timeout: float | None, report: Reporter,
            cancel: threading.Event | None = None) -> Restarted:
    """`stackctl restart` under the stack's lock: one command at a time changes a stack."""
    with stack.locked("restart"):
        return Restarted(tuple(_restart(stack, services, timeout=timeout, report=report, cancel=cancel)))


def _restart(stack: Stack, services: list[str], *, timeout: float | None, report: Reporter,
            cancel: threading.Event | None = None) -> list[ServiceOutcome]:
    """Restart running services one at a time in dependency order, each gated on health."""
    cancel = cancel or threading.Event()
    validate_services(stack, services)
    model = stack.model
    names = start_order(model, services or [n for n in model.services if not model.services[n].oneshot])
    containers = stack.containers()
    missing = [n for n in names if n not in containers]
    if missing:
        raise StackError(f"no container for {', '.join(missing)}", "start the stack first: stackctl up", EXIT_USAGE)
    outcomes = []
    for name in names:
        spec, info = model.services[name], containers[name]
        report.service(name, "restarting")
        stack.engine.restart(info.id)  # files compose injected (secrets) persist across restarts
        result = wait_ready(observer(spec, stack.engine, info.id, within=LOOK_WITHIN),
                            timeout or stack.settings.health_timeout, cancel=cancel,
                            on_observation=lambda o, t, n=name: report.service(n, "starting", o.detail, t))
        if cancel.is_set():
            raise KeyboardInterrupt
        if not result.ok:
            report.service(name, result.outcome.value, result.detail, result.elapsed)
            raise StackError(f"{name} did not become healthy after restart ({result.elapsed:.1f}s): {result.detail}",
                             f"troubleshoot with: stackctl logs {name}", EXIT_FAILED,
                             details=failure_details(stack, name, info.id))
        report.service(name, str(ServiceState.DONE if spec.oneshot else ServiceState.READY), result.detail, result.elapsed)
        outcomes.append(ServiceOutcome(name, "restart", "ready", result.elapsed, result.detail))
    return outcomes


def down(stack: Stack, *, volumes: bool) -> Down:
    """`stackctl down` under the stack's lock: one command at a time changes a stack."""
    with stack.locked("down"):
        _down(stack, volumes=volumes)
    return Down(stack.name, volumes)


def _down(stack: Stack, *, volumes: bool) -> None:
    stack.compose.down(volumes=volumes)


def stop(stack: Stack, services: list[str]) -> Changed:
    """Stop services (all by default), dependents first; their containers and data stay."""
    validate_services(stack, services)
    names = list(reversed(start_order(stack.model, services or stack.model.names())))
    with stack.locked("stop"):
        stack.compose.stop(names)
    return Changed("stopped", tuple(names))


def start(stack: Stack, services: list[str], *, timeout: float | None, report: Reporter) -> Changed:
    """Start stopped services through `up` (dependencies first, each gated on health): nothing is
    built and migrations are not run again (`up` does both)."""
    from stackctl.up import up

    validate_services(stack, services)
    result = up(stack, services or None, build="never", timeout=timeout, report=report, check=False,
                run_oneshots=False)
    return Changed("started", tuple(s.service for s in result.services))


def pull(stack: Stack, services: list[str]) -> Changed:
    """Pull the images of the services stackctl does not build (all by default)."""
    validate_services(stack, services)
    names = [n for n in (services or stack.model.names()) if not stack.model.services[n].build]
    if names:
        stack.compose.pull(names)
    return Changed("pulled", tuple(names))


__all__ = ["logs", "restart", "down", "validate_services", "LOG_LINES", "LogLines", "Restarted", "Down", "Changed", "stop",
           "start", "pull"]
