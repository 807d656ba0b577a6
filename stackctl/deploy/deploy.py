"""`stackctl deploy` and `stackctl rollback` on a single production host.

deploy: lock -> check -> build images tagged with the release -> backup -> migrate (new image,
one-off) -> roll the API out beside the old one -> web (only if its image changed) -> checks
through nginx with retries -> record. A failure before traffic moves leaves the previous
release serving; a failure after it rolls back to the previous release through the same
rollout path. Every attempt is written to the audit log.
"""

from __future__ import annotations

import getpass
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from stackctl import migrate as migrations
from stackctl.backup.create import apply_retention, backup
from stackctl.deploy import lock, releases
from stackctl.deploy.rollout import RolloutFailed, rollout
from stackctl.errors import EXIT_FAILED, EXIT_USAGE, StackError
from stackctl.health.gate import wait_ready
from stackctl.health.service import running_endpoints
from stackctl.plan import closure
from stackctl.preflight import run_checks
from stackctl.stack import Stack
from stackctl.up import PreflightFailed, Progress, build_images, up

CHECK_RETRIES = 5
CHECK_PAUSE = 1.0


@dataclass
class DeployResult:
    release: str
    previous: str | None
    seconds: float
    steps: list[tuple[str, float]] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)


def stack_for(stack: Stack, api_image: str, web_image: str) -> Stack:
    return Stack(stack.project, stack.settings.model_copy(update={"api_image": api_image, "web_image": web_image}))


def post_checks(stack: Stack, say: Callable[[str], None]) -> list[str]:
    """Every endpoint through nginx, each retried up to CHECK_RETRIES times; what still fails."""
    failing = []
    for endpoint in running_endpoints(stack.model, stack.containers(), stack.model.names()):
        for attempt in range(1, CHECK_RETRIES + 1):
            result = wait_ready(lambda e=endpoint: e.probe(stack.settings), 0)
            if result.ok:
                break
            say(f"check {endpoint.url}: {result.detail} (attempt {attempt}/{CHECK_RETRIES})")
            time.sleep(CHECK_PAUSE)
        else:
            failing.append(f"{endpoint.url}: {result.detail}")
    return failing


def _running_release(stack: Stack) -> releases.Deployed | None:
    """What serves when nothing was deployed from here yet (a stack started with `up`)."""
    containers = stack.containers()
    api, web = containers.get("api"), containers.get("web")
    if api is None or api.state != "running":
        return None
    return releases.Deployed(api.image, web.image if web else stack.settings.web_image, "(running before deploy)")


def _serving(stack: Stack, service: str) -> bool:
    return any(c.state == "running" for c in stack.engine.service_containers(stack.name, service))


def switch_to(target: Stack, *, progress: Progress, say: Callable[[str], None], timeout: float,
              steps: list[tuple[str, float]]) -> None:
    """Put a release in service: roll the API out, then the web service if its image differs."""
    mark = time.monotonic()
    rollout(target, "api", timeout=timeout, progress=progress)
    steps.append(("rollout api", time.monotonic() - mark))
    web = [c for c in target.engine.service_containers(target.name, "web") if c.state == "running"]
    wanted = target.engine.image_id(target.settings.web_image)
    if not web or web[0].image_id != wanted:
        mark = time.monotonic()
        say("web image changed: replacing nginx (its host ports allow one container; a brief gap)")
        up(target, ["web"], build="never", check=False, progress=progress, run_oneshots=False)
        steps.append(("web", time.monotonic() - mark))


