"""Shared test setup. In CI a skipped test fails the run: integration tests must run."""

import os

import pytest

from stackctl.targets import onehost as _onehost, swarm as _swarm  # noqa: F401  (registered, as the CLI does)

_skipped = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    if os.environ.get("CI") and _skipped:
        print(f"\nCI does not allow skipped tests: {', '.join(_skipped)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
