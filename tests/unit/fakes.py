"""A fake engine and compose for unit tests of the core without Docker.

FakeEngine has every public method of stackctl.engine.Engine with the same parameters (pinned by
test_fakes.py); it keeps containers and images in dicts, records each call as a line of text
(`engine.calls`), and answers `exec` through a handler the test gives it.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Callable

from stackctl.containers import ContainerInfo, ExecResult
from stackctl.engine import NameTaken


def container(service: str, project: str = "shop", *, image: str = "", env: tuple[str, ...] = (),
              state: str = "running") -> ContainerInfo:
    return ContainerInfo(id=f"{service}-id", name=f"{project}-{service}-1", service=service, project=project,
                         state=state, image=image or f"{service}:latest", image_id=f"sha256:{service}", env=env)


class FakeEngine:
    def __init__(self, containers: list[ContainerInfo] = (), exec_handler: Callable | None = None,
                 host: str | None = None):
        self.host, self.remote = host, None
        self.containers = {c.id: c for c in containers}
        self.named: dict[str, dict] = {}  # containers created by name: name -> labels
        self.images: dict[str, str] = {}  # reference -> id
        self.swarm_state: dict[str, list[dict]] = {}  # services, tasks, nodes, secrets (engine JSON shapes)
        self.calls: list[str] = []
        self.exec_handler = exec_handler or (lambda cid, cmd, env: ExecResult(0, "", ""))
        self.files: dict[tuple[str, str], bytes] = {}
        self.logs: dict[str, str] = {}  # container id -> what it wrote to stdout (access_log)
        self.listening: dict[str, set[int]] = {}  # container id -> TCP ports it listens on
        self.stale_dns: dict[str, tuple[str, ...]] = {}  # name -> what the DNS answers instead (swarm mode)
        self.volumes: dict[str, dict[str, str]] = {}  # name -> labels
        self.registry: dict[str, str] = {}  # repo:tag -> the digest its registry gives it

    def version(self) -> dict:
        return {"Version": "fake", "ApiVersion": "1.45"}

    def info(self) -> dict:
        return {"MemTotal": 8 << 30, "DockerRootDir": "/"}

    def project_containers(self, project: str) -> dict[str, ContainerInfo]:
        return {c.service: c for c in self.containers.values() if c.project == project}

    def service_containers(self, project: str, service: str, running_only: bool = False) -> list[ContainerInfo]:
        return [c for c in self.containers.values() if c.project == project and c.service == service
                and (c.state == "running" or not running_only)]

    def running_summaries(self) -> list[dict]:
        return []

    def inspect(self, container: str) -> ContainerInfo | None:
        return self.containers.get(container)

    def labels(self, container: str) -> dict[str, str] | None:
        return self.named.get(container)

    def logs_tail(self, container: str, lines: int = 30) -> str:
        return ""

    def stats(self, container: str) -> dict:
        return {}

    def listening_ports(self, container: str, pid: int) -> set[int] | None:
        return self.listening.get(container)

    def create(self, image: str, *, name: str | None = None, command: list[str] | None = None,
               env: dict[str, str] | None = None, labels: dict[str, str] | None = None,
               entrypoint: list[str] | None = None, network: str = "none") -> str:
        self.calls.append(f"create {name or image}")
        if name in self.named:
            raise NameTaken(f"a container named {name} exists")
        if name:
            self.named[name] = dict(labels or {})
        return name or f"{image}-scratch"

    def start(self, container: str) -> None:
        self.calls.append(f"start {container}")
        self._state(container, "running")

    def stop(self, container: str, timeout: int = 10) -> bool:
        self.calls.append(f"stop {container}")
        return self._state(container, "exited")

    def restart(self, container: str, timeout: int = 10) -> None:
        self.calls.append(f"restart {container}")

    def pause(self, container: str) -> None:
        self.calls.append(f"pause {container}")

    def unpause(self, container: str) -> None:
        self.calls.append(f"unpause {container}")

    def rename(self, container: str, name: str) -> None:
        self.calls.append(f"rename {container} {name}")
        if container in self.containers:
            self.containers[container] = replace(self.containers[container], name=name)

    def remove(self, container: str, *, volumes: bool = False) -> bool:
        self.calls.append(f"remove {container}")
        return self.named.pop(container, None) is not None or self.containers.pop(container, None) is not None

    def reconnect(self, container: str, forget: tuple[str, ...] = ()) -> None:
        self.calls.append(f"reconnect {container}")
        info = self.containers.get(container)
        if info is not None:
            self.stale_dns.pop(info.name, None)  # rejoined: the engine's DNS answers its current name

    def exec(self, container: str, cmd: list[str], env: dict | None = None, user: str | None = None) -> ExecResult:
        if cmd[:2] == ["getent", "hosts"]:  # the engine's DNS as a proxy asks it
            named = [c for c in self.containers.values() if c.name == cmd[2]]
            if not named or not named[0].ips:
                return ExecResult(127, "", "")  # nothing known to answer with: as an image without getent
            ips = self.stale_dns.get(cmd[2], named[0].ips)
            return ExecResult(0 if ips else 2, "".join(f"{ip} {cmd[2]}\n" for ip in ips), "")
        self.calls.append(f"exec {container} {' '.join(cmd)}")
        return self.exec_handler(container, cmd, env)

    def read(self, container: str, cmd: list[str], env: dict | None = None) -> ExecResult:
        return self.exec(container, cmd, env)  # the fake's answers are never cut short

    def exec_until(self, container: str, cmd: list[str], env: dict | None = None, *, within: float = 0.0,
                   give_up_on: tuple[str, ...] = ()) -> ExecResult:
        return self.exec(container, cmd, env)  # the fake answers at once: one run is all there is

    def exec_to_file(self, container: str, cmd: list[str], sink, env: dict | None = None) -> ExecResult:
        self.calls.append(f"exec {container} {' '.join(cmd)} > file")
        result = self.exec_handler(container, cmd, env)
        sink.write(result.stdout.encode())
        return ExecResult(result.exit_code, "", result.stderr)

    def read_file(self, container: str, path: str, sink) -> None:
        sink.write(self.files.get((container, path), b""))

    def write_file(self, container: str, directory: str, name: str, data: bytes, uid: int = 0) -> None:
        self.calls.append(f"write {container} {directory}/{name} ({len(data)} bytes)")
        self.files[(container, f"{directory}/{name}")] = data

    def access_log(self, container: str, since: float) -> str:
        self.calls.append(f"access log {container} since {since:g}")
        return self.logs.get(container, "")

    def put_tree(self, container: str, directory: str, source, name: str, meter=None) -> None:
        self.calls.append(f"put {container} {directory}/{name} < {source}")
        if meter is not None:
            meter.count(sum(p.stat().st_size for p in source.iterdir() if p.is_file()))
            meter.finish()

    def put_files(self, container: str, files: list) -> None:
        self.calls.append(f"put {container} {' '.join(inside for inside, _ in files)}")
        for inside, host in files:
            self.files[(container, inside)] = Path(host).read_bytes()

    def image_id(self, reference: str) -> str | None:
        return self.images.get(reference)

    def image_exposed(self, reference: str) -> list[int]:
        return []

    def image_digest(self, reference: str) -> str | None:
        return None

    def push(self, reference: str, meter=None) -> str:
        self.calls.append(f"push {reference}")
        return "sha256:" + hashlib.sha256(str(self.images.get(reference)).encode()).hexdigest()

    def pull(self, reference: str, meter=None) -> None:
        self.calls.append(f"pull {reference}")
        self.images[reference] = "sha256:" + reference.rsplit(":", 1)[-1][:12]

    def registry_digest(self, reference: str) -> str | None:
        return self.registry.get(reference)

    def image_tags(self, repository: str) -> list[str]:
        return [ref for ref in self.images if ref.rpartition(":")[0] == repository]

    def untag(self, reference: str) -> bool:
        self.calls.append(f"untag {reference}")
        return self.images.pop(reference, None) is not None

    def import_image(self, data: bytes, reference: str) -> None:
        self.images[reference] = f"sha256:{reference}"

    def cli(self, args: list[str], stdin_path=None, timeout: float | None = None,
            stdin_data: bytes | None = None, env: dict[str, str] | None = None, meter=None) -> ExecResult:
        self.calls.append(f"docker {' '.join(args[:3])}")
        if meter is not None and stdin_path is not None:  # fed as the engine feeds it: counted, then finished
            from pathlib import Path

            meter.count(Path(stdin_path).stat().st_size)
            meter.finish()
        return self.exec_handler(None, ["docker", *args], {"stdin": stdin_data} if stdin_data is not None else None)

    def tag(self, image: str, reference: str) -> None:
        self.calls.append(f"tag {image} {reference}")
        self.images[reference] = image

    # -- swarm: a swarm of one manager with the services and tasks a test puts in --------------
    def swarm(self) -> dict:
        return {"LocalNodeState": "active", "ControlAvailable": True, "NodeID": "node1"}

    def stack_services(self, stack: str) -> list[dict]:
        return [s for s in self.swarm_state.get("services", []) if s["Spec"]["Name"].startswith(f"{stack}_")]

    def swarm_service(self, name: str) -> dict | None:
        return next((s for s in self.swarm_state.get("services", []) if s["Spec"]["Name"] == name), None)

    def swarm_tasks(self, service: dict) -> list[dict]:
        return [t for t in self.swarm_state.get("tasks", []) if t.get("ServiceID") == service.get("ID")]

    def swarm_nodes(self) -> list[dict]:
        return self.swarm_state.get("nodes", [])

    def label_node(self, node_id: str, key: str, value: str) -> None:
        self.calls.append(f"label node {node_id} {key}={value}")

    def swarm_secrets(self, label: str) -> list[dict]:
        return self.swarm_state.get("secrets", [])

    def create_secret(self, name: str, data: bytes, labels: dict[str, str]) -> None:
        self.calls.append(f"create secret {name}")

    def remove_secret(self, secret_id: str) -> bool:
        self.calls.append(f"remove secret {secret_id}")
        return True

    def stack_containers(self, stack: str, running_only: bool = False) -> list[dict]:
        return []

    def task_containers(self, stack: str) -> dict:
        return {c.service: c for c in self.containers.values() if c.project == stack}

    def stack_networks(self, stack: str) -> list[dict]:
        return []

    def remove_network(self, network_id: str) -> str | None:
        self.calls.append(f"remove network {network_id}")
        return None

    def create_volume(self, name: str, labels: dict[str, str]) -> dict[str, str]:
        self.calls.append(f"create volume {name}")
        return dict(self.volumes.setdefault(name, dict(labels)))

    def volume_labels(self, name: str) -> dict[str, str] | None:
        return dict(self.volumes[name]) if name in self.volumes else None

    def remove_volume(self, name: str) -> bool:
        self.calls.append(f"remove volume {name}")
        return self.volumes.pop(name, None) is not None or True

    def cli_pipe(self, args: list[str], merge_stderr: bool = False):
        self.calls.append(f"docker {' '.join(args[:3])} <pipe>")
        return FakePipe(self.exec_handler(None, ["docker", *args], None))

    def _state(self, container: str, state: str) -> bool:
        if container not in self.containers:
            return False
        self.containers[container] = replace(self.containers[container], state=state)
        return True


class FakePipe:
    """A process fed through .stdin that answers with a given result (a pg_restore full read)."""

    def __init__(self, result: ExecResult):
        import io

        self.result, self.stdin, self.returncode = result, io.BytesIO(), None

    def communicate(self):
        self.returncode = self.result.exit_code
        return self.result.stdout.encode(), self.result.stderr.encode()

    def poll(self):
        return self.returncode

    def kill(self):
        self.returncode = -9

    def wait(self):
        return self.returncode


class FakeCompose:
    def __init__(self, engine: FakeEngine):
        self.engine = engine

    def stop(self, services: list[str] | None = None) -> None:
        self.engine.calls.append(f"compose stop {' '.join(services or [])}")

    def start(self, services: list[str]) -> None:
        self.engine.calls.append(f"compose start {' '.join(services)}")

    def start_alone(self, services: list[str]) -> None:
        self.engine.calls.append(f"compose start {' '.join(services)} (alone)")

    def environment(self) -> dict[str, str]:
        return {}

    def pull(self, services: list[str]) -> None:
        self.engine.calls.append(f"compose pull {' '.join(services)}")

    def config(self) -> dict:
        return {"services": {}}


def fake_stack(root: Path, model, engine: FakeEngine):
    """A real Stack over a scratch project whose model, engine and compose are given."""
    from stackctl.project import Project
    from stackctl.stack import Stack

    (root / "compose.yaml").write_text("services: {}\n")
    stack = Stack(Project(root=root, files=(root / "compose.yaml",), name=model.name))
    stack.__dict__.update(model=model, engine=engine, compose=FakeCompose(engine))
    return stack


class FakePostgres:
    """A Postgres server simulated from the commands stackctl sends it (an exec handler): its
    databases (name -> whose data, tables with rows) and roles, so tests assert which data ends up
    named what. `fail`: a command word whose next run fails (pg_restore, pg_dump, start...)."""

    def __init__(self, databases: dict[str, dict] | None = None, roles: set[str] | None = None):
        import json as _json

        self.json = _json
        self.databases = databases if databases is not None else {
            "shop": {"data": "live data", "owner": "app", "tables": {"public.stops": 3}},
            "postgres": {"data": "system", "owner": "app", "tables": {}}}
        self.roles = roles if roles is not None else {"app"}
        self.fail: set[str] = set()
        self.restored_rows: dict[str, int] | None = None  # rows a pg_restore leaves (default: the dump's)
        self.dump_rows = {"public.stops": 3}  # what a full read of any dump counts
        self.on_restore_into = None
        # Schemas by database (what pg_dump --schema-only prints); None: not simulated (it fails).
        self.schemas: dict[str, str] | None = None
        self.restored_schema = "v1"  # the schema a restore-into leaves
        self.busy: list[int] = []  # sessions inside a transaction, one answer per ask (then 0)

    def __call__(self, cid, cmd, env):
        import re

        if cmd[0] == "docker":
            return self.docker(cmd[1:], env)
        if cmd[0] == "redis-cli":
            return ExecResult(0, "PONG\n" if "PING" in cmd else "dir\nno\n", "")
        if cmd[0] == "pg_dump" and "--schema-only" in cmd:
            if self.schemas is None:
                return ExecResult(1, "", "pg_dump: not simulated")
            return ExecResult(0, f"-- dumped now\nCREATE SCHEMA {self.schemas.get(cmd[-1], 'v1')};\n", "")
        if cmd[0] == "pg_dump":
            if "pg_dump" in self.fail:
                return ExecResult(1, "", "pg_dump: error: connection lost")
            return ExecResult(0, "PGDMP " + cmd[-1], "")
        if cmd[0] == "pg_dumpall":
            return ExecResult(0, "CREATE ROLE app;\nALTER ROLE app WITH SUPERUSER;\nCREATE ROLE reader;\n"
                                 "-- PostgreSQL database cluster dump complete\n", "")
        sql, db = cmd[-1], cmd[cmd.index("-d") + 1] if "-d" in cmd else None
        if sql.startswith("BEGIN; "):  # statements in one transaction: each applied, the first failure ends it
            for statement in sql.split("; ")[1:-1]:
                result = self(cid, [*cmd[:-1], statement], env)
                if result.exit_code != 0:
                    return result
            return ExecResult(0, "", "")
        if "current_setting('server_version_num')" in sql:
            return ExecResult(0, "160004|16.4|3.4.2\n", "")
        if "json_agg" in sql:
            return ExecResult(0, self.json.dumps([{"name": n, "owner": d["owner"], "encoding": "UTF8", "collate": "C",
                                                   "ctype": "C"} for n, d in sorted(self.databases.items())]), "")
        if sql.startswith("SELECT rolname"):
            return ExecResult(0, "\n".join(sorted(self.roles)) + "\n", "")
        if "pg_stat_activity" in sql and "count(*)" in sql:
            return ExecResult(0, f"{self.busy.pop(0) if self.busy else 0}\n", "")
        if "format('%I.%I'" in sql:  # the migration tools' tables: none
            return ExecResult(0, "", "")
        if "pg_depend" in sql:  # the tables of a database
            tables = self.databases[db]["tables"]
            return ExecResult(0, "".join(f"{t}|false\n" for t in tables), "")
        if "count(*)" in sql:
            tables = self.databases[db]["tables"]
            return ExecResult(0, "".join(f"{t}|{n}\n" for t, n in tables.items()), "")
        if m := re.match(r'CREATE DATABASE "(\w+)"(?: OWNER "(\w+)")?', sql):
            if m[2] and m[2] not in self.roles:
                return ExecResult(1, "", f'ERROR:  role "{m[2]}" does not exist')
            self.databases[m[1]] = {"data": "empty", "owner": m[2] or "app", "tables": {}}
        elif m := re.match(r'DROP DATABASE IF EXISTS "(\w+)"', sql):
            self.databases.pop(m[1], None)
        elif m := re.match(r'ALTER DATABASE "(\w+)" RENAME TO "(\w+)"', sql):
            if db in (m[1], m[2]):
                return ExecResult(1, "", "ERROR:  current database cannot be renamed")
            self.databases[m[2]] = self.databases.pop(m[1])
            if self.schemas is not None and m[1] in self.schemas:
                self.schemas[m[2]] = self.schemas.pop(m[1])
        elif m := re.match(r'DROP ROLE IF EXISTS "(\w+)"', sql):
            self.roles.discard(m[1])
        return ExecResult(0, "", "")

    def docker(self, args, env):
        if args[0] == "run":  # a full read of a dump, in a throwaway container
            return ExecResult(0, "".join(f"ROWS {t} {n}\n" for t, n in self.dump_rows.items()) + "EXIT 0\n", "")
        if args[:2] == ["exec", "-i"] and "pg_restore" in args:
            if "pg_restore" in self.fail:
                return ExecResult(1, "", "pg_restore: error: could not read from input file: end of file\n"
                                         "Command was: COPY public.stops (id, name) FROM stdin;\n")
            fresh = args[args.index("-d") + 1]
            self.databases[fresh].update(data="backup data", tables=dict(self.restored_rows or {"public.stops": 3}))
            if self.schemas is not None:
                self.schemas[fresh] = self.restored_schema
            if self.on_restore_into:
                self.on_restore_into(fresh)
            return ExecResult(0, "", "")
        if args[:2] == ["exec", "-i"] and "psql" in args:  # roles, from the set's roles file on stdin
            for line in (env or {}).get("stdin", b"").decode().splitlines():
                if line.startswith("CREATE ROLE "):
                    self.roles.add(line.split()[2].rstrip(";"))
            return ExecResult(0, "", "")
        return ExecResult(0, "", "")


class Transfers:
    """A reporter that keeps what transfer() was told: (what, done, total) in order."""

    def __init__(self):
        self.transfers: list[tuple[str, int, int | None]] = []

    def phase(self, text):
        pass

    def service(self, *args, **kwargs):
        pass

    def note(self, text):
        pass

    def transfer(self, what, done, total):
        self.transfers.append((what, done, total))

    def ended(self) -> dict[str, tuple[int, int]]:
        return {what: (done, total) for what, done, total in self.transfers if total is not None and done >= total}
