"""The longest work first (tests/durations.json, a run's own seconds per test): with pytest-xdist
handing out one unit at a time (a test, or a whole xdist_group), starting the long units first
keeps one long scenario from starting last and running alone at the end of the suite.

`--durations-file PATH` writes this run's seconds per test (setup + call + teardown), to commit as
tests/durations.json when the suite changed much. A test it does not know counts as UNKNOWN.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

KNOWN = Path(__file__).with_name("durations.json")
UNKNOWN = {"integration": 20.0, "unit": 0.05}


def plain(nodeid: str) -> str:
    """A test's id without the `@group` pytest-xdist appends to a grouped test's id."""
    return re.sub(r"@[A-Za-z0-9_-]+$", "", nodeid)


def _unit(item) -> str:
    marker = item.get_closest_marker("xdist_group")
    if marker is not None:
        return "group:" + (marker.args[0] if marker.args else marker.kwargs.get("name", ""))
    return item.nodeid


def _guess(nodeid: str) -> float:
    return UNKNOWN["integration"] if nodeid.startswith("tests/integration/") else UNKNOWN["unit"]


def longest_first(items: list, known: dict[str, float]) -> list:
    """Items ordered by their unit's total seconds, longest first; a group's items stay together
    in their own order."""
    cost: dict[str, float] = {}
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        unit = _unit(item)
        cost[unit] = cost.get(unit, 0.0) + known.get(plain(item.nodeid), _guess(item.nodeid))
        first.setdefault(unit, index)
    return sorted(items, key=lambda item: (-cost[_unit(item)], first[_unit(item)]))


def load(path: Path = KNOWN) -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(path.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


class Recorder:
    def __init__(self, path: Path):
        self.path, self.seconds = path, {}

    def pytest_runtest_logreport(self, report):
        nodeid = plain(report.nodeid)
        self.seconds[nodeid] = round(self.seconds.get(nodeid, 0.0) + report.duration, 2)

    def pytest_sessionfinish(self, session, exitstatus):
        found = {**load(self.path), **self.seconds}
        self.path.write_text(json.dumps(dict(sorted(found.items())), indent=0) + "\n")
