"""Compose secrets as docker secrets, versioned by content: `<stack>_<secret>_<digest>`. A changed
value is a new secret, so the services that read it are updated to it; versions no service uses
any more are removed after a deploy. Values come from where compose reads them (a file, or a
variable of the env files) and reach the engine through the SDK only."""

from __future__ import annotations

import hashlib
from pathlib import Path

from stackctl.errors import ConfigError

STACK_KEY = "stackctl.stack"
SECRET_KEY = "stackctl.secret"


def versioned_name(stack: str, secret: str, value: bytes) -> str:
    return f"{stack}_{secret}_{hashlib.sha256(value).hexdigest()[:12]}"[:64]


def values(config: dict, environment: dict[str, str]) -> dict[str, bytes]:
    """Each compose secret's value, read as compose reads it."""
    found = {}
    for name, spec in (config.get("secrets") or {}).items():
        if spec.get("external"):
            continue  # a docker secret already: see external()
        if spec.get("file"):
            path = Path(spec["file"])
            if not path.is_file():
                raise ConfigError(f"secret {name}: {path} does not exist", "create the file, then run again")
            found[name] = path.read_bytes()
        elif spec.get("environment"):
            variable = spec["environment"]
            if variable not in environment:
                raise ConfigError(f"secret {name}: variable {variable} is not set",
                                  "set it in the env file, then run again")
            found[name] = environment[variable].encode()
    return found


def of_stack(stack) -> dict[str, bytes]:
    """The stack's compose secrets' values (its env files read only when a secret needs them)."""
    return values(stack.config, stack.compose.environment() if stack.config.get("secrets") else {})


def external(config: dict) -> dict[str, str]:
    """Compose secrets that name an existing docker secret: used as they are."""
    return {name: spec.get("name") or name for name, spec in (config.get("secrets") or {}).items()
            if spec.get("external")}


def ensure(engine, stack: str, wanted: dict[str, bytes]) -> dict[str, str]:
    """Create the versions that do not exist yet; compose secret -> docker secret name."""
    existing = {s["Spec"]["Name"] for s in engine.swarm_secrets(f"{STACK_KEY}={stack}")}
    names = {}
    for secret, value in sorted(wanted.items()):
        name = versioned_name(stack, secret, value)
        if name not in existing:
            engine.create_secret(name, value, {STACK_KEY: stack, SECRET_KEY: secret})
        names[secret] = name
    return names


def prune(engine, stack: str, keep: set[str]) -> list[str]:
    """Remove this stack's secret versions not in `keep` (one still used by a task stays)."""
    removed = []
    for secret in engine.swarm_secrets(f"{STACK_KEY}={stack}"):
        if secret["Spec"]["Name"] not in keep and engine.remove_secret(secret["ID"]):
            removed.append(secret["Spec"]["Name"])
    return removed
