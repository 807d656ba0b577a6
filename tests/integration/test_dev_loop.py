"""The dev loop on the real engine: `stackctl up --watch`, then edits to the API's sources, each
seen through the proxy or in the database."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time

import httpx
import psycopg
import pytest

from tests.integration.conftest import make_runner, remove_everything
from tests.integration.projects import project_with_own_images

MIGRATION = '''"""A table the dev loop test adds.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE dev_loop_probe (id integer)")


def downgrade() -> None:
    op.execute("DROP TABLE dev_loop_probe")
'''


@pytest.fixture
def dev_project(tmp_path):
    """A development project of its own with a copy of the images: the test edits the API."""
    runner = make_runner(project_with_own_images(tmp_path))
    runner.env["API_IMAGE"] = f"stackctl-it/{runner.name}-api:dev"  # the loop rebuilds it: not the shared one
    yield runner
    remove_everything(runner)


class Lines:
    """The loop's output, read as it comes."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._reader.start()

    def _read(self, process):
        for line in process.stdout:
            self.lines.append(line.rstrip())

    def wait_for(self, text: str, timeout: float, after: int = 0) -> int:
        """The index of the first line from `after` on holding text; an error at once when the loop
        ended without printing it (its output ends), else after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ended = not self._reader.is_alive()  # read before looking: its last lines are in
            for index, line in enumerate(self.lines[after:], after):
                if text in line:
                    return index
            if ended:
                raise AssertionError(f"the loop ended before {text!r}; output:\n" + "\n".join(self.lines[-40:]))
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not seen within {timeout} s; output:\n" + "\n".join(self.lines[-40:]))


def api_container(runner) -> str:
    return subprocess.run(["docker", "inspect", "-f", "{{.Id}}", f"{runner.name}-api-1"], capture_output=True,
                          text=True, check=True).stdout.strip()


def served_version(runner) -> str | None:
    try:
        return httpx.get(runner.url("/api/health"), timeout=2).json().get("version")
    except (httpx.HTTPError, ValueError):
        return None


def test_an_edit_is_served_and_a_new_migration_is_applied_without_a_manual_rebuild(dev_project):
    s = dev_project
    loop = s.popen("up", "--watch")
    lines = Lines(loop)
    try:
        lines.wait_for("watching api: sync+restart on changes in images/backend/app", timeout=600)
        seen = lines.wait_for("Ctrl-C stops watching", timeout=5)
        assert served_version(s) == "1.0.0"
        before = api_container(s)

        # 1. an edit under app/: copied into the running container, which restarts
        init = s.project_dir / "images" / "backend" / "app" / "__init__.py"
        edited = time.monotonic()
        init.write_text(init.read_text().replace('VERSION = "1.0.0"', 'VERSION = "1.0.0-dev-loop"'))
        while served_version(s) != "1.0.0-dev-loop":
            assert time.monotonic() - edited < 90, "the edit was not served within 90 s:\n" + "\n".join(lines.lines)
            time.sleep(0.1)
        sync_latency = time.monotonic() - edited
        seen = lines.wait_for("api: serving the change", timeout=30, after=seen)
        assert any("api: 1 file(s) synced (/srv/app/__init__.py)" in line for line in lines.lines)
        assert api_container(s) == before, "a sync must not replace the container"

        # 2. a new migration: the image is rebuilt, migrate runs it, the API is replaced
        migration = s.project_dir / "images" / "backend" / "migrations" / "versions" / "0003_dev_loop_probe.py"
        edited = time.monotonic()
        migration.write_text(MIGRATION)
        lines.wait_for("serving the change", timeout=300, after=seen + 1)
        rebuild_latency = time.monotonic() - edited
        with psycopg.connect(host="127.0.0.1", port=s.postgres_port, user="stackctl", dbname="stackctl",
                             password="dev-only-postgres-password") as conn:
            assert conn.execute("SELECT to_regclass('dev_loop_probe') IS NOT NULL").fetchone() == (True,)
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == ("0003",)
        assert api_container(s) != before, "a rebuilt image runs in a new container"
        deadline = time.monotonic() + 30  # nginx re-resolves the API's name within its valid=5s
        while served_version(s) != "1.0.0-dev-loop":
            assert time.monotonic() < deadline, "the rebuilt API is not served through the proxy"
            time.sleep(0.2)
        print(f"\ndev loop: edit served through nginx {sync_latency:.1f} s after the save (sync+restart); "
              f"new migration applied and the API replaced {rebuild_latency:.1f} s after the save (rebuild)")

        # 3. Ctrl-C stops watching and leaves the stack running
        os.killpg(loop.pid, signal.SIGINT)
        assert loop.wait(timeout=30) == 0, "\n".join(lines.lines)
        lines.wait_for("stopped watching; the stack keeps running", timeout=5)
        assert served_version(s) == "1.0.0-dev-loop"
    finally:
        if loop.poll() is None:
            os.killpg(loop.pid, signal.SIGKILL)
            loop.wait()
