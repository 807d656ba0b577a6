"""The dev loop's decisions, as data: which rules a stack's compose model gives, and what a batch
of changed files asks of each service."""

from pathlib import Path

import pytest

from stackctl import devloop
from stackctl.errors import StackError
from stackctl.plan import ServiceSpec, StackModel
from tests.unit.fakes import FakeEngine, fake_stack


def stack_with(tmp_path: Path, develop: dict | None, build_context: Path | None):
    model = StackModel({
        "api": ServiceSpec("api", image="shop/api", build=build_context is not None,
                           build_context=str(build_context or "")),
        "migrate": ServiceSpec("migrate", image="shop/api", build=True, oneshot=True, role="migrate",
                               build_context=str(build_context or "")),
        "db": ServiceSpec("db", image="postgres"),
    }, name="shop")
    stack = fake_stack(tmp_path, model, FakeEngine())
    raw = {"api": {"develop": develop} if develop else {}, "migrate": {}, "db": {}}
    stack.__dict__["config"] = {"services": raw}
    return stack


def test_declared_watch_rules_are_compose_s_own(tmp_path):
    src = tmp_path / "backend"
    stack = stack_with(tmp_path, {"watch": [
        {"action": "sync+restart", "path": str(src / "app"), "target": "/srv/app", "ignore": ["*.tmp"]},
        {"action": "rebuild", "path": str(src / "migrations")},
    ]}, src)
    assert devloop.rules(stack, ["db", "migrate", "api"]) == [
        devloop.Rule("api", "sync+restart", src / "app", "/srv/app", ("*.tmp",)),
        devloop.Rule("api", "rebuild", src / "migrations"),
    ]


def test_a_built_service_that_declares_nothing_is_rebuilt_from_its_context(tmp_path):
    src = tmp_path / "backend"
    src.mkdir()
    (src / ".dockerignore").write_text("# comment\nnode_modules\n*.log\n")
    stack = stack_with(tmp_path, None, src)
    rules = devloop.rules(stack, ["api", "migrate", "db"])
    assert rules == [devloop.Rule("api", "rebuild", src, "", ("node_modules", "*.log"))]
    assert not rules[0].covers(src / "node_modules" / "x" / "index.js")
    assert not rules[0].covers(src / "debug.log")
    assert rules[0].covers(src / "app" / "main.py")
    assert not rules[0].covers(tmp_path / "elsewhere.py")


def test_an_action_stackctl_does_not_run_is_refused_in_one_line(tmp_path):
    stack = stack_with(tmp_path, {"watch": [{"action": "teleport", "path": str(tmp_path)}]}, tmp_path)
    with pytest.raises(StackError, match="develop.watch action 'teleport'"):
        devloop.rules(stack, ["api"])
    stack = stack_with(tmp_path, {"watch": [{"action": "sync", "path": str(tmp_path)}]}, tmp_path)
    with pytest.raises(StackError, match="has no target"):
        devloop.rules(stack, ["api"])


def test_a_batch_asks_each_service_for_its_strongest_action(tmp_path):
    app, migrations = tmp_path / "app", tmp_path / "migrations"
    app.mkdir(), migrations.mkdir()
    (app / "main.py").write_text("x")
    (app / "stops.py").write_text("y")
    rules = [devloop.Rule("api", "sync+restart", app, "/srv/app"), devloop.Rule("api", "rebuild", migrations),
             devloop.Rule("worker", "sync", app, "/work/app/")]
    synced = devloop.react(rules, [(app / "main.py", True), (app / "stops.py", True)])
    assert synced == [
        devloop.Reaction("api", "sync+restart", (("/srv/app/main.py", app / "main.py"),
                                                 ("/srv/app/stops.py", app / "stops.py"))),
        devloop.Reaction("worker", "sync", (("/work/app/main.py", app / "main.py"),
                                            ("/work/app/stops.py", app / "stops.py"))),
    ]
    # a new migration rebuilds the API (and so runs migrate again); the worker is only synced
    mixed = devloop.react(rules, [(app / "main.py", True), (migrations / "0002_more.py", True)])
    assert [(r.service, r.action, len(r.files)) for r in mixed] == [("api", "rebuild", 0), ("worker", "sync", 1)]
    # a file deleted under a sync rule cannot be copied: the image is rebuilt
    gone = devloop.react(rules, [(app / "old.py", False)])
    assert [(r.service, r.action) for r in gone] == [("api", "rebuild"), ("worker", "rebuild")]
    assert devloop.react(rules, [(tmp_path / "README.md", True)]) == []


def test_the_loop_syncs_restarts_and_goes_on_after_a_failure(tmp_path, monkeypatch):
    app = tmp_path / "backend" / "app"
    app.mkdir(parents=True)
    (app / "main.py").write_text("print('v2')\n")
    stack = stack_with(tmp_path, {"watch": [{"action": "sync+restart", "path": str(app), "target": "/srv/app"}]},
                       tmp_path / "backend")
    stack.engine.containers = {}
    restarted = []

    def fake_restart(stack_, services, **_):
        restarted.append(services)
        if len(restarted) == 2:
            raise StackError("api did not become healthy after restart (3.0s): HTTP 500", "stackctl logs api")

    monkeypatch.setattr("stackctl.lifecycle.restart", fake_restart)
    monkeypatch.setattr(type(stack), "containers", lambda self: {"api": type("C", (), {"id": "c1"})()})
    notes = []
    report = type("R", (), {"note": lambda self, t: notes.append(t), "phase": lambda *a: None,
                            "service": lambda *a, **k: None})()
    batches = [[(app / "main.py", True)], [(app / "main.py", True)], [(tmp_path / "other.txt", True)],
               [(app / "main.py", True)]]
    def changes(roots, stop, ready):
        ready()
        yield from batches

    devloop.watch(stack, ["api"], report=report, changes=changes)
    assert restarted == [["api"], ["api"], ["api"]]
    assert stack.engine.files[("c1", "/srv/app/main.py")] == b"print('v2')\n"
    assert any(n.startswith("error: api did not become healthy") for n in notes)
    assert sum("serving the change" in n for n in notes) == 2
    assert notes.index("Ctrl-C stops watching (the stack keeps running)") == 1  # after the rule, before any change
