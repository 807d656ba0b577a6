"""What every kind shares: reading a server's settings as the official images read them."""

from __future__ import annotations

from stackctl.containers import ContainerInfo
from stackctl.engine import Engine


def env_or_file(engine: Engine, info: ContainerInfo, name: str) -> str | None:
    """NAME from a container's environment, or the contents of the file NAME_FILE names (the
    official images' convention for secrets)."""
    value = info.env_value(name)
    if value is not None:
        return value
    path = info.env_value(f"{name}_FILE")
    if not path or info.state != "running":
        return None
    result = engine.exec(info.id, ["cat", path])
    return result.stdout.rstrip("\n") if result.exit_code == 0 else None
