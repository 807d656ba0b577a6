"""`stackctl --target swarm rollback`: the apps (and the proxy) back to the version before the last
`up`, through swarm's own rollback (start-first, one task at a time, each gated on health). Swarm
keeps one previous version per service; migrations are not undone (write them expand/contract)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from stackctl.errors import EXIT_FAILED, EXIT_USAGE, StackError
from stackctl.health.gate import wait_ready
from stackctl.report import Reporter
from stackctl.stack import Stack
from stackctl.swarm import gate, stack_command
from stackctl.swarm.deploy import ROLLBACK_TIMEOUT, manager_node


@dataclass(frozen=True)
class RolledBack:
    service: str
    from_image: str
    to_image: str
    elapsed: float


@dataclass(frozen=True)
class SwarmRollback:
    stack: str
    services: tuple[RolledBack, ...]

    def to_dict(self) -> dict:
        return asdict(self)


def _image(spec: dict) -> str:
    return spec["TaskTemplate"]["ContainerSpec"]["Image"].split("@")[0]


def candidates(stack: Stack) -> list[tuple[str, dict]]:
    """(service, its swarm service) for each app and proxy whose previous version is another image;
    one whose last update swarm or stackctl already rolled back is left alone (its previous
    version is the failed one)."""
    model, found = stack.model, []
    for name in [*model.with_role("app"), *model.with_role("proxy")]:
        raw = stack.engine.swarm_service(f"{stack.name}_{name}")
        if not raw or not raw.get("PreviousSpec"):
            continue
        if (raw.get("UpdateStatus") or {}).get("State", "").startswith("rollback"):
            continue
        if _image(raw["PreviousSpec"]) != _image(raw["Spec"]):
            found.append((name, raw))
    return found


def rollback(stack: Stack, *, report: Reporter, timeout: float | None = None) -> SwarmRollback:
    manager_node(stack.engine)
    with stack.locked("rollback (swarm)"):
        return _rollback(stack, report, timeout)


def _rollback(stack: Stack, report: Reporter, timeout: float | None) -> SwarmRollback:
    engine = stack.engine
    targets = candidates(stack)
    if not targets:
        raise StackError("nothing to roll back: no app's previous version on the swarm is another image",
                         "swarm keeps one previous version per service (the one before the last up)", EXIT_USAGE)
    done = []
    for name, raw in targets:
        full, was = f"{stack.name}_{name}", gate.before(raw)
        report.service(name, "restarting", f"back to {_image(raw['PreviousSpec'])}")
        asked = engine.cli(stack_command.rollback_argv(full), timeout=120)
        if asked.exit_code != 0:
            raise StackError(f"docker service rollback {full} failed: {(asked.stderr or asked.stdout).strip()}",
                             f"see docker service ps {full}", EXIT_FAILED)
        result = wait_ready(lambda: gate.rolled_back(engine.swarm_service(full), was),
                            timeout or ROLLBACK_TIMEOUT, max_interval=0.5,
                            on_observation=lambda o, t: report.service(name, "starting", o.detail, t))
        if not result.ok:
            raise StackError(f"{name} did not finish rolling back in {result.elapsed:.0f}s: {result.detail}",
                             f"see docker service ps {full}", EXIT_FAILED)
        report.service(name, "ready", "rolled back", result.elapsed)
        done.append(RolledBack(name, _image(raw["Spec"]), _image(raw["PreviousSpec"]), result.elapsed))
    return SwarmRollback(stack.name, tuple(done))
