"""One façade per stack: its project, settings, compose model and engine, opened lazily."""

from __future__ import annotations

from functools import cached_property

from stackctl import model_cache
from stackctl.engine import ContainerInfo, Engine
from stackctl.plan import StackModel, parse_model
from stackctl.project import Project
from stackctl.settings import Settings, load_settings


class Stack:
    def __init__(self, project: Project, settings: Settings | None = None):
        self.project = project
        self.settings = settings or load_settings(project)

    @property
    def name(self) -> str:
        return self.settings.stack_name

    @cached_property
    def compose(self):
        from stackctl.compose import Compose

        return Compose(self.project, self.settings)

    @cached_property
    def engine(self) -> Engine:
        return Engine()

    @cached_property
    def config(self) -> dict:
        return self.compose.config()

    @cached_property
    def model(self) -> StackModel:
        """The compose model, from a cache when no input of `docker compose config` changed
        (saves the subprocess and the python-on-whales import on status/logs/restart)."""
        key = model_cache.key(self.project, self.settings)
        cached = model_cache.load(self.project, key)
        if cached is not None:
            return cached
        model = parse_model(self.config)
        model_cache.store(self.project, key, model)
        return model

    def containers(self) -> dict[str, ContainerInfo]:
        return self.engine.project_containers(self.name)
