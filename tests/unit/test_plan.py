import pytest

from stackctl.errors import ConfigError
from stackctl.plan import closure, levels, parse_model, start_order, up_steps
from stackctl.roles import parse as parse_roles

CONFIG = {
    "name": "shop",
    "services": {
        "web": {"image": "w", "depends_on": {"api": {"condition": "service_healthy"}}},
        "api": {"image": "a", "build": {"context": "."}, "healthcheck": {"test": ["CMD", "true"]},
                "depends_on": {"db": {"condition": "service_healthy"}, "redis": {"condition": "service_healthy"},
                               "migrate": {"condition": "service_completed_successfully"}}},
        "migrate": {"image": "a", "depends_on": {"db": {"condition": "service_healthy"}}},
        "redis": {"image": "r"},
        "db": {"image": "p"},
    }
}
ROLES = parse_roles({"database": "db", "cache": "redis", "migrate": "migrate",
                     "apps": {"api": {"port": 8000, "health": "/health"}},
                     "proxy": {"service": "web", "upstream": "api", "health": "/health",
                               "checks": ["/api/health"], "switch": "include"}}, "test")


def model():
    return parse_model(CONFIG, ROLES)


def test_parse_reads_probes_roles_and_dependencies():
    m = model()
    assert m.services["api"].needs == ("db", "migrate", "redis")
    assert m.services["migrate"].oneshot and not m.services["api"].oneshot
    assert m.services["web"].probe == "http:/health" and m.services["web"].checks == ("/api/health",)
    assert m.services["api"].build and m.services["api"].has_healthcheck
    assert (m.services["db"].probe, m.services["redis"].probe) == ("postgres", "redis")
    assert (m.name, m.upstream, m.switch, m.services["api"].port) == ("shop", "api", "include", 8000)


def test_start_order_is_db_redis_migrate_api_web():
    m = model()
    assert levels(m) == {"db": 0, "redis": 0, "migrate": 1, "api": 2, "web": 3}
    assert start_order(m, m.services) == ["db", "redis", "migrate", "api", "web"]


def test_closure_pulls_in_dependencies_only():
    assert closure(model(), ["migrate"]) == ["db", "migrate"]
    assert closure(model(), ["api"]) == ["db", "redis", "migrate", "api"]


def test_unknown_service_lists_valid_ones():
    with pytest.raises(ConfigError) as err:
        closure(model(), ["nginx"])
    assert "unknown service 'nginx'" in err.value.message
    assert err.value.hint == "valid services: api, db, migrate, redis, web"


def test_cycle_is_reported():
    cfg = {"services": {"a": {"depends_on": {"b": {}}}, "b": {"depends_on": {"a": {}}}}}
    with pytest.raises(ConfigError, match="dependency cycle: a -> b -> a"):
        levels(parse_model(cfg, parse_roles({}, "test")))


def test_missing_dependency_is_reported():
    with pytest.raises(ConfigError, match="'a' depends on unknown service 'z'"):
        parse_model({"services": {"a": {"depends_on": ["z"]}}}, parse_roles({}, "test"))


def steps_text(observed):
    m = model()
    return [str(s) for s in up_steps(m, start_order(m, m.services), observed)]


def test_cold_plan_starts_everything_in_order():
    assert steps_text({}) == [
        "start db (absent)",
        "start redis (absent)",
        "run migrate after db",
        "start api after db, migrate, redis (absent)",
        "start web after api (absent)",
    ]


def test_warm_plan_keeps_everything():
    observed = {"db": "ready", "redis": "ready", "migrate": "done", "api": "ready", "web": "ready"}
    assert steps_text(observed) == [
        "keep db (ready)", "keep redis (ready)", "keep migrate after db (done)",
        "keep api after db, migrate, redis (ready)", "keep web after api (ready)",
    ]


def test_recreated_api_reruns_migrations_first():
    observed = {"db": "ready", "redis": "ready", "migrate": "done", "api": "created", "web": "ready"}
    assert steps_text(observed) == [
        "keep db (ready)", "keep redis (ready)", "run migrate after db (before api)",
        "start api after db, migrate, redis (created)", "keep web after api (ready)",
    ]
