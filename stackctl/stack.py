"""One façade per stack: its project, settings, roles, compose model and engine, opened lazily."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace
from functools import cached_property
from pathlib import Path

from typing import TYPE_CHECKING

from stackctl import masking, model_cache, roles_outline, targets
from stackctl.containers import ContainerInfo
from stackctl.engine import Engine
from stackctl.env_values import interpolation_values, secret_values
from stackctl.plan import StackModel, parse_model
from stackctl.project import Project

if TYPE_CHECKING:
    from stackctl import roles as roleslib
    from stackctl.settings import Settings


class Stack:
    """Opened lazily: a command that only reads (ps, status) validates the settings and the roles
    file only when it needs them (pydantic costs more than `docker compose ps` takes)."""

    def __init__(self, project: Project, settings: Settings | None = None):
        outline, declared = roles_outline.read(project)
        if declared is not None or outline is None:
            self.__dict__["declared"] = declared  # validated just now (or no file): not again
        if outline and project.env in outline.environments:
            project = replace(project, rules=outline.environments[project.env])
        if outline and outline.production_file and project.overlay is None and project.production:
            overlay = project.root / outline.production_file
            if not overlay.is_file():
                from stackctl.errors import ConfigError

                raise ConfigError(f"{project.roles_file.name}: production file {outline.production_file} does not exist",
                                  "fix the path, or remove the production key")
            project = replace(project, overlay=overlay, standalone=outline.standalone)
        if outline and outline.edge and project.production:
            from stackctl.edge import override

            project = replace(project, edge=outline.edge)
            override.write(project)
        self.project = project
        if settings is not None:
            self.__dict__["settings"] = settings
        # What compose reads is masked; the env files' own text is a fallback for when compose
        # cannot read them. Both are read on the first mask (a listing prints none).
        masking.register_source(lambda: secret_values(interpolation_values(project)))
        masking.register_source(lambda: secret_values(self.compose.environment()))

    @cached_property
    def declared(self) -> roleslib.Roles | None:
        """stackctl.yaml, validated (stackctl.roles), or None when there is none."""
        from stackctl import roles as roleslib

        return roleslib.load(self.project.roles_file)

    @cached_property
    def settings(self) -> Settings:
        """stackctl's own settings (STACKCTL_*), validated on first use."""
        from stackctl.settings import load_settings

        return load_settings(self.project)

    @property
    def name(self) -> str:
        return self.model.name

    @cached_property
    def compose(self):
        from stackctl.compose import Compose

        return Compose(self.project, self.settings)

    @cached_property
    def engine(self) -> Engine:
        return Engine(self.project.host)

    @cached_property
    def config(self) -> dict:
        return self.compose.config()

    @cached_property
    def roles(self) -> roleslib.Roles:
        """Declared in stackctl.yaml, else detected from the compose model."""
        if self.declared is not None:
            self.declared.check_against(self.config.get("services") or {}, self.project.roles_file.name)
            return self.declared
        from stackctl import roles as roleslib

        return roleslib.detect(self.config)

    @cached_property
    def model(self) -> StackModel:
        """The compose model, from a cache when no input of `docker compose config` changed
        (saves the subprocess and the python-on-whales import on status/logs/restart)."""
        cached = model_cache.load(self.project, self.model_key)
        if cached is not None:
            return cached
        model = parse_model(self.config, self.roles)
        model_cache.store(self.project, self.model_key, model)
        return model

    @cached_property
    def model_key(self) -> str:
        """A digest of every input of `docker compose config` (model_cache.key)."""
        return model_cache.key(self.project)

    def role(self, role: str, purpose: str) -> str:
        """The service that has the role, or a one-line error saying how to declare it."""
        name = self.model.one(role)
        if name is None:
            from stackctl.errors import EXIT_USAGE, StackError

            raise StackError(f"this stack has no {role} role ({purpose})",
                             f"name it in stackctl.yaml ({role}: SERVICE), or run stackctl init", EXIT_USAGE)
        return name

    def kind(self, role: str):
        """The kind of the database or cache role (stackctl.kinds): postgres, redis, ..."""
        from stackctl import kinds

        name = self.model.services[self.role(role, f"a {role}")].probe or ""
        return kinds.kind(name.split(":")[0])

    def with_files(self, *extra: Path) -> Stack:
        """The same stack with compose files layered on top (a release's image override)."""
        return Stack(self.project.with_extra(*extra), self.settings)

    @cached_property
    def target(self):
        """Where the stack runs (stackctl.targets): one host, or a swarm."""
        return targets.of(self.project.target)

    def containers(self) -> dict[str, ContainerInfo]:
        """Service -> its container: compose's, or on a swarm the running task's on this node."""
        return self.target.containers(self)

    @contextmanager
    def locked(self, action: str, release: str = ""):
        """The stack's lock for the block (stackctl.lock): one command at a time changes a stack."""
        from stackctl import lock

        wait = self.settings.lock_wait  # a bad setting is said before the engine is asked anything
        with lock.held(self.engine, self.name, action, release, wait):
            yield
