"""MariaDB (and MySQL): the only module that names their tools (mariadb, mariadb-dump,
mariadb-admin).

Credentials are the official image's contract: MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD, or
their _FILE), and the app's MARIADB_USER / MARIADB_PASSWORD / MARIADB_DATABASE. A password reaches
the client in its environment (MYSQL_PWD), never argv. A backup holds every database but the
server's own (information_schema, mysql, performance_schema, sys), each dumped with one INSERT a
row (so its rows are counted as it is read back) and gzipped, and the users and their grants
(mariadb-dump --system=users). MariaDB has no RENAME DATABASE: a database is "renamed" by moving
each of its tables into a new one in one RENAME TABLE statement, so a database whose views,
routines, triggers or events would not move is refused before anything is touched.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from stackctl.containers import ContainerInfo, ExecResult
from stackctl.engine import Engine
from stackctl.errors import EXIT_USAGE, StackError
from stackctl.health.gate import Observation
from stackctl.kinds.base import env_or_file, reads

PORT = 3306
SYSTEM = ("information_schema", "mysql", "performance_schema", "sys")
RESTORING = re.compile(r"^stackctl_restore_\d{8}t\d{6}z_\d+$")
KEPT = re.compile(r"_before_\d{14}$")
NAME_BYTES = 64
USER_STATEMENT = re.compile(r"^(?:CREATE USER|GRANT .* TO) (`(?:[^`]|``)*`@`(?:[^`]|``)*`)")


@dataclass(frozen=True)
class Credentials:
    user: str  # root, for what a backup and restore do; the app's user where root's password is unknown
    password: str | None = field(default=None, repr=False)
    database: str = ""


@dataclass(frozen=True)
class Database:
    name: str
    charset: str = "utf8mb4"
    collation: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "charset": self.charset, "collation": self.collation}


def ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _either(engine: Engine, info: ContainerInfo, name: str) -> str | None:
    return env_or_file(engine, info, f"MARIADB_{name}") or env_or_file(engine, info, f"MYSQL_{name}")


class MariaDB:
    name = "mariadb"
    role = "database"
    port = PORT
    evidence = "sql"
    probe_library = "pymysql"  # what its host probe imports (kinds.warm)

    def credentials(self, engine: Engine, info: ContainerInfo) -> Credentials:
        database = _either(engine, info, "DATABASE") or ""
        root = _either(engine, info, "ROOT_PASSWORD")
        if root or _either(engine, info, "ALLOW_EMPTY_ROOT_PASSWORD"):
            return Credentials("root", root or None, database)
        return Credentials(_either(engine, info, "USER") or "root", _either(engine, info, "PASSWORD"), database)

    def url(self, host: str, port: int, creds: Credentials) -> str:
        return f"mysql://{creds.user}@{host}:{port}/{creds.database}"

    def probe_host(self, host: str, port: int, creds: Credentials, timeout: float = 2.0) -> Observation:
        """SQL from the host (PyMySQL), as an app would connect."""
        import pymysql

        try:
            conn = pymysql.connect(host=host, port=port, user=creds.user, password=creds.password or "",
                                   database=creds.database or None, connect_timeout=max(1, int(timeout)))
            try:
                with conn.cursor() as cursor:
                    cursor.execute("SELECT VERSION()")
                    version = cursor.fetchone()[0]
            finally:
                conn.close()
            return Observation.ready(f"accepting queries (server {version.split('-')[0]})", self.evidence)
        except pymysql.err.OperationalError as exc:
            code, text = (exc.args + ("",))[:2]
            if code == 1045:
                return Observation.failed(f"{text}: the data volume may have been initialised with another password")
            return Observation.pending(str(text) or type(exc).__name__)
        except Exception as exc:  # a probe never raises
            return Observation.pending(f"{type(exc).__name__}: {exc}")

    def probe_inside(self, engine: Engine, info: ContainerInfo, within: float = 0.0) -> Observation:
        creds = self.credentials(engine, info)
        try:
            result = engine.exec_until(info.id, _client(creds, ["-h", "127.0.0.1", "-N", "-e", "SELECT 1"]),
                                       env=_pwd(creds), within=within, give_up_on=("Access denied",))
        except Exception as exc:  # the container may be going away
            return Observation.pending(f"{type(exc).__name__}: {exc}")
        output = (result.stdout + result.stderr).strip()
        if result.exit_code == 0 and output.splitlines()[-1:] == ["1"]:
            return Observation.ready("accepting queries", self.evidence)
        if "Access denied" in output:
            return Observation.failed(output.splitlines()[-1])
        return Observation.pending(output.splitlines()[-1] if output else f"exit {result.exit_code}")

    def client(self, creds: Credentials, args: list[str]) -> tuple[list[str], dict[str, str] | None]:
        return _client(creds, [*([creds.database] if creds.database and not args else []), *args]), _pwd(creds)

    def server(self, engine: Engine, info: ContainerInfo) -> Server:
        creds = self.credentials(engine, info)
        if creds.user != "root":
            raise StackError("a MariaDB backup or restore needs the server's root password, which its container "
                             "does not say", "set MARIADB_ROOT_PASSWORD (or MARIADB_ROOT_PASSWORD_FILE) for the "
                             "database service", EXIT_USAGE)
        return Server(engine, info, creds)

    def fresh_name(self, backup_id: str, index: int) -> str:
        return f"stackctl_restore_{backup_id.lower()}_{index}"

    def kept_name(self, database: str, stamp: str, index: int = 0) -> str:
        suffix = f"_before_{stamp}"
        if len((database + suffix).encode()) <= NAME_BYTES:
            return database + suffix
        head = database.encode()[:NAME_BYTES - len(suffix) - 4].decode("utf-8", "ignore")
        return f"{head}_{index:03d}{suffix}"

    def database(self, entry: dict, default_owner: str) -> Database:
        return Database(entry["name"], entry.get("charset") or "utf8mb4", entry.get("collation") or "")

    @staticmethod
    def major(version_num: int) -> int:
        return version_num // 100  # 10.11.18 -> 101118 -> 1011

    @staticmethod
    def restore_error(result: ExecResult) -> str:
        lines = (result.stderr or result.stdout).strip().splitlines()
        return next((line for line in reversed(lines) if "ERROR" in line or "error" in line),
                    lines[-1] if lines else f"exit {result.exit_code}")

    def reader(self, engine: Engine, image: str) -> StreamingReader:
        return StreamingReader(engine, image)

    def full_read(self, engine: Engine, image: str, path: Path) -> tuple[bool, dict[str, int], str]:
        return _parse_full_read(engine.cli(_reader_argv(image), stdin_path=path))

    def globals_complete(self, path: Path) -> str | None:
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            return f"the users file does not read: {exc}"
        return None if "-- Dump completed" in text[-400:] else "the users file does not end as mariadb-dump ends it"

    def scratch_counts(self, engine: Engine, image: str, dumps: list[Path],
                       timeout: float = 120) -> list[tuple[dict[str, int], set[str]]]:
        """Each dump loaded into a throwaway server with no network, its rows counted."""
        password = secrets.token_hex(16)
        cid = engine.create(image, env={"MARIADB_ROOT_PASSWORD": password}, labels={"stackctl.scratch": "verify"})
        try:
            engine.start(cid)
            scratch = Server(engine, engine.inspect(cid), Credentials("root", password))
            deadline = time.monotonic() + timeout
            while scratch.run("SELECT 1").exit_code != 0:
                info = engine.inspect(cid)
                if info is None or info.state != "running" or time.monotonic() > deadline:
                    raise StackError("the scratch MariaDB for verification did not start",
                                     details=engine.logs_tail(cid, 20))
                time.sleep(0.2)
            counted = []
            for index, dump in enumerate(dumps):
                name = f"restore_check_{index}"
                scratch.create(name)
                loaded = scratch.restore_into(name, dump, owners=False)
                if loaded.exit_code != 0:
                    raise StackError(f"restore into a scratch database failed: {self.restore_error(loaded)}")
                counted.append(scratch.counts(name))
            return counted
        finally:
            engine.remove(cid, volumes=True)


def _client(creds: Credentials, args: list[str]) -> list[str]:
    return ["mariadb", f"--user={creds.user}", *args]


def _pwd(creds: Credentials) -> dict[str, str] | None:
    return {"MYSQL_PWD": creds.password} if creds.password else None


class Server:
    """One running MariaDB server of the stack, reached through its container as root."""

    def __init__(self, engine: Engine, info: ContainerInfo, creds: Credentials):
        self.engine, self.info, self.creds = engine, info, creds
        self.user = creds.user

    def run(self, statement: str, database: str | None = None) -> ExecResult:
        argv = _client(self.creds, ["-h", "127.0.0.1", "-N", "-B", "-e", statement, *([database] if database else [])])
        if reads(statement):  # its answer is read as data: all of it, or an error (Engine.read)
            return self.engine.read(self.info.id, argv, env=_pwd(self.creds))
        return self.engine.exec(self.info.id, argv, env=_pwd(self.creds))

    def sql(self, statement: str, database: str | None = None, what: str | None = None) -> str:
        result = self.run(statement, database)
        if result.exit_code != 0:
            said = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else str(result.exit_code)
            raise StackError(f"{what or ' '.join(statement.split()[:2])} failed: {said}")
        return result.stdout

    def version(self) -> dict:
        version = self.sql("SELECT VERSION()", what="reading the MariaDB version").strip().split("-")[0]
        parts = [int(p) for p in (version.split(".") + ["0", "0"])[:3]]
        return {"server_version_num": parts[0] * 10000 + parts[1] * 100 + parts[2], "server_version": version}

    def all_names(self) -> list[str]:
        return [n for n in self.sql("SHOW DATABASES", what="listing databases").splitlines() if n not in SYSTEM]

    def databases(self) -> list[Database]:
        rows = self.sql("SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME, DEFAULT_COLLATION_NAME "
                        "FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME", what="listing databases")
        found = [Database(*line.split("\t")) for line in rows.splitlines() if line]
        return [d for d in found if d.name not in SYSTEM and not RESTORING.match(d.name) and not KEPT.search(d.name)]

    def dump(self, database: str, level: int, sink) -> ExecResult:
        """One INSERT a row (its rows are counted as it is read back), gzipped at `level`."""
        argv = ["mariadb-dump", f"--user={self.user}", "-h", "127.0.0.1", "--single-transaction", "--quick",
                "--skip-extended-insert", "--routines", "--triggers", "--events", database]
        script = f"set -o pipefail; {' '.join(_sh(a) for a in argv)} | gzip -c -{max(1, level)}"
        return self.engine.exec_to_file(self.info.id, ["bash", "-c", script], sink, env=_pwd(self.creds))

    def dump_globals(self, sink) -> ExecResult:
        return self.engine.exec_to_file(self.info.id, ["mariadb-dump", f"--user={self.user}", "-h", "127.0.0.1",
                                                       "--system=users"], sink, env=_pwd(self.creds))

    def roles(self) -> set[str]:
        out = self.sql("SELECT CONCAT('`', REPLACE(User, '`', '``'), '`@`', REPLACE(Host, '`', '``'), '`') "
                       "FROM mysql.user", what="listing users")
        return set(out.splitlines())

    def restore_roles(self, path: Path) -> list[str]:
        """The set's users this server lacks, with their grants; users that exist are left exactly
        as they are (their passwords too). The users created."""
        existing = self.roles()
        kept, created = [], []
        for line in path.read_text().splitlines():
            found = USER_STATEMENT.match(line)
            if found and found.group(1) in existing:
                continue
            if found and line.startswith("CREATE USER"):
                created.append(found.group(1))
            kept.append(line)
        if not created:
            return []
        result = self.engine.cli(["exec", "-i", "-e", "MYSQL_PWD", self.info.id, *_client(self.creds, ["-h", "127.0.0.1"])],
                                 stdin_data=("\n".join(kept) + "\n").encode(), env=_pwd(self.creds))
        if result.exit_code != 0:
            raise StackError(f"creating the set's users failed: {MariaDB.restore_error(result)}")
        return created

    def drop_roles(self, names: list[str]) -> None:
        for name in reversed(names):
            self.sql(f"DROP USER IF EXISTS {name}")

    def create(self, name: str, like: Database | None = None) -> None:
        self.sql(f"DROP DATABASE IF EXISTS {ident(name)}")
        extra = f" CHARACTER SET {like.charset}" + (f" COLLATE {like.collation}" if like.collation else "") \
            if like else ""
        self.sql(f"CREATE DATABASE {ident(name)}{extra}")

    def restore_into(self, name: str, path: Path, *, owners: bool, meter=None) -> ExecResult:
        """The gzipped dump, streamed over stdin, loaded into an existing empty database."""
        script = f"set -o pipefail; gunzip -c | mariadb --user={_sh(self.user)} -h 127.0.0.1 {_sh(name)}"
        return self.engine.cli(["exec", "-i", "-e", "MYSQL_PWD", self.info.id, "bash", "-c", script],
                               stdin_path=path, env=_pwd(self.creds), meter=meter)

    def terminate(self, *names: str) -> None:
        listed = ", ".join(literal(n) for n in names)
        for pid in self.sql(f"SELECT ID FROM information_schema.PROCESSLIST WHERE DB IN ({listed}) "
                            "AND ID <> CONNECTION_ID()").split():
            self.run(f"KILL {int(pid)}")

    def objects(self, database: str) -> list[str]:
        """What a table move would not carry: views, routines, triggers, events."""
        q = literal(database)
        out = self.sql(f"SELECT CONCAT('view ', TABLE_NAME) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = {q} "
                       f"UNION ALL SELECT CONCAT(LOWER(ROUTINE_TYPE), ' ', ROUTINE_NAME) FROM information_schema.ROUTINES "
                       f"WHERE ROUTINE_SCHEMA = {q} UNION ALL SELECT CONCAT('trigger ', TRIGGER_NAME) FROM "
                       f"information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = {q} UNION ALL SELECT CONCAT('event ', "
                       f"EVENT_NAME) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = {q}")
        return out.splitlines()

    def tables(self, database: str) -> list[str]:
        return self.sql(f"SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = {literal(database)} "
                        "AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME").splitlines()

    def rename(self, old: str, new: str) -> None:
        """Every table of `old` moved into a new database `new` in one RENAME TABLE, then `old` dropped."""
        left = self.objects(old)
        if left:
            raise StackError(f"database {old} has {', '.join(left[:5])}, which a MariaDB restore cannot move: "
                             "nothing more was changed", "restore it by hand: README, Restore by hand", EXIT_USAGE)
        self.terminate(old, new)
        charset = self.sql(f"SELECT DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = "
                           f"{literal(old)}").strip() or "utf8mb4"
        self.sql(f"CREATE DATABASE {ident(new)} CHARACTER SET {charset}")
        tables = self.tables(old)
        if tables:
            self.sql("RENAME TABLE " + ", ".join(f"{ident(old)}.{ident(t)} TO {ident(new)}.{ident(t)}"
                                                 for t in tables))
        self.sql(f"DROP DATABASE {ident(old)}")

    def drop(self, name: str) -> None:
        self.terminate(name)
        self.sql(f"DROP DATABASE IF EXISTS {ident(name)}")

    def kept(self) -> list[str]:
        return [n for n in self.all_names() if KEPT.search(n)]

    def counts(self, database: str) -> tuple[dict[str, int], set[str]]:
        tables = self.tables(database)
        if not tables:
            return {}, set()
        query = " UNION ALL ".join(f"SELECT {literal(t)}, COUNT(*) FROM {ident(database)}.{ident(t)}" for t in tables)
        out = self.sql(query, what="counting rows")
        return {name: int(n) for name, n in (line.rsplit("\t", 1) for line in out.splitlines() if line)}, set()


def _sh(word: str) -> str:
    import shlex

    return shlex.quote(word)


# Reads a gzipped dump in full and counts each table's rows (one INSERT a row); the last line of
# a whole dump is mariadb-dump's own "-- Dump completed".
FULL_READ_SCRIPT = r"""
{ gunzip -c 2>/tmp/gunzip.err; echo "__EXIT__ $?"; } | awk '
  /^__EXIT__ / { status = $2; next }
  /^INSERT INTO `/ { t = $3; gsub(/`/, "", t); n[t]++ }
  /^-- Dump completed/ { done = 1 }
  END { for (t in n) print "ROWS " t " " n[t]; print "EXIT " (status == 0 && done ? 0 : 1) }
