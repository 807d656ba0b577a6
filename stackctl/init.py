"""`stackctl init`: propose the roles of an existing compose project and write stackctl.yaml.

Detection reads `docker compose config` (images postgres/postgis, redis, nginx; build contexts;
depends_on; healthchecks). The proposal is a new file beside the compose file: the user's YAML is
never rewritten. An existing stackctl.yaml is validated and left as it is, so re-running `init`
changes nothing.
"""

from __future__ import annotations

import re
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
    detected = roleslib.detect(config, served_ports(stack, config))
    detected = with_answered_health(stack, detected)
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


UPSTREAM = re.compile(rb"(?:proxy_pass|set\s+\$\w+|server)\s+(?:https?://)?([A-Za-z0-9][A-Za-z0-9_.-]*):(\d{2,5})")
EXPOSE = re.compile(r"^\s*EXPOSE\s+(\d+)", re.M | re.I)
HEALTH_PATHS = ("/health", "/healthz", "/api/health", "/status", "/")


def served_ports(stack: Stack, config: dict) -> dict[str, int]:
    """service -> the port it serves on, as the files show it: a proxy's upstream (proxy_pass
    http://api:8000), else the last stage's EXPOSE of its Dockerfile, else its image's."""
    services = config.get("services") or {}
    found: dict[str, int] = {}
    for raw in services.values():
        for base in _proxy_sources(raw):
            for path in ([base] if base.is_file() else sorted(base.rglob("*.conf")) if base.is_dir() else []):
                try:
                    text = path.read_bytes()[:SCAN_LIMIT]
                except OSError:
                    continue
                for host, port in UPSTREAM.findall(text):
                    if host.decode() in services:
                        found.setdefault(host.decode(), int(port))
    for name, raw in services.items():
        if name in found or raw.get("command"):  # a worker on the API's image inherits its EXPOSE
            continue
        exposed = EXPOSE.findall(roleslib._dockerfile_text(raw).rsplit("FROM", 1)[-1]) if raw.get("build") else []
        if not exposed and raw.get("image"):
            exposed = [str(p) for p in _image_exposed(stack, raw["image"])]
        if exposed:
            found[name] = int(exposed[0])
    return found


def _image_exposed(stack: Stack, image: str) -> list[int]:
    try:
        return stack.engine.image_exposed(image)
    except Exception:  # noqa: BLE001  (no engine, no image: nothing learnt)
        return []


def with_answered_health(stack: Stack, roles: roleslib.Roles) -> roleslib.Roles:
    """A health path for an app that has none, only where the running app answered it with a 200."""
    from stackctl.health import probes

    try:
        containers = stack.containers()
    except Exception:  # noqa: BLE001  (not running: nothing answered, nothing proposed)
        return roles
    apps = dict(roles.apps)
    for name, app in roles.apps.items():
        info = containers.get(name)
        if app.health or not app.port or info is None or info.state != "running" or not info.ips:
            continue
        for path in HEALTH_PATHS:
            if probes.http(f"http://{info.ips[0]}:{app.port}{path}").state.value == "ready":
                apps[name] = app.model_copy(update={"health": path})
                break
    return roles.model_copy(update={"apps": apps})


def _conventional_overlay(stack: Stack) -> Path | None:
    from dataclasses import replace

    return replace(stack.project, env="production").production_overlay()


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
