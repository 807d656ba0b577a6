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
@click.option("--days", type=click.IntRange(1, 825), default=30, show_default=True)
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
