"""check reads the env file against the compose files: a misspelt variable does not pass silently,
and production secrets are the interpolated ones, judged by their values."""

from stackctl.preflight import check_env
from stackctl.project import Project
from stackctl.stack import Stack

COMPOSE = """\
services:
  db:
    image: postgres
    environment:
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:-dev}
  cache:
    image: redis
    command: ["sh", "-c", "redis-server --requirepass \\"$$REDIS_PASSWORD\\""]
    environment:
      REDIS_PASSWORD: ${REDIS_PASSWORD:-dev}
      LOG_LEVEL: ${LOG_LEVEL:-info}
"""


def stack(tmp_path, env, text, monkeypatch) -> Stack:
    for var in ("POSTGRES_PASSWORD", "REDIS_PASSWORD", "LOG_LEVEL"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / (".env" if env == "development" else f".env.{env}")).write_text(text)
    return Stack(Project(tmp_path, env, (tmp_path / "compose.yaml",)))


def by_name(checks):
    return {c.name: c for c in checks}


def test_a_misspelt_variable_fails_naming_the_one_it_nearly_is(tmp_path, monkeypatch):
    s = stack(tmp_path, "development", "REDIS_PASWORD=x\nLOG_LEVEL=warn\nMY_OWN_FLAG=1\n", monkeypatch)
    check = by_name(check_env(s))["variables"]
    assert not check.ok
    assert check.detail == "REDIS_PASWORD in .env is used by no compose file (did you mean REDIS_PASSWORD?)"


def test_production_judges_each_interpolated_secret(tmp_path, monkeypatch):
    s = stack(tmp_path, "production", "POSTGRES_PASSWORD=change-me\n", monkeypatch)
    checks = by_name(check_env(s))
    assert "variables" not in checks
    assert checks["secrets"].detail == ("POSTGRES_PASSWORD is a placeholder or development default; "
                                        "REDIS_PASSWORD is not set")
    s = stack(tmp_path, "production", "POSTGRES_PASSWORD=3f9c1e7a5b2d8c4e6f0a\nREDIS_PASSWORD=9e8d7c6b5a4f3e2d1c0b\n",
              monkeypatch)
    assert by_name(check_env(s))["secrets"].ok


def test_an_environment_gets_the_rules_stackctl_yaml_names_for_it(tmp_path, monkeypatch):
    from stackctl.preflight import check_production

    (tmp_path / "compose.prod.yaml").write_text("services:\n  db:\n    read_only: true\n")
    (tmp_path / "stackctl.yaml").write_text("database: db\ncache: cache\n"
                                            "environments:\n  staging: production\n  preview: development\n")
    staging = stack(tmp_path, "staging", "POSTGRES_PASSWORD=change-me\n", monkeypatch)
    assert staging.project.safety == "production" and staging.project.production
    assert staging.project.compose_files()[-1] == tmp_path / "compose.prod.yaml"  # production's overlay
    assert not by_name(check_env(staging))["secrets"].ok
    assert "exposure" in by_name(check_production(staging))  # production's exposure check runs
    preview = stack(tmp_path, "preview", "", monkeypatch)
    assert preview.project.safety == "development" and not preview.project.production
    assert by_name(check_env(preview))["secrets"].detail == "preview: defaults allowed (development's rules)"
    # a name stackctl.yaml does not mention: strong secrets, nothing more
    qa = stack(tmp_path, "qa", "POSTGRES_PASSWORD=3f9c1e7a5b2d8c4e6f0a\nREDIS_PASSWORD=9e8d7c6b5a4f3e2d1c0b\n",
               monkeypatch)
    assert qa.project.safety == "checked" and qa.project.compose_files() == [tmp_path / "compose.yaml"]
    assert by_name(check_env(qa))["secrets"].ok


def test_an_unknown_rule_is_refused_in_one_line(tmp_path, monkeypatch):
    import pytest

    from stackctl.errors import ConfigError

    (tmp_path / "stackctl.yaml").write_text("environments:\n  staging: strict\n")
    with pytest.raises(ConfigError, match=r"stackctl.yaml: environments.staging Input should be 'production'"):
        stack(tmp_path, "staging", "", monkeypatch)
