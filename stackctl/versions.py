"""`stackctl --version`: stackctl's own version (from its git tag) and what it would drive, the
engine and compose, each as it answers now or why it does not."""

from __future__ import annotations

from stackctl import __version__


def versions(host: str | None) -> list[tuple[str, str]]:
    return [("stackctl", __version__), ("engine", _engine(host)), ("compose", _compose(host))]


def _engine(host: str | None) -> str:
    from stackctl.engine import Engine
    from stackctl.errors import StackError

    try:
        engine = Engine(host)
        answer = engine.version()
    except StackError as exc:
        return exc.message
    return f"Docker {answer.get('Version')} (API {answer.get('ApiVersion')})" + (f" at {host}" if host else "")


def _compose(host: str | None) -> str:
    from stackctl.compose import installed_version

    found = installed_version(host)
    return found if found else "the docker compose plugin is not installed (or the docker CLI is missing)"
