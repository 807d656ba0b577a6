"""What a deploy or rollback checks before it says "deployed" or "serves": every long-running
service of the model, with a role or without, runs the image the release names (compared by image
id, container by container), is not restarting, and shows it serves (its evidence, or said to
have none to show); and every endpoint answers, through the proxy too. Nothing is inferred from a
step having run."""

from __future__ import annotations

import time
from dataclasses import dataclass

from stackctl.containers import ContainerInfo
from stackctl.health.gate import NO_EVIDENCE, State, wait_ready
from stackctl.health.service import STAYS_UP, observer, running_endpoints
from stackctl.report import Reporter
from stackctl.stack import Stack

SETTLE = 10.0  # seconds a service that is not ready yet gets before the verdict
CHECK_RETRIES = 5
CHECK_PAUSE = 1.0


@dataclass(frozen=True)
class Verification:
    seen: tuple[tuple[str, str], ...]  # (service, what shows it serves: evidence, or "none")
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def said(self) -> str:
        """What was observed, in one line: `api http /health, worker running (no evidence), ...`."""
        return ", ".join(f"{name} {evidence}" if evidence != NO_EVIDENCE else f"{name} running (no evidence)"
                         for name, evidence in self.seen)


def _short(image_id: str | None) -> str:
    return (image_id or "none").removeprefix("sha256:")[:12]


def verify_service(stack: Stack, name: str) -> tuple[str | None, list[str]]:
    """(its evidence, what is wrong with it) for one long-running service."""
    eng, spec = stack.engine, stack.model.services[name]
    wanted = eng.image_id(spec.image)
    containers = eng.service_containers(stack.name, name)
    running = [c for c in containers if c.state == "running"]
    if not running:
        states = ", ".join(sorted({c.state for c in containers})) or "no container"
        return None, [f"{name} is not running ({states})"]
    problems, evidence = [], NO_EVIDENCE
    for container in running:
        if wanted is None or container.image_id != wanted:
            problems.append(f"{name} ({container.name}) runs image {_short(container.image_id)}, the release's is "
                            f"{_short(wanted)} ({spec.image})")
            continue
        seen = wait_ready(observer(spec, eng, container.id, STAYS_UP), SETTLE, max_interval=0.5)
        if not seen.ok:
            problems.append(f"{name} ({container.name}) {seen.outcome.value}: {seen.detail}")
        elif seen.evidence != NO_EVIDENCE:
            evidence = seen.evidence
    return evidence, problems


def _endpoints(stack: Stack, report: Reporter) -> list[str]:
    """Every endpoint (through the proxy too), each tried up to CHECK_RETRIES times; what still fails."""
    failing = []
    for endpoint in running_endpoints(stack.model, stack.containers(), stack.model.names(), stack.engine):
        for attempt in range(1, CHECK_RETRIES + 1):
            seen = endpoint.probe()
            if seen.state is State.READY:
                break
            report.note(f"check {endpoint.url}: {seen.detail} (attempt {attempt}/{CHECK_RETRIES})")
            time.sleep(CHECK_PAUSE)
        else:
            failing.append(f"{endpoint.url}: {seen.detail}")
    return failing


def verify_release(stack: Stack, report: Reporter) -> Verification:
    """The stack (with the release's override layered) as it runs now, every service looked at."""
    seen, problems = [], []
    for name in stack.model.names():
        if stack.model.services[name].oneshot:
            continue
        evidence, wrong = verify_service(stack, name)
        problems += wrong
        if evidence is not None and not wrong:
            seen.append((name, evidence))
    if not problems:
        problems += _endpoints(stack, report)
    return Verification(tuple(seen), tuple(problems))


def running_images(containers: dict[str, ContainerInfo]) -> dict[str, str]:
    """service -> the image id its running container runs (what a record keeps)."""
    return {name: info.image_id for name, info in containers.items() if info.state == "running"}
