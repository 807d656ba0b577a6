"""A cache of the parsed compose model (services, dependencies, labels, images).

It holds no environment values, so no secrets; its key hashes everything that shapes the
model: the compose files, the env files, the non-secret settings and any process
variable the compose files name.
"""

from __future__ import annotations

import hashlib
import json
import os
import re

from stackctl.plan import StackModel, model_from_json, model_to_json
from stackctl.project import Project
from stackctl.settings import DEV_SECRETS, Settings

FILE = "model-cache.json"
VERSION = 1
VARIABLE = re.compile(rb"\$\{?([A-Za-z_][A-Za-z0-9_]*)")


def key(project: Project, settings: Settings) -> str:
    from dataclasses import fields

    from stackctl.plan import ServiceSpec

    # The model's own shape is part of the key: a newer stackctl never reads an older cache.
    shape = ",".join(f.name for f in fields(ServiceSpec))
    digest = hashlib.sha256(f"v{VERSION}\0{shape}\0{project.env}\0".encode())
    for path in [*project.compose_files(settings.compose_files_extra), *project.env_files()]:
        data = path.read_bytes()
        digest.update(f"{path}\0{len(data)}\0".encode())
        digest.update(data)
        if path.suffix in (".yaml", ".yml"):
            for name in sorted(set(VARIABLE.findall(data))):
                digest.update(name + b"=" + os.environ.get(name.decode(), "").encode() + b"\0")
    public = {k: v for k, v in settings.model_dump(mode="json").items() if k not in DEV_SECRETS}
    digest.update(json.dumps(public, sort_keys=True).encode())
    return digest.hexdigest()


def load(project: Project, cache_key: str) -> StackModel | None:
    try:
        data = json.loads((project.state_dir / FILE).read_text())
        return model_from_json(data["model"]) if data.get("key") == cache_key else None
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(project: Project, cache_key: str, model: StackModel) -> None:
    try:
        project.state_dir.mkdir(exist_ok=True)
        tmp = project.state_dir / (FILE + ".tmp")
        tmp.write_text(json.dumps({"key": cache_key, "model": model_to_json(model)}))
        tmp.replace(project.state_dir / FILE)
    except OSError:
        pass  # a read-only project still works, just without the cache
