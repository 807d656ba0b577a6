"""PostgreSQL (and PostGIS): the only module that names its tools (psql, pg_dump, pg_dumpall,
pg_restore, pg_isready).

Commands run inside the server's container over its local socket as POSTGRES_USER (the official
image's contract: that user is a superuser, trusted on the socket), so no password is ever an
argument; dumps stream out of the container and into it. A backup holds the whole server: every
database that is not a template (`postgres` included) and the roles (pg_dumpall --globals-only).
Databases are swapped by name through a maintenance connection that is never to one of them, so
any name restores, `postgres` too.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from stackctl.containers import ContainerInfo, ExecResult
from stackctl.engine import Engine
from stackctl.errors import StackError
from stackctl.health.gate import Observation
from stackctl.kinds.base import env_or_file, reads

PORT = 5432
PROBE_TIMEOUT = 2.0
# Databases stackctl itself makes while restoring, and keeps after: never part of a backup.
RESTORING = re.compile(r"^stackctl_restore_\d{8}t\d{6}z_\d+$")
KEPT = re.compile(r"_before_\d{14}$")
NAME_BYTES = 63  # longer identifiers are cut by the server
# The tables where migration tools record what they applied (alembic, Django, Rails, Knex, TypeORM,
# Prisma, Laravel, Flyway, goose, Sequelize, Entity Framework): their rows are part of a schema's digest.
MIGRATION_TABLES_SQL = (
    "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', "
    "'information_schema') AND (tablename ILIKE '%migration%' OR lower(tablename) IN ('alembic_version', "
    "'schema_version', 'flyway_schema_history', 'goose_db_version', 'sequelizemeta')) ORDER BY 1")


@dataclass(frozen=True)
class Credentials:
    user: str
    database: str
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Database:
    """One database of a server, as a backup records it and a restore re-creates it."""

    name: str
    owner: str
    encoding: str = "UTF8"
    collate: str = ""
    ctype: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "owner": self.owner, "encoding": self.encoding, "collate": self.collate,
                "ctype": self.ctype}


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Postgres:
    name = "postgres"
    role = "database"
    port = PORT
    evidence = "sql"  # what a ready verdict from its probe rests on
    probe_library = "stackctl.kinds.libpq"  # what its host probe imports (kinds.warm)

    def credentials(self, engine: Engine, info: ContainerInfo) -> Credentials:
        """As the official image reads them: POSTGRES_USER (postgres), POSTGRES_DB (the user's name),
        POSTGRES_PASSWORD or the file POSTGRES_PASSWORD_FILE names."""
        user = env_or_file(engine, info, "POSTGRES_USER") or "postgres"
        return Credentials(user, env_or_file(engine, info, "POSTGRES_DB") or user,
                           env_or_file(engine, info, "POSTGRES_PASSWORD"))

    def url(self, host: str, port: int, creds: Credentials) -> str:
        return f"postgresql://{creds.user}@{host}:{port}/{creds.database}"

    def probe_host(self, host: str, port: int, creds: Credentials, timeout: float = PROBE_TIMEOUT) -> Observation:
        """SQL from the host, as an app would connect: libpq itself (kinds.libpq), one `SELECT 1`."""
        from stackctl.kinds import libpq

        try:
            version = libpq.select_one({"host": host, "port": port, "user": creds.user, "password": creds.password,
                                        "dbname": creds.database, "connect_timeout": max(1, int(timeout)),
                                        "application_name": "stackctl-probe"})
            return Observation.ready(f"accepting queries (server {version // 10000}.{version % 10000})")
        except libpq.Refused as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
            if "password authentication failed" in text or "does not exist" in text and "role" in text:
                return Observation.failed(
                    f"{text}: the data volume may have been initialised with another POSTGRES_PASSWORD/USER")
            if libpq.LIB is None:
                return Observation.failed(text)
            return Observation.pending(text)
        except Exception as exc:  # a probe never raises
            return Observation.pending(f"{type(exc).__name__}: {exc}")

    def probe_inside(self, engine: Engine, info: ContainerInfo, within: float = 0.0) -> Observation:
        """SQL over TCP to 127.0.0.1 inside the container (the init-time server listens on the socket
        only); `within`: asked again in there until it answers, or that many seconds pass."""
        creds = self.credentials(engine, info)
        cmd = ["psql", "-X", "-h", "127.0.0.1", "-U", creds.user, "-d", creds.database, "-tAc", "SELECT 1"]
        try:
            result = engine.exec_until(info.id, cmd, env={"PGPASSWORD": creds.password} if creds.password else None,
                                       within=within, give_up_on=("password authentication failed",))
        except Exception as exc:  # the container may be going away
            return Observation.pending(f"{type(exc).__name__}: {exc}")
        output = (result.stdout + result.stderr).strip()
        if result.exit_code == 0 and output.splitlines()[-1:] == ["1"]:
            return Observation.ready("accepting queries")
        if "password authentication failed" in output:
            return Observation.failed(output.splitlines()[-1])
        return Observation.pending(output.splitlines()[-1] if output else f"exit {result.exit_code}")

    def client(self, creds: Credentials, args: list[str]) -> tuple[list[str], dict[str, str] | None]:
        """psql in the container over its local socket, as the database's own user."""
        return ["psql", "-U", creds.user, "-d", creds.database, *args], None

    def server(self, engine: Engine, info: ContainerInfo) -> Server:
        return Server(engine, info, self.credentials(engine, info))

    # -- names a restore uses --------------------------------------------------------------------
    def fresh_name(self, backup_id: str, index: int) -> str:
        """The new database a set's database is restored into before the swap."""
        return f"stackctl_restore_{backup_id.lower()}_{index}"

    def kept_name(self, database: str, stamp: str, index: int = 0) -> str:
        return kept_name(database, stamp, index)

    def database(self, entry: dict, default_owner: str) -> Database:
        """How a set's database is re-created (format 1 sets record no owner: the server's user)."""
        return Database(entry["name"], entry.get("owner") or default_owner, entry.get("encoding") or "UTF8",
                        entry.get("collate") or "", entry.get("ctype") or "")

    major = staticmethod(lambda version_num: major(version_num))
    restore_error = staticmethod(lambda result: restore_error(result))

    # -- a dump read with no server of the stack's -----------------------------------------------
    def reader(self, engine: Engine, image: str) -> StreamingReader:
        return StreamingReader(engine, image)

    def full_read(self, engine: Engine, image: str, path: Path) -> tuple[bool, dict[str, int], str]:
        """Read the whole dump in a throwaway container: (ok, rows per table, error)."""
        return _parse_full_read(engine.cli(_reader_argv(image), stdin_path=path))

    def globals_complete(self, path: Path) -> str | None:
        """Why a roles dump is not whole (it ends with pg_dumpall's own last line), or None."""
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            return f"the roles file does not read: {exc}"
        return None if GLOBALS_END in text[-400:] else "the roles file does not end as pg_dumpall ends it"

    def scratch_counts(self, engine: Engine, image: str, dumps: list[Path],
                       timeout: float = 120) -> list[tuple[dict[str, int], set[str]]]:
        """Each dump restored into a throwaway server with no network, its rows counted; the
        container is always removed."""
        password = secrets.token_hex(16)
        cid = engine.create(image, env={"POSTGRES_PASSWORD": password, "POSTGRES_DB": "verify"},
                            labels={"stackctl.scratch": "verify"})
        try:
            engine.start(cid)
            deadline = time.monotonic() + timeout
            while engine.exec(cid, ["pg_isready", "-q", "-h", "127.0.0.1", "-U", "postgres", "-d", "verify"]).exit_code:
                info = engine.inspect(cid)
                if info is None or info.state != "running" or time.monotonic() > deadline:
                    raise StackError("the scratch Postgres for verification did not start",
                                     details=engine.logs_tail(cid, 20))
                time.sleep(0.1)
            scratch = Server(engine, engine.inspect(cid), Credentials("postgres", "verify"))
            counted = []
            for index, dump in enumerate(dumps):
                # A database of its own from template0: images' init scripts add extensions to POSTGRES_DB.
                name = f"restore_check_{index}"
                scratch.sql(f"CREATE DATABASE {name} TEMPLATE template0", what="creating the scratch database")
                restored = scratch.restore_into(name, dump, owners=False)
                if restored.exit_code != 0:
                    raise StackError(f"restore into a scratch database failed: {restore_error(restored)}")
                counted.append(scratch.counts(name))
            return counted
        finally:
            engine.remove(cid, volumes=True)


GLOBALS_END = "PostgreSQL database cluster dump complete"

# Tables an extension owns (spatial_ref_sys, topology.*) hold rows the extension itself
# creates, so their counts after a restore are not the dump's: they are listed apart.
USER_TABLES_SQL = """
SELECT n.nspname || '.' || c.relname || '|' ||
       EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
               AND d.objid = c.oid AND d.deptype = 'e')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND n.nspname NOT LIKE 'pg_toast%'
ORDER BY 1
"""
DATABASES_SQL = """
SELECT coalesce(json_agg(json_build_object('name', d.datname, 'owner', pg_get_userbyid(d.datdba),
       'encoding', pg_encoding_to_char(d.encoding), 'collate', d.datcollate, 'ctype', d.datctype) ORDER BY d.datname),
       '[]')
FROM pg_database d WHERE NOT d.datistemplate AND d.datallowconn
"""
ROLE_STATEMENT = re.compile(r'^(CREATE|ALTER) ROLE ("(?:[^"]|"")+"|[^\s;"]+)[\s;]')


class Server:
    """One running Postgres server of the stack, reached through its container."""

    def __init__(self, engine: Engine, info: ContainerInfo, creds: Credentials):
        self.engine, self.info, self.creds = engine, info, creds
        self.user = creds.user

    def psql(self, statement: str, database: str | None = None) -> ExecResult:
        argv = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-At", "-U", self.user, "-d", database or self.creds.database,
                "-c", statement]
        if reads(statement):  # its answer is read as data: all of it, or an error (Engine.read)
            return self.engine.read(self.info.id, argv)
        return self.engine.exec(self.info.id, argv)

    def sql(self, statement: str, database: str | None = None, what: str | None = None) -> str:
        result = self.psql(statement, database or self.maintenance())
        if result.exit_code != 0:
            said = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else str(result.exit_code)
            raise StackError(f"{what or ' '.join(statement.split()[:2])} failed: {said}")
        return result.stdout

    def maintenance(self, *avoid: str) -> str:
        """A database to connect to for work on others: never one being renamed or dropped."""
        return next(name for name in ("postgres", "template1") if name not in avoid)

    def version(self) -> dict:
        out = self.sql("SELECT current_setting('server_version_num') || '|' || current_setting('server_version') "
                       "|| '|' || coalesce((SELECT extversion FROM pg_extension WHERE extname = 'postgis'), '')",
                       self.creds.database, "reading the Postgres version")
        num, version, postgis = out.strip().split("|")
        return {"server_version_num": int(num), "server_version": version.split()[0],
                "postgis_version": postgis or None}

    def all_names(self) -> list[str]:
        return [d["name"] for d in json.loads(self.sql(DATABASES_SQL, what="listing databases") or "[]")]

    def databases(self) -> list[Database]:
        """Every database a backup holds: not a template, open to connections, and not one
        stackctl made while restoring or kept after one."""
        found = json.loads(self.sql(DATABASES_SQL, what="listing databases") or "[]")
        return [Database(d["name"], d["owner"], d["encoding"], d["collate"], d["ctype"]) for d in found
                if not RESTORING.match(d["name"]) and not KEPT.search(d["name"])]

    def dump(self, database: str, level: int, sink) -> ExecResult:
        return self.engine.exec_to_file(self.info.id, ["pg_dump", "-Fc", f"-Z{level}", "-U", self.user,
                                                       "-d", database], sink)

    def dump_globals(self, sink) -> ExecResult:
        """Roles, their attributes and memberships (no tablespaces: a restore uses the default one)."""
        return self.engine.exec_to_file(self.info.id, ["pg_dumpall", "--globals-only", "--no-tablespaces",
                                                       "-U", self.user], sink)

    def roles(self) -> set[str]:
        return set(self.sql("SELECT rolname FROM pg_roles", what="listing roles").splitlines())

    def restore_roles(self, path: Path) -> list[str]:
        """The roles of a set that this server lacks, created in one transaction with their
        attributes and memberships; roles that exist are left exactly as they are (their
        passwords too). The names created (a restore's undo drops them)."""
        sql, created = roles_to_create(path.read_text(), self.roles())
        if not created:
            return []
        result = self.engine.cli(["exec", "-i", self.info.id, "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                  "--single-transaction", "-U", self.user, "-d", self.maintenance(), "-f", "-"],
                                 stdin_data=sql.encode())
        if result.exit_code != 0:
            raise StackError(f"creating the set's roles failed: {restore_error(result)}")
        return created

    def drop_roles(self, names: list[str]) -> None:
        for name in reversed(names):
            self.sql(f"DROP ROLE IF EXISTS {quoted(name)}")

    def create(self, name: str, like: Database | None = None) -> None:
        """An empty database from template0, owned and encoded as `like` was."""
        self.sql(f"DROP DATABASE IF EXISTS {quoted(name)}")
        extra = ""
        if like is not None:
            extra = f" OWNER {quoted(like.owner)} ENCODING {literal(like.encoding)}"
            if like.collate and like.ctype:
                extra += f" LC_COLLATE {literal(like.collate)} LC_CTYPE {literal(like.ctype)}"
        self.sql(f"CREATE DATABASE {quoted(name)}{extra} TEMPLATE template0")

    def restore_into(self, name: str, path: Path, *, owners: bool, meter=None) -> ExecResult:
        """pg_restore a dump (streamed over stdin) into an existing empty database, stopping at the
        first error; `owners`: objects owned as in the dump (its roles exist), else by this user."""
        ownership = [] if owners else ["--no-owner", "--role", self.user]
        return self.engine.cli(["exec", "-i", self.info.id, "pg_restore", "--exit-on-error", "--no-tablespaces",
                                *ownership, "-U", self.user, "-d", name], stdin_path=path, meter=meter)

    def terminate(self, *names: str) -> None:
        listed = ", ".join(literal(n) for n in names)
        self.sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname IN ({listed}) "
                 f"AND pid <> pg_backend_pid()", self.maintenance(*names))

    def busy(self, *names: str) -> int:
        """Sessions to these databases in the middle of something (a statement or a transaction)."""
        listed = ", ".join(literal(n) for n in names)
        return int(self.sql(f"SELECT count(*) FROM pg_stat_activity WHERE datname IN ({listed}) AND state <> 'idle' "
                            f"AND pid <> pg_backend_pid()", self.maintenance(*names), "reading sessions").strip())

    def rename(self, old: str, new: str) -> None:
        self.terminate(old, new)
        self.sql(f"ALTER DATABASE {quoted(old)} RENAME TO {quoted(new)}", self.maintenance(old, new))

    def swap(self, renames: list[tuple[str, str]]) -> None:
        """Every rename at once, in order, in one transaction on a maintenance connection: all of them
        or none (one exec while the writers wait, where a rename each took two)."""
        involved = sorted({name for pair in renames for name in pair})
        listed = ", ".join(literal(n) for n in involved)
        statements = ["BEGIN", f"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname IN "
                               f"({listed}) AND pid <> pg_backend_pid()",
                      *(f"ALTER DATABASE {quoted(old)} RENAME TO {quoted(new)}" for old, new in renames), "COMMIT"]
        self.sql("; ".join(statements), self.maintenance(*involved), "swapping the databases")

    def drop(self, name: str) -> None:
        self.terminate(name)
        self.sql(f"DROP DATABASE IF EXISTS {quoted(name)}", self.maintenance(name))

    def schema(self, database: str) -> str | None:
        """A digest of a database's schema as its app's migrations see it: pg_dump's DDL (no owners,
        privileges, comments or session keys) and every row of the migration tools' tables. Equal
        digests: the migrations that brought one up to date have nothing to do on the other. None
        when it cannot be read."""
        import hashlib

        ddl = self.engine.read(self.info.id, ["pg_dump", "--schema-only", "--no-owner", "--no-privileges",
                                              "-U", self.user, "-d", database])
        if ddl.exit_code != 0:
            return None
        digest = hashlib.sha256()
        for line in ddl.stdout.splitlines():
            if line.strip() and not line.startswith(("--", "\\restrict", "\\unrestrict")):
                digest.update(line.encode() + b"\n")
        listed = self.psql(MIGRATION_TABLES_SQL, database)
        if listed.exit_code != 0:
            return None
        for table in listed.stdout.splitlines():
            rows = self.psql(f"SELECT t::text FROM {table} t ORDER BY 1", database)
            if rows.exit_code != 0:
                return None
            digest.update(f"{table}\0{rows.stdout}\0".encode())
        return digest.hexdigest()

    def kept(self) -> list[str]:
        """Databases a restore kept (renamed aside as `<db>_before_<UTC time>`)."""
        return [n for n in self.all_names() if KEPT.search(n)]

    def counts(self, database: str) -> tuple[dict[str, int], set[str]]:
        """Rows per table not owned by an extension, and the names of those that are."""
        listed = [line.split("|") for line in self.sql(USER_TABLES_SQL, database, "listing tables").splitlines()
                  if line]
        tables = [name for name, owned in listed if owned == "false"]
        extension_tables = {name for name, owned in listed if owned == "true"}
        if not tables:
            return {}, extension_tables
        query = " UNION ALL ".join(
            f"SELECT {literal(t)}, count(*) FROM {'.'.join(quoted(p) for p in t.split('.', 1))}" for t in tables)
        out = self.sql(query, database, "counting rows")
        return {name: int(n) for name, n in (line.rsplit("|", 1) for line in out.splitlines() if line)}, \
            extension_tables


