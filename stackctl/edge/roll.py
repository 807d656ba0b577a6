"""A new proxy container put in service behind the edge: a web-image or proxy-configuration deploy
becomes a switch at the edge, with no host port handed over.

The new container starts beside the serving one (compose --scale, --no-recreate: the proxy
publishes no port of its own under the edge), is gated on its own health, and is taken in by the
edge (its DNS name now lists it; the edge's health check passes). Then each old container is
drained at the edge (no new request; the ones it serves finish), stopped gracefully and removed.
A new container that never gets healthy, or that the edge never takes in, is removed: the old one
kept serving throughout.
"""

from __future__ import annotations

import time

from stackctl.deploy.rollout import retire, start_beside
from stackctl.edge import SERVICE, runtime
from stackctl.errors import EXIT_FAILED
from stackctl.health.diagnose import failure_details
from stackctl.health.gate import wait_ready
from stackctl.health.service import LOOK_WITHIN, STAYS_UP, observer
from stackctl.proxy import RolloutFailed
from stackctl.report import Reporter
from stackctl.stack import Stack

STOP_GRACE = 30
TAKEN_IN = 30.0  # seconds the edge has to resolve and check a new proxy container
RELEASED = 10.0  # seconds the edge's DNS has to forget a stopped container (it asks every second)


def edge_running(stack: Stack):
    """The edge's running container, or None."""
    return next(iter(stack.engine.service_containers(stack.name, SERVICE, running_only=True)), None)


def edge_container(stack: Stack):
    found = edge_running(stack)
    if found is None:
        raise RolloutFailed(f"{SERVICE} is not running: the proxy cannot be switched behind it",
                            "stackctl up starts it", EXIT_FAILED)
    return found


def roll_behind_edge(stack: Stack, service: str, *, timeout: float, report: Reporter) -> float:
    """Replace the proxy's containers behind the edge; the gap in seconds (none: 0.0)."""
    eng, spec = stack.engine, stack.model.services[service]
    edge = edge_container(stack)
    old = stack.engine.service_containers(stack.name, service, running_only=True)
    new = start_beside(stack, service, old, report, f"new container beside {len(old)} serving, behind the edge")
    started = time.monotonic()
    result = wait_ready(observer(spec, eng, new[-1].id, STAYS_UP, LOOK_WITHIN), timeout,
                        on_observation=lambda o, t: report.service(service, "starting", o.detail, t))
    fresh = eng.inspect(new[-1].id)
    try:
        if not result.ok:
            raise RolloutFailed(f"the new {service} did not become healthy ({result.outcome.value} after "
                                f"{result.elapsed:.1f}s): {result.detail}", exit_code=EXIT_FAILED,
                                details=failure_details(stack, service, new[-1].id))
        address = fresh.ips[0] if fresh and fresh.ips else ""
        runtime.serving(eng, edge.id, address, TAKEN_IN)
    except Exception:
        for container in new:
            retire(eng, container.id, grace=5)
        report.service(service, "failed", "the old container still serves", time.monotonic() - started)
        raise
    report.service(service, "ready", f"the edge sends to {fresh.name}", time.monotonic() - started)
    for container in old:
        info = eng.inspect(container.id)
        slots = []
        for address in (info.ips if info else ()):
            slot, left = runtime.drain(eng, edge.id, address, STOP_GRACE)
            slots += [slot] if slot else []
            report.service(service, "draining", f"{container.name}: {left} connection(s) still open" if left
                           else f"{container.name}: drained")
        retire(eng, container.id, grace=STOP_GRACE)
        for slot in slots:
            runtime.release(eng, edge.id, slot, RELEASED)
    report.service(service, "ready", f"replaced {len(old)} with {len(new)} behind the edge, no port handed over",
                   time.monotonic() - started)
    return 0.0
