"""`stackctl --target swarm down`: remove the stack's services (swarm stops their tasks
gracefully), wait until their containers are gone, remove its secrets; volumes stay unless asked."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from stackctl.errors import EXIT_FAILED, StackError
from stackctl.health.gate import Observation, wait_ready
from stackctl.report import Reporter
from stackctl.stack import Stack
from stackctl.swarm import secrets, stack_command

GONE_TIMEOUT = 90


@dataclass(frozen=True)
class SwarmDown:
    stack: str
    services: tuple[str, ...]
    volumes: tuple[str, ...]
    elapsed: float

    def to_dict(self) -> dict:
        return asdict(self)


def down(stack: Stack, *, volumes: bool, report: Reporter) -> SwarmDown:
    with stack.locked("down (swarm)"):
        return _down(stack, volumes, report)


def _down(stack: Stack, volumes: bool, report: Reporter) -> SwarmDown:
    started = time.monotonic()
    engine, name = stack.engine, stack.name
    services = tuple(sorted(s["Spec"]["Name"] for s in engine.stack_services(name)))
    if services:
        report.phase(f"removing {len(services)} services of stack {name}")
        done = engine.cli(stack_command.remove_argv(name), timeout=60)
        # `stack rm` also fails when a network is still held by the tasks it just stopped: once the
        # services are gone, what is left is removed below, after the tasks
        if done.exit_code != 0 and engine.stack_services(name):
            raise StackError(f"docker stack rm failed: {(done.stderr or done.stdout).strip()}",
                             f"retry stackctl --target swarm down; by hand: docker stack rm {name}", EXIT_FAILED)

    def gone():
        services, running = len(engine.stack_services(name)), len(engine.stack_containers(name, running_only=True))
        if services + running == 0:
            return Observation.ready("stopped")
        return Observation.pending(f"{services} services, {running} containers still running")

    result = wait_ready(gone, GONE_TIMEOUT, max_interval=0.5,
                        on_observation=lambda o, t: report.phase(f"waiting for stack {name} to stop: {o.detail}"))
    if not result.ok:
        raise StackError(f"stack {name} still has tasks after {GONE_TIMEOUT}s: {result.detail}",
                         f"see docker stack ps {name}; then stackctl --target swarm down again", EXIT_FAILED)
    for container in engine.stack_containers(name):  # exited tasks of removed services linger a while
        engine.remove(container["Id"])

    def networks_gone():  # stack rm leaves one its last tasks still held until swarm cleans them up
        held = [why for why in (engine.remove_network(n["Id"]) for n in engine.stack_networks(name)) if why]
        return Observation.pending(held[0]) if held else Observation.ready("removed")

    result = wait_ready(networks_gone, GONE_TIMEOUT, max_interval=0.5,
                        on_observation=lambda o, t: report.phase(f"waiting for stack {name}'s network: {o.detail}"))
    if not result.ok:
        raise StackError(f"stack {name}'s network is still in use after {GONE_TIMEOUT}s: {result.detail}",
                         "see docker network inspect; then stackctl --target swarm down again", EXIT_FAILED)
    secrets.prune(engine, name, set())
    removed = []
    if volumes:
        for volume in sorted(v["name"] for v in (stack.config.get("volumes") or {}).values() if v.get("name")
                             and not v.get("external")):
            if engine.remove_volume(volume):
                removed.append(volume)
    return SwarmDown(name, services, tuple(removed), time.monotonic() - started)
