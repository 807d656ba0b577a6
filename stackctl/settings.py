"""stackctl's own settings, validated once, in a namespace of their own: STACKCTL_*.

Read from the process environment and the project's env file (.env, .env.<env>), where only
STACKCTL_* variables are looked at: the app's own variables (LOG_LEVEL=warn, PORT, ...) can
never break stackctl. Those variables belong to compose: stackctl hands the env files to
`docker compose --env-file`, so interpolation is exactly what compose does by hand.
"""

from __future__ import annotations

import os
import re
from typing import Annotated

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from stackctl.env_values import CREDENTIALS_URL
from stackctl.errors import ConfigError
from stackctl.project import Project


PREFIX = "STACKCTL_"
Seconds = Annotated[float, Field(gt=0, le=3600)]


class Settings(BaseSettings):
    # An empty value (STACKCTL_HEALTH_TIMEOUT= in a file) means "use the default", as in compose.
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore", env_file_encoding="utf-8",
                                      env_ignore_empty=True)

    health_timeout: Seconds = 120
    # How long a command waits for another one changing the same stack (0: fail at once, naming it).
    lock_wait: float = Field(0, ge=0, le=86400)
    min_memory_mb: int = Field(2048, ge=0)
    min_disk_mb: int = Field(5120, ge=0)

    backup_dir: str = Field("backups", min_length=1)
    backup_keep_days: int = Field(30, ge=0)
    backup_keep_count: int = Field(0, ge=0)
    # pg_dump -Fc's zlib level. 1, measured (bench/README): half the time of 6 on the bench database
    # (4.8-5.6 s against 9.8 s for 260 MB) for a dump 3% larger.
    backup_compression: int = Field(1, ge=0, le=9)
    backup_schedule_at: str = Field("03:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    # Off-site copies (`backup --push`, `backups push`): an SFTP folder, ssh keys only.
    backup_remote: str = ""
    # The key that authenticates every set this host makes (stackctl.backup.seal), relative to the project.
    backup_key_file: str = Field(".stackctl/backup.key", min_length=1)
    # Off-site copies encrypted and authenticated by restic (stackctl.backup.restic), in a repository
    # restic names: rest:https://host/, sftp:user@host:/folder, s3:..., b2:..., azure:..., gs:...
    # Its password: a file made at the first push, kept like the key above. restic runs in a
    # throwaway container of this image (on the engine's host: the repository must be reachable there).
    backup_restic_repository: str = ""
    backup_restic_password_file: str = Field(".stackctl/restic.password", min_length=1)
    restic_image: str = Field("restic/restic:0.17.3", min_length=1)
    # For a restic sftp: repository only: the ssh key (and ~/.ssh/known_hosts) restic's container uses.
    backup_ssh_key: str = ""

    # `stackctl monitor`: how often it looks, where alerts go, and the thresholds. (The WATCH_
    # spellings are the names before `watch` became `monitor`: read for one more release.)
    monitor_interval: Seconds = Field(30, validation_alias=AliasChoices("STACKCTL_MONITOR_INTERVAL",
                                                                        "STACKCTL_WATCH_INTERVAL"))
    monitor_resource_interval: Seconds = Field(60, validation_alias=AliasChoices(
        "STACKCTL_MONITOR_RESOURCE_INTERVAL", "STACKCTL_WATCH_RESOURCE_INTERVAL"))
    alert_webhook: str = ""
    alert_smtp: str = ""
    alert_smtp_password: str = ""
    alert_email_to: str = ""
    alert_email_from: str = ""
    alert_memory_percent: int = Field(90, ge=1, le=100)
    alert_disk_percent: int = Field(90, ge=1, le=100)
    # 5xx through the proxy in one resource interval: at least this many, and this share of requests
    alert_5xx_min: int = Field(10, ge=1)
    alert_5xx_percent: int = Field(5, ge=1, le=100)

    # Where `build --push` sends a release's images and `deploy --release` pulls them from
    # (stackctl.registry): host[:port][/namespace]; wins over `registry:` in stackctl.yaml.
    registry: str = ""

    # Production TLS pair (relative to the project): `certs self-signed` writes it, `check` reads it.
    tls_cert_file: str = Field("certs/tls.crt", min_length=1)
    tls_key_file: str = Field("certs/tls.key", min_length=1)
    # stackctl's edge (stackctl.yaml `edge:`): the host's ports it owns in production, and where it listens.
    edge_http_port: int = Field(80, ge=1, le=65535)
    edge_https_port: int = Field(443, ge=1, le=65535)
    edge_bind: str = Field("0.0.0.0", pattern=r"^[0-9a-fA-F.:\[\]]+$")
    # `edge: {tls: acme}`: the ACME directory (Let's Encrypt's by default), the account's email, and a CA
    # file to trust for a private ACME server's own listener (pebble's, say).
    acme_directory: str = Field("https://acme-v02.api.letsencrypt.org/directory", pattern=r"^https://\S+$")
    acme_email: str = Field("", pattern=r"^([^@\s'\"$`\\]+@[^@\s'\"$`\\]+)?$")
    acme_ca_file: str = ""
    acme_renew_days: int = Field(30, ge=1, le=36500)
    acme_check_seconds: int = Field(43200, ge=10, le=604800)


    @field_validator("backup_restic_repository")
    @classmethod
    def _restic_repository(cls, value: str) -> str:
        if value and not re.fullmatch(r"(rest:https?://|sftp:|s3:|b2:|azure:|gs:|swift:)\S+", value):
            raise ValueError("use a restic repository address: rest:https://host/, sftp:user@host:/folder, s3:..., "
                             "b2:..., azure:..., gs:... (a local folder is not off-site)")
        if value and CREDENTIALS_URL.match(value.split(":", 1)[1]):
            raise ValueError("carries a password: give it as RESTIC_REST_PASSWORD (or the backend's own variable) "
                             "in the environment, never in the address")
        return value

    @field_validator("registry")
    @classmethod
    def _registry(cls, value: str) -> str:
        from stackctl.registry import parse_address

        return parse_address(value) if value else value

    @field_validator("alert_smtp")
    @classmethod
    def _smtp(cls, value: str) -> str:
        if value and not re.fullmatch(r"(smtps|smtp(\+starttls)?)://([^:@/\s]+@)?[^:@/\s]+(:[0-9]{1,5})?/?", value):
            raise ValueError("use smtps://[user@]host[:port] or smtp+starttls://[user@]host[:port], the password in "
                             "STACKCTL_ALERT_SMTP_PASSWORD (never in the URL), the recipients in STACKCTL_ALERT_EMAIL_TO")
        return value

    @field_validator("alert_webhook")
    @classmethod
    def _webhook(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[^\s/]+\S*", value):
            raise ValueError("use an http(s):// URL")
        return value

    @field_validator("backup_remote")
    @classmethod
    def _sftp_folder(cls, value: str) -> str:
        if value and not re.fullmatch(r"sftp://[^/:@\s]+(@[^/:\s]+)?(:[0-9]+)?/\S+", value):
            raise ValueError("use sftp://user@host[:port]/folder, and an ssh key rather than a password in it")
        return value


NOT_SHOWN = {"registry", "backup_remote", "backup_restic_repository", "alert_smtp", "alert_smtp_password", "alert_webhook"}  # its value may carry a password: an error never repeats it


def load_settings(project: Project) -> Settings:
    # images.env (machine-local image choices, STACKCTL_RESTIC_IMAGE among them) beneath the env file.
    files = [p for p in (project.images_env_file, project.env_file) if p.is_file()]
    try:
        return Settings(_env_file=tuple(files) or None)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, project), f"fix it in {project.env_file.name} (see .env.example)") from None


# Settings renamed with the vocabulary (new name: the old one, still read for a release).
RENAMED = {"STACKCTL_MONITOR_INTERVAL": "STACKCTL_WATCH_INTERVAL",
           "STACKCTL_MONITOR_RESOURCE_INTERVAL": "STACKCTL_WATCH_RESOURCE_INTERVAL"}


def _describe(exc: ValidationError, project: Project) -> str:
    from dotenv import dotenv_values

    given = {**(dotenv_values(project.env_file) if project.env_file.is_file() else {}), **os.environ}
    parts = []
    for err in exc.errors():
        name = str(err["loc"][0]).upper() if err["loc"] else ""
        var = (name if name.startswith(PREFIX) else PREFIX + name) if name else "settings"
        if var in RENAMED and var not in given and RENAMED[var] in given:
            var = RENAMED[var]  # as the user spelled it
        where = "the environment" if os.environ.get(var) else project.env_file.name
        value = err.get("input")
        shown = f"={value!r}" if isinstance(value, (str, int)) and err["loc"][0] not in NOT_SHOWN else ""
        reason = err["msg"].removeprefix("Value error, ")
        parts.append(f"{var}{shown} in {where}: {reason}")
    return "invalid settings: " + "; ".join(parts)
