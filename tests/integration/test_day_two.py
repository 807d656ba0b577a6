"""The commands people reach for between deploys: ps, psql, redis-cli, exec, config, stop, start,
on the real stack."""

import json
import signal
import subprocess
import threading
import time

import httpx


def test_the_everyday_commands_on_a_running_stack(stack):
    up = stack.run("up")
    assert up.returncode == 0, up.stderr

    def health() -> dict[str, str]:
        return {service: subprocess.run(["docker", "inspect", "-f", "{{.State.Health.Status}}",
                                         f"{stack.name}-{service}-1"], capture_output=True, text=True).stdout.strip()
                for service in ("db", "redis", "api", "web")}

    before = health()
    listed = json.loads(stack.run("ps", "--json").stdout)["result"]["services"]
    after = health()
    states = {s["name"]: s["state"] for s in listed}
    assert {s["name"]: s["container_state"] for s in listed if s["name"] != "migrate"} == dict.fromkeys(
        ("api", "db", "redis", "web"), "running")
    assert states["migrate"] == "done", states
    # ps asks the engine only: each healthcheck runs on its own interval and may still say starting.
    # What ps said is what the engine said at that moment: its answer before or after ps (a
    # healthcheck may pass while ps runs).
    word = {"healthy": "ready", "starting": "starting"}
    for service in ("db", "redis", "api", "web"):
        assert states[service] in {word[before[service]], word[after[service]]}, (service, before, after, states)

    rows = stack.run("psql", "-At", "-c", "SELECT count(*) FROM stops")
    assert rows.returncode == 0 and rows.stdout.strip() == "205", rows.stdout + rows.stderr
    pong = stack.run("redis-cli", "PING")
    assert pong.returncode == 0 and pong.stdout.strip() == "PONG", pong.stdout + pong.stderr
    answer = stack.run("exec", "api", "python", "-c", "print(6 * 7)")
    assert answer.returncode == 0 and answer.stdout.strip() == "42"
    failed = stack.run("exec", "api", "sh", "-c", "exit 3")
    assert failed.returncode == 3  # the command's own exit code
    # compose exec's own options: user, variables, working directory, no TTY
    as_root = stack.run("exec", "-u", "root", "-e", "GREETING=hi there", "-w", "/tmp", "-T", "api",
                        "sh", "-c", 'echo "$(id -u) $GREETING $(pwd)"')
    assert as_root.returncode == 0 and as_root.stdout.strip() == "0 hi there /tmp", as_root.stdout + as_root.stderr
    as_nobody = stack.run("exec", "--user", "65534", "api", "id", "-u")
    assert as_nobody.stdout.strip() == "65534", as_nobody.stdout + as_nobody.stderr

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

    # redrawn: a second frame is awaited as it comes (each frame probes every service: under load a
    # frame takes seconds, so no fixed sleep says how many there were), then Ctrl-C ends it
    watching = stack.popen("status", "--follow", "--interval", "1", "--no-stats")
    frames = []
    reader = threading.Thread(target=lambda: frames.extend(iter(watching.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 60
    while sum("every 1s, Ctrl-C to stop" in line for line in list(frames)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    watching.send_signal(signal.SIGINT)
    watching.wait(timeout=30)
    reader.join(timeout=30)
    shown = "".join(frames)
    assert watching.returncode == 0, shown
    assert shown.count("every 1s, Ctrl-C to stop") >= 2 and shown.count("api ") >= 2, shown

    missing = stack.run("exec", "nosuch", "true")
    assert missing.returncode == 2 and "unknown service 'nosuch'" in missing.stderr