def deploy(stack: Stack, *, progress: Progress, say: Callable[[str], None], break_lock: bool = False,
           timeout: float | None = None) -> DeployResult:
    if stack.project.env != "production":
        raise StackError("deploy runs the production stack", "stackctl --env production deploy", EXIT_USAGE)
    rid = releases.new_release_id(stack.project.root)
    if break_lock:
        held = lock.holder(stack.engine, stack.name)
        if held is not None:
            say(f"breaking the lock held by {held.who}@{held.host} (pid {held.pid}) since {held.since}")
            lock.release(stack.engine, stack.name)
    started = time.monotonic()
    entry = {"action": "deploy", "release": rid, "who": getpass.getuser(),
             "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "commit": releases.git_commit(stack.project.root)}
    with lock.held(stack.engine, stack.name, stack.settings.redis_image, rid):
        try:
            result = _deploy(stack, rid, progress, say, timeout or stack.settings.health_timeout)
        except BaseException as exc:
            outcome = "interrupted" if isinstance(exc, KeyboardInterrupt) else getattr(exc, "outcome", "failed")
            releases.audit(stack.project, stack.name, {**entry, "result": outcome,
                                                       "error": getattr(exc, "message", type(exc).__name__),
                                                       "seconds": round(time.monotonic() - started, 1)})
            raise
    releases.audit(stack.project, stack.name, {**entry, "result": "deployed", "previous": result.previous,
                                               "seconds": round(result.seconds, 1),
                                               "steps": {k: round(v, 2) for k, v in result.steps}})
    return result


def _deploy(stack: Stack, rid: str, progress: Progress, say: Callable[[str], None], timeout: float) -> DeployResult:
    started = time.monotonic()
    steps: list[tuple[str, float]] = []
    mark = time.monotonic()
    progress.phase("checking the target")
    report = run_checks(stack.project, stack.settings)
    if not report.ok:
        raise PreflightFailed(report)
    steps.append(("check", time.monotonic() - mark))

    previous = releases.read_deployed(stack.project) or _running_release(stack)
    s = stack.settings
    new = stack_for(stack, releases.tagged(s.api_image, rid), releases.tagged(s.web_image, rid))
    mark = time.monotonic()
    build_images(new, closure(new.model, None), "auto", progress)
    steps.append(("build", time.monotonic() - mark))
    if previous is not None and stack.engine.image_id(previous.web_image) == stack.engine.image_id(new.settings.web_image):
        new = stack_for(stack, new.settings.api_image, previous.web_image)  # nginx unchanged: keep it running

    if not _serving(stack, "api"):
        say("no API is serving yet: a first start")
        mark = time.monotonic()
        up(new, None, build="never", check=False, progress=progress)
        steps.append(("first start", time.monotonic() - mark))
    else:
        mark = time.monotonic()
        say("backing up before migrations")
        backup(stack, kind="pre-deploy")
        apply_retention(stack)
        steps.append(("backup", time.monotonic() - mark))
        mark = time.monotonic()
        say("migrating with the new image")
        try:
            migrations.migrate(new, out=lambda line: say(line.rstrip()) if line.strip() else None)
        except StackError as exc:
            exc.message = f"release {rid} not deployed, {previous.release if previous else 'the previous release'} still serves: {exc.message}"
            raise
        steps.append(("migrate", time.monotonic() - mark))
        try:
            switch_to(new, progress=progress, say=say, timeout=timeout, steps=steps)
        except RolloutFailed as exc:
            exc.message = (f"release {rid} rolled back before taking traffic; "
                           f"{previous.release if previous else 'the previous release'} still serves: {exc.message}")
            exc.outcome = "rolled back"
            raise

    mark = time.monotonic()
    progress.phase("checking through nginx")
    failing = post_checks(new, say)
    steps.append(("post checks", time.monotonic() - mark))
    if failing:
        if previous is None:
            raise StackError(f"release {rid} fails its checks: {'; '.join(failing)}", "stackctl logs", EXIT_FAILED)
        say(f"release {rid} fails its checks: rolling back to {previous.release}")
        switch_to(stack_for(stack, previous.api_image, previous.web_image), progress=progress, say=say,
                  timeout=timeout, steps=steps)
        error = StackError(f"release {rid} failed its checks through nginx and was rolled back to "
                           f"{previous.release}: {'; '.join(failing)}", "stackctl logs api", EXIT_FAILED)
        error.outcome = "rolled back"
        raise error

    releases.write_deployed(stack.project, releases.Deployed(new.settings.api_image, new.settings.web_image, rid))
    keep = releases.release_tags(stack.engine, s.api_image)[: releases.KEEP]
    pruned = releases.prune(stack.engine, [s.api_image, s.web_image], keep + ([previous.release] if previous else []))
    return DeployResult(rid, previous.release if previous else None, time.monotonic() - started, steps, pruned)


def rollback(stack: Stack, target: str | None, *, progress: Progress, say: Callable[[str], None],
             timeout: float | None = None) -> DeployResult:
    """Return to a release (default: the one before the current) through the same rollout."""
    current = releases.read_deployed(stack.project)
    if current is None:
        raise StackError("nothing has been deployed from this project", "stackctl --env production deploy", EXIT_USAGE)
    s = stack.settings
    available = releases.release_tags(stack.engine, s.api_image)
    if target is None:
        older = [r for r in available if r < current.release]
        if not older:
            raise StackError(f"no release older than {current.release} is on the target", "stackctl releases",
                             EXIT_USAGE)
        target = older[0]
    if target not in available:
        raise StackError(f"release {target} is not on the target (kept: {', '.join(available) or 'none'})",
                         "stackctl releases", EXIT_USAGE)
    web_image = releases.tagged(s.web_image, target)
    if stack.engine.image_id(web_image) is None:
        web_image = current.web_image
    started = time.monotonic()
    entry = {"action": "rollback", "release": target, "previous": current.release, "who": getpass.getuser(),
             "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    steps: list[tuple[str, float]] = []
    with lock.held(stack.engine, stack.name, s.redis_image, target):
        try:
            goal = stack_for(stack, releases.tagged(s.api_image, target), web_image)
            switch_to(goal, progress=progress, say=say, timeout=timeout or s.health_timeout, steps=steps)
            failing = post_checks(goal, say)
            if failing:
                raise StackError(f"release {target} fails its checks: {'; '.join(failing)}", "stackctl logs api")
            releases.write_deployed(stack.project, releases.Deployed(goal.settings.api_image, web_image, target))
        except BaseException as exc:
            releases.audit(stack.project, stack.name, {**entry, "result": "failed",
                                                       "error": getattr(exc, "message", type(exc).__name__)})
            raise
    result = DeployResult(target, current.release, time.monotonic() - started, steps)
    releases.audit(stack.project, stack.name, {**entry, "result": "rolled back", "seconds": round(result.seconds, 1)})
    return result
