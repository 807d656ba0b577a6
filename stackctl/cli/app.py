"""What every command is given: the global options, and the one way it opens the stack."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import click


@dataclass
class App:
    env: str
    project_dir: Path | None
    debug: bool
    quiet: bool
    files: tuple[str, ...] = ()
    project_name: str | None = None
    profiles: tuple[str, ...] = ()
    prod_file: str | None = None
    target: str = "compose"  # compose | swarm
    host: str | None = None  # -H/--host: the engine's address (else DOCKER_HOST)
    env_file: str | None = None  # --env-file: read instead of .env / .env.NAME
    json: bool = False  # set by a command's --json: the result (or error) as one JSON envelope

    def console(self):
        from stackctl.console import Console

        return Console(json_output=self.json, quiet=self.quiet)

    def project(self, env: str | None = None, host: str | None = None):
        from stackctl.project import open_project

        return open_project(self.project_dir, env or self.env, self.files, self.project_name, self.profiles,
                            self.prod_file, host or self.host, self.target, self.env_file)

    def stack(self, env: str | None = None, host: str | None = None):
        from stackctl.stack import Stack

        return Stack(self.project(env, host))

    def deployment_env(self) -> str:
        """deploy, rollback, releases and audit act on production unless --env names another."""
        return "production" if self.env == "development" else self.env


class Commands(click.Group):
    """A group that records which command runs (for the JSON envelope of its result or error), and
    still runs a renamed command by its old name, with a one-line notice."""

    RENAMED = {"watch": "monitor"}  # old name -> new (one vocabulary: `watch` is the dev loop, up --watch)

    def resolve_command(self, ctx, args):
        from stackctl.cli import output

        if args and args[0] in self.RENAMED and args[0] not in self.commands and self.RENAMED[args[0]] in self.commands:
            click.echo(f"notice: stackctl {args[0]} is now stackctl {self.RENAMED[args[0]]}; the old name goes in a "
                       "later release", err=True)
            args = [self.RENAMED[args[0]], *args[1:]]
        name, command, rest = super().resolve_command(ctx, args)
        if command is not None:
            output.record(command.name)
        return name, command, rest

    def group(self, *args, **kwargs):
        kwargs.setdefault("cls", Commands)
        return super().group(*args, **kwargs)


class Aliased(click.Option):
    """An option with old spellings that still work but are not shown: `hidden=("--project-dir",)`;
    with `notice`, using one prints a one-line notice naming the new spelling."""

    def __init__(self, *args, hidden: tuple[str, ...] = (), notice: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.hidden_spellings = set(hidden)
        self.notice = notice

    def get_help_record(self, ctx):
        shown = self.opts
        self.opts = [o for o in self.opts if o not in self.hidden_spellings]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts = shown

    def handle_parse_result(self, ctx, opts, args):
        import sys

        if self.notice and self.name in opts and any(a in self.hidden_spellings for a in sys.argv[1:]):
            new = next(o for o in self.opts if o not in self.hidden_spellings)
            click.echo(f"notice: {'/'.join(sorted(self.hidden_spellings))} is now {new}; the old spelling goes "
                       "in a later release", err=True)
        return super().handle_parse_result(ctx, opts, args)


pass_app = click.make_pass_decorator(App)


def _set_json(ctx: click.Context, _param, value: bool) -> None:
    if value:
        ctx.find_object(App).json = True


def json_option(fn):
    """--json on every command: its result, or its error, as one envelope on stdout."""
    return click.option("--json", "json_output", is_flag=True, expose_value=False, callback=_set_json,
                        is_eager=True, help="The result (or the error) as one JSON envelope (schema 1).")(fn)


def complete_services(ctx: click.Context, _param, incomplete: str) -> list[str]:
    """Shell completion of service names, from the compose model (cached) of the project here."""
    try:
        from stackctl.project import open_project
        from stackctl.stack import Stack

        root = ctx.find_root().params
        project = open_project(root.get("project_dir"), root.get("env") or "development", root.get("files") or (),
                               root.get("project_name"), root.get("profiles") or ())
        return [name for name in Stack(project).model.names() if name.startswith(incomplete)]
    except Exception:  # noqa: BLE001  (completion never prints an error into the user's prompt)
        return []
