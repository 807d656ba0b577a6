"""`stackctl deploy` and `stackctl rollback` on a single host, for any stack's roles.

deploy: lock -> check -> clear what an interrupted deploy left -> build every built service's
image tagged with the release -> back up (database role) -> migrate (migrate role, new image) ->
roll each app role out beside the old containers (the proxy's upstream switched when the proxy
meets the contract) -> replace the proxy only if its image changed or a file it mounts read-only
changed after it started -> converge every other
service (role-less ones too) -> verify: every service runs the release's image with evidence and
every endpoint answers -> record. A failure before traffic moves leaves the previous release
serving; a failure after it rolls back to the previous release through the same switch; either
way what serves afterwards is verified before it is said. Every attempt is recorded (its status)
and written to the audit log.

A release is a compose override naming each service's image (`repo:<release>` for what stackctl
builds, a digest for what it pulls), layered over the user's own files: nothing of theirs is
rewritten.
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from stackctl import lock, mounted
from stackctl import migrate as migrations
from stackctl.backup.create import apply_retention, backup
from stackctl.build import build_images
from stackctl.deploy import leftovers, plan, releases, ship
from stackctl.deploy.handover import hand_over
from stackctl.deploy.rollout import rollout
from stackctl.deploy.verify import Verification, verify_release
from stackctl.errors import EXIT_FAILED, EXIT_USAGE, StackError
from stackctl.plan import closure
from stackctl.preflight import PreflightFailed, run_checks
from stackctl.proxy import RolloutFailed
from stackctl.report import SILENT, Reporter
from stackctl.stack import Stack
from stackctl import steps
from stackctl.steps import KEPT, Plan, Step, Timings
from stackctl.up import start_only, up


@dataclass(frozen=True)
class DeployResult:
    action: str  # deploy | rollback
    release: str
    previous: str | None
    seconds: float
    steps: tuple[tuple[str, float], ...] = ()
    pruned: tuple[str, ...] = ()
    verified: Verification | None = None  # what was observed before "deployed" was said
    promoted_from: str | None = None  # promote: the environment whose release this is, and what it showed there

    def to_dict(self) -> dict:
        return {"action": self.action, "release": self.release, "previous": self.previous,
                "promoted_from": self.promoted_from,
                "seconds": round(self.seconds, 2), "steps": {k: round(v, 2) for k, v in self.steps},
                "pruned": list(self.pruned),
                "verified": dict(self.verified.seen) if self.verified else None}


def release_images(stack: Stack, release: str, shipped: dict[str, str] | None = None) -> releases.Deployed:
    """Every service's image for the release: what stackctl builds tagged with the release (a
    worker without a build section of its own too), or the digest it was shipped as (`shipped`,
    deploy --release); an app's or a role-less service's pulled image named by its digest where
    the engine knows one (a data service's is left as written: pinning it would recreate the
    database)."""
    model, eng = stack.model, stack.engine
    built = set(model.built_images())
    images = {}
    for name, spec in model.services.items():
        if shipped and name in shipped:
            images[name] = shipped[name]
        elif spec.image in built:
            images[name] = releases.tagged(spec.image, release)
        elif spec.image and spec.role not in ("database", "cache", "edge"):
            digest = eng.image_digest(spec.image)
            if digest:
                images[name] = digest
    return releases.Deployed(release, images, rolled_configs(stack), tuple(sorted(shipped or ())))


def shipped_services(stack: Stack, images: dict[str, str]) -> tuple[str, ...]:
    """The built services a release names by digest (shipped through a registry)."""
    from stackctl.registry import is_digest

    return tuple(sorted(n for n, ref in images.items() if is_digest(ref) and n in stack.model.services
                        and stack.model.services[n].build))


def rolled_configs(stack: Stack) -> dict[str, str]:
    """The configuration digest of each service a release rolls (the apps, the proxy)."""
    raw = stack.config.get("services") or {}
    return {name: releases.config_digest(raw[name]) for name in leftovers.rolled_services(stack) if name in raw}


def stack_for(stack: Stack, deployed: releases.Deployed) -> Stack:
    return releases.stack_for(stack, deployed)


def running_release(stack: Stack) -> releases.Deployed | None:
    """What serves now: the recorded release, or the running apps' images (a stack started with `up`)."""
    recorded = releases.read_deployed(stack.project)
    if recorded is not None:
        return recorded
    containers = stack.containers()
    apps = [n for n in stack.model.with_role("app") if n in containers and containers[n].state == "running"]
    if not apps:
        return None
    return releases.Deployed("(running before deploy)", {n: containers[n].image for n in apps})


