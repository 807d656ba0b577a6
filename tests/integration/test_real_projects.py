"""Projects shaped unlike ours (tests/projects), each through what a new user does: init, up,
status, backup, every database damaged, restore, every database exact again (md5 over the rows),
then a deploy to staging. Each also checks what its shape once got wrong."""

from __future__ import annotations

import json
import re
import subprocess

import httpx
import pytest

from real import STRONG, build_shared_app, container, copy_project, damage, databases, fingerprint, \
    post_items, psql, remove, result


def staging(runner, **extra: str) -> None:
    """An environment of its own: strong secrets, the checked rules."""
    lines = {"DB_PASSWORD": STRONG, "REDIS_PASSWORD": STRONG, **extra}
    (runner.project_dir / ".env.staging").write_text("".join(f"{k}={v}\n" for k, v in lines.items()))


def through_the_lifecycle(runner, db: str, *, restored_exit: int = 0, staging_env: dict | None = None) -> dict:
    """init -> up -> status -> backup -> damage -> restore -> exact -> deploy to staging (twice:
    a first start, then a release over it). What each returned, for the shape's own checks."""
    s = runner
    init = s.run("init", "--yes")
    assert init.returncode == 0, init.stderr + init.stdout
    up = s.run("up", "--json", timeout=600)
    assert up.returncode == 0, up.stderr
    url = f"http://127.0.0.1:{s.env['WEB_PORT']}"
    post_items(url)
    status = s.run("status", "--json", "--no-stats")
    assert status.returncode == 0, [(x["name"], x["state"], x["evidence"], x["detail"], x["uptime_seconds"]) for x in
                                    json.loads(status.stdout)["result"]["services"]] if status.stdout else status.stderr
    before = fingerprint(s, db)
    assert sum(int(n) for tables in before.values() for n, _ in tables.values()) > 0, before
    made = s.run("backup", "--json")
    assert made.returncode == 0, made.stderr
    made = result(made)
    assert made["empty"] is False and set(made["database"]["databases"]) == set(before), made["database"]
    damage(s, db)
    assert fingerprint(s, db) != before
    restored = s.run("restore", made["id"], "--yes", "--json", timeout=600)
    assert restored.returncode == restored_exit, restored.stderr + restored.stdout
    after = fingerprint(s, db)
    down = s.run("down", "--volumes", "--yes")
    assert down.returncode == 0, down.stderr
    staging(s, **(staging_env or {}))
    first = s.run("deploy", "--env", "staging", timeout=900)
    assert first.returncode == 0, first.stderr
    second = s.run("deploy", "--env", "staging", "--json", timeout=900)
    assert second.returncode == 0, second.stderr
    return {"up": result(up), "status": result(status), "backup": made, "restored": restored, "before": before,
            "after": after, "init": init, "deploy": result(second)}


@pytest.fixture
def project(tmp_path):
    made = []

    def make(name: str, **env):
        runner = copy_project(tmp_path, name, **env)
        made.append(runner)
        return runner

    yield make
    for runner in made:
        remove(runner)


def test_postgres_db_left_at_its_default_is_backed_up_and_restored_by_name(project):
    s = project("pg-default")
    seen = through_the_lifecycle(s, "db")
    assert seen["after"] == seen["before"] and "postgres" in seen["before"]
    assert seen["before"]["postgres"]["public.items"][0] == "3"  # the app's rows live in `postgres`
    assert seen["backup"]["database"]["databases"]["postgres"]["rows"] >= 3
    assert json.loads(seen["restored"].stdout)["result"]["kept"]["postgres"].startswith("postgres_before_")
    assert seen["deploy"]["verified"]["web"] in ("http /", "listening 8000")


def test_an_app_writing_to_another_database_than_postgres_db_loses_nothing(project):
    s = project("other-db")
    seen = through_the_lifecycle(s, "postgres")
    assert set(seen["before"]) == {"postgres", "shop_meta"}
    assert seen["before"]["postgres"]["public.items"][0] == "3" and seen["after"] == seen["before"]


def test_a_database_and_role_made_by_an_init_script_come_back_with_their_owner(project):
    s = project("init-db")
    seen = through_the_lifecycle(s, "db")
    assert set(seen["before"]) >= {"app", "analytics", "postgres"} and seen["after"] == seen["before"]
    assert seen["before"]["analytics"]["public.items"][0] == "3"


def test_the_override_file_is_read_and_its_service_started(project):
    s = project("override")
    seen = through_the_lifecycle(s, "db")
    assert "  worker: {}" in seen["init"].stdout  # the override's service is in the model init reads
    assert "worker" in {x["name"] for x in seen["up"]["services"]}
    worker = next(x for x in seen["status"]["services"] if x["name"] == "worker")
    assert worker["state"] == "running" and worker["evidence"] == "none"  # it runs; nothing shows more
    assert seen["after"] == seen["before"]


