"""`stackctl --target swarm deploy --release ID` and `--target swarm rollback RELEASE`: a release
pushed to a registry (stackctl.deploy.ship), deployed on a swarm by digest.

The stack file names each built service's image by digest and `docker stack deploy
--with-registry-auth` hands every node this machine's registry login, so each node that runs a
task pulls the same bytes; nothing is built. The waves, health gates and start-first updates are
`up`'s (stackctl.swarm.deploy). Before "deployed" is said, each shipped service's swarm spec is
read back: it must name the release's digest, and its tasks must have passed the gate. Every
attempt is recorded (releases/<id>.<env>.json, by digest) and audited, so a rollback to a release
runs the exact bytes that ran before, even after its tag moved.
"""

from __future__ import annotations

import getpass
import time
from datetime import datetime, timezone

from stackctl.deploy import releases, ship
from stackctl.errors import EXIT_USAGE, StackError
from stackctl.report import Reporter
from stackctl.stack import Stack
from stackctl.swarm.deploy import SwarmUp, up


def deploy(stack: Stack, release: str | None, images: dict[str, str], *, report: Reporter,
           timeout: float | None = None, action: str = "deploy", replicas: dict[str, int] | None = None):
    from stackctl.deploy.deploy import DeployResult, audited

    if not release and not images:
        raise StackError("on a swarm, deploy runs a release pushed to a registry: --release ID",
                         "stackctl build --push, then stackctl --target swarm deploy --release ID", EXIT_USAGE)
    wanted = ship.wanted(stack, release, images)
    previous = releases.read_deployed(stack.project)
    started = time.monotonic()
    entry = {"action": action, "release": wanted.release, "target": "swarm", "who": getpass.getuser(),
             "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "previous": previous.release if previous else None}
    with audited(stack, entry):
        _record(stack, wanted, releases.DEPLOYING)
        try:
            result = up(stack, replicas=replicas or {}, build="never", timeout=timeout, report=report, shipped=wanted.images,
                        action=f"{action} (swarm)")
            seen = verified(stack, wanted.images, result)
        except BaseException as exc:
            releases.mark(stack.project, wanted.release, releases.INTERRUPTED if isinstance(exc, KeyboardInterrupt)
                          else releases.FAILED)
            raise
        releases.write_deployed(stack.project, releases.Deployed(wanted.release, dict(wanted.images)))
        _record(stack, wanted, releases.DEPLOYED)
        entry["result"] = "deployed" if action == "deploy" else "rolled back"
    return DeployResult(action, wanted.release, previous.release if previous else None, time.monotonic() - started,
                        tuple((s.name, s.elapsed) for s in result.services), verified=seen)


def verified(stack: Stack, shipped: dict[str, str], result: SwarmUp):
    """Each shipped service's spec names the release's digest, and its tasks passed the gate."""
    from stackctl.deploy.verify import Verification

    gated = {s.name: s.detail for s in result.services}
    problems, seen = [], []
    for name, ref in sorted(shipped.items()):
        spec = stack.engine.swarm_service(f"{stack.name}_{name}") or {}
        image = (((spec.get("Spec") or {}).get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", "")
        digest = ref.split("@", 1)[1]
        if not image.endswith("@" + digest):
            problems.append(f"{name} runs {image or 'nothing'}, not {digest[:19]}")
        elif name in gated:
            seen.append((name, f"swarm tasks ({gated[name]})"))
    seen += [(s.name, f"swarm tasks ({s.detail})") for s in result.services if s.name not in shipped
             and not stack.model.services[s.name].oneshot]
    if problems:
        raise StackError(f"the release did not take: {'; '.join(problems)}", "stackctl --target swarm status")
    return Verification(tuple(seen), ())


def rollback(stack: Stack, release: str, *, report: Reporter, timeout: float | None = None):
    """Back to a release deployed before, by the digests its record names."""
    record = releases.read_record(stack.project, release, stack.project.env)
    if record is None or record.status != releases.DEPLOYED:
        said = f"is recorded {record.status}" if record else "has no record here"
        raise StackError(f"release {release} {said}", "stackctl --target swarm releases", EXIT_USAGE)
    shipped = {n: ref for n, ref in record.images.items() if n in stack.model.services}
    return deploy(stack, release, shipped, report=report, timeout=timeout, action="rollback")


def _record(stack: Stack, wanted: ship.Wanted, status: str) -> None:
    import os
    import socket

    releases.write_record(stack.project, releases.Record(
        wanted.release, stack.project.env, status, dict(wanted.images), {},
        datetime.now(timezone.utc).isoformat(timespec="seconds"), os.getpid(), socket.gethostname()))
