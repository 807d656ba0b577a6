"""Backups and restores on real data: rows and keys round-trip byte-equal, damaged backups
are refused with nothing touched, a restore that breaks halfway leaves the data as it was."""

import json
import subprocess
import time
from pathlib import Path

import httpx
import psycopg
import redis

# The reference stack's development passwords (compose/compose.yaml defaults).
DEV_SECRETS = {"postgres_password": "dev-only-postgres-password", "redis_password": "dev-only-redis-password"}

CHECKSUM_SQL = "SELECT count(*), md5(string_agg(s::text, ',' ORDER BY id)) FROM stops s"


def sql(stack, query, params=None, dbname="stackctl"):
    with psycopg.connect(host="127.0.0.1", port=stack.postgres_port, user="stackctl", dbname=dbname,
                         password=DEV_SECRETS["postgres_password"], autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else None


def kv(stack):
    return redis.Redis(host="127.0.0.1", port=int(stack.env["REDIS_PORT"]), password=DEV_SECRETS["redis_password"])


def backup_dir(stack) -> Path:
    return Path(stack.env["STACKCTL_BACKUP_DIR"]) / stack.name


def take_backup(stack, *args) -> dict:
    out = stack.run("backup", *args)
    assert out.returncode == 0, out.stderr
    listed = json.loads(stack.run("backups", "--json").stdout)["result"]["backups"]
    return json.loads((Path(listed[0]["path"]) / "manifest.json").read_text())


def entry(manifest: dict, name: str = "stackctl") -> dict:
    """The set's entry for one database."""
    return next(d for d in manifest["database"]["databases"] if d["name"] == name)


def kept_databases(stack) -> list[str]:
    return [r[0] for r in sql(stack, "SELECT datname FROM pg_database WHERE datname ~ '_(before|restore)_' "
                                     "ORDER BY 1")]


def resign(stack, folder: Path, manifest: dict) -> None:
    """A manifest rewritten by the test, signed again with the project's key (as if stackctl wrote it)."""
    from stackctl.backup import seal

    key = seal.load_key(stack.project_dir / ".stackctl" / "backup.key")
    (folder / "manifest.json").write_text(json.dumps(seal.signed(manifest, key)))


def test_rows_and_keys_round_trip_byte_equal(data_stack):
    s = data_stack
    for i in range(3):
        assert httpx.post(s.url("/api/stops"), json={"name": f"Keep {i}", "lat": 50 + i, "lon": 8}).status_code == 201
    kv(s).set("session:42", "alice")
    original = sql(s, CHECKSUM_SQL)

    manifest = take_backup(s, "--verify")
    assert entry(manifest)["tables"]["public.stops"] == original[0][0]
    assert {d["name"] for d in manifest["database"]["databases"]} == {"stackctl", "postgres"}
    assert manifest["verification"]["restore_test"]["ok"] is True
    assert manifest["cache"]["keys"] >= 1 and len(entry(manifest)["sha256"]) == 64
    assert manifest["database"]["server_version_num"] >= 150000 and manifest["mac"]["alg"] == "hmac-sha256"

    sql(s, "UPDATE stops SET name = 'changed' WHERE name = 'Keep 0'")
    sql(s, "DELETE FROM stops WHERE name IN ('Keep 1', 'Alexanderplatz')")
    sql(s, "INSERT INTO stops (name, geom) VALUES ('intruder', ST_MakePoint(0, 0)::geography)")
    kv(s).delete("session:42")
    kv(s).set("session:99", "mallory")
    assert sql(s, CHECKSUM_SQL) != original

    replaced = sql(s, CHECKSUM_SQL)
    out = s.run("restore", manifest["id"], "--yes", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)["result"]
    assert sql(s, CHECKSUM_SQL) == original
    assert kv(s).get("session:42") == b"alice" and kv(s).get("session:99") is None
    near = httpx.get(s.url("/api/stops/near"), params={"lat": 52.521918, "lon": 13.413215, "radius": 10}).json()
    assert [x["name"] for x in near["stops"]] == ["Alexanderplatz"]
    # nothing lost: the data the restore replaced is a database of its own, Redis's RDB a file
    kept = result["kept"]["stackctl"]
    assert sql(s, CHECKSUM_SQL, dbname=kept) == replaced
    assert Path(result["redis_copy"]).read_bytes().startswith(b"REDIS")
    assert kept_databases(s) == sorted(result["kept"].values()) and set(result["kept"]) == {"stackctl", "postgres"}
    kinds = [b["kind"] for b in json.loads(s.run("backups", "--json").stdout)["result"]["backups"]]
    assert kinds == ["manual"]  # no dump was taken to make the restore safe

    time.sleep(1)  # the kept database is named after the second it was replaced in
    again = s.run("restore", manifest["id"], "--yes", "--json")
    assert again.returncode == 0, again.stderr
    newer = json.loads(again.stdout)["result"]["kept"]
    assert newer["stackctl"] != kept  # the next restore keeps what it replaced and drops what the last one kept
    assert kept_databases(s) == sorted(newer.values())
    assert sql(s, CHECKSUM_SQL) == original


def copy_set(stack, src: Path, dst: Path) -> Path:
    subprocess.run(["cp", "-a", str(src), str(dst)], check=True)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["id"] = dst.name
    resign(stack, dst, manifest)
    return dst


def test_truncated_and_bit_flipped_backups_are_refused_and_nothing_is_touched(data_stack):
    s = data_stack
    manifest = take_backup(s)
    good = backup_dir(s) / manifest["id"]
    sql(s, "INSERT INTO stops (name, geom) VALUES ('after backup', ST_MakePoint(1, 1)::geography)")
    before = sql(s, CHECKSUM_SQL)

    name = entry(manifest)["file"]
    flipped = copy_set(s, good, backup_dir(s) / "20000101T000001Z")
    data = bytearray((flipped / name).read_bytes())
    data[len(data) // 2] ^= 0xFF
    (flipped / name).write_bytes(bytes(data))

    # Truncated, with a manifest that matches the truncated file (and signed with the key: an
    # insider's set): only a full read finds it.
    truncated = copy_set(s, good, backup_dir(s) / "20000101T000002Z")
    dump = truncated / name
    dump.write_bytes(dump.read_bytes()[:-500])  # the data blocks end the file; the TOC stays whole
    m = json.loads((truncated / "manifest.json").read_text())
    entry(m).update(bytes=dump.stat().st_size, sha256=__import__("hashlib").sha256(dump.read_bytes()).hexdigest())
    resign(s, truncated, m)
    listing = subprocess.run(["docker", "run", "--rm", "-i", "--entrypoint", "pg_restore", m["database"]["image"],
                              "-l"], stdin=dump.open("rb"), capture_output=True)
    assert listing.returncode == 0  # the table of contents alone looks fine

    for bad, reason in ((flipped, "does not match its sha256 checksum"), (truncated, "does not read in full")):
        out = s.run("restore", bad.name, "--yes")
        assert out.returncode == 2, out.stderr
        assert reason in out.stderr and "nothing was touched" in out.stderr
        verify = s.run("backups", "verify", bad.name)
        assert verify.returncode != 0 and reason in verify.stderr
    assert sql(s, CHECKSUM_SQL) == before
    assert kept_databases(s) == []  # nothing renamed, no new database left
    assert not (backup_dir(s) / ".redis-before-restore.rdb").exists()  # nothing copied aside


def test_restore_that_fails_halfway_leaves_the_data_as_it_was(data_stack):
    s = data_stack
    manifest = take_backup(s)
    sql(s, "INSERT INTO stops (name, geom) VALUES ('newer than the backup', ST_MakePoint(2, 2)::geography)")
    before = sql(s, CHECKSUM_SQL)
    # Migrations fail on the restored data: the swap has happened and must be undone (--restart: the
    # services are stopped and started through up, migrations included, even with the same schema).
    out = s.run("restore", manifest["id"], "--yes", "--restart", extra_env={"MIGRATE_COMMAND": "false"})
    assert out.returncode == 1, out.stderr
    assert f"restore of {manifest['id']} failed and was undone" in out.stderr
    assert sql(s, CHECKSUM_SQL) == before
    assert httpx.get(s.url("/api/health")).json()["status"] == "ok"
    assert kept_databases(s) == []


def test_backup_from_a_newer_postgres_major_is_refused(data_stack):
    s = data_stack
    manifest = take_backup(s)
    path = backup_dir(s) / manifest["id"] / "manifest.json"
    m = json.loads(path.read_text())
    m["database"].update(server_version_num=990001, server_version="99.1")
    resign(s, path.parent, m)
    out = s.run("restore", manifest["id"], "--yes")
    assert out.returncode == 2
    assert "is from postgres 99.1, this server runs" in out.stderr and "older major" in out.stderr


def test_retention_keeps_the_newest_by_count(data_stack):
    s = data_stack
    ids = []
    for _ in range(3):
        ids.append(take_backup(s, "--no-redis", )["id"])
        time.sleep(1.1)  # ids are per second
    out = s.run("backup", "--no-redis", extra_env={"STACKCTL_BACKUP_KEEP_COUNT": "2"})
    assert out.returncode == 0 and "retention removed 2" in out.stdout
    left = [b["id"] for b in json.loads(s.run("backups", "--json").stdout)["result"]["backups"]]
    assert len(left) == 2 and ids[2] in left and ids[0] not in left and ids[1] not in left


def test_concurrent_migrate_applies_once(stack):
    up = stack.run("up", "db")
    assert up.returncode == 0, up.stderr
    stack.env["STACKCTL_LOCK_WAIT"] = "120"  # the second waits for the stack's lock, then finds nothing to do
    procs = [stack.popen("migrate") for _ in range(2)]
    outputs = [p.communicate(timeout=180)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    applied = [o.count("Running upgrade") for o in outputs]
    assert sorted(applied) == [0, 2], outputs  # one runner applied both, the other found nothing to do
    assert sql(stack, "SELECT version_num FROM alembic_version") == [("0002",)]
    assert sql(stack, "SELECT count(*) FROM stops") == [(205,)]
    status = stack.run("migrate", "--status")
    assert "2 applied, 0 pending" in status.stdout


def test_failed_backup_leaves_nothing_that_looks_like_a_backup(data_stack):
    s = data_stack
    take_backup(s)  # one good set exists
    # One database of the server cannot be read (its files are gone): the set must not appear,
    # nor a leftover folder.
    sql(s, "CREATE DATABASE broken", dbname="postgres")
    oid = sql(s, "SELECT oid FROM pg_database WHERE datname = 'broken'", dbname="postgres")[0][0]
    subprocess.run(["docker", "exec", f"{s.name}-db-1", "rm", "-rf", f"/var/lib/postgresql/data/base/{oid}"],
                   capture_output=True, check=True)
    out = s.run("backup")
    assert out.returncode == 1
    assert "backup failed, nothing was recorded" in out.stderr and "broken" in out.stderr
    listed = json.loads(s.run("backups", "--json").stdout)["result"]
    assert len(listed["backups"]) == 1 and listed["incomplete"] == []
    assert [p.name for p in backup_dir(s).iterdir()] == [listed["backups"][0]["id"]]


def test_a_backup_restores_by_hand_without_stackctl_as_documented(data_stack):
    """README, 'Restore by hand': a fresh database from template0, then pg_restore of the dump."""
    s = data_stack
    manifest = take_backup(s)
    dump = backup_dir(s) / manifest["id"] / entry(manifest)["file"]
    db = f"{s.name}-db-1"
    made = subprocess.run(["docker", "exec", db, "createdb", "-U", "stackctl", "-T", "template0", "by_hand"],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    with dump.open("rb") as f:
        restored = subprocess.run(["docker", "exec", "-i", db, "pg_restore", "--no-owner", "-U", "stackctl",
                                   "-d", "by_hand"], stdin=f, capture_output=True, text=True)
    assert restored.returncode == 0, restored.stderr
    assert sql(s, CHECKSUM_SQL, dbname="by_hand") == sql(s, CHECKSUM_SQL)


def _ids(stack, service: str) -> list[str]:
    out = subprocess.run(["docker", "ps", "-q", "--no-trunc", "--filter", f"label=com.docker.compose.project={stack.name}",
                          "--filter", f"label=com.docker.compose.service={service}"], capture_output=True, text=True,
                         check=True)
    return out.stdout.split()


def test_a_restore_with_the_schema_the_stack_runs_pauses_the_writers_fails_no_request_and_loses_no_acknowledged_write(
        prod_stack, tmp_path):
    """Production, the set has the schema the running API runs with: the API is paused (not
    stopped) around the swap and resumed, nothing is migrated or restarted, the proxy keeps
    serving. A strict client through the proxy (TLS keep-alive, no retry, half writes) sees no
    failure, and every write it was told succeeded is in the restored database or the one kept
    aside. With --restart the services are stopped and started through up instead."""
    import re

    from load import StrictLoad, amid

    s = prod_stack
    s.env["STACKCTL_BACKUP_DIR"] = str(tmp_path / "backups")
    prod = ("--env", "production")
    up = s.run(*prod, "up")
    assert up.returncode == 0, up.stderr
    backup = s.run(*prod, "backup", "--no-redis")
    assert backup.returncode == 0, backup.stderr
    listed = json.loads(s.run(*prod, "backups", "--json").stdout)["result"]["backups"]
    manifest = json.loads((Path(listed[0]["path"]) / "manifest.json").read_text())
    set_rows = entry(manifest)["tables"]["public.stops"]
    password = re.search(r"^POSTGRES_PASSWORD=(.*)$", (s.project_dir / ".env.production").read_text(), re.M)[1]

    def rows(query, dbname="stackctl"):
        with psycopg.connect(host="127.0.0.1", port=s.postgres_port, user="stackctl", dbname=dbname,
                             password=password) as conn:
            return conn.execute(query).fetchall()

    web, api, migrate_started, api_started = _ids(s, "web"), _ids(s, "api"), s.started_at("migrate"), s.started_at("api")
    load = StrictLoad("127.0.0.1", int(s.env["HTTPS_PORT"]), "/api/stops/near?lat=52.52&lon=13.41&radius=10", rate=20)
    with load:
        out = amid(lambda: s.run(*prod, "restore", manifest["id"], "--yes", "--no-redis", "--json"))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)["result"]
    assert result["paused_seconds"] is not None  # paused, not stopped
    assert load.failures == [], load.failures[:5]
    assert load.total > 40 and load.written
    assert _ids(s, "web") == web and _ids(s, "api") == api  # paused and resumed: not stopped, not replaced
    assert s.started_at("migrate") == migrate_started  # nothing migrated
    kept = result["kept"]["stackctl"]
    found = {r[0] for r in rows("SELECT id FROM stops")} | {r[0] for r in rows("SELECT id FROM stops", kept)}
    lost = [i for i in load.written if i not in found]
    assert lost == [], f"acknowledged writes in neither database: {lost[:10]}"
    # the restored database: the set's rows, plus what was written after the swap
    after = rows("SELECT count(*) FROM stops WHERE name LIKE 'load-%'")[0][0]
    assert rows("SELECT count(*) FROM stops")[0][0] == set_rows + after
    print(f"\nrestore under load: {load.total} requests, 0 failed, writers paused {result['paused_seconds']:.2f}s, "
          f"p99 {load.latency_ms(99):.0f} ms, max {max(r[3] for r in load.results) * 1000:.0f} ms")

    again = s.run(*prod, "restore", manifest["id"], "--yes", "--no-redis", "--restart", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["result"]["paused_seconds"] is None
    assert s.started_at("migrate") != migrate_started and s.started_at("api") != api_started  # stopped, migrated, started
    assert rows("SELECT count(*) FROM stops")[0][0] == set_rows
