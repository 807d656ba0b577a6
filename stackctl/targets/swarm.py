"""A Docker swarm: the same compose files as a swarm stack (stackctl.swarm), run from a manager."""

from __future__ import annotations

from stackctl.errors import EXIT_USAGE, StackError
from stackctl.targets import register


class Swarm:
    name = "swarm"
    # backup and restore reach the database and cache through their task containers on this
    # engine's node (the data node unless another carries the label); backups lists sets on disk.
    # rollback with no RELEASE returns to the version before the last up (swarm keeps one); a
    # release shipped through a registry is deployed and rolled back to by digest (stackctl.swarm.release)
    releases = False
    supported = ("check", "up", "status", "down", "logs", "config", "backup", "backups", "restore", "rollback",
                 "deploy", "releases", "audit", "build")

    def containers(self, stack) -> dict:
        return stack.engine.task_containers(stack.name)

    def checks(self, stack, engine) -> list:
        from stackctl.swarm.check import swarm_checks

        return swarm_checks(stack, engine)

    def not_running(self, stack, service: str) -> StackError:
        from stackctl.swarm.placement import not_here

        return not_here(stack, service)

    @property
    def restoring(self):
        from stackctl.swarm.restore import SwarmRestoring  # the same steps, through swarm's services

        return SwarmRestoring

    def up(self, stack, services: list[str] | None, *, replicas: dict, build: str, timeout, report, cancel,
           check: bool):
        from stackctl.swarm.deploy import up

        if services:
            raise StackError("--target swarm deploys the whole stack; naming services is for one host",
                             "drop them, or run without --target swarm", EXIT_USAGE)
        return up(stack, replicas=replicas, build=build, timeout=timeout, report=report, cancel=cancel, check=check)

    def up_plan(self, stack, services: list[str] | None, replicas: dict):
        from stackctl.swarm.deploy import up_plan

        return up_plan(stack, replicas)

    def status(self, stack, *, stats: bool):
        from stackctl.swarm.status import status

        return status(stack)

    def down(self, stack, *, volumes: bool, report):
        from stackctl.swarm.down import down

        return down(stack, volumes=volumes, report=report)

    def logs(self, stack, services: list[str], **options):
        from stackctl.swarm.logs import logs

        return logs(stack, services, **options)

    def config(self, stack, replicas: dict):
        """The stack file `up` deploys (every wave), secrets masked; and what it says about it."""
        from stackctl import masking
        from stackctl.access import ComposeModel, compose_model
        from stackctl.swarm.deploy import choose_replicas, pinned_images, render_file
        from stackctl.swarm.secrets import external, of_stack, versioned_name
        from stackctl.swarm.stackfile import SwarmChoices

        compose_model(stack)  # registers every secret-looking value for masking
        choices = SwarmChoices(replicas=choose_replicas(stack, replicas),
                               secrets={**external(stack.config),
                                        **{k: versioned_name(stack.name, k, v) for k, v in of_stack(stack).items()}},
                               run="(each up)", images=pinned_images(stack, tag=False))
        document, notes = render_file(stack, choices)
        return ComposeModel(masking.mask_data(document)), notes

    def rollback(self, stack, release: str | None, *, report, timeout, include_failed: bool):
        from stackctl.swarm.rollback import rollback

        if include_failed:
            raise StackError("on a swarm, rollback goes back to a release that was deployed", "drop --include-failed",
                             EXIT_USAGE)
        if release:
            from stackctl.swarm.release import rollback as to_release

            return to_release(stack, release, report=report, timeout=timeout)
        return rollback(stack, report=report, timeout=timeout)

    def deploy(self, stack, release: str | None, images: dict, *, report, timeout, break_lock: bool = False,
               break_lock_from_host: str | None = None, replicas: dict | None = None):
        from stackctl.swarm.release import deploy

        if break_lock or break_lock_from_host:
            raise StackError("--break-lock is for one host", "drop it", EXIT_USAGE)
        return deploy(stack, release, images, report=report, timeout=timeout, replicas=replicas or {})


SWARM = register(Swarm())
