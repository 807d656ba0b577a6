"""Where the stack lives: found the way docker compose finds a project.

The compose files are, in order of precedence: `-f/--file` (repeatable), `COMPOSE_FILE`
(paths separated by `COMPOSE_PATH_SEPARATOR`, default `:`), else the first of compose's own
default names in the current directory or above (compose.yaml, compose.yml,
docker-compose.yml, docker-compose.yaml) with compose's default override file beside it
(compose.override.yml, compose.override.yaml, docker-compose.override.yml,
docker-compose.override.yaml), else `compose/compose.yaml` (this repository's own layout).
In production a production file is used: the roles file's `production:` (an overlay layered on
the files, or a standalone model used alone), or by convention an overlay, the first of
compose.prod.yaml, compose.prod.yml, docker-compose.prod.yml, docker-compose.prod.yaml (or the same
with `production` for `prod`) beside the first compose file. Compose's default override file is development's: where a production file
is used, it is not.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from stackctl.errors import ConfigError

DEFAULT_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_NAMES = ("compose.override.yml", "compose.override.yaml", "docker-compose.override.yml",
                  "docker-compose.override.yaml")
NESTED = Path("compose/compose.yaml")
PROD_NAMES = ("compose.prod.yaml", "compose.prod.yml", "docker-compose.prod.yml", "docker-compose.prod.yaml",
              "compose.production.yaml", "compose.production.yml", "docker-compose.production.yml",
              "docker-compose.production.yaml")
ROLES_FILE = "stackctl.yaml"
ROLES_FILES = (ROLES_FILE, "stackctl.yml")  # read in this order; init writes the first
ENV_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
STATE_DIR = ".stackctl"
# The safety rules an environment can have: production (the production overlay, TLS, no data
# service published beyond loopback, strong secrets), checked (strong secrets), development
# (compose defaults allowed).
RULES = ("production", "checked", "development")


@dataclass(frozen=True)
class Project:
    root: Path  # where stackctl.yaml, the env files and .stackctl/ live
    env: str = "development"
    files: tuple[Path, ...] = ()  # the compose files chosen (without the production overlay)
    name: str | None = None  # -p / COMPOSE_PROJECT_NAME; else compose decides (name: or the folder)
    profiles: tuple[str, ...] = ()
    overlay: Path | None = None  # production overlay named explicitly
    extra_files: tuple[Path, ...] = field(default=())  # release override layered last (deploy)
    host: str | None = None  # the engine's address (--host / DOCKER_HOST); None: the local default
    rules: str | None = None  # the safety rules stackctl.yaml's environments: gives this env (RULES)
    target: str = "compose"  # compose (one host) | swarm (a swarm stack of the same files)
    discovered: bool = False  # the files are compose's defaults (the main file and its override file)
    standalone: bool = False  # the production file is a whole model, used alone
    chosen_env_file: Path | None = None  # --env-file: read instead of .env / .env.NAME
    edge: tuple[str, ...] = ()  # production with stackctl.yaml's edge: the proxy, then the hosts (stackctl.edge)

    @property
    def safety(self) -> str:
        """Which rules apply (RULES): what stackctl.yaml says for this environment, else production
        for production, development for development, checked for any other name."""
        if self.rules:
            return self.rules
        return self.env if self.env in ("production", "development") else "checked"

    @property
    def production(self) -> bool:
        """Production's rules: the production overlay, TLS, no data service beyond loopback,
        strong secrets."""
        return self.safety == "production"

    @property
    def env_file(self) -> Path:
        if self.chosen_env_file is not None:
            return self.chosen_env_file
        return self.root / (".env" if self.env == "development" else f".env.{self.env}")

    @property
    def roles_file(self) -> Path:
        """stackctl.yaml, or stackctl.yml when only that one exists (refused when both do)."""
        found = [self.root / name for name in ROLES_FILES if (self.root / name).is_file()]
        if len(found) > 1:
            from stackctl.errors import ConfigError

            raise ConfigError(f"both {ROLES_FILES[0]} and {ROLES_FILES[1]} are in {self.root}",
                              "keep one: stackctl reads either, never both")
        return found[0] if found else self.root / ROLES_FILE

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def images_env_file(self) -> Path:
        """Machine-local image choices written by scripts/standin-images.sh (lowest precedence)."""
        return self.state_dir / "images.env"

    @property
    def deployed_file(self) -> Path:
        """The compose override naming the images of the release deploy/rollback put in service."""
        return self.state_dir / f"deployed-{self.env}.yaml"

    @property
    def edge_file(self) -> Path:
        """stackctl's compose override that puts its edge in front of the proxy (stackctl.edge.override)."""
        return self.state_dir / f"edge-{self.env}.yaml"

    @property
    def edge_dir(self) -> Path:
        """What the edge container reads (its HAProxy configuration, certificates), bound read-only."""
        return self.state_dir / f"edge-{self.env}"

    def env_files(self) -> list[Path]:
        """Env files compose reads for interpolation, lowest precedence first."""
        return [p for p in (self.images_env_file, self.env_file) if p.is_file()]

    def production_overlay(self) -> Path | None:
        if not self.production:
            return None
        if self.overlay is not None:
            return self.overlay
        base = self.files[0].parent if self.files else self.root
        return next((base / n for n in PROD_NAMES if (base / n).is_file()), None)

    def compose_files(self) -> list[Path]:
        files = list(self.files)
        overlay = self.production_overlay()
        if overlay is not None and self.standalone:
            files = [overlay]  # a whole model: production is that file
        elif overlay is not None and overlay not in files:
            files = (files[:1] if self.discovered else files) + [overlay]
        if self.edge and self.production:
            files.append(self.edge_file)
        if self.env != "development" and self.deployed_file.is_file():
            files.append(self.deployed_file)
        return files + [f for f in self.extra_files if f not in files]

    def with_extra(self, *paths: Path) -> Project:
        from dataclasses import replace

        return replace(self, extra_files=tuple(paths))