def roles_to_create(text: str, existing: set[str]) -> tuple[str, list[str]]:
    """pg_dumpall's roles file without the statements about roles that exist: (the SQL, the roles
    it creates). Each statement is one line in pg_dumpall's output."""
    kept, created = [], []
    for line in text.splitlines():
        found = ROLE_STATEMENT.match(line)
        if found:
            name = found.group(2)
            name = name[1:-1].replace('""', '"') if name.startswith('"') else name
            if name in existing:
                continue
            if found.group(1) == "CREATE":
                created.append(name)
        kept.append(line)
    return "\n".join(kept) + "\n", created


def kept_name(database: str, stamp: str, index: int = 0) -> str:
    """The name a restore keeps a replaced database under: `<db>_before_<stamp>`, the database's
    part cut (and numbered) when the whole would pass the server's 63 bytes."""
    suffix = f"_before_{stamp}"
    if len((database + suffix).encode()) <= NAME_BYTES:
        return database + suffix
    room = NAME_BYTES - len(suffix) - 4
    head = database.encode()[:room].decode("utf-8", "ignore")
    return f"{head}_{index:03d}{suffix}"


def restore_error(result: ExecResult) -> str:
    """The line that says why a pg_restore (or psql -f) failed: its "error:" line, not the
    "Command was: ..." printed after it."""
    lines = result.stderr.strip().splitlines()
    return next((line for line in reversed(lines) if "error:" in line.lower()),
                lines[-1] if lines else f"exit {result.exit_code}")


