"""Failures are named, bounded in time, and leave nothing started when the input is bad."""

import os
import signal
import subprocess
import time
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


def test_service_that_never_gets_healthy_fails_at_its_deadline_with_its_logs(stack):
    # The API runs but cannot authenticate to Redis: /health answers 503 forever.
    extra = {"COMPOSE_FILE": f"compose/compose.yaml:{FIXTURES / 'api-wrong-redis-password.yaml'}"}
    # The data services first, on the default deadline: a cold Postgres initialising PostGIS can
    # itself take longer than 8 s on a fresh machine, and the deadline under test is the API's.
    ready = stack.run("up", "migrate", extra_env=extra)
    assert ready.returncode == 0, ready.stderr
    started = time.monotonic()
    up = stack.run("up", "--timeout", "8", extra_env=extra)
    took = time.monotonic() - started
    assert up.returncode == 1
    # The deadline asked for is named; when the last look ends (a probe in flight) depends on load.
    assert "error: api did not become healthy within its 8 s deadline (last look at " in up.stderr
    assert "HTTP 503" in up.stderr
    assert "last 30 log lines of api:" in up.stderr and '"GET /health HTTP/1.1" 503' in up.stderr
    assert "stackctl logs api" in up.stderr
    assert took < 60  # 8 s for the api (migrate runs again before it): not the 120 s default


def test_production_without_secrets_is_refused_before_anything_starts(scratch_project):
    (scratch_project.project_dir / ".env.production").write_text("POSTGRES_PASSWORD=change-me\n")
    up = scratch_project.run("--env", "production", "up")
    assert up.returncode == 2
    errors = [line for line in up.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert "POSTGRES_PASSWORD is a placeholder" in errors[0] and "REDIS_PASSWORD is not set" in errors[0]
    assert scratch_project.containers() == []


def test_non_numeric_port_in_env_is_one_line_and_starts_nothing(scratch_project):
    (scratch_project.project_dir / ".env").write_text("REDIS_PORT=six-three-seven-nine\n")
    scratch_project.env.pop("REDIS_PORT")  # the process environment would win over .env, as in compose
    up = scratch_project.run("up")
    assert up.returncode == 2
    assert up.stderr.strip().count("\n") == 0, up.stderr
    assert "six-three-seven-nine" in up.stderr  # compose's own verdict on the stack's variable
    assert scratch_project.containers() == []


def test_ctrl_c_during_up_exits_130_and_the_next_up_finishes(stack):
    proc = stack.popen("up")
    deadline = time.monotonic() + 120
    seen = ""
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen += line
        if "starting services" in line or not line:
            break
    time.sleep(0.5)  # in the middle of starting the services
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, seen + rest
    assert "interrupted" in rest
    again = stack.run("up")
    assert again.returncode == 0, again.stderr
    seen = stack.status()
    assert seen["healthy"] is True, seen


def test_failed_migration_stops_up_and_leaves_the_previous_api_serving(stack):
    import httpx

    assert stack.run("up").returncode == 0
    api_before = stack.container_ids()
    # A new API configuration whose migrations fail: the running API must not be replaced.
    bad = {"MIGRATE_COMMAND": "sh -c 'echo migration 0003 exploded >&2; exit 3'", "API_WORKERS": "1"}
    up = stack.run("up", extra_env=bad)
    assert up.returncode == 1
    assert "error: migrate failed" in up.stderr and "exited with code 3" in up.stderr
    assert "migration 0003 exploded" in up.stderr  # the tool's own output
    running = subprocess.run(["docker", "inspect", "-f", "{{.Id}} {{.State.Running}}", f"{stack.name}-api-1"],
                             capture_output=True, text=True).stdout.split()
    assert running[0] in api_before and running[1] == "true"
    assert httpx.get(stack.url("/api/health")).status_code == 200
    # Fixed, the same up replaces the API.
    assert stack.run("up", extra_env={"API_WORKERS": "1"}).returncode == 0
    assert stack.container_ids() != api_before
