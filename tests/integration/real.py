"""The test projects of tests/projects, run as their users would: copied into a scratch folder
beside the shared app, under a compose project name, ports and image names of their own, and
looked at from outside (docker exec psql, HTTP) rather than through stackctl."""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from pathlib import Path

import httpx

from conftest import ROOT, StackRunner, free_ports, remove_everything

PROJECTS = ROOT / "tests" / "projects"
APP_IMAGE = "stackctl-it/testapp:1"  # the shared app, built once per run (tests that need it pulled)
STRONG = "Zq8r3TnW9pLk2VxYc4Hs"  # a secret that passes the checked and production rules


def copy_project(tmp_path: Path, name: str, **env: str) -> StackRunner:
    base = tmp_path / name
    shutil.copytree(PROJECTS / "app", tmp_path / "app", dirs_exist_ok=True)
    shutil.copytree(PROJECTS / name, base)
    if (ROOT / ".stackctl" / "images.env").is_file():
        (base / ".stackctl").mkdir(exist_ok=True)
        shutil.copy(ROOT / ".stackctl" / "images.env", base / ".stackctl" / "images.env")
    project = f"rp{uuid.uuid4().hex[:8]}"
    web, http, edge, db = free_ports(4)
    values = {"COMPOSE_PROJECT_NAME": project, "WEB_PORT": str(web), "HTTP_PORT": str(http), "EDGE_PORT": str(edge),
              "DB_PORT": str(db), "APP_IMAGE": f"stackctl-it/{project}-app:dev", "STACKCTL_PROJECT_DIR": str(base),
              "STACKCTL_BACKUP_DIR": str(tmp_path / "backups"), "STACKCTL_HEALTH_TIMEOUT": "120", "NO_COLOR": "1",
              "COLUMNS": "200", **env}
    return StackRunner(project, values, base)


def remove(runner: StackRunner) -> None:
    remove_everything(runner)


def container(runner: StackRunner, service: str) -> str:
    out = subprocess.run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={runner.name}",
                          "--filter", f"label=com.docker.compose.service={service}"], capture_output=True, text=True)
    ids = out.stdout.split()
    assert ids, f"{service} of {runner.name} is not running"
    return ids[0]


def _in_db_container(runner: StackRunner, db_service: str, script: str, *args: str, stdin: str = "") -> str:
    """A shell script in the database container, as its own POSTGRES_USER (as the image trusts it
    over the socket): one exec however many databases and tables it looks at."""
    out = subprocess.run(["docker", "exec", "-i", container(runner, db_service), "sh", "-c",
                          'set -e; user="${POSTGRES_USER:-postgres}"; ' + script, "sh", *args],
                         input=stdin, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


_PSQL = 'psql -X -At -F "|" -v ON_ERROR_STOP=1 -U "$user"'
# every user table of a database, as a quoted name (t), in one order
_TABLES = ("(SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) AS t FROM pg_tables "
           "WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'tiger', 'topology') "
           "AND tablename <> 'spatial_ref_sys') tables")
# the databases: no template, none kept aside by a restore
_DATABASES = ("SELECT datname FROM pg_database WHERE NOT datistemplate AND datname !~ '_(before|restore)_' "
              "ORDER BY 1")
# each database as a line "=name", then what `$1` prints in it
_EACH_DATABASE = (f'dbs=$({_PSQL} -d postgres -c "{_DATABASES}"); '
                  'printf "%s\\n" "$dbs" | while IFS= read -r db; do [ -n "$db" ] || continue; '
                  f'printf "=%s\\n" "$db"; printf "%s\\n" "$1" | {_PSQL} -d "$db"; done')


def psql(runner: StackRunner, db_service: str, database: str, sql: str) -> list[list[str]]:
    """SQL in one database of the database container."""
    out = _in_db_container(runner, db_service, f'{_PSQL} -d "$1" -c "$2"', database, sql)
    return [line.split("|") for line in out.splitlines() if line]


def _each_database(runner: StackRunner, db_service: str, sql: str) -> dict[str, list[list[str]]]:
    """database -> the rows `sql` printed in it, for every database, in one exec."""
    found: dict[str, list[list[str]]] = {}
    for line in _in_db_container(runner, db_service, _EACH_DATABASE, sql).splitlines():
        if line.startswith("="):
            found[line[1:]] = []
        elif line:
            found[list(found)[-1]].append(line.split("|"))
    return found


def databases(runner: StackRunner, db_service: str) -> list[str]:
    return [row[0] for row in psql(runner, db_service, "postgres", _DATABASES)]


def fingerprint(runner: StackRunner, db_service: str) -> dict:
    """database -> table -> (rows, md5 over the rows): every user table of every database."""
    sql = (f"SELECT format('SELECT %L, count(*), coalesce(md5(string_agg(x::text, %L ORDER BY x::text)), %L) "
           f"FROM %s x', t, ',', '', t) FROM {_TABLES} ORDER BY t \\gexec")
    return {database: {table: (rows, digest) for table, rows, digest in lines}
            for database, lines in _each_database(runner, db_service, sql).items()}


def damage(runner: StackRunner, db_service: str) -> None:
    """Every row of every user table of every database deleted, and one stranger row in each table that takes one."""
    _each_database(runner, db_service,
                   f"SELECT format('DELETE FROM %s', t) FROM {_TABLES} ORDER BY t \\gexec\n"
                   "SELECT 'INSERT INTO public.items (name) VALUES (''intruder'')' "
                   "WHERE to_regclass('public.items') IS NOT NULL \\gexec")


def post_items(url: str, n: int = 3) -> list[int]:
    ids = []
    for i in range(n):
        response = httpx.post(f"{url}/items", json={"name": f"kept-{i}"}, timeout=10)
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def build_shared_app() -> str:
    """The app image as if pulled from a registry (built here once: there is none)."""
    images = (ROOT / ".stackctl" / "images.env").read_text() if (ROOT / ".stackctl" / "images.env").is_file() else ""
    python = next((line.split("=", 1)[1] for line in images.splitlines() if line.startswith("PYTHON_IMAGE=")),
                  "python:3.11-slim-bookworm")
    out = subprocess.run(["docker", "build", "-q", "--build-arg", f"PYTHON_IMAGE={python}", "-t", APP_IMAGE,
                          str(PROJECTS / "app")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return APP_IMAGE


def result(out) -> dict:
    return json.loads(out.stdout)["result"]
