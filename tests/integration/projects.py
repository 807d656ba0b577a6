"""Scratch projects for tests and benches (no pytest here: bench/ imports it too)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def reference_roles(edge: bool = False) -> str:
    """The reference stack's stackctl.yaml, without its `edge:` block unless asked: production as
    a user without stackctl's edge runs it (nginx serves HTTPS_PORT itself), which most tests are
    about; the edge's own tests keep the block."""
    import yaml

    text = (ROOT / "stackctl.yaml").read_text()
    if edge:
        return text
    roles = yaml.safe_load(text)
    roles.pop("edge", None)
    return yaml.safe_dump(roles, sort_keys=False)


def project_with_own_images(directory: Path, edge: bool = False) -> Path:
    """A project of its own sharing the repository's compose files, with a copy of the images
    (the test or bench changes the API's source); `edge`: the reference's edge kept."""
    (directory / "compose").symlink_to(ROOT / "compose")
    (directory / "stackctl.yaml").write_text(reference_roles(edge))
    shutil.copytree(ROOT / "images", directory / "images", ignore=shutil.ignore_patterns("node_modules", "dist"))
    (directory / ".stackctl").mkdir()
    if (ROOT / ".stackctl" / "images.env").is_file():
        shutil.copy(ROOT / ".stackctl" / "images.env", directory / ".stackctl" / "images.env")
    return directory
