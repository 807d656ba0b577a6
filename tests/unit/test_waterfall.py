"""The start-up waterfall: each service's waiting, starting and end in their columns of one axis."""

from stackctl.cli import waterfall
from stackctl.service_state import ServiceOutcome


def row(drawn, name):
    line = next(line for line in drawn if line[0][0].strip() == name)
    return "".join(text for text, _ in line)


def test_spans_sit_where_their_seconds_are():
    outcomes = [ServiceOutcome("db", "create", "ready", 2.0, "", "sql", (0.0, 0.0, 2.0)),
                ServiceOutcome("migrate", "create", "ready", 1.0, "", "exited 0", (0.0, 2.0, 3.0)),
                ServiceOutcome("api", "create", "timeout", 1.0, "", "", (0.0, 3.0, 4.0)),
                ServiceOutcome("redis", "keep", "kept", 0.0, "", "ping")]  # kept: no timeline, no row
    drawn = waterfall.lines(outcomes, 4.0, 80)
    columns = 80 - 10 - 30
    assert len(drawn) == 4 and "redis" not in "".join(t for line in drawn for t, _ in line)
    db, migrate, api = row(drawn, "db")[10:], row(drawn, "migrate")[10:], row(drawn, "api")[10:]
    half, end = round(0.5 * (columns - 1)), columns - 1
    assert db.index("●") == half and set(db[:half]) == {"━"}
    assert migrate[:half] == "·" * half and migrate.index("●") == round(0.75 * (columns - 1))
    assert api.index("✗") == end and "timeout 1.0s" in api
    assert "done 1.0s  exited 0" in migrate and "ready 2.0s  sql" in db


def test_nothing_started_draws_nothing():
    assert waterfall.lines([ServiceOutcome("db", "keep", "kept", 0.0, "", "sql")], 0.3, 80) == []
