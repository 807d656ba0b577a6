"""The bad-input matrix: each case on the real engine gets one line on stderr, exit 2 (bad input:
nothing started or changed) or 1 (an operation that ran and failed), and leaves the project's
files and the engine's containers as they were. `CASES` is the table the README's exit codes
describe."""

import os
import socket
import subprocess
import sys

import pytest

from tests.integration.conftest import ROOT, make_runner, teardown

COMPOSE = """name: ${STACK_NAME:-badinput}
services:
  db:
    image: ${DB_IMAGE:-postgres:16}
    environment: {POSTGRES_PASSWORD: "${POSTGRES_PASSWORD:-dev}"}
    ports: ["127.0.0.1:${POSTGRES_PORT:-5432}:5432"]
  api:
    image: ${API_IMAGE:-python:3.12-slim}
    command: ["python", "-m", "http.server", "8000"]
    environment: {REDIS_PASSWORD: "${REDIS_PASSWORD:-}"}
    ports: ["127.0.0.1:${API_PORT:-8000}:8000"]
    depends_on: [db]
"""
ROLES = "database: db\napps:\n  api: {port: 8000}\n"
STRONG = "POSTGRES_PASSWORD=Zq8xV3mK9pL2wR7tY5nB\nREDIS_PASSWORD=Hj4kL8mN2pQ6rS9tV3wX\n"

# (case, files to write {name: text}, stackctl arguments, exit code, text the one line holds)
CASES = [
    ("no compose file", {"compose.yaml": None}, ["up"], 2, "no compose file"),
    ("a compose file that is not YAML", {"compose.yaml": "services: [\n"}, ["up"], 2,
     "docker compose config failed"),
    ("a service depending on an unknown one", {"compose.yaml": COMPOSE.replace("depends_on: [db]",
                                                                                "depends_on: [dbx]")},
     ["up"], 2, "depends on undefined service"),
    ("-f naming a missing file", {}, ["-f", "nope.yaml", "up"], 2, "compose file nope.yaml"),
    ("an unusable --env name", {}, ["--env", "Prod!", "up"], 2, "environment name 'Prod!' is not usable"),
    ("an unparsable .env line", {".env": "GOOD=1\nthis line has spaces\n"}, ["up"], 2,
     "line 2: key cannot contain a space"),
    ("a STACKCTL_ setting of the wrong type", {".env": "STACKCTL_HEALTH_TIMEOUT=soon\n"}, ["up"], 2,
     "STACKCTL_HEALTH_TIMEOUT='soon' in .env"),
    ("a misspelt variable", {".env": "REDIS_PASWORD=x\n"}, ["up"], 2, "REDIS_PASWORD in .env is used by no compose file"),
    ("stackctl.yaml with an unknown key", {"stackctl.yaml": ROLES + "cach: redis\n"}, ["up"], 2, "stackctl.yaml"),
    ("stackctl.yaml naming a missing service", {"stackctl.yaml": "database: postgres\n"}, ["up"], 2,
     "stackctl.yaml"),
    ("up of an unknown service", {}, ["up", "nginx"], 2, "unknown service 'nginx'"),
    ("logs of an unknown service", {}, ["logs", "nginx"], 2, "unknown service 'nginx'"),
    ("logs --tail -1", {}, ["logs", "--tail", "-1"], 2, "--tail must be 0 or more"),
    ("logs --json --follow", {}, ["logs", "--json", "--follow"], 2, "--json gives one result and --follow never ends"),
    ("down --volumes without --yes", {}, ["down", "--volumes"], 2, "--volumes deletes the stack's data"),
    ("restore without --yes", {}, ["restore", "20260101T000000Z"], 2, "needs confirmation"),
    ("backup schedule at 25:00", {}, ["backup", "schedule", "--at", "25:00"], 2, "is not a time of day"),
    ("deploy --host without a scheme", {".env.production": STRONG}, ["deploy", "--host", "app1:2375"], 2,
     "engine address 'app1:2375' is not usable"),
    ("rollback with nothing deployed", {".env.production": STRONG}, ["rollback"], 2,
     "nothing has been deployed from this project"),
    ("a weak production secret", {".env.production": "POSTGRES_PASSWORD=aaaaaaaaaaaaaaaa\n"},
     ["--env", "production", "up"], 2, "preflight failed"),
    ("an unknown option", {}, ["up", "--bogus"], 2, "No such option '--bogus'"),
    ("a published port already taken", {}, ["up"], 2, "taken by"),
    ("an engine that does not answer", {}, ["status"], 4, "no Docker engine answers at tcp://127.0.0.1:9: connection refused"),
]


@pytest.fixture
def project(tmp_path):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    (tmp_path / "stackctl.yaml").write_text(ROLES)
    runner = make_runner(tmp_path)
    runner.env.pop("STACKCTL_PROJECT_DIR")  # found from the current folder, as a user runs it
    yield runner
    runner.env["STACKCTL_PROJECT_DIR"] = str(tmp_path)
    teardown(runner)


def snapshot(path):
    return sorted((str(p.relative_to(path)), p.stat().st_size) for p in path.rglob("*")
                  if ".stackctl" not in p.parts)


@pytest.mark.parametrize("case,files,args,code,line", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_an_exit_code_and_nothing_changed(project, case, files, args, code, line):
    for name, text in files.items():
        if text is None:
            (project.project_dir / name).unlink()
        else:
            (project.project_dir / name).write_text(text)
    extra, held = {}, None
    if case == "an engine that does not answer":
        extra["DOCKER_HOST"] = "tcp://127.0.0.1:9"  # the discard port: nothing speaks Docker there
    if case == "a published port already taken":
        held = socket.socket()
        held.bind(("127.0.0.1", int(project.env["API_PORT"])))
        held.listen()
    before = snapshot(project.project_dir)
    try:
        env = {**os.environ, **project.env, **extra, "PYTHONPATH": str(ROOT)}
        for name in ("STACKCTL_PROJECT_DIR", "STACKCTL_HEALTH_TIMEOUT"):  # the project's own files decide
            env.pop(name, None)
        out = subprocess.run([sys.executable, "-m", "stackctl", *args], cwd=project.project_dir, env=env,
                             capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    finally:
        if held is not None:
            held.close()
    errors = [l for l in out.stderr.splitlines() if l.startswith(("error:", "Error:"))]
    assert out.returncode == code, out.stderr
    assert len(errors) == 1 and line in errors[0], out.stderr  # (progress lines before it are not errors)
    assert out.stdout == "" or "--json" in args  # with --json the error is also the envelope on stdout
    assert snapshot(project.project_dir) == before
    assert project.containers() == []
