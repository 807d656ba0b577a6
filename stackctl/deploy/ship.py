"""Build once, ship the same bytes everywhere.

`build --push` builds every image the stack builds, tags each with a new release id and the git
commit, pushes both tags to the registry (stackctl.registry) and keeps what the registry answered:
each image's digest (.stackctl/pushed/<release>.json, and the command's --json). `deploy
--release ID` (and `--image SERVICE=REF`) deploys those digests on any engine: nothing is built
there and no sources are needed, the images are pulled by digest, and the release's record names
them by digest, so a rollback runs the bytes that ran before even if a tag has moved since.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stackctl import registry as registries
from stackctl.deploy import releases
from stackctl.errors import EXIT_USAGE, StackError

if TYPE_CHECKING:
    from stackctl.report import Reporter
    from stackctl.stack import Stack


@dataclass(frozen=True)
class Shipped:
    """A release pushed to a registry: each built service's image by digest."""

    release: str
    registry: str
    commit: str | None
    images: dict[str, str]  # service -> repo@sha256:...
    tags: tuple[str, ...] = ()
    seconds: float = 0.0
    bytes_pushed: int = 0

    def to_dict(self) -> dict:
        return {"release": self.release, "registry": self.registry, "commit": self.commit, "images": self.images,
                "tags": list(self.tags), "seconds": round(self.seconds, 2), "bytes_pushed": self.bytes_pushed}


@dataclass(frozen=True)
class Wanted:
    """What a deploy of shipped images puts in service: the release id and each service's digest."""

    release: str
    images: dict[str, str] = field(default_factory=dict)
    registry: str = ""


def pushed_path(stack: Stack, release: str):
    return stack.project.state_dir / "pushed" / f"{release}.json"


def registry_repositories(stack: Stack, registry: str) -> dict[str, str]:
    """service -> its image's repository in the registry, for every service whose image the stack builds."""
    raw = stack.config.get("services") or {}
    return {name: registries.repository_in(registry, name, spec.image, bool((raw.get(name) or {}).get("image")))
            for name, spec in stack.model.services.items() if spec.build}


def build_and_push(stack: Stack, report: Reporter) -> Shipped:
    """`stackctl build --push`: every built image, tagged with a new release and the commit, pushed."""
    from stackctl.build import build_images
    from stackctl.report import Metered

    registry = registries.required(stack)
    registries.refuse_plain_http(stack, registry)
    repos = registry_repositories(stack, registry)
    if not repos:
        raise StackError("this stack builds no image: nothing to push", "deploy its pulled images with stackctl deploy",
                         EXIT_USAGE)
    started = time.monotonic()
    rid = releases.new_release_id(stack.project.root)
    commit = releases.git_commit(stack.project.root)
    tagged = {name: f"{repo}:{rid}" for name, repo in repos.items()}
    new = releases.stack_for(stack, releases.Deployed(rid, tagged))
    build_images(new, sorted(repos), "always", report, new_release=True)
    images: dict[str, str] = {}
    tags: list[str] = []
    moved = 0
    by_ref: dict[str, str] = {}
    for name in sorted(tagged):
        ref, repo = tagged[name], repos[name]
        if ref not in by_ref:
            meter = Metered(report, f"push {repo.removeprefix(registry + '/')}")
            by_ref[ref] = f"{repo}@{stack.engine.push(ref, meter)}"
            moved += meter.done
            tags.append(ref)
            if commit:
                stack.engine.tag(ref, f"{repo}:{commit[:12]}")
                stack.engine.push(f"{repo}:{commit[:12]}")
                tags.append(f"{repo}:{commit[:12]}")
        if not registries.is_digest(by_ref[ref]):
            raise StackError(f"the registry gave no digest for {ref}", "check the registry (docker push " + ref + ")")
        images[name] = by_ref[ref]
    shipped = Shipped(rid, registry, commit, images, tuple(tags), time.monotonic() - started, moved)
    from stackctl.statefiles import write_private

    write_private(pushed_path(stack, rid), json.dumps(shipped.to_dict(), indent=2) + "\n")
    return shipped


def read_pushed(stack: Stack, release: str) -> dict[str, str] | None:
    """The digests `build --push` recorded for a release on this machine, read as input."""
    path = pushed_path(stack, release)
    try:
        data = json.loads(path.read_text())
        images = {str(k): str(v) for k, v in dict(data["images"]).items()}
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return images if data.get("release") == release and all(map(registries.is_digest, images.values())) else None


def wanted(stack: Stack, release: str | None, overrides: dict[str, str]) -> Wanted:
    """The images `deploy --release ID` / `--image SERVICE=REF` puts in service, each by digest:
    the release's from this machine's record of the push, else asked of the registry by tag;
    `--image` ones resolved the same way; without --release, the rest as deployed now."""
    unknown = sorted(set(overrides) - set(stack.model.services))
    if unknown:
        raise StackError(f"--image names {', '.join(unknown)}, not a service of the stack",
                         f"services are: {', '.join(sorted(stack.model.services))}", EXIT_USAGE)
    registry = registries.address(stack) or ""
    built = set(registry_repositories(stack, registry or "-"))
    if release is not None:
        if not releases.RELEASE_TAG.match(release):
            raise StackError(f"{release!r} is not a release id", "use one that build --push printed "
                             "(YYYYMMDDTHHMMSSZ-commit)", EXIT_USAGE)
        images = {} if built <= set(overrides) else (read_pushed(stack, release) or
                                                     _ask_registry(stack, registries.required(stack), release))
    else:
        current = releases.read_deployed(stack.project)
        missing = sorted(built - set(overrides))
        if current is None and missing:
            raise StackError(f"nothing is deployed yet and --image does not name {', '.join(missing)}",
                             "deploy a pushed release first (stackctl deploy --release ID)", EXIT_USAGE)
        release = releases.new_release_id(stack.project.root)
        images = dict(current.images) if current else {}
    images.update({name: _digest_ref(stack, ref) for name, ref in overrides.items()})
    return Wanted(release, images, registry)


def _ask_registry(stack: Stack, registry: str, release: str) -> dict[str, str]:
    registries.refuse_plain_http(stack, registry)
    found, absent = {}, []
    for name, repo in registry_repositories(stack, registry).items():
        digest = stack.engine.registry_digest(f"{repo}:{release}")
        if digest:
            found[name] = f"{repo}@{digest}"
        else:
            absent.append(f"{repo}:{release}")
    if absent:
        raise StackError(f"release {release} is not in the registry: no {', '.join(absent)}",
                         "push it first (stackctl build --push), and check you are logged in (docker login)",
                         EXIT_USAGE)
    return found


def _digest_ref(stack: Stack, ref: str) -> str:
    if registries.is_digest(ref):
        return ref
    digest = stack.engine.registry_digest(ref)
    if not digest:
        raise StackError(f"{ref} is not in its registry", "push it, or name it by digest (REPO@sha256:...)", EXIT_USAGE)
    return f"{releases.repository(ref)}@{digest}"


def pull_images(stack: Stack, images: dict[str, str], report: Reporter) -> list[str]:
    """Pull each digest the engine lacks, its bytes shown; the references pulled."""
    from stackctl.report import Metered

    pulled = []
    for ref in sorted(set(images.values())):
        if registries.is_digest(ref) and stack.engine.image_id(ref) is None:
            stack.engine.pull(ref, Metered(report, f"pull {ref.split('@')[0].rsplit('/', 1)[-1]}"))
            if stack.engine.image_id(ref) is None:
                raise StackError(f"pulled {ref}, yet the engine does not have it", "docker pull " + ref)
            pulled.append(ref)
    return pulled
