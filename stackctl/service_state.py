"""What a service is now, in one vocabulary: the words `up`'s plan decides on, `status` reports
and the progress display shows. Classified here only, from the container and a readiness verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from stackctl.containers import ContainerInfo


class ServiceState(str, Enum):
    ABSENT = "absent"  # no container
    CREATED = "created"  # a container that never ran
    STARTING = "starting"  # running, not ready yet
    READY = "ready"  # running and ready: its probe answers (or its healthcheck passes, or it has neither)
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


def classify(oneshot: bool, info: ContainerInfo | None, ready: bool | None = None) -> ServiceState:
    """`ready`: stackctl's own probe verdict for a running container (None: it has no probe, the
    engine's healthcheck decides, and a container with neither is ready once running)."""
    if info is None:
        return ServiceState.ABSENT
    if info.state == "exited" and oneshot:
        return ServiceState.DONE if info.exit_code == 0 else ServiceState.FAILED
    if info.state == "running":
        if ready is None:
            ready = {"healthy": True, "unhealthy": False, "starting": None}.get(info.health or "", True)
            if ready is None:
                return ServiceState.STARTING
        if ready:
            return ServiceState.READY
        return ServiceState.UNHEALTHY if not oneshot else ServiceState.STARTING
    return {"created": ServiceState.CREATED, "exited": ServiceState.STOPPED, "dead": ServiceState.FAILED,
            "restarting": ServiceState.RESTARTING, "paused": ServiceState.PAUSED}.get(info.state, ServiceState.FAILED)


@dataclass(frozen=True)
class ServiceOutcome:
    service: str
    action: str
    outcome: str  # ready | kept | failed | timeout | skipped | cancelled
    elapsed: float = 0.0
    detail: str = ""

    def to_dict(self) -> dict:
        return {"name": self.service, "action": self.action, "outcome": self.outcome,
                "seconds": round(self.elapsed, 2)}
