"""Files compose copies into a container when it starts (secrets, configs) can change without
compose noticing: its config hash covers their names, not their contents, so a new
REDIS_PASSWORD would stay out of the running container while the services that read the env
file get the new one. stackctl keeps, per service, a keyed digest of what was injected into its
current container (`.stackctl/injected.json`, mode 0600; never the values) and has compose
recreate a container whose sources changed since.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from pathlib import Path

from stackctl.containers import ContainerInfo

FILE = "injected.json"


def _state(stack) -> tuple[Path, dict]:
    path = stack.project.state_dir / FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data.setdefault("key", secrets.token_hex(32))
    data.setdefault("services", {})
    return path, data


def _digest(stack, key: str, sources: tuple[str, ...], env: dict[str, str]) -> str:
    mac = hmac.new(bytes.fromhex(key), digestmod=hashlib.sha256)
    for source in sources:
        kind, _, ref = source.partition(":")
        if kind == "env":
            value = env.get(ref, "").encode()
        elif kind == "file":
            path = Path(ref) if Path(ref).is_absolute() else stack.project.root / ref
            try:
                value = path.read_bytes()
            except OSError:
                value = b"\0missing"
        else:
            value = ref.encode()
        mac.update(source.encode() + b"\0" + value + b"\0")
    return mac.hexdigest()


def _current(stack, services: list[str], key: str) -> dict[str, str]:
    with_files = [s for s in services if stack.model.services[s].file_sources]
    if not with_files:
        return {}
    needs_env = any(src.startswith("env:") for s in with_files for src in stack.model.services[s].file_sources)
    env = stack.compose.environment() if needs_env else {}
    return {s: _digest(stack, key, stack.model.services[s].file_sources, env) for s in with_files}


def changed(stack, services: list[str], containers: dict[str, ContainerInfo]) -> list[str]:
    """The services whose existing container holds files from other sources than they hold now."""
    _, data = _state(stack)
    now = _current(stack, services, data["key"])
    found = []
    for service, digest in now.items():
        info, seen = containers.get(service), data["services"].get(service)
        if info is not None and seen and seen.get("container") == info.id and seen.get("digest") != digest:
            found.append(service)
    return sorted(found)


def record(stack, services: list[str], containers: dict[str, ContainerInfo]) -> None:
    """What the services' containers hold now (called once compose created or kept them)."""
    path, data = _state(stack)
    now = _current(stack, services, data["key"])
    for service, digest in now.items():
        if service in containers:
            data["services"][service] = {"container": containers[service].id, "digest": digest}
    if not now:
        return
    try:
        from stackctl.statefiles import write_private

        write_private(path, json.dumps(data))
    except OSError:
        pass  # a read-only project: changes are then not detected, as before
