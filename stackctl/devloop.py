"""`stackctl up --watch`: the dev loop. After `up`, an edit in a service's sources reaches the
running stack without a manual rebuild.

What is watched and what a change does is compose's own `develop.watch` where a service declares
it (sync, sync+restart, restart, rebuild; `ignore` honoured), so the same file works with
`docker compose watch`. A service that builds an image and declares nothing is rebuilt when a
file of its build context changes (the .dockerignore'd ones never count). Either way the result
goes through stackctl's own paths, gated on health: a sync copies the changed files into the
running containers, a restart is `stackctl restart`'s, a rebuild is `up`'s (the image rebuilt,
migrations run again when theirs changed, the containers replaced in dependency order).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from stackctl.errors import EXIT_USAGE, StackError
from stackctl.report import Reporter
from stackctl.stack import Stack

ACTIONS = ("sync", "sync+restart", "restart", "rebuild")
DEBOUNCE_MS = 200  # an editor's save is often several writes: one batch, not several reactions


@dataclass(frozen=True)
class Rule:
    service: str
    action: str  # one of ACTIONS
    path: Path  # on the host, absolute: a folder or one file
    target: str = ""  # where `path` lives in the container (sync)
    ignore: tuple[str, ...] = ()  # .dockerignore-style patterns, relative to `path`

    def covers(self, changed: Path) -> bool:
        if changed != self.path and self.path not in changed.parents:
            return False
        if not self.ignore:
            return True
        from stackctl.build import dockerignore

        rel = "." if changed == self.path else changed.relative_to(self.path).as_posix()
        return not dockerignore().PatternMatcher(list(self.ignore)).matches(rel)


@dataclass(frozen=True)
class Reaction:
    service: str
    action: str  # the strongest action a batch asks of the service
    files: tuple[tuple[str, Path], ...] = ()  # (path in the container, path on the host) to copy


def rules(stack: Stack, services: Iterable[str]) -> list[Rule]:
    """The watch rules of the running (non one-shot) services among `services`."""
    from stackctl.build import ignore_patterns

    raw_services = stack.config.get("services") or {}
    found = []
    for name in services:
        spec = stack.model.services[name]
        if spec.oneshot:
            continue
        declared = ((raw_services.get(name) or {}).get("develop") or {}).get("watch") or []
        for entry in declared:
            action = entry.get("action")
            if action == "sync+exec":  # newer compose: treated as a plain sync here
                action = "sync"
            if action not in ACTIONS:
                raise StackError(f"service {name}: develop.watch action {entry.get('action')!r} is not one stackctl "
                                 f"runs ({', '.join(ACTIONS)})", "change it in your compose file", EXIT_USAGE)
            if action.startswith("sync") and not entry.get("target"):
                raise StackError(f"service {name}: develop.watch {action} of {entry.get('path')} has no target",
                                 "add target: (where those files live in the container)", EXIT_USAGE)
            found.append(Rule(name, action, Path(entry["path"]), entry.get("target", ""),
                              tuple(entry.get("ignore") or ())))
        if not declared and spec.build and spec.build_context:
            context = Path(spec.build_context)
            found.append(Rule(name, "rebuild", context, "", tuple(ignore_patterns(context))))
    return found


STRENGTH = {"sync": 0, "sync+restart": 1, "restart": 1, "rebuild": 2}


def react(rules_: list[Rule], changed: Iterable[tuple[Path, bool]]) -> list[Reaction]:
    """What one batch of changes asks of each service: (path, still exists) pairs in, the
    strongest action per service out. A deleted file under a sync rule asks for a rebuild (the
    container cannot be told about a file that is gone by copying), as compose does."""
    wanted: dict[str, str] = {}
    files: dict[str, list[tuple[str, Path]]] = {}
    for path, exists in changed:
        for rule in rules_:
            if not rule.covers(path):
                continue
            action = rule.action
            if action.startswith("sync"):
                if not exists:
                    action = "rebuild"
                elif path.is_file():
                    rel = "" if path == rule.path else path.relative_to(rule.path).as_posix()
                    inside = rule.target.rstrip("/") + ("/" + rel if rel else "")
                    files.setdefault(rule.service, []).append((inside, path))
            if STRENGTH[action] >= STRENGTH.get(wanted.get(rule.service, ""), -1):
                wanted[rule.service] = action
    return [Reaction(name, action, tuple(sorted(set(files.get(name, [])))) if action != "rebuild" else ())
            for name, action in sorted(wanted.items())]


def apply(stack: Stack, reactions: list[Reaction], report: Reporter, timeout: float | None) -> None:
    """Carry a batch out: syncs first, then restarts, then one `up` for every rebuild."""
    from stackctl.lifecycle import restart
    from stackctl.up import up

    containers = stack.containers()
    for reaction in reactions:
        if reaction.files and reaction.service in containers:
            stack.engine.put_files(containers[reaction.service].id, list(reaction.files))
            report.note(f"{reaction.service}: {len(reaction.files)} file(s) synced "
                        f"({', '.join(inside for inside, _ in reaction.files[:3])}"
                        f"{', ...' if len(reaction.files) > 3 else ''})")
    restarts = [r.service for r in reactions if r.action in ("sync+restart", "restart")]
    rebuilds = [r.service for r in reactions if r.action == "rebuild"]
    restarts = [name for name in restarts if name not in rebuilds]
    if restarts:
        restart(stack, restarts, timeout=timeout, report=report)
    if rebuilds:
        up(stack, rebuilds, build="auto", timeout=timeout, report=report, check=False)


def watch(stack: Stack, services: list[str], *, report: Reporter, timeout: float | None = None,
          stop: threading.Event | None = None,
          changes: Callable[[list[Path], threading.Event, Callable[[], None]],
                            Iterable[list[tuple[Path, bool]]]] | None = None) -> None:
    """React to every batch of changes until `stop` is set (Ctrl-C in the CLI). A failed reaction
    is said and the loop goes on: the next save may fix it. The last line before the loop
    ("Ctrl-C stops watching") is printed once the watcher is live: a save after it is seen."""
    stop = stop or threading.Event()
    rules_ = rules(stack, services)
    if not rules_:
        raise StackError("nothing to watch: no service builds an image or declares develop.watch",
                         "add develop: watch: to a service in your compose file", EXIT_USAGE)
    roots = sorted({r.path if r.path.is_dir() else r.path.parent for r in rules_})
    for rule in sorted(rules_, key=lambda r: (r.service, r.path)):
        report.note(f"watching {rule.service}: {rule.action} on changes in {_short(stack, rule.path)}")
    ready = lambda: report.note("Ctrl-C stops watching (the stack keeps running)")  # noqa: E731
    for batch in (changes or _file_changes)(roots, stop, ready):
        reactions = react(rules_, batch)
        if not reactions:
            continue
        started = time.monotonic()
        try:
            apply(stack, reactions, report, timeout)
        except StackError as exc:
            report.note(f"error: {exc.message}" + (f" → {exc.hint}" if exc.hint else ""))
            continue
        report.note(f"{', '.join(r.service for r in reactions)}: serving the change "
                    f"{time.monotonic() - started:.1f} s after it was seen")


def _file_changes(roots: list[Path], stop: threading.Event,
                  ready: Callable[[], None]) -> Iterable[list[tuple[Path, bool]]]:
    from watchfiles import watch as watch_files

    # watchfiles' default filter drops what no build wants: .git, __pycache__, editor swap files.
    # Its watcher exists before its first wait, so the first (empty) yield after a short timeout
    # says it is live.
    announced = False
    for batch in watch_files(*roots, stop_event=stop, debounce=DEBOUNCE_MS, step=50, raise_interrupt=True,
                             rust_timeout=100, yield_on_timeout=True):
        if not announced:
            ready()
            announced = True
        if batch:
            yield [(Path(path), Path(path).exists()) for _, path in sorted(batch)]


def _short(stack: Stack, path: Path) -> str:
    try:
        return path.relative_to(stack.project.root).as_posix()
    except ValueError:
        return str(path)
