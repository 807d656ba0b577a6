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






def test_an_unknown_rule_is_refused_in_one_line(tmp_path, monkeypatch):
    import pytest

    from stackctl.errors import ConfigError

    (tmp_path / "stackctl.yaml").write_text("environments:\n  staging: strict\n")
    with pytest.raises(ConfigError, match=r"stackctl.yaml: environments.staging Input should be 'production'"):
        stack(tmp_path, "staging", "", monkeypatch)


def test_production_with_the_edge_on_a_remote_engine_is_refused_by_the_check(tmp_path, monkeypatch):
    """Before a deploy has migrated or moved anything: the edge reads its configuration from this
    machine (it would fail at the switch, after the API's rollout)."""
    from dataclasses import replace

    from stackctl.preflight import check_production

    (tmp_path / "compose.prod.yaml").write_text("services:\n  web:\n    image: nginx\n")
    (tmp_path / "stackctl.yaml").write_text("database: db\ncache: cache\nproxy: web\n"
                                            "edge: {hosts: [shop.example.com], tls: internal}\n")
    model = {"name": "shop", "services": {"db": {"image": "postgres"}, "cache": {"image": "redis"},
                                          "web": {"image": "nginx"},  # as compose gives it with the edge's
                                          "stackctl-edge": {"image": "stackctl-edge"}}}  # override: no docker here
    local = stack(tmp_path, "production", "", monkeypatch)
    local.__dict__["config"] = model
    assert "edge" not in by_name(check_production(local))
    remote = Stack(replace(local.project, host="ssh://deploy@app1.example.com"))
    remote.__dict__["config"] = model
    refused = by_name(check_production(remote))["edge"]
    assert not refused.ok and "not on app1.example.com" in refused.detail
    assert "run stackctl on the production host itself" in refused.fix
