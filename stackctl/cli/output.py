"""One shape for every command's machine output: {"schema", "command", "ok", "result" | "error"}.

The result is the command's frozen result (`to_dict()`); an error is the StackError that ended it.
Humans get the same result rendered by stackctl.cli.render.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Callable

from stackctl.errors import StackError

SCHEMA = 1
_command: list[str] = []  # the command being run ("backups verify"), recorded as click resolves it


def record(name: str) -> None:
    _command.append(name)


def command_name() -> str:
    return " ".join(_command) or "stackctl"


def envelope(command: str, result: dict | None = None, error: StackError | None = None,
             ok: bool | None = None) -> dict:
    if error is not None:
        from stackctl.masking import mask

        return {"schema": SCHEMA, "command": command, "ok": False,
                "error": {"message": mask(error.message), "hint": mask(error.hint) if error.hint else None,
                          "exit_code": error.exit_code, "details": mask(error.details) if error.details else None}}
    return {"schema": SCHEMA, "command": command, "ok": True if ok is None else ok, "result": result}


def write(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload, indent=2) + "\n")
    sys.stdout.flush()


def finish(app, result: Any, human: Callable[[Any, Any], None], ok: bool | None = None) -> None:
    """Show a command's result: one envelope with --json, else the human rendering."""
    if app.json:
        write(envelope(command_name(), result.to_dict(), ok=ok))
    else:
        human(app.console(), result)


def fail(error: StackError, as_json: bool) -> None:
    if as_json:
        write(envelope(command_name(), error=error))
    from stackctl.console import Console

    Console().error(error)
