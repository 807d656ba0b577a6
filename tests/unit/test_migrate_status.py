from stackctl.migrate import parse_history

HISTORY = """0002 -> 0003 (head), Add routes.
0001 -> 0002 (current), Reference data.
<base> -> 0001, PostGIS and stops.
"""


def test_applied_up_to_current_then_pending():
    rows = parse_history(HISTORY)
    assert [(m.revision, m.applied, m.head) for m in rows] == [
        ("0001", True, False), ("0002", True, False), ("0003", False, True)]
    assert rows[2].description == "Add routes."


def test_fresh_database_has_everything_pending():
    rows = parse_history(HISTORY.replace(" (current)", ""))
    assert not any(m.applied for m in rows)


def test_other_tools_output_is_not_parsed():
    assert parse_history("Applied: 3\nPending: 1\n") is None
