"""What the shell and the editor get: completion scripts that complete, a schema that accepts
what stackctl accepts and refuses what it refuses, and stackctl.yml read like stackctl.yaml."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from stackctl.errors import ConfigError
from stackctl.project import Project
from stackctl.roles import parse

ROOT = Path(__file__).resolve().parents[2]


def stackctl(*args, env=None, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "stackctl", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, **(env or {})}, timeout=60)


@pytest.fixture(scope="module")
def schema():
    out = stackctl("schema")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("path", ["stackctl.yaml", "examples/geo-nest/stackctl.yaml"])
def test_the_schema_accepts_the_files_that_ship(schema, path):
    jsonschema.validate(yaml.safe_load((ROOT / path).read_text()), schema)


SHAPES = [
    {"database": "db", "cache": "redis", "migrate": "migrate", "apps": ["api"], "proxy": "web"},
    {"database": {"service": "db", "kind": "mariadb"}, "apps": {"api": {"port": 8000, "health": "/health"},
                                                                "worker": None}},
    {"production": "docker-compose.production.yml", "environments": {"staging": "production"}},
    {"production": {"file": "prod.yml", "standalone": True}, "proxy": {"service": "nginx", "checks": ["/"]}},
]
REFUSED = [
    {"database": {"service": "db", "kind": "oracle"}},
    {"databse": "db"},
    {"apps": {"api": {"port": 70000}}},
    {"proxy": {"service": "web", "switch": "swap"}},
    {"environments": {"staging": "prod"}},
]


@pytest.mark.parametrize("data", SHAPES)
def test_what_stackctl_reads_the_schema_accepts(schema, data):
    parse(data, "stackctl.yaml")
    jsonschema.validate(data, schema)


@pytest.mark.parametrize("data", REFUSED)
def test_what_stackctl_refuses_the_schema_refuses(schema, data):
    with pytest.raises(ConfigError):
        parse(data, "stackctl.yaml")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def _project(root: Path) -> Project:
    return Project(root=root, files=(root / "compose.yaml",))


def test_stackctl_yml_is_read_when_it_is_the_only_one(tmp_path):
    (tmp_path / "stackctl.yml").write_text("database: db\n")
    assert _project(tmp_path).roles_file == tmp_path / "stackctl.yml"
    (tmp_path / "stackctl.yml").unlink()
    assert _project(tmp_path).roles_file == tmp_path / "stackctl.yaml"  # where init writes


def test_both_spellings_at_once_are_refused(tmp_path):
    (tmp_path / "stackctl.yml").write_text("database: db\n")
    (tmp_path / "stackctl.yaml").write_text("database: postgres\n")
    with pytest.raises(ConfigError, match="both stackctl.yaml and stackctl.yml"):
        _project(tmp_path).roles_file  # noqa: B018


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_call_back_into_stackctl(shell):
    out = stackctl("completion", shell)
    assert out.returncode == 0 and f"_STACKCTL_COMPLETE={shell}_complete" in out.stdout.replace(
        "_STACKCTL_COMPLETE=\"", "_STACKCTL_COMPLETE=").replace("_complete\"", "_complete")


def test_bash_completion_completes_commands_and_options():
    env = {"COMP_WORDS": "stackctl sta", "COMP_CWORD": "1", "_STACKCTL_COMPLETE": "bash_complete"}
    assert set(stackctl(env=env).stdout.split()) == {"plain,start", "plain,status"}
    env = {"COMP_WORDS": "stackctl logs --ti", "COMP_CWORD": "2", "_STACKCTL_COMPLETE": "bash_complete"}
    assert "plain,--timestamps" in stackctl(env=env).stdout.split()
