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
    result = engine.read(info.id, ["cat", path])
    return result.stdout.rstrip("\n") if result.exit_code == 0 else None


def reads(statement: str) -> bool:
    """An SQL statement whose answer stackctl reads as data and that changes nothing when run again
    (SELECT, SHOW; pg_terminate_backend ends sessions ended already): run through Engine.read."""
    return statement.lstrip().split(None, 1)[0].upper() in ("SELECT", "SHOW")
