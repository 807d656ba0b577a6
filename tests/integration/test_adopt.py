"""A user's own compose project, not ours: examples/geo-nest (NestJS + TypeORM, React/Vite built
into nginx, PostGIS, Redis, a worker, an nginx proxy; services postgres, cache, backend, worker,
frontend, proxy; docker-compose.yml at its root). stackctl learns its roles and runs it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
import yaml

from conftest import StackRunner, free_ports, remove_everything
from load import Load, amid

# The module's tests follow one adopted project in order (init, up, backup, deploy): one worker.
pytestmark = pytest.mark.xdist_group("adopt")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "geo-nest"
EXPECTED_ROLES = {
    "database": "postgres", "cache": "cache",
    "migrate": {"service": "migrate", "status_command": "npm run migration:show"},
    "apps": {"backend": {"port": 3000, "health": "/health"}, "frontend": {"port": 80}, "worker": {}},
    "proxy": {"service": "proxy", "upstream": "backend", "health": "/health", "switch": "include"},
}


def make_project(tmp_path: Path, *, with_roles: bool = True) -> StackRunner:
    project = tmp_path / "geo"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("node_modules", "dist", ".stackctl"))
    if not with_roles:
        (project / "stackctl.yaml").unlink()
    if (ROOT / ".stackctl" / "images.env").is_file():
        (project / ".stackctl").mkdir()
        shutil.copy(ROOT / ".stackctl" / "images.env", project / ".stackctl" / "images.env")
    name = f"geo{uuid.uuid4().hex[:8]}"
    db, backend, http = free_ports(3)
    env = {"PROJECT_NAME": name, "DB_PORT": str(db), "BACKEND_PORT": str(backend), "HTTP_PORT": str(http),
           "BACKEND_IMAGE": f"stackctl-it/{name}-backend:dev", "FRONTEND_IMAGE": f"stackctl-it/{name}-frontend:dev",
           "PROXY_IMAGE": f"stackctl-it/{name}-proxy:dev", "STACKCTL_PROJECT_DIR": str(project),
           "STACKCTL_BACKUP_DIR": str(tmp_path / "backups"), "STACKCTL_HEALTH_TIMEOUT": "180",
           "NO_COLOR": "1", "COLUMNS": "200"}
    return StackRunner(name, env, project)


def remove(runner: StackRunner) -> None:
    remove_everything(runner)


@pytest.fixture(scope="module")
def geo(tmp_path_factory):
    """The example in development, adopted from scratch (no stackctl.yaml yet)."""
    runner = make_project(tmp_path_factory.mktemp("adopt"), with_roles=False)
    yield runner
    remove(runner)


def near(runner: StackRunner) -> list[dict]:
    response = httpx.get(f"http://127.0.0.1:{runner.env['HTTP_PORT']}/api/stops/near",
                         params={"lat": 52.52, "lon": 13.40, "radius": 3000}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["stops"]


def sql(runner: StackRunner, query: str):
    with psycopg.connect(host="127.0.0.1", port=int(runner.env["DB_PORT"]), user="geo", dbname="geo",
                         password="geo-dev-password", autocommit=True) as conn:
        cur = conn.execute(query)
        return cur.fetchall() if cur.description else None


def test_init_proposes_the_roles_in_the_users_terms_and_rerunning_changes_nothing(geo):
    shown = geo.run("init")  # no terminal, no --yes: shows the proposal, writes nothing
    assert shown.returncode == 0, shown.stderr
    assert not (geo.project_dir / "stackctl.yaml").exists()
    assert "not written: run stackctl init --yes" in shown.stdout
    written = geo.run("init", "--yes")
    assert written.returncode == 0, written.stderr
    text = (geo.project_dir / "stackctl.yaml").read_text()
    assert yaml.safe_load(text) == EXPECTED_ROLES
    compose_before = (geo.project_dir / "docker-compose.yml").read_bytes()
    again = geo.run("init", "--yes")
    assert again.returncode == 0 and "nothing changed" in again.stdout
    assert (geo.project_dir / "stackctl.yaml").read_text() == text
    assert (geo.project_dir / "docker-compose.yml").read_bytes() == compose_before


def test_up_brings_the_users_stack_up_in_order_and_the_proxy_serves_postgis_rows(geo):
    assert "LOG_LEVEL=warn" in (geo.project_dir / ".env").read_text()  # the app's own value breaks nothing
    up = geo.run("up", "--json", timeout=900)
    assert up.returncode == 0, up.stderr
    result = json.loads(up.stdout)["result"]
    order = [s["name"] for s in result["services"]]
    assert order.index("postgres") < order.index("migrate") < order.index("backend") < order.index("proxy")
    assert order.index("migrate") < order.index("worker") and order.index("cache") < order.index("backend")
    outcomes = {s["name"]: s["outcome"] for s in result["services"]}
    # the worker has no healthcheck and serves no port: it runs, and nothing shows more
    assert outcomes.pop("worker") == "running" and set(outcomes.values()) == {"ready"}
    assert result["without_evidence"] == ["worker"]
    stops = near(geo)
    assert [s["name"] for s in stops] == ["Alexanderplatz", "Brandenburger Tor", "Hauptbahnhof"]
    page = httpx.get(f"http://127.0.0.1:{geo.env['HTTP_PORT']}/", timeout=10)
    assert page.status_code == 200 and '<div id="root">' in page.text
    status = json.loads(geo.run("status", "--json", "--no-stats").stdout)["result"]
    assert status["healthy"] is True
    assert {s["name"]: s["state"] for s in status["services"]}["migrate"] == "done"
    shown = geo.run("migrate", "--status")
    assert shown.returncode == 0 and "Stops1700000000001" in shown.stdout, shown.stderr


def test_backup_then_damage_then_restore_brings_the_rows_back(geo):
    made = geo.run("backup")
    assert made.returncode == 0, made.stderr
    backup_id = re.search(r"backup (\d{8}T\d{6}Z)", made.stdout).group(1)
    sql(geo, "DELETE FROM stops")
    assert sql(geo, "SELECT count(*) FROM stops")[0][0] == 0
    restored = geo.run("restore", backup_id, "--yes", timeout=600)
    assert restored.returncode == 0, restored.stderr
    assert sql(geo, "SELECT count(*) FROM stops")[0][0] == 3
    time.sleep(5)  # the cached empty answer (5 s in Redis) expires
    assert len(near(geo)) == 3


def test_an_allow_list_dockerignore_edit_rebuilds_and_an_ignored_file_does_not(geo):
    (geo.project_dir / "backend" / "NOTES.md").write_text("not in the build context\n")
    quiet = geo.run("up", "--json", timeout=600)
    assert quiet.returncode == 0, quiet.stderr
    assert json.loads(quiet.stdout)["result"]["built"] == []
    config = geo.project_dir / "backend" / "src" / "config.ts"
    config.write_text(config.read_text().replace("VERSION = '1.0.0'", "VERSION = '1.0.1-edit'"))
    rebuilt = geo.run("up", "--json", timeout=900)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert json.loads(rebuilt.stdout)["result"]["built"] == ["backend"]
    version = httpx.get(f"http://127.0.0.1:{geo.env['HTTP_PORT']}/api/version", timeout=10).json()
    assert version == {"version": "1.0.1-edit"}


@pytest.fixture
def geo_prod(tmp_path):
    runner = make_project(tmp_path)
    (runner.project_dir / ".env.production").write_text(
        "LOG_LEVEL=warn\nDB_PASSWORD=" + uuid.uuid4().hex + "\n")
    yield runner
    remove(runner)


def prod_version(runner: StackRunner) -> str:
    return httpx.get(f"http://127.0.0.1:{runner.env['HTTP_PORT']}/api/version", timeout=10).json()["version"]


def image_of(runner: StackRunner, service: str) -> set[str]:
    out = subprocess.run(["docker", "ps", "--filter", f"label=com.docker.compose.project={runner.name}",
                          "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.Image}}"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def set_backend_version(runner: StackRunner, value: str) -> None:
    config = runner.project_dir / "backend" / "src" / "config.ts"
    config.write_text(re.sub(r"VERSION = '.*'", f"VERSION = '{value}'", config.read_text()))


def test_deploy_of_a_changed_backend_under_load_moves_the_worker_and_rollback_returns(geo_prod):
    s = geo_prod
    first = s.run("--env", "production", "deploy", timeout=900)
    assert first.returncode == 0, first.stderr
    assert prod_version(s) == "1.0.0"
    url = f"http://127.0.0.1:{s.env['HTTP_PORT']}/api/stops/near?lat=52.52&lon=13.40&radius=3000"

    set_backend_version(s, "1.1.0")
    planned = s.run("--env", "production", "deploy", "--dry-run")
    assert planned.returncode == 0, planned.stderr
    plan = [re.sub(r"^\s*\d+\. ", "", line).split(" (")[0] for line in planned.stdout.splitlines()]
    assert plan[:5] == ["check the target", "leftovers backend, frontend, worker, proxy", "build backend, frontend, proxy",
                        "backup postgres", "migrate migrate"]
    with Load(url, rate=20) as load:
        second = amid(lambda: s.run("--env", "production", "deploy", timeout=900))
    assert second.returncode == 0, second.stderr
    assert load.total >= 100 and load.failures == [], (load.total, load.failures[:5])
    assert prod_version(s) == "1.1.0"
    followed = list(json.loads(s.run("--env", "production", "audit", "--json").stdout)["result"]["entries"][-1]["steps"])
    assert followed == ["check", "leftovers", "build", "backup", "migrate", "rollout backend", "rollout worker",
                        "converge", "verify", "record"]
    heads = [p.split(" ")[0] if p.split(" ")[0] in ("check", "leftovers", "build", "backup", "migrate", "converge",
                                                      "verify", "record") else p for p in plan]
    assert [h for h in heads if h in followed] == followed  # deploy did what --dry-run said, in its order
    release = json.loads(s.run("--env", "production", "releases", "--json").stdout)["result"]["current"]
    assert image_of(s, "backend") == image_of(s, "worker") == {f"stackctl-it/{s.name}-backend:{release}"}

    with Load(url, rate=20) as load:
        back = s.run("--env", "production", "rollback", timeout=600)
        time.sleep(1)
    assert back.returncode == 0, back.stderr
    assert load.total >= 20 and load.failures == [], (load.total, load.failures[:5])
    assert prod_version(s) == "1.0.0"
    assert image_of(s, "worker") == image_of(s, "backend") != {f"stackctl-it/{s.name}-backend:{release}"}


NO_REDIS_NO_PROXY = """\
name: ${PROJECT_NAME}
services:
  postgres:
    image: ${POSTGRES_IMAGE:-postgis/postgis:16-3.4}
    environment: {POSTGRES_USER: geo, POSTGRES_DB: geo, POSTGRES_PASSWORD: "${DB_PASSWORD:-geo-dev-password}"}
    ports: ["127.0.0.1:${DB_PORT}:5432"]
  migrate:
    build: {context: ./backend, args: {NODE_IMAGE: "${NODE_IMAGE:-node:20-bookworm-slim}"}}
    image: ${BACKEND_IMAGE}
    command: ["npm", "run", "migration:run"]
    environment: &env {DB_HOST: postgres, DB_PASSWORD: "${DB_PASSWORD:-geo-dev-password}"}
    depends_on: {postgres: {condition: service_healthy}}
  backend:
    image: ${BACKEND_IMAGE}
    environment: *env
    ports: ["127.0.0.1:${BACKEND_PORT}:3000"]
    depends_on: {migrate: {condition: service_completed_successfully}}
