"""A cache of the parsed compose model (services, dependencies, roles, images, published ports).

It holds no environment values, so no secrets. Its key hashes every file compose reads (the
compose files, what they `include` or `extends`, the services' `env_file`s, the interpolation
env files), the roles file, the profiles and project name, and each process variable the
compose files name: a change to any of them reads the model again.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from stackctl.plan import StackModel, model_from_json, model_to_json
from stackctl.project import Project

FILE = "model-cache.json"
VERSION = 5
VARIABLE = re.compile(rb"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def read_compose_yaml(path: Path):
    """A compose file as plain data: compose's own tags (!reset, !override) read as their value."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def any_tag(loader, _suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", any_tag)
    try:
        return yaml.load(path.read_text(), Loader=Loader) or {}
    except (yaml.YAMLError, OSError, UnicodeDecodeError):
        return {}


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def referenced(path: Path) -> list[Path]:
    """Files a compose file makes compose read: include, extends.file, env_file (no interpolation)."""
    data = read_compose_yaml(path)
    if not isinstance(data, dict):
        return []
    found = []
    for item in _as_list(data.get("include")):
        for p in _as_list(item.get("path") if isinstance(item, dict) else item):
            found.append(p)
        if isinstance(item, dict):
            found += _as_list(item.get("env_file"))
    for raw in (data.get("services") or {}).values():
        if not isinstance(raw, dict):
            continue
        extends = raw.get("extends")
        if isinstance(extends, dict) and extends.get("file"):
            found.append(extends["file"])
        for env_file in _as_list(raw.get("env_file")):
            found.append(env_file.get("path") if isinstance(env_file, dict) else env_file)
    return [path.parent / str(p) for p in found if isinstance(p, str) and "$" not in p]


def inputs(project: Project) -> list[Path]:
    """Every file the model depends on, compose files first, following includes and extends.
    What a compose file references is kept in the cache under the file's own digest: a command
    that finds every file unchanged parses no YAML (nor imports a YAML parser)."""
    kept = _kept_references(project)
    seen: list[Path] = []
    queue = list(project.compose_files())
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.append(path)
        if path.suffix in (".yaml", ".yml") and path.is_file():
            queue += _references(path, kept)
    return seen + project.env_files() + [project.roles_file]


_found: dict[str, dict] = {}  # compose file -> {"sha256", "references"}, found by this process


def _kept_references(project: Project) -> dict:
    try:
        refs = json.loads((project.state_dir / FILE).read_text()).get("references")
    except (OSError, ValueError, AttributeError):
        return {}
    return refs if isinstance(refs, dict) else {}


def _references(path: Path, kept: dict) -> list[Path]:
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return []
    entry = kept.get(str(path))
    if isinstance(entry, dict) and entry.get("sha256") == digest and isinstance(entry.get("references"), list) \
            and all(isinstance(r, str) for r in entry["references"]):
        found = [Path(r) for r in entry["references"]]
    else:
        found = referenced(path)
    _found[str(path)] = {"sha256": digest, "references": [str(r) for r in found]}
    return found


def key(project: Project) -> str:
    from dataclasses import fields

    from stackctl.plan import ServiceSpec

    # The model's own shape is part of the key: a newer stackctl never reads an older cache.
    shape = ",".join(f.name for f in fields(ServiceSpec))
    digest = hashlib.sha256(f"v{VERSION}\0{shape}\0{project.env}\0{project.name}\0{project.profiles}\0".encode())
    for path in inputs(project):
        try:
            data = path.read_bytes()
        except OSError:
            data = b"\0missing"
        digest.update(f"{path}\0{len(data)}\0".encode())
        digest.update(data)
        if path.suffix in (".yaml", ".yml"):
            for name in sorted(set(VARIABLE.findall(data))):
                digest.update(name + b"=" + os.environ.get(name.decode(), "").encode() + b"\0")
    for var in ("COMPOSE_PROJECT_NAME", "COMPOSE_PROFILES", "DOCKER_CONTEXT"):
        digest.update(f"{var}={os.environ.get(var, '')}\0".encode())
    digest.update(f"host={project.host or ''}\0".encode())
    return digest.hexdigest()


def load(project: Project, cache_key: str) -> StackModel | None:
    try:
        data = json.loads((project.state_dir / FILE).read_text())
        model = model_from_json(data["model"]) if data.get("key") == cache_key else None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    kept = data.get("references") if isinstance(data.get("references"), dict) else {}
    if model is not None and any(kept.get(path) != entry for path, entry in _found.items()):
        store(project, cache_key, model)  # kept with what this process found: the next one parses none
    return model


def store(project: Project, cache_key: str, model: StackModel) -> None:
    try:
        from stackctl.statefiles import write_private

        # What other file sets of the project found (another environment, a release's override)
        # is kept beside this one's, for files that still exist: a process that opens two sets
        # does not rewrite the cache on every command.
        references = {path: entry for path, entry in {**_kept_references(project), **_found}.items()
                      if Path(path).is_file()}
        write_private(project.state_dir / FILE, json.dumps({"key": cache_key, "model": model_to_json(model),
                                                             "references": references}))
    except OSError:
        pass  # a read-only project still works, just without the cache
