"""Global options after the command are read as if before it, unless the command has its own."""

import pytest

from stackctl.cli import cli
from stackctl.cli.hoist import hoist


@pytest.mark.parametrize("given, read", [
    ("deploy --env staging", "--env staging deploy"),
    ("deploy --env=staging --dry-run", "--env=staging deploy --dry-run"),
    ("--debug status -p shop --json", "--debug -p shop status --json"),
    ("backups verify 20260101T000000Z --project-directory /srv/app", "--project-directory /srv/app backups verify "
                                                                     "20260101T000000Z"),
    ("up api -f compose.yaml -f extra.yaml", "-f compose.yaml -f extra.yaml up api"),
    ("status -H ssh://ops@host", "-H ssh://ops@host status"),
    ("logs -f api --env production", "--env production logs -f api"),  # logs' own -f follows
    ("certs self-signed --host example.com", "certs self-signed --host example.com"),  # the certificate's name
    ("deploy --host ssh://ops@h --env staging", "--env staging deploy --host ssh://ops@h"),
    ("exec api sh -c 'x' --env staging", "exec api sh -c 'x' --env staging"),  # handed on to the command
    ("psql --env staging -c 'SELECT 1'", "--env staging psql -c 'SELECT 1'"),
    ("logs -- --env", "logs -- --env"),
])
def test_global_options_after_the_command_are_moved_before_it(given, read):
    import shlex

    assert hoist(shlex.split(given), cli) == shlex.split(read)
