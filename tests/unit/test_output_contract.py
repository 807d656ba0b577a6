"""Every command speaks one JSON envelope: {"schema", "command", "ok", "result" | "error"}.

Errors: each command, run with --json where it cannot work (no project), prints exactly one
envelope on stdout and exits 2. Results: each command's frozen result serialises into the same
envelope. A command added without a result here fails `test_every_command_is_pinned`.
"""

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import click
import pytest

from stackctl.cli import cli
from stackctl.cli.output import envelope

ARGS = {"backups verify": ["20260101T000000Z"], "backups push": ["20260101T000000Z"], "restore": ["20260101T000000Z", "--yes"], "exec": ["api", "true"],
        "psql": ["-c", "SELECT 1"], "redis-cli": ["PING"], "monitor": ["--once"], "ci init": ["github"]}


def leaf_commands(group: click.Group, prefix=()) -> list[str]:
    found = []
    for name, command in sorted(group.commands.items()):
        path = (*prefix, name)
        if isinstance(command, click.Group):
            if command.invoke_without_command:
                found.append(" ".join(path))
            found += leaf_commands(command, path)
        else:
            found.append(" ".join(path))
    return found


# What these print is itself read by another program (a shell's completion script, a JSON
# Schema): no envelope around it.
FOR_TOOLS = {"completion", "schema"}
COMMANDS = [c for c in leaf_commands(cli) if c not in FOR_TOOLS]


def _set(tmp_path):
    from stackctl.backup.sets import BackupSet

    folder = tmp_path / "20260101T000000Z"
    folder.mkdir()
    (folder / "postgres.dump").write_bytes(b"x" * 10)
    return BackupSet(folder, {"format": 2, "id": folder.name, "created_at": "2026-01-01T00:00:00+00:00",
                              "kind": "manual", "stack": "shop", "env": "production",
                              "database": {"kind": "postgres", "server_version": "16.4", "globals": None,
                                           "databases": [{"name": "shop", "file": "postgres.dump", "bytes": 10,
                                                          "tables": {"public.stops": 3}}]},
                              "cache": {"kind": "redis", "file": "redis.rdb", "version": "7.2.5", "keys": 2},
                              "verification": {"full_read": True}})


