"""Zero-downtime replacement of a service's containers (the API behind nginx).

Start the new containers beside the old (compose --scale, --no-recreate), gate them on their
own health, give nginx time to learn their addresses (it resolves `api` through Docker's DNS
every few seconds, and retries the next address when one refuses), then stop the old ones
gracefully (SIGTERM: they finish what they are serving) and remove them. If the new ones
never get healthy they are removed and the old ones never stopped serving.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from stackctl.errors import EXIT_FAILED, StackError
from stackctl.health.gate import wait_ready
from stackctl.health.service import observer
from stackctl.stack import Stack
from stackctl.up import Progress, failure_details

# nginx's `resolver ... valid=5s` (images/frontend/nginx/proxy-api.inc) plus a margin.
DNS_SETTLE = 6.0
STOP_GRACE = 30


class RolloutFailed(StackError):
    pass


@dataclass(frozen=True)
class RolloutResult:
    service: str
    started: tuple[str, ...]
    stopped: tuple[str, ...]
    seconds_to_healthy: float


def rollout(stack: Stack, service: str, *, timeout: float, progress: Progress,
            cancel: threading.Event | None = None, settle: float = DNS_SETTLE) -> RolloutResult:
    eng, spec = stack.engine, stack.model.services[service]
    old = [c for c in eng.service_containers(stack.name, service) if c.state == "running"]
    progress.service(service, "starting", f"new containers beside {len(old)} serving")
    stack.compose.scale_up(service, max(1, len(old)) + len(old))
    new = [c for c in eng.service_containers(stack.name, service) if c.id not in {o.id for o in old}]
    if not new:
        raise RolloutFailed(f"compose started no new {service} container", exit_code=EXIT_FAILED)
    started = time.monotonic()
    for container in new:
        result = wait_ready(observer(spec, eng, container.id, stack.settings), timeout, cancel=cancel,
                            on_observation=lambda o, t: progress.service(service, "starting", o.detail, t))
        if not result.ok:
            details = failure_details(stack, service, container.id)
            for c in new:
                _retire(eng, c.id, grace=5)
            progress.service(service, "failed", result.detail, result.elapsed)
            raise RolloutFailed(f"the new {service} did not become healthy ({result.outcome.value} after "
                                f"{result.elapsed:.1f}s): {result.detail}", exit_code=EXIT_FAILED, details=details)
    healthy_after = time.monotonic() - started
    progress.service(service, "healthy", f"{len(new)} new; letting nginx learn their addresses", healthy_after)
    time.sleep(settle)
    for container in old:
        progress.service(service, "draining", container.name)
        _retire(eng, container.id, grace=STOP_GRACE)
    progress.service(service, "healthy", f"replaced {len(old)} with {len(new)}", time.monotonic() - started)
    return RolloutResult(service, tuple(c.name for c in new), tuple(c.name for c in old), healthy_after)


def _retire(eng, container_id: str, grace: int) -> None:
    from docker.errors import NotFound

    try:
        eng.api.stop(container_id, timeout=grace)
        eng.api.remove_container(container_id)
    except NotFound:
        pass
