"""Build once, ship the same bytes: a registry with htpasswd auth, an engine in a container that has
never built anything (the production host), and the project's own engine as staging.

The registry runs in the node's network namespace: `127.0.0.1:PORT` names it both from this
machine's engine (the node publishes the port on loopback) and from the node's own engine, so one
image reference works on both, as a registry's host name does between real hosts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, StackRunner, free_ports

PROJECT = ROOT / "tests" / "projects" / "shipped"
CAPS = ("SYS_ADMIN NET_ADMIN NET_RAW SYS_PTRACE MKNOD SYS_MODULE DAC_READ_SEARCH SYS_CHROOT SETFCAP AUDIT_WRITE "
        "IPC_LOCK SYS_NICE LINUX_IMMUTABLE").split()


def standin(name: str) -> str:
    images = (ROOT / ".stackctl" / "images.env").read_text()
    return next(line.split("=", 1)[1] for line in images.splitlines() if line.startswith(f"{name}="))


def docker(*args: str, host: str | None = None, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *(["-H", host] if host else []), *args], capture_output=True, text=True,
                          check=check, **kwargs)


def docker_config(path: Path) -> Path:
    """A docker client config folder of its own (its logins), with the compose plugin this machine has."""
    plugins = json.loads(docker("info", "--format", "{{json .ClientInfo.Plugins}}").stdout)
    compose = next(p["Path"] for p in plugins if p["Name"] == "compose")
    (path / "cli-plugins").mkdir(parents=True)
    (path / "cli-plugins" / "docker-compose").symlink_to(compose)
    return path


@pytest.fixture
def node_and_registry(tmp_path):
    """(engine address of the node, its IP, the registry's address, a docker config logged in to it)."""
    tag = uuid.uuid4().hex[:8]
    port, = free_ports(1)
    node, registry = f"stackctl-it-node-{tag}", f"stackctl-it-registry-{tag}"
    auth = tmp_path / "auth"
    auth.mkdir()
    line = docker("run", "--rm", standin("REGISTRY_IMAGE"), "htpasswd", "-Bbn", "ci", "pushes-releases").stdout
    (auth / "htpasswd").write_text(line.strip() + "\n")
    try:
        docker("run", "-d", "--name", node, "-p", f"127.0.0.1:{port}:{port}", *[f"--cap-add={c}" for c in CAPS],
               "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
               "--tmpfs", "/var/lib/docker:exec", "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup",
               standin("DIND_IMAGE"))
        docker("run", "-d", "--name", registry, "--network", f"container:{node}", "-v", f"{auth}:/auth:ro",
               "-e", f"REGISTRY_HTTP_ADDR=:{port}", "-e", "REGISTRY_AUTH=htpasswd",
               "-e", "REGISTRY_AUTH_HTPASSWD_REALM=stackctl-it", "-e", "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd",
               standin("REGISTRY_IMAGE"))
        ip = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", node).stdout.strip()
        engine = f"tcp://{ip}:2375"
        deadline = time.monotonic() + 60
        while docker("info", host=engine, check=False).returncode != 0:
            assert time.monotonic() < deadline, docker("logs", node, check=False).stderr[-2000:]
            time.sleep(0.3)
        config = docker_config(tmp_path / "docker-config")
        login = subprocess.run(["docker", "--config", str(config), "login", f"127.0.0.1:{port}", "-u", "ci",
                                "--password-stdin"], input="pushes-releases", capture_output=True, text=True)
        assert login.returncode == 0, login.stderr
        yield engine, ip, f"127.0.0.1:{port}", config
    finally:
        docker("rm", "-f", "-v", registry, node, check=False)


def shipped_project(tmp_path: Path, registry: str, config: Path, live_port: int) -> StackRunner:
    base = tmp_path / "shipped"
    shutil.copytree(PROJECT, base)
    (base / ".stackctl").mkdir()
    shutil.copy(ROOT / ".stackctl" / "images.env", base / ".stackctl" / "images.env")
    staging_port, = free_ports(1)
    (base / ".env.staging").write_text(f"WEB_PORT={staging_port}\n")
    (base / ".env.live").write_text(f"WEB_PORT={live_port}\nBIND_ADDRESS=0.0.0.0\n")
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.email=ci@example.com", "-c", "user.name=ci",
                                                    "commit", "-qm", "v1"]):
        subprocess.run(["git", *command], cwd=base, check=True, capture_output=True)
    name = f"sh{uuid.uuid4().hex[:8]}"
    return StackRunner(name, {"COMPOSE_PROJECT_NAME": name, "STACKCTL_PROJECT_DIR": str(base), "NO_COLOR": "1",
                              "COLUMNS": "200", "STACKCTL_REGISTRY": f"{registry}/team", "DOCKER_CONFIG": str(config),
                              "STACKCTL_HEALTH_TIMEOUT": "60"}, base)


