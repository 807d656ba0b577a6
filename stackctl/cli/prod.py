"""Production commands: certs, deploy, releases, rollback, audit."""

from __future__ import annotations

import click

from stackctl.cli import App, cli, pass_app
from stackctl.errors import EXIT_USAGE, StackError


@cli.group()
def certs() -> None:
    """TLS certificates for production nginx."""


@certs.command("self-signed")
@click.option("--host", "hosts", multiple=True, help="Name or IP the certificate is for (repeatable). Default: localhost, 127.0.0.1.")
@click.option("--days", type=click.IntRange(1, 825), default=90, show_default=True)
@click.option("--force", is_flag=True, help="Replace an existing certificate.")
@pass_app
def certs_self_signed(app: App, hosts: tuple[str, ...], days: int, force: bool) -> None:
    """Make a self-signed certificate and key at TLS_CERT_FILE / TLS_KEY_FILE (for testing)."""
    from stackctl import tls

    stack = app.stack()
    cert_path, key_path = tls.paths(stack.project, stack.settings)
    if (cert_path.exists() or key_path.exists()) and not force:
        raise StackError(f"{cert_path} or {key_path} already exists", "add --force to replace them", EXIT_USAGE)
    expires = tls.self_signed(cert_path, key_path, list(hosts) or ["localhost", "127.0.0.1"], days)
    app.console().result(f"self-signed certificate {cert_path} (key {key_path}, mode 600), valid until "
                         f"{expires:%Y-%m-%d}; browsers will warn: use a real certificate in production")


def _production(app: App, host: str | None):
    """deploy and rollback act on a deployment environment: production unless --env names
    another (staging); optionally on another engine."""
    if host and not host.startswith(("ssh://", "tcp://", "unix://")):
        raise StackError(f"--host {host!r} is not an engine address", "use ssh://user@host (or tcp://, unix://)",
                         EXIT_USAGE)
    return app.stack("production" if app.env == "development" else app.env, host)


def _print_plan(console, steps) -> None:
    from rich.markup import escape

    for number, step in enumerate(steps, 1):
        console.result(f"{number:>2}. {escape(str(step))}")


@cli.command()
@click.option("--host", help="Target engine, e.g. ssh://root@server (default: DOCKER_HOST / the docker context).")
@click.option("--break-lock", is_flag=True, help="Clear a stale deploy lock first (a deploy that died).")
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds the new API may take to get healthy.")
@click.option("--dry-run", is_flag=True, help="Print the steps deploy would take now, and take none.")
@pass_app
def deploy(app: App, host: str | None, break_lock: bool, timeout: float | None, dry_run: bool) -> None:
    """Build, back up, migrate and roll out a new release with zero downtime; roll back on failure."""
    from stackctl.cli.progress import make_progress
    from stackctl.deploy.deploy import deploy as run_deploy
    from stackctl.deploy.deploy import dry_run as plan_deploy

    stack = _production(app, host)
    console = app.console()
    if dry_run:
        _print_plan(console, plan_deploy(stack))
        return
    progress = make_progress(console)
    try:
        result = run_deploy(stack, progress=progress, say=lambda t: console.info(f"· {t}"), break_lock=break_lock,
                            timeout=timeout)
    finally:
        progress.close()
    steps = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in result.steps)
    console.result(f"[green]deployed release {result.release}[/] in {result.seconds:.1f}s ({steps})"
                   + (f"; previous: {result.previous}" if result.previous else ""))
    if result.pruned:
        console.result(f"pruned old images: {', '.join(result.pruned)}")


@cli.command()
@click.argument("release", required=False)
@click.option("--host", help="Target engine (as for deploy).")
@click.option("--timeout", type=click.FloatRange(min=1), help="Seconds the API may take to get healthy.")
@click.option("--dry-run", is_flag=True, help="Print the steps rollback would take now, and take none.")
@pass_app
def rollback(app: App, release: str | None, host: str | None, timeout: float | None, dry_run: bool) -> None:
    """Return to RELEASE (default: the one before the current) through the same rollout."""
    from stackctl.cli.progress import make_progress
    from stackctl.deploy.deploy import rollback as run_rollback
    from stackctl.deploy.deploy import rollback_dry_run

    stack = _production(app, host)
    console = app.console()
    if dry_run:
        _print_plan(console, rollback_dry_run(stack, release))
        return
    progress = make_progress(console)
    try:
        result = run_rollback(stack, release, progress=progress, say=lambda t: console.info(f"· {t}"),
                              timeout=timeout)
    finally:
        progress.close()
    console.result(f"[green]rolled back to {result.release}[/] (from {result.previous}) in {result.seconds:.1f}s")


@cli.command()
@click.option("--host", help="Target engine (as for deploy).")
@click.option("--json", "json_output", is_flag=True)
@pass_app
def releases(app: App, host: str | None, json_output: bool) -> None:
    """Releases kept on the target (newest first) and which one serves."""
    from stackctl.deploy import releases as rel

    stack = _production(app, host)
    current = rel.read_deployed(stack.project)
    images = stack.model.built_images()
    history = {e["release"]: e for e in rel.read_audit(stack.project, stack.name) if e.get("action") == "deploy"}
    rows = [{"release": r, "current": bool(current and current.release == r),
             "commit": (history.get(r) or {}).get("commit"), "deployed_by": (history.get(r) or {}).get("who"),
             "deployed_at": (history.get(r) or {}).get("when")}
            for r in rel.release_tags(stack.engine, images[0])] if images else []
    console = app.console(json_output)
    if json_output:
        console.emit_json({"current": current.release if current else None, "releases": rows})
        return
    for row in rows:
        mark = "[green]*[/]" if row["current"] else " "
        console.result(f"{mark} {row['release']}  {row['deployed_at'] or ''}  {row['deployed_by'] or ''}  "
                       f"{(row['commit'] or '')[:12]}")
    if not rows:
        console.result("no releases on the target yet: stackctl --env production deploy")


@cli.command()
@click.option("-n", "--lines", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "json_output", is_flag=True)
@pass_app
def audit(app: App, lines: int, json_output: bool) -> None:
    """The deploy audit log: who, when, which commit, result, duration."""
    from stackctl.deploy import releases as rel

    stack = app.stack("production" if app.env == "development" else app.env)
    entries = rel.read_audit(stack.project, stack.name)[-lines:]
    console = app.console(json_output)
    if json_output:
        console.emit_json({"entries": entries})
        return
    for e in entries:
        console.result(f"{e.get('when', '?')}  {e.get('action', '?'):8}  {e.get('result', '?'):12}  "
                       f"{e.get('release', '?')}  by {e.get('who', '?')}  {e.get('seconds', '?')}s"
                       + (f"  ({e['error']})" if e.get("error") else ""))
    if not entries:
        console.result("no deploys recorded yet")