"""


def test_a_stack_without_redis_or_proxy_runs_up_backup_restore_and_deploy(tmp_path):
    s = make_project(tmp_path)
    (s.project_dir / "docker-compose.yml").write_text(NO_REDIS_NO_PROXY)
    (s.project_dir / "docker-compose.prod.yml").unlink()
    (s.project_dir / "stackctl.yaml").unlink()
    try:
        assert s.run("init", "--yes").returncode == 0
        roles = yaml.safe_load((s.project_dir / "stackctl.yaml").read_text())
        assert roles == {"database": "postgres", "apps": {"backend": {"port": 3000}},
                         "migrate": {"service": "migrate", "status_command": "npm run migration:show"}}
        up = s.run("up", timeout=900)
        assert up.returncode == 0, up.stderr
        made = s.run("backup")
        assert made.returncode == 0, made.stderr
        assert "; redis" not in made.stdout  # Postgres only: the stack has no cache
        backup_id = re.search(r"backup (\d{8}T\d{6}Z)", made.stdout).group(1)
        sql(s, "DELETE FROM stops")
        restored = s.run("restore", backup_id, "--yes", timeout=600)
        assert restored.returncode == 0, restored.stderr
        assert sql(s, "SELECT count(*) FROM stops")[0][0] == 3
        (s.project_dir / ".env.staging").write_text("DB_PASSWORD=geo-dev-password\n")
        set_backend_version(s, "2.0.0")
        deployed = s.run("--env", "staging", "deploy", timeout=900)
        assert deployed.returncode == 0, deployed.stderr
        assert "publishes host port" in deployed.stderr  # said, not hidden: one container can hold it
        version = httpx.get(f"http://127.0.0.1:{s.env['BACKEND_PORT']}/version", timeout=10).json()
        assert version == {"version": "2.0.0"}
    finally:
        s.run("--env", "staging", "down", "--volumes", "--yes", timeout=180)
        remove(s)
