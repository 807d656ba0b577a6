"""Getting into the stack: a shell or a command in a service, psql and redis-cli with the stack's
own credentials (never in argv), and the merged compose model as stackctl runs it, secrets masked.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

from stackctl.errors import EXIT_USAGE, ConfigError, StackError
from stackctl.plan import check_known
from stackctl.stack import Stack


@dataclass(frozen=True)
class Exited:
    service: str
    exit_code: int
    output: str | None = None  # collected when not attached to a terminal (--json)

    def to_dict(self) -> dict:
        return {"service": self.service, "exit_code": self.exit_code, "output": self.output}


@dataclass(frozen=True)
class ComposeModel:
    config: dict  # secret values already masked

    def to_dict(self) -> dict:
        return {"config": self.config}


def _running(stack: Stack, service: str):
    check_known(stack.model, [service])
    info = stack.containers().get(service)
    if info is None or info.state != "running":
        raise StackError(f"{service} is not running", f"start it: stackctl up {service}", EXIT_USAGE)
    return info


def _attached() -> bool:
    return sys.stdin.isatty() and sys.stdout.isatty()


@dataclass(frozen=True)
class ExecOptions:
    """compose exec's own options: -u USER, -e NAME[=VALUE] (repeatable), -w DIR, -T."""

    user: str | None = None
    env: tuple[str, ...] = ()
    workdir: str | None = None
    no_tty: bool = False

    def argv(self) -> tuple[str, ...]:
        for item in self.env:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(=.*)?", item, re.DOTALL):
                raise ConfigError(f"-e {item!r} is not NAME or NAME=VALUE",
                                  "e.g. stackctl exec -e DEBUG=1 SERVICE CMD (the environment's name goes before "
                                  "the command: stackctl --env staging exec ...)")
        return (*(("-u", self.user) if self.user else ()), *(a for item in self.env for a in ("-e", item)),
                *(("-w", self.workdir) if self.workdir else ()))


def run_in(stack: Stack, service: str, argv: list[str], *, capture: bool = False,
           secret_env: dict[str, str] | None = None, options: ExecOptions = ExecOptions()) -> Exited:
    """`stackctl exec SERVICE [CMD...]`: CMD (default a shell) in the service's running container."""
    given = options.argv()
    _running(stack, service)
    argv = argv or ["sh", "-c", "command -v bash >/dev/null && exec bash || exec sh"]
    code, output = stack.compose.exec(service, argv, tty=_attached() and not capture and not options.no_tty,
                                      secret_env=secret_env, capture=capture, options=given)
    return Exited(service, code, output if capture else None)


def psql(stack: Stack, args: list[str], *, capture: bool = False) -> Exited:
    """The database's client in its container, as the database's own user."""
    return _client(stack, "database", args, capture)


def redis_cli(stack: Stack, args: list[str], *, capture: bool = False) -> Exited:
    """The cache's client in its container; a password reaches it in its environment, never argv."""
    return _client(stack, "cache", args, capture)


def _client(stack: Stack, role: str, args: list[str], capture: bool) -> Exited:
    service = stack.role(role, f"a {role} service to open its client in")
    kind = stack.kind(role)
    argv, secret_env = kind.client(kind.credentials(stack.engine, _running(stack, service)), args)
    return run_in(stack, service, argv, capture=capture, secret_env=secret_env)


def compose_model(stack: Stack) -> ComposeModel:
    """`stackctl config`: what compose will run, with every known secret value masked."""
    from stackctl import masking
    from stackctl.env_values import is_secret

    config = stack.config
    # Values the compose files themselves default (`${REDIS_PASSWORD:-dev-...}`) or services read
    # from their env_file are in no env file of the stack's: every environment entry that is a
    # secret is one wherever it appears.
    masking.register(value for spec in (config.get("services") or {}).values()
                     for name, value in (spec.get("environment") or {}).items()
                     if isinstance(value, str) and is_secret(name, value))
    return ComposeModel(masking.mask_data(config))
