"""Releases: ids, which images each one is, what is deployed, how each attempt ended, the audit
log, pruning.

Images stackctl builds carry the release id as their tag on the target; images it pulls are
named by digest where the engine knows one. The project remembers which release is deployed
(.stackctl/deployed-<env>.yaml, a compose override layered over the user's files), a record of
every release attempt (.stackctl/releases/<release>.json: its images by reference and by image
id, and how it ended: deployed, failed, rolled back, interrupted), and an append-only audit log
(.stackctl/audit-<stack>.jsonl). Only releases that were deployed are rollback targets and count
towards the ones kept; a failed one is never offered unless named with --include-failed.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from stackctl.project import Project
from stackctl.registry import is_digest, repository, tagged  # noqa: F401 (image references, used here and by callers)
from stackctl.results import AuditLog, ReleaseList

KEEP = 5
RELEASE_TAG = re.compile(r"^\d{8}T\d{6}Z(-[0-9a-f]{7,12})?$")


DEPLOYED, FAILED, ROLLED_BACK, DEPLOYING, INTERRUPTED = "deployed", "failed", "rolled back", "deploying", "interrupted"


@dataclass(frozen=True)
class Record:
    """One release attempt: which images it ran and how it ended."""

    release: str
    env: str
    status: str  # deploying | deployed | failed | rolled back | interrupted
    images: dict[str, str]  # service -> the reference its containers are created from
    image_ids: dict[str, str]  # service -> the image id that reference named when it was recorded
    at: str = ""
    pid: int = 0
    host: str = ""

    def to_dict(self) -> dict:
        return {"release": self.release, "env": self.env, "status": self.status, "images": self.images,
                "image_ids": self.image_ids, "at": self.at, "pid": self.pid, "host": self.host}


def record_path(project: Project, release: str, env: str | None = None) -> Path:
    """`releases/<release>.<env>.json`: one release may be deployed to staging and to production
    (`deploy --release`, `promote`), each with its own record."""
    return project.state_dir / "releases" / f"{release}.{env or project.env}.json"


def _legacy_path(project: Project, release: str) -> Path:
    return project.state_dir / "releases" / f"{release}.json"  # records before they were per environment


def write_record(project: Project, record: Record) -> None:
    from stackctl.statefiles import write_private

    write_private(record_path(project, record.release, record.env), json.dumps(record.to_dict(), indent=2) + "\n")


def _parse(path: Path) -> Record | None:
    try:
        data = json.loads(path.read_text())
        record = Record(str(data["release"]), str(data["env"]), str(data["status"]),
                        {str(k): str(v) for k, v in dict(data["images"]).items()},
                        {str(k): str(v) for k, v in dict(data.get("image_ids") or {}).items()},
                        str(data.get("at", "")), int(data.get("pid") or 0), str(data.get("host", "")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    named = path.name in (f"{record.release}.json", f"{record.release}.{record.env}.json")
    return record if RELEASE_TAG.match(record.release) and named else None


def read_record(project: Project, release: str, env: str | None = None) -> Record | None:
    if not RELEASE_TAG.match(release):
        return None
    env = env or project.env
    for path in (record_path(project, release, env), _legacy_path(project, release)):
        record = _parse(path) if path.is_file() else None
        if record is not None and record.env == env:
            return record
    return None


def read_records(project: Project, env: str) -> list[Record]:
    """The environment's release records, newest first; a file that does not read as one is skipped."""
    folder = project.state_dir / "releases"
    found: dict[str, Record] = {}
    for path in sorted(folder.glob("*.json") if folder.is_dir() else (), key=lambda p: p.name.count(".")):
        record = _parse(path)
        if record and record.env == env:
            found[record.release] = record  # the per-environment file wins over a legacy one
    return sorted(found.values(), key=lambda r: r.release, reverse=True)


def mark(project: Project, release: str, status: str) -> None:
    from dataclasses import replace

    record = read_record(project, release, project.env)
    if record is not None:
        write_record(project, replace(record, status=status))


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


CONFIG_LABEL = "stackctl.config"  # on a rolled service's containers: the configuration it was made from
RELEASE_LABEL = "stackctl.release"  # on the containers of a release shipped by digest: its id (promote reads it)


@dataclass(frozen=True)
class Deployed:
    release: str
    images: dict[str, str]  # service -> image reference, for every service stackctl builds
    # service -> digest of its configuration without its image (a label on its containers): a
    # deploy rolls an app whose configuration changed even when its image did not
    configs: dict[str, str] = field(default_factory=dict)
    labelled: tuple[str, ...] = ()  # services shipped by digest: their containers carry RELEASE_LABEL


def override_text(deployed: Deployed) -> str:
    """A compose override naming the release's images: layered over the user's files, never
    written into them."""
    lines = ["# Written by stackctl deploy/rollback: the images of the release in service. Do not edit.",
             f"x-stackctl-release: {json.dumps(deployed.release)}", "services:" if deployed.images or deployed.configs else "services: {}"]
    for service in sorted(set(deployed.images) | set(deployed.configs)):
        lines.append(f"  {json.dumps(service)}:")
        if service in deployed.images:
            lines.append(f"    image: {json.dumps(deployed.images[service])}")
        labels = {**({CONFIG_LABEL: deployed.configs[service]} if service in deployed.configs else {}),
                  **({RELEASE_LABEL: deployed.release} if service in deployed.labelled else {})}
        if labels:
            lines.append("    labels:")
            lines += [f"      {key}: {json.dumps(value)}" for key, value in labels.items()]
    return "\n".join(lines) + "\n"


