"""`--target swarm down` when `docker stack rm` fails only because a task it just stopped still
holds the stack's network (CI saw: "Failed to remove network ...: network ... is in use by task
..."): the services are gone, so down waits for the tasks and removes the network itself."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from stackctl.containers import ExecResult
from stackctl.errors import StackError
from stackctl.report import Silent
from stackctl.swarm import down

HELD = "rpc error: code = FailedPrecondition desc = network n1 is in use by task t1"


class Swarm:
    """A swarm whose `stack rm` removed the services but not the network, held for `held` more tries."""

    def __init__(self, *, services_left: bool = False, held: int = 2):
        self.services_left, self.held, self.networks, self.calls = services_left, held, [{"Id": "n1"}], []

    def stack_services(self, stack):
        return [{"Spec": {"Name": f"{stack}_api"}}] if self.services_left or not self.calls else []

    def cli(self, args, timeout=None):
        self.calls.append(" ".join(args))
        return ExecResult(1, "", f"Failed to remove network n1: Error response from daemon: {HELD}\n"
                                 "failed to remove some resources from stack: shop")

    def stack_containers(self, stack, running_only=False):
        return []

    def remove_network(self, network_id):
        self.calls.append(f"remove network {network_id}")
        if self.held:
            self.held -= 1
            return HELD
        self.networks = []
        return None

    def stack_networks(self, stack):
        return self.networks

    def swarm_secrets(self, label):
        return []


def stack_on(engine) -> SimpleNamespace:
    return SimpleNamespace(engine=engine, name="shop", config={"volumes": {}})


def test_a_network_still_held_by_a_stopping_task_is_removed_once_it_is_free():
    engine = Swarm(held=2)
    result = down._down(stack_on(engine), False, Silent())
    assert result.services == ("shop_api",) and engine.networks == []
    assert engine.calls.count("remove network n1") == 3  # held twice, then removed


def test_services_left_behind_by_a_failed_stack_rm_are_an_error():
    engine = Swarm(services_left=True)
    with pytest.raises(StackError, match="docker stack rm failed: Failed to remove network n1"):
        down._down(stack_on(engine), False, Silent())
    assert "remove network n1" not in engine.calls
