"""`stackctl --target swarm up`: build, then deploy the stack file wave by wave (data services,
the migration job, the apps, the proxy), each wave gated on swarm's own view of health before
the next is added. Each `docker stack deploy` carries one wave's services (without --prune, the
others are left as they are).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import asdict, dataclass

import yaml

from stackctl import steps
from stackctl.errors import EXIT_FAILED, EXIT_USAGE, StackError
from stackctl.health.gate import wait_ready
from stackctl.report import Reporter
from stackctl.stack import Stack
from stackctl.swarm import gate, secrets, stack_command
from stackctl.steps import Plan, Step
from stackctl.swarm.stackfile import SwarmChoices, content_tag, data_label, stack_file, waves

LOG_LINES = 30
ROLLBACK_TIMEOUT = 120


@dataclass(frozen=True)
class SwarmService:
    name: str
    outcome: str  # ready | completed (a failure raises, with the logs)
    detail: str
    elapsed: float


@dataclass(frozen=True)
class SwarmUp:
    stack: str
    services: tuple[SwarmService, ...]
    notes: tuple[str, ...]
    elapsed: float

    def to_dict(self) -> dict:
        return asdict(self)


def manager_node(engine) -> str:
    """This engine's node id; a one-line error unless it manages a swarm."""
    swarm = engine.swarm()
    if swarm.get("LocalNodeState") != "active":
        raise StackError("this engine is not part of a swarm",
                         "make it one: docker swarm init --advertise-addr <this host's address>", EXIT_USAGE)
    if not swarm.get("ControlAvailable"):
        raise StackError("this engine is a swarm worker; stacks are deployed from a manager",
                         "point stackctl at a manager (--host / DOCKER_HOST)", EXIT_USAGE)
    return swarm["NodeID"]


def choose_replicas(stack: Stack, asked: dict[str, int]) -> dict[str, int]:
    """What --replicas asks, else what runs now (a scaled app stays scaled), else 1."""
    apps = set(stack.model.with_role("app"))
    unknown = sorted(set(asked) - apps)
    if unknown:
        raise StackError(f"--replicas {unknown[0]}: not an app service of this stack (apps: "
                         f"{', '.join(sorted(apps)) or 'none'})", "name an app service, e.g. --replicas "
                         f"{next(iter(sorted(apps)), 'api')}=3", EXIT_USAGE)
    running = {}
    for service in stack.engine.stack_services(stack.name):
        name = service["Spec"]["Name"].removeprefix(f"{stack.name}_")
        replicated = (service["Spec"].get("Mode") or {}).get("Replicated")
        if name in apps and replicated:
            running[name] = replicated.get("Replicas", 1)
    return {**running, **asked}


def pinned_images(stack: Stack, *, tag: bool = True) -> dict[str, str]:
    """Each built image by its content tag: what the stack file names (`tag`: the tag made here
    when missing; `config` only shows it)."""
    from stackctl.registry import is_digest

    pinned = {}
    for image in stack.model.built_images():
        if is_digest(image):  # a release shipped by digest (deploy --release): already pinned
            pinned[image] = image
            continue
        image_id = stack.engine.image_id(image)
        if image_id:
            pinned[image] = content_tag(image, image_id)
            if tag and stack.engine.image_id(pinned[image]) is None:
                stack.engine.tag(image_id, pinned[image])
    return pinned


def render_file(stack: Stack, choices: SwarmChoices, services: list[str] | None = None) -> tuple[dict, list[str]]:
    return stack_file(stack.config, stack.model, services or sorted(stack.model.services), choices, stack.name)


