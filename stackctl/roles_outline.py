"""What opening a stack needs of stackctl.yaml before anything else: the environments' rules and
the production file. Kept in .stackctl/ once the whole file validated (stackctl.roles, with
pydantic), under the file's own digest, so that a command that only reads (ps, status) does not
pay for validating the file again while it has not changed.

The kept outline is input like any file: it is used only when its digest is the file's and its
shape is right; otherwise the file is validated again.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

from stackctl.project import RULES, Project

FILE = "roles-outline.json"
VERSION = 2
ENV_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
SAFE_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,252}$")  # a service name or a host name, as roles validated it


@dataclass(frozen=True)
class Outline:
    environments: dict[str, str] = field(default_factory=dict)  # --env name -> its rules (project.RULES)
    production_file: str | None = None  # relative to the project
    standalone: bool = False
    edge: tuple[str, ...] = ()  # stackctl.yaml's edge: what it forwards to (proxy, else the app), then its hosts


def read(project: Project):
    """(the outline, the validated Roles when this call validated them, else None), or (None, None)
    when there is no roles file."""
    path = project.roles_file
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except IsADirectoryError:
        data = b""  # stackctl.roles says what is wrong with it
    digest = hashlib.sha256(f"v{VERSION}\0".encode() + data).hexdigest()
    kept = _kept(project, digest)
    if kept is not None:
        return kept, None
    from stackctl import roles

    declared = roles.load(path)
    if declared is None:
        return None, None
    edge = (declared.edge_upstream()[0], *declared.edge.hosts) if declared.edge else ()
    outline = Outline(dict(declared.environments), declared.production.file if declared.production else None,
                      bool(declared.production and declared.production.standalone), edge)
    _keep(project, digest, outline)
    return outline, declared


def _kept(project: Project, digest: str) -> Outline | None:
    try:
        data = json.loads((project.state_dir / FILE).read_text())
        environments, production, standalone = data["environments"], data["production_file"], data["standalone"]
        edge = data["edge"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if data.get("digest") != digest or not isinstance(environments, dict) or not isinstance(standalone, bool):
        return None
    if not all(isinstance(k, str) and ENV_NAME.match(k) and v in RULES for k, v in environments.items()):
        return None
    if production is not None and not (isinstance(production, str) and production):
        return None
    if not isinstance(edge, list) or not all(isinstance(name, str) and SAFE_NAME.match(name) for name in edge):
        return None
    return Outline(environments, production, standalone, tuple(edge))


def _keep(project: Project, digest: str, outline: Outline) -> None:
    from stackctl.statefiles import write_private

    try:
        write_private(project.state_dir / FILE, json.dumps({
            "digest": digest, "environments": outline.environments, "production_file": outline.production_file,
            "standalone": outline.standalone, "edge": list(outline.edge)}))
    except OSError:
        pass  # a read-only project still works, validating each time
