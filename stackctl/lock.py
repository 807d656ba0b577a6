"""One lock per stack for every command that changes it (up, down, restart, migrate, backup,
restore, deploy, rollback), held on the target engine itself: a named volume,
`stackctl-lock-<stack>`, whose labels say who holds it.

Why a volume: the engine creates a volume of a given name once; creating it again returns the one
that exists, with the labels it was made with. So each taker labels it with a nonce of its own and
holds the lock only if the volume it gets back carries that nonce: an atomic test-and-set on the
engine, from anywhere. And a volume that no container uses is left alone by `docker container
prune` and `docker system prune` (only `docker volume prune` would take it: it is said in the
README). The lock is released only by its owner (the nonce), and a holder that is gone is told
apart from a live one by its pid and that process's start time (a reused pid is not the holder).
A process that holds it may take it again (deploy runs up, restore runs backup).
"""

from __future__ import annotations

import getpass
import os
import socket
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from stackctl.engine import Engine
from stackctl.errors import EXIT_USAGE, StackError

PREFIX = "stackctl.lock."
WAIT_STEP = 0.5
_held: dict[str, tuple[int, str]] = {}  # stack -> (how deep this process holds it, its nonce)


def name(stack: str) -> str:
    return f"stackctl-lock-{stack}"


def process_started(pid: int) -> str:
    """When a process started (so a reused pid is not taken for it), or "" when it does not run."""
    import psutil

    try:
        return f"{psutil.Process(pid).create_time():.2f}"
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return ""


@dataclass(frozen=True)
class Holder:
    who: str
    host: str
    pid: int
    since: str
    release: str
    action: str = "deploy"
    owner: str = ""
    started: str = ""  # the holding process's start time

    def alive(self) -> bool | None:
        """Whether the holding process still runs (None: it runs on another machine)."""
        if self.host != socket.gethostname():
            return None
        now = process_started(self.pid)
        return bool(now) and (not self.started or now == self.started)


def holder(engine: Engine, stack: str) -> Holder | None:
    labels = engine.volume_labels(name(stack))
    if labels is None:
        return None
    return Holder(labels.get(PREFIX + "who", "?"), labels.get(PREFIX + "host", "?"),
                  int(labels.get(PREFIX + "pid", "0") or 0), labels.get(PREFIX + "since", "?"),
                  labels.get(PREFIX + "release", "?"), labels.get(PREFIX + "action", "deploy"),
                  labels.get(PREFIX + "owner", ""), labels.get(PREFIX + "started", ""))


def acquire(engine: Engine, stack: str, action: str, release: str = "", wait: float = 0) -> str:
    """Take the lock, waiting up to `wait` seconds for another holder to finish; the nonce it is held by."""
    import time

    deadline = time.monotonic() + wait
    while True:
        try:
            return _create(engine, stack, action, release)
        except StackError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(WAIT_STEP)


def _create(engine: Engine, stack: str, action: str, release: str) -> str:
    nonce = uuid.uuid4().hex
    labels = {PREFIX + "who": getpass.getuser(), PREFIX + "host": socket.gethostname(), PREFIX + "pid": str(os.getpid()),
              PREFIX + "started": process_started(os.getpid()),
              PREFIX + "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              PREFIX + "release": release, PREFIX + "action": action, PREFIX + "owner": nonce, "stackctl.stack": stack}
    got = engine.create_volume(name(stack), labels)
    if got.get(PREFIX + "owner") == nonce:
        return nonce
    held = holder(engine, stack)
    if held is None:  # released between our attempt and the look: try once more
        return _create(engine, stack, action, release)
    raise locked_error(stack, held)


def locked_error(stack: str, held: Holder) -> StackError:
    alive = held.alive()
    state = {True: "still running", False: "no longer running: the lock is stale",
             None: "on another machine"}[alive]
    hint = {False: "clear the stale lock: stackctl deploy --break-lock",
            True: "wait for it to finish, or let stackctl wait: STACKCTL_LOCK_WAIT=SECONDS",
            None: f"if that command is gone, clear it: stackctl deploy --break-lock-from-host {held.host}"}[alive]
    verb = {"deploy": "deployed", "rollback": "rolled back"}.get(held.action, f"changed (stackctl {held.action})")
    release = f", release {held.release}" if held.release else ""
    return StackError(f"stack {stack} is being {verb} by {held.who}@{held.host} (pid {held.pid}, {state}) "
                      f"since {held.since}{release}", hint, EXIT_USAGE)


def release(engine: Engine, stack: str, nonce: str) -> bool:
    """Let go of the lock this nonce holds; a lock someone else holds is left alone."""
    held = holder(engine, stack)
    if held is None or held.owner != nonce:
        return False
    return engine.remove_volume(name(stack))


def break_stale(engine: Engine, stack: str, from_host: str | None = None) -> Holder | None:
    """Remove a lock whose holder is gone: one on this machine whose process no longer runs (by
    pid and start time), or one on `from_host`, which the user says is gone. A live holder's lock
    is refused, in one line; so is another machine's, unless named."""
    held = holder(engine, stack)
    if held is None:
        return None
    alive = held.alive()
    if alive is True:
        raise StackError(f"the lock of stack {stack} is held by a running process ({held.who}@{held.host}, pid "
                         f"{held.pid}, stackctl {held.action}): it is not broken", "wait for it, or stop that "
                         "command first", EXIT_USAGE)
    if alive is None and held.host != from_host:
        raise StackError(f"the lock of stack {stack} is held from another machine ({held.who}@{held.host}, pid "
                         f"{held.pid}), which stackctl cannot look at", f"if that command is gone, say so: "
                         f"--break-lock-from-host {held.host}", EXIT_USAGE)
    engine.remove_volume(name(stack))
    return held


@contextmanager
def held(engine: Engine, stack: str, action: str, release_id: str = "", wait: float = 0):
    """Hold the lock for the block; released on success, failure, Ctrl-C, SIGTERM and SIGHUP
    alike. Taken again by the process that holds it, it is only counted (released by the
    outermost block)."""
    depth, nonce = _held.get(stack, (0, ""))
    if not depth:
        nonce = acquire(engine, stack, action, release_id, wait)
    _held[stack] = (depth + 1, nonce)
    try:
        yield
    finally:
        depth, nonce = _held[stack]
        _held[stack] = (depth - 1, nonce)
        if depth == 1:
            del _held[stack]
            release(engine, stack, nonce)
