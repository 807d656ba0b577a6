"""What a service is now, in one vocabulary: the words `up`'s plan decides on, `status` reports
and the progress display shows. Classified here only, from the container and a readiness verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from stackctl.containers import ContainerInfo
from stackctl.health.gate import Observation, State


class ServiceState(str, Enum):
    ABSENT = "absent"  # no container
    CREATED = "created"  # a container that never ran
    STARTING = "starting"  # running, not ready yet
    READY = "ready"  # running and ready on evidence: its probe answers, its healthcheck passes, or it listens
    RUNNING = "running"  # running, and nothing shows it serves (no probe, no healthcheck, no port): not ready
    UNHEALTHY = "unhealthy"  # running, and its probe or healthcheck says no
    DONE = "done"  # a one-shot that exited 0
    FAILED = "failed"  # a one-shot that exited non-zero, or a container that died
    STOPPED = "stopped"  # a long-running service's container that exited
    RESTARTING = "restarting"
    PAUSED = "paused"

    def __str__(self) -> str:
        return self.value

    @property
    def ok(self) -> bool:
        return self in (ServiceState.READY, ServiceState.DONE)

    @property
    def failing(self) -> bool:
        """Down or broken (not merely unproven, not on its way up)."""
        return self not in (ServiceState.READY, ServiceState.DONE, ServiceState.RUNNING, ServiceState.STARTING)


def classify(oneshot: bool, info: ContainerInfo | None, seen: Observation | None = None) -> ServiceState:
    """`seen`: stackctl's own look at a running container (health.service.observer). None: the
    engine alone decides, by its healthcheck; a running container with none is only running."""
    if info is None:
        return ServiceState.ABSENT
    if info.state == "exited" and oneshot:
        return ServiceState.DONE if info.exit_code == 0 else ServiceState.FAILED
    if info.state == "running":
        if oneshot:
            return ServiceState.STARTING
        if seen is None:
            return {"healthy": ServiceState.READY, "unhealthy": ServiceState.UNHEALTHY,
                    "starting": ServiceState.STARTING}.get(info.health or "", ServiceState.RUNNING)
        if seen.state is State.READY:
            return ServiceState.READY if seen.proven else ServiceState.RUNNING
        return ServiceState.UNHEALTHY
    return {"created": ServiceState.CREATED, "exited": ServiceState.STOPPED, "dead": ServiceState.FAILED,
            "restarting": ServiceState.RESTARTING, "paused": ServiceState.PAUSED}.get(info.state, ServiceState.FAILED)


def evidence_of(info: ContainerInfo | None, seen: Observation | None) -> str:
    """What a state rests on, in the words status and up show: sql, ping, http <path>, healthcheck,
    listening <port>, exited 0, or none."""
    if seen is not None and seen.state is State.READY:
        return seen.evidence
    if info is not None and info.state == "exited" and info.exit_code == 0:
        return "exited 0"
    if seen is None and info is not None and info.health == "healthy":
        return "healthcheck"
    return "none"


@dataclass(frozen=True)
class ServiceOutcome:
    service: str
    action: str
    outcome: str  # ready | running (no evidence) | kept | failed | timeout | skipped | cancelled
    elapsed: float = 0.0
    detail: str = ""
    evidence: str = ""  # what `ready` rests on (health.gate's words); "none" for running
    # Seconds from the command's start: when it began waiting for what it needs, when its start
    # began, when it ended (ready, done or failed). None where it did not get that far.
    timeline: tuple[float | None, float | None, float | None] | None = None

    def to_dict(self) -> dict:
        found = {"name": self.service, "action": self.action, "outcome": self.outcome,
                 "seconds": round(self.elapsed, 2), "evidence": self.evidence or None}
        if self.timeline is not None:
            found["timeline"] = dict(zip(("waiting_from", "starting_from", "ended_at"),
                                         (None if t is None else round(t, 2) for t in self.timeline)))
        return found
