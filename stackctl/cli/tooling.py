"""What the shell and the editor need: `completion` and `schema`."""

from __future__ import annotations

import click

SHELLS = ("bash", "zsh", "fish")


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (commands, options, your service names).

    \b
    bash: echo 'eval "$(stackctl completion bash)"' >> ~/.bashrc
    zsh:  echo 'eval "$(stackctl completion zsh)"' >> ~/.zshrc
    fish: stackctl completion fish > ~/.config/fish/completions/stackctl.fish"""
    from click.shell_completion import get_completion_class

    script = get_completion_class(shell)(ctx.find_root().command, {}, "stackctl", "_STACKCTL_COMPLETE").source()
    click.echo(script)


@click.command()
def schema() -> None:
    """Print the JSON Schema of stackctl.yaml, for an editor to check the file as stackctl reads it."""
    import json

    from stackctl.schema import roles_schema

    click.echo(json.dumps(roles_schema(), indent=2))


COMMANDS = (completion, schema)
