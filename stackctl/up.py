"""`stackctl up`: check, build what changed, converge containers, start in dependency order
gated on real readiness, verify the endpoints.

Observe -> plan (plan.up_steps, data) -> execute (this module; no decisions of its own).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace

from stackctl import converged, injected, mounted
from stackctl.build import build_images, pull_missing
from stackctl.edge.override import left_running
from stackctl.containers import ContainerInfo
from stackctl.errors import EXIT_FAILED, StackError
from stackctl.health import diagnose
from stackctl.health.diagnose import failure_details
from stackctl.health.gate import NO_EVIDENCE, GateResult, Observation, wait_ready
from stackctl.health.service import LOOK_WITHIN, STAYS_UP, Endpoint, EndpointResult, check_endpoints, observer, \
    ready_now, running_endpoints, warm_probes
from stackctl.plan import after_oneshots, closure, up_steps
from stackctl.steps import Plan, Step
from stackctl.preflight import PreflightFailed, run_checks
from stackctl.report import Reporter
from stackctl.service_state import ServiceOutcome, ServiceState, classify, evidence_of
from stackctl.proxy import pin_started_proxy
from stackctl.stack import Stack

ENDPOINT_GRACE = 10.0  # seconds an endpoint check may retry after the services are ready
STARTED = ("ready", "kept", "running")  # a service that may be depended on (running: without evidence)


@dataclass(frozen=True)
class UpResult:
    services: tuple[ServiceOutcome, ...]
    endpoints: tuple[EndpointResult, ...]
    urls: tuple[tuple[str, str], ...]
    built: tuple[str, ...]
    elapsed: float

    @property
    def ok(self) -> bool:
        return all(s.outcome in STARTED for s in self.services) and all(e.ok for e in self.endpoints)

    @property
    def unproven(self) -> list[str]:
        """Long-running services that run with nothing to show they serve (no evidence)."""
        return [s.service for s in self.services if s.outcome in STARTED and s.evidence == NO_EVIDENCE]

    def to_dict(self) -> dict:
        return {"ok": self.ok, "proven": not self.unproven, "without_evidence": self.unproven,
                "elapsed_seconds": round(self.elapsed, 2), "built": list(self.built),
                "services": [s.to_dict() for s in self.services], "endpoints": [e.to_dict() for e in self.endpoints],
                "urls": dict(self.urls)}


def observe(stack: Stack, names: list[str], containers: dict[str, ContainerInfo],
            evidence: dict[str, str] | None = None) -> dict[str, ServiceState]:
    """What each service is now (a running long-lived one is asked once, as the gate asks; in
    parallel). `evidence`, when given, is filled with what each state rests on."""
    running = [n for n in names if n in containers and containers[n].state == "running"
               and not stack.model.services[n].oneshot]
    seen = ready_now(stack.model, stack.engine, containers, running)
    if evidence is not None:
        evidence.update({n: evidence_of(containers.get(n), seen.get(n)) for n in names})
    return {n: classify(stack.model.services[n].oneshot, containers.get(n), seen.get(n)) for n in names}


class Executor:
    """Runs the steps, each as soon as what it needs is ready; independent ones in parallel."""

    def __init__(self, stack: Stack, timeout: float, report: Reporter, cancel: threading.Event,
                 origin: float | None = None):
        self.stack, self.timeout, self.report, self.cancel = stack, timeout, report, cancel
        self.origin = time.monotonic() if origin is None else origin  # the timelines count from here
        self.results: dict[str, ServiceOutcome] = {}
        self.done: dict[str, threading.Event] = {}
        self.containers: dict[str, ContainerInfo] = {}
        self.evidence: dict[str, str] = {}  # of the services observed before the steps (what a kept one rests on)

    def run(self, steps: list[Step]) -> list[ServiceOutcome]:
        self.containers = self.stack.containers()
        self.done.update({s.target: threading.Event() for s in steps})  # earlier phases stay done
        threads = [threading.Thread(target=self._guarded, args=(s,), daemon=True, name=f"up-{s.target}")
                   for s in steps]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(0.1)  # short joins keep the main thread able to take Ctrl-C
        return [self.results[s.target] for s in steps]

    def _guarded(self, step: Step) -> None:
        try:
            self.results[step.target] = self._timed(step)
        except Exception as exc:  # reported as this service's failure, never lost in a thread
            self.results[step.target] = ServiceOutcome(step.target, step.action, "failed", 0.0,
                                                        f"{type(exc).__name__}: {exc}")
        finally:
            self.done[step.target].set()

    def _timed(self, step: Step) -> ServiceOutcome:
        """The step's outcome with its timeline: waiting from, starting from, ended at."""
        marks = {"waiting": time.monotonic() - self.origin}
        outcome = self._step(step, marks)
        if step.action == "keep":
            return outcome
        ended = time.monotonic() - self.origin
        return replace(outcome, timeline=(marks["waiting"], marks.get("starting"), ended))

    def _step(self, step: Step, marks: dict[str, float]) -> ServiceOutcome:
        name = step.target
        if step.action == "keep":
            self.report.service(name, step.detail, "unchanged")
            return ServiceOutcome(name, "keep", "kept", 0.0, step.detail, self.evidence.get(name, ""))
        self.report.service(name, "waiting", f"for {', '.join(step.after)}" if step.after else "")
        for dep in step.after:
            self.done[dep].wait()
            if self.results[dep].outcome not in STARTED:
                self.report.service(name, "skipped", f"{dep} is not ready")
                return ServiceOutcome(name, step.action, "skipped", 0.0, f"{dep} is not ready")
        if self.cancel.is_set():
            return ServiceOutcome(name, step.action, "cancelled")
        info = self.containers.get(name)
        if info is None:
            return ServiceOutcome(name, step.action, "failed", 0.0, "no container was created")
        spec = self.stack.model.services[name]
        marks["starting"] = time.monotonic() - self.origin
        self.report.service(name, "running" if spec.oneshot else "starting")
        if info.state != "running":
            if spec.injects_files:
                self.stack.compose.start_alone([name])  # compose copies secrets/configs in as it starts
            else:
                self.stack.engine.start(info.id)  # ~10x faster than a compose process

        def report(obs: Observation, elapsed: float) -> None:
            self.report.service(name, "running" if spec.oneshot else "starting", obs.detail, elapsed)

        result: GateResult = wait_ready(observer(spec, self.stack.engine, info.id, STAYS_UP, LOOK_WITHIN),
                                        self.timeout, cancel=self.cancel, on_observation=report)
        if result.ok:
            if self.stack.model.switch == "include" and (spec.role == "proxy" or name == self.stack.model.upstream):
                pin_started_proxy(self.stack)  # the proxy: while it holds no client connections yet
            proven = result.evidence != NO_EVIDENCE
            word = ServiceState.DONE if spec.oneshot else ServiceState.READY if proven else ServiceState.RUNNING
            self.report.service(name, str(word), f"{result.evidence}: {result.detail}", result.elapsed)
            return ServiceOutcome(name, step.action, "ready" if proven else "running", result.elapsed, result.detail,
                                  result.evidence)
        outcome = result.outcome.value
        self.report.service(name, outcome, result.detail, result.elapsed)
        return ServiceOutcome(name, step.action, outcome, result.elapsed, result.detail)


