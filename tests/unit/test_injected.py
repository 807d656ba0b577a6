"""A secret's new value is noticed (compose's own hash covers names, not contents)."""

import stat

from stackctl import injected
from stackctl.plan import parse_model
from stackctl.roles import parse as parse_roles
from tests.unit.fakes import FakeEngine, container, fake_stack


def model():
    config = {"name": "shop", "secrets": {"redis_password": {"environment": "REDIS_PASSWORD"},
                                          "tls": {"file": "/certs/tls.pem"}},
              "services": {"cache": {"image": "redis", "secrets": ["redis_password"]},
                           "api": {"image": "api", "secrets": [{"source": "redis_password"}, "tls"]},
                           "web": {"image": "nginx"}}}
    return parse_model(config, parse_roles({"cache": "cache", "apps": {"api": {}, "web": {}}}, "test"))


def test_sources_are_read_from_the_model():
    m = model()
    assert m.services["api"].file_sources == ("env:REDIS_PASSWORD", "file:/certs/tls.pem")
    assert m.services["web"].file_sources == ()


def test_a_changed_value_marks_the_services_that_hold_it(tmp_path):
    engine = FakeEngine([container("cache"), container("api"), container("web")])
    stack = fake_stack(tmp_path, model(), engine)
    stack.project.state_dir.mkdir()
    env = {"REDIS_PASSWORD": "first-password-value"}
    stack.compose.environment = lambda: env
    containers = stack.containers()
    assert injected.changed(stack, ["cache", "api", "web"], containers) == []  # nothing recorded yet
    injected.record(stack, ["cache", "api", "web"], containers)
    assert injected.changed(stack, ["cache", "api", "web"], containers) == []
    env["REDIS_PASSWORD"] = "second-password-value"
    assert injected.changed(stack, ["cache", "api", "web"], containers) == ["api", "cache"]
    state = stack.project.state_dir / injected.FILE
    assert stat.S_IMODE(state.stat().st_mode) == 0o600 and "password-value" not in state.read_text()


def test_a_container_made_since_is_not_marked(tmp_path):
    from dataclasses import replace

    engine = FakeEngine([container("cache"), container("api")])
    stack = fake_stack(tmp_path, model(), engine)
    stack.project.state_dir.mkdir()
    env = {"REDIS_PASSWORD": "first-password-value"}
    stack.compose.environment = lambda: env
    injected.record(stack, ["cache", "api"], stack.containers())
    env["REDIS_PASSWORD"] = "second-password-value"
    renewed = {**stack.containers(), "cache": replace(stack.containers()["cache"], id="cache-new")}
    assert injected.changed(stack, ["cache", "api"], renewed) == ["api"]