def major(version_num: int) -> int:
    return version_num // 10000


# Reads a custom-format dump in full (pg_restore to SQL) and counts the rows of each
# table's COPY block; the last line carries pg_restore's own exit status.
FULL_READ_SCRIPT = r"""
{ pg_restore -f - 2>/tmp/pg_restore.err; echo "__EXIT__ $?"; } | awk '
  /^__EXIT__ / { print "EXIT " $2; next }
  copying && /^\\\.$/ { print "ROWS " table " " n; copying = 0; next }
  copying { n++; next }
  /^COPY / { table = $2; gsub(/"/, "", table); n = 0; copying = 1 }
'
cat /tmp/pg_restore.err >&2
"""
QUEUED_CHUNKS = 8192  # of the stream's ~7 KB frames: ~56 MB at most held for a reader behind


def _reader_argv(image: str) -> list[str]:
    return ["run", "--rm", "-i", "--network", "none", "--cpu-shares", "2", "--entrypoint", "sh", image, "-c",
            FULL_READ_SCRIPT]


class StreamingReader:
    """The full read, fed while the dump is being written (a sink for a Tee). The dump is the slow
    side (pg_dump's compression): the reader runs at the lowest CPU weight and is fed from a queue
    by its own thread, so on a busy machine it takes what pg_dump leaves and catches up at the end
    instead of holding the dump's stream back (a 125 MB database here, A/B of 4: backup 7.21 s ->
    6.78 s, raw pg_dump 4.08 s)."""

    def __init__(self, engine: Engine, image: str):
        import queue
        import threading

        self.proc = engine.cli_pipe(_reader_argv(image))
        self.chunks: queue.Queue = queue.Queue(maxsize=QUEUED_CHUNKS)
        self.feeder = threading.Thread(target=self._feed, daemon=True)
        self.feeder.start()

    def _feed(self) -> None:
        broken = False
        while (chunk := self.chunks.get()) is not None:
            if broken:
                continue  # drained, so the dump never waits on a reader that is gone
            try:
                self.proc.stdin.write(chunk)
            except OSError:
                broken = True  # the reader ended early: finish() reports why

    def write(self, chunk: bytes) -> None:
        self.chunks.put(chunk)

    def finish(self) -> tuple[bool, dict[str, int], str]:
        self.chunks.put(None)
        self.feeder.join()
        out, err = self.proc.communicate()  # closes stdin: the reader sees the end of the dump
        return _parse_full_read(ExecResult(self.proc.returncode, out.decode("utf-8", "replace"),
                                           err.decode("utf-8", "replace")))

    def abort(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.chunks.put(None)  # the feeder's pipe is broken now: it drains to this and ends


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
        error = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else f"exit {exit_code}"
        return False, rows, error
    return True, rows, ""
