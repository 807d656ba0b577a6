"""One façade per stack: its project, settings, compose model and engine, opened lazily."""

from __future__ import annotations

from functools import cached_property

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
        return parse_model(self.config)

    def containers(self) -> dict[str, ContainerInfo]:
        return self.engine.project_containers(self.name)
