"""What an interrupted deploy leaves (killed mid-rollout: a second container of an app beside the
serving one, a created proxy never started), found before the next deploy starts and removed, or
refused with its name: never adopted. A deploy that scaled beside a leftover would keep it, and
serve the dead deploy's code under the new release's id."""

from __future__ import annotations

from stackctl.deploy import releases
from stackctl.deploy.rollout import retire
from stackctl.errors import EXIT_USAGE, StackError
from stackctl.proxy import Proxies
from stackctl.report import Reporter
from stackctl.stack import Stack


def rolled_services(stack: Stack) -> list[str]:
    """The services a deploy starts beside their old containers: the apps and the proxy."""
    proxy = stack.model.one("proxy")
    return stack.model.with_role("app") + ([proxy] if proxy else [])


def clear(stack: Stack, previous: releases.Deployed | None, report: Reporter) -> list[str]:
    """Remove what an interrupted deploy left; the names removed. Refuses (nothing removed) when
    which container serves cannot be told: two running, none of them the recorded release's image."""
    eng, plan = stack.engine, []
    for service in rolled_services(stack):
        containers = eng.service_containers(stack.name, service)
        running = [c for c in containers if c.state == "running"]
        plan += [(service, c, None) for c in containers if c.state in ("created", "exited", "dead")]
        if len(running) <= 1:
            continue
        ref = (previous.images.get(service) if previous else None)
        wanted = eng.image_id(ref) if ref else None
        keep = [c for c in running if wanted and c.image_id == wanted][:1]
        if not keep:
            raise StackError(f"{service} runs {len(running)} containers ({', '.join(c.name for c in running)}), left by "
                             "an interrupted deploy, and none runs the recorded release's image: which one serves is "
                             "not known, nothing was changed",
                             "remove the one that should not serve (docker rm -f NAME), then deploy again", EXIT_USAGE)
        plan += [(service, c, keep[0]) for c in running if c.id != keep[0].id]
    removed = []
    for service, container, kept in plan:
        if kept is not None:
            proxies = Proxies(stack, service)
            if proxies.containers:
                proxies.install(eng.inspect(kept.id))  # the proxy sends to the kept one before the other goes
        report.note(f"{service}: removing {container.name} ({container.state}), left by an interrupted deploy")
        retire(eng, container.id, grace=10)
        removed.append(container.name)
    return removed


def interrupted(stack: Stack) -> list[str]:
    """Release attempts recorded as still deploying whose process is gone: marked interrupted."""
    import os
    import socket

    found = []
    for record in releases.read_records(stack.project, stack.project.env):
        if record.status != releases.DEPLOYING or record.pid == os.getpid():
            continue
        if record.host == socket.gethostname():
            try:
                os.kill(record.pid, 0)
                continue  # still running (the lock says who)
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
        releases.mark(stack.project, record.release, releases.INTERRUPTED)
        found.append(record.release)
    return found
