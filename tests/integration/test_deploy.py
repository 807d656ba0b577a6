"""Production deploys on the real engine: zero failed requests under load, automatic
rollback, the deploy lock, and production preflight."""

import json
import os
import re
import signal
import subprocess
import tempfile
import time

import httpx
import pytest

from pathlib import Path
from load import Load, StrictLoad, amid

ROOT = Path(__file__).resolve().parents[2]


def version(stack) -> str:
    return httpx.get(stack.https("/api/health"), verify=False, timeout=5).json()["version"]


def set_version(stack, value: str) -> None:
    init = stack.project_dir / "images" / "backend" / "app" / "__init__.py"
    init.write_text(re.sub(r'VERSION = ".*"', f'VERSION = "{value}"', init.read_text()))


def stored(stack, ids: list[int]) -> list[int]:
    """Which of these stop ids the production database holds (read with its own credentials)."""
    import psycopg

    password = re.search(r"^POSTGRES_PASSWORD=(.*)$", (stack.project_dir / ".env.production").read_text(), re.M)[1]
    with psycopg.connect(host="127.0.0.1", port=stack.postgres_port, user="stackctl", dbname="stackctl",
                         password=password) as conn:
        rows = conn.execute("SELECT id FROM stops WHERE id = ANY(%s) ORDER BY id", (ids,)).fetchall()
    return [row[0] for row in rows]


NEAR = "{}/api/stops/near?lat=52.52&lon=13.405&radius=300"


def strict_client(stack) -> StrictLoad:
    """The second client beside httpx: http.client keep-alive, no retry, half of it writes."""
    return StrictLoad("127.0.0.1", int(stack.env["HTTPS_PORT"]), NEAR.format(""), rate=20)


def nothing_failed_nothing_lost(stack, what: str, load: Load, strict: StrictLoad, at_least: int) -> None:
    assert load.total >= at_least and strict.total >= at_least, (load.total, strict.total)
    assert load.failures == [], (load.failures[:5], slowest(load), slowest(strict))
    assert strict.failures == [], (strict.failures[:5], slowest(load), slowest(strict))
    assert len(strict.written) >= at_least // 2 - 4, len(strict.written)
    assert stored(stack, strict.written) == sorted(strict.written)  # every acknowledged write is there
    print(f"\n{what} under load: httpx {load.total} requests, 0 failed; http.client keep-alive {strict.total} "
          f"requests ({len(strict.written)} writes acknowledged, all stored), 0 failed; slowest (t, s): "
          f"{slowest(load)} {slowest(strict)}")


def slowest(load, n: int = 3) -> list[tuple[float, float]]:
    """The n longest waits (when the request left, how long it took): a stall behind a failure."""
    return [(round(t, 2), round(latency, 2)) for t, _, _, latency in sorted(load.results, key=lambda r: -r[3])[:n]]


def deploy(stack, *args, timeout=600):
    return stack.run("deploy", *args, timeout=timeout)


def lock_exists(stack) -> bool:
    return subprocess.run(["docker", "volume", "inspect", f"stackctl-lock-{stack.name}"],
                          capture_output=True).returncode == 0


