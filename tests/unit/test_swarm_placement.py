"""backup and restore on a swarm reach the data through this engine's node; when the task runs on
another node the error names it and how to run there."""

import dataclasses

import pytest

from stackctl.backup.create import running_container
from stackctl.errors import StackError
from tests.unit.fakes import FakeEngine, fake_stack
from tests.unit.test_restore import model


def test_a_backup_names_the_node_whose_engine_holds_the_database_task(tmp_path):
    engine = FakeEngine([])
    engine.swarm_state = {"services": [{"ID": "s1", "Spec": {"Name": "shop_db"}}],
                          "tasks": [{"ServiceID": "s1", "NodeID": "n2", "Status": {"State": "running"}}],
                          "nodes": [{"ID": "n2", "Description": {"Hostname": "data-1"}, "Status": {"Addr": "10.0.0.7"}}]}
    stack = fake_stack(tmp_path, model(), engine)
    stack.project = dataclasses.replace(stack.project, target="swarm")
    with pytest.raises(StackError) as raised:
        running_container(stack, "db")
    assert raised.value.message.startswith("db runs on node data-1 (10.0.0.7), not on this engine's node")
    assert "DOCKER_HOST=ssh://root@10.0.0.7 stackctl --target swarm" in raised.value.hint
    engine.swarm_state["tasks"] = []
    with pytest.raises(StackError, match="db is not running on the swarm"):
        running_container(stack, "db")
