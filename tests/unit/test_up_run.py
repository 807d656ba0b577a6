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
