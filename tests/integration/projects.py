"""Scratch projects for tests and benches (no pytest here: bench/ imports it too)."""

from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def project_with_own_images(directory: Path) -> Path:
    """A project of its own sharing the repository's compose files, with a copy of the images
    (the test or bench changes the API's source)."""
    (directory / "compose").symlink_to(ROOT / "compose")
    shutil.copy(ROOT / "stackctl.yaml", directory / "stackctl.yaml")
    shutil.copytree(ROOT / "images", directory / "images", ignore=shutil.ignore_patterns("node_modules", "dist"))
    (directory / ".stackctl").mkdir()
    if (ROOT / ".stackctl" / "images.env").is_file():
        shutil.copy(ROOT / ".stackctl" / "images.env", directory / ".stackctl" / "images.env")
    return directory
