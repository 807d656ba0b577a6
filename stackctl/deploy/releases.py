"""Releases: ids, which images each one is, what is deployed, the audit log, pruning.

Images on the target carry the release id as their tag; the project remembers which release
is deployed (.stackctl/deployed-<env>.yaml, a compose override layered over the user's files)
and keeps an append-only audit log (.stackctl/audit-<stack>.jsonl).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from stackctl.project import Project
from stackctl.results import AuditLog, ReleaseList

KEEP = 5
RELEASE_TAG = re.compile(r"^\d{8}T\d{6}Z(-[0-9a-f]{7,12})?$")


def new_release_id(root: Path, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%SZ")
    commit = git_commit(root)
    return f"{stamp}-{commit[:10]}" if commit else stamp


def git_commit(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def repository(image: str) -> str:
    """`stackctl/api:dev` -> `stackctl/api` (a registry host with a port keeps its colon)."""
    head, sep, tail = image.rpartition(":")
    return head if sep and "/" not in tail else image


def tagged(image: str, release: str) -> str:
    return f"{repository(image)}:{release}"


@dataclass(frozen=True)
class Deployed:
    release: str
    images: dict[str, str]  # service -> image reference, for every service stackctl builds


def override_text(deployed: Deployed) -> str:
    """A compose override naming the release's images: layered over the user's files, never
    written into them."""
    lines = ["# Written by stackctl deploy/rollback: the images of the release in service. Do not edit.",
             f"x-stackctl-release: {json.dumps(deployed.release)}", "services:" if deployed.images else "services: {}"]
    lines += [f"  {json.dumps(service)}:\n    image: {json.dumps(image)}" for service, image in sorted(deployed.images.items())]
    return "\n".join(lines) + "\n"


def write_override(path: Path, deployed: Deployed) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(override_text(deployed))
    tmp.replace(path)
    return path


def read_override(path: Path) -> Deployed | None:
    if not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
        return Deployed(str(data["x-stackctl-release"]),
                        {name: raw["image"] for name, raw in (data.get("services") or {}).items()})
    except (yaml.YAMLError, KeyError, TypeError):
        return None


def read_deployed(project: Project) -> Deployed | None:
    return read_override(project.deployed_file)


def write_deployed(project: Project, deployed: Deployed) -> None:
    write_override(project.deployed_file, deployed)


def release_file(project: Project, release: str) -> Path:
    return project.state_dir / "releases" / f"{release}.yaml"


def audit_path(project: Project, stack: str) -> Path:
    return project.state_dir / f"audit-{stack}.jsonl"


def audit(project: Project, stack: str, entry: dict) -> None:
    project.state_dir.mkdir(exist_ok=True)
    with audit_path(project, stack).open("a") as f:
        f.write(json.dumps(entry) + "\n")


def read_audit(project: Project, stack: str) -> list[dict]:
    path = audit_path(project, stack)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def release_tags(engine, image: str) -> list[str]:
    """Release ids present on the target for an image repository, newest first."""
    repo = repository(image)
    tags = set()
    for ref in engine.image_tags(repo):
        r, _, tag = ref.rpartition(":")
        if r == repo and RELEASE_TAG.match(tag):
            tags.add(tag)
    return sorted(tags, reverse=True)


def prune(engine, images: list[str], keep_ids: list[str]) -> list[str]:
    """Untag releases beyond the ones to keep (the engine frees layers nothing else uses)."""
    removed = []
    for image in images:
        for tag in release_tags(engine, image):
            if tag not in keep_ids and engine.untag(f"{repository(image)}:{tag}"):  # in use: kept
                removed.append(f"{repository(image)}:{tag}")
    return removed


def listing(stack) -> ReleaseList:
    """`stackctl releases`: the release tags on the target, joined with who deployed them."""
    current = read_deployed(stack.project)
    images = stack.model.built_images()
    history = {e["release"]: e for e in read_audit(stack.project, stack.name) if e.get("action") == "deploy"}
    rows = tuple({"release": r, "current": bool(current and current.release == r),
                  "commit": (history.get(r) or {}).get("commit"), "deployed_by": (history.get(r) or {}).get("who"),
                  "deployed_at": (history.get(r) or {}).get("when")}
                 for r in release_tags(stack.engine, images[0])) if images else ()
    return ReleaseList(current.release if current else None, rows)


def audit_log(stack, lines: int) -> AuditLog:
    return AuditLog(tuple(read_audit(stack.project, stack.name)[-lines:]))
