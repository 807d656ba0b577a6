"""Redis side of backups: a fresh RDB snapshot (BGSAVE, wait for LASTSAVE to move), copied
out of the container; checked with redis-check-rdb; put back for a restore."""

from __future__ import annotations

import time
from pathlib import Path

from stackctl.engine import Engine
from stackctl.errors import StackError

SNAPSHOT_TIMEOUT = 300.0


def cli(engine: Engine, cid: str, password: str | None, *args: str) -> str:
    # REDISCLI_AUTH: the password reaches redis-cli through its environment, not argv.
    result = engine.exec(cid, ["redis-cli", "--no-auth-warning", *args],
                         env={"REDISCLI_AUTH": password} if password else None)
    out = result.stdout.strip()
    if result.exit_code != 0 or out.startswith(("ERR", "NOAUTH", "WRONGPASS")):
        raise StackError(f"redis-cli {' '.join(args)} failed: {out or result.stderr.strip()}")
    return out


def info(engine: Engine, cid: str, password: str | None) -> dict:
    server = dict(line.split(":", 1) for line in cli(engine, cid, password, "INFO", "server").splitlines()
                  if ":" in line)
    return {"version": server.get("redis_version", "").strip(), "keys": int(cli(engine, cid, password, "DBSIZE"))}


def snapshot(engine: Engine, cid: str, password: str | None, sink, timeout: float = SNAPSHOT_TIMEOUT) -> dict:
    """BGSAVE, wait until LASTSAVE moves past what it was, then copy the RDB file out."""
    details = info(engine, cid, password)
    before = int(cli(engine, cid, password, "LASTSAVE"))
    # LASTSAVE has one-second resolution: start the save in a later second than `before`.
    while int(time.time()) <= before:
        time.sleep(0.05)
    reply = cli(engine, cid, password, "BGSAVE")
    if "started" not in reply.lower() and "scheduled" not in reply.lower():
        raise StackError(f"redis BGSAVE: {reply}")
    deadline = time.monotonic() + timeout
    while int(cli(engine, cid, password, "LASTSAVE")) <= before:
        if time.monotonic() > deadline:
            raise StackError(f"redis did not finish BGSAVE within {timeout:.0f}s")
        time.sleep(0.05)
    status = dict(line.split(":", 1) for line in cli(engine, cid, password, "INFO", "persistence").splitlines()
                  if ":" in line)
    if status.get("rdb_last_bgsave_status", "ok").strip() != "ok":
        raise StackError("redis reports its last BGSAVE failed (disk full?)")
    directory = cli(engine, cid, password, "CONFIG", "GET", "dir").splitlines()[-1]
    filename = cli(engine, cid, password, "CONFIG", "GET", "dbfilename").splitlines()[-1]
    engine.read_file(cid, f"{directory}/{filename}", sink)
    return {**details, "path": f"{directory}/{filename}"}


def check_rdb(engine: Engine, image: str, path: Path) -> tuple[bool, str]:
    result = engine.cli(["run", "--rm", "-i", "--network", "none", "--user", "root", "--entrypoint", "sh", image, "-c",
                         "cat > /tmp/dump.rdb && redis-check-rdb /tmp/dump.rdb"], stdin_path=path)
    text = (result.stdout + result.stderr).strip()
    if result.exit_code != 0 or "RDB looks OK" not in text:
        return False, text.splitlines()[-1] if text else f"exit {result.exit_code}"
    return True, ""


def restore_rdb(engine: Engine, cid: str, rdb_path: str, data: bytes, timeout: int = 30) -> None:
    """Stop Redis (it must not save over the file), put the RDB in place, start it again."""
    engine.stop(cid, timeout=timeout)
    put_rdb(engine, cid, rdb_path, data)
    engine.start(cid)


def put_rdb(engine: Engine, cid: str, rdb_path: str, data: bytes) -> None:
    """The RDB written into a stopped Redis container (into its data volume), owned as Redis runs."""
    directory, _, name = rdb_path.rpartition("/")
    info = engine.inspect(cid)
    uid = _redis_uid(engine, info.image_id) if info is not None and info.user == "redis" else 0
    engine.write_file(cid, directory, name, data, uid=uid)


def _redis_uid(engine: Engine, image: str) -> int:
    result = engine.cli(["run", "--rm", "--network", "none", "--entrypoint", "id", image, "-u", "redis"])
    return int(result.stdout.strip()) if result.exit_code == 0 else 0
