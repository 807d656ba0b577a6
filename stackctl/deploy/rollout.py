"""Zero-downtime replacement of an app's containers (any app role: an API behind the proxy,
a worker).

Docker's DNS name of a service lists a new container the moment it starts, healthy or not, so the
proxy is switched explicitly (stackctl.proxy): the new container starts beside the serving one
(compose --scale, --no-recreate) and is gated on its own health; then it takes the free slot's
name and the proxy's marker points at it, so the next request goes there and nothing is
reloaded: no client connection is closed. The old container is stopped gracefully (SIGTERM: it
finishes what it serves) and removed. A new container that never gets healthy is removed: it
never took a request.
"""

from __future__ import annotations

import threading
import time

from stackctl.errors import EXIT_FAILED
from stackctl.health.gate import wait_ready
from stackctl.health.service import LOOK_WITHIN, STAYS_UP, observer
from stackctl.proxy import Proxies, RolloutFailed
from stackctl.stack import Stack
from stackctl.report import Reporter
from stackctl.health.diagnose import failure_details

STOP_GRACE = 30
SWITCH_SETTLE = 1.0  # requests the old container already has finish before its SIGTERM


def rollout(stack: Stack, service: str, *, timeout: float, report: Reporter,
            cancel: threading.Event | None = None, settle: float = SWITCH_SETTLE) -> float:
    eng, spec = stack.engine, stack.model.services[service]
    old = stack.engine.service_containers(stack.name, service, running_only=True)
    proxies = Proxies(stack, service)
    if proxies.containers:
        serving = next((c for c in old if c.name == proxies.serving_slot()), old[-1] if old else None)
        proxies.install(serving)  # a no-op once the proxy carries the two slots
        old = stack.engine.service_containers(stack.name, service, running_only=True)
    new = start_beside(stack, service, old, report, f"new container beside {len(old)} serving")
    started = time.monotonic()
    for container in new:
        result = wait_ready(observer(spec, eng, container.id, STAYS_UP, LOOK_WITHIN), timeout, cancel=cancel,
                            on_observation=lambda o, t: report.service(service, "starting", o.detail, t))
        if not result.ok:
            details = failure_details(stack, service, container.id)
            for c in new:
                retire(eng, c.id, grace=5)
            report.service(service, "failed", result.detail, result.elapsed)
            raise RolloutFailed(f"the new {service} did not become healthy ({result.outcome.value} after "
                                f"{result.elapsed:.1f}s): {result.detail}", exit_code=EXIT_FAILED, details=details)
    healthy_after = time.monotonic() - started
    if proxies.containers:
        slot = proxies.take_over(eng.inspect(new[-1].id), old)
        report.service(service, "ready", f"the proxy sends its next request to {slot}", healthy_after)
        old = [c for c in old if eng.inspect(c.id) is not None]
        time.sleep(settle)
    for container in old:
        report.service(service, "draining", container.name)
        retire(eng, container.id, grace=STOP_GRACE)
    report.service(service, "ready", f"replaced {len(old)} with {len(new)}", time.monotonic() - started)
    return healthy_after


def start_beside(stack: Stack, service: str, old: list, report: Reporter, said: str, *, start: bool = True) -> list:
    """One more container of the service beside the `old` ones (compose --scale, --no-recreate),
    started or only created: the new containers. Every way of replacing a service begins here."""
    report.service(service, "starting", said)
    stack.compose.scale_up(service, len(old) + 1, start=start)
    new = [c for c in stack.engine.service_containers(stack.name, service) if c.id not in {o.id for o in old}]
    if not new:
        raise RolloutFailed(f"compose {'started' if start else 'created'} no new {service} container",
                            exit_code=EXIT_FAILED)
    return new


def retire(eng, container_id: str, grace: int) -> None:
    """Stopped gracefully (`grace` seconds), then removed."""
    eng.stop(container_id, grace)
    eng.remove(container_id)
