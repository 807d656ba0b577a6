"""The Docker engine, reached through its SDK (and, for streams into a container's stdin, the
docker CLI): the only module that talks to the engine. Every public method's failures come out
as a StackError (stackctl.failures); what it returns is plain data (stackctl.containers).

The engine's address is the stack's (`Engine(host)`), never read again from the environment.
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path
from urllib.parse import urlparse

from stackctl.containers import ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL, STACK_LABEL, ContainerInfo, ExecResult, \
    container_from_inspect
from stackctl.errors import StackError
from stackctl.failures import translatable, translate


END_OF_OUTPUT = "stackctl-end-of-output"
READ_ATTEMPTS = 3
EVERY = 0.1  # seconds between two runs of a probe that waits inside its container (exec_until)


def _whole(result: ExecResult) -> ExecResult | None:
    """An answer framed by END_OF_OUTPUT (the command's output, then a line with its exit code;
    Engine.read, Engine.exec_until) without that frame, or None when the frame is not whole: the
    answer was cut short in transport, or the framing shell never ran."""
    body, sep, tail = result.stdout.rpartition(f"\n{END_OF_OUTPUT} ")
    if sep and tail == f"{result.exit_code}\n":
        return ExecResult(result.exit_code, body, result.stderr)
    return None


class NameTaken(StackError):
    """A container of that name exists already (creating it is the engine's atomic test)."""


def address_ok(host: str) -> bool:
    """An engine address the SDK can dial: unix:// with a path, tcp/http(s)/ssh with a host."""
    url = urlparse(host)
    if url.scheme in ("unix", "npipe"):
        return bool(url.path)
    try:
        url.port  # noqa: B018 (raises on a port that is not one)
    except ValueError:
        return False
    return url.scheme in ("tcp", "http", "https", "ssh") and bool(url.hostname) and not any(c.isspace() for c in host)


def remote_hostname(host: str | None) -> str | None:
    """The engine's machine when it is not this one (ssh://, tcp://): where published ports are."""
    url = urlparse(host or "unix://")
    if url.scheme in ("ssh", "tcp", "http", "https") and url.hostname:
        return url.hostname
    return None


def _docker_sdk(ssh: bool):
    """docker-py, without paramiko unless the engine is reached over ssh: docker-py's ssh transport
    is optional (skipped when paramiko does not import), and paramiko is ~90 ms of every command's
    start. A later ssh engine in the same process gets the transport then."""
    import sys

    if "docker" not in sys.modules and not ssh and "paramiko" not in sys.modules:
        sys.modules["paramiko"] = None  # an import of it fails: docker-py goes on without ssh
        try:
            import docker
        finally:
            if sys.modules.get("paramiko", 0) is None:
                del sys.modules["paramiko"]
    import docker

    if ssh and not hasattr(docker.transport, "SSHHTTPAdapter"):
        import docker.api.client
        from docker.transport.sshconn import SSHHTTPAdapter

        docker.transport.SSHHTTPAdapter = docker.api.client.SSHHTTPAdapter = SSHHTTPAdapter
    return docker


class _CountedReader:
    """A spooled archive read by the engine's client (its length known, so sent with one
    Content-Length), counted for a meter as the share of the files' bytes sent so far."""

    def __init__(self, spool, files: int, meter):
        self.spool, self.files, self.meter = spool, files, meter
        self.length = spool.seek(0, 2)
        spool.seek(0)
        self.sent = 0

    def __len__(self) -> int:
        return self.length

    def read(self, size: int = -1) -> bytes:
        chunk = self.spool.read(size)
        self.sent += len(chunk)
        if self.length:
            self.meter.count(min(self.files, self.sent * self.files // self.length) - self.meter.done)
        return chunk


class Engine:
    """A thin handle on one engine; one low-level client per thread (requests sessions)."""

    def __init__(self, host: str | None = None):
        self.host = host or None
        if self.host and not address_ok(self.host):
            from stackctl.errors import EXIT_USAGE

            raise StackError(f"{self.host!r} is not a Docker engine address",
                             "use unix:///path/docker.sock, tcp://host:port or ssh://user@host (DOCKER_HOST, -H)",
                             EXIT_USAGE)
        self.remote = remote_hostname(self.host)
        self._local = threading.local()
        from stackctl import engine_http

        # Reads and the lock's volume go through the standard library where it can reach the
        # engine (engine_http): a command that only reads, or a no-op up, never imports the SDK.
        self._http = engine_http.for_address(self.host)
        if self._http is None:
            self._api  # connect now: an unreachable engine is reported here, once
        else:
            try:
                self._http.ping()
            except (engine_http.Unreachable, engine_http.Refused) as exc:
                from stackctl.failures import engine_gone

                # a Refused: something answers HTTP there, and it is not an engine
                said = exc if isinstance(exc, engine_http.Unreachable) else \
                    f"not a Docker engine: GET /_ping answered HTTP {exc.status_code}"
                raise engine_gone(self.host, said) from None

    @property
    def _simple(self):
        """Who answers the engine's simple requests (engine_http): the light client, else the SDK's."""
        return self._http or self._api

    @property
    def _api(self):
        client = getattr(self._local, "client", None)
        if client is None:
            docker = _docker_sdk(ssh=str(self.host or os.environ.get("DOCKER_HOST", "")).startswith("ssh://"))
            from docker.errors import DockerException

            kwargs = docker.utils.kwargs_from_env()
            if self.host:
                kwargs["base_url"] = self._dial()
            if str(kwargs.get("base_url", "")).startswith("ssh://"):  # no tunnel: docker-py's own ssh, mended
                kwargs["use_ssh_client"] = True  # the system's ssh, its keys and known_hosts
                from stackctl import engine_ssh

                engine_ssh.mend()
            try:
                client = docker.APIClient(version="auto", timeout=30, **kwargs)
            except DockerException as exc:
                from stackctl.failures import engine_gone

                raise engine_gone(self.host or kwargs.get("base_url"), exc) from None
            self._local.client = client
        return client

    # -- the engine ----------------------------------------------------------------------------
    def version(self) -> dict:
        return self._simple.version()

    def info(self) -> dict:
        return self._simple.info()

    # -- containers: reading -------------------------------------------------------------------
    def project_containers(self, project: str) -> dict[str, ContainerInfo]:
        """Service name -> its container (one-off `run` containers excluded)."""
        found = {}
        for summary in self._simple.containers(all=True, filters={"label": f"{PROJECT_LABEL}={project}"}):
            if (summary.get("Labels") or {}).get(ONEOFF_LABEL) == "True":
                continue
            info = self.inspect(summary["Id"])
            if info is not None:
                found[info.service] = info
        return found

    def service_containers(self, project: str, service: str, running_only: bool = False) -> list[ContainerInfo]:
        """Every container of a service (a rollout runs several), oldest first; `running_only`:
        those running (what serves), the others neither listed nor inspected."""
        found = []
        filters = {"label": [f"{PROJECT_LABEL}={project}", f"{SERVICE_LABEL}={service}"]}
        for summary in self._simple.containers(all=not running_only, filters=filters):
            if (summary.get("Labels") or {}).get(ONEOFF_LABEL) == "True":
                continue
            info = self.inspect(summary["Id"])
            if info is not None and (info.state == "running" or not running_only):
                found.append((summary.get("Created", 0), info))
        return [info for _, info in sorted(found, key=lambda pair: pair[0])]

    def running_summaries(self) -> list[dict]:
        """The engine's summaries of running containers (names, labels, published ports)."""
        return self._simple.containers()

    def inspect(self, container: str) -> ContainerInfo | None:
        try:
            return container_from_inspect(self._simple.inspect_container(container))
        except _missing():
            return None

    def labels(self, container: str) -> dict[str, str] | None:
        try:
            return self._simple.inspect_container(container)["Config"]["Labels"] or {}
        except _missing():
            return None

    def logs_tail(self, container: str, lines: int = 30) -> str:
        try:
            raw = self._api.logs(container, stdout=True, stderr=True, tail=lines)
        except _missing():
            return ""
        return raw.decode("utf-8", "replace")

    def access_log(self, container: str, since: float) -> str:
        """What a container wrote to stdout since a Unix time (a proxy's access log)."""
        try:
            raw = self._api.logs(container, stdout=True, stderr=False, since=int(since))
        except _missing():
            return ""
        return raw.decode("utf-8", "replace")

    def listening_ports(self, container: str, pid: int) -> set[int] | None:
        """The TCP ports a running container listens on, read from its own network namespace
        (/proc/net/tcp and tcp6): the host's /proc/<pid>/net for a local engine, else inside the
        container. None when neither can be read."""
        found: set[int] | None = None
        if self.remote is None and pid:
            try:
                found = set()
                for name in ("tcp", "tcp6"):
                    with open(f"/proc/{pid}/net/{name}") as table:
                        found |= listening_in(table.read())
                return found
            except OSError:
                found = None
        from docker.errors import APIError

        try:
            result = self.read(container, ["cat", "/proc/net/tcp", "/proc/net/tcp6"])
        except (StackError, APIError):
            return None
        return listening_in(result.stdout) if result.stdout.strip() else None

    def stats(self, container: str) -> dict:
        return self._api.stats(container, stream=False)

    # -- containers: changing ------------------------------------------------------------------
    def create(self, image: str, *, name: str | None = None, command: list[str] | None = None,
               env: dict[str, str] | None = None, labels: dict[str, str] | None = None,
               entrypoint: list[str] | None = None, network: str = "none") -> str:
        """A container with no network unless one is named (scratch work, the lock, a tool run in
        a throwaway container); its id. NameTaken if `name` exists."""
        from docker.errors import APIError

        try:
            created = self._api.create_container(image, command=command, name=name, environment=env, labels=labels,
                                                 entrypoint=entrypoint,
                                                 host_config=self._api.create_host_config(network_mode=network))
        except APIError as exc:
            if exc.status_code == 409 and name:
                raise NameTaken(f"a container named {name} exists") from None
            raise
        return created["Id"]

    def start(self, container: str) -> None:
        self._api.start(container)

    def stop(self, container: str, timeout: int = 10) -> bool:
        """Stop it (SIGTERM, then SIGKILL after timeout); False when there was none."""
        try:
            self._api.stop(container, timeout=timeout)
        except _missing():
            return False
        return True

    def pause(self, container: str) -> None:
        """Freeze every process of a container (the cgroup freezer): it runs nothing, and what is
        sent to it waits, until unpause."""
        self._api.pause(container)

    def unpause(self, container: str) -> None:
        self._api.unpause(container)

    def restart(self, container: str, timeout: int = 10) -> None:
        self._api.restart(container, timeout=timeout)

    def rename(self, container: str, name: str) -> None:
        """A new name. The engine's DNS follows it on the container's networks at once, except on
        an engine in swarm mode (20.10 keeps answering the old name): see reconnect."""
        self._api.rename(container, name)

    def reconnect(self, container: str, forget: tuple[str, ...] = ()) -> None:
        """Each of the container's networks left and joined again with the same aliases (less
        `forget`): the engine's DNS then answers its current name. Only for a container that
        takes no traffic yet (its connections on those networks are cut)."""
        raw = self._api.inspect_container(container)
        for network, settings in ((raw.get("NetworkSettings") or {}).get("Networks") or {}).items():
            aliases = [a for a in (settings.get("Aliases") or []) if a not in forget and a != raw["Id"][:12]]
            self._api.disconnect_container_from_network(container, network)
            self._api.connect_container_to_network(container, network, aliases=aliases or None)

    def remove(self, container: str, *, volumes: bool = False) -> bool:
        """Remove it, running or not; False when there was none."""
        try:
            self._api.remove_container(container, force=True, v=volumes)
        except _missing():
            return False
        return True

    def exec(self, container: str, cmd: list[str], env: dict | None = None, user: str | None = None) -> ExecResult:
        """Run a command in a running container; secrets go in env, never in cmd."""
        exec_id = self._api.exec_create(container, cmd, environment=env, user=user or "")["Id"]
        out, err = self._api.exec_start(exec_id, demux=True)
        code = self._api.exec_inspect(exec_id)["ExitCode"]
        return ExecResult(code, (out or b"").decode("utf-8", "replace"), (err or b"").decode("utf-8", "replace"))

    def read(self, container: str, cmd: list[str], env: dict | None = None) -> ExecResult:
        """Run a command that only reads (a query, a count) and return its whole output, or fail
        saying it could not. The engine can hand back an exec's stdout empty or cut short with exit
        0 (moby#27289, docker-py#2042; seen here under load): an empty answer would then read as
        "no tables". So the command runs under the container's sh, which prints an end line with
        its exit code after it; an answer without that line was cut short in transport, and the
        command (a read: running it again changes nothing) runs again, at most READ_ATTEMPTS times."""
        wrapped = ["sh", "-c", f'"$@"; code=$?; printf "\\n{END_OF_OUTPUT} %s\\n" "$code"; exit $code', "sh", *cmd]
        for _ in range(READ_ATTEMPTS):
            result = self.exec(container, wrapped, env=env)
            whole = _whole(result)
            if whole is not None:
                return whole
            if result.exit_code in (126, 127):  # no sh in this container: the bare command's answer is all there is
                return self.exec(container, cmd, env=env)
        raise StackError(f"the engine cut short the output of {cmd[0]} in container {container[:12]} {READ_ATTEMPTS} "
                         "times", "see the engine's load (docker info, the host's CPU), then run the command again")

    def exec_until(self, container: str, cmd: list[str], env: dict | None = None, *, within: float = 0.0,
                   give_up_on: tuple[str, ...] = ()) -> ExecResult:
        """Run a probe in the container again every EVERY seconds until it exits 0, its output holds
        one of `give_up_on` (waiting longer will not help), or about `within` seconds have passed:
        one exec where a gate would make one per look. An exec costs the engine ~45 ms of CPU
        (runc, the shim, dockerd: measured here), the probe itself a few. The last run's output
        (stdout and stderr together) and exit code, framed as `read` frames it: an answer without
        its end line did not come from the loop (no sh in the image: the command runs once as it
        is; or cut short in transport: as it came, for the next look). With `within` 0, one run."""
        import shlex

        if within <= 0:
            return self.exec(container, cmd, env=env)
        stop = "".join(f"  case \"$out\" in *{shlex.quote(text)}*) break;; esac\n" for text in give_up_on)
        script = (f"end=$(( $(date +%s) + {max(1, round(within))} ))\n"
                  "while :; do\n"
                  '  out=$("$@" 2>&1); code=$?\n'
                  '  [ "$code" -eq 0 ] && break\n'
                  f"{stop}"
                  '  [ "$(date +%s)" -lt "$end" ] || break\n'
                  f"  sleep {EVERY}\n"
                  "done\n"
                  f'printf "%s\\n{END_OF_OUTPUT} %s\\n" "$out" "$code"; exit "$code"')  # framed as read frames
        result = self.exec(container, ["sh", "-c", script, "sh", *cmd], env=env)
        whole = _whole(result)
        if whole is not None:
            return whole
        if result.exit_code in (126, 127):  # no sh in this image: the bare command's answer is all there is
            return self.exec(container, cmd, env=env)
        return result

    def exec_to_file(self, container: str, cmd: list[str], sink, env: dict | None = None) -> ExecResult:
        """Stream a command's stdout into sink.write() (a backup), keeping its stderr."""
        exec_id = self._api.exec_create(container, cmd, environment=env)["Id"]
        errors = bytearray()
        for out, err in self._api.exec_start(exec_id, stream=True, demux=True):
            if out:
                sink.write(out)
            if err:
                errors += err
        code = self._api.exec_inspect(exec_id)["ExitCode"]
        return ExecResult(code, "", errors.decode("utf-8", "replace"))

    def read_file(self, container: str, path: str, sink) -> None:
        """Copy one file out of a container (running or not) into sink.write()."""
        import tarfile

        stream, _ = self._api.get_archive(container, path)
        with tarfile.open(fileobj=_ChunkReader(stream), mode="r|") as tar:
            for member in tar:
                if member.isfile():
                    src = tar.extractfile(member)
                    while chunk := src.read(1 << 20):
                        sink.write(chunk)
                    return
        raise StackError(f"{path} not found in container {container[:12]}")

    def write_file(self, container: str, directory: str, name: str, data: bytes, uid: int = 0) -> None:
        """Put one file into a container's directory (running or not)."""
        import io
        import tarfile

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.uid, info.gid = len(data), 0o600, uid, uid
            tar.addfile(info, io.BytesIO(data))
        self._api.put_archive(container, directory, buf.getvalue())

    def put_tree(self, container: str, directory: str, source: Path, name: str, meter=None) -> None:
        """Copy a host folder into a container as `directory/name` (files 0600, root's), through
        an unnamed temporary file beside it: never held in memory, however large. A `meter`
        (stackctl.report.Metered) counts the files' bytes as the engine takes them."""
        import tarfile
        import tempfile

        with tempfile.TemporaryFile(dir=source.parent) as spool:
            with tarfile.open(fileobj=spool, mode="w") as tar:
                folder = tarfile.TarInfo(name)
                folder.type, folder.mode = tarfile.DIRTYPE, 0o700
                tar.addfile(folder)
                for path in sorted(source.iterdir()):
                    if path.is_file() and not path.is_symlink():
                        info = tar.gettarinfo(str(path), arcname=f"{name}/{path.name}")
                        info.uid = info.gid = 0
                        info.uname = info.gname = ""
                        info.mode = 0o600
                        with open(path, "rb") as data:
                            tar.addfile(info, data)
            spool.seek(0)
            if meter is None:
                self._api.put_archive(container, directory, spool)
                return
            files = sum(p.stat().st_size for p in source.iterdir() if p.is_file() and not p.is_symlink())
            self._api.put_archive(container, directory, _CountedReader(spool, files, meter))
            meter.finish()

    def put_files(self, container: str, files: list[tuple[str, Path]]) -> None:
        """Copy host files into a container at absolute paths (the dev loop's sync): one archive,
        owned by root and readable by the container's user, modes as on the host."""
        import io
        import tarfile

        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for inside, host in files:
                info = tar.gettarinfo(str(host), arcname=inside.lstrip("/"))
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mode |= 0o444
                with open(host, "rb") as data:
                    tar.addfile(info, data)
        self._api.put_archive(container, "/", buf.getvalue())

    # -- images --------------------------------------------------------------------------------
    def image_id(self, reference: str) -> str | None:
        try:
            return self._simple.inspect_image(reference)["Id"]
        except _missing():
            return None

    def image_digest(self, reference: str) -> str | None:
        """`repo@sha256:...` for an image a registry gave (its RepoDigest for that repository), or None."""
        try:
            digests = self._simple.inspect_image(reference).get("RepoDigests") or []
        except _missing():
            return None
        repo = reference.split("@")[0]
        repo = repo.rpartition(":")[0] if ":" in repo.rsplit("/", 1)[-1] else repo
        return next((d for d in digests if d.split("@")[0] == repo), None)

    def image_exposed(self, reference: str) -> list[int]:
        """The TCP ports an image EXPOSEs ([] when the engine does not have it)."""
        try:
            ports = self._simple.inspect_image(reference)["Config"].get("ExposedPorts") or {}
        except _missing():
            return []
        return sorted(int(p.split("/")[0]) for p in ports if p.endswith("/tcp") and p.split("/")[0].isdigit())

    def image_tags(self, repository: str) -> list[str]:
        """Every repo:tag the engine holds for a repository."""
        return [ref for summary in self._simple.images(name=repository) for ref in summary.get("RepoTags") or []]

    def tag(self, image: str, reference: str) -> None:
        repository, _, tag = reference.rpartition(":")
        self._api.tag(image, repository, tag)

    def untag(self, reference: str) -> bool:
        """Remove a tag; False when a container still uses the image (it is kept)."""
        from docker.errors import APIError

        try:
            self._api.remove_image(reference)
        except APIError as exc:
            if exc.status_code == 409:
                return False
            raise
        return True

    def push(self, reference: str, meter=None) -> str:
        """Push `repo:tag` with the docker CLI's login; the digest the registry gave it. With a
        `meter` (stackctl.report.Metered), the bytes of its layers as they go."""
        repository, _, tag = reference.rpartition(":")
        return _digest_of(self._api.push(repository, tag=tag, stream=True, decode=True), reference, "push", meter)

    def pull(self, reference: str, meter=None) -> None:
        """Pull `repo:tag` or `repo@sha256:...` with the docker CLI's login, its bytes metered."""
        _digest_of(self._api.pull(reference, stream=True, decode=True), reference, "pull", meter)

    def registry_digest(self, reference: str) -> str | None:
        """What `repo:tag` names in its registry now (`sha256:...`), asked through the engine; None
        when the registry has no such tag."""
        from docker.errors import APIError

        try:
            return self._api.inspect_distribution(reference)["Descriptor"]["digest"]
        except APIError as exc:
            if exc.status_code in (401, 403, 404) or "not found" in str(exc).lower() or "unknown" in str(exc).lower():
                return None
            raise

    def import_image(self, data: bytes, reference: str) -> None:
        """An image from a root filesystem archive (no registry needed)."""
        repository, _, tag = reference.rpartition(":")
        self._api.import_image_from_data(data, repository=repository, tag=tag)

    # -- swarm ---------------------------------------------------------------------------------
    def swarm(self) -> dict:
        """This engine's place in a swarm: LocalNodeState (inactive | active | ...), ControlAvailable
        (a manager), NodeID."""
        return self._simple.info().get("Swarm") or {}

    def stack_services(self, stack: str) -> list[dict]:
        return self._simple.services(filters={"label": f"{STACK_LABEL}={stack}"})

    def swarm_service(self, name: str) -> dict | None:
        try:
            return self._simple.inspect_service(name)
        except _missing():
            return None

    def swarm_tasks(self, service: dict) -> list[dict]:
        return [t for t in self._simple.tasks(filters={"service": service["ID"]}) if t.get("ServiceID") == service["ID"]]

    def swarm_nodes(self) -> list[dict]:
        return self._simple.nodes()

    def label_node(self, node_id: str, key: str, value: str) -> None:
        node = self._api.inspect_node(node_id)
        spec = node["Spec"]
        spec["Labels"] = {**(spec.get("Labels") or {}), key: value}
        self._api.update_node(node_id, node["Version"]["Index"], spec)

    def swarm_secrets(self, label: str) -> list[dict]:
        return self._simple.secrets(filters={"label": label})

    def create_secret(self, name: str, data: bytes, labels: dict[str, str]) -> None:
        self._api.create_secret(name, data, labels=labels)

    def remove_secret(self, secret_id: str) -> bool:
        from docker.errors import APIError

        try:
            self._api.remove_secret(secret_id)
        except APIError as exc:
            if exc.status_code in (404, 400, 409):  # gone, or still used by a service
                return False
            raise
        return True

    def stack_containers(self, stack: str, running_only: bool = False) -> list[dict]:
        """The engine's summaries of the stack's task containers on this node."""
        return self._simple.containers(all=not running_only, filters={"label": f"{STACK_LABEL}={stack}"})

    def task_containers(self, stack: str) -> dict[str, ContainerInfo]:
        """Service name -> the newest running task container of a swarm stack on this node."""
        found = {}
        for summary in sorted(self._simple.containers(filters={"label": f"{STACK_LABEL}={stack}"}),
                              key=lambda c: c.get("Created", 0)):
            info = self.inspect(summary["Id"])
            if info is not None:
                found[info.service] = info
        return found

    def stack_networks(self, stack: str) -> list[dict]:
        return self._simple.networks(filters={"label": f"{STACK_LABEL}={stack}"})

    def remove_network(self, network_id: str) -> str | None:
        """Remove a network: None once it is gone (or was), else the engine's words for why it is
        still held (a task or container on it: a swarm holds a removed service's network until
        its tasks are cleaned up). Any other refusal raises."""
        import docker.errors

        try:
            self._api.remove_network(network_id)
        except _missing():
            return None
        except docker.errors.APIError as exc:
            said = str(exc.explanation or exc)
            if "in use" in said:
                return said
            raise
        return None

    def create_volume(self, name: str, labels: dict[str, str]) -> dict[str, str]:
        """Create a named volume, or get the one of that name: the labels of what the engine has
        (its own labels when it existed already)."""
        created = self._simple.create_volume(name, labels=labels)
        return created.get("Labels") or {}

    def volume_labels(self, name: str) -> dict[str, str] | None:
        try:
            return self._simple.inspect_volume(name).get("Labels") or {}
        except _missing():
            return None

    def remove_volume(self, name: str) -> bool:
        try:
            self._simple.remove_volume(name)
        except _missing():
            return False
        return True

    # -- the docker CLI, for a file streamed into a container's stdin --------------------------
    def cli(self, args: list[str], stdin_path=None, timeout: float | None = None,
            stdin_data: bytes | None = None, env: dict[str, str] | None = None, meter=None) -> ExecResult:
        """`docker ARGS` (`run -i` / `exec -i` of dumps, `stack deploy -c -`). Arguments never
        carry secrets (they would show in `ps`): a secret goes in `env`, the docker CLI's own
        environment, named in ARGS by `-e NAME` alone. With a `meter` (stackctl.report.Metered),
        the file at `stdin_path` is fed in chunks and each one counted."""
        import os
        import subprocess

        if meter is not None and stdin_path is not None:
            return self._cli_fed(args, stdin_path, timeout, env, meter)
        stdin = open(stdin_path, "rb") if stdin_path is not None else subprocess.DEVNULL
        feed = {"input": stdin_data} if stdin_data is not None else {"stdin": stdin}
        try:
            proc = subprocess.run(["docker", *args], capture_output=True, timeout=timeout,
                                  env={**(self._cli_env() or os.environ), **(env or {})}, **feed)
        finally:
            if stdin_path is not None:
                stdin.close()
        return ExecResult(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                          proc.stderr.decode("utf-8", "replace"))

    def _cli_fed(self, args: list[str], stdin_path, timeout: float | None, env: dict[str, str] | None,
                 meter) -> ExecResult:
        import os
        import subprocess

        proc = subprocess.Popen(["docker", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env={**(self._cli_env() or os.environ), **(env or {})})
        said: dict[str, bytes] = {}
        readers = [threading.Thread(target=lambda key=key, stream=stream: said.__setitem__(key, stream.read()),
                                    daemon=True) for key, stream in (("out", proc.stdout), ("err", proc.stderr))]
        for reader in readers:
            reader.start()
        try:
            with open(stdin_path, "rb") as source:
                while chunk := source.read(1 << 20):
                    proc.stdin.write(chunk)
                    meter.count(len(chunk))
        except BrokenPipeError:
            pass  # the command stopped reading: its exit code and stderr say why
        finally:
            try:
                proc.stdin.close()
            except BrokenPipeError:
                pass
        try:
            code = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        for reader in readers:
            reader.join()
        if code == 0:  # "done" only for what the command took in full
            meter.finish()
        return ExecResult(code, said.get("out", b"").decode("utf-8", "replace"),
                          said.get("err", b"").decode("utf-8", "replace"))

    def cli_pipe(self, args: list[str], merge_stderr: bool = False):
        """`docker ARGS` fed by the caller through .stdin (a Popen); `merge_stderr`: one stream."""
        import subprocess

        return subprocess.Popen(["docker", *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT if merge_stderr else subprocess.PIPE, env=self._cli_env())

    def _cli_env(self) -> dict[str, str] | None:
        import os

        return {**os.environ, "DOCKER_HOST": self._dial()} if self.host else None

    def _dial(self) -> str:
        """The address to reach the engine by: for ssh://, one tunnel for the whole command."""
        if not self.host.startswith("ssh://"):
            return self.host
        from stackctl import engine_ssh

        return engine_ssh.dial(self.host)


def _missing() -> tuple:
    """What "no such object" raises: the light reader's, and the SDK's once it is loaded (an
    except clause evaluates this when an exception reaches it, so the SDK's class is there when the
    SDK raised)."""
    import sys

    from stackctl.engine_http import NotFound

    sdk = sys.modules.get("docker.errors")
    return (NotFound, sdk.NotFound) if sdk is not None else (NotFound,)


def _translated(fn):
    @functools.wraps(fn)
    def call(self, *args, **kwargs):
        try:
            return fn(self, *args, **kwargs)
        except StackError:
            raise
        except Exception as exc:
            if not translatable(exc):
                raise
            subject = f" {args[0][:40]}" if args and isinstance(args[0], str) else ""
            raise translate(exc, f"docker {fn.__name__.replace('_', ' ')}{subject}") from None
    return call


for _name, _member in list(vars(Engine).items()):
    if not _name.startswith("_") and callable(_member):
        setattr(Engine, _name, _translated(_member))


def _digest_of(events, reference: str, verb: str, meter) -> str:
    """Follow a push's or pull's progress events: the layers' bytes to the meter, an error as one
    line, the digest the registry reported (push) or the pulled image's (pull)."""
    moved: dict[str, int] = {}
    digest = ""
    for event in events:
        if event.get("error"):
            detail = (event.get("errorDetail") or {}).get("message") or event["error"]
            denied = any(word in detail.lower() for word in ("denied", "unauthorized", "authentication", "credentials"))
            hint = (f"log in to the registry (docker login {reference.split('/')[0]}) as a user allowed to {verb}"
                    if denied
                    else "check the registry answers from the engine's host (docker " + verb + " " + reference + ")")
            raise StackError(f"{verb} of {reference} failed: {detail.strip()}", hint)
        aux = event.get("aux") or {}
        if aux.get("Digest"):
            digest = aux["Digest"]
        status = str(event.get("status") or "")
        if status.startswith("Digest: "):
            digest = status.split(" ", 1)[1].strip()
        current = (event.get("progressDetail") or {}).get("current")
        if meter is not None and current is not None and event.get("id") and status in ("Pushing", "Downloading"):
            layer = event["id"]
            meter.count(max(0, int(current) - moved.get(layer, 0)))
            moved[layer] = max(int(current), moved.get(layer, 0))
    if meter is not None:
        meter.finish()
    return digest


DOCKER_DNS = "0B00007F"  # 127.0.0.11: the engine's own resolver listens in every container on a user network


def listening_in(table: str) -> set[int]:
    """Ports in the LISTEN state (st 0A) of a /proc/net/tcp or tcp6 table (the engine's resolver aside)."""
    ports = set()
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A" and ":" in fields[1] and not fields[1].startswith(DOCKER_DNS + ":"):
            try:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
            except ValueError:
                continue
    return ports


class _ChunkReader:
    """A file-like view over an iterator of byte chunks (for tarfile's stream mode)."""

    def __init__(self, chunks):
        self._chunks = iter(chunks)
        self._buf = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buf) < size:
            try:
                self._buf += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            data, self._buf = self._buf, b""
        else:
            data, self._buf = self._buf[:size], self._buf[size:]
        return data