def commit_version(s: StackRunner, version: str) -> None:
    (s.project_dir / "api" / "version.txt").write_text(version + "\n")
    subprocess.run(["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qam", version],
                   cwd=s.project_dir, check=True, capture_output=True)


def pushed(s: StackRunner) -> dict:
    out = s.run("build", "--push", "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["result"]


def running_digest(name: str, engine: str | None) -> str:
    """The repo@sha256 the stack's api container was created from, and that it is those bytes."""
    container = docker("ps", "-q", "--filter", f"label=com.docker.compose.project={name}",
                       "--filter", "label=com.docker.compose.service=api", host=engine).stdout.split()
    assert len(container) == 1, container
    ref, image_id = docker("inspect", "-f", "{{.Config.Image}} {{.Image}}", container[0], host=engine).stdout.split()
    digests = json.loads(docker("image", "inspect", "-f", "{{json .RepoDigests}}", image_id, host=engine).stdout)
    assert ref in digests, (ref, digests)
    return ref


def test_a_release_built_once_is_deployed_by_digest_on_a_host_that_never_built_and_rolled_back_by_digest(
        node_and_registry, tmp_path):
    engine, ip, registry, config = node_and_registry
    live_port, = free_ports(1)
    s = shipped_project(tmp_path, registry, config, live_port)
    live = ("--env", "live")
    try:
        # no login, no push: one line that says how to log in, nothing recorded
        denied = s.run("build", "--push", extra_env={"DOCKER_CONFIG": str(docker_config(tmp_path / "nobody"))})
        assert denied.returncode != 0 and "docker login" in denied.stderr, denied.stderr
        assert not (s.project_dir / ".stackctl" / "pushed").exists()

        first = pushed(s)
        assert set(first["images"]) == {"api"} and first["images"]["api"].startswith(f"{registry}/team/api@sha256:")
        assert f"{registry}/team/api:{first['release']}" in first["tags"] and first["bytes_pushed"] > 10_000_000
        assert docker("images", "-q", host=engine).stdout.split() == []  # the node has never built nor pulled

        out = s.run(*live, "deploy", "--release", first["release"], "--host", engine)
        assert out.returncode == 0, out.stderr
        assert "· pull api: " in out.stderr and f"deployed release {first['release']}" in out.stdout
        assert httpx.get(f"http://{ip}:{live_port}/", timeout=10).json()["version"] == "1"
        assert running_digest(s.name, engine) == first["images"]["api"]

        commit_version(s, "2")
        second = pushed(s)
        assert second["images"]["api"] != first["images"]["api"]
        out = s.run(*live, "deploy", "--release", second["release"], "--host", engine)
        assert out.returncode == 0, out.stderr
        assert httpx.get(f"http://{ip}:{live_port}/", timeout=10).json()["version"] == "2"

        # the first release's tag moved to the second's bytes: a rollback still runs the first's
        docker("tag", f"{registry}/team/api:{second['release']}", f"{registry}/team/api:{first['release']}",
               "--", check=False)
        moved = subprocess.run(["docker", "--config", str(config), "push", f"{registry}/team/api:{first['release']}"],
                               capture_output=True, text=True)
        assert moved.returncode == 0, moved.stderr
        back = s.run(*live, "rollback", "--host", engine)
        assert back.returncode == 0, back.stderr
        assert httpx.get(f"http://{ip}:{live_port}/", timeout=10).json()["version"] == "1"
        assert running_digest(s.name, engine) == first["images"]["api"]

        # promote: staging (this machine's engine) runs the second release by digest; production gets its digests
        out = s.run("--env", "staging", "deploy", "--release", second["release"])
        assert out.returncode == 0, out.stderr
        promoted = s.run("promote", "--from", "staging", "--to", "live", "--to-host", engine)
        assert promoted.returncode == 0, promoted.stderr
        assert f"promoted release {second['release']} from staging (verified there: api http /health)" in promoted.stdout
        assert running_digest(s.name, engine) == running_digest(s.name, None) == second["images"]["api"]
        assert httpx.get(f"http://{ip}:{live_port}/", timeout=10).json()["version"] == "2"

        # staging stopped: nothing is promoted, production untouched
        serving = docker("ps", "-q", "--filter", f"label=com.docker.compose.project={s.name}", host=engine).stdout
        docker("stop", "-t", "1", f"{s.name}-api-1")
        refused = s.run("promote", "--from", "staging", "--to", "live", "--to-host", engine)
        assert refused.returncode != 0 and "nothing promoted" in refused.stderr, refused.stderr
        assert docker("ps", "-q", "--filter", f"label=com.docker.compose.project={s.name}", host=engine).stdout \
            == serving
    finally:
        for env, host in (("staging", None), ("live", engine)):
            s.run("--env", env, "down", "--volumes", "--yes", extra_env={"DOCKER_HOST": host} if host else None)
        docker("image", "rm", "-f", *(docker("images", "-q", f"{registry}/team/api").stdout.split() or ["none"]),
               check=False)


@pytest.fixture
def swarm_and_registry(tmp_path):
    """This engine as a one-node swarm (scripts/test.sh makes it one for the side-by-side phase), and
    a registry with htpasswd auth published on its loopback; (registry address, a docker config
    logged in to it)."""
    managed = bool(os.environ.get("STACKCTL_TEST_SWARM_MANAGED"))
    was = docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()
    if not managed and was != "active":
        docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    port, = free_ports(1)
    registry = f"stackctl-it-registry-{uuid.uuid4().hex[:8]}"
    auth = tmp_path / "auth"
    auth.mkdir()
    line = docker("run", "--rm", standin("REGISTRY_IMAGE"), "htpasswd", "-Bbn", "ci", "pushes-releases").stdout
    (auth / "htpasswd").write_text(line.strip() + "\n")
    try:
        docker("run", "-d", "--name", registry, "-p", f"127.0.0.1:{port}:5000", "-v", f"{auth}:/auth:ro",
               "-e", "REGISTRY_AUTH=htpasswd", "-e", "REGISTRY_AUTH_HTPASSWD_REALM=stackctl-it",
               "-e", "REGISTRY_AUTH_HTPASSWD_PATH=/auth/htpasswd", standin("REGISTRY_IMAGE"))
        config = docker_config(tmp_path / "docker-config")
        deadline = time.monotonic() + 30
        while True:
            login = subprocess.run(["docker", "--config", str(config), "login", f"127.0.0.1:{port}", "-u", "ci",
                                    "--password-stdin"], input="pushes-releases", capture_output=True, text=True)
            if login.returncode == 0:
                break
            assert time.monotonic() < deadline, login.stderr
            time.sleep(0.3)
        yield f"127.0.0.1:{port}", config
    finally:
        docker("rm", "-f", "-v", registry, check=False)
        if not managed and was != "active":
            docker("swarm", "leave", "--force", check=False)


@pytest.mark.xdist_group("swarm-release")
def test_a_release_goes_to_a_swarm_by_digest_pulled_by_the_node_and_rolls_back_to_a_release_by_digest(
        swarm_and_registry, tmp_path):
    registry, config = swarm_and_registry
    port, = free_ports(1)
    s = shipped_project(tmp_path, registry, config, port)
    s.env["STACKCTL_TARGET"] = "swarm"
    (s.project_dir / ".env").write_text(f"WEB_PORT={port}\n")
    url = f"http://127.0.0.1:{port}/"
    try:
        first = pushed(s)
        commit_version(s, "2")
        second = pushed(s)
        for shipped in (first, second):  # off this engine: the swarm's node must pull them, with the login
            image = shipped["images"]["api"]
            docker("image", "rm", "-f", docker("image", "inspect", "-f", "{{.Id}}", image).stdout.strip())
        assert docker("image", "inspect", first["images"]["api"], check=False).returncode != 0

        out = s.run("deploy", "--release", first["release"])
        assert out.returncode == 0, out.stderr
        assert f"deployed release {first['release']}" in out.stdout and "verified: api swarm tasks" in out.stdout
        assert httpx.get(url, timeout=10).json()["version"] == "1"
        assert swarm_image(s) == first["images"]["api"]

        out = s.run("deploy", "--release", second["release"])
        assert out.returncode == 0, out.stderr
        assert httpx.get(url, timeout=10).json()["version"] == "2"
        assert swarm_image(s) == second["images"]["api"]

        back = s.run("rollback", first["release"])
        assert back.returncode == 0, back.stderr
        assert httpx.get(url, timeout=10).json()["version"] == "1"
        assert swarm_image(s) == first["images"]["api"]
        listed = json.loads(s.run("releases", "--json").stdout)["result"]["releases"]
        assert [(r["release"], r["status"]) for r in listed] == [(second["release"], "deployed"),
                                                                 (first["release"], "deployed")]
    finally:
        s.run("down", "--volumes", "--yes", timeout=180)
        docker("stack", "rm", s.name, check=False)
        docker("node", "update", "--label-rm", f"stackctl.{s.name}.data", "self", check=False)


def swarm_image(s: StackRunner) -> str:
    """The image the api's running task's container was created from, as swarm names it (repo@sha256)."""
    ids = docker("ps", "-q", "--filter", f"label=com.docker.swarm.service.name={s.name}_api").stdout.split()
    assert len(ids) == 1, ids
    return docker("inspect", "-f", "{{.Config.Image}}", ids[0]).stdout.strip()
