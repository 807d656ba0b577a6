"""Every help text speaks of the user's stack and of real settings: it never names a service of
our reference stack (api, web, db: the user's are theirs) and never names a setting without the
STACKCTL_ prefix it is read under."""

import re

import click
import pytest

from stackctl.cli import cli
from stackctl.settings import Settings

REFERENCE_SERVICES = re.compile(r"(?<![\w/.-])(api|web|db|API)(?![\w-])(?! stack)")
SETTINGS = {name.upper() for name in Settings.model_fields}


def walk(command: click.Command, path=("stackctl",)):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from walk(sub, (*path, name))


def texts(command: click.Command):
    yield "help", command.help or ""
    yield "short help", command.short_help or ""
    for param in command.params:
        yield f"{'/'.join(getattr(param, 'opts', [param.name]))}", getattr(param, "help", None) or ""


HELPS = [(" ".join(path), where, text) for path, command in walk(cli) for where, text in texts(command) if text]


@pytest.mark.parametrize("command,where,text", HELPS, ids=[f"{c}:{w}" for c, w, _ in HELPS])
def test_help_names_no_service_of_the_reference_stack(command, where, text):
    assert not REFERENCE_SERVICES.search(text), f"{command} {where}: {text!r}"


@pytest.mark.parametrize("command,where,text", HELPS, ids=[f"{c}:{w}" for c, w, _ in HELPS])
def test_help_names_settings_as_they_are_read(command, where, text):
    for match in re.finditer(r"(?<![A-Z0-9_])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)", text):
        assert match.group(1) not in SETTINGS, f"{command} {where}: {match.group(1)} is read as STACKCTL_{match.group(1)}"


def test_the_walk_sees_every_command_and_the_renamed_settings():
    names = {" ".join(path) for path, _ in walk(cli)}
    assert {"stackctl monitor", "stackctl backup schedule", "stackctl certs self-signed", "stackctl exec"} <= names
    assert {"BACKUP_SCHEDULE_AT", "TLS_CERT_FILE", "MONITOR_INTERVAL"} <= SETTINGS


def test_the_check_catches_what_it_is_for():
    assert REFERENCE_SERVICES.search("Seconds the new API may take") and REFERENCE_SERVICES.search("e.g. exec api sh")
    assert not REFERENCE_SERVICES.search("the app's image, redis-cli, /api/health, your web stack")
    assert re.search(r"(?<![A-Z0-9_])([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)", "default BACKUP_SCHEDULE_AT").group(1) in SETTINGS
