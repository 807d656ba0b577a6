"""Production commands: certs, edge, deploy, promote, rollback, releases, audit."""

from __future__ import annotations

import click

from stackctl.cli import output, render
from stackctl.cli.app import Aliased, App, Commands, json_option, pass_app
from stackctl.errors import EXIT_USAGE, StackError

HOST_HELP = "Target engine, e.g. ssh://root@server (default: DOCKER_HOST / the docker context)."


@click.group(cls=Commands)
def certs() -> None:
    """TLS certificates for production nginx."""


@click.command("self-signed")
@click.option("--name", "--host", "hosts", multiple=True, cls=Aliased, hidden=("--host",), notice=True,
              metavar="NAME|IP", help="A name or IP address the certificate is for (repeatable). "
              "Default: localhost, 127.0.0.1.")
@click.option("--days", type=click.IntRange(1, 825), default=90, show_default=True,
              help="How long the certificate is valid.")
@click.option("--force", is_flag=True, help="Replace an existing certificate.")
@json_option
@pass_app
def certs_self_signed(app: App, hosts: tuple[str, ...], days: int, force: bool) -> None:
    """Make a self-signed certificate and key at STACKCTL_TLS_CERT_FILE / STACKCTL_TLS_KEY_FILE (for testing)."""
    from stackctl import tls

    output.finish(app, tls.make_self_signed(app.stack(), list(hosts), days, force), render.cert_made)


@click.group(cls=Commands)
def edge() -> None:
    """stackctl's edge in front of the proxy (stackctl.yaml edge:): its certificates."""


@click.command("renew")
@click.option("--force", is_flag=True, help="A new certificate now, however long the served one has left.")
@json_option
@pass_app
def edge_renew(app: App, force: bool) -> None:
    """tls: acme: ask the ACME server now (a first certificate, or a renewal when due), put it in service
    without closing a connection, and read back what the edge serves."""
    from stackctl.cli.progress import progress_of
    from stackctl.edge.certificate import renew

    stack = app.stack(app.deployment_env())
    with stack.locked("edge renew"), progress_of(app) as progress:
        result = renew(stack, force, progress)
    output.finish(app, result, render.edge_certificates)


@click.command("root")
@json_option
@pass_app
def edge_root(app: App) -> None:
    """tls: internal: where the local CA's certificate is (import it, or curl --cacert it), and what the
    edge serves from it."""
    from stackctl.edge.certificate import root

    output.finish(app, root(app.stack(app.deployment_env())), render.edge_certificates)


@click.command()
@click.option("--host", help=HOST_HELP)
@click.option("--break-lock", is_flag=True,
              help="First clear the stack's lock if its holder on this machine is gone (a live one is refused).")
@click.option("--break-lock-from-host", metavar="HOST",
              help="First clear the lock held from HOST, which you know is gone (stackctl cannot look there).")
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds each new app container may take to get "
              "healthy (default: STACKCTL_HEALTH_TIMEOUT, 120).")
@click.option("--release", "release", metavar="ID", help="Deploy a release pushed by build --push: its images "
              "pulled by digest from the registry, nothing built here.")
@click.option("--image", "images", multiple=True, metavar="SERVICE=REF",
              help="Deploy this image for SERVICE (REPO:TAG or REPO@sha256:..., pulled by digest); the other "
              "services as --release names them, else as deployed now (repeatable).")
@click.option("--replicas", multiple=True, metavar="APP=N",
              help="With --target swarm: how many tasks of an app service (repeatable; kept on later deploys).")
@click.option("--dry-run", is_flag=True, help="Print the steps deploy would take now, and take none.")
@json_option
@pass_app
def deploy(app: App, host: str | None, break_lock: bool, break_lock_from_host: str | None, timeout: float | None,
           release: str | None, images: tuple[str, ...], replicas: tuple[str, ...], dry_run: bool) -> None:
    """Build, back up, migrate and roll out a new release with zero downtime; roll back on failure."""
    from stackctl import targets
    from stackctl.cli.swarm import parse_replicas
    from stackctl.cli.progress import make_progress
    from stackctl.deploy.deploy import dry_run as plan_deploy

    chosen = _service_images(images)
    # one host deploys a deployment environment (production unless --env); a swarm, the stack as opened
    stack = app.stack(app.deployment_env() if targets.of(app.target).releases else None, host)
    if dry_run:
        if not stack.target.releases:
            raise StackError(f"--dry-run of deploy is not for --target {stack.target.name} yet", "drop it", EXIT_USAGE)
        output.finish(app, plan_deploy(stack, release, chosen), render.plan)
        return
    progress = make_progress(app.console())
    try:
        result = stack.target.deploy(stack, release, chosen, report=progress, timeout=timeout, break_lock=break_lock,
                                     break_lock_from_host=break_lock_from_host, replicas=parse_replicas(replicas))
    finally:
        progress.close()
    output.finish(app, result, render.deployed)