def check_all_endpoints(stack: Stack, names: list[str], containers: dict[str, ContainerInfo],
                        cancel: threading.Event, grace: float = ENDPOINT_GRACE) -> list[EndpointResult]:
    results = []
    for endpoint in running_endpoints(stack.model, containers, names, stack.engine):
        gate = wait_ready(lambda e=endpoint: e.probe(), grace, cancel=cancel)
        results.append(EndpointResult(endpoint.name, endpoint.url, gate.ok, gate.detail))
    return results


def app_urls(stack: Stack, names: list[str], containers: dict[str, ContainerInfo]) -> list[tuple[str, str]]:
    urls = []
    for name in names:
        spec, info = stack.model.services[name], containers.get(name)
        if info is None:
            continue
        endpoints = check_endpoints(spec, info, stack.engine)
        if not endpoints:
            continue
        e: Endpoint = endpoints[0]
        host = "localhost" if e.host == "127.0.0.1" else e.host
        if e.kind == "http":
            tls = next((x for x in endpoints if x.kind == "https"), None)
            urls.append((name, f"https://{host}:{tls.port}/" if tls else f"http://{host}:{e.port}/"))
        else:
            urls.append((name, e.url))
    return urls


def converge(stack: Stack, targets: list[str], run_oneshots: bool, executor: Executor,
             report: Reporter) -> tuple[list[Step], list[ServiceOutcome]]:
    """Create and start the targets. Where an API is already serving, in two phases: first
    everything up to and including the one-shots (migrations), then what waits for them, so
    the serving containers are only replaced once migrations succeeded."""
    model = stack.model
    later = after_oneshots(model, targets) if run_oneshots else []
    containers = stack.containers()
    serving = [n for n in later if n in containers and containers[n].state == "running"]
    phases = [[n for n in targets if n not in later], later] if serving else [targets]
    known: dict[str, ServiceState] = {}
    steps: list[Step] = []
    outcomes: list[ServiceOutcome] = []
    for index, phase in enumerate(phases):
        report.phase("creating containers")
        containers = containers if index == 0 else stack.containers()
        stale = injected.changed(stack, phase, containers)
        if stale:
            report.note(f"{', '.join(stale)}: secrets or configs changed since the container was made: recreating")
        stale = sorted(set(stale) | set(mounted.recreate_or_say(stack, phase, containers, report)))
        if stale:
            stack.compose.create(stale, recreate=True)
        if stale or not converged.unchanged(stack, phase, containers):
            # A later phase converges its own services only: compose would also recreate a
            # dependency whose image moved since the first phase (another build or pull of
            # the tag), leaving a one-shot that ran there as a new container never started.
            stack.compose.create(left_running(stack, phase, containers), no_deps=index > 0)
            current = stack.containers()
            converged.record(stack, phase, current)
        else:
            current = containers  # compose would keep every one of them: not asked
        injected.record(stack, phase, current)
        observed = {**observe(stack, targets if index == 0 else phase, current, executor.evidence), **known}
        phase_steps = [s for s in up_steps(model, targets, observed, run_oneshots) if s.target in phase]
        report.phase("starting services")
        results = executor.run(phase_steps)
        steps += phase_steps
        outcomes += results
        if any(r.outcome not in STARTED for r in results):
            break
        known.update({r.service: ServiceState.DONE if model.services[r.service].oneshot else ServiceState.READY
                      if r.outcome != "running" else ServiceState.RUNNING for r in results})
        executor.evidence.update({r.service: r.evidence for r in results})
    return steps, outcomes


