"""Adopting a project: `stackctl init`."""

from __future__ import annotations

import sys

import click

from stackctl.cli import output, render
from stackctl.cli.app import App, json_option, pass_app


@click.command()
@click.option("-y", "--yes", is_flag=True, help="Write stackctl.yaml without asking.")
@click.option("--force", is_flag=True, help="Propose anew even if stackctl.yaml exists (asks before replacing it).")
@json_option
@pass_app
def init(app: App, yes: bool, force: bool) -> None:
    """Detect your services' roles and write them to stackctl.yaml (your compose files are not touched)."""
    from stackctl.init import propose, write
    from stackctl.results import RolesWritten

    console = app.console()
    proposal = propose(app.stack(), force=force)
    if not proposal.existing and not app.json:
        console.result(f"[bold]proposed {proposal.path.name}[/]\n")
        console.out.print(proposal.text, markup=False, highlight=False)
    written = False
    if not proposal.existing:
        if not yes and sys.stdin.isatty() and not app.json:
            yes = click.confirm(f"Write {proposal.path}?", default=True)
        if yes:
            write(proposal)
            written = True
    output.finish(app, RolesWritten(proposal.path, proposal.text, written, proposal.existing, proposal.notes),
                  render.roles_written)


COMMANDS = (init,)
