"""Compose secrets as versioned docker secrets: values read as compose reads them, names by content."""

import pytest

from stackctl.errors import ConfigError
from stackctl.swarm.secrets import ensure, external, prune, values, versioned_name
from tests.unit.fakes import FakeEngine


def test_values_come_from_files_and_env_file_variables_and_externals_are_used_by_name(tmp_path):
    (tmp_path / "key").write_bytes(b"k3y")
    config = {"secrets": {"tls_key": {"file": str(tmp_path / "key")}, "db": {"environment": "POSTGRES_PASSWORD"},
                          "shared": {"external": True, "name": "company_ca"}}}
    assert values(config, {"POSTGRES_PASSWORD": "pw-1"}) == {"tls_key": b"k3y", "db": b"pw-1"}
    assert external(config) == {"shared": "company_ca"}


def test_a_missing_variable_or_file_is_one_line_with_what_to_do(tmp_path):
    with pytest.raises(ConfigError, match="secret db: variable POSTGRES_PASSWORD is not set"):
        values({"secrets": {"db": {"environment": "POSTGRES_PASSWORD"}}}, {})
    with pytest.raises(ConfigError, match="does not exist"):
        values({"secrets": {"k": {"file": str(tmp_path / "none")}}}, {})


def test_a_changed_value_is_a_new_secret_and_unused_versions_are_pruned():
    one, two = versioned_name("shop", "db", b"pw-1"), versioned_name("shop", "db", b"pw-2")
    assert one != two and one.startswith("shop_db_") and len(one) == len("shop_db_") + 12
    engine = FakeEngine()
    engine.swarm_state["secrets"] = [{"ID": "s1", "Spec": {"Name": one}}]
    assert ensure(engine, "shop", {"db": b"pw-1"}) == {"db": one}  # exists: nothing created
    assert ensure(engine, "shop", {"db": b"pw-2"}) == {"db": two}
    assert engine.calls == [f"create secret {two}"]
    assert prune(engine, "shop", {two}) == [one]
