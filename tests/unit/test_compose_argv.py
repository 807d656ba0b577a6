"""The compose command line stackctl builds: files, env files, project; secrets only in the env."""

import os

import pytest

from stackctl.project import Project
from stackctl.settings import load_settings


@pytest.fixture
def project(tmp_path, monkeypatch):
    for var in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "STACK_NAME", "COMPOSE_FILES_EXTRA"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "compose").mkdir()
    (tmp_path / "compose" / "compose.yaml").write_text("services: {}\n")
    (tmp_path / "compose" / "compose.prod.yaml").write_text("services: {}\n")
    (tmp_path / "override.yaml").write_text("services: {}\n")
    return tmp_path


def argv(project_dir, env, text, monkeypatch):
    from stackctl.compose import Compose

    (project_dir / (".env.production" if env == "production" else ".env")).write_text(text)
    p = Project(project_dir, env)
    monkeypatch.setattr(os, "environ", dict(os.environ))  # Compose exports settings; keep it local
    compose = Compose(p, load_settings(p))
    return [str(a) for a in compose.client.compose.docker_compose_cmd], os.environ


def test_development_argv(project, monkeypatch):
    cmd, env = argv(project, "development", "STACK_NAME=shop\nCOMPOSE_FILES_EXTRA=override.yaml\n", monkeypatch)
    assert cmd[cmd.index("compose"):] == [
        "compose", "--file", str(project / "compose/compose.yaml"), "--file", str(project / "override.yaml"),
        "--env-file", str(project / ".env"), "--project-name", "shop"]
    assert env["POSTGRES_PASSWORD"] == "dev-only-postgres-password"


def test_production_adds_overlay_and_keeps_secrets_out_of_argv(project, monkeypatch):
    secret = "s3cr3t-value-for-production-only"
    cmd, env = argv(project, "production",
                    f"POSTGRES_PASSWORD={secret}\nREDIS_PASSWORD=another-long-secret-value\n", monkeypatch)
    assert str(project / "compose/compose.prod.yaml") in cmd
    assert str(project / ".env.production") in cmd
    assert not any(secret in part for part in cmd)
    assert env["POSTGRES_PASSWORD"] == secret  # handed over through the environment
