"""Hostile input on the real engine: odd characters in secrets, broken env files, misspelt
variables, and what `docker compose config` shows of production."""

import os
import time
import subprocess
from pathlib import Path

import httpx
import pytest
import redis

from tests.integration.load import at_once



def up_in_production_with(stack, settings: str) -> None:
    """These settings added to .env.production, then a production up that must succeed."""
    env_file = stack.project_dir / ".env.production"
    env_file.write_text(env_file.read_text() + settings)
    up = stack.run("--env", "production", "up")
    assert up.returncode == 0, up.stderr

def test_a_redis_password_with_spaces_and_quotes_works_end_to_end(scratch_project):
    s = scratch_project
    password = 'with space "and" quotes \\ and $dollar'
    # compose's own .env syntax: single quotes keep everything literal
    (s.project_dir / ".env").write_text(f"REDIS_PASSWORD='{password}'\n")
    up = s.run("up")
    assert up.returncode == 0, up.stderr
    assert redis.Redis(host="127.0.0.1", port=int(s.env["REDIS_PORT"]), password=password).ping() is True
    assert httpx.get(s.url("/api/health"), timeout=10).status_code == 200  # the API uses it too


def test_an_unparsable_env_line_is_one_line_exit_2_and_starts_nothing(scratch_project):
    (scratch_project.project_dir / ".env").write_text("GOOD=1\nthis line has spaces\n")
    up = scratch_project.run("up")
    assert up.returncode == 2, up.stderr
    lines = up.stderr.strip().splitlines()
    assert len(lines) == 1 and "line 2: key cannot contain a space" in lines[0], up.stderr
    assert scratch_project.containers() == []


def test_a_misspelt_variable_does_not_pass_silently(scratch_project):
    (scratch_project.project_dir / ".env").write_text("REDIS_PASWORD=not-what-you-think\n")
    check = scratch_project.run("check")
    assert check.returncode == 2
    assert "REDIS_PASWORD in .env is used by no compose file (did you mean REDIS_PASSWORD?)" in check.stdout
    up = scratch_project.run("up")
    assert up.returncode == 2 and scratch_project.containers() == []


def test_compose_config_of_the_production_files_shows_no_secret(scratch_project):
    secrets = {"POSTGRES_PASSWORD": "Zq8xV3mK9pL2wR7tY5nB", "REDIS_PASSWORD": "Hj4kL8mN2pQ6rS9tV3wX"}
    env_file = scratch_project.project_dir / ".env.production"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
    # the by-hand command of compose.prod.yaml's comment, with nothing of stackctl's in the environment
    out = subprocess.run(["docker", "compose", "--env-file", str(env_file), "-f", "compose/compose.yaml",
                          "-f", "compose/compose.prod.yaml", "config"], capture_output=True, text=True,
                         cwd=scratch_project.project_dir,
                         env={k: v for k, v in os.environ.items() if not k.startswith(("TLS_", "STACKCTL_"))})
    assert out.returncode == 0, out.stderr
    assert "postgres_password" in out.stdout  # the secrets are there, as names
    assert f"{scratch_project.project_dir}/certs/tls.crt" in out.stdout  # the documented default pair
    for value in secrets.values():
        assert value not in out.stdout


