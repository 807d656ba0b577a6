"""The hostile matrix: input nobody should trust (stackctl.yaml, settings, the environment, backup
sets read back from disk, arguments) given to a running stack. Each case must end in one line
on stderr (after the notes of any step it took) with the right exit code, and change nothing: the project's files (and a victim file
outside it), the containers (ids, states, start times), the volumes, every database of the
server with its roles (pg_dumpall's digest) and the cache's keys."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

from tests.integration.conftest import ROOT, make_runner, teardown
from tests.integration.projects import reference_roles

pytestmark = pytest.mark.xdist_group("hostile")

# What a refused command may still write: its line in the audit log, and caches of what the
# engine and compose said (none of them the user's data or configuration).
WRITTEN_BY_ANY_COMMAND = ("audit.log", "model-cache.json", "compose-version.json", "roles-outline.json")


@dataclass
class Hostile:
    """The running stack the cases are tried on, and a good backup set to forge others from."""

    runner: object
    good_set: Path
    victim: Path

    @property
    def project(self) -> Path:
        return self.runner.project_dir

    def forge(self, name: str, change: Callable[[dict], None] | None = None, *, seal: bool = True,
              files: Callable[[Path], None] | None = None) -> Path:
        """A copy of the good set under another folder name, its manifest changed (and sealed again
        with this host's key unless seal is False: the validation must hold with a valid MAC)."""
        from stackctl.backup import seal as sealing

        folder = self.good_set.parent / name
        shutil.copytree(self.good_set, folder)
        manifest = json.loads((folder / "manifest.json").read_text())
        manifest.pop("mac", None)
        manifest["id"] = name
        if change:
            change(manifest)
        if seal:
            key = bytes.fromhex((self.project / ".stackctl" / "backup.key").read_text().strip())
            manifest = sealing.signed(manifest, key)
        (folder / "manifest.json").write_text(json.dumps(manifest))
        if files:
            files(folder)
        return folder


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    project = tmp_path_factory.mktemp("hostile")
    (project / "compose").symlink_to(ROOT / "compose")
    (project / "images").symlink_to(ROOT / "images")
    (project / "stackctl.yaml").write_text(reference_roles())
    (project / ".stackctl").mkdir()
    if (ROOT / ".stackctl" / "images.env").is_file():
        shutil.copy(ROOT / ".stackctl" / "images.env", project / ".stackctl" / "images.env")
    runner = make_runner(project)
    try:
        up = runner.run("up", timeout=900)
        assert up.returncode == 0, up.stderr
        import httpx

        for i in range(3):  # rows to lose
            assert httpx.post(runner.url("/api/stops"), json={"name": f"stop {i}", "lat": 1.0 + i, "lon": 2.0},
                              timeout=10).status_code == 201
        made = runner.run("backup", "--json")
        assert made.returncode == 0, made.stderr
        backup_id = json.loads(made.stdout)["result"]["id"]
        good = next(project.glob(f"backups/**/{backup_id}"))
        victim = tmp_path_factory.mktemp("victim") / "precious"
        victim.write_text("precious\n")
        yield Hostile(runner, good, victim)
    finally:
        teardown(runner)


def state(h: Hostile) -> dict:
    """Everything a refused command must leave as it was."""
    files = {}
    for folder, dirs, names in os.walk(h.project):
        for name in names:
            path = Path(folder) / name
            if name in WRITTEN_BY_ANY_COMMAND or path.is_symlink():
                continue
            files[str(path.relative_to(h.project))] = (hashlib.sha256(path.read_bytes()).hexdigest(),
                                                       oct(path.stat().st_mode))
    name = h.runner.name
    containers = subprocess.run(["docker", "ps", "-aq", "--no-trunc", "--filter", f"label=com.docker.compose.project={name}"],
                                capture_output=True, text=True, check=True).stdout.split()
    inspected = subprocess.run(["docker", "inspect", "-f", "{{.Id}} {{.State.Status}} {{.State.StartedAt}}",
                                *containers], capture_output=True, text=True, check=True).stdout.split("\n")
    server = subprocess.run(["docker", "exec", f"{name}-db-1", "sh", "-c",
                             'pg_dumpall -U "$POSTGRES_USER" -d "$POSTGRES_DB" | sha256sum; psql -At -U "$POSTGRES_USER" '
                             '-d "$POSTGRES_DB" -c "SELECT count(*) FROM pg_database"'],
                            capture_output=True, text=True)
    cache = subprocess.run(["docker", "exec", f"{name}-redis-1", "sh", "-c",
                            'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --scan | sort | sha256sum'],
                           capture_output=True, text=True)
    assert server.returncode == 0 and cache.returncode == 0, server.stderr + cache.stderr
    return {"files": files, "victim": h.victim.read_text(), "containers": sorted(inspected),
            "volumes": h.runner.volumes(), "server": server.stdout, "cache": cache.stdout}


@dataclass(frozen=True)
class Case:
    id: str
    argv: tuple[str, ...]
    says: str  # in the one line on stderr
    exit: int = 2
    setup: Callable[[Hostile], None] | None = None  # files it writes are put back after the case
    env: dict = field(default_factory=dict)
    hidden: str = ""  # a secret of the case's input: never in the output
    on_stdout: bool = False  # check's report: the problem is one line of it (stdout), among the others


def roles(text: str) -> Callable[[Hostile], None]:
    return lambda h: (h.project / "stackctl.yaml").write_text(text)


def roles_bytes(data: bytes) -> Callable[[Hostile], None]:
    return lambda h: (h.project / "stackctl.yaml").write_bytes(data)


def dotenv(text: str) -> Callable[[Hostile], None]:
    return lambda h: (h.project / ".env").write_text(text)


GOOD_ROLES = reference_roles()
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
FORGED = "20200101T000000Z"


def forged(change=None, seal=True, files=None) -> Callable[[Hostile], None]:
    return lambda h: h.forge(FORGED, change, seal=seal, files=files)


def tables(manifest: dict) -> dict:
    return manifest["database"]["databases"][0]


def database_entry(manifest: dict, **changes) -> None:
    manifest["database"]["databases"][0].update(changes)


def first_file(manifest: dict) -> str:
    return manifest["database"]["databases"][0]["file"]


def corrupt_dump(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    path = folder / first_file(manifest)
    path.write_bytes(path.read_bytes()[:-40] + b"\0" * 40)


def garbage_dump_resealed(h: Hostile) -> None:
    """A dump that is not one, its checksum and size written into a manifest sealed with the key."""
    def change(manifest):
        data = b"PGDMP" + os.urandom(4000)
        manifest["_garbage"] = data.hex()
        database_entry(manifest, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())

    folder = h.forge(FORGED, change)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / first_file(manifest)).write_bytes(bytes.fromhex(manifest["_garbage"]))


def linked_dump(h: Hostile) -> None:
    folder = h.forge(FORGED)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / first_file(manifest)).unlink()
    (folder / first_file(manifest)).symlink_to(h.victim)


