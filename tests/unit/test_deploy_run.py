"""deploy followed over a fake engine: what it does when the lock is held, when a migration
fails, and when the release fails its checks after the switch (each step's effect is recorded
instead of done; the plan, the executor, the audit log and the lock are the real ones)."""

import pytest

from stackctl import lock
from stackctl.deploy import deploy as deploy_mod
from stackctl.deploy import releases
from stackctl.deploy.plan import switch_steps
from stackctl.deploy.verify import Verification
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
    for name in ("check", "leftovers", "build", "backup", "record"):
        monkeypatch.setitem(deploy_mod.STEPS, name, lambda d, name=name: done.append(name))
    monkeypatch.setattr(deploy_mod, "stack_for", lambda s, deployed: s)
    monkeypatch.setattr(deploy_mod, "run_switch_step",
                        lambda t, step, **kw: done.append(f"{step.action} {step.target}"))
    monkeypatch.setattr(deploy_mod.migrations, "migrate", lambda s, report: done.append("migrate"))
    verdicts = {"problems": []}
    monkeypatch.setattr(deploy_mod, "verify_release",
                        lambda s, report: Verification((("backend", "http /health"),), tuple(verdicts["problems"])))
    stack.verdicts = verdicts
    return stack, engine, done


def run(stack):
    return deploy_mod.deploy(stack, report=SILENT)


def last_audit(stack):
    return releases.read_audit(stack.project, stack.name)[-1]


def test_a_normal_deploy_follows_its_plan_and_records_it(target):
    stack, engine, done = target
    result = run(stack)
    assert done == ["check", "leftovers", "build", "backup", "migrate", *SWITCHED, "record"]
    assert SWITCHED[-2:] == ["replace proxy", "converge cache, postgres"] and "rollout backend" in SWITCHED
    assert result.verified.seen == (("backend", "http /health"),)
    assert result.previous == OLD and [name for name, _ in result.steps][-2:] == ["verify", "record"]
    entry = last_audit(stack)
    assert entry["result"] == "deployed" and entry["release"] == result.release and entry["previous"] == OLD
    assert "stackctl-lock-geo" not in engine.volumes  # released


def test_a_failed_migration_stops_before_any_switch_and_says_what_still_serves(target, monkeypatch):
    stack, engine, done = target

    def fail(s, report):
        done.append("migrate")
        raise StackError("migration failed: relation \"stops\" already exists", "fix the migration")

    monkeypatch.setattr(deploy_mod.migrations, "migrate", fail)
    with pytest.raises(StackError, match=f"not deployed, {OLD} still serves: migration failed") as raised:
        run(stack)
    assert not isinstance(raised.value, deploy_mod.RolledBack)
    assert done == ["check", "leftovers", "build", "backup", "migrate"]
    entry = last_audit(stack)
    assert entry["result"] == "failed" and "still serves: migration failed" in entry["error"]
    assert releases.read_deployed(stack.project).release == OLD
    record = releases.read_records(stack.project, "production")[0]
    assert record.release == entry["release"] and record.status == "failed"  # never a rollback target


def test_a_release_that_does_not_verify_is_switched_back_and_what_serves_is_verified_first(target):
    stack, engine, done = target
    stack.verdicts["problems"] = ["https://localhost/api/health: 502"]
    with pytest.raises(deploy_mod.RolledBack) as raised:
        run(stack)
    assert raised.value.message.startswith("release ") and "does not verify (https://localhost/api/health: 502) " \
        f"and was rolled back; {OLD} does not serve as it should either: https://localhost/api/health: 502" \
        in raised.value.message  # the rollback's own verification, said as observed
    assert done == ["check", "leftovers", "build", "backup", "migrate", *SWITCHED, *SWITCHED]  # out, then back in
    assert last_audit(stack)["result"] == "rolled back"
    assert releases.read_deployed(stack.project).release == OLD  # never recorded
    assert releases.read_records(stack.project, "production")[0].status == "rolled back"