def config_digest(raw: dict) -> str:
    """A service's compose configuration without what a release sets (its image, the label
    itself) or what does not make a new container (build, scale, depends_on)."""
    import hashlib

    kept = {k: v for k, v in raw.items() if k not in ("image", "build", "pull_policy", "scale", "depends_on")}
    labels = {k: v for k, v in (kept.get("labels") or {}).items() if k not in (CONFIG_LABEL, RELEASE_LABEL)}
    kept["labels"] = labels
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:16]


def write_override(path: Path, deployed: Deployed) -> Path:
    from stackctl.statefiles import write_private

    write_private(path, override_text(deployed))
    return path


def read_override(path: Path) -> Deployed | None:
    if not path.is_file():
        return None
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
        services = data.get("services") or {}
        return Deployed(str(data["x-stackctl-release"]),
                        {name: raw["image"] for name, raw in services.items() if raw.get("image")},
                        {name: str((raw.get("labels") or {})[CONFIG_LABEL]) for name, raw in services.items()
                         if CONFIG_LABEL in (raw.get("labels") or {})},
                        tuple(name for name, raw in services.items() if RELEASE_LABEL in (raw.get("labels") or {})))
    except (yaml.YAMLError, KeyError, TypeError):
        return None


def read_deployed(project: Project) -> Deployed | None:
    return read_override(project.deployed_file)


def write_deployed(project: Project, deployed: Deployed) -> None:
    write_override(project.deployed_file, deployed)


def stack_for(stack, deployed: Deployed):
    """The stack with the release's override layered over the user's files."""
    path = write_override(release_file(stack.project, deployed.release), deployed)
    return stack.with_files(path)


def release_file(project: Project, release: str) -> Path:
    return project.state_dir / "releases" / f"{release}.yaml"


def audit_path(project: Project, stack: str) -> Path:
    return project.state_dir / f"audit-{stack}.jsonl"


def audit(project: Project, stack: str, entry: dict) -> None:
    """One line appended, owner-only, with every known secret masked (an error can quote one)."""
    from stackctl.masking import mask_data
    from stackctl.statefiles import append_private

    append_private(audit_path(project, stack), json.dumps(mask_data(entry)) + "\n")


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


def prune_releases(stack, keep: list[str]) -> list[str]:
    """Untag the built images of every release beyond the KEEP newest deployed ones (and `keep`):
    failed, rolled back and interrupted releases never count among those kept."""
    records = read_records(stack.project, stack.project.env)
    deployed = [r.release for r in records if r.status == DEPLOYED][:KEEP]
    keep_ids = list(dict.fromkeys(deployed + keep))
    images = stack.model.built_images()
    if records:
        return prune(stack.engine, images, keep_ids)
    # releases made before records were kept: the newest tags count, as they did then
    return prune(stack.engine, images, (release_tags(stack.engine, images[0])[:KEEP] if images else []) + keep)


def prune(engine, images: list[str], keep_ids: list[str]) -> list[str]:
    """Untag releases beyond the ones to keep (the engine frees layers nothing else uses)."""
    removed = []
    for image in images:
        for tag in release_tags(engine, image):
            if tag not in keep_ids and engine.untag(f"{repository(image)}:{tag}"):  # in use: kept
                removed.append(f"{repository(image)}:{tag}")
    return removed


def listing(stack) -> ReleaseList:
    """`stackctl releases`: each release attempt recorded for this environment, how it ended, and
    whether its images are still on the target; joined with who deployed it."""
    project = stack.project
    current = read_deployed(project)
    history = {e["release"]: e for e in read_audit(project, stack.name) if e.get("action") == "deploy"}
    rows = tuple({"release": r.release, "status": r.status, "current": bool(current and current.release == r.release),
                  "on_target": on_target(stack.engine, r), "commit": (history.get(r.release) or {}).get("commit"),
                  "deployed_by": (history.get(r.release) or {}).get("who"),
                  "deployed_at": (history.get(r.release) or {}).get("when")}
                 for r in read_records(project, project.env))
    return ReleaseList(current.release if current else None, rows)


def pullable(engine, record: Record) -> bool:
    """Every image of the release on the target, or named by digest (a rollback pulls those bytes)."""
    return all(is_digest(ref) or engine.image_id(ref) is not None for ref in record.images.values())


def on_target(engine, record: Record) -> bool:
    """Every image of the release still on the target, as the same bytes (the image id recorded,
    where one was)."""
    for service, ref in record.images.items():
        found = engine.image_id(ref)
        if found is None or record.image_ids.get(service) not in (None, "", found):
            return False
    return True


def audit_log(stack, lines: int) -> AuditLog:
    return AuditLog(tuple(read_audit(stack.project, stack.name)[-lines:]))
