"""Which images need building: a hash of each build context, kept beside the image id.

`up` rebuilds an image when its sources, Dockerfile or build args change (or on --build);
BuildKit's layer cache keeps dependency layers when only source files changed.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from typing import TYPE_CHECKING

from stackctl.errors import EXIT_USAGE, StackError
from stackctl.registry import is_digest

if TYPE_CHECKING:
    from stackctl.report import Reporter
    from stackctl.stack import Stack

STATE_FILE = "build-state.json"


@dataclass(frozen=True)
class BuildTarget:
    service: str  # one compose service that builds this image
    image: str
    context: Path
    dockerfile: str
    args: str  # a hash of the build args (they may carry values that must not be stored)


def targets(model, services: list[str]) -> list[BuildTarget]:
    """One target per image: services sharing an image (backend, worker, migrate) build it once,
    named after a serving service rather than a one-off."""
    seen: dict[str, BuildTarget] = {}
    for name in sorted(services, key=lambda n: (model.services[n].oneshot, n)):
        spec = model.services[name]
        if not spec.build or spec.image in seen:
            continue
        seen[spec.image] = BuildTarget(name, spec.image, Path(spec.build_context), spec.dockerfile,
                                       spec.build_args_hash)
    return list(seen.values())


def ignore_patterns(context: Path) -> list[str]:
    """The context's .dockerignore lines, as docker reads them (comments and blanks dropped)."""
    path = context / ".dockerignore"
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def dockerignore():
    """docker-py's .dockerignore matcher (the module docker.utils.build: exclude_paths,
    PatternMatcher), without docker-py's package init (stackctl.alone): a no-op up, which only
    asks whether sources changed, does not need the SDK's client."""
    from stackctl.alone import module_alone

    return module_alone("docker.utils.build")


def context_files(target: BuildTarget) -> list[str]:
    """The files docker sends as the build context: docker-py's own .dockerignore matcher
    (`!` exceptions, `**`, directory rules), never a hand-written one."""
    included = dockerignore().exclude_paths(str(target.context), ignore_patterns(target.context),
                                            dockerfile=target.dockerfile)
    return sorted(p for p in included if (target.context / p).is_file())


def context_hash(target: BuildTarget) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([target.dockerfile, target.args]).encode())
    for rel in context_files(target):
        path = target.context / rel
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
        from stackctl.statefiles import write_private

        write_private(self.path, json.dumps(self.data, indent=2))


LOG_LINES = 30


def release_of(image: str) -> str | None:
    """The release an image reference is tagged with (`stackctl/api:20261201T030000Z-abc1234`), or None."""
    from stackctl.deploy.releases import RELEASE_TAG, repository

    tag = image[len(repository(image)) + 1:] if image != repository(image) else ""
    return tag if RELEASE_TAG.match(tag) else None


def stale(stack: Stack, services: list[str], mode: str, report: Reporter | None = None,
          new_release: bool = False) -> list[BuildTarget]:
    """The images to build: whose context changed (mode auto), all (always) or none (never). An
    image tagged with a release is that release's bytes: only the deploy that makes the release
    builds it (`new_release`); anything else runs it as it is and says when the sources moved on."""
    return _stale(stack, targets(stack.model, services), mode, report, new_release)[0]


def _stale(stack: Stack, wanted: list[BuildTarget], mode: str, report: Reporter | None,
           new_release: bool) -> tuple[list[BuildTarget], dict[str, str], BuildState]:
    state = BuildState(stack.project.state_dir)
    hashes = {t.image: context_hash(t) for t in wanted}
    found = []
    for target in wanted:
        image_id = stack.engine.image_id(target.image)
        if is_digest(target.image):  # a release shipped through a registry: its bytes, built elsewhere
            if image_id is None:
                raise StackError(f"image {target.image} ({target.service}) is not on the engine",
                                 "deploy its release again (stackctl deploy --release ID), which pulls it", EXIT_USAGE)
            continue
        release = None if new_release else release_of(target.image)
        if release is not None:
            if image_id is None:
                raise StackError(f"image {target.image} of release {release} ({target.service}) is not on the engine",
                                 "deploy a new release (stackctl deploy) or roll back to one that is "
                                 "(stackctl releases)", EXIT_USAGE)
            if report and (mode == "always" or not state.is_current(target.image, hashes[target.image], image_id)):
                report.note(f"{target.service}: its sources differ from release {release}, which runs as it was "
                            "built; they reach here with stackctl deploy")
            continue
        if mode == "never":
            if image_id is None:
                raise StackError(f"image {target.image} ({target.service}) does not exist",
                                 "run stackctl up (it builds missing images) or stackctl up --build", EXIT_USAGE)
            continue
        if mode == "always" or not state.is_current(target.image, hashes[target.image], image_id):
            found.append(target)
    return found, hashes, state


def build_images(stack: Stack, services: list[str], mode: str, report: Reporter, new_release: bool = False) -> list[str]:
    """Build the images `stale` names, streaming compose's output as the phase; the names built."""
    to_build, hashes, state = _stale(stack, targets(stack.model, services), mode, report, new_release)
    if not to_build:
        return []
    names = [t.service for t in to_build]
    report.phase(f"building {', '.join(names)}")
    tail: list[str] = []
    started = time.monotonic()
    try:
        for line in stack.compose.build(names):
            tail = (tail + [line])[-40:]
            if line.strip():
                report.phase(f"building {', '.join(names)} ({time.monotonic() - started:.0f}s): {line.strip()[:90]}")
    except StackError as exc:
        exc.details = "\n".join(tail[-LOG_LINES:])
        exc.hint = f"fix the build of {', '.join(names)}; rebuild with stackctl up --build"
        raise
    for target in to_build:
        image_id = stack.engine.image_id(target.image)
        if image_id:
            state.record(target.image, hashes[target.image], image_id)
    return names


def build_now(stack: Stack, services: list[str], report: Reporter):
    """`stackctl build`: the named services' images (every built one by default), rebuilt."""
    from stackctl.results import Changed
    from stackctl.plan import check_known

    check_known(stack.model, services)
    wanted = services or [n for n, spec in stack.model.services.items() if spec.build]
    return Changed("built", tuple(build_images(stack, wanted, "always", report)))


def missing_pulled(stack: Stack, services: list[str]) -> dict[str, str]:
    """image -> the first service that runs it, for each image no service builds and the engine
    does not have."""
    missing: dict[str, str] = {}
    for name in sorted(services):
        spec = stack.model.services[name]
        if spec.role == "edge":
            continue  # stackctl's edge: built by stackctl.edge.prepare, never pulled
        if not spec.build and spec.image and spec.image not in missing and stack.engine.image_id(spec.image) is None:
            missing[spec.image] = name
    return missing


def pull_missing(stack: Stack, services: list[str], report: Reporter) -> list[str]:
    """Pull the images the services run and nobody builds, where the engine lacks them; a pull
    that fails names each image and its service."""
    missing = missing_pulled(stack, services)
    if not missing:
        return []
    listed = ", ".join(f"{image} ({service})" for image, service in missing.items())
    report.phase(f"pulling {listed}")
    try:
        stack.compose.pull(sorted(set(missing.values())))
    except StackError as exc:
        raise StackError(f"not on the engine and not pulled: {listed}: {exc.message}",
                         "check the registry is reachable and you are logged in (docker login), or load the "
                         "image (docker load -i FILE); stackctl check lists what is missing") from None
    return sorted(missing)