def serving(stack: Stack) -> bool:
    return any(c.state == "running" for app in stack.model.with_role("app")
               for c in stack.engine.service_containers(stack.name, app))


def changed(target: Stack, service: str, report: Reporter | None = None) -> bool:
    """Whether the service's running containers run another image than the target's, were made
    from another configuration (its label, where the release sets one), or read a file mounted
    read-only that changed after they started (an nginx.conf: compose does not see it)."""
    wanted = target.engine.image_id(target.model.services[service].image)
    config = ((target.config.get("services") or {}).get(service, {}).get("labels") or {}).get(releases.CONFIG_LABEL)
    running = target.engine.service_containers(target.name, service, running_only=True)
    if not running or any(c.image_id != wanted or (config and c.labels.get(releases.CONFIG_LABEL) != config)
                          for c in running):
        return True
    return bool(mounted.recreate_or_say(target, [service], {service: running[0]}, report or SILENT))


def switch_to(target: Stack, *, report: Reporter, timeout: float,
              timings: Timings, release: str) -> None:
    """Put a release in service by following plan.switch_steps."""
    take = lambda step: run_switch_step(target, step, report=report, timeout=timeout)  # noqa: E731
    steps.run(plan.switch_steps(target.model, release), dict.fromkeys(SWITCHES, take), timings=timings)


def run_switch_step(target: Stack, step: Step, *, report: Reporter,
                    timeout: float) -> str | None:
    name, model = step.target, target.model
    if step.action == "converge":
        if model.one("edge"):
            from stackctl.edge.prepare import prepare

            prepare(target, report)  # a change of hosts or certificates: a reload, never a restart
        start_only(target, plan.the_rest(model), report=report, timeout=timeout)
        return None
    if not changed(target, name, report):
        report.note(f"{name}: image and configuration unchanged, kept")
        return KEPT
    if step.action == "rollout":
        rollout(target, name, timeout=timeout, report=report)
        return None
    if step.action == "replace":
        report.note(f"{name}: {step.detail}")
        hand_over(target, name, timeout=timeout, report=report)
        return None
    if step.action == "switch":
        from stackctl.edge import SERVICE
        from stackctl.edge.prepare import prepare
        from stackctl.edge.roll import edge_running, roll_behind_edge

        if edge_running(target) is None:  # the edge is new: the host's ports move from the proxy to it, once
            report.note(f"{name}: the edge is new: the host's ports move from {name} to it (one gap, now)")
            prepare(target, report)
            start_only(target, [name, SERVICE], report=report, timeout=timeout)
            return None
        roll_behind_edge(target, name, timeout=timeout, report=report)
        return None
    report.note(f"{name}: recreating it, {step.detail}")
    up(target, [name], build="never", check=False, report=report, run_oneshots=False)
    proxy = model.one("proxy")
    if step.action == "recreate" and name == model.upstream and proxy:
        for container in target.engine.service_containers(target.name, proxy):
            target.engine.restart(container.id)  # a proxy that resolved it once finds it again
    return None


class RolledBack(StackError):
    """The release was taken out of service again; what serves now is said only as verified."""


@contextmanager
def audited(stack: Stack, entry: dict, clock: Callable[[], float] = time.monotonic):
    """One audit line per attempt, whatever its end: the block fills `entry` with what it learns."""
    started = clock()
    try:
        yield entry
    except BaseException as exc:
        outcome = ("interrupted" if isinstance(exc, KeyboardInterrupt)
                   else "rolled back" if isinstance(exc, RolledBack) else "failed")
        releases.audit(stack.project, stack.name, {**entry, "result": outcome,
                                                   "error": getattr(exc, "message", type(exc).__name__),
                                                   "seconds": round(clock() - started, 1)})
        raise
    releases.audit(stack.project, stack.name, {**entry, "seconds": round(clock() - started, 1)})


