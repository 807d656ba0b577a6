"""docker compose, as commands built as data and run with an explicit environment.

A `ComposeCommand` is the argv and the variables added to the process's environment; it is
built without running anything (unit-tested as text, as Kamal's command objects are) and run
by python-on-whales' process helpers, which add `env` to a copy of the environment: stackctl
never changes its own `os.environ`. compose reads the project's env files itself
(`--env-file`), exactly as by hand; stackctl adds nothing to interpolation but the TLS pair's
paths. Secrets never reach argv. The only module that starts compose.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from stackctl.errors import ConfigError, StackError
from stackctl.failures import translatable, translate
from stackctl.project import Project
from stackctl.settings import Settings


@dataclass(frozen=True)
class ComposeCommand:
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)  # added to the inherited environment

    def __str__(self) -> str:
        added = " ".join(f"{k}={v}" for k, v in sorted(self.env.items()))
        return f"{added} {' '.join(self.argv)}".strip()


def engine_env(host: str | None) -> dict[str, str]:
    return {"DOCKER_HOST": host} if host else {}


def _dialed(env: dict[str, str]) -> dict[str, str]:
    """A command's environment as run: an ssh:// engine reached through the command's one tunnel
    (the text a command prints keeps the address the user gave)."""
    if not env.get("DOCKER_HOST", "").startswith("ssh://"):
        return env
    from stackctl import engine_ssh

    return engine_ssh.dial_env(env)


# compose 2.24 has everything stackctl asks of it: `config --environment` (the interpolation
# environment the secret checks read), `up --no-start --pull missing`, develop.watch. Every later
# release is accepted, v5 and on: compose keeps its command line across majors.
MINIMUM = (2, 24, 0)


def parse_version(text: str) -> tuple[int, int, int] | None:
    """`v2.40.3`, `2.29.7-desktop.1`, `v5.0.1`, `5.5.0` -> numbers; None when it is not a version."""
    import re

    found = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    return (int(found[1]), int(found[2]), int(found[3] or 0)) if found else None


def version_problem(text: str) -> str | None:
    """Why this compose will not do, or None."""
    version = parse_version(text)
    if version is None:
        return f"compose answered {text[:40]!r}, which is not a version"
    if version < MINIMUM:
        return (f"compose {text} found; stackctl needs {'.'.join(map(str, MINIMUM[:2]))} or newer "
                "(config --environment, up --pull missing)")
    return None


def version_command(host: str | None) -> ComposeCommand:
    return ComposeCommand(("docker", "compose", "version", "--short"), engine_env(host))


# Where the docker CLI looks for its plugins, after $DOCKER_CONFIG/cli-plugins.
PLUGIN_DIRS = ("/usr/local/lib/docker/cli-plugins", "/usr/local/libexec/docker/cli-plugins",
               "/usr/lib/docker/cli-plugins", "/usr/libexec/docker/cli-plugins")
VERSION_CACHE = "compose-version.json"


def installed_version(host: str | None = None, cache_dir: Path | None = None) -> str | None:
    """compose's version, or None when the plugin (or the docker CLI) is missing. With a
    `cache_dir`, the answer is kept there under the docker CLI's and the plugins' file stats
    (a docker process costs ~0.4 s of every `up`); any change to them asks compose again."""
    import json

    key = _install_key() if cache_dir else None
    cache = cache_dir / VERSION_CACHE if cache_dir else None
    if key and cache:
        try:
            data = json.loads(cache.read_text())
            if data.get("key") == key and data.get("version"):
                return data["version"]
        except (OSError, ValueError, AttributeError):
            pass
    version = _ask_version(host)
    if key and cache and version:
        try:
            cache_dir.mkdir(exist_ok=True)
            from stackctl.statefiles import write_private

            write_private(cache, json.dumps({"key": key, "version": version}))
        except OSError:
            pass  # a read-only project still works, just asks each time
    return version


def runnable(argv: tuple[str, ...]) -> list[str]:
    """The argv as started: `docker compose ...` goes straight to compose's plugin binary where
    the docker CLI itself would find it (compose runs the same standalone, documented as
    `docker-compose ...`), which saves the docker CLI's process and its scan of every plugin:
    ~45 ms of CPU per compose command, and a deploy runs a dozen. Where the CLI could look
    elsewhere, or there is no such binary, through `docker compose` as written."""
    if argv[:2] == ("docker", "compose"):
        plugin = compose_plugin()
        if plugin:
            return [plugin, *argv[2:]]
    return list(argv)


@functools.cache
def compose_plugin() -> str | None:
    """The compose binary `docker compose` runs: the first docker-compose in $DOCKER_CONFIG/cli-plugins
    and the system's plugin folders (the docker CLI's order); None when a config adds plugin folders
    of its own (cliPluginsExtraDirs) or none is there. Looked up once per process."""
    config = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    try:
        if "cliPluginsExtraDirs" in (config / "config.json").read_text(errors="replace"):
            return None
    except OSError:
        pass
    for folder in (config / "cli-plugins", *map(Path, PLUGIN_DIRS)):
        binary = folder / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return None


def _whales():
    """python-on-whales' process helpers (run, stream_stdout_and_stderr, DockerException): its
    utils module alone, without the package's init (every component's pydantic models, ~80 ms of
    CPU per command; stackctl.alone)."""
    from stackctl.alone import module_alone

    return module_alone("python_on_whales.utils")


def _ask_version(host: str | None) -> str | None:
    whales = _whales()
    command = version_command(host)
    try:
        return whales.run(runnable(command.argv), env=_dialed(command.env)).strip().lstrip("v") or None
    except (whales.DockerException, OSError):
        return None


def _install_key() -> str | None:
    """The docker CLI's and every place compose's plugin could be, as file stats (None: no CLI)."""
    import hashlib
    import shutil

    docker = shutil.which("docker")
    if docker is None:
        return None
    config = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    parts = []
    for path in (Path(docker), config / "config.json", config / "cli-plugins" / "docker-compose",
                 *(Path(d) / "docker-compose" for d in PLUGIN_DIRS)):
        try:
            stat = path.stat()
            parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
        except OSError:
            parts.append(f"{path}:-")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


class Compose:
    def __init__(self, project: Project, settings: Settings):
        from stackctl import tls

        self.project = project
        self._environment: dict[str, str] | None = None
        # The engine's address and the TLS pair's paths (the reference stack's production
        # overlay names them); everything else compose reads from the env files.
        self.env = {**engine_env(project.host), **(tls.compose_env(project, settings) if project.production else {})}
        self.files = project.compose_files()
        self.base = ("docker", "compose", *(a for f in self.files for a in ("--file", str(f))),
                     *(a for p in project.profiles for a in ("--profile", p)),
                     *(a for f in project.env_files() for a in ("--env-file", str(f))),
                     *(("--project-name", project.name) if project.name else ()))

    def command(self, *args: str, env: dict[str, str] | None = None) -> ComposeCommand:
        return ComposeCommand((*self.base, *args), {**self.env, **(env or {})})

    # -- what stackctl asks of compose, as data ------------------------------------------------
    def config_command(self) -> ComposeCommand:
        return self.command("config", "--format", "json")

    def environment_command(self) -> ComposeCommand:
        return self.command("config", "--environment")

    def build_command(self, services: list[str]) -> ComposeCommand:
        return self.command("build", *services, env={"BUILDKIT_PROGRESS": "plain"})

    def create_command(self, services: list[str], recreate: bool = False, no_deps: bool = False) -> ComposeCommand:
        """Converge containers to the model without starting them (recreates changed ones;
        `recreate`: these services' containers anew, whatever compose thinks; `no_deps`: these
        services only, not what they depend on)."""
        forced = ("--force-recreate", "--no-deps") if recreate else ("--no-deps",) if no_deps else ()
        return self.command("up", "--no-start", "--no-build", "--pull", "missing", *forced, *services)

    def run_command(self, service: str, argv: list[str]) -> ComposeCommand:
        """A one-off container of the service (its image, environment, network)."""
        return self.command("run", "--rm", "--no-deps", "--no-TTY", service, *argv)

    def down_command(self, volumes: bool) -> ComposeCommand:
        return self.command("down", "--remove-orphans", *(("--volumes",) if volumes else ()))

    def start_command(self, services: list[str]) -> ComposeCommand:
        return self.command("start", *services)

    def start_alone_command(self, services: list[str]) -> ComposeCommand:
        """Start these services' containers as `compose start` does (it copies secrets and configs
        from the environment or inline in), without waiting on what they depend on: `start`
        waits for a dependency's Docker health check, which runs once per interval, when stackctl
        has gated that dependency on its own probe already (a cold production up of the
        reference stack waited 4-5 s at each of db, migrate and api). The containers exist and
        are current (converged just before): nothing is recreated, built or pulled."""
        return self.command("up", "--detach", "--no-deps", "--no-recreate", "--no-build", "--pull", "never",
                            *services)

    def stop_command(self, services: list[str] | None) -> ComposeCommand:
        return self.command("stop", *(services or ()))

    def logs_command(self, services: list[str], *, follow: bool, tail: str | None, since: str | None,
                     timestamps: bool = False, until: str | None = None) -> ComposeCommand:
        return self.command("logs", "--no-color", *(("--tail", tail) if tail is not None else ()),
                            *(("--follow",) if follow else ()), *(("--timestamps",) if timestamps else ()),
                            *(("--since", since) if since else ()), *(("--until", until) if until else ()),
                            *services)

    def exec_command(self, service: str, argv: list[str], *, tty: bool,
                     secret_env: dict[str, str] | None = None, options: tuple[str, ...] = ()) -> ComposeCommand:
        """`exec` into a running service. A secret goes in as `-e NAME` with its value in the
        env of the docker CLI process: never in argv, so never in `ps`. `options` are compose's
        own exec options the user gave (-u, -e, -w)."""
        names = [a for name in sorted(secret_env or {}) for a in ("-e", name)]
        return self.command("exec", *(() if tty else ("-T",)), *options, *names, service, *argv, env=secret_env)

    def pull_command(self, services: list[str]) -> ComposeCommand:
        return self.command("pull", "--ignore-buildable", *services)

    def scale_command(self, service: str, count: int, start: bool = True) -> ComposeCommand:
        """New containers of the current image beside the running ones, left as they are
        (`start=False`: created, not started)."""
        return self.command("up", "--detach" if start else "--no-start", "--no-deps", "--no-recreate", "--no-build",
                            "--scale", f"{service}={count}", service)

    # -- running them --------------------------------------------------------------------------
    def config(self) -> dict:
        """The merged model. A failure here is bad input (a file, a variable): exit 2, nothing touched."""
        import json

        try:
            return json.loads(_run(self.config_command(), "config"))
        except StackError as failure:
            raise ConfigError(failure.message, "fix the compose file or the variable it names; "
                              "by hand: docker compose config") from None

    def environment(self) -> dict[str, str]:
        """The environment compose interpolates with, as compose itself parsed the env files
        (`config --environment`): quotes, `$$` and `${VAR:-x}` exactly as by hand. Values come
        back on stdout, never through argv. Read once per command."""
        if self._environment is None:
            self._environment = self._read_environment()
        return self._environment

    def _read_environment(self) -> dict[str, str]:
        values: dict[str, str] = {}
        last = None
        for line in _run(self.environment_command(), "config --environment").splitlines():
            key, sep, value = line.partition("=")
            if sep and key.replace("_", "").isalnum() and not key[0].isdigit():
                values[key], last = value, key
            elif last is not None:  # a value that spans lines
                values[last] += "\n" + line
        return values

    def build(self, services: list[str]) -> Iterator[str]:
        """Build the services' images, yielding output lines (BuildKit plain progress)."""
        for line in _stream(self.build_command(services), "build"):
            yield line.rstrip()

    def create(self, services: list[str], recreate: bool = False, no_deps: bool = False) -> None:
        _run(self.create_command(services, recreate, no_deps), "up --no-start")

    def run(self, service: str, argv: list[str]) -> Iterator[str]:
        return _stream(self.run_command(service, argv), f"run {service}")

    def down(self, volumes: bool = False) -> None:
        _run(self.down_command(volumes), "down")

    def start(self, services: list[str]) -> None:
        _run(self.start_command(services), "start")

    def start_alone(self, services: list[str]) -> None:
        _run(self.start_alone_command(services), "start")

    def stop(self, services: list[str] | None = None) -> None:
        _run(self.stop_command(services), "stop")

    def logs(self, services: list[str], *, follow: bool, tail: str | None, since: str | None,
             timestamps: bool = False, until: str | None = None) -> Iterator[str]:
        return _stream(self.logs_command(services, follow=follow, tail=tail, since=since, timestamps=timestamps,
                                         until=until), "logs")

    def scale_up(self, service: str, count: int, start: bool = True) -> None:
        _run(self.scale_command(service, count, start), "up --scale")

    def pull(self, services: list[str]) -> None:
        _run(self.pull_command(services), "pull")

    def exec(self, service: str, argv: list[str], *, tty: bool, secret_env: dict[str, str] | None = None,
             capture: bool = False, options: tuple[str, ...] = ()) -> tuple[int, str]:
        """Run it attached to this terminal (or, with capture, collecting its output): its exit code."""
        import subprocess

        command = self.exec_command(service, argv, tty=tty, secret_env=secret_env, options=options)
        env = {**os.environ, **_dialed(command.env)}
        try:
            if capture:
                done = subprocess.run(runnable(command.argv), env=env, stdin=subprocess.DEVNULL,
                                      capture_output=True, text=True)
                return done.returncode, done.stdout + done.stderr
            return subprocess.run(runnable(command.argv), env=env).returncode, ""
        except OSError as exc:
            raise translate(exc, f"docker compose exec {service}") from None


def _run(command: ComposeCommand, action: str) -> str:
    try:
        return _whales().run(runnable(command.argv), capture_stdout=True, capture_stderr=True,
                             env=_dialed(command.env)) or ""
    except Exception as exc:  # noqa: BLE001  (the one translation: stackctl.failures)
        if not translatable(exc):
            raise
        raise translate(exc, f"docker compose {action}") from None


def _stream(command: ComposeCommand, action: str) -> Iterator[str]:
    try:
        for _source, line in _whales().stream_stdout_and_stderr(runnable(command.argv), env=_dialed(command.env)):
            yield line.decode("utf-8", "replace")
    except Exception as exc:  # noqa: BLE001
        if not translatable(exc):
            raise
        raise translate(exc, f"docker compose {action}") from None
