"""A proxy's new image: the ports handed from the old container to a new one, in that order,
and the old one back in service when the new one never gets healthy."""

from dataclasses import replace

import pytest

from stackctl.deploy import handover
from stackctl.health.gate import GateResult, Outcome
from stackctl.proxy import RolloutFailed
from stackctl.report import SILENT
from tests.unit.fakes import FakeEngine, container, fake_stack
from tests.unit.test_deploy_plan import geo


class Compose:
    def __init__(self, engine):
        self.engine = engine

    def scale_up(self, service, count, start=True):
        self.engine.calls.append(f"compose scale {service}={count} {'start' if start else 'no-start'}")
        made = replace(container(service, project="geo", state="created"), id=f"{service}-new", name=f"geo-{service}-2")
        self.engine.containers[made.id] = made

    def start(self, services):
        self.engine.calls.append(f"compose start {' '.join(services)}")


@pytest.fixture
def proxy_stack(tmp_path, monkeypatch):
    engine = FakeEngine([container(name, project="geo") for name in ("backend", "proxy")])
    stack = fake_stack(tmp_path, geo(proxy={"service": "proxy", "upstream": "backend"}), engine)
    stack.__dict__["compose"] = Compose(engine)
    monkeypatch.setattr(handover, "observer", lambda spec, eng, cid, within=0.0: None)
    return stack, engine


def gate(monkeypatch, outcome):
    monkeypatch.setattr(handover, "wait_ready", lambda *a, **k: GateResult(outcome, 0.2, "checked"))


def test_the_new_proxy_is_created_before_the_old_stops_and_started_right_after(proxy_stack, monkeypatch):
    stack, engine = proxy_stack
    gate(monkeypatch, Outcome.READY)
    handover.hand_over(stack, "proxy", timeout=10, report=SILENT)
    assert [c for c in engine.calls if not c.startswith("exec")] == [
        "compose scale proxy=2 no-start", "stop proxy-id", "start proxy-new", "remove proxy-id"]
    assert engine.containers["backend-id"].state == "running"  # the app behind it untouched


def test_a_new_proxy_that_never_gets_healthy_is_removed_and_the_old_one_serves_again(proxy_stack, monkeypatch):
    stack, engine = proxy_stack
    gate(monkeypatch, Outcome.TIMEOUT)
    monkeypatch.setattr(handover, "failure_details", lambda *a: "")
    with pytest.raises(RolloutFailed, match="did not become healthy .*the old one serves again"):
        handover.hand_over(stack, "proxy", timeout=10, report=SILENT)
    assert engine.calls == ["compose scale proxy=2 no-start", "stop proxy-id", "start proxy-new",
                            "stop proxy-new", "remove proxy-new", "start proxy-id"]
    assert engine.containers["proxy-id"].state == "running" and "proxy-new" not in engine.containers
