"""The API's configuration, read once from the environment the stack sets."""

import os
from dataclasses import dataclass


def secret(env, name: str) -> str:
    """NAME, or the contents of the file NAME_FILE names (production: compose secrets)."""
    path = env.get(f"{name}_FILE")
    if path:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    return env[name]


@dataclass(frozen=True)
class Config:
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    db_password: str
    redis_host: str
    redis_port: int
    redis_password: str
    cache_ttl: int

    @classmethod
    def from_env(cls) -> "Config":
        env = os.environ
        return cls(
            db_host=env.get("DATABASE_HOST", "db"),
            db_port=int(env.get("DATABASE_PORT", "5432")),
            db_name=env["DATABASE_NAME"],
            db_user=env["DATABASE_USER"],
            db_password=secret(env, "DATABASE_PASSWORD"),
            redis_host=env.get("REDIS_HOST", "redis"),
            redis_port=int(env.get("REDIS_PORT", "6379")),
            redis_password=secret(env, "REDIS_PASSWORD"),
            cache_ttl=int(env.get("CACHE_TTL_SECONDS", "60")),
        )

    def db_kwargs(self) -> dict:
        return {
            "host": self.db_host,
            "port": self.db_port,
            "dbname": self.db_name,
            "user": self.db_user,
            "password": self.db_password,
            "connect_timeout": 3,
            "application_name": "stackctl-api",
        }