def other_key(h: Hostile) -> None:
    from stackctl.backup import seal as sealing

    folder = h.forge(FORGED, seal=False)
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps(sealing.signed(manifest, os.urandom(32))))


def tampered(h: Hostile) -> None:
    folder = h.forge(FORGED)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["created_at"] = "2020-01-01T00:00:01+00:00"  # after sealing
    (folder / "manifest.json").write_text(json.dumps(manifest))


def not_json(h: Hostile) -> None:
    folder = h.forge(FORGED)
    (folder / "manifest.json").write_text('{"id": "20200101T000000Z", ')


def tls_key_is_the_victim(h: Hostile) -> None:
    (h.project / "certs").mkdir(exist_ok=True)


def link_to_victim(h: Hostile) -> None:
    (h.project / "certs").mkdir(exist_ok=True)
    (h.project / "certs" / "linked.key").symlink_to(h.victim)


RESTORE = ("restore", FORGED, "--yes")
CASES = [
    # stackctl.yaml
    Case("apps-number", ("up",), "apps must be a list of services", setup=roles(GOOD_ROLES + "\napps: 5\n")),
    Case("apps-string", ("up",), "apps must be a list of services ([api])", setup=roles("apps: api\n")),
    Case("roles-not-utf8", ("up",), "stackctl.yaml is not UTF-8 text", setup=roles_bytes(b"apps:\n  api: {}\n# \xff\xfe\n")),
    Case("check-path-without-slash", ("up",), "proxy.checks.0 must be a URL path",
         setup=roles("proxy: {service: web, checks: [api/health]}\n")),
    Case("health-path-crlf", ("up",), "apps.api.health must be a URL path",
         setup=roles('apps:\n  api: {health: "/health\\r\\nX-Injected: 1"}\n')),
    Case("health-path-space", ("up",), "apps.api.health must be a URL path",
         setup=roles('apps:\n  api: {health: "/health now"}\n')),
    Case("port-too-large", ("up",), "apps.api.port Input should be less than or equal to 65535",
         setup=roles("apps:\n  api: {port: 99999}\n")),
    Case("port-boolean", ("up",), "apps.api.port Input should be a valid integer",
         setup=roles("apps:\n  api: {port: true}\n")),
    Case("app-name-path", ("up",), "apps.../x.[key] String should match pattern",
         setup=roles("apps:\n  ../x: {}\n")),
    Case("unknown-kind", ("up",), "database.kind is not a kind stackctl knows",
         setup=roles("database: {service: db, kind: oracle}\n")),
    Case("unknown-key", ("up",), "databse is not a known key", setup=roles("databse: db\n")),
    Case("roles-a-list", ("up",), "stackctl.yaml is not a mapping of roles", setup=roles("- db\n- api\n")),
    Case("roles-bad-yaml", ("up",), "stackctl.yaml is not valid YAML (line 3)", setup=roles("apps:\n  api: {port: [\n")),
    Case("roles-alias-bomb", ("up",), "apps must list service names", setup=roles(BOMB + "apps: *i\n")),
    Case("service-name-space", ("up",), "database.service String should match pattern", setup=roles("database: my db\n")),
    Case("environment-name", ("up",), "environments.Prod!.[key] String should match pattern",
         setup=roles("environments: {Prod!: production}\n")),
    Case("role-twice", ("up",), "'db' is both database and apps", setup=roles("database: db\napps: [db]\n")),
    Case("role-names-nothing", ("up",), "database names 'nodb', which is not a service",
         setup=roles("database: nodb\n")),
    # settings and the environment
    Case("health-timeout-word", ("up",), "STACKCTL_HEALTH_TIMEOUT", env={"STACKCTL_HEALTH_TIMEOUT": "soon"}),
    Case("lock-wait-negative", ("up",), "STACKCTL_LOCK_WAIT", env={"STACKCTL_LOCK_WAIT": "-5"}),
    Case("smtp-password-in-url", ("check",), "STACKCTL_ALERT_SMTP in the environment: use smtps://",
         env={"STACKCTL_ALERT_SMTP": "smtp://ops:Hunter2Secret@mail.example.invalid:25/?to=ops@example.invalid"},
         hidden="Hunter2Secret"),
    Case("smtp-password-plaintext", ("check",), "STACKCTL_ALERT_SMTP is smtp:// (plaintext) and a password is set",
         on_stdout=True,
         env={"STACKCTL_ALERT_SMTP": "smtp://ops@mail.example.invalid:25", "STACKCTL_ALERT_EMAIL_TO": "o@example.invalid",
              "STACKCTL_ALERT_SMTP_PASSWORD": "Hunter2Secret"}, hidden="Hunter2Secret"),
    Case("webhook-not-a-url", ("check",), "STACKCTL_ALERT_WEBHOOK in the environment: use an http(s):// URL",
         env={"STACKCTL_ALERT_WEBHOOK": "file:///etc/passwd"}),
    Case("tls-key-is-another-file", ("certs", "self-signed", "--force"), "is not a PEM private key",
         setup=tls_key_is_the_victim, env={"STACKCTL_TLS_KEY_FILE": "{victim}"}),
    Case("tls-key-is-a-link", ("certs", "self-signed", "--force"), "is a link: stackctl does not write through it",
         setup=link_to_victim, env={"STACKCTL_TLS_KEY_FILE": "certs/linked.key"}),
    Case("env-line-unparsable", ("up",), "line 2: key cannot contain a space", setup=dotenv("A=1\nthis is not\n")),
    Case("env-port-out-of-range", ("up",), "invalid hostPort: 99999", env={"HTTP_PORT": "99999"}),
    Case("project-directory-missing", ("--project-directory", "/nonexistent/project", "up"), "/nonexistent/project"),
    Case("engine-address-bogus", ("-H", "tcp://", "status"), "'tcp://' is not a Docker engine address"),
    Case("engine-address-port", ("-H", "tcp://127.0.0.1:99999", "status"), "is not a Docker engine address"),
    Case("backup-key-readable", ("backup",), "is readable by others", env={"STACKCTL_BACKUP_KEY_FILE": "{victim}"}),
    Case("backup-key-not-a-key", ("backup",), "is not 32 bytes of hex", setup=lambda h: h.victim.chmod(0o600),
         env={"STACKCTL_BACKUP_KEY_FILE": "{victim}"}),
    # backup sets read back from disk (each sealed again with this host's key unless said)
    Case("set-id-sql", ("restore", "x'); DROP TABLE stops; --", "--yes"), "is not a UTC time as stackctl writes it",
         setup=lambda h: h.forge("x'); DROP TABLE stops; --", lambda m: m.update(id="x'); DROP TABLE stops; --"))),
    Case("set-id-not-its-folder", RESTORE, "is not the name of its folder",
         setup=forged(lambda m: m.update(id="20200101T000001Z"))),
    Case("set-file-parent", RESTORE, "not a file inside the set",
         setup=forged(lambda m: database_entry(m, file="../../../../precious"))),
    Case("set-file-absolute", RESTORE, "not a file inside the set",
         setup=forged(lambda m: database_entry(m, file="/etc/passwd"))),
    Case("set-file-manifest", RESTORE, "not a file inside the set",
         setup=forged(lambda m: database_entry(m, file="manifest.json"))),
    Case("set-size-negative", RESTORE, "is not a number of bytes", setup=forged(lambda m: database_entry(m, bytes=-1))),
    Case("set-checksum-short", RESTORE, "is not a sha256", setup=forged(lambda m: database_entry(m, sha256="abc"))),
    Case("set-unsealed", RESTORE, "it carries no MAC", setup=forged(seal=False)),
    Case("set-other-key", RESTORE, "it was made with another backup key", setup=other_key),
    Case("set-changed-after-sealing", RESTORE, "the MAC does not match", setup=tampered),
    Case("set-other-stack", RESTORE, "was made for stack somebody-else", setup=forged(lambda m: m.update(stack="somebody-else"))),
    Case("set-other-environment", RESTORE, "(production), this is stack",
         setup=forged(lambda m: m.update(env="production"))),
    Case("set-other-kind", RESTORE, "holds mariadb databases", setup=forged(lambda m: m["database"].update(kind="mariadb"))),
    Case("set-newer-major", RESTORE, "a dump does not restore into an older major version",
         setup=forged(lambda m: m["database"].update(server_version_num=990000, server_version="99.0"))),
    Case("set-damaged-file", RESTORE, "is damaged, nothing was touched", setup=forged(files=corrupt_dump)),
    Case("set-file-a-link", RESTORE, "nothing was touched", setup=linked_dump),
    Case("set-not-a-dump", RESTORE, "does not read in full into a new database, nothing was touched",
         setup=garbage_dump_resealed),
    Case("set-manifest-not-json", RESTORE, "its manifest is not JSON", setup=not_json),
    Case("set-missing", ("restore", "20990101T000000Z", "--yes"), "no backup"),
    Case("set-database-missing", ("restore", "{good}", "--database", "nosuch", "--yes"), "holds no database 'nosuch'"),
    # arguments
    Case("exec-unknown-service", ("exec", "nosuch", "true"), "nosuch"),
    Case("logs-unknown-service", ("logs", "nosuch"), "nosuch"),
]


