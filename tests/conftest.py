"""Shared test setup. In CI a skipped test fails the run: integration tests must run."""

import os
from pathlib import Path

import pytest

from stackctl.targets import onehost as _onehost, swarm as _swarm  # noqa: F401  (registered, as the CLI does)

_skipped = []


def pytest_addoption(parser):
    parser.addoption("--durations-file", metavar="PATH",
                     help="Write each test's seconds (setup + call + teardown) there (tests/ordering.py).")


def pytest_configure(config):
    path = config.getoption("--durations-file")
    if path and not hasattr(config, "workerinput"):  # the controller sees every worker's reports
        from tests.ordering import Recorder

        config.pluginmanager.register(Recorder(Path(path)), "durations-recorder")


def pytest_collection_modifyitems(config, items):
    """The longest work first (tests/ordering.py); with pytest-xdist, scripts/test.sh keeps this
    order (--no-loadscope-reorder)."""
    from tests.ordering import load, longest_first

    known = load()
    if known:
        items[:] = longest_first(items, known)


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("CI") and _skipped:
        print(f"\nCI does not allow skipped tests: {', '.join(_skipped)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
