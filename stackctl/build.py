"""Which images need building: a hash of each build context, kept beside the image id.

`up` rebuilds an image when its sources, Dockerfile or build args change (or on --build);
BuildKit's layer cache keeps dependency layers when only source files changed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

STATE_FILE = "build-state.json"


@dataclass(frozen=True)
class BuildTarget:
    service: str  # one compose service that builds this image
    image: str
    context: Path
    dockerfile: str
    args: tuple[tuple[str, str], ...]


def targets_from_config(config: dict, services: list[str]) -> list[BuildTarget]:
    """One target per image: services sharing an image (api, migrate) build it once."""
    seen: dict[str, BuildTarget] = {}
    # Name each build after a serving service rather than a one-off that shares its image.
    oneshot = {n for n in services if (config["services"][n].get("labels") or {}).get("stackctl.role") == "oneshot"}
    for name in sorted(services, key=lambda n: n in oneshot):
        raw = config["services"][name]
        build = raw.get("build")
        if not build or raw.get("image", name) in seen:
            continue
        args = build.get("args") or {}
        seen[raw.get("image", name)] = BuildTarget(
            service=name,
            image=raw.get("image", name),
            context=Path(build.get("context", ".")),
            dockerfile=build.get("dockerfile", "Dockerfile"),
            args=tuple(sorted((k, str(v)) for k, v in args.items())),
        )
    return list(seen.values())


def _ignore_patterns(context: Path) -> list[str]:
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line.rstrip("/") for line in lines if line and not line.startswith("#")]


def _ignored(rel: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        bare = pattern.removeprefix("**/")
        if fnmatch.fnmatch(rel, pattern) or fnmatch.fnmatch(rel, bare):
            return True
        if any(fnmatch.fnmatch(part, bare) for part in rel.split("/")):
            return True
    return False


def context_hash(target: BuildTarget) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([target.dockerfile, target.args]).encode())
    patterns = _ignore_patterns(target.context)
    for root, dirs, files in os.walk(target.context):
        rel_root = os.path.relpath(root, target.context)
        dirs[:] = sorted(d for d in dirs if not _ignored(os.path.normpath(os.path.join(rel_root, d)), patterns))
        for name in sorted(files):
            rel = os.path.normpath(os.path.join(rel_root, name))
            if _ignored(rel, patterns):
                continue
            path = Path(root, name)
            digest.update(f"{rel}\0{path.stat().st_mode & 0o111}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


class BuildState:
    """image -> {context hash, image id} of the last build stackctl made."""

    def __init__(self, state_dir: Path):
        self.path = state_dir / STATE_FILE
        try:
            self.data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.data = {}

    def is_current(self, image: str, context_hash: str, image_id: str | None) -> bool:
        entry = self.data.get(image) or {}
        return image_id is not None and entry.get("hash") == context_hash and entry.get("id") == image_id

    def record(self, image: str, context_hash: str, image_id: str) -> None:
        self.data[image] = {"hash": context_hash, "id": image_id}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=2))
        tmp.replace(self.path)