def _service_images(given: tuple[str, ...]) -> dict[str, str]:
    chosen = {}
    for item in given:
        service, sep, ref = item.partition("=")
        if not sep or not service or not ref or " " in ref:
            raise StackError(f"--image {item!r} is not SERVICE=REF", "e.g. --image api=ghcr.io/acme/api@sha256:...",
                             EXIT_USAGE)
        chosen[service] = ref
    return chosen


@click.command()
@click.option("--from", "source", metavar="ENV", default="staging", show_default=True,
              help="The environment whose running release is promoted.")
@click.option("--to", "goal", metavar="ENV", default="production", show_default=True,
              help="The environment it is deployed to.")
@click.option("--from-host", help="The engine of --from (default: DOCKER_HOST / the docker context).")
@click.option("--to-host", help="The engine of --to (default: DOCKER_HOST / the docker context).")
@click.option("--timeout", type=click.FloatRange(min=1), help="As deploy --timeout.")
@json_option
@pass_app
def promote(app: App, source: str, goal: str, from_host: str | None, to_host: str | None,
            timeout: float | None) -> None:
    """Deploy to --to the images, by digest, that run and verify in --from (staging to production)."""
    from stackctl.cli.progress import make_progress
    from stackctl.deploy.promote import promote as run_promote

    if source == goal:
        raise StackError(f"--from and --to are both {source}", "promote from one environment to another", EXIT_USAGE)
    progress = make_progress(app.console())
    try:
        result = run_promote(app.stack(source, from_host), app.stack(goal, to_host), report=progress, timeout=timeout)
    finally:
        progress.close()
    output.finish(app, result, render.deployed)


@click.command()
@click.argument("release", required=False)
@click.option("--host", help=HOST_HELP)
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds each app container may take to get healthy "
              "(default: STACKCTL_HEALTH_TIMEOUT, 120; on a swarm 120).")
@click.option("--dry-run", is_flag=True, help="Print the steps rollback would take now, and take none.")
@click.option("--include-failed", is_flag=True,
              help="Allow RELEASE to be one that failed, was rolled back or interrupted (it never served).")
@json_option
@pass_app
def rollback(app: App, release: str | None, host: str | None, timeout: float | None, dry_run: bool,
             include_failed: bool) -> None:
    """Return to RELEASE (default: the one before the current) through the same rollout."""
    from stackctl.cli.progress import progress_of
    from stackctl.deploy.deploy import rollback_dry_run

    from stackctl import targets

    # one host rolls back a deployment environment (production unless --env); a swarm, the stack as opened
    stack = app.stack(app.deployment_env() if targets.of(app.target).releases else None, host)
    if dry_run:
        if not stack.target.releases:
            raise StackError(f"--dry-run of rollback is not for --target {stack.target.name} yet", "drop it",
                             EXIT_USAGE)
        output.finish(app, rollback_dry_run(stack, release, include_failed), render.plan)
        return
    with progress_of(app) as progress:
        result = stack.target.rollback(stack, release, report=progress, timeout=timeout, include_failed=include_failed)
    output.finish(app, result, render.of(result))


@click.command()
@click.option("--host", help=HOST_HELP)
@json_option
@pass_app
def releases(app: App, host: str | None) -> None:
    """Releases kept on the target (newest first) and which one serves."""
    from stackctl import targets
    from stackctl.deploy.releases import listing

    env = app.deployment_env() if targets.of(app.target).releases else None  # a swarm: the stack as opened
    output.finish(app, listing(app.stack(env, host)), render.release_list)


@click.command()
@click.option("-n", "--tail", "--lines", "lines", type=click.IntRange(min=1), default=20, show_default=True,
              cls=Aliased, hidden=("--lines",), help="How many of the newest entries.")
@json_option
@pass_app
def audit(app: App, lines: int) -> None:
    """The deploy audit log: who, when, which commit, result, duration."""
    from stackctl import targets
    from stackctl.deploy.releases import audit_log

    env = app.deployment_env() if targets.of(app.target).releases else None  # a swarm: the stack as opened
    output.finish(app, audit_log(app.stack(env), lines), render.audit_log)


certs.add_command(certs_self_signed)
edge.add_command(edge_renew)
edge.add_command(edge_root)
COMMANDS = (certs, edge, deploy, promote, rollback, releases, audit)
