"""The reference stack on a single-node swarm (this engine, `docker swarm init`, left as found):
waves gated on health, the API at 3 replicas behind nginx, a rolling update and a killed replica
under load from two clients (httpx, and http.client keep-alive writing half the time), a backup
and a restore, and down."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time

import httpx
import pytest

from conftest import make_runner
from load import Load, StrictLoad
from projects import project_with_own_images

# One worker runs the swarm scenario beside the one-host stacks (their networks are local bridges,
# their ports their own). But `docker swarm leave --force` under running stacks breaks name
# resolution on their networks (../shared/ENGINE.md): scripts/test.sh makes the engine a swarm
# before the side-by-side phase and leaves it after (STACKCTL_TEST_SWARM_MANAGED); run alone, the
# fixture does both itself.
pytestmark = pytest.mark.xdist_group("swarm")


def docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def swarm_stack(tmp_path):
    """A project of its own on this engine made a one-node swarm (and made a plain engine again
    after, unless it was a swarm already)."""
    was = docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()
    if os.environ.get("STACKCTL_TEST_SWARM_MANAGED"):
        assert was == "active", "scripts/test.sh makes the engine a swarm before the side-by-side phase"
    elif was != "active":
        made = docker("swarm", "init", "--advertise-addr", "127.0.0.1")
        assert made.returncode == 0, made.stderr
    runner = make_runner(project_with_own_images(tmp_path), STACKCTL_TARGET="swarm", STACKCTL_HEALTH_TIMEOUT="120")
    (tmp_path / ".env").write_text(f"API_IMAGE=stackctl-it/{runner.name}-api:dev\n"
                                   f"WEB_IMAGE=stackctl-it/{runner.name}-web:dev\n")
    yield runner
    runner.run("down", "--volumes", "--yes", timeout=180)
    docker("stack", "rm", runner.name)
    if was != "active":
        docker("swarm", "leave", "--force")
    else:
        docker("node", "update", "--label-rm", f"stackctl.{runner.name}.data", "self")
    images = docker("images", "-q", "--filter", f"reference=stackctl-it/{runner.name}-*").stdout.split()
    if images:
        docker("rmi", "-f", *set(images))


def api_containers(stack) -> list[str]:
    return docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack.name}_api").stdout.split()


def task_container(stack, service: str) -> str:
    return docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={stack.name}_{service}").stdout.split()[0]


def stored(stack, ids: list[int], database: str = "stackctl") -> list[int]:
    """Which of these stop ids the database holds, asked inside the database task's container."""
    query = f"SELECT id FROM stops WHERE id IN ({','.join(map(str, ids))}) ORDER BY id"
    out = docker("exec", task_container(stack, "db"), "psql", "-U", "stackctl", "-d", database, "-tAc", query)
    assert out.returncode == 0, out.stderr
    return [int(line) for line in out.stdout.split()]


def redis_cli(stack, *args: str) -> str:
    out = docker("exec", "-e", f"REDISCLI_AUTH={DEV_REDIS_PASSWORD}", task_container(stack, "redis"),
                 "redis-cli", "--no-auth-warning", *args)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def set_version(stack, value: str) -> None:
    init = stack.project_dir / "images" / "backend" / "app" / "__init__.py"
    init.write_text(re.sub(r'VERSION = ".*"', f'VERSION = "{value}"', init.read_text()))


def swarm_status(stack) -> dict:
    out = stack.run("status", "--json")
    return {s["name"]: s for s in json.loads(out.stdout)["result"]["services"]}


DEV_REDIS_PASSWORD = "dev-only-redis-password"  # the reference stack's development secret
NEAR = "/api/stops/near?lat=52.52&lon=13.405&radius=300"


def under_load(stack):
    return (Load(stack.url(NEAR), rate=20),
            StrictLoad("127.0.0.1", stack.http_port, NEAR, rate=20, tls=False))


def nothing_failed_nothing_lost(stack, what: str, load: Load, strict: StrictLoad, at_least: int) -> None:
    assert load.total >= at_least and strict.total >= at_least, (load.total, strict.total)
    assert load.failures == [], load.failures[:5]
    assert strict.failures == [], strict.failures[:5]
    assert stored(stack, strict.written) == sorted(strict.written)
    print(f"\n{what} under load: httpx {load.total} requests, 0 failed (p99 {load.latency_ms(99):.0f} ms); "
          f"http.client keep-alive {strict.total} ({len(strict.written)} writes, all stored), 0 failed "
          f"(p99 {strict.latency_ms(99):.0f} ms)")


