"""Redis (and Valkey): the only module that names its tools (redis-cli, redis-check-rdb).

Whether the server wants a password, and which, is read from the server itself, never from the
names of environment variables: asked without one, a server that answers PONG has none; else
the password is what its own configuration says (`--requirepass` in its command line, or
`requirepass` / the default user's `>password` in the config file it was started with), read
from inside its container; a REDIS_PASSWORD in its environment is tried before that (no exec to
read it), and each is used only if the server accepts it. Asked from this host where the port is
published, else with redis-cli inside the container. Passwords reach redis-cli as REDISCLI_AUTH
in its environment, never argv.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from stackctl.containers import ContainerInfo, connect_host
from stackctl.engine import Engine
from stackctl.errors import StackError
from stackctl.health.gate import Observation
from stackctl.kinds.base import env_or_file

PORT = 6379
PROBE_TIMEOUT = 2.0
SNAPSHOT_TIMEOUT = 300.0
NEEDS_AUTH = ("NOAUTH", "WRONGPASS", "invalid password", "Authentication required")

# The running server's command line and, when it names one, its config file, read inside its
# container (no ps needed: /proc). Printed as NUL-separated argv, then a marker, then the file.
SERVER_CONFIG_SCRIPT = r"""
for p in /proc/[0-9]*; do
  cmd=$(tr '\0' '\n' < "$p/cmdline" 2>/dev/null | head -n 1)
  case "$cmd" in *redis-server*|*valkey-server*|*keydb-server*) ;; *) continue ;; esac
  cat "$p/cmdline"; printf '\n__CONFIG__\n'
  conf=$(tr '\0' '\n' < "$p/cmdline" | sed -n 2p)
  case "$conf" in --*|"") ;; /*) cat "$conf" 2>/dev/null ;; *) cat "$(readlink "$p/cwd")/$conf" 2>/dev/null ;; esac
  exit 0
done
exit 1
"""

_passwords: dict[tuple[str, str], str | None] = {}  # (container id, started at) -> the password that worked


def config_words(line: str) -> list[str]:
    """One line of a Redis config file split as Redis splits it (sdssplitargs): spaces between
    words, "double quotes" with \\n \\r \\t \\b \\a \\\\ \\" and \\xHH escapes, 'single quotes' with \\'."""
    words, i, n = [], 0, len(line)
    escapes = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "a": "\a"}
    while i < n:
        while i < n and line[i].isspace():
            i += 1
        if i >= n:
            break
        word, quote = [], None
        while i < n:
            c = line[i]
            if quote == '"':
                if c == "\\" and i + 3 < n and line[i + 1] == "x" and all(h in "0123456789abcdefABCDEF"
                                                                       for h in line[i + 2:i + 4]):
                    word.append(chr(int(line[i + 2:i + 4], 16)))
                    i += 4
                    continue
                if c == "\\" and i + 1 < n:
                    word.append(escapes.get(line[i + 1], line[i + 1]))
                    i += 2
                    continue
                if c == '"':
                    quote = None
                    i += 1
                    break
                word.append(c)
            elif quote == "'":
                if c == "\\" and i + 1 < n and line[i + 1] == "'":
                    word.append("'")
                    i += 2
                    continue
                if c == "'":
                    quote = None
                    i += 1
                    break
                word.append(c)
            else:
                if c.isspace():
                    break
                if c in "\"'" and not word:
                    quote = c
                    i += 1
                    continue
                word.append(c)
            i += 1
        words.append("".join(word))
    return words


def configured_passwords(cmdline: list[str], config_text: str) -> list[str]:
    """The passwords a server's own configuration gives it, most specific first: `--requirepass`
    on its command line, then the config file's `requirepass` and the default user's `>password`."""
    found = []
    for index, word in enumerate(cmdline):
        if word == "--requirepass" and index + 1 < len(cmdline):
            found.append(cmdline[index + 1])
    for line in config_text.splitlines():
        words = config_words(line.strip())
        if len(words) >= 2 and words[0].lower() == "requirepass":
            found.append(words[1])
        elif len(words) >= 2 and words[0].lower() == "user" and words[1] == "default":
            found += [w[1:] for w in words[2:] if w.startswith(">")]
    return found


class Refused(Exception):
    """The server answered with an error (its words: NOAUTH, WRONGPASS, LOADING, ...)."""


def ping(host: str, port: int, password: str | None, timeout: float) -> str:
    """PING (after AUTH when a password is given) over one connection from this host: the server's
    PONG, or Refused with what it said instead; OSError when it cannot be reached or does not answer.

    Two commands in the protocol's own framing (RESP arrays of bulk strings, one-line replies),
    written here instead of importing redis-py: its import (~100 ms, it loads its asyncio client)
    was most of what `status` and a no-op `up` spend on Redis. No retries: the gate asks again
    itself, and a refused password is an answer."""
    def command(*words: str) -> bytes:
        encoded = [w.encode() for w in words]
        return f"*{len(encoded)}\r\n".encode() + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in encoded)

    with socket.create_connection((host, port), timeout=timeout) as conn:
        conn.sendall((command("AUTH", password) if password is not None else b"") + command("PING"))
        replies = conn.makefile("rb")
        said = [replies.readline(4096).decode("utf-8", "replace").rstrip("\r\n")
                for _ in range(2 if password is not None else 1)]
    failed = next((line for line in said if line.startswith("-")), None)
    if failed is not None:
        raise Refused(failed[1:])
    if not said[-1]:
        raise ConnectionError("the server closed the connection without an answer")
    if said[-1] != "+PONG":
        raise ConnectionError(f"not a Redis server's answer to PING: {said[-1][:80]!r}")
    return "PONG"


def needs_auth(said: str) -> bool:
    return any(word in said for word in NEEDS_AUTH)


class Redis:
    name = "redis"
    role = "cache"
    port = PORT
    evidence = "ping"  # what a ready verdict from its probe rests on
    probe_library = None  # none: its PING is written here (ping)

    def credentials(self, engine: Engine, info: ContainerInfo) -> str | None:
        """The password the server wants (None: it wants none), read from the server (see the module).
        Kept for the container's life once the server has answered; not while it does not answer yet."""
        key = (info.id, str(info.started_at))
        if key in _passwords:
            return _passwords[key]
        answered, found = self._password(engine, info)
        if answered:
            _passwords[key] = found
        return found

    def _password(self, engine: Engine, info: ContainerInfo) -> tuple[bool, str | None]:
        ping = self._pinger(engine, info)
        answered, said = ping(None)
        if answered:
            return True, None
        if not needs_auth(said):
            return False, None  # not answering yet (loading, starting): nothing is known
        tried = set()
        env = env_or_file(engine, info, "REDIS_PASSWORD")
        if env:  # the usual case, and no exec to read it
            tried.add(env)
            if ping(env)[0]:
                return True, env
        candidates = []
        seen = engine.read(info.id, ["sh", "-c", SERVER_CONFIG_SCRIPT])
        if seen.exit_code == 0:
            head, _, config = seen.stdout.partition("\n__CONFIG__\n")
            candidates += configured_passwords([w for w in head.split("\0") if w], config)
        for candidate in dict.fromkeys(candidates):
            if candidate not in tried and ping(candidate)[0]:
                return True, candidate
        return False, None  # none works: the probes say so (NOAUTH), with nothing guessed

    def _pinger(self, engine: Engine, info: ContainerInfo):
        """PING(password) -> (PONG?, what the server said): from this host where the server's port is
        published (as its clients connect; no exec), else with redis-cli inside its container."""
        def inside(password: str | None) -> tuple[bool, str]:
            answer = self._ask(engine, info.id, password, "PING")
            return answer.exit_code == 0 and "PONG" in answer.stdout, answer.stdout + answer.stderr

        published = info.host_port(PORT)
        host = connect_host(published.host_ip, engine.remote) if published is not None else None
        if host is None:
            return inside

        def from_host(password: str | None) -> tuple[bool, str]:
            try:
                return True, ping(host, published.host_port, password, PROBE_TIMEOUT)
            except Refused as exc:
                return False, str(exc)
            except OSError:
                return inside(password)  # not reachable from here: ask inside

        return from_host

    def _ask(self, engine: Engine, cid: str, password: str | None, *args: str):
        """redis-cli in the container; a command that only reads through Engine.read (all its
        answer, or an error), one that changes something (BGSAVE) once."""
        run = engine.read if _reads(args) else engine.exec
        return run(cid, ["redis-cli", "--no-auth-warning", *args], env={"REDISCLI_AUTH": password} if password else None)

    def forget(self, info: ContainerInfo) -> None:
        _passwords.pop((info.id, str(info.started_at)), None)

    def url(self, host: str, port: int, creds: str | None) -> str:
        return f"redis://{host}:{port}"

    def probe_host(self, host: str, port: int, password: str | None, timeout: float = PROBE_TIMEOUT) -> Observation:
        try:
            return Observation.ready(ping(host, port, password, timeout))
        except Refused as exc:
            if not needs_auth(str(exc)):
                return Observation.pending(str(exc))  # LOADING, BUSY, ...: not serving yet
            if password is None:  # not read from the server yet (it did not answer), or none it gives works
                return Observation.pending(f"the server wants a password that stackctl has not read from it yet "
                                           f"({exc}): none its configuration or REDIS_PASSWORD gives is accepted so far")
            return Observation.failed(f"authentication refused ({exc}): the server's password is not one its "
                                      "configuration or REDIS_PASSWORD gives")
        except OSError as exc:
            return Observation.pending(str(exc) or type(exc).__name__)

    def probe_inside(self, engine: Engine, info: ContainerInfo, within: float = 0.0) -> Observation:
        try:
            password = self.credentials(engine, info)
            if within > 0:  # asked again in there until the server answers at all (redis-cli exits 0 on any reply)
                argv, env = self.client(password, ["PING"])
                result = engine.exec_until(info.id, argv, env=env, within=within)
            else:
                result = self._ask(engine, info.id, password, "PING")
        except Exception as exc:  # the container may be going away
            return Observation.pending(f"{type(exc).__name__}: {exc}")
        output = (result.stdout + result.stderr).strip()
        if result.exit_code == 0 and output.splitlines()[-1:] == ["PONG"]:
            return Observation.ready("PONG")
        if needs_auth(output):
            self.forget(info)  # asked again next time: the server may still be reading its config
            return Observation.pending(f"{output.splitlines()[-1]} (no password its configuration gives is accepted)")
        return Observation.pending(output.splitlines()[-1] if output else f"exit {result.exit_code}")

    def client(self, password: str | None, args: list[str]) -> tuple[list[str], dict[str, str] | None]:
        return ["redis-cli", "--no-auth-warning", *args], ({"REDISCLI_AUTH": password} if password else None)

    # -- snapshots --------------------------------------------------------------------------------
    def cli(self, engine: Engine, cid: str, password: str | None, *args: str) -> str:
        return _answer(self._ask(engine, cid, password, *args), args)

    def _bgsave(self, engine: Engine, cid: str, password: str | None, started) -> None:
        """BGSAVE, sent once. The engine can hand back an exec's output empty with exit 0 (moby#27289;
        seen once under CI load, where it failed a backup): then the server's own INFO says whether a
        save started (`started()`); only if none did is BGSAVE sent again (one more would only save
        again, never lose what is saved)."""
        result = self._ask(engine, cid, password, "BGSAVE")
        if result.exit_code == 0 and not result.stdout.strip():
            if started():
                return
            result = self._ask(engine, cid, password, "BGSAVE")
        reply = _answer(result, ("BGSAVE",))
        if "started" not in reply.lower() and "scheduled" not in reply.lower():
            raise StackError(f"redis BGSAVE: {reply}")

    def appendonly(self, engine: Engine, info: ContainerInfo) -> bool:
        return self.cli(engine, info.id, self.credentials(engine, info), "CONFIG", "GET",
                        "appendonly").splitlines()[-1] == "yes"

    def snapshot(self, engine: Engine, info: ContainerInfo, sink, timeout: float = SNAPSHOT_TIMEOUT) -> dict:
        """BGSAVE, wait until the server counts one more save (INFO's rdb_saves, Redis 7; before it,
        LASTSAVE moving past what it was), then copy the RDB file out."""
        password, cid = self.credentials(engine, info), info.id
        server = dict(line.split(":", 1) for line in self.cli(engine, cid, password, "INFO", "server").splitlines()
                      if ":" in line)
        details = {"version": server.get("redis_version", "").strip(),
                   "keys": int(self.cli(engine, cid, password, "DBSIZE"))}

        def persistence() -> dict:
            return {k: v.strip() for k, v in (line.split(":", 1) for line in self.cli(
                engine, cid, password, "INFO", "persistence").splitlines() if ":" in line)}

        saves = persistence().get("rdb_saves")
        if saves is None:  # LASTSAVE has one-second resolution: start the save in a later second than `before`
            before = int(self.cli(engine, cid, password, "LASTSAVE"))
            while int(time.time()) <= before:
                time.sleep(0.05)

        def started() -> bool:  # a save in progress, or one more done than before BGSAVE
            now = persistence()
            return now.get("rdb_bgsave_in_progress") == "1" or (
                int(now.get("rdb_saves", 0)) > int(saves) if saves is not None
                else int(self.cli(engine, cid, password, "LASTSAVE")) > before)

        self._bgsave(engine, cid, password, started)
        deadline = time.monotonic() + timeout
        while True:
            status = persistence()
            if saves is not None and int(status.get("rdb_saves", 0)) > int(saves) \
                    and status.get("rdb_bgsave_in_progress") == "0":
                break
            if saves is None and int(self.cli(engine, cid, password, "LASTSAVE")) > before:
                status = persistence()
                break
            if time.monotonic() > deadline:
                raise StackError(f"redis did not finish BGSAVE within {timeout:.0f}s")
            time.sleep(0.02)
        if status.get("rdb_last_bgsave_status", "ok") != "ok":
            raise StackError("redis reports its last BGSAVE failed (disk full?)")
        path = self.rdb_path(engine, info)
        engine.read_file(cid, path, sink)
        return {**details, "path": path}

    def rdb_path(self, engine: Engine, info: ContainerInfo) -> str:
        """Where this server keeps its RDB (its own CONFIG dir and dbfilename)."""
        password = self.credentials(engine, info)
        directory = self.cli(engine, info.id, password, "CONFIG", "GET", "dir").splitlines()[-1]
        filename = self.cli(engine, info.id, password, "CONFIG", "GET", "dbfilename").splitlines()[-1]
        return f"{directory}/{filename}"

    def check_rdb(self, engine: Engine, image: str, path: Path) -> tuple[bool, str]:
        result = engine.cli(["run", "--rm", "-i", "--network", "none", "--user", "root", "--entrypoint", "sh", image,
                             "-c", "cat > /tmp/dump.rdb && redis-check-rdb /tmp/dump.rdb"], stdin_path=path)
        text = (result.stdout + result.stderr).strip()
        if result.exit_code != 0 or "RDB looks OK" not in text:
            return False, text.splitlines()[-1] if text else f"exit {result.exit_code}"
        return True, ""

    def restore_rdb(self, engine: Engine, cid: str, rdb_path: str, data: bytes, timeout: int = 30) -> None:
        """Stop Redis (it must not save over the file), put the RDB in place, start it again."""
        engine.stop(cid, timeout=timeout)
        self.put_rdb(engine, cid, rdb_path, data)
        engine.start(cid)

    def put_rdb(self, engine: Engine, cid: str, rdb_path: str, data: bytes) -> None:
        """The RDB written into a stopped Redis container (into its data volume), owned as Redis runs."""
        directory, _, name = rdb_path.rpartition("/")
        info = engine.inspect(cid)
        engine.write_file(cid, directory, name, data, uid=self.rdb_owner(engine, info) if info is not None else 0)

    def rdb_owner(self, engine: Engine, info: ContainerInfo) -> int:
        """The uid the server writes its RDB as (its image's `redis` user, else root), asked of the
        image once per process: a restore asks while everything serves, not while writers wait."""
        if info.user != "redis":
            return 0
        if info.image_id not in _uids:
            result = engine.cli(["run", "--rm", "--network", "none", "--entrypoint", "id", info.image_id, "-u", "redis"])
            _uids[info.image_id] = int(result.stdout.strip()) if result.exit_code == 0 else 0
        return _uids[info.image_id]


_uids: dict[str, int] = {}  # image id -> its redis user's uid


def _answer(result, args: tuple[str, ...]) -> str:
    """redis-cli's answer to ARGS, or StackError saying what it got instead."""
    out = result.stdout.strip()
    if result.exit_code != 0 or not out or out.startswith(("ERR", "NOAUTH", "WRONGPASS")):
        said = out or result.stderr.strip() or f"no answer (exit {result.exit_code})"
        raise StackError(f"redis-cli {' '.join(args)} failed: {said}")
    return out


def _reads(args: tuple[str, ...]) -> bool:
    words = [a.upper() for a in args[:2]]
    return words[:1] in (["PING"], ["INFO"], ["DBSIZE"], ["LASTSAVE"]) or words == ["CONFIG", "GET"]
