"""The commands people reach for between deploys: ps, psql, redis-cli, exec, config, stop, start,
on the real stack."""

import json
import signal
import subprocess
import time

import httpx


def test_the_everyday_commands_on_a_running_stack(stack):
    up = stack.run("up")
    assert up.returncode == 0, up.stderr

    listed = json.loads(stack.run("ps", "--json").stdout)["result"]["services"]
    states = {s["name"]: s["state"] for s in listed}
    assert {s["name"]: s["container_state"] for s in listed if s["name"] != "migrate"} == dict.fromkeys(
        ("api", "db", "redis", "web"), "running")
    assert states["migrate"] == "done", states
    # ps asks the engine only: each healthcheck runs on its own interval and may still say starting
    for service in ("db", "redis", "api", "web"):
        health = subprocess.run(["docker", "inspect", "-f", "{{.State.Health.Status}}", f"{stack.name}-{service}-1"],
                                capture_output=True, text=True).stdout.strip()
        assert states[service] == {"healthy": "ready", "starting": "starting"}[health], (service, health, states)

    rows = stack.run("psql", "-At", "-c", "SELECT count(*) FROM stops")
    assert rows.returncode == 0 and rows.stdout.strip() == "205", rows.stdout + rows.stderr
    pong = stack.run("redis-cli", "PING")
    assert pong.returncode == 0 and pong.stdout.strip() == "PONG", pong.stdout + pong.stderr
    answer = stack.run("exec", "api", "python", "-c", "print(6 * 7)")
    assert answer.returncode == 0 and answer.stdout.strip() == "42"
    failed = stack.run("exec", "api", "sh", "-c", "exit 3")
    assert failed.returncode == 3  # the command's own exit code

    shown = stack.run("config")
    assert shown.returncode == 0 and "services:" in shown.stdout
    secret = stack.run("exec", "api", "sh", "-c", "printf %s \"$REDIS_PASSWORD\"").stdout
    assert len(secret) >= 8 and secret not in shown.stdout and "****" in shown.stdout

    stopped = stack.run("stop", "api")
    assert stopped.returncode == 0, stopped.stderr
    listed = json.loads(stack.run("ps", "--json").stdout)["result"]["services"]
    assert {s["name"]: s["state"] for s in listed}["api"] == "stopped"
    assert httpx.get(stack.url("/api/health"), timeout=10).status_code >= 500  # nginx: the API is away
    started = stack.run("start", "api")
    assert started.returncode == 0, started.stderr
    assert httpx.get(stack.url("/api/health"), timeout=10).json()["status"] == "ok"

    watching = stack.popen("status", "--watch", "--interval", "1", "--no-stats")
    time.sleep(4)
    watching.send_signal(signal.SIGINT)
    shown, _ = watching.communicate(timeout=30)
    assert watching.returncode == 0, shown
    assert shown.count("every 1s, Ctrl-C to stop") >= 2 and shown.count("api ") >= 2, shown  # redrawn

    missing = stack.run("exec", "nosuch", "true")
    assert missing.returncode == 2 and "unknown service 'nosuch'" in missing.stderr
