"""Every success stackctl prints rests on something it observed. On an app shaped as adopted
(tests/projects/adopted: no healthchecks, nothing published but the frontend, an API that listens
seconds after it starts, a worker that never listens, a role-less edge nginx in production), each
false success once printed is a scenario here that must now be true or not said."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import httpx
import pytest

from load import StrictLoad, amid
from real import PROJECTS, STRONG, container, copy_project, psql, remove, result


@pytest.fixture
def adopted(tmp_path):
    runner = copy_project(tmp_path, "adopted", LISTEN_DELAY="3")
    (runner.project_dir / ".env.production").write_text(f"DB_PASSWORD={STRONG}\n")
    init = runner.run("init", "--yes")
    assert init.returncode == 0, init.stderr
    yield runner
    remove(runner)


def api_ids(s) -> list[str]:
    out = subprocess.run(["docker", "ps", "-aq", "--no-trunc", "--filter", f"label=com.docker.compose.project={s.name}",
                          "--filter", "label=com.docker.compose.service=api"], capture_output=True, text=True)
    return out.stdout.split()


def image_id(reference: str) -> str:
    return subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", reference], capture_output=True,
                          text=True).stdout.strip()


def is_running(cid: str) -> bool:
    return subprocess.run(["docker", "inspect", "-f", "{{.State.Running}}", cid], capture_output=True,
                          text=True).stdout.strip() == "true"


def running_image(cid: str) -> str:
    return subprocess.run(["docker", "inspect", "-f", "{{.Image}}", cid], capture_output=True, text=True).stdout.strip()


def edge(s) -> str:
    return f"http://127.0.0.1:{s.env['EDGE_PORT']}"


def strict(s) -> StrictLoad:
    """Keep-alive, never retrying, half of it writes, through the edge."""
    return StrictLoad("127.0.0.1", int(s.env["EDGE_PORT"]), "/api/items", rate=20, tls=False,
                      write_path="/api/items")


def stored(s, ids: list[int]) -> list[int]:
    if not ids:
        return []
    rows = psql(s, "db", "app", f"SELECT id FROM items WHERE id IN ({','.join(map(str, ids))}) ORDER BY id")
    return [int(r[0]) for r in rows]


def change_app(s, marker: str, crash: bool = False) -> None:
    """A new build of the API: a marker in its source, and (crash) a second bind of its port at start."""
    app = s.project_dir.parent / "app" / "app.py"
    text = (PROJECTS / "app" / "app.py").read_text()  # the app as shipped, each change made from it
    if crash:
        text = text.replace("    server = ThreadingHTTPServer(", "    held = ThreadingHTTPServer(('0.0.0.0', 8000), Handler)\n"
                                                              "    server = ThreadingHTTPServer(")
    app.write_text(text + f"\n# release {marker}\n")


def deploy(s, *args, timeout=900):
    return s.run("--env", "production", "deploy", *args, timeout=timeout)


def test_up_serves_the_first_request_and_every_state_rests_on_named_evidence(adopted):
    s = adopted
    up = s.run("up", timeout=600)
    assert up.returncode == 0, up.stderr
    first = httpx.get(f"http://127.0.0.1:{s.env['HTTP_PORT']}/api/items", timeout=10)  # the very first request
    assert first.status_code == 200, first.text
    assert "stack is up" not in up.stdout and "nothing shows that worker serves" in up.stdout
    status = result(s.run("status", "--json", "--no-stats"))
    evidence = {x["name"]: (x["state"], x["evidence"]) for x in status["services"]}
    assert evidence["db"] == ("ready", "sql") and evidence["cache"] == ("ready", "ping")
    assert evidence["api"][0] == "ready" and evidence["api"][1] in ("http /", "listening 8000")
    assert evidence["frontend"] == ("ready", "http /")
    assert evidence["worker"] == ("running", "none")  # never "ready": nothing shows it serves
    assert status["without_evidence"] == ["worker"]


def test_deploys_say_deployed_and_serves_only_on_what_they_observed(adopted):
    s = adopted
    first = deploy(s, "--json")
    assert first.returncode == 0, first.stderr
    verified = result(first)["verified"]
    assert verified["edge"] in ("http /", "listening 80")  # the role-less edge is started and looked at
    assert verified["api"] in ("http /", "listening 8000") and verified["worker"] == "none"

    # A new API that crashes at start (address in use) and restarts: never takes a request.
    change_app(s, "crashing", crash=True)
    with strict(s) as load:
        bad = amid(lambda: deploy(s, "--timeout", "20"))
    assert bad.returncode == 1, bad.stdout
    assert "rolled back before taking traffic" in bad.stderr and "still serves (verified: " in bad.stderr, bad.stderr
    assert load.total >= 40 and load.failures == [], load.failures[:5]
    assert stored(s, load.written) == sorted(load.written)
    listed = result(s.run("--env", "production", "releases", "--json"))["releases"]
    assert [r["status"] for r in listed] == ["rolled back", "deployed"]

    # kill -9 of a deploy in mid-rollout; the next deploy removes what it left and serves its own image
    change_app(s, "after-kill")
    before = set(api_ids(s))
    killed = s.popen("--env", "production", "deploy")
    deadline = time.monotonic() + 300
    while len(set(api_ids(s)) - before) < 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    left = set(api_ids(s)) - before
    assert left, "the rollout never started a new container"
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait(30)
    again = deploy(s, "--break-lock", "--json")
    assert again.returncode == 0, again.stderr
    release = result(again)["release"]
    running = [c for c in api_ids(s) if is_running(c)]
    assert len(running) == 1 and running_image(running[0]) == image_id(f"{s.env['APP_IMAGE'].split(':')[0]}:{release}")
    assert running[0] not in left and not set(api_ids(s)) & left  # the dead deploy's container was removed
    statuses = {r["release"]: r["status"] for r in result(s.run("--env", "production", "releases", "--json"))["releases"]}
    assert statuses[release] == "deployed" and "interrupted" in statuses.values()

    # production up with an undeployed change: the release's tag stays on the release's bytes
    tagged = f"{s.env['APP_IMAGE'].split(':')[0]}:{release}"
    bytes_before = image_id(tagged)
    change_app(s, "undeployed")
    up = s.run("--env", "production", "up", timeout=600)
    assert up.returncode == 0, up.stderr
    assert image_id(tagged) == bytes_before and f"differ from release {release}" in up.stderr + up.stdout

    # the old and the new API both stopped mid-deploy: the message says what answers, as seen
    change_app(s, "both-killed")
    before = set(api_ids(s))
    both = s.popen("--env", "production", "deploy", "--timeout", "20")
    deadline = time.monotonic() + 300
    # The new container started, not only created: a created one ignores `docker stop` and starts
    # a moment later (CI once saw that deploy succeed).
    while not any(is_running(c) for c in set(api_ids(s)) - before) and time.monotonic() < deadline:
        time.sleep(0.05)
    subprocess.run(["docker", "stop", "-t", "0", *api_ids(s)], capture_output=True)
    said, _ = both.communicate(timeout=600)
    assert both.returncode == 1, said
    assert "still serves (verified" not in said and "does not serve as it should either: api" in said, said

    # a role-less service that does not start fails the deploy (nothing says "deployed")
    s.env["EDGE_CONF"] = "broken.conf"
    broken = deploy(s)
    assert broken.returncode == 1 and "deployed release" not in broken.stdout, broken.stdout
    assert "edge" in broken.stderr


def test_doctor_names_the_frontend_when_the_edge_answers_502(adopted):
    s = adopted
    assert deploy(s).returncode == 0
    subprocess.run(["docker", "stop", container(s, "frontend")], capture_output=True, check=True)
    # The edge keeps an address it resolved for 2 s (resolver valid=2s in its config): after that
    # it asks for the name and logs that it is gone. Within them it logs only an address, which a
    # stopped container no longer has: doctor then says so (an upstream no running container has).
    time.sleep(2.5)
    out = s.run("--env", "production", "doctor", "--json")
    assert out.returncode == 3
    findings = json.loads(out.stdout)["result"]["findings"]
    first = findings[0]
    assert first["subject"] == "frontend" and first["what"].startswith("is exited"), findings
    at_edge = next(f for f in findings if f["subject"] == "edge")
    assert at_edge["what"].startswith(f"answers 502 on http://localhost:{s.env['EDGE_PORT']}") and \
        at_edge["what"].endswith("because frontend is exited"), at_edge
    assert not any(f["subject"] == "api" for f in findings)  # the backend is not blamed for the frontend's 502