def up_plan(stack: Stack, services: list[str] | None) -> Plan:
    """What `up` would do now, and nothing done: the check, the images to build or pull, then each
    service's step in dependency order (start, run, keep), as observed now."""
    from stackctl.build import missing_pulled, stale

    targets = closure(stack.model, services)
    containers = stack.containers()
    steps = [Step("check", "the machine", "engine, compose, env files, ports, memory, disk")]
    building = [t.service for t in stale(stack, targets, "auto")]
    if building:
        steps.append(Step("build", ", ".join(building), "their sources changed since the last build"))
    pulling = missing_pulled(stack, targets)
    if pulling:
        steps.append(Step("pull", ", ".join(f"{i} ({n})" for i, n in pulling.items()), "not on the engine"))
    observed = observe(stack, targets, containers)
    return Plan("up", tuple(steps + up_steps(stack.model, targets, observed)))


def start_only(stack: Stack, names: list[str], *, report: Reporter, timeout: float) -> list[ServiceOutcome]:
    """These services alone converged (compose keeps what is unchanged, recreates what the model
    changes, touches nothing they depend on) and each gated on its evidence (a deploy's last
    switch: the database, the cache, the services without a role)."""
    if not names:
        return []
    before = stack.containers()
    remounted = mounted.recreate_or_say(stack, names, before, report)
    if remounted:
        stack.compose.create(remounted, recreate=True)
    stack.compose.create(left_running(stack, names, before), no_deps=True)
    current = stack.containers()
    executor = Executor(stack, timeout, report, threading.Event())
    observed = observe(stack, names, current, executor.evidence)
    steps = [Step(s.action, s.target, s.detail) for s in up_steps(stack.model, names, observed, False)]
    outcomes = executor.run(steps)
    bad = [o for o in outcomes if o.outcome not in STARTED]
    if bad:
        info = stack.containers().get(bad[0].service)
        raise StackError(f"{bad[0].service} did not start: {bad[0].outcome} ({bad[0].detail})",
                         f"stackctl logs {bad[0].service}", EXIT_FAILED,
                         details=failure_details(stack, bad[0].service, info.id if info else None))
    return outcomes


