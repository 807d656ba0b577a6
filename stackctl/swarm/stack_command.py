"""`docker stack` and `docker service` commands as data (argv only: the stack file, which carries
the services' environment, goes in on stdin, never into argv or onto disk)."""

from __future__ import annotations


def deploy_argv(stack: str, registry_auth: bool = False) -> list[str]:
    """Images built here are not in a registry: used as they are on the nodes. A release shipped
    by digest (`registry_auth`): every node pulls it with this client's registry login."""
    return ["stack", "deploy", "--resolve-image", "never", *(["--with-registry-auth"] if registry_auth else []),
            "--compose-file", "-", stack]


def remove_argv(stack: str) -> list[str]:
    return ["stack", "rm", stack]


def rollback_argv(service: str) -> list[str]:
    """Back to the service's previous spec (its update_config's rollback settings apply)."""
    return ["service", "rollback", "--detach", service]


def scale_argv(counts: dict[str, int]) -> list[str]:
    """Each service to its count; stackctl waits on the tasks itself."""
    return ["service", "scale", "--detach", *(f"{name}={n}" for name, n in sorted(counts.items()))]


def rerun_argv(service: str) -> list[str]:
    """A job run again as it is (a forced update starts its next iteration)."""
    return ["service", "update", "--detach", "--force", service]


def logs_argv(service: str, *, tail: str | None = None, follow: bool = False, since: str | None = None,
              timestamps: bool = False) -> list[str]:
    return ["service", "logs", "--no-task-ids", "--no-trunc", *(("--tail", tail) if tail is not None else ()),
            *(("--follow",) if follow else ()), *(("--since", since) if since else ()),
            *(("--timestamps",) if timestamps else ()), service]