'
cat /tmp/gunzip.err >&2
"""


def _reader_argv(image: str) -> list[str]:
    return ["run", "--rm", "-i", "--network", "none", "--cpu-shares", "2", "--entrypoint", "sh", image, "-c",
            FULL_READ_SCRIPT]


class StreamingReader:
    """The full read fed while the dump is written (a sink beside the set's file)."""

    def __init__(self, engine: Engine, image: str):
        self.proc = engine.cli_pipe(_reader_argv(image))

    def write(self, chunk: bytes) -> None:
        try:
            self.proc.stdin.write(chunk)
        except OSError:
            pass  # the reader ended early: finish() says why

    def finish(self) -> tuple[bool, dict[str, int], str]:
        out, err = self.proc.communicate()
        return _parse_full_read(ExecResult(self.proc.returncode, out.decode("utf-8", "replace"),
                                           err.decode("utf-8", "replace")))

    def abort(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _parse_full_read(result: ExecResult) -> tuple[bool, dict[str, int], str]:
    rows, exit_code = {}, None
    for line in result.stdout.splitlines():
        kind, _, rest = line.partition(" ")
        if kind == "ROWS":
            table, _, n = rest.rpartition(" ")
            rows[table] = int(n)
        elif kind == "EXIT":
            exit_code = int(rest)
    if result.exit_code != 0 or exit_code != 0:
        error = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "the dump does not end as a " \
            "whole one does"
        return False, rows, error
    return True, rows, ""
