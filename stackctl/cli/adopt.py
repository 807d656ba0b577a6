"""Adopting a project: `stackctl init`."""

from __future__ import annotations

import sys

import click

from stackctl.cli import App, cli, pass_app


@cli.command()
@click.option("-y", "--yes", is_flag=True, help="Write stackctl.yaml without asking.")
@click.option("--force", is_flag=True, help="Propose anew even if stackctl.yaml exists (asks before replacing it).")
@pass_app
def init(app: App, yes: bool, force: bool) -> None:
    """Detect your services' roles and write them to stackctl.yaml (your compose files are not touched)."""
    from stackctl.init import propose, write

    console = app.console()
    proposal = propose(app.stack(), force=force)
    if proposal.existing:
        console.result(f"{proposal.path} already declares the roles and matches the compose files; nothing changed")
        return
    console.result(f"[bold]proposed {proposal.path.name}[/]\n")
    console.out.print(proposal.text, markup=False, highlight=False)
    if not yes:
        if not sys.stdin.isatty():
            console.result(f"not written: run stackctl init --yes to write {proposal.path}")
            return
        if not click.confirm(f"Write {proposal.path}?", default=True):
            console.result("nothing written")
            return
    write(proposal)
    console.result(f"[green]wrote {proposal.path}[/]; next: stackctl check, then stackctl up")
