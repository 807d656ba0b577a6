"""docker compose through python-on-whales: the only module that imports it.

compose reads the project's env files itself (`--env-file`), exactly as by hand; stackctl
adds nothing to interpolation but the TLS pair's paths. Secrets never reach argv.
"""

from __future__ import annotations

import os
from typing import Iterator

from stackctl.errors import ConfigError, StackError
from stackctl.project import Project
from stackctl.settings import Settings


def _failure(action: str, exc) -> StackError:
    stderr = (getattr(exc, "stderr", "") or "").strip()
    last = stderr.splitlines()[-1] if stderr else str(exc).strip().splitlines()[-1]
    return StackError(f"docker compose {action} failed: {last}",
                      "run stackctl check; add --debug for the full output",
                      details="\n".join(stderr.splitlines()[-30:-1]) or None)


class Compose:
    def __init__(self, project: Project, settings: Settings):
        from python_on_whales import DockerClient

        from stackctl import tls

        self.project = project
        self.settings = settings
        # Only the paths of the TLS pair are added (the reference stack's production overlay
        # names them); everything else compose reads from the env files, as it does by hand.
        self.env = tls.compose_env(project, settings) if project.production else {}
        self.files = project.compose_files()
        self.client = DockerClient(
            compose_files=self.files,
            compose_env_files=project.env_files(),
            compose_project_name=project.name,
            compose_profiles=list(project.profiles),
        )

    def _call(self, action: str, fn, *args, **kwargs):
        from python_on_whales.exceptions import DockerException

        os.environ.update(self.env)
        try:
            return fn(*args, **kwargs)
        except DockerException as exc:
            raise _failure(action, exc) from None

    def config(self) -> dict:
        """The merged model. A failure here is bad input (a file, a variable): exit 2, nothing touched."""
        try:
            return self._call("config", self.client.compose.config, return_json=True)
        except StackError as exc:
            raise ConfigError(exc.message, "fix the compose file or the variable it names; "
                              "by hand: docker compose config") from None

    def build(self, services: list[str]) -> Iterator[str]:
        """Build the services' images, yielding output lines (BuildKit plain progress)."""
        from python_on_whales.exceptions import DockerException

        os.environ.setdefault("BUILDKIT_PROGRESS", "plain")
        os.environ.update(self.env)
        try:
            for _source, line in self.client.compose.build(services, stream_logs=True):
                yield line.decode("utf-8", "replace").rstrip()
        except DockerException as exc:
            raise _failure("build", exc) from None

    def create(self, services: list[str]) -> None:
        """Converge containers to the compose model without starting them (recreates changed ones)."""
        self._call("up --no-start", self.client.compose.up, services, start=False, no_build=True,
                   quiet=True, pull="missing")

    def run(self, service: str, command: list[str]) -> Iterator[str]:
        """A one-off container of the service (its image, environment, network), output streamed."""
        from python_on_whales.exceptions import DockerException

        os.environ.update(self.env)
        try:
            for _source, line in self.client.compose.run(service, command, remove=True, tty=False, stream=True,
                                                         dependencies=False):
                yield line.decode("utf-8", "replace")
        except DockerException as exc:
            raise _failure(f"run {service}", exc) from None

    def down(self, volumes: bool = False) -> None:
        self._call("down", self.client.compose.down, volumes=volumes, remove_orphans=True, quiet=True)

    def start(self, services: list[str]) -> None:
        self._call("start", self.client.compose.start, services)

    def stop(self, services: list[str] | None = None) -> None:
        self._call("stop", self.client.compose.stop, services)

    def logs(self, services: list[str], *, follow: bool, tail: str | None, since: str | None,
             timestamps: bool = False) -> Iterator[str]:
        from python_on_whales.exceptions import DockerException

        os.environ.update(self.env)
        try:
            for _source, line in self.client.compose.logs(services, follow=follow, tail=tail, since=since,
                                                          timestamps=timestamps, stream=True):
                yield line.decode("utf-8", "replace")
        except DockerException as exc:
            raise _failure("logs", exc) from None

    def scale_up(self, service: str, count: int) -> None:
        """`up -d --no-deps --no-recreate --scale service=count`: new containers of the
        current image beside the running ones, which are left as they are."""
        self._call("up --scale", self.client.compose.up, [service], detach=True, dependencies=False, recreate=False,
                   no_build=True, scales={service: count}, quiet=True)

    def version(self) -> str:
        return self._call("version", self.client.compose.version)

    def environment(self) -> dict[str, str]:
        """The environment compose interpolates with, as compose itself parsed the env files
        (`config --environment`): quotes, `$$` and `${VAR:-x}` exactly as by hand. Values come
        back on stdout, never through argv."""
        from python_on_whales.utils import run

        out = self._call("config --environment", run, [*self.client.compose.docker_compose_cmd, "config",
                                                        "--environment"])
        values: dict[str, str] = {}
        last = None
        for line in out.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.replace("_", "").isalnum() and not key[0].isdigit():
                values[key], last = value, key
            elif last is not None:  # a value that spans lines
                values[last] += "\n" + line
        return values
