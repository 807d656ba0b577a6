"""The stack's lock is owned: only its owner lets it go, a live holder's lock is never broken, a
holder whose pid now belongs to another process is seen as gone."""

import os

import pytest

from stackctl import lock
from stackctl.errors import StackError
from tests.unit.fakes import FakeEngine


def test_only_the_owner_releases_it_and_a_second_taker_is_refused():
    engine = FakeEngine()
    first = lock.acquire(engine, "shop", "deploy")
    with pytest.raises(StackError, match=r"stack shop is being deployed by .* \(pid \d+, still running\)") as raised:
        lock.acquire(engine, "shop", "up")
    assert raised.value.exit_code == 2
    assert lock.release(engine, "shop", "someone-else") is False and lock.holder(engine, "shop").owner == first
    assert lock.release(engine, "shop", first) is True and lock.holder(engine, "shop") is None


def test_break_lock_refuses_a_live_holder_and_clears_a_gone_one():
    engine = FakeEngine()
    lock.acquire(engine, "shop", "deploy")  # this very process: alive
    with pytest.raises(StackError, match="held by a running process") as raised:
        lock.break_stale(engine, "shop")
    assert raised.value.exit_code == 2 and lock.holder(engine, "shop") is not None
    engine.volumes[lock.name("shop")][lock.PREFIX + "pid"] = "999999999"  # a pid no process has
    assert lock.break_stale(engine, "shop").pid == 999999999 and lock.holder(engine, "shop") is None


def test_a_reused_pid_is_not_the_holder():
    engine = FakeEngine()
    lock.acquire(engine, "shop", "deploy")
    engine.volumes[lock.name("shop")][lock.PREFIX + "started"] = "12.00"  # this pid, but another process's start
    assert lock.holder(engine, "shop").alive() is False
    assert lock.break_stale(engine, "shop") is not None


def test_a_holder_on_another_machine_needs_its_name_to_be_broken():
    engine = FakeEngine()
    lock.acquire(engine, "shop", "deploy")
    engine.volumes[lock.name("shop")][lock.PREFIX + "host"] = "ci-runner-7"
    with pytest.raises(StackError, match="held from another machine") as raised:
        lock.break_stale(engine, "shop")
    assert "--break-lock-from-host ci-runner-7" in raised.value.hint
    assert lock.break_stale(engine, "shop", "ci-runner-7").host == "ci-runner-7"


def test_taken_again_by_its_holder_it_is_only_counted():
    engine = FakeEngine()
    with lock.held(engine, "shop", "deploy"):
        with lock.held(engine, "shop", "up"):
            assert lock.holder(engine, "shop").action == "deploy"
        assert lock.holder(engine, "shop") is not None
    assert lock.holder(engine, "shop") is None and os.getpid()
