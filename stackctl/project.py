"""Where the stack lives: the project root and the files that describe it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from stackctl.errors import ConfigError

ENVIRONMENTS = ("development", "production")
COMPOSE_FILE = Path("compose/compose.yaml")
PROD_OVERLAY = Path("compose/compose.prod.yaml")


@dataclass(frozen=True)
class Project:
    root: Path
    env: str = "development"

    @property
    def env_file(self) -> Path:
        return self.root / (".env.production" if self.env == "production" else ".env")

    @property
    def state_dir(self) -> Path:
        return self.root / ".stackctl"

    @property
    def images_env_file(self) -> Path:
        """Machine-local image choices written by scripts/standin-images.sh."""
        return self.state_dir / "images.env"

    @property
    def deployed_env_file(self) -> Path:
        """The image references of the release `deploy` / `rollback` put in service."""
        return self.state_dir / f"deployed-{self.env}.env"

    def env_files(self) -> list[Path]:
        """Existing env files, lowest precedence first."""
        files = (self.images_env_file, self.env_file, self.deployed_env_file)
        return [p for p in files if p.is_file()]

    def compose_files(self, extra: str = "") -> list[Path]:
        files = [self.root / COMPOSE_FILE]
        if self.env == "production" and (self.root / PROD_OVERLAY).is_file():
            files.append(self.root / PROD_OVERLAY)
        for item in filter(None, extra.split(os.pathsep)):
            path = Path(item) if Path(item).is_absolute() else self.root / item
            if not path.is_file():
                raise ConfigError(f"compose file {item} (COMPOSE_FILES_EXTRA) does not exist",
                                  "fix the path or unset COMPOSE_FILES_EXTRA")
            files.append(path)
        return files


def find_root(start: Path | None = None) -> Path:
    """The nearest directory at or above `start` that holds compose/compose.yaml."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / COMPOSE_FILE).is_file():
            return candidate
    raise ConfigError(
        f"no {COMPOSE_FILE} in {here} or above",
        "run stackctl inside a stackctl project, or pass --project-dir / set STACKCTL_PROJECT_DIR",
    )


def open_project(project_dir: Path | None, env: str) -> Project:
    if env not in ENVIRONMENTS:
        raise ConfigError(f"unknown environment '{env}'", "use --env development or --env production")
    root = find_root(project_dir) if project_dir is None else Path(project_dir).resolve()
    if not (root / COMPOSE_FILE).is_file():
        raise ConfigError(f"{root} has no {COMPOSE_FILE}", "point --project-dir at a stackctl project")
    return Project(root=root, env=env)
