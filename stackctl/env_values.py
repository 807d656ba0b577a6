"""The stack's variables as its env files and the process give them, and which of them hold
secrets (to mask them in output, and to judge them in production).

Light on purpose (no pydantic): every command reads these as it opens a stack.
"""

from __future__ import annotations

import logging
import os
import re

from stackctl.project import Project

# python-dotenv logs a raw warning for each line it cannot parse; compose reports the same line
# as a one-line error of its own (exit 2), so the warning would only repeat it, unformatted.
logging.getLogger("dotenv.main").setLevel(logging.ERROR)

PLACEHOLDERS = {"change-me", "changeme", "change_me", "password", "secret", "example",
                "default", "postgres", "redis", "admin", "test", "todo", "xxx", "replace-me"}
MIN_SECRET_LENGTH = 16
MIN_DISTINCT = 8  # aaaaaaaaaaaaaaaa is 16 characters long and no secret
# Names of variables that hold secrets (checked in production, masked in output): a word of the
# name says so (DB_PASSWORD, SECRET_KEY_BASE, SENTRY_DSN, GOOGLE_CREDENTIALS), or it ends in KEY
# (SECRET_KEY, API_KEY, APP_KEY) and is not public (STRIPE_PUBLISHABLE_KEY). A name ending in
# _FILE or _PATH holds where a secret is, not the secret.
SECRET_WORDS = {"PASSWORD", "PASSWD", "PASS", "PWD", "SECRET", "SECRETS", "TOKEN", "DSN", "CREDENTIAL", "CREDENTIALS",
                "PRIVATE", "APIKEY"}
NOT_SECRET_WORDS = {"PUBLIC", "PUBLISHABLE", "FILE", "PATH", "ID"}
CREDENTIALS_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:[^/\s@]+@")


SHELL_NAMES = {"PWD", "OLDPWD"}  # the shell's working directories, not passwords


def is_secret_name(name: str) -> bool:
    if name.upper() in SHELL_NAMES:
        return False
    words = [w for w in re.split(r"[^A-Za-z0-9]+", name.upper()) if w]
    if not words or words[-1] in ("FILE", "PATH"):
        return False
    if SECRET_WORDS.intersection(words):
        return True
    return words[-1] == "KEY" and not NOT_SECRET_WORDS.intersection(words)


def is_secret(name: str, value: str | None) -> bool:
    """A variable whose name says it is a secret, or whose value carries credentials (a URL with
    user:password)."""
    return is_secret_name(name) or bool(value and CREDENTIALS_URL.match(value))


def interpolation_values(project: Project) -> dict[str, str]:
    """A quick reading of the env files (later wins) and the process environment, for names
    (which variables are set). Values that matter are read from compose itself
    (Compose.environment): python-dotenv differs from compose on `$$` and on `${VAR}` inside
    single quotes."""
    from dotenv import dotenv_values

    values: dict[str, str] = {}
    for path in project.env_files():
        values.update({k: v for k, v in dotenv_values(path, interpolate=False).items() if v is not None})
    values.update(os.environ)
    return values


def weak_secret(value: str | None) -> str | None:
    """Why a production secret is not good enough, or None. A URL is judged by its password."""
    if value and CREDENTIALS_URL.match(value):
        from urllib.parse import urlsplit

        why = weak_secret(urlsplit(value).password)
        return f"carries a password that {why}" if why else None
    if not value:
        return "is not set"
    if value.strip().lower() in PLACEHOLDERS or "change" in value.lower() or "dev-only" in value:
        return "is a placeholder or development default"
    if len(value) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    if len(set(value)) < MIN_DISTINCT:
        return f"is too simple (fewer than {MIN_DISTINCT} different characters)"
    if _sequential(value):
        return "is too simple (a run of consecutive characters)"
    return None


def _sequential(value: str) -> bool:
    """abcdefghijklmnop, 1234567890123456: each character one after the one before."""
    steps = {ord(b) - ord(a) for a, b in zip(value, value[1:])}
    return steps <= {1, -9} or steps <= {-1, 9}


def secret_values(values: dict[str, str]) -> list[str]:
    """The values of every variable that holds a secret (to mask them in output)."""
    return [v for k, v in values.items() if v and is_secret(k, v)]