def test_a_standalone_production_file_is_used_alone(project):
    s = project("standalone")
    seen = through_the_lifecycle(s, "db")
    assert seen["after"] == seen["before"]
    roles = (s.project_dir / "stackctl.yaml").read_text()
    assert "file: compose.production.yaml" in roles and "standalone: true" in roles
    (s.project_dir / "stackctl.yaml").write_text(roles + "environments:\n  staging: production\n")
    again = s.run("deploy", "--env", "staging", timeout=900)
    assert again.returncode == 0, again.stderr
    db, api = container(s, "db"), container(s, "api")
    ports = subprocess.run(["docker", "port", db], capture_output=True, text=True).stdout
    assert ports.strip() == ""  # the development file's published database port is not layered in
    mounts = json.loads(subprocess.run(["docker", "inspect", api], capture_output=True, text=True).stdout)[0]["Mounts"]
    assert not [m for m in mounts if m["Type"] == "bind"]  # nor its bind mount
    assert httpx.get(f"http://127.0.0.1:{s.env['WEB_PORT']}/", timeout=10).json()["version"] == "production"


def test_a_stack_of_pulled_images_deploys_and_rolls_back(project):
    image = build_shared_app()
    s = project("pulled", APP_IMAGE=image)
    seen = through_the_lifecycle(s, "db")
    assert seen["after"] == seen["before"]
    listed = result(s.run("--env", "staging", "releases", "--json"))
    assert [r["status"] for r in listed["releases"]] == ["deployed", "deployed"]
    back = s.run("--env", "staging", "rollback", timeout=600)
    assert back.returncode == 0, back.stderr
    assert "verified: api" in back.stdout


def test_redis_password_in_the_environment_of_a_server_without_one(project):
    s = project("redis-env")
    seen = through_the_lifecycle(s, "db")
    redis = next(x for x in seen["up"]["services"] if x["name"] == "redis")
    assert redis["outcome"] == "ready" and redis["evidence"] == "ping" and redis["seconds"] < 30
    pong = s.run("redis-cli", "PING")
    assert pong.returncode == 0 and "PONG" in pong.stdout and "AUTH" not in pong.stdout + pong.stderr
    assert seen["after"] == seen["before"]


def test_secrets_through_env_file_are_checked_in_production(project):
    s = project("env-file")
    (s.project_dir / "app.staging.env").write_text(f"DB_NAME=app\nDB_USER=app\nDB_PASSWORD={STRONG}\n"
                                                   f"SECRET_KEY={STRONG}\n")
    (s.project_dir / "db.staging.env").write_text(f"POSTGRES_USER=app\nPOSTGRES_DB=app\nPOSTGRES_PASSWORD={STRONG}\n")
    seen = through_the_lifecycle(s, "db", staging_env={"APP_ENV_FILE": "app.staging.env",
                                                       "DB_ENV_FILE": "db.staging.env"})
    assert seen["after"] == seen["before"]
    (s.project_dir / "app.production.env").write_text(f"DB_NAME=app\nDB_USER=app\nDB_PASSWORD={STRONG}\n"
                                                      "SECRET_KEY=change_me\n")
    (s.project_dir / ".env.production").write_text("APP_ENV_FILE=app.production.env\nDB_ENV_FILE=db.staging.env\n")
    check = s.run("--env", "production", "check")
    assert check.returncode == 2
    assert re.search(r"SECRET_KEY \(of api\) is a placeholder", check.stdout + check.stderr), check.stdout
    config = s.run("config")
    assert "dev-only-secret-key" not in config.stdout and "SECRET_KEY: '****'" in config.stdout


def test_an_entrypoint_that_empties_a_table_as_it_starts_is_named_after_a_restore(project):
    s = project("seeding")
    s.run("init", "--yes")
    assert s.run("up", timeout=600).returncode == 0
    post_items(f"http://127.0.0.1:{s.env['WEB_PORT']}")
    psql(s, "db", "app", "INSERT INTO sessions (token) VALUES ('alice'), ('bob')")
    made = result(s.run("backup", "--json"))
    before = fingerprint(s, "db")["app"]
    damage(s, "db")
    restored = s.run("restore", made["id"], "--yes", "--restart")  # started again: its entrypoint runs
    assert restored.returncode == 3, restored.stderr
    assert "the services' start changed them: app.public.sessions: 2 -> 0" in restored.stderr
    now = fingerprint(s, "db")["app"]
    assert now["public.items"] == before["public.items"] and now["public.sessions"][0] == "0"
    assert "app" in databases(s, "db")