def up_steps(stack: Stack, chosen: dict[str, int], shipped: dict[str, str] | None = None) -> list[Step]:
    """What `up` does on a swarm, as data (its --dry-run): build (or, for a release shipped by
    digest, nothing: each node pulls it), keep the data on one node, the secrets, then each wave
    in its own `stack deploy`, gated on swarm's view of health."""
    model = stack.model
    built = [n for n, s in model.services.items() if s.build]
    steps = [Step("build", ", ".join(built) or "nothing", "images whose sources changed, tagged by content")] \
        if built and not shipped else []
    if shipped:
        steps = [Step("pull", ", ".join(sorted(shipped)), "by digest: each node that runs a task pulls it with "
                      "this machine's registry login; nothing is built")]
    steps += [Step("place-data", data_label(stack.name), "the node that keeps the data (this manager unless one "
                                                         "carries the label)"),
              Step("secrets", stack.name, "each secret value as a docker secret named by its content")]
    for wave in waves(model):
        scaled = ", ".join(f"{n} x{chosen[n]}" for n in wave if n in chosen)
        steps.append(Step("deploy", ", ".join(wave), "start-first, each gated on its healthy tasks; one that "
                          "never gets healthy is rolled back" + (f" ({scaled})" if scaled else "")))
    return steps + [Step("prune", "secrets", "the versions no service uses any more")]


def up_plan(stack: Stack, replicas: dict[str, int]) -> Plan:
    manager_node(stack.engine)
    return Plan("up", tuple([Step("check", "the swarm", "engine, compose, manager, ports, secrets")]
                            + up_steps(stack, choose_replicas(stack, replicas))))


def up(stack: Stack, *, replicas: dict[str, int], build: str = "auto", timeout: float | None = None,
       report: Reporter, cancel: threading.Event | None = None, check: bool = True,
       shipped: dict[str, str] | None = None, action: str = "up (swarm)") -> SwarmUp:
    """Under the stack's lock (on the manager's engine), as every command that changes a stack.
    `shipped`: service -> digest of a release pushed to a registry (deploy --release)."""
    started = time.monotonic()
    if check:
        from stackctl.preflight import PreflightFailed, run_checks

        report.phase("checking")
        checked = run_checks(stack)
        if not checked.ok:
            raise PreflightFailed(checked)
    with stack.locked(action):
        return _up(stack, replicas, build, timeout, report, cancel, started, shipped)


class Deploying:
    """One swarm `up` as it runs: a handler for each step of up_steps."""

    def __init__(self, stack: Stack, chosen: dict[str, int], build: str, deadline: float, report: Reporter,
                 cancel: threading.Event | None, shipped: dict[str, str] | None = None):
        self.stack, self.chosen, self.build, self.deadline, self.report, self.cancel = \
            stack, chosen, build, deadline, report, cancel
        self.shipped = shipped or {}
        self.node = manager_node(stack.engine)
        self.names: dict[str, str] = {}
        self.outcomes: list[SwarmService] = []
        self.notes: list[str] = []

    def handlers(self) -> dict:
        return {"build": self.do_build, "pull": self.do_pull, "place-data": self.do_place_data,
                "secrets": self.do_secrets, "deploy": self.do_deploy, "prune": self.do_prune}

    def do_pull(self, _step: Step) -> None:
        self.report.note("each node pulls the release by digest as its tasks start (--with-registry-auth)")

    def do_build(self, _step: Step) -> None:
        from stackctl.build import build_images

        build_images(self.stack, [n for n, s in self.stack.model.services.items() if s.build], self.build, self.report)

    def do_place_data(self, _step: Step) -> None:
        _place_data(self.stack.engine, self.stack.name, self.node, self.report)

    def do_secrets(self, _step: Step) -> None:
        engine, name = self.stack.engine, self.stack.name
        self.names = {**secrets.external(self.stack.config), **secrets.ensure(engine, name, secrets.of_stack(self.stack))}
        images = ({self.stack.model.services[n].image: ref for n, ref in self.shipped.items()} if self.shipped
                  else pinned_images(self.stack))
        self.choices = SwarmChoices(replicas=self.chosen, secrets=self.names, run=uuid.uuid4().hex[:12], images=images)

    def do_deploy(self, step: Step) -> None:
        # Only this wave's services: `stack deploy` updates every service it is given, even an
        # unchanged one, and that would make its previous version (what rollback returns to) this one.
        engine, name, wave = self.stack.engine, self.stack.name, step.target.split(", ")
        document, wave_notes = render_file(self.stack, self.choices, wave)
        self.notes += wave_notes
        was = {s: gate.before(engine.swarm_service(f"{name}_{s}")) for s in wave}
        self.report.phase(f"deploying {step.target}")
        _deploy(engine, name, document, bool(self.shipped))
        for service in wave:
            self.outcomes.append(_wait(self.stack, service, was[service], self.deadline, self.report, self.cancel))

    def do_prune(self, _step: Step) -> None:
        secrets.prune(self.stack.engine, self.stack.name, set(self.names.values()))


