"""A new proxy image put in service: the host ports handed from the old proxy container to a new
one, touching nothing else (the apps behind it keep serving).

A host port is published by one container at a time, so the ports cannot be held by both: the
new container is created beside the old one (not started), the old one is stopped gracefully
(nginx's SIGQUIT: it stops accepting, finishes what it serves), and the new one is started at
once and gated on its health. Between the two the ports answer nothing: that gap is the stop
plus a container start, and it is reported. A new proxy that never gets healthy is removed and
the old one started again. (Keeping the ports open throughout needs something in front that
owns them; see README, "Deploys".)
"""

from __future__ import annotations

import time

from stackctl.deploy.rollout import retire, start_beside
from stackctl.errors import EXIT_FAILED
from stackctl.health.diagnose import failure_details
from stackctl.health.gate import wait_ready
from stackctl.health.service import LOOK_WITHIN, observer
from stackctl.proxy import RolloutFailed, pin_started_proxy
from stackctl.report import Reporter
from stackctl.stack import Stack

STOP_GRACE = 30


def hand_over(stack: Stack, service: str, *, timeout: float, report: Reporter) -> float:
    """Replace the service's running containers with one of its current image; the gap in seconds."""
    eng, spec = stack.engine, stack.model.services[service]
    old = stack.engine.service_containers(stack.name, service, running_only=True)
    new = start_beside(stack, service, old, report, f"new container created beside {len(old)} serving", start=False)
    gap_from = time.monotonic()
    for container in old:
        eng.stop(container.id, STOP_GRACE)
    stopped = time.monotonic()
    # Compose copies environment- and content-based secrets and configs in when it starts a
    # container (file-based ones are bind mounts): those need `compose start`, which starts every
    # stopped container of the service, so the old one goes first.
    if any(not source.startswith("file:") for source in spec.file_sources):
        for container in old:
            eng.remove(container.id)
        stack.compose.start([service])
    else:
        for container in new:
            eng.start(container.id)
    begun = time.monotonic()
    result = wait_ready(observer(spec, eng, new[-1].id, within=LOOK_WITHIN), timeout,
                        on_observation=lambda o, t: report.service(service, "starting", o.detail, t))
    gap = time.monotonic() - gap_from
    if not result.ok:
        details = failure_details(stack, service, new[-1].id)
        for container in new:
            retire(eng, container.id, grace=5)
        back = [c for c in old if eng.inspect(c.id) is not None]
        for container in back:
            eng.start(container.id)
        report.service(service, "failed", result.detail, result.elapsed)
        again = "the old one serves again" if back else "the old one is gone: rolling back recreates it"
        raise RolloutFailed(f"the new {service} did not become healthy ({result.outcome.value} after "
                            f"{result.elapsed:.1f}s): {result.detail}; {again}", exit_code=EXIT_FAILED,
                            details=details)
    if stack.model.switch == "include":
        pin_started_proxy(stack)  # the app's slots, while the new proxy holds the fewest connections
    for container in old:
        eng.remove(container.id)  # (gone already where compose had to start the new one)
    detail = (f"ports handed over: unanswered for {gap:.2f}s (old stopped in {stopped - gap_from:.2f}s, new "
              f"started in {begun - stopped:.2f}s, healthy {gap - (begun - gap_from):.2f}s later)")
    report.note(f"{service}: {detail}")
    report.service(service, "ready", detail, gap)
    return gap