def deploy(stack: Stack, *, report: Reporter, break_lock: bool = False, break_lock_from_host: str | None = None,
           timeout: float | None = None, release: str | None = None,
           images: dict[str, str] | None = None) -> DeployResult:
    """A new release built here; or, with `release` / `images` (deploy --release, --image), the
    images shipped through a registry, pulled by digest and built nowhere (stackctl.deploy.ship)."""
    if stack.project.env == "development":
        raise StackError("deploy runs a deployment environment, not development",
                         "stackctl --env production deploy", EXIT_USAGE)
    if not stack.model.with_role("app"):
        raise StackError("this stack has no app role: nothing to roll out",
                         "name your app services in stackctl.yaml (apps:), or run stackctl init", EXIT_USAGE)
    shipped = ship.wanted(stack, release, images or {}) if release or images else None
    rid = shipped.release if shipped else releases.new_release_id(stack.project.root)
    if break_lock or break_lock_from_host:
        held = lock.break_stale(stack.engine, stack.name, break_lock_from_host)
        if held is not None:
            report.note(f"broke the lock left by {held.who}@{held.host} (pid {held.pid}, gone) since {held.since}")
    entry = {"action": "deploy", "release": rid, "who": getpass.getuser(),
             "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "commit": releases.git_commit(stack.project.root)}
    with audited(stack, entry):
        with stack.locked("deploy", rid):
            result = _deploy(stack, rid, report, timeout or stack.settings.health_timeout, shipped)
        entry.update(result="deployed", previous=result.previous, steps={k: round(v, 2) for k, v in result.steps})
    return result


@dataclass
class Deployment:
    """What one deploy knows as it runs: the stack now, the release's stack, what served before."""

    stack: Stack
    new: Stack
    rid: str
    previous: releases.Deployed | None
    report: Reporter
    timeout: float
    timings: Timings
    pruned: list[str] = field(default_factory=list)
    verified: Verification | None = None
    shipped: ship.Wanted | None = None  # deploy --release: the images by digest, built nowhere

    @property
    def was(self) -> str:
        return self.previous.release if self.previous else "the previous release"


def observe(stack: Stack) -> tuple[bool, releases.Deployed | None, str | None]:
    """Is an app serving, which release serves, who holds the stack's lock (if anyone)."""
    held = lock.holder(stack.engine, stack.name)
    holder = f"{held.who}@{held.host} (stackctl {held.action}, since {held.since})" if held else None
    return serving(stack), running_release(stack), holder


def dry_run(stack: Stack, release: str | None = None, images: dict[str, str] | None = None) -> Plan:
    """The steps `deploy` would take now, without taking any."""
    shipped = ship.wanted(stack, release, images or {}) if release or images else None
    rid = shipped.release if shipped else releases.new_release_id(stack.project.root)
    is_serving, previous, holder = observe(stack)
    return Plan("deploy", tuple(plan.deploy_steps(stack.model, rid, is_serving, previous.release if previous else None,
                                                  holder, stack.settings.lock_wait, _pulled(shipped))))


def _pulled(shipped: ship.Wanted | None) -> str | None:
    """What the pull step says it pulls (None: the release is built here)."""
    if shipped is None:
        return None
    return ", ".join(sorted(shipped.images)) + (f" by digest from {shipped.registry}" if shipped.registry else
                                                 " by digest")


def _record(stack: Stack, deployed: releases.Deployed, status: str, image_ids: dict | None = None) -> None:
    releases.write_record(stack.project, releases.Record(
        deployed.release, stack.project.env, status, deployed.images, image_ids or {},
        datetime.now(timezone.utc).isoformat(timespec="seconds"), os.getpid(), socket.gethostname()))


def _deploy(stack: Stack, rid: str, report: Reporter, timeout: float, shipped: ship.Wanted | None = None) -> DeployResult:
    started = time.monotonic()
    is_serving, previous, _ = observe(stack)  # the lock is ours now
    for dead in leftovers.interrupted(stack):
        report.note(f"release {dead} was interrupted (its deploy is gone): recorded so, never a rollback target")
    images = release_images(stack, rid, shipped.images if shipped else None)
    d = Deployment(stack, stack_for(stack, images), rid, previous, report, timeout, Timings(), shipped=shipped)
    _record(stack, images, releases.DEPLOYING)
    planned = plan.deploy_steps(stack.model, rid, is_serving, previous.release if previous else None,
                                pulled=_pulled(shipped))
    handlers = {**{name: (lambda step, act=act: act(d)) for name, act in STEPS.items()},
                **dict.fromkeys(SWITCHES, lambda step: _take(d, step))}
    try:
        steps.run(planned, handlers, timings=d.timings)
    except BaseException as exc:
        releases.mark(stack.project, rid, releases.INTERRUPTED if isinstance(exc, KeyboardInterrupt)
                      else releases.ROLLED_BACK if isinstance(exc, RolledBack) else releases.FAILED)
        raise
    return DeployResult("deploy", rid, previous.release if previous else None, time.monotonic() - started,
                        tuple(d.timings.steps), tuple(d.pruned), d.verified)


SWITCHES = ("rollout", "recreate", "replace", "switch", "converge")  # the steps that put a release in service


def _take(d: Deployment, step: Step) -> str | None:
    try:
        return run_switch_step(d.new, step, report=d.report, timeout=d.timeout)
    except RolloutFailed as exc:
        serves = _what_serves(d.stack if d.previous is None else stack_for(d.stack, d.previous), d.was, d.report,
                              "still serves")
        raise RolledBack(f"release {d.rid} rolled back before taking traffic: {exc.message}; {serves}", exc.hint,
                         EXIT_FAILED, exc.details) from None
    except StackError as exc:  # after traffic moved (the rest did not start): back to the previous release
        _roll_back(d, exc.message)


def _what_serves(stack: Stack, release: str, report: Reporter, serves: str = "serves") -> str:
    """What serves, said only as observed (verified), or what is wrong with it."""
    seen = verify_release(stack, report)
    if seen.ok:
        return f"{release} {serves} (verified: {seen.said()})"
    return f"{release} does not serve as it should either: {'; '.join(seen.problems)}"


def _check(d: Deployment) -> None:
    d.report.phase("checking the target")
    checked = run_checks(d.stack)
    if not checked.ok:
        raise PreflightFailed(checked)


def _leftovers(d: Deployment) -> None:
    leftovers.clear(d.stack, d.previous if d.previous and not d.previous.release.startswith("(") else None, d.report)


def _build(d: Deployment) -> None:
    build_images(d.new, closure(d.new.model, None), "auto", d.report, new_release=True)


def _pull(d: Deployment) -> None:
    pulled = ship.pull_images(d.stack, d.shipped.images if d.shipped else {}, d.report)
    d.report.note(f"pulled {len(pulled)} image(s) by digest" if pulled else "every image of the release is on the "
                  "engine already (by digest)")


def _first_start(d: Deployment) -> None:
    d.report.note("no app is serving yet: a first start")
    up(d.new, None, build="never", check=False, report=d.report)


def _backup(d: Deployment) -> None:
    d.report.note("backing up before migrations")
    backup(d.stack, kind="pre-deploy")
    apply_retention(d.stack)


def _migrate(d: Deployment) -> None:
    d.report.note("migrating with the new image")
    try:
        migrations.migrate(d.new, d.report)
    except StackError as exc:
        raise StackError(f"release {d.rid} not deployed, {d.was} still serves: {exc.message}", exc.hint,
                         exc.exit_code, exc.details) from None


def _verify(d: Deployment) -> None:
    """Every service and endpoint, as the release runs; on failure, back to the previous release
    through the same switch, and that verified too before anything is said of it."""
    d.report.phase("verifying the release")
    seen = verify_release(d.new, d.report)
    if seen.ok:
        d.verified = seen
        return
    _roll_back(d, f"does not verify ({'; '.join(seen.problems)})")


def _roll_back(d: Deployment, why: str) -> None:
    """The release failed after traffic moved: the previous release switched back in, and what
    serves then said as verified (or what is wrong with it)."""
    previous = d.previous
    if previous is None or previous.release.startswith("("):
        raise StackError(f"release {d.rid} {why}", "stackctl status; stackctl doctor", EXIT_FAILED)
    d.report.note(f"release {d.rid} {why}: rolling back to {previous.release}")
    back = stack_for(d.stack, previous)
    try:
        switch_to(back, report=d.report, timeout=d.timeout, timings=d.timings, release=previous.release)
    except StackError as exc:
        raise RolledBack(f"release {d.rid} {why}; rolling back to {previous.release} failed too: {exc.message}",
                         "stackctl status; stackctl doctor", EXIT_FAILED) from None
    raise RolledBack(f"release {d.rid} {why} and was rolled back; {_what_serves(back, previous.release, d.report)}",
                     "stackctl logs; stackctl doctor", EXIT_FAILED)


def _record_deployed(d: Deployment) -> None:
    deployed = release_images(d.stack, d.rid, d.shipped.images if d.shipped else None)
    releases.write_deployed(d.stack.project, deployed)
    _record(d.stack, deployed, releases.DEPLOYED,
            {name: d.stack.engine.image_id(ref) or "" for name, ref in deployed.images.items()})
    d.pruned = releases.prune_releases(d.stack, keep=[d.rid] + ([d.previous.release] if d.previous else []))


STEPS = {"check": _check, "leftovers": _leftovers, "build": _build, "pull": _pull, "first-start": _first_start, "backup": _backup,
         "migrate": _migrate, "verify": _verify, "record": _record_deployed}


def rollback_target(stack: Stack, target: str | None, include_failed: bool = False) -> tuple[releases.Deployed, str]:
    """The release in service and the one to return to (default: the newest deployed one before it)."""
    current = releases.read_deployed(stack.project)
    if current is None:
        raise StackError("nothing has been deployed from this project", "stackctl --env production deploy", EXIT_USAGE)
    records = [r for r in releases.read_records(stack.project, stack.project.env) if r.release != current.release]
    usable = [r.release for r in records if (r.status == releases.DEPLOYED or include_failed)
              and (releases.on_target(stack.engine, r) or releases.pullable(stack.engine, r))]
    if target is None:
        older = [r for r in usable if r < current.release]
        if not older:
            raise StackError(f"no deployed release older than {current.release} is on the target", "stackctl releases",
                             EXIT_USAGE)
        return current, older[0]
    if target not in usable:
        named = next((r for r in records if r.release == target), None)
        if named is not None and named.status != releases.DEPLOYED and not include_failed:
            raise StackError(f"release {target} {named.status}: it never served", "name it with --include-failed to "
                             "go back to it anyway", EXIT_USAGE)
        raise StackError(f"release {target} is not on the target (deployed and kept: {', '.join(usable) or 'none'})",
                         "stackctl releases", EXIT_USAGE)
    return current, target


def rollback_dry_run(stack: Stack, target: str | None, include_failed: bool = False) -> Plan:
    current, target = rollback_target(stack, target, include_failed)
    return Plan("rollback", tuple(plan.rollback_steps(stack.model, target, current.release)))


def rollback(stack: Stack, target: str | None, *, report: Reporter, timeout: float | None = None,
             include_failed: bool = False) -> DeployResult:
    """Return to a release (default: the one before the current) through the same switch, and
    say it serves only once that is verified."""
    current, target = rollback_target(stack, target, include_failed)
    started = time.monotonic()
    entry = {"action": "rollback", "release": target, "previous": current.release, "who": getpass.getuser(),
             "when": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    timings = Timings()
    record = releases.read_record(stack.project, target)
    goal_images = (releases.Deployed(target, dict(record.images), rolled_configs(stack), shipped_services(stack, record.images))
                   if record
                   else release_images(stack, target))
    with audited(stack, entry):
        with stack.locked("rollback", target):
            ship.pull_images(stack, goal_images.images, report)  # a release shipped by digest: its bytes
            goal = stack_for(stack, goal_images)
            switch_to(goal, report=report, timeout=timeout or stack.settings.health_timeout,
                      timings=timings, release=target)
            releases.write_deployed(stack.project, goal_images)  # what runs now, verified or not
            seen = verify_release(goal, report)
            if not seen.ok:
                raise StackError(f"rolled back to {target}, which runs but does not verify: {'; '.join(seen.problems)}",
                                 "stackctl status; stackctl doctor")
        entry["result"] = "rolled back"
    return DeployResult("rollback", target, current.release, time.monotonic() - started, tuple(timings.steps),
                        verified=seen)
