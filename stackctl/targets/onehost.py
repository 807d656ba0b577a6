"""One host: the stack as `docker compose` runs it on one engine."""

from __future__ import annotations

from stackctl.errors import EXIT_USAGE, StackError
from stackctl.targets import register


class OneHost:
    name = "compose"
    releases = True  # deploys make releases (stackctl.deploy): rollback returns to one
    supported = None  # every command

    def containers(self, stack) -> dict:
        return stack.engine.project_containers(stack.name)

    def deploy(self, stack, release: str | None, images: dict, *, report, timeout, break_lock: bool = False,
               break_lock_from_host: str | None = None, replicas: dict | None = None):
        from stackctl.deploy.deploy import deploy

        if replicas:
            raise StackError("--replicas is for --target swarm", "drop it (one host runs one container per app)",
                             EXIT_USAGE)

        return deploy(stack, report=report, break_lock=break_lock, break_lock_from_host=break_lock_from_host,
                      timeout=timeout, release=release, images=images)

    def checks(self, stack, engine) -> list:
        from stackctl.preflight import check_images, check_ports

        return [*check_ports(stack, engine), check_images(stack, engine)]

    def not_running(self, stack, service: str) -> StackError:
        return StackError(f"{service} is not running", "start the stack first: stackctl up", EXIT_USAGE)

    @property
    def restoring(self):
        from stackctl.backup.restore import Restoring

        return Restoring

    def up(self, stack, services: list[str] | None, *, replicas: dict, build: str, timeout, report, cancel,
           check: bool):
        from stackctl.up import up

        if replicas:
            raise StackError("--replicas is for --target swarm (compose runs one container per app service)",
                             "add --target swarm, or drop --replicas", EXIT_USAGE)
        return up(stack, services, build=build, timeout=timeout, report=report, cancel=cancel, check=check)

    def up_plan(self, stack, services: list[str] | None, replicas: dict):
        from stackctl.up import up_plan

        return up_plan(stack, services)

    def status(self, stack, *, stats: bool):
        from stackctl.status import status

        return status(stack, stats=stats)

    def down(self, stack, *, volumes: bool, report):
        from stackctl.lifecycle import down

        return down(stack, volumes=volumes)

    def logs(self, stack, services: list[str], **options):
        from stackctl.lifecycle import logs

        return logs(stack, services, **options)

    def config(self, stack, replicas: dict):
        from stackctl.access import compose_model

        return compose_model(stack), []

    def rollback(self, stack, release: str | None, *, report, timeout, include_failed: bool):
        from stackctl.deploy.deploy import rollback

        return rollback(stack, release, report=report, timeout=timeout, include_failed=include_failed)


ONE_HOST = register(OneHost())
