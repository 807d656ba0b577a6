"""deploy followed over a fake engine: what it does when the lock is held, when a migration
fails, and when the release fails its checks after the switch (each step's effect is recorded
instead of done; the plan, the executor, the audit log and the lock are the real ones)."""

import pytest

from stackctl import lock
from stackctl.deploy import deploy as deploy_mod
from stackctl.deploy import releases
from stackctl.deploy.plan import switch_steps
from stackctl.errors import StackError
from stackctl.report import SILENT
from tests.unit.fakes import FakeEngine, container, fake_stack
from tests.unit.test_deploy_plan import geo

OLD = "20261122T120000Z-aaaaaaa"
SWITCHED = [f"{s.action} {s.target}" for s in switch_steps(geo(), OLD)]  # frontend, backend, worker, proxy


@pytest.fixture
def target(tmp_path, monkeypatch):
    """geo in production, release OLD serving; deploy's steps record themselves in `done`."""
    engine = FakeEngine([container(name, project="geo") for name in ("postgres", "cache", "backend", "worker",
                                                                    "frontend", "proxy")])
    stack = fake_stack(tmp_path, geo(), engine)
    stack.project.state_dir.mkdir()
    monkeypatch.setattr(stack, "project", stack.project.__class__(**{**stack.project.__dict__, "env": "production"}))
    releases.write_deployed(stack.project, releases.Deployed(OLD, {"backend": f"geo/backend:{OLD}"}))
    done = []
    for name in ("check", "build", "backup", "record"):
        monkeypatch.setitem(deploy_mod.STEPS, name, lambda d, name=name: done.append(name))
    monkeypatch.setattr(deploy_mod, "stack_for", lambda s, deployed: s)
    monkeypatch.setattr(deploy_mod, "run_switch_step",
                        lambda t, step, **kw: done.append(f"{step.action} {step.target}"))
    monkeypatch.setattr(deploy_mod.migrations, "migrate", lambda s, report: done.append("migrate"))
    monkeypatch.setattr(deploy_mod, "post_checks", lambda s, say: [])
    return stack, engine, done


def run(stack):
    return deploy_mod.deploy(stack, report=SILENT)


def last_audit(stack):
    return releases.read_audit(stack.project, stack.name)[-1]


def test_a_normal_deploy_follows_its_plan_and_records_it(target):
    stack, engine, done = target
    result = run(stack)
    assert done == ["check", "build", "backup", "migrate", *SWITCHED, "record"]
    assert SWITCHED[-1] == "replace proxy" and "rollout backend" in SWITCHED
    assert result.previous == OLD and [name for name, _ in result.steps][-2:] == ["verify", "record"]
    entry = last_audit(stack)
    assert entry["result"] == "deployed" and entry["release"] == result.release and entry["previous"] == OLD
    assert "stackctl-lock-geo" not in engine.named  # released


def test_a_failed_migration_stops_before_any_switch_and_says_what_still_serves(target, monkeypatch):
    stack, engine, done = target

    def fail(s, report):
        done.append("migrate")
        raise StackError("migration failed: relation \"stops\" already exists", "fix the migration")

    monkeypatch.setattr(deploy_mod.migrations, "migrate", fail)
    with pytest.raises(StackError, match=f"not deployed, {OLD} still serves: migration failed") as raised:
        run(stack)
    assert not isinstance(raised.value, deploy_mod.RolledBack)
    assert done == ["check", "build", "backup", "migrate"]
    entry = last_audit(stack)
    assert entry["result"] == "failed" and "still serves: migration failed" in entry["error"]
    assert releases.read_deployed(stack.project).release == OLD


def test_failing_checks_after_the_switch_switch_the_previous_release_back(target, monkeypatch):
    stack, engine, done = target
    monkeypatch.setattr(deploy_mod, "post_checks", lambda s, say: ["https://localhost/api/health: 502"])
    with pytest.raises(deploy_mod.RolledBack, match=f"rolled back to {OLD}: https://localhost/api/health: 502"):
        run(stack)
    assert done == ["check", "build", "backup", "migrate", *SWITCHED, *SWITCHED]  # out, then back in
    assert last_audit(stack)["result"] == "rolled back"
    assert releases.read_deployed(stack.project).release == OLD  # never recorded


def test_a_held_lock_stops_the_deploy_with_nothing_changed_and_the_plan_says_so(target):
    stack, engine, done = target
    lock.acquire(engine, stack.name, "restore")
    engine.named[lock.name(stack.name)][lock.PREFIX + "pid"] = "1"  # another process: init, alive
    with pytest.raises(StackError, match=r"stack geo is being changed \(stackctl restore\) by") as raised:
        run(stack)
    assert raised.value.exit_code == 2 and done == []
    assert last_audit(stack)["result"] == "failed"
    plan = deploy_mod.dry_run(stack)
    assert plan.steps[0].action == "wait" and "stackctl restore" in str(plan.steps[0])
    assert "stop at once with nothing changed" in str(plan.steps[0])
