"""The one place where what the engine, compose and the OS raise becomes a StackError: one line
saying what failed, a hint naming what to do. The adapters (engine, compose) and the CLI's last
resort call `translate`; nothing else catches a docker, requests or subprocess exception.
"""

from __future__ import annotations

import errno
import os
import subprocess
from urllib.parse import urlparse

from stackctl.errors import EXIT_FAILED, EXIT_NO_ENGINE, StackError

ENGINE_GONE = "is the Docker engine running? (sudo systemctl start docker), then stackctl check"
ROOT = "run it as root (sudo stackctl ...) or as a member of the docker group"


DEFAULT_ENGINE = "unix:///var/run/docker.sock"
COMPOSE_NO_ENGINE = "Cannot connect to the Docker daemon"


def engine_gone(address: str | None, said: BaseException | str) -> StackError:
    """The one line for "no engine answers there", whoever noticed (the SDK, compose, the CLI),
    with the one exit code for it (EXIT_NO_ENGINE)."""
    where = address or os.environ.get("DOCKER_HOST") or DEFAULT_ENGINE
    why, hint = _why_no_answer(where, str(said))
    return StackError(f"no Docker engine answers at {where}: {why}", hint, EXIT_NO_ENGINE)


def _why_no_answer(where: str, said: str) -> tuple[str, str]:
    url = urlparse(where)
    low = said.lower()
    if "permission denied" in low or "permissionerror" in low:
        return "permission denied on its socket", ROOT
    if url.scheme == "unix" and url.path and not os.path.exists(url.path):
        return "the socket does not exist", ENGINE_GONE
    if "refused" in low:
        return "connection refused", ENGINE_GONE
    if "name or service not known" in low or "name resolution" in low or "nodename nor servname" in low:
        return f"the host name {url.hostname} does not resolve", "check DOCKER_HOST (or -H)"
    if "timed out" in low or "timeout" in low:
        return "no answer in time", ENGINE_GONE
    if said.startswith("not a Docker engine"):
        return said, "check DOCKER_HOST (or -H): something else answers at that address"
    if url.scheme == "ssh":
        return ("the ssh connection ended without an answer",
                f"try: ssh {url.netloc} docker version (the key, known_hosts, the docker group there)")
    return (_last_line(said).removeprefix("Error while fetching server API version: ")[:200]
            or "it does not answer"), ENGINE_GONE


def _last_line(text: str | bytes | None) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    lines = (text or "").strip().splitlines()
    return lines[-1] if lines else ""


def translate(exc: BaseException, action: str) -> StackError:
    """`action` says what was being done ("starting container 1a2b3c", "docker compose build")."""
    if isinstance(exc, StackError):
        return exc
    if isinstance(exc, PermissionError) or (isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM)):
        where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        return StackError(f"{action}: permission denied{where}", ROOT)
    kind = _docker_kind(exc)
    if kind == "api":
        explanation = getattr(exc, "explanation", None) or str(exc)
        status = getattr(exc, "status_code", None) or getattr(getattr(exc, "response", None), "status_code", None)
        if status == 403 or "permission denied" in str(explanation).lower():
            return StackError(f"{action}: the engine refused: {_last_line(str(explanation))}", ROOT)
        return StackError(f"{action}: the engine refused: {_last_line(str(explanation))}",
                          "run stackctl check; add --debug for the full error")
    if kind == "gone":
        return StackError(f"{action}: the Docker engine stopped answering ({_last_line(str(exc)) or type(exc).__name__})",
                          ENGINE_GONE, EXIT_NO_ENGINE)
    if kind == "compose":
        stderr = getattr(exc, "stderr", "") or ""
        if COMPOSE_NO_ENGINE in stderr:
            return engine_gone(None, stderr)
        lines = stderr.strip().splitlines()
        return StackError(f"{action} failed: {lines[-1] if lines else _last_line(str(exc))}",
                          "run stackctl check; add --debug for the full output",
                          details="\n".join(lines[-30:-1]) or None)
    if isinstance(exc, subprocess.CalledProcessError):
        said = _last_line(exc.stderr) or _last_line(exc.output)
        command = " ".join(map(str, exc.cmd[:2])) if isinstance(exc.cmd, (list, tuple)) else str(exc.cmd)
        return StackError(f"{action}: {command} exited with {exc.returncode}" + (f": {said}" if said else ""),
                          "run it by hand to see the whole output", EXIT_FAILED)
    if isinstance(exc, subprocess.TimeoutExpired):
        return StackError(f"{action}: no answer within {exc.timeout:.0f}s", ENGINE_GONE)
    if isinstance(exc, FileNotFoundError) and exc.filename in ("docker", "systemctl"):
        return StackError(f"{action}: the {exc.filename} command is not installed",
                          "install the docker CLI and the compose v2 plugin, then stackctl check")
    if isinstance(exc, OSError):
        where = f" ({exc.filename})" if exc.filename else ""
        return StackError(f"{action}: {exc.strerror or exc}{where}", "check the path's permissions and free space")
    return StackError(f"{action}: unexpected {type(exc).__name__}: {exc}",
                      "run again with --debug for the traceback, and please report it")


def translatable(exc: BaseException) -> bool:
    """Whether `translate` knows the exception (the rest are bugs: the CLI reports them as such)."""
    return isinstance(exc, (OSError, subprocess.SubprocessError)) or _docker_kind(exc) is not None


def _docker_kind(exc: BaseException) -> str | None:
    """Classify by class names: docker and requests are never imported here."""
    for cls in type(exc).__mro__:
        module, name = cls.__module__, cls.__name__
        if module.startswith("docker.errors") and name in ("APIError", "NotFound", "ImageNotFound"):
            return "api"
        if module == "stackctl.engine_http":  # the Engine's light reader (Refused, NotFound, Unreachable)
            return "gone" if name == "Unreachable" else "api"
        if module.startswith("python_on_whales"):
            return "compose"
        if module.startswith(("requests.", "urllib3.")) and name in ("ConnectionError", "ReadTimeout",
                                                                    "ProtocolError", "ConnectTimeout"):
            return "gone"
        if module.startswith("docker.errors") and name == "DockerException":
            return "gone"
    return None
