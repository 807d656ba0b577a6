"""up's own flow over the fake engine: what it tells the reporter, in which order, and that a
failed check stops it before anything is built or created."""

import pytest

from stackctl import up as up_mod
from stackctl.preflight import Check, CheckReport, PreflightFailed
from tests.unit.fakes import FakeEngine, fake_stack
from tests.unit.test_restore import model


class Recorder:
    def __init__(self):
        self.phases, self.notes = [], []

    def phase(self, text):
        self.phases.append(text)

    def service(self, *args, **kwargs):
        pass

    def note(self, text):
        self.notes.append(text)


@pytest.fixture
def flow(tmp_path, monkeypatch):
    stack = fake_stack(tmp_path, model(), FakeEngine())
    done = []
    monkeypatch.setattr(up_mod, "build_images", lambda s, targets, mode, report: done.append("build") or [])
    monkeypatch.setattr(up_mod, "pull_missing", lambda s, targets, report: done.append("pull") or [])
    monkeypatch.setattr(up_mod, "converge", lambda s, targets, oneshots, executor, report: done.append("converge")
                        or ([], []))
    monkeypatch.setattr(up_mod, "check_all_endpoints", lambda *a, **k: [])
    monkeypatch.setattr(up_mod, "app_urls", lambda *a, **k: [])
    return stack, done, monkeypatch


def test_a_passing_check_goes_on_to_build_and_start(flow):
    stack, done, monkeypatch = flow
    monkeypatch.setattr(up_mod, "run_checks", lambda s: CheckReport((Check("engine", True, "ok"),)))
    recorder = Recorder()
    result = up_mod.up(stack, None, report=recorder)
    assert result.ok and done == ["build", "pull", "converge"]
    assert recorder.phases == ["checking the machine", "reading the compose model", "verifying endpoints"]


def test_a_failing_check_stops_before_anything_is_built(flow):
    stack, done, monkeypatch = flow
    monkeypatch.setattr(up_mod, "run_checks", lambda s: CheckReport((Check("port 8000", False, "taken", "stop it"),)))
    with pytest.raises(PreflightFailed, match="preflight failed: port 8000: taken") as raised:
        up_mod.up(stack, None, report=Recorder())
    assert raised.value.exit_code == 2 and done == []
    assert "stackctl-lock-shop" not in stack.engine.volumes  # the lock is let go


def test_a_later_phase_converges_its_own_services_and_not_what_the_first_one_ran(tmp_path, monkeypatch):
    """With the API serving, up converges and runs the migrations first, then the rest. If the
    second phase let compose converge dependencies too, a one-shot whose image tag moved between
    the phases (another build or pull) would be recreated there and never started."""
    from stackctl.containers import ContainerInfo
    from stackctl.service_state import ServiceOutcome
    from tests.unit.fakes import FakeCompose

    running = [ContainerInfo(f"{n}-1", f"shop-{n}-1", n, "shop", "running") for n in ("db", "cache", "api", "web")]
    from stackctl.plan import parse_model
    from stackctl.roles import parse as parse_roles

    services = {"db": {"image": "postgis/postgis:16"}, "cache": {"image": "redis:7"},
                "migrate": {"image": "shop/api", "depends_on": {"db": {}}},
                "api": {"image": "shop/api", "depends_on": {"migrate": {"condition": "service_completed_successfully"},
                                                            "cache": {}}},
                "web": {"image": "shop/web", "depends_on": {"api": {}}}}
    roles = parse_roles({"database": "db", "cache": "cache", "migrate": "migrate", "apps": {"api": {"port": 3000},
                                                                                            "web": {}}}, "test")
    exited = ContainerInfo("m-1", "shop-migrate-1", "migrate", "shop", "exited", exit_code=0)
    stack = fake_stack(tmp_path, parse_model({"name": "shop", "services": services}, roles), FakeEngine(running + [exited]))
    asked = []
    monkeypatch.setattr(FakeCompose, "create", lambda self, services, recreate=False, no_deps=False:
                        asked.append((sorted(services), no_deps)), raising=False)
    monkeypatch.setattr(up_mod.injected, "changed", lambda s, phase, containers: [])
    monkeypatch.setattr(up_mod.injected, "record", lambda s, phase, containers: None)
    monkeypatch.setattr(up_mod.mounted, "recreate_or_say", lambda s, phase, containers, report: [])
    monkeypatch.setattr(up_mod.converged, "unchanged", lambda s, phase, containers: False)
    monkeypatch.setattr(up_mod.converged, "record", lambda s, phase, containers: None)
    monkeypatch.setattr(up_mod, "observe", lambda s, names, containers, evidence=None: {n: "created" for n in names})

    class Executor:
        evidence = {}

        def run(self, steps):
            return [ServiceOutcome(s.target, s.action, "ready", 0.1, "", "probe") for s in steps]

    up_mod.converge(stack, ["db", "cache", "migrate", "api", "web"], True, Executor(), Recorder())
    assert asked == [(["cache", "db", "migrate"], False), (["api", "web"], True)]
