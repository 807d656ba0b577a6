"""`stackctl init`: propose the roles of an existing compose project and write stackctl.yaml.

Detection reads `docker compose config` (images postgres/postgis, redis, nginx; build contexts;
depends_on; healthchecks). The proposal is a new file beside the compose file: the user's YAML is
never rewritten. An existing stackctl.yaml is validated and left as it is, so re-running `init`
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stackctl import roles as roleslib
from stackctl.proxy import PIN_DIR
from stackctl.stack import Stack

SCAN_LIMIT = 1 << 20  # bytes per file looked at for the proxy contract
SKIP_DIRS = {"node_modules", ".git", "dist", "build", "__pycache__", ".venv"}


@dataclass(frozen=True)
class Proposal:
    roles: roleslib.Roles
    text: str
    notes: tuple[str, ...]
    existing: bool  # a stackctl.yaml is there already (and valid): nothing to write
    path: Path


def _proxy_sources(raw: dict) -> list[Path]:
    """Where the proxy's configuration can be read: its build context and bind-mounted paths."""
    found = []
    build = raw.get("build") or {}
    if build.get("context"):
        found.append(Path(build["context"]))
    for volume in raw.get("volumes") or []:
        if isinstance(volume, dict) and volume.get("type") == "bind" and volume.get("source"):
            found.append(Path(volume["source"]))
    return found


def _mentions(paths: list[Path], needle: bytes) -> bool:
    for base in paths:
        files = [base] if base.is_file() else (p for p in base.rglob("*") if p.is_file()
                                                 and not SKIP_DIRS.intersection(p.relative_to(base).parts))
        for path in files:
            try:
                if path.stat().st_size <= SCAN_LIMIT and needle in path.read_bytes():
                    return True
            except OSError:
                continue
    return False


def proxy_switch(config: dict, roles: roleslib.Roles) -> tuple[str, str | None]:
    """include when the proxy's files carry the switch contract for its upstream; else recreate
    and a note saying why."""
    proxy = roles.proxy
    if proxy is None or proxy.upstream is None:
        return "recreate", None
    needle = f"{PIN_DIR}/{proxy.upstream}-upstream".encode()
    if not _mentions(_proxy_sources(config["services"][proxy.service]), needle):
        return "recreate", (f"{proxy.service} does not include {PIN_DIR}/{proxy.upstream}-upstream*.inc, so deploys "
                            f"recreate {proxy.upstream} and restart {proxy.service} (a short gap); for zero downtime "
                            "use the snippet in the README (Adopt your app) and set switch: include")
    if not roles.apps[proxy.upstream].port:
        return "recreate", f"the port {proxy.upstream} listens on is unknown: set apps.{proxy.upstream}.port"
    return "include", None


def propose(stack: Stack, force: bool = False) -> Proposal:
    path = stack.project.roles_file
    if stack.declared is not None and not force:
        services = stack.config.get("services") or {}
        stack.declared.check_against(services, path.name)
        return Proposal(stack.declared, path.read_text(), tuple(unassigned(services, stack.declared)), True, path)
    config = stack.config
    detected = roleslib.detect(config)
    switch, note = proxy_switch(config, detected)
    notes = [note] if note else []
    if detected.proxy is not None:
        detected = detected.model_copy(update={"proxy": detected.proxy.model_copy(update={"switch": switch})})
    if detected.database is None:
        notes.append("no database service found: backups and restores are off")
    if detected.migrate is None:
        notes.append("no migration one-shot found: add `migrate: SERVICE` if you have one")
    if not detected.apps:
        notes.append("no app service found: deploys need at least one under `apps:`")
    notes += unassigned(config.get("services") or {}, detected)
    production = stack.project.production_overlay() if stack.project.production else _conventional_overlay(stack)
    if production is not None:
        standalone = is_standalone(production)
        beside = stack.project.files and production.parent == stack.project.files[0].parent
        if standalone or not beside:
            detected = detected.model_copy(update={"production": roleslib.Production(
                file=str(production.relative_to(stack.project.root)), standalone=standalone)})
        if standalone:
            notes.append(f"{production.name} defines every service with an image or a build: it is used alone in "
                         "production (standalone), not layered over the development files")
    return Proposal(detected, roleslib.render(detected, notes), tuple(notes), False, path)


def unassigned(services: dict, roles: roleslib.Roles) -> list[str]:
    """What stackctl does with each service that has no role (said, so nothing is left unsaid)."""
    named = roles.named()
    return [f"{name} has no role: up and deploy start it in dependency order and check it by what it shows "
            f"(its healthcheck, or a port it listens on); add it under apps: to roll it out beside its old container"
            for name in sorted(services) if name not in named]


def is_standalone(path: Path) -> bool:
    """A compose file that is a whole model: every service it defines has an image or a build."""
    from stackctl.model_cache import read_compose_yaml

    data = read_compose_yaml(path)
    services = data.get("services") if isinstance(data, dict) else None
    return bool(services) and isinstance(services, dict) and all(
        isinstance(raw, dict) and (raw.get("image") or raw.get("build")) for raw in services.values())


def write(proposal: Proposal) -> None:
    tmp = proposal.path.with_suffix(".tmp")
    tmp.write_text(proposal.text)
    tmp.replace(proposal.path)