def _up(stack: Stack, replicas: dict[str, int], build: str, timeout: float | None, report: Reporter,
        cancel: threading.Event | None, started: float, shipped: dict[str, str] | None = None) -> SwarmUp:
    chosen = choose_replicas(stack, replicas)
    run = Deploying(stack, chosen, build, timeout or stack.settings.health_timeout, report, cancel, shipped)
    steps.run(up_steps(stack, chosen, shipped), run.handlers())
    return SwarmUp(stack.name, tuple(run.outcomes), tuple(run.notes), time.monotonic() - started)


def _place_data(engine, stack: str, node: str, report: Reporter) -> None:
    """The data services run where their volumes are: the node labelled for them, this manager
    unless a node already carries the label."""
    key = data_label(stack)
    if any((n["Spec"].get("Labels") or {}).get(key) == "true" for n in engine.swarm_nodes()):
        return
    engine.label_node(node, key, "true")
    report.note(f"this node keeps {stack}'s data (node label {key}=true)")


def _deploy(engine, stack: str, document: dict, registry_auth: bool = False) -> None:
    done = engine.cli(stack_command.deploy_argv(stack, registry_auth), stdin_data=yaml.safe_dump(document, sort_keys=False).encode(),
                      timeout=120)
    if done.exit_code != 0:
        last = ((done.stderr or done.stdout).strip().splitlines() or ["no output"])[-1]
        raise StackError(f"docker stack deploy failed: {last}",
                         "see stackctl config --target swarm for the file it was given", EXIT_FAILED)


def _wait(stack: Stack, service: str, was: gate.Before, deadline: float, report: Reporter,
          cancel: threading.Event | None) -> SwarmService:
    engine, full = stack.engine, f"{stack.name}_{service}"

    def observe():
        found = engine.swarm_service(full)
        return gate.observe(found, engine.swarm_tasks(found) if found else [], was)

    result = wait_ready(observe, deadline, cancel=cancel, max_interval=0.5,
                        on_observation=lambda o, t: report.service(service, "starting", o.detail, t))
    if result.ok:
        outcome = "completed" if stack.model.services[service].oneshot else "ready"
        report.service(service, "done" if outcome == "completed" else "ready", result.detail, result.elapsed)
        return SwarmService(service, outcome, result.detail, result.elapsed)
    report.service(service, "failed", result.detail, result.elapsed)
    logs = engine.cli(stack_command.logs_argv(full, tail=str(LOG_LINES)), timeout=30)
    what = "timed out" if result.outcome.value == "timeout" else "failed"
    after = ""
    if was.existed and not stack.model.services[service].oneshot:
        after = "; " + _roll_back(engine, full, result.detail, report, service)
    raise StackError(f"{service} {what} after {result.elapsed:.1f}s on swarm: {result.detail}{after}",
                     f"see stackctl --target swarm logs {service}; fix it, then stackctl --target swarm up",
                     EXIT_FAILED, details=(logs.stdout + logs.stderr).strip())


def _roll_back(engine, full: str, detail: str, report: Reporter, service: str) -> str:
    """The update did not get healthy in time: back to the previous spec, whose tasks never
    stopped (start-first), unless swarm has already done it."""
    if detail.startswith("swarm rolled the update back"):
        return "the previous version still serves"
    was = gate.before(engine.swarm_service(full))
    report.service(service, "restarting", "rolling back to the previous version")
    done = engine.cli(stack_command.rollback_argv(full), timeout=120)
    if done.exit_code != 0:
        return f"the rollback failed too: {(done.stderr or done.stdout).strip()[-200:]}"
    back = wait_ready(lambda: gate.rolled_back(engine.swarm_service(full), was), ROLLBACK_TIMEOUT, max_interval=0.5)
    return ("rolled back: the previous version still serves" if back.ok
            else f"swarm is still rolling back ({back.detail}): see docker service ps {full}")