def test_a_held_lock_stops_the_deploy_with_nothing_changed_and_the_plan_says_so(target):
    stack, engine, done = target
    lock.acquire(engine, stack.name, "restore")
    engine.volumes[lock.name(stack.name)].update({lock.PREFIX + "pid": "1",  # another process: init, alive
                                                  lock.PREFIX + "started": lock.process_started(1)})
    with pytest.raises(StackError, match=r"stack geo is being changed \(stackctl restore\) by") as raised:
        run(stack)
    assert raised.value.exit_code == 2 and done == []
    assert last_audit(stack)["result"] == "failed"
    plan = deploy_mod.dry_run(stack)
    assert plan.steps[0].action == "wait" and "stackctl restore" in str(plan.steps[0])
    assert "stop at once with nothing changed" in str(plan.steps[0])


def record(stack, release, status):
    releases.write_record(stack.project, releases.Record(release, "production", status,
                                                          {"backend": f"geo/backend:{release}"}, {}))
    stack.engine.images[f"geo/backend:{release}"] = f"sha256:{release}"


def test_rollback_offers_only_releases_that_served_and_names_a_failed_one_only_with_its_flag(target):
    stack, engine, done = target
    record(stack, OLD, "deployed")
    record(stack, "20261121T120000Z-ccccccc", "deployed")
    record(stack, "20261121T180000Z-fffffff", "failed")
    record(stack, "20261121T200000Z-eeeeeee", "interrupted")
    assert deploy_mod.rollback_target(stack, None)[1] == "20261121T120000Z-ccccccc"  # the failed ones skipped
    with pytest.raises(StackError, match="release 20261121T180000Z-fffffff failed: it never served") as raised:
        deploy_mod.rollback_target(stack, "20261121T180000Z-fffffff")
    assert raised.value.exit_code == 2 and "--include-failed" in raised.value.hint
    assert deploy_mod.rollback_target(stack, "20261121T180000Z-fffffff", include_failed=True)[1] == \
        "20261121T180000Z-fffffff"


def test_failed_releases_never_count_among_the_five_kept(target):
    stack, engine, done = target
    deployed = [f"2026110{n}T120000Z-aaaaaa{n}" for n in range(1, 8)]
    for release in deployed:
        record(stack, release, "deployed")
    failed = [f"2026111{n}T120000Z-fffffa{n}" for n in range(1, 7)]
    for release in failed:
        record(stack, release, "failed")
    pruned = releases.prune_releases(stack, keep=[])
    kept = {r for r in deployed + failed if f"geo/backend:{r}" in engine.images}
    assert kept == set(sorted(deployed, reverse=True)[:5])
    assert {p.rsplit(":", 1)[1] for p in pruned if p.startswith("geo/backend:")} == set(failed) | set(deployed[:2])


def test_an_interrupted_deploys_second_container_is_removed_and_the_recorded_one_kept(target):
    from dataclasses import replace

    from stackctl.deploy import leftovers

    stack, engine, done = target
    engine.images[f"geo/backend:{OLD}"] = "sha256:old"
    serving = replace(container("backend", project="geo"), id="b1", name="geo-backend-1", image_id="sha256:old")
    left = replace(container("backend", project="geo"), id="b2", name="geo-backend-2", image_id="sha256:dead")
    engine.containers = {c.id: c for c in (serving, left)}
    assert leftovers.clear(stack, releases.Deployed(OLD, {"backend": f"geo/backend:{OLD}"}), SILENT) == \
        ["geo-backend-2"]
    assert set(engine.containers) == {"b1"}
    # two running, neither the recorded release's: refused, nothing removed
    engine.containers = {c.id: c for c in (replace(serving, image_id="sha256:x"), left)}
    with pytest.raises(StackError, match="backend runs 2 containers .* which one serves is not known") as raised:
        leftovers.clear(stack, releases.Deployed(OLD, {"backend": f"geo/backend:{OLD}"}), SILENT)
    assert raised.value.exit_code == 2 and set(engine.containers) == {"b1", "b2"}


@pytest.mark.parametrize("images, configs", [({}, {}), ({}, {"api": "abc"}), ({"api": "x/api:r1"}, {}),
                                              ({"api": "x/api:r1"}, {"api": "abc", "web": "def"})])
def test_a_release_override_is_valid_yaml_that_reads_back_as_written(tmp_path, images, configs):
    import yaml

    deployed = releases.Deployed("20261201T030000Z", images, configs)
    path = releases.write_override(tmp_path / "r.yaml", deployed)
    assert isinstance(yaml.safe_load(path.read_text())["services"], dict)
    assert releases.read_override(path) == deployed