def test_deploy_under_load_has_zero_failed_requests_and_rollback_too(prod_stack):
    s = prod_stack
    first = deploy(s)
    assert first.returncode == 0, first.stderr
    assert version(s) == "1.0.0"

    set_version(s, "1.0.1-test")
    with Load(NEAR.format(s.https("")), rate=20) as load, strict_client(s) as strict:
        second = amid(lambda: deploy(s))
    assert second.returncode == 0, second.stderr
    nothing_failed_nothing_lost(s, "deploy", load, strict, at_least=100)
    assert version(s) == "1.0.1-test"

    listed = json.loads(s.run("releases", "--json").stdout)["result"]
    assert len(listed["releases"]) == 2 and listed["releases"][0]["current"] is True

    # a read as users make it (as the deploy above): /health answers 503 by design when a dependency check
    # takes over 1 s (CI: once, on a 2-core machine running four stacks, 1.33 s during the rollback)
    with Load(NEAR.format(s.https("")), rate=20) as load, strict_client(s) as strict:
        back = s.run("rollback")
        time.sleep(1)
    assert back.returncode == 0, back.stderr
    nothing_failed_nothing_lost(s, "rollback", load, strict, at_least=50)
    assert version(s) == "1.0.0"
    entries = json.loads(s.run("audit", "--json").stdout)["result"]["entries"]
    assert [(e["action"], e["result"]) for e in entries] == [
        ("deploy", "deployed"), ("deploy", "deployed"), ("rollback", "rolled back")]
    assert all(e["who"] and e["when"] for e in entries)

    # A changed web (nginx) image: its ports are handed to a new container; the API is not touched.
    set_version(s, "1.0.0")  # the API's source as it serves now: its image comes from the build cache
    page = s.project_dir / "images" / "frontend" / "src" / "index.html"
    page.write_text(page.read_text() + "<!-- handed over -->\n")
    api_before = service_container_ids(s, "api")
    with Load(NEAR.format(s.https("")), rate=20) as load, strict_client(s) as strict:
        web = amid(lambda: deploy(s))
    assert web.returncode == 0, web.stderr
    assert "web: ports handed over: unanswered for" in web.stderr
    assert service_container_ids(s, "api") == api_before  # the API kept serving throughout
    assert "<!-- handed over -->" in httpx.get(s.https("/"), verify=False, timeout=5).text
    assert len(service_container_ids(s, "web")) == 1
    # While no container holds the ports, connections are refused or closed (README, "Deploys");
    # nothing that answered answered with an error, and every acknowledged write is there.
    answered_badly = [f for f in load.failures + strict.failures if "HTTP " in f[2]]
    assert answered_badly == [], answered_badly[:5]
    assert len(strict.written) >= 20 and stored(s, strict.written) == sorted(strict.written)
    print(f"\nweb-image deploy under load: httpx {len(load.failures)} of {load.total} and http.client "
          f"{len(strict.failures)} of {strict.total} refused or closed during the port handover")


def service_container_ids(stack, service: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-q", "--no-trunc", "--filter", f"label=com.docker.compose.project={stack.name}",
                          "--filter", f"label=com.docker.compose.service={service}"], capture_output=True, text=True)
    return sorted(out.stdout.split())


def test_release_whose_health_fails_is_rolled_back_while_the_old_one_serves(prod_stack):
    s = prod_stack
    assert deploy(s).returncode == 0
    main_py = s.project_dir / "images" / "backend" / "app" / "main.py"
    main_py.write_text(main_py.read_text().replace("status_code=200 if ok else 503", "status_code=503"))
    set_version(s, "9.9.9-broken")
    with Load(s.https("/api/health"), rate=20) as load, strict_client(s) as strict:
        bad = deploy(s, "--timeout", "10")
    assert bad.returncode == 1
    assert "rolled back before taking traffic" in bad.stderr and "still serves" in bad.stderr, bad.stderr.split("error: ")[-1][:1500]
    nothing_failed_nothing_lost(s, "broken release", load, strict, at_least=50)
    assert version(s) == "1.0.0"
    running = subprocess.run(["docker", "ps", "--filter", f"label=com.docker.compose.project={s.name}",
                              "--filter", "label=com.docker.compose.service=api", "-q"],
                             capture_output=True, text=True).stdout.split()
    assert len(running) == 1
    last = json.loads(s.run("audit", "--json").stdout)["result"]["entries"][-1]
    assert last["result"] == "rolled back" and not lock_exists(s)


def test_a_release_whose_migration_failed_is_never_the_rollback_target(prod_stack):
    """A deployed, B's migration fails, C deployed: rollback goes back to A, never to B."""
    s = prod_stack
    first = deploy(s, "--json")
    assert first.returncode == 0, first.stderr
    a = json.loads(first.stdout)["result"]["release"]
    time.sleep(1)  # release ids are per second
    broken = s.run("deploy", extra_env={"MIGRATE_COMMAND": "false"}, timeout=600)
    assert broken.returncode != 0 and "not deployed" in broken.stderr
    time.sleep(1)
    assert deploy(s).returncode == 0
    listed = json.loads(s.run("releases", "--json").stdout)["result"]["releases"]
    statuses = [r["status"] for r in listed]
    assert statuses == ["deployed", "failed", "deployed"], listed
    b = listed[1]["release"]
    planned = s.run("rollback", "--dry-run")
    assert planned.returncode == 0 and f"record {a} " in planned.stdout and b not in planned.stdout, planned.stdout
    named = s.run("rollback", b)
    assert named.returncode == 2 and f"release {b} failed: it never served" in named.stderr
    assert "--include-failed" in named.stderr