def test_a_compose_that_reports_v5_passes_check(project, tmp_path):
    """A fake `docker compose` plugin that answers version v5.0.1 and hands everything else to the real one."""
    s = project("pulled")
    real = subprocess.run(["docker", "info", "--format", "{{json .ClientInfo.Plugins}}"], capture_output=True,
                          text=True).stdout
    path = next(p["Path"] for p in json.loads(real) if p["Name"] == "compose")
    plugins = tmp_path / "docker-config" / "cli-plugins"
    plugins.mkdir(parents=True)
    fake = plugins / "docker-compose"
    fake.write_text(f"""#!/bin/sh
if [ "$1" = docker-cli-plugin-metadata ]; then exec {path} "$@"; fi
case " $* " in *" version "*) case " $* " in *--short*) echo 5.0.1 ;; *) echo "Docker Compose version v5.0.1" ;; esac
  exit 0 ;; esac
exec {path} "$@"
""")
    fake.chmod(0o755)
    out = s.run("check", "--json", extra_env={"DOCKER_CONFIG": str(tmp_path / "docker-config")})
    checks = {c["name"]: c for c in result(out)["checks"]}
    assert checks["compose"]["ok"] is True and checks["compose"]["detail"] == "compose v5.0.1"


def maria(runner, sql: str) -> list[list[str]]:
    cid = container(runner, "db")
    out = subprocess.run(["docker", "exec", "-e", "MYSQL_PWD=dev-root-password", cid, "mariadb", "-uroot", "-N", "-B",
                          "-e", sql], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def maria_fingerprint(runner) -> dict:
    """database.table -> (rows, CHECKSUM TABLE): every table of every database but the server's own."""
    tables = maria(runner, "SELECT CONCAT(TABLE_SCHEMA, '.', TABLE_NAME) FROM information_schema.TABLES WHERE "
                           "TABLE_SCHEMA NOT IN ('information_schema', 'mysql', 'performance_schema', 'sys') "
                           "AND TABLE_SCHEMA NOT LIKE '%\\_before\\_%' ORDER BY 1")
    names = [name for (name,) in tables]
    quoted = ["`" + "`.`".join(name.split(".", 1)) + "`" for name in names]
    lines = iter(maria(runner, "".join(f"SELECT COUNT(*) FROM {q}; CHECKSUM TABLE {q}; " for q in quoted)))
    return {name: (next(lines)[0], next(lines)[1]) for name in names}  # one exec: a count, then a checksum


def test_a_mariadb_stack_goes_through_the_lifecycle_with_exact_rows(project):
    """The database kind seam: MariaDB through init, up, status, backup, restore (every database
    and the users), read back in full, rows exact, the data it replaced kept."""
    s = project("mariadb")
    init = s.run("init", "--yes")
    assert init.returncode == 0 and "database: {service: db, kind: mariadb}" in init.stdout, init.stdout
    up = result(s.run("up", "--json", timeout=600))
    assert {x["name"]: x["evidence"] for x in up["services"]} == {"db": "sql", "cache": "ping"}
    maria(s, "CREATE TABLE shop.items (id int PRIMARY KEY AUTO_INCREMENT, name text); "
             "INSERT INTO shop.items (name) VALUES ('a'), ('b'), ('c\\nwith a newline'); CREATE DATABASE audit; "
             "CREATE TABLE audit.log (at int); INSERT INTO audit.log VALUES (1), (2); "
             "CREATE USER 'reporter'@'%' IDENTIFIED BY 'reporter-pass'; GRANT SELECT ON audit.* TO 'reporter'@'%'")
    status = result(s.run("status", "--json", "--no-stats"))
    assert status["healthy"] is True and status["without_evidence"] == []
    before = maria_fingerprint(s)
    made = result(s.run("backup", "--json"))
    assert set(made["database"]["databases"]) == {"shop", "audit"} and made["rows"] == 5
    verify = s.run("backups", "verify", made["id"])
    assert verify.returncode == 0 and "counts match" in verify.stdout, verify.stderr
    maria(s, "DELETE FROM shop.items; DROP DATABASE audit; DROP USER 'reporter'@'%'")
    restored = s.run("restore", made["id"], "--yes", "--json")
    assert restored.returncode == 0, restored.stderr
    assert maria_fingerprint(s) == before
    assert result(restored)["roles_created"] == ["`reporter`@`%`"]
    assert maria(s, "SELECT COUNT(*) FROM shop_before_" + result(restored)["kept"]["shop"].split("_before_")[1]
                 + ".items")[0][0] == "0"  # the data it replaced: kept, not dropped
