"""A deploy lock on the target engine itself: a created (never started) container with a
fixed name. Creating it is atomic on the engine, so two deployers, from anywhere, cannot
both hold it; its labels say who holds it, since when, and from which process."""

from __future__ import annotations

import getpass
import os
import socket
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from stackctl.engine import Engine
from stackctl.errors import EXIT_USAGE, StackError

PREFIX = "stackctl.lock."


@dataclass(frozen=True)
class Holder:
    who: str
    host: str
    pid: int
    since: str
    release: str

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


def name(stack: str) -> str:
    return f"stackctl-deploy-lock-{stack}"


def holder(engine: Engine, stack: str) -> Holder | None:
    from docker.errors import NotFound

    try:
        labels = engine.api.inspect_container(name(stack))["Config"]["Labels"] or {}
    except NotFound:
        return None
    return Holder(labels.get(PREFIX + "who", "?"), labels.get(PREFIX + "host", "?"),
                  int(labels.get(PREFIX + "pid", "0") or 0), labels.get(PREFIX + "since", "?"),
                  labels.get(PREFIX + "release", "?"))


def acquire(engine: Engine, stack: str, image: str, release: str) -> None:
    from docker.errors import APIError

    labels = {PREFIX + "who": getpass.getuser(), PREFIX + "host": socket.gethostname(), PREFIX + "pid": str(os.getpid()),
              PREFIX + "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              PREFIX + "release": release, "stackctl.stack": stack,
              # An image compose built carries its project/service labels: blank them, or the lock
              # would pass for one of the stack's own containers.
              "com.docker.compose.project": "", "com.docker.compose.service": ""}
    try:
        engine.api.create_container(image, command=["true"], name=name(stack), labels=labels,
                                    host_config=engine.api.create_host_config(network_mode="none"))
    except APIError as exc:
        if exc.status_code != 409:
            raise
        held = holder(engine, stack)
        if held is None:  # released between our attempt and the look: try once more
            return acquire(engine, stack, image, release)
        raise locked_error(stack, held) from None


def locked_error(stack: str, held: Holder) -> StackError:
    alive = held.alive()
    state = {True: "still running", False: "no longer running: the lock is stale",
             None: "on another machine"}[alive]
    hint = ("if that deploy is dead, clear the lock: stackctl --env production deploy --break-lock"
            if alive is not True else "wait for it to finish")
    return StackError(f"stack {stack} is being deployed by {held.who}@{held.host} (pid {held.pid}, {state}) "
                      f"since {held.since}, release {held.release}", hint, EXIT_USAGE)


def release(engine: Engine, stack: str) -> None:
    from docker.errors import NotFound

    try:
        engine.api.remove_container(name(stack), force=True)
    except NotFound:
        pass


@contextmanager
def held(engine: Engine, stack: str, image: str, release_id: str):
    """Hold the lock for the block; released on success, failure and Ctrl-C alike."""
    acquire(engine, stack, image, release_id)
    try:
        yield
    finally:
        release(engine, stack)
