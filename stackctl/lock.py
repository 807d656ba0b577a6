"""One lock per stack for every command that changes it (up, down, restart, migrate, backup,
restore, deploy, rollback), held on the target engine itself: a created (never started)
container with a fixed name. Creating it is atomic on the engine, so two commands, from
anywhere, cannot both hold it; its labels say who holds it, for what, since when, and from
which process. A process that holds it may take it again (deploy runs up, restore runs backup).

The container is made from a tiny image of no files (`stackctl/lock:1`, imported from an empty
archive), so the lock works on an engine that has no image of the stack yet.
"""

from __future__ import annotations

import getpass
import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from stackctl.engine import Engine, NameTaken
from stackctl.errors import EXIT_USAGE, StackError

PREFIX = "stackctl.lock."


@dataclass(frozen=True)
class Holder:
    who: str
    host: str
    pid: int
    since: str
    release: str
    action: str = "deploy"

    def alive(self) -> bool | None:
        """Whether the holding process still runs (None: it runs on another machine)."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


LOCK_IMAGE = "stackctl/lock:1"
WAIT_STEP = 0.5
_held: dict[str, int] = {}  # stack -> how deep this process holds it


def name(stack: str) -> str:
    return f"stackctl-lock-{stack}"


def lock_image(engine: Engine) -> str:
    """An image with no files at all, imported once (no registry needed)."""
    import io
    import tarfile

    if engine.image_id(LOCK_IMAGE) is None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w"):
            pass
        engine.import_image(buf.getvalue(), LOCK_IMAGE)
    return LOCK_IMAGE


def holder(engine: Engine, stack: str) -> Holder | None:
    labels = engine.labels(name(stack))
    if labels is None:
        return None
    return Holder(labels.get(PREFIX + "who", "?"), labels.get(PREFIX + "host", "?"),
                  int(labels.get(PREFIX + "pid", "0") or 0), labels.get(PREFIX + "since", "?"),
                  labels.get(PREFIX + "release", "?"), labels.get(PREFIX + "action", "deploy"))


def acquire(engine: Engine, stack: str, action: str, release: str = "", wait: float = 0) -> None:
    """Take the lock, waiting up to `wait` seconds for another holder to finish."""
    import time

    deadline = time.monotonic() + wait
    while True:
        try:
            return _create(engine, stack, action, release)
        except StackError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(WAIT_STEP)


def _create(engine: Engine, stack: str, action: str, release: str) -> None:
    labels = {PREFIX + "who": getpass.getuser(), PREFIX + "host": socket.gethostname(), PREFIX + "pid": str(os.getpid()),
              PREFIX + "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              PREFIX + "release": release, PREFIX + "action": action, "stackctl.stack": stack,
              # An image compose built carries its project/service labels: blank them, or the lock
              # would pass for one of the stack's own containers.
              "com.docker.compose.project": "", "com.docker.compose.service": ""}
    try:
        engine.create(lock_image(engine), command=["true"], name=name(stack), labels=labels)
    except NameTaken:
        held = holder(engine, stack)
        if held is None:  # released between our attempt and the look: try once more
            return _create(engine, stack, action, release)
        raise locked_error(stack, held) from None


def locked_error(stack: str, held: Holder) -> StackError:
    alive = held.alive()
    state = {True: "still running", False: "no longer running: the lock is stale",
             None: "on another machine"}[alive]
    hint = (f"if that command is dead, clear the lock: docker rm {name(stack)} (or stackctl deploy --break-lock)"
            if alive is not True else "wait for it to finish, or let stackctl wait: STACKCTL_LOCK_WAIT=SECONDS")
    verb = {"deploy": "deployed", "rollback": "rolled back"}.get(held.action, f"changed (stackctl {held.action})")
    release = f", release {held.release}" if held.release else ""
    return StackError(f"stack {stack} is being {verb} by {held.who}@{held.host} (pid {held.pid}, {state}) "
                      f"since {held.since}{release}", hint, EXIT_USAGE)


def release(engine: Engine, stack: str) -> None:
    engine.remove(name(stack))


@contextmanager
def held(engine: Engine, stack: str, action: str, release_id: str = "", wait: float = 0):
    """Hold the lock for the block; released on success, failure and Ctrl-C alike. Taken again
    by the process that holds it, it is only counted (released by the outermost block)."""
    if _held.get(stack):
        _held[stack] += 1
    else:
        acquire(engine, stack, action, release_id, wait)
        _held[stack] = 1
    try:
        yield
    finally:
        _held[stack] -= 1
        if not _held[stack]:
            release(engine, stack)
