"""Zero-downtime replacement of an app's containers (any app role: an API behind the proxy,
a worker).

Docker's DNS name of a service lists a new container the moment it starts, healthy or not, so nginx
is switched explicitly: it is pinned to the serving container by name (a file in the web
container, then a graceful `nginx -s reload`), the new container starts beside it (compose
--scale, --no-recreate) and is gated on its own health, nginx is pinned to it, and the old
one is stopped gracefully (SIGTERM: it finishes what it serves) and removed. If the new
container never gets healthy it is removed: it never took a request.

The pin is set when the proxy starts (stackctl.proxy) and stays between deploys, so a rollout
reloads nginx once, and a release that never gets healthy not at all. Each reload closes
nginx's idle keep-alive connections, and a request a client sends on one at that very moment is
lost unless the client retries it (browsers and curl do).
"""

from __future__ import annotations

import threading
import time

from stackctl.errors import EXIT_FAILED
from stackctl.health.gate import wait_ready
from stackctl.health.service import observer
from stackctl.proxy import Proxies, RolloutFailed
from stackctl.stack import Stack
from stackctl.report import Reporter
from stackctl.health.diagnose import failure_details

STOP_GRACE = 30
RELOAD_SETTLE = 1.0  # old nginx workers finish requests already sent to the old container


def rollout(stack: Stack, service: str, *, timeout: float, report: Reporter,
            cancel: threading.Event | None = None, settle: float = RELOAD_SETTLE) -> float:
    eng, spec = stack.engine, stack.model.services[service]
    old = [c for c in eng.service_containers(stack.name, service) if c.state == "running"]
    proxies = Proxies(stack, service)
    if old and proxies.pinned() != {old[-1].name}:
        proxies.pin(old[-1].name)  # the newest serving one keeps all traffic meanwhile
        time.sleep(settle)
    report.service(service, "starting", f"new container beside {len(old)} serving")
    stack.compose.scale_up(service, len(old) + 1)
    new = [c for c in eng.service_containers(stack.name, service) if c.id not in {o.id for o in old}]
    if not new:
        raise RolloutFailed(f"compose started no new {service} container", exit_code=EXIT_FAILED)
    started = time.monotonic()
    for container in new:
        result = wait_ready(observer(spec, eng, container.id), timeout, cancel=cancel,
                            on_observation=lambda o, t: report.service(service, "starting", o.detail, t))
        if not result.ok:
            details = failure_details(stack, service, container.id)
            for c in new:
                _retire(eng, c.id, grace=5)
            if not old:
                proxies.pin(None)
            report.service(service, "failed", result.detail, result.elapsed)
            raise RolloutFailed(f"the new {service} did not become healthy ({result.outcome.value} after "
                                f"{result.elapsed:.1f}s): {result.detail}", exit_code=EXIT_FAILED, details=details)
    healthy_after = time.monotonic() - started
    if proxies.containers:
        report.service(service, "ready", f"switching the proxy to {new[-1].name}", healthy_after)
        proxies.pin(new[-1].name)
        time.sleep(settle)
    for container in old:
        report.service(service, "draining", container.name)
        _retire(eng, container.id, grace=STOP_GRACE)
    report.service(service, "ready", f"replaced {len(old)} with {len(new)}", time.monotonic() - started)
    return healthy_after


def _retire(eng, container_id: str, grace: int) -> None:
    eng.stop(container_id, grace)
    eng.remove(container_id)