def _default_file(directory: Path) -> Path | None:
    for name in DEFAULT_NAMES:
        if (directory / name).is_file():
            return directory / name
    return (directory / NESTED) if (directory / NESTED).is_file() else None


def _with_override(first: Path) -> tuple[Path, ...]:
    """The main file and, as compose reads it with no -f, the first default override file beside it."""
    override = next((first.parent / n for n in OVERRIDE_NAMES if (first.parent / n).is_file()), None)
    return (first, override) if override is not None else (first,)


def find_root(start: Path | None = None) -> tuple[Path, Path]:
    """The nearest directory at or above `start` holding a compose file, and that file."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        found = _default_file(candidate)
        if found is not None:
            return candidate, found
    raise ConfigError(
        f"no compose file ({', '.join(DEFAULT_NAMES)}) in {here} or above",
        "run stackctl in your project's folder, or name the files with -f / COMPOSE_FILE",
    )


def _existing(paths: list[str], base: Path, where: str, what: str = "compose file") -> tuple[Path, ...]:
    found = []
    for item in paths:
        path = Path(item).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            raise ConfigError(f"{what} {item} ({where}) does not exist", f"fix the path in {where}")
        found.append(path.resolve())
    return tuple(found)


def open_project(project_dir: Path | None, env: str, files: tuple[str, ...] = (), name: str | None = None,
                 profiles: tuple[str, ...] = (), overlay: str | None = None, host: str | None = None,
                 target: str = "compose", env_file: str | None = None) -> Project:
    if not ENV_NAME.match(env or ""):
        raise ConfigError(f"environment name {env!r} is not usable",
                          "use --env development, --env production or a lowercase name (e.g. staging)")
    cwd = Path(project_dir).resolve() if project_dir else Path.cwd().resolve()
    if project_dir is not None and not cwd.is_dir():
        raise ConfigError(f"project directory {project_dir} does not exist", "fix --project-directory / STACKCTL_PROJECT_DIR")
    from_env = [p for p in os.environ.get("COMPOSE_FILE", "").split(os.environ.get("COMPOSE_PATH_SEPARATOR", ":")) if p]
    if files:
        chosen = _existing(list(files), Path.cwd(), "-f/--file")
        root = cwd if project_dir else chosen[0].parent
    elif from_env:
        chosen = _existing(from_env, cwd, "COMPOSE_FILE")
        root = cwd
    else:
        root, first = find_root(cwd) if project_dir is None else (cwd, _default_file(cwd))
        if first is None:
            raise ConfigError(f"{cwd} has no compose file ({', '.join(DEFAULT_NAMES)})",
                              "point --project-directory at your project, or name the files with -f")
        chosen = _with_override(first)
    if root.name == "compose" and (root.parent / NESTED).is_file() and chosen[0] == root.parent / NESTED:
        root = root.parent
    name = name or os.environ.get("COMPOSE_PROJECT_NAME") or None
    if name is not None and not re.match(r"^[a-z0-9][a-z0-9_-]*$", name):
        raise ConfigError(f"project name {name!r} is not valid for compose",
                          "use lowercase letters, digits, '-' and '_', starting with a letter or digit")
    profiles = profiles or tuple(p for p in os.environ.get("COMPOSE_PROFILES", "").split(",") if p)
    overlay_path = _existing([overlay], root, "--prod-file")[0] if overlay else None
    if host and not host.startswith(("ssh://", "tcp://", "unix://")):
        raise ConfigError(f"engine address {host!r} is not usable", "use ssh://user@host (or tcp://, unix://)")
    chosen_env = _existing([env_file], Path.cwd(), "--env-file", "env file")[0] if env_file else None
    return Project(root=root, env=env, files=chosen, name=name, profiles=tuple(profiles), overlay=overlay_path,
                   host=host or os.environ.get("DOCKER_HOST") or None, target=target,
                   discovered=not files and not from_env, chosen_env_file=chosen_env)