def test_one_command_at_a_time_changes_a_stack(stack):
    """Two `up` at once: the second waits its turn (STACKCTL_LOCK_WAIT) or is refused, naming the
    first; never two networks of one name."""
    import sys

    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom stackctl import lock\nfrom stackctl.engine import Engine\n"
        f"nonce = lock.acquire(Engine(), {stack.name!r}, 'backup')\nprint('held', flush=True)\n"
        f"sys.stdin.readline()\nlock.release(Engine(), {stack.name!r}, nonce)\n")], stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        refused = stack.run("up")
        assert refused.returncode == 2
        assert f"stack {stack.name} is being changed (stackctl backup) by" in refused.stderr
        assert f"(pid {holder.pid}, still running)" in refused.stderr and "STACKCTL_LOCK_WAIT" in refused.stderr
        assert stack.containers() == []
    finally:
        holder.communicate("go\n", timeout=30)
    both = [subprocess.Popen([sys.executable, "-m", "stackctl", "up"], env={**os.environ, **stack.env,
                                                                           "STACKCTL_LOCK_WAIT": "300"},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [p.communicate(timeout=600) for p in both]
    assert [p.returncode for p in both] == [0, 0], [err for _, err in results]
    networks = subprocess.run(["docker", "network", "ls", "--filter", f"name={stack.name}_default", "-q"],
                              capture_output=True, text=True).stdout.split()
    assert len(networks) == 1
    seen = stack.status()
    assert seen["healthy"] is True, (  # only what was not ready, short enough that pytest does not cut it
        [(x["name"], x["state"], x["container_state"], x["docker_health"], x["evidence"], x["detail"][:160],
          x["uptime_seconds"]) for x in seen["services"] if x["state"] not in ("ready", "done")],
        [(e["name"], e["detail"][:200]) for e in seen["endpoints"] if not e["ok"]])


def test_security_headers_everywhere_and_a_429_says_when_to_come_back(stack):
    assert stack.run("up").returncode == 0
    health = httpx.get(stack.url("/health"), timeout=10)
    assert health.headers["cross-origin-opener-policy"] == "same-origin"
    assert health.headers["cross-origin-resource-policy"] == "same-origin"
    assert "form-action 'self'" in health.headers["content-security-policy"]
    # 250 requests arriving within moments: nginx's 50 r/s with a burst of 100 lets about 100 through
    answers = at_once("127.0.0.1", stack.http_port, "/api/health", 250)
    codes = [status for status, _ in answers]
    assert set(codes) <= {200, 429} and codes.count(200) >= 100, sorted(set(codes))  # the burst, nothing failed
    limited = [headers for status, headers in answers if status == 429]
    assert limited, codes.count(200)
    assert limited[0]["retry-after"] == "1"
    assert limited[0]["x-content-type-options"] == "nosniff"


def test_behind_a_trusted_proxy_each_client_gets_its_own_rate_limit(prod_stack):
    """API_RATE_LIMIT and TRUSTED_PROXIES: the limit keys on the client X-Forwarded-For names, so
    one busy client does not throttle the others (without the setting every client behind the
    Docker gateway shared one bucket)."""
    up_in_production_with(prod_stack, "API_RATE_LIMIT=5\n"
                          "TRUSTED_PROXIES=10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.1\n")
    url = f"https://127.0.0.1:{prod_stack.env['HTTPS_PORT']}/api/health"
    with httpx.Client(timeout=10, verify=False) as client:
        def ask(client_address: str) -> int:
            return client.get(url, headers={"X-Forwarded-For": client_address}).status_code

        # one client alone, one request at a time, until the limit answers (5 r/s after a burst of 100):
        # it must not let through more than the burst and the rate allow for the time it took
        busy, start = [], time.monotonic()
        while 429 not in busy and time.monotonic() - start < 120:
            busy.append(ask("203.0.113.7"))
            allowed = 101 + 5 * (time.monotonic() - start)
            assert busy.count(200) <= allowed + 5, f"{busy.count(200)} answered in {time.monotonic() - start:.1f} s"
        assert set(busy) == {200, 429} and busy.count(200) >= 100  # the burst, then the limit
        other = ask("198.51.100.9")
        still = [ask("203.0.113.7") for _ in range(20)]
    assert other == 200 and 429 in still  # the other client is served while the busy one stays limited


def test_a_changed_production_secret_reaches_its_containers_on_the_next_up(prod_stack):
    """compose copies secrets in at start and does not notice a new value: stackctl recreates."""
    import re
    import secrets as tokens

    first = prod_stack.run("--env", "production", "up")
    assert first.returncode == 0, first.stderr
    env_file = prod_stack.project_dir / ".env.production"
    new = tokens.token_hex(16)
    env_file.write_text(re.sub(r"REDIS_PASSWORD=\w+", f"REDIS_PASSWORD={new}", env_file.read_text()))
    again = prod_stack.run("--env", "production", "up")
    assert again.returncode == 0, again.stderr
    port = int(prod_stack.env["REDIS_PORT"])
    assert redis.Redis(host="127.0.0.1", port=port, password=new).ping() is True
    assert "secrets or configs changed since the container was made: recreating" in again.stderr
    health = httpx.get(f"https://127.0.0.1:{prod_stack.env['HTTPS_PORT']}/api/health", verify=False, timeout=10)
    assert health.status_code == 200 and health.json()["checks"]["redis"]["ok"] is True  # the API has the new one


def test_production_tls_offers_no_cbc_suite_and_nothing_below_tls_1_2(prod_stack):
    import socket
    import ssl

    up = prod_stack.run("--env", "production", "up")
    assert up.returncode == 0, up.stderr
    port = int(prod_stack.env["HTTPS_PORT"])

    def handshake(**options) -> str | None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        if "ciphers" in options:
            context.maximum_version = ssl.TLSVersion.TLSv1_2  # cipher lists apply up to 1.2
            context.set_ciphers(options["ciphers"])
        if "version" in options:
            context.minimum_version = context.maximum_version = options["version"]
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
                with context.wrap_socket(raw) as tls:
                    return tls.version()
        except (ssl.SSLError, ConnectionResetError):
            return None

    assert handshake() in ("TLSv1.3", "TLSv1.2")
    assert handshake(ciphers="ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES256-GCM-SHA384") == "TLSv1.2"
    assert handshake(ciphers="AES128-SHA:AES256-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES128-SHA:"
                             "ECDHE-RSA-AES256-SHA384:ECDHE-ECDSA-AES256-SHA384") is None  # CBC: refused
    assert handshake(version=ssl.TLSVersion.TLSv1_1) is None

    redirect = httpx.get(f"http://127.0.0.1:{prod_stack.env['HTTP_PORT']}/stops?near=1", timeout=10)
    assert redirect.status_code == 301

    # testssl.sh, a client nobody here wrote: no protocol below TLS 1.2, no CBC (LUCKY13), the
    # server's own cipher order, HTTP/2 offered.
    found = run_testssl(port, prod_stack.project_dir / "testssl.json")
    assert {k: found[k] for k in ("SSLv2", "SSLv3", "TLS1", "TLS1_1")} == dict.fromkeys(
        ("SSLv2", "SSLv3", "TLS1", "TLS1_1"), "not offered")
    assert found["TLS1_2"].startswith("offered") and found["TLS1_3"].startswith("offered")
    for weak in ("NULL", "aNULL", "EXPORT", "LOW", "3DES_IDEA", "AVERAGE"):  # AVERAGE: the CBC suites
        assert found[f"cipherlist_{weak}"] == "not offered", weak
    assert all("GCM" in c or "CHACHA20" in c for c in found["cipherorder_TLSv1_2"].split()), found
    assert found["LUCKY13"].startswith("not vulnerable"), found["LUCKY13"]
    assert found["cipher_order"].startswith("server"), found["cipher_order"]
    assert found["ALPN_HTTP2"] == "h2", found["ALPN_HTTP2"]

    # Capabilities: none but what a service names (cap_drop: ALL); what serves holds none.
    for service in ("db", "redis", "api", "web"):
        name = f"{prod_stack.name}-{service}-1"
        dropped = subprocess.run(["docker", "inspect", "-f", "{{json .HostConfig.CapDrop}}", name],
                                 capture_output=True, text=True, check=True).stdout.strip()
        assert dropped == '["ALL"]', (service, dropped)
        pids = subprocess.run(["docker", "inspect", "-f", "{{.HostConfig.PidsLimit}}", name],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert pids == {"db": "512"}.get(service, "256"), (service, pids)  # a fork bomb stops there
    for service in ("db", "redis", "api"):
        assert effective_caps(f"{prod_stack.name}-{service}-1", "1") == 0, service  # past the entrypoint
    web = f"{prod_stack.name}-web-1"
    workers = subprocess.run(["docker", "exec", web, "sh", "-c", "for p in /proc/[0-9]*; do "
                              "case \"$(tr '\\0' ' ' < $p/cmdline 2>/dev/null)\" in "
                              "'nginx: worker process'*) echo ${p#/proc/};; esac; done"],
                             capture_output=True, text=True).stdout.split()
    assert workers and all(effective_caps(web, pid) == 0 for pid in workers)
    chown, setgid, setuid, net_bind_service = 0, 6, 7, 10  # linux/capability.h
    assert effective_caps(web, "1") == sum(1 << c for c in (chown, setgid, setuid, net_bind_service))
    assert redirect.headers["location"] == f"https://127.0.0.1:{port}/stops?near=1"  # the port kept
    followed = httpx.get(redirect.headers["location"], verify=False, timeout=10)
    assert followed.status_code == 200


SHIPPED = [("compose/compose.yaml",), ("compose/compose.yaml", "compose/compose.prod.yaml"),
           ("examples/geo-nest/docker-compose.yml",),
           ("examples/geo-nest/docker-compose.yml", "examples/geo-nest/docker-compose.prod.yml")]


@pytest.mark.parametrize("files", SHIPPED, ids=lambda f: "+".join(Path(p).name for p in f))
def test_every_shipped_compose_file_passes_compose_s_own_schema_check(files):
    root = Path(__file__).resolve().parents[2]
    args = [a for f in files for a in ("-f", str(root / f))]
    out = subprocess.run(["docker", "compose", *args, "config", "--quiet"], capture_output=True, text=True,
                         env={**os.environ, "TLS_CERT_PATH": "/dev/null", "TLS_KEY_PATH": "/dev/null"})
    assert out.returncode == 0, out.stderr


TRICKY = {  # value in .env -> what compose makes of it (and so what stackctl checks and masks)
    "P_SINGLE": ("'r$$x${HOME}y'", "r$$x${HOME}y"),
    "P_DOUBLE": ('"quoted ${HOME} and $$"', f"quoted {os.environ.get('HOME', '')} and $"),
    "P_PLAIN": ("$$dollar", "$dollar"),
    "P_DEFAULT": ("${P_UNSET_X:-fallback}", "fallback"),
    "P_HASH": ("trailing # comment", "trailing"),
    "P_INNER": ("'single \"inner\" quotes'", 'single "inner" quotes'),
}


def test_stackctl_reads_the_env_file_exactly_as_compose_does(scratch_project):
    from stackctl.project import Project
    from stackctl.stack import Stack

    project_dir = scratch_project.project_dir
    (project_dir / ".env").write_text("".join(f"{k}={raw}\n" for k, (raw, _) in TRICKY.items()))
    env = {**os.environ, **scratch_project.env}
    for key in TRICKY:
        env.pop(key, None)
    os_environ = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(env)
        values = Stack(Project(project_dir, "development", (project_dir / "compose" / "compose.yaml",))) \
            .compose.environment()
    finally:
        os.environ.clear()
        os.environ.update(os_environ)
    assert {k: values.get(k) for k in TRICKY} == {k: want for k, (_, want) in TRICKY.items()}


def effective_caps(container: str, pid: str) -> int:
    status = subprocess.run(["docker", "exec", container, "cat", f"/proc/{pid}/status"], capture_output=True,
                            text=True, check=True).stdout
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), 16)


def run_testssl(port: int, report) -> dict[str, str]:
    """testssl.sh's findings by id (protocols, standard cipher categories, server order, LUCKY13)."""
    import json
    import shutil

    binary = shutil.which("testssl") or shutil.which("testssl.sh")
    assert binary, "testssl.sh is not installed: scripts/test.sh installs it"
    subprocess.run([binary, "--quiet", "--color", "0", "--warnings", "off", "--openssl-timeout", "10",
                    "--jsonfile", str(report), "-p", "-s", "-P", "-L", f"127.0.0.1:{port}"],
                   capture_output=True, text=True, timeout=600)
    return {item["id"]: item["finding"] for item in json.loads(report.read_text())}


def nginx_image() -> str:
    images = Path(__file__).resolve().parents[2] / ".stackctl" / "images.env"
    for line in images.read_text().splitlines() if images.is_file() else []:
        if line.startswith("NGINX_IMAGE="):
            return line.split("=", 1)[1]
    return "nginx:1.27-bookworm"


@pytest.mark.parametrize("mode", ["development", "production"])
def test_nginx_accepts_the_shipped_configuration(mode, tmp_path):
    """`nginx -t` (nginx's own parser) on the config the web image ships, as each mode starts it."""
    from stackctl.tls import self_signed

    root = Path(__file__).resolve().parents[2] / "images" / "frontend" / "nginx"
    self_signed(tmp_path / "tls.crt", tmp_path / "tls.key", ["localhost"], 1)
    (tmp_path / "tls.key").chmod(0o644)  # read by nginx's master in the container
    mounts = ["-v", f"{root}:/etc/nginx/stackctl:ro", "-v", f"{root / 'default.conf'}:/etc/nginx/conf.d/default.conf:ro",
              "-v", f"{tmp_path / 'tls.crt'}:/run/secrets/tls_cert:ro", "-v", f"{tmp_path / 'tls.key'}:/run/secrets/tls_key:ro"]
    if mode == "development":
        command = ["nginx", "-t"]
    else:
        command = ["sh", "/etc/nginx/stackctl/start-production.sh", "-t", "-c", "/etc/nginx/stackctl/production.conf"]
    out = subprocess.run(["docker", "run", "--rm", "--network", "none", "-e", "HTTPS_PORT=18443",
                          "-e", "API_RATE_LIMIT=50", "-e", "TRUSTED_PROXIES=10.0.0.0/8", *mounts, "--entrypoint",
                          command[0], nginx_image(), *command[1:]], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "test is successful" in out.stderr, out.stderr


@pytest.mark.parametrize("proxies", ["0.0.0.0/0", "::/0", "10.0.0.0/8,0.0.0.0/1", "10.0.0.0/07"])
def test_trusting_every_address_for_x_forwarded_for_is_refused(proxies):
    """TRUSTED_PROXIES that would let any client name itself another: nginx is not started."""
    root = Path(__file__).resolve().parents[2] / "images" / "frontend" / "nginx"
    out = subprocess.run(["docker", "run", "--rm", "--network", "none", "-e", f"TRUSTED_PROXIES={proxies}",
                          "-v", f"{root}:/etc/nginx/stackctl:ro", "--entrypoint", "sh", nginx_image(),
                          "/etc/nginx/stackctl/start-production.sh", "-t"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip().endswith("(list the load balancer's own addresses)") and "nginx" not in out.stderr


def slow_clients(mode: str, url: str, report: Path, *, connections: int, rate: int, seconds: int):
    """slowhttptest (Debian's), started: slow headers (-H, slowloris) or slow bodies (-B), its
    connection states per second written to report.csv."""
    import shutil

    binary = shutil.which("slowhttptest")
    assert binary, "slowhttptest is not installed: scripts/test.sh installs it"
    return subprocess.Popen([binary, mode, "-c", str(connections), "-r", str(rate), "-i", "4", "-x", "10",
                             "-l", str(seconds), "-p", "3", "-g", "-o", str(report), "-u", url],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def most_connected(report: Path) -> int:
    """The largest number of connections slowhttptest held open at once (its CSV's Connected)."""
    import csv

    with open(report.with_suffix(".csv")) as rows:
        return max(int(row["Connected"]) for row in csv.DictReader(rows))


def test_slow_clients_do_not_starve_an_ordinary_one(prod_stack, tmp_path):
    """Production nginx under slowloris (headers a byte at a time) and R-U-Dead-Yet (a body a
    byte at a time) from one address, while an ordinary keep-alive client behind the same load
    balancer reads and writes: every one of its requests answers, and the slow clients' hold is
    bounded (headers within 5 s; requests past their headers at once per client)."""
    up_in_production_with(prod_stack, "CONN_LIMIT_PER_CLIENT=40\n"
                          "TRUSTED_PROXIES=10.0.0.0/8,172.16.0.0/12,192.168.0.0/16\n")
    base = f"https://127.0.0.1:{prod_stack.env['HTTPS_PORT']}"
    headers = slow_clients("-H", f"{base}/", tmp_path / "headers", connections=600, rate=60, seconds=25)
    bodies = slow_clients("-B", f"{base}/api/stops", tmp_path / "bodies", connections=200, rate=40, seconds=25)
    answers: list[int | str] = []
    try:
        time.sleep(6)  # both at full strength
        with httpx.Client(timeout=5, verify=False, headers={"X-Forwarded-For": "198.51.100.9"}) as client:
            deadline = time.monotonic() + 12
            while time.monotonic() < deadline:
                for request in (lambda: client.get(f"{base}/"), lambda: client.get(f"{base}/api/health"),
                                lambda: client.post(f"{base}/api/stops", json={"name": "slow-test", "lon": 1.0,
                                                                               "lat": 2.0})):
                    try:
                        answers.append(request().status_code)
                    except httpx.HTTPError as exc:  # a refused or timed-out request is a failure, counted
                        answers.append(type(exc).__name__)
                time.sleep(0.1)
    finally:
        for tool in (headers, bodies):
            tool.wait(timeout=120)
    assert len(answers) >= 30 and all(code in (200, 201) for code in answers), (  # what failed, and how often
        len(answers), {str(code): answers.count(code) for code in set(answers)})
    # Slow headers are cut at 5 s: at 60 new connections a second, about 300 are ever open at once
    # (nginx's default 60 s would let all 600 pile up).
    assert most_connected(tmp_path / "headers") < 450, most_connected(tmp_path / "headers")
    # Slow bodies from one client: past 40 at once nginx refuses the request (429, said in its
    # error log) instead of reading it; without limit_conn all 200 would be read a byte at a time.
    logs = subprocess.run(["docker", "logs", f"{prod_stack.name}-web-1"], capture_output=True, text=True).stderr
    refused = logs.count('limiting connections by zone "perclient"')
    assert refused >= 100, logs[-3000:]


@pytest.mark.serial  # prunes the engine's stopped containers: alone, after the others
def test_the_lock_survives_prune_and_sigterm_runs_the_undo_and_lets_go_of_it(stack):
    """The lock is a named volume only its owner removes: `docker container prune` and `docker system
    prune` leave it; a SIGTERM (a cancelled CI job) ends the command as Ctrl-C does."""
    import signal

    # up holds the lock until it is told to stop: its migration waits (an `up` that finished during the
    # prunes let go of the lock before the test looked: CI, once, when `system prune` had gigabytes to free)
    # (a sleep that ends on SIGTERM: a bare `sleep` as PID 1 ignores it). The prunes and the SIGTERM come
    # once the migration runs: a SIGTERM while the engine was still starting the database left a container
    # whose `docker stop` then took its full 10 s.
    stack.env["MIGRATE_COMMAND"] = "sh -c 'trap \"exit 143\" TERM; sleep 600 & wait'"
    running = stack.popen("up")
    lock = ["docker", "volume", "inspect", f"stackctl-lock-{stack.name}"]
    migrating = ["docker", "ps", "-q", "--filter", f"name={stack.name}-migrate-1", "--filter", "status=running"]
    deadline = time.monotonic() + 120
    while not subprocess.run(migrating, capture_output=True, text=True).stdout.strip() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert subprocess.run(lock, capture_output=True).returncode == 0  # held while it migrates
    for prune in (["docker", "container", "prune", "-f"], ["docker", "system", "prune", "-f"]):
        subprocess.run(prune, capture_output=True, check=True)
    assert subprocess.run(lock, capture_output=True).returncode == 0  # still there
    second = stack.run("restart")
    assert second.returncode == 2 and "still running" in second.stderr
    os.killpg(running.pid, signal.SIGTERM)
    said, _ = running.communicate(timeout=120)
    assert running.returncode == 130 and "interrupted" in said, said
    assert subprocess.run(lock, capture_output=True).returncode != 0  # let go
