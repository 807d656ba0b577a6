"""Settings, validated once: defaults < .stackctl/images.env < .env(.production) < environment.

The same values are handed to docker compose for interpolation (through the environment of
its process, never its arguments), so one file drives both.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stackctl.errors import ConfigError
from stackctl.project import Project

# Development works with no .env at all: these are its secrets, and production refuses them.
DEV_SECRETS = {
    "postgres_password": "dev-only-postgres-password",
    "redis_password": "dev-only-redis-password",
}
PLACEHOLDERS = {"change-me", "changeme", "change_me", "password", "secret", "example",
                "default", "postgres", "redis", "admin", "test", "todo", "xxx", "replace-me"}
MIN_SECRET_LENGTH = 16

Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseSettings):
    # An empty value (HTTP_PORT= in a file) means "use the default", as in compose.
    model_config = SettingsConfigDict(extra="ignore", env_file_encoding="utf-8", env_ignore_empty=True)

    stack_env: Literal["development", "production"] = "development"
    stack_name: str = Field("stackctl", pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    bind_address: str = "127.0.0.1"

    postgres_image: str = Field("postgis/postgis:16-3.4", min_length=1)
    redis_image: str = Field("redis:7.2-bookworm", min_length=1)
    nginx_image: str = Field("nginx:1.27-bookworm", min_length=1)
    python_image: str = Field("python:3.12-slim-bookworm", min_length=1)
    node_image: str = Field("node:20-bookworm-slim", min_length=1)
    api_image: str = Field("stackctl/api:dev", min_length=1)
    web_image: str = Field("stackctl/web:dev", min_length=1)

    http_port: Port = 80
    https_port: Port = 443
    api_port: Port = 3000
    postgres_port: Port = 5432
    redis_port: Port = 6379

    postgres_user: str = Field("stackctl", min_length=1)
    postgres_db: str = Field("stackctl", min_length=1)
    postgres_password: SecretStr | None = None
    redis_password: SecretStr | None = None

    tls_cert_file: str = Field("certs/tls.crt", min_length=1)
    tls_key_file: str = Field("certs/tls.key", min_length=1)

    api_workers: int = Field(2, ge=1, le=64)
    cache_ttl_seconds: int = Field(60, ge=0)
    log_level: Literal["critical", "error", "warning", "info", "debug", "trace"] = "info"

    migrate_command: str = Field("alembic upgrade head", min_length=1)
    migrate_status_command: str = Field("alembic history --indicate-current", min_length=1)

    backup_dir: str = Field("backups", min_length=1)
    backup_keep_days: int = Field(30, ge=0)
    backup_keep_count: int = Field(0, ge=0)
    backup_compression: int = Field(6, ge=0, le=9)
    backup_schedule_at: str = Field("03:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

    health_timeout: float = Field(120, gt=0, le=3600)
    min_memory_mb: int = Field(2048, ge=0)
    min_disk_mb: int = Field(5120, ge=0)
    compose_files_extra: str = ""

    @field_validator("bind_address")
    @classmethod
    def _ip(cls, value: str) -> str:
        ipaddress.ip_address(value)
        return value

    def secret(self, name: str) -> str:
        """The secret's value: the dev-only default in development when unset."""
        value: SecretStr | None = getattr(self, name)
        if value is not None:
            return value.get_secret_value()
        if self.stack_env == "production":
            raise ConfigError(f"{name.upper()} is not set", "set it in .env.production; see stackctl check")
        return DEV_SECRETS[name]

    def ports(self) -> dict[str, int]:
        """Host ports the stack publishes: production serves HTTPS and keeps the API behind nginx."""
        front = ({"HTTPS_PORT": self.https_port} if self.stack_env == "production" else {"API_PORT": self.api_port})
        return {"HTTP_PORT": self.http_port, **front, "POSTGRES_PORT": self.postgres_port,
                "REDIS_PORT": self.redis_port}

    def compose_env(self) -> dict[str, str]:
        """Every setting as compose interpolation variables (secrets resolved)."""
        env = {}
        for name in type(self).model_fields:
            if name in DEV_SECRETS:
                env[name.upper()] = self.secret(name)
            else:
                env[name.upper()] = str(getattr(self, name))
        return env


def secret_problems(settings: Settings) -> list[tuple[str, str]]:
    """(variable, what is wrong) for each secret that production must not run with."""
    if settings.stack_env != "production":
        return []
    problems = []
    for name, dev_value in DEV_SECRETS.items():
        var = name.upper()
        value: SecretStr | None = getattr(settings, name)
        if value is None:
            problems.append((var, "is not set"))
            continue
        raw = value.get_secret_value()
        if raw == dev_value or raw.strip().lower() in PLACEHOLDERS or "change" in raw.lower():
            problems.append((var, "is a placeholder or development default"))
        elif len(raw) < MIN_SECRET_LENGTH:
            problems.append((var, f"is shorter than {MIN_SECRET_LENGTH} characters"))
    return problems


def load_settings(project: Project) -> Settings:
    files = project.env_files()
    try:
        return Settings(_env_file=tuple(files) or None, stack_env=project.env)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, project), f"fix it in {project.env_file.name} (see .env.example)") from None


def _describe(exc: ValidationError, project: Project) -> str:
    parts = []
    for err in exc.errors():
        var = str(err["loc"][0]).upper() if err["loc"] else "settings"
        where = "the environment" if os.environ.get(var) else project.env_file.name
        value = err.get("input")
        shown = "" if var.endswith("PASSWORD") or not isinstance(value, (str, int)) else f"={value!r}"
        reason = err["msg"].removeprefix("Value error, ")
        parts.append(f"{var}{shown} in {where}: {reason}")
    return "invalid settings: " + "; ".join(parts)