def test_lock_refuses_a_second_deploy_and_survives_kill_9_with_a_way_out(prod_stack):
    s = prod_stack
    assert deploy(s).returncode == 0
    set_version(s, "1.0.2-lock")
    first = s.popen("deploy")
    deadline = time.monotonic() + 120
    while not lock_exists(s) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lock_exists(s)
    second = deploy(s)
    assert second.returncode == 2
    assert "is being deployed by" in second.stderr and f"(pid {first.pid}, still running)" in second.stderr

    time.sleep(2)  # somewhere in the middle of building, migrating or rolling out
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(30)
    assert httpx.get(s.https("/api/health"), verify=False, timeout=5).status_code == 200  # still serving

    third = deploy(s)
    assert third.returncode == 2
    assert "no longer running: the lock is stale" in third.stderr and "--break-lock" in third.stderr
    fourth = deploy(s, "--break-lock")
    assert fourth.returncode == 0, fourth.stderr
    assert version(s) == "1.0.2-lock" and not lock_exists(s)


def test_production_preflight_refuses_placeholder_secrets_and_public_database_ports(prod_stack, tmp_path):
    s = prod_stack
    env_file = s.project_dir / ".env.production"
    good = env_file.read_text()
    env_file.write_text(re.sub(r"POSTGRES_PASSWORD=.*", "POSTGRES_PASSWORD=change-me", good))
    out = deploy(s)
    assert out.returncode == 2 and "POSTGRES_PASSWORD is a placeholder" in out.stderr
    env_file.write_text(good)

    public = tmp_path / "public-db.yaml"
    public.write_text('services:\n  db:\n    ports: ["0.0.0.0:25432:5432"]\n')
    out = s.run("deploy", extra_env={"COMPOSE_FILE": f"compose/compose.yaml:compose/compose.prod.yaml:{public}"})
    assert out.returncode == 2
    assert "reachable beyond loopback: db on 0.0.0.0:25432 (-> 5432)" in out.stderr
    assert s.containers() == [] and not lock_exists(s)


@pytest.fixture(scope="module")
def ssh_docker_host():
    """DOCKER_HOST for this machine's own engine over ssh (scripts/loopback-sshd.sh)."""
    out = subprocess.run(["bash", str(ROOT / "scripts" / "loopback-sshd.sh")], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.xdist_group("sshd")
def test_deploy_to_a_remote_engine_over_ssh(prod_stack, ssh_docker_host):
    s = prod_stack
    s.env["BIND_ADDRESS"] = "0.0.0.0"  # reached at the ssh host's address, as a real server would be
    first = s.run("deploy", "--host", ssh_docker_host)
    assert first.returncode == 0, first.stderr
    assert version(s) == "1.0.0"
    set_version(s, "2.0.0-remote")
    with Load(s.https("/api/health"), rate=20) as load:
        second = s.run("deploy", "--host", ssh_docker_host)
    assert second.returncode == 0, second.stderr
    assert load.failures == [] and load.total >= 50
    assert version(s) == "2.0.0-remote"
    status = s.run("--env", "production", "status", "--json", extra_env={"DOCKER_HOST": ssh_docker_host})
    assert json.loads(status.stdout)["result"]["healthy"] is True, status.stdout
    # each command's one ssh tunnel ended with it: no ssh process, no socket folder left behind
    tunnels = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert [line for line in tunnels.splitlines() if "stackctl-ssh-" in line] == []
    assert list(Path(tempfile.gettempdir()).glob("stackctl-ssh-*")) == []
