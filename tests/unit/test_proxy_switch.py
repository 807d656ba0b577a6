"""The switch names the new container after the free slot; before traffic moves, the proxy's
resolver must answer that name with the new container's address (an engine in swarm mode keeps
answering a renamed container's old name: found in CI, a rollback then answered 502)."""

from dataclasses import replace
from types import SimpleNamespace

import pytest

from stackctl.proxy import Proxies, RolloutFailed
from tests.unit.fakes import FakeEngine, container


def proxies(engine) -> Proxies:
    p = object.__new__(Proxies)
    p.stack = SimpleNamespace(engine=engine, name="shop")
    p.containers = [engine.containers["web-id"]]
    return p


def engine_with_renamed_app():
    web = replace(container("web"), ips=("10.0.0.2",))
    new = replace(container("api"), name="shop-api-2", ips=("10.0.0.9",))
    engine = FakeEngine([web, new])
    engine.stale_dns["shop-api-2"] = ("10.0.0.5",)  # the address of the container that had the name before
    return engine


def test_a_stale_name_is_made_fresh_by_rejoining_the_networks_before_traffic_moves():
    engine = engine_with_renamed_app()
    proxies(engine).resolved("shop-api-2", "api-id", forget=("shop-api-3",))
    assert "reconnect api-id" in engine.calls


def test_a_name_the_dns_never_answers_right_moves_no_traffic():
    engine = engine_with_renamed_app()
    engine.reconnect = lambda container, forget=(): None  # rejoining does not help
    with pytest.raises(RolloutFailed, match="does not answer shop-api-2 with the new container's address "
                                            r"\(10.0.0.9\).*traffic was not moved"):
        proxies(engine).resolved("shop-api-2", "api-id")


def test_a_fresh_name_is_left_alone():
    engine = engine_with_renamed_app()
    engine.stale_dns.clear()
    proxies(engine).resolved("shop-api-2", "api-id")
    assert not any(c.startswith("reconnect") for c in engine.calls)
