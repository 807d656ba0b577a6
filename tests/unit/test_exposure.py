"""In production the database and cache are never reachable beyond loopback, whatever the syntax."""

import pytest

from stackctl.preflight import exposed_data_services
from tests.unit.fakes import FakeEngine, fake_stack
from tests.unit.test_restore import model


def stack_with(tmp_path, db: dict, cache: dict | None = None):
    stack = fake_stack(tmp_path, model(), FakeEngine())
    stack.__dict__["config"] = {"services": {"db": db, "cache": cache or {}}}
    return stack


@pytest.mark.parametrize("db, said", [
    ({"ports": [{"target": 5432, "published": "", "protocol": "tcp"}]}, "db on 0.0.0.0:an ephemeral port (-> 5432)"),
    ({"ports": [{"target": 5432, "published": "5432", "host_ip": "0.0.0.0"}]}, "db on 0.0.0.0:5432 (-> 5432)"),
    ({"ports": [{"target": 5432, "published": "6000-6010"}]}, "db on 0.0.0.0:6000-6010 (-> 5432)"),
    ({"ports": [{"target": 5432, "published": "5432", "host_ip": "10.0.0.5"}]}, "db on 10.0.0.5:5432 (-> 5432)"),
    ({"network_mode": "host"}, "db on the host's own network (network_mode: host)"),
])
def test_any_way_beyond_loopback_is_named(tmp_path, db, said):
    assert exposed_data_services(stack_with(tmp_path, db)) == [said]


@pytest.mark.parametrize("db", [{}, {"ports": [{"target": 5432, "published": "5432", "host_ip": "127.0.0.1"}]},
                                {"ports": [{"target": 5432, "published": "5432", "host_ip": "::1"}]}])
def test_loopback_or_nothing_published_is_fine(tmp_path, db):
    assert exposed_data_services(stack_with(tmp_path, db)) == []


def test_the_cache_is_held_to_the_same_rule(tmp_path):
    found = exposed_data_services(stack_with(tmp_path, {}, {"ports": [{"target": 6379, "published": "6379"}]}))
    assert found == ["cache on 0.0.0.0:6379 (-> 6379)"]