def samples(tmp_path) -> dict:
    from stackctl import results
    from stackctl.deploy.deploy import DeployResult
    from stackctl.backup.restore import RestoreResult
    from stackctl.access import ComposeModel, Exited
    from stackctl.backup.remote import Pushed
    from stackctl.backup.restic import Checked
    from stackctl.doctor import Diagnosis, Finding
    from stackctl.watch import Incidents
    from stackctl.lifecycle import Changed, Down, LogLines, Restarted
    from stackctl.service_state import ServiceState
    from stackctl.listing import Listed, Listing
    from stackctl.migrate import Migration
    from stackctl.preflight import Check, CheckReport
    from stackctl.status import StatusReport
    from stackctl.steps import Plan, Step
    from stackctl.service_state import ServiceOutcome
    from stackctl.up import UpResult
    from stackctl.edge.certificate import EdgeCertificates, Served

    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    backup_set = _set(tmp_path)
    outcome = ServiceOutcome("api", "start", "ready", 1.5)
    return {
        "check": CheckReport((Check("engine", True, "Docker 26"),)),
        "up": UpResult((outcome,), (), (("api", "http://localhost:8080/"),), ("api",), 12.5),
        "status": StatusReport("shop", "development", (), ()),
        "logs": LogLines(("api | ready",)),
        "restart": Restarted((outcome,)),
        "down": Down("shop", False),
        "doctor": Diagnosis("shop", (Finding(3, "api", "cannot log in to the database", ("FATAL: password",),
                                             "same password"),)),
        "monitor": Incidents({"service api": "api is stopped"}),
        "ps": Listing("shop", (Listed("api", "shop-api-1", ServiceState.READY, "running", ()),)),
        "stop": Changed("stopped", ("api",)),
        "start": Changed("started", ("api",)),
        "pull": Changed("pulled", ("db",)),
        "build": Changed("built", ("api",)),
        "exec": Exited("api", 0, "hello"),
        "psql": Exited("db", 0, "1"),
        "redis-cli": Exited("cache", 0, "PONG"),
        "config": ComposeModel({"services": {"api": {"image": "shop/api"}}}),
        "migrate": results.Migrated("migrate", ("applied 1",)),
        "backup": results.BackupMade(backup_set, False, ()),
        "backup schedule": results.ScheduleChange(True, "03:15", (Path("/etc/cron.d/x"),), when),
        "backups": results.BackupList(tmp_path, (backup_set,), ()),
        "backups verify": results.Verified(backup_set.id, 1, 3),
        "backups push": Pushed(backup_set.id, "sftp://ops@backup1/srv/shop/" + backup_set.id, 10, ()),
        "backups check": Checked("rest:https://backup1/shop", False, ("no errors were found",)),
        "restore": RestoreResult(backup_set, ("shop",), {"shop": "shop_before_20260101000000"}, 3, 1, ("reader",),
                                 True, Path("/srv/shop/.stackctl/r.rdb")),
        "certs self-signed": results.CertMade(Path("c.pem"), Path("k.pem"), when),
        "edge renew": EdgeCertificates("renew", (Served("shop.example.com", "127.0.0.1:443", ("shop.example.com",),
                                                        "CN=R11", when, "ab" * 32),), renewed=True),
        "edge root": EdgeCertificates("root", (), "/srv/shop/.stackctl/edge-ca/root.pem", detail="the edge is not running"),
        "deploy": DeployResult("deploy", "20260101-000000", None, 40.0, (("check", 1.0),), ()),
        "rollback": DeployResult("rollback", "20260101-000000", "20260102-000000", 20.0),
        "promote": DeployResult("promote", "20260101-000000", None, 30.0, promoted_from="staging (verified there: "
                                "api http /health)"),
        "releases": results.ReleaseList("20260101-000000", ({"release": "20260101-000000", "current": True,
                                                             "commit": None, "deployed_by": "ops",
                                                             "deployed_at": None},)),
        "audit": results.AuditLog(({"action": "deploy", "result": "deployed"},)),
        "init": results.RolesWritten(Path("stackctl.yaml"), "database: db\n", True, False),
        "ci init": results.RolesWritten(Path(".gitlab-ci.yml"), "stages: [test]\n", True, False),
        # not commands, but what --dry-run and migrate --status answer with
        "(dry-run)": Plan("deploy", (Step("check", "the target"),)),
        "(migrate --status)": results.MigrationStatus((Migration("0001", "init", True, True),), ""),
    }


def test_every_command_is_pinned(tmp_path):
    missing = set(COMMANDS) - set(samples(tmp_path))
    assert not missing, missing


@pytest.mark.parametrize("command", COMMANDS + ["(dry-run)", "(migrate --status)"])
def test_a_result_is_one_envelope(command, tmp_path):
    result = samples(tmp_path)[command]
    payload = json.loads(json.dumps(envelope(command, result.to_dict())))
    assert list(payload) == ["schema", "command", "ok", "result"]
    assert payload["schema"] == 1 and payload["command"] == command and payload["ok"] is True
    assert isinstance(payload["result"], dict) and payload["result"]


@pytest.mark.parametrize("command", COMMANDS)
def test_an_error_is_one_envelope_and_exit_2(command, tmp_path):
    env = {**os.environ, "STACKCTL_PROJECT_DIR": "", "COMPOSE_FILE": "", "NO_COLOR": "1"}
    out = subprocess.run([sys.executable, "-m", "stackctl", *command.split(), "--json", *ARGS.get(command, [])],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    payload = json.loads(out.stdout)  # exactly one JSON document on stdout
    assert list(payload) == ["schema", "command", "ok", "error"]
    assert payload["command"] == command and payload["ok"] is False
    assert payload["error"]["message"].startswith("no compose file") and payload["error"]["exit_code"] == 2
    assert payload["error"]["hint"]
