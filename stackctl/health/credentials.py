"""Credentials of the database and cache, read from their own containers, as they run.

The database service's environment says who it is (POSTGRES_USER, POSTGRES_DB, and
POSTGRES_PASSWORD or the file POSTGRES_PASSWORD_FILE names, as the official image reads
them); Redis's password comes from REDIS_PASSWORD(_FILE) or a `--requirepass` in its command,
and may be absent. Nothing here is stackctl's own setting, so the user's names work as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stackctl.containers import ContainerInfo
from stackctl.engine import Engine


@dataclass(frozen=True)
class Postgres:
    user: str
    database: str
    password: str | None = field(default=None, repr=False)


def _value(engine: Engine, info: ContainerInfo, name: str) -> str | None:
    """NAME from the container's environment, or the contents of the file NAME_FILE names."""
    value = info.env_value(name)
    if value is not None:
        return value
    path = info.env_value(f"{name}_FILE")
    if not path or info.state != "running":
        return None
    result = engine.exec(info.id, ["cat", path])
    return result.stdout.rstrip("\n") if result.exit_code == 0 else None


def postgres(engine: Engine, info: ContainerInfo) -> Postgres:
    user = _value(engine, info, "POSTGRES_USER") or "postgres"
    return Postgres(user, _value(engine, info, "POSTGRES_DB") or user, _value(engine, info, "POSTGRES_PASSWORD"))


def redis_password(engine: Engine, info: ContainerInfo) -> str | None:
    """None when the server has no password (a development Redis often has none)."""
    value = _value(engine, info, "REDIS_PASSWORD")
    if value:
        return value
    words = " ".join(info.command).split()
    if "--requirepass" in words and words.index("--requirepass") + 1 < len(words):
        return words[words.index("--requirepass") + 1]
    return None
