"""Adopting a project: `stackctl init`, and its CI pipeline: `stackctl ci init`."""

from __future__ import annotations

import sys

import click

from stackctl.cli import output, render
from stackctl.cli.app import App, Commands, json_option, pass_app


@click.command()
@click.option("-y", "--yes", is_flag=True, help="Write stackctl.yaml without asking.")
@click.option("--force", is_flag=True, help="Propose anew even if stackctl.yaml exists (asks before replacing it).")
@json_option
@pass_app
def init(app: App, yes: bool, force: bool) -> None:
    """Detect your services' roles and write them to stackctl.yaml (your compose files are not touched)."""
    from stackctl.init import propose, write
    from stackctl.results import RolesWritten

    proposal = propose(app.stack(), force=force)
    written = offered(app, proposal, yes, write)
    output.finish(app, RolesWritten(proposal.path, proposal.text, written, proposal.existing, proposal.notes),
                  render.roles_written)


def offered(app: App, proposal, yes: bool, write) -> bool:
    """A proposed file shown, then written when confirmed (or --yes); one that exists is left as it
    is. Whether it was written."""
    if proposal.existing:
        return False
    if not app.json:
        app.console().result(f"[bold]proposed {proposal.path.name}[/]\n")
        app.console().out.print(proposal.text, markup=False, highlight=False)
    if not yes and sys.stdin.isatty() and not app.json:
        yes = click.confirm(f"Write {proposal.path}?", default=True)
    if yes:
        write(proposal)
    return yes


@click.group(cls=Commands)
def ci() -> None:
    """Your CI pipeline: build once, push, deploy to staging, approve, promote to production."""


@click.command("init")
@click.argument("kind", type=click.Choice(["github", "gitlab"]))
@click.option("--test-command", metavar="COMMAND", help="Your project's test command (default: found from "
              "scripts/test.sh, a Makefile test target, package.json's test script, or pytest).")
@click.option("-y", "--yes", is_flag=True, help="Write the file without asking.")
@json_option
@pass_app
def ci_init(app: App, kind: str, test_command: str | None, yes: bool) -> None:
    """Write the pipeline as a GitHub or GitLab workflow (shown first; an existing file is left as it is)."""
    from stackctl import registry
    from stackctl.pipeline import propose, write
    from stackctl.results import RolesWritten

    stack = app.stack()
    proposal = propose(stack.project.root, kind, registry.address(stack), test_command)
    written = offered(app, proposal, yes, write)
    output.finish(app, RolesWritten(proposal.path, proposal.text, written, proposal.existing), render.pipeline_written)


ci.add_command(ci_init)
COMMANDS = (init, ci)