def test_stack_on_a_swarm_with_three_api_replicas_updates_and_heals_without_a_failed_request(swarm_stack):
    s = swarm_stack
    check = s.run("check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "a manager of a swarm of 1 node(s)" in check.stdout and f"web publishes {s.http_port} (host mode): free" \
        in check.stdout
    up = s.run("up", "--replicas", "api=3")
    assert up.returncode == 0, up.stderr + up.stdout
    services = swarm_status(s)
    assert (services["api"]["running"], services["api"]["desired"]) == (3, 3)
    assert services["migrate"]["state"] == "done" and services["db"]["state"] == "ready"
    assert services["web"]["ports"] == [f"{s.http_port}->80/tcp"]
    assert "5432" not in up.stdout + up.stderr or "not published" in up.stdout + up.stderr

    # the proxy spreads requests over the three replicas (each logs the requests it served)
    for _ in range(60):
        assert httpx.get(s.url(NEAR), timeout=10).status_code == 200
    served = [docker("logs", c).stdout.count("GET /stops/near") + docker("logs", c).stderr.count("GET /stops/near")
              for c in api_containers(s)]
    assert len(served) == 3 and all(n > 0 for n in served), served

    # a changed API rolled out task by task (start-first) under load: nothing fails, nothing is lost
    set_version(s, "1.0.1-swarm")
    load, strict = under_load(s)
    with load, strict:
        time.sleep(2)
        update = s.run("up")
        assert update.returncode == 0, update.stderr + update.stdout
        time.sleep(2)
    assert httpx.get(s.url("/api/health"), timeout=5).json()["version"] == "1.0.1-swarm"
    assert swarm_status(s)["api"]["running"] == 3  # the replica count is kept without --replicas
    nothing_failed_nothing_lost(s, "rolling update of 3 API replicas", load, strict, at_least=100)
    written = len(strict.written)

    # rollback: the API back to the version before that up, under load
    load, strict = under_load(s)
    with load, strict:
        back = s.run("rollback")
        time.sleep(1)
    assert back.returncode == 0, back.stderr + back.stdout
    assert httpx.get(s.url("/api/health"), timeout=5).json()["version"] == "1.0.0"
    nothing_failed_nothing_lost(s, "rollback of 3 API replicas", load, strict, at_least=40)
    written += len(strict.written)

    # a replica killed under load is replaced by swarm; no read fails (nginx sends it to another
    # replica), and a write fails only if it was in flight on the killed replica at that instant:
    # that one a proxy must not send again (it may have been done), and neither does the client
    load, strict = under_load(s)
    with load, strict:
        time.sleep(1)
        killed = api_containers(s)[0]
        kill_from = time.monotonic() - strict.t0
        assert docker("kill", killed).returncode == 0
        kill_to = time.monotonic() - strict.t0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (killed not in api_containers(s) and len(api_containers(s)) == 3
                                                   and swarm_status(s)["api"]["running"] == 3):
            time.sleep(1)
        time.sleep(2)
    assert len(api_containers(s)) == 3 and killed not in api_containers(s)
    in_flight = [f for f in strict.failures if f[2] == "POST HTTP 502" and f[0] <= kill_to and f[0] + f[3] >= kill_from]
    assert len(in_flight) <= strict.workers and [f for f in strict.failures if f not in in_flight] == [], strict.failures
    strict.results = [r for r in strict.results if r not in in_flight]
    nothing_failed_nothing_lost(s, f"a replica killed ({len(in_flight)} write in flight on it lost)", load, strict,
                                at_least=40)
    written += len(strict.written)

    # a release whose health fails: given --timeout, then rolled back; the old replicas serve throughout
    main_py = s.project_dir / "images" / "backend" / "app" / "main.py"
    main_py.write_text(main_py.read_text().replace("status_code=200 if ok else 503", "status_code=503"))
    set_version(s, "9.9.9-broken")
    load, strict = under_load(s)
    with load, strict:
        bad = s.run("up", "--timeout", "15")
        time.sleep(1)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "api timed out" in bad.stderr and "rolled back: the previous version still serves" in bad.stderr
    assert httpx.get(s.url("/api/health"), timeout=5).json()["version"] == "1.0.0"
    assert swarm_status(s)["api"]["running"] == 3
    assert s.run("rollback").returncode == 2  # its previous version is the broken one: nothing to go back to
    nothing_failed_nothing_lost(s, "a broken release rolled back", load, strict, at_least=40)

    # a backup reads the database and cache through their tasks: the writes above are in it
    in_backup = strict.written
    assert redis_cli(s, "SET", "restore-marker", "in-backup") == "OK"
    backup = s.run("backup", "--json")
    assert backup.returncode == 0, backup.stderr
    made = json.loads(backup.stdout)["result"]
    assert made["rows"] >= written + len(strict.written), (made["database"], written)

    # restore: what was written after the backup goes, what it holds is back, Redis's key too, and
    # the API serves again at 3 replicas through the proxy
    later = [httpx.post(s.url("/api/stops"), json={"name": f"after-backup-{n}", "lat": 52.5, "lon": 13.4},
                        timeout=10) for n in range(3)]
    assert [r.status_code for r in later] == [201] * 3
    later_ids = [r.json()["id"] for r in later]
    assert redis_cli(s, "SET", "restore-marker", "after-backup") == "OK"
    restored = s.run("restore", made["id"], "--yes", "--json", timeout=300)
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert stored(s, later_ids) == [] and stored(s, in_backup) == sorted(in_backup)
    assert redis_cli(s, "GET", "restore-marker") == "in-backup"
    assert swarm_status(s)["api"]["running"] == 3
    assert httpx.get(s.url(NEAR), timeout=10).status_code == 200
    kept = json.loads(restored.stdout)["result"]["kept"]["stackctl"]
    assert later_ids[0] in stored(s, later_ids, database=kept)  # the replaced data was kept, not dropped

    down = s.run("down", "--volumes", "--yes")
    assert down.returncode == 0, down.stderr
    assert docker("service", "ls", "-q", "--filter", f"label=com.docker.stack.namespace={s.name}").stdout.strip() == ""
    assert docker("ps", "-aq", "--filter", f"label=com.docker.stack.namespace={s.name}").stdout.strip() == ""
    assert docker("volume", "ls", "-q", "--filter", f"name={s.name}_pgdata").stdout.strip() == ""