def put_back(h: Hostile, roles_text: bytes, env_text: bytes | None) -> None:
    (h.project / "stackctl.yaml").write_bytes(roles_text)
    env = h.project / ".env"
    env.unlink(missing_ok=True)
    if env_text is not None:
        env.write_bytes(env_text)
    for folder in h.good_set.parent.iterdir():
        if folder != h.good_set:
            shutil.rmtree(folder) if folder.is_dir() and not folder.is_symlink() else folder.unlink()
    shutil.rmtree(h.project / "certs", ignore_errors=True)
    h.victim.chmod(0o644)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_hostile_input_is_one_line_and_changes_nothing(hostile, case):
    h = hostile
    roles_text = (h.project / "stackctl.yaml").read_bytes()
    env_path = h.project / ".env"
    env_text = env_path.read_bytes() if env_path.exists() else None
    try:
        if case.setup:
            case.setup(h)
        before = state(h)
        env = {k: v.replace("{victim}", str(h.victim)) for k, v in case.env.items()}
        argv = [a.replace("{good}", h.good_set.name) for a in case.argv]
        out = h.runner.run(*argv, extra_env=env, timeout=300)
        # The error is one line, the last; the progress notes of the steps taken before it ("· ...") may precede it.
        lines = [line for line in out.stderr.strip().splitlines() if not line.startswith("· ")]
        assert out.returncode == case.exit, (out.returncode, out.stderr, out.stdout[-2000:])
        if case.on_stdout:
            assert len([line for line in out.stdout.splitlines() if case.says in line]) == 1, out.stdout
        else:
            assert len(lines) == 1, out.stderr
            assert case.says in lines[0], out.stderr
        assert "unexpected" not in out.stderr.lower() and "Traceback" not in out.stderr
        if case.hidden:
            assert case.hidden not in out.stdout + out.stderr
        assert state(h) == before
    finally:
        put_back(h, roles_text, env_text)