def up(stack: Stack, services: list[str] | None, *, build: str = "auto", timeout: float | None = None,
       report: Reporter, cancel: threading.Event | None = None, check: bool = True,
       run_oneshots: bool = True) -> UpResult:
    """`stackctl up` under the stack's lock: one command at a time changes a stack."""
    with stack.locked("up"):
        return _up(stack, services, build=build, timeout=timeout, report=report, cancel=cancel, check=check,
                   run_oneshots=run_oneshots)


def _up(stack: Stack, services: list[str] | None, *, build: str = "auto", timeout: float | None = None,
       report: Reporter, cancel: threading.Event | None = None, check: bool = True,
       run_oneshots: bool = True) -> UpResult:
    started = time.monotonic()
    cancel = cancel or threading.Event()
    stack.model  # bad compose files or variables: one line, before anything else
    warm_probes(stack.model)
    if check:
        report.phase("checking the machine")
        checked = run_checks(stack)
        if not checked.ok:
            raise PreflightFailed(checked)
    report.phase("reading the compose model")
    targets = closure(stack.model, services)
    built = build_images(stack, targets, build, report)
    pull_missing(stack, targets, report)
    if stack.model.one("edge") in targets:
        from stackctl.edge.prepare import prepare

        prepare(stack, report)
    executor = Executor(stack, timeout or stack.settings.health_timeout, report, cancel, origin=started)
    steps, outcomes = converge(stack, targets, run_oneshots, executor, report)
    if cancel.is_set():
        raise KeyboardInterrupt
    bad = [o for o in outcomes if o.outcome in ("failed", "timeout")]
    if bad:
        first = bad[0]
        info = stack.containers().get(first.service)
        # The deadline is what was asked for; the last look may end after it (a probe in flight).
        deadline = timeout or stack.settings.health_timeout
        why = (f"did not become healthy within its {deadline:g} s deadline (last look at {first.elapsed:.1f}s)"
               if first.outcome == "timeout" else f"failed ({first.elapsed:.1f}s)")
        details = failure_details(stack, first.service, info.id if info else None)
        known = diagnose.hint(stack.model.services[first.service].role, details)
        raise StackError(
            f"{first.service} {why}: {first.detail}",
            known or f"troubleshoot with: stackctl logs {first.service}",
            EXIT_FAILED,
            details=details,
        )
    report.phase("verifying endpoints")
    containers = stack.containers()  # one look serves the checks and the summary
    endpoints = check_all_endpoints(stack, targets, containers, cancel)
    result = UpResult(tuple(outcomes), tuple(endpoints), tuple(app_urls(stack, targets, containers)), tuple(built),
                      time.monotonic() - started)
    failing = [e for e in endpoints if not e.ok]
    if failing:
        raise StackError(f"endpoint check failed: {failing[0].name} {failing[0].url}: {failing[0].detail}",
                         "troubleshoot with: stackctl status; stackctl logs", EXIT_FAILED)
    return result
