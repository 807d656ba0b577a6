"""What swarm says about one service, read as the gate's three states (pure: the service and its
tasks as the engine returns them).

A task with a healthcheck turns `running` only once its container is healthy (swarm waits for
it), so `running` tasks of the current spec, as many as the service wants, mean ready. An update
swarm rolled back, or a job task that failed, is failed: waiting longer will not help.
"""

from __future__ import annotations

from dataclasses import dataclass

from stackctl.health.gate import Observation

FAILED_UPDATE = ("rollback_started", "rollback_completed", "rollback_paused", "paused")
FAILED_TASK = ("failed", "rejected")


@dataclass(frozen=True)
class Before:
    """What the service looked like before this deploy (None: it did not exist)."""
    update_started: str | None = None
    job_iteration: int | None = None
    existed: bool = False


def before(service: dict | None) -> Before:
    if service is None:
        return Before()
    return Before((service.get("UpdateStatus") or {}).get("StartedAt"), iteration(service), existed=True)


def rolled_back(service: dict | None, was: Before) -> Observation:
    """After stackctl asked swarm to roll a service back: ready once swarm says it has."""
    update = (service or {}).get("UpdateStatus") or {}
    if update.get("StartedAt") != was.update_started and update.get("State") == "rollback_completed":
        return Observation.ready("rolled back")
    return Observation.pending(update.get("State") or "asking swarm to roll back")


def observe(service: dict | None, tasks: list[dict], was: Before) -> Observation:
    if service is None:
        return Observation.pending("not created yet")
    mode = service["Spec"].get("Mode") or {}
    if "ReplicatedJob" in mode:
        return _job(service, tasks, was)
    return _replicated(service, tasks, was)


def _replicated(service: dict, tasks: list[dict], was: Before) -> Observation:
    wanted = (service["Spec"]["Mode"].get("Replicated") or {}).get("Replicas", 1)
    update = service.get("UpdateStatus") or {}
    fresh_update = update.get("StartedAt") and update.get("StartedAt") != was.update_started
    if fresh_update and update.get("State") in FAILED_UPDATE:
        return Observation.failed(f"swarm rolled the update back: {update.get('Message') or update.get('State')}"
                                  f"{_last_error(tasks)}")
    current = _current(service, tasks)
    running = [t for t in current if t["Status"]["State"] == "running" and t.get("DesiredState") == "running"]
    detail = f"{len(running)}/{wanted} running{_last_error(current)}"
    if fresh_update and update.get("State") == "updating":
        return Observation.pending(f"updating: {detail}")
    if len(running) >= wanted:
        return Observation.ready(f"{len(running)}/{wanted} running")
    return Observation.pending(detail)


STOPPED_TASK = ("complete", "shutdown", "failed", "rejected", "orphaned", "remove")


def scaled_to_zero(service: dict | None, tasks: list[dict]) -> Observation:
    """After a scale to 0: done once no task of the service is running or on its way."""
    if service is None:
        return Observation.ready("removed")
    live = [t for t in tasks if t["Status"]["State"] not in STOPPED_TASK]
    return Observation.pending(f"{len(live)} task(s) stopping") if live else Observation.ready("stopped")


def _job(service: dict, tasks: list[dict], was: Before) -> Observation:
    if was.job_iteration is not None and iteration(service) == was.job_iteration:
        return Observation.pending("waiting for swarm to run it")
    mine = this_iteration(service, tasks)
    if any(t["Status"]["State"] == "complete" for t in mine):
        return Observation.ready("completed")
    failed = [t for t in mine if t["Status"]["State"] in FAILED_TASK]
    if failed:
        return Observation.failed(f"failed: {failed[-1]['Status'].get('Err') or failed[-1]['Status']['State']}")
    states = sorted({t["Status"]["State"] for t in mine})
    return Observation.pending(", ".join(states) or "waiting for a task")


def _current(service: dict, tasks: list[dict]) -> list[dict]:
    """Tasks of the service's present spec (an update runs old and new side by side)."""
    spec = service["Spec"]["TaskTemplate"].get("ContainerSpec") or {}
    force = service["Spec"]["TaskTemplate"].get("ForceUpdate", 0)
    return [t for t in tasks if (t.get("Spec") or {}).get("ContainerSpec") == spec
            and (t.get("Spec") or {}).get("ForceUpdate", 0) == force]


def iteration(service: dict) -> int | None:
    """A job's current run (swarm counts them); None for a service that is not a job."""
    return ((service.get("JobStatus") or {}).get("JobIteration") or {}).get("Index")


def this_iteration(service: dict, tasks: list[dict]) -> list[dict]:
    """A job's tasks of its current run."""
    current = iteration(service)
    return [t for t in tasks if (t.get("JobIteration") or {}).get("Index") == current]


def last_error(tasks: list[dict]) -> str:
    """What swarm said of the newest task that went wrong, or ""."""
    newest = max((t for t in tasks if t["Status"].get("Err")), key=lambda t: t["Status"].get("Timestamp", ""),
                 default=None)
    return newest["Status"]["Err"] if newest else ""


def _last_error(tasks: list[dict]) -> str:
    error = last_error(tasks)
    return f"; last task: {error}" if error else ""
