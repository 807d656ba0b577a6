"""The suite's order: the longest unit of work first, a group's tests together."""

from types import SimpleNamespace

from tests.ordering import longest_first


def item(nodeid, group=None):
    marker = SimpleNamespace(args=(group,), kwargs={}) if group else None
    return SimpleNamespace(nodeid=nodeid, get_closest_marker=lambda name, m=marker: m if name == "xdist_group" else None)


def test_long_units_first_and_a_group_stays_together():
    items = [item("tests/unit/test_a.py::t"), item("tests/integration/test_b.py::short"),
             item("tests/integration/test_adopt.py::one", "adopt"), item("tests/integration/test_c.py::long"),
             item("tests/integration/test_adopt.py::two", "adopt")]
    known = {"tests/unit/test_a.py::t": 0.1, "tests/integration/test_b.py::short": 10,
             "tests/integration/test_adopt.py::one": 60, "tests/integration/test_adopt.py::two": 50,
             "tests/integration/test_c.py::long": 100}
    assert [i.nodeid for i in longest_first(items, known)] == [
        "tests/integration/test_adopt.py::one", "tests/integration/test_adopt.py::two",
        "tests/integration/test_c.py::long", "tests/integration/test_b.py::short", "tests/unit/test_a.py::t"]


def test_an_unknown_integration_test_counts_more_than_a_unit_test():
    items = [item("tests/unit/test_new.py::t"), item("tests/integration/test_new.py::t")]
    assert [i.nodeid for i in longest_first(items, {})][0] == "tests/integration/test_new.py::t"
