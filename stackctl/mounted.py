"""Configuration a container reads from the host's files: a read-only bind mount (an nginx.conf,
a conf.d folder) that changed after the container started is not what it runs with. Compose does
not see such a change (the service's configuration is the same text), so neither `up` nor
`deploy` would recreate it; stackctl compares the files' modification times with the container's
start instead: nothing to store, and a checkout that touches a file counts as a change (a
restart too many, never one too few)."""

from __future__ import annotations

import os
from pathlib import Path

from stackctl.containers import ContainerInfo

MAX_FILES = 2000  # a folder with more is data, not configuration: not looked into


def newest_mtime(path: Path) -> float | None:
    """The newest modification time of a file, or of the files in a folder (None: not readable
    here, or a folder too big to be configuration)."""
    try:
        if not path.is_dir():
            return path.stat().st_mtime
        newest, seen = path.stat().st_mtime, 0
        for root, _, files in os.walk(path):
            for name in files:
                seen += 1
                if seen > MAX_FILES:
                    return None
                try:
                    newest = max(newest, os.stat(os.path.join(root, name)).st_mtime)
                except OSError:
                    continue
        return newest
    except OSError:
        return None


def changed_since_start(info: ContainerInfo) -> list[str]:
    """The read-only bind mounts of a running container whose files changed after it started (a
    local engine's: a remote engine's paths are on its host, not here)."""
    if info.started_at is None:
        return []
    started = info.started_at.timestamp()
    return [source for source in info.read_only_binds
            if (mtime := newest_mtime(Path(source))) is not None and mtime > started]


DATA_ROLES = ("database", "cache")  # restarted by the user's word only: their clients would see it


def stale(stack, services: list[str], containers: dict[str, ContainerInfo]) -> dict[str, list[str]]:
    """Each of these services whose running container reads a read-only bind mount that changed
    after it started, with those paths (nothing for a remote engine: its paths are not here)."""
    if stack.engine.remote is not None:
        return {}
    found = {}
    for name in services:
        if stack.model.services[name].role == "edge":  # its files are stackctl's, and a change is a reload
            continue
        info = containers.get(name)
        if info is not None and info.state == "running" and (paths := changed_since_start(info)):
            found[name] = paths
    return found


def recreate_or_say(stack, services: list[str], containers: dict[str, ContainerInfo], report) -> list[str]:
    """The services to recreate because a file they read changed (each said with its paths); a
    database's or cache's is only said, with how to apply it."""
    recreate = []
    for name, paths in stale(stack, services, containers).items():
        shown = ", ".join(_shown(stack, p) for p in paths)
        if stack.model.services[name].role in DATA_ROLES:
            report.note(f"{name}: {shown} changed after its container started; it runs with what it read then "
                        f"(stackctl restart {name} applies it)")
        else:
            report.note(f"{name}: {shown} changed after its container started: a new container reads it")
            recreate.append(name)
    return recreate


def _shown(stack, path: str) -> str:
    try:
        return str(Path(path).relative_to(stack.project.root))
    except ValueError:
        return path
