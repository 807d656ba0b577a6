"""Integration scenarios on the real engine. Each stack gets its own compose project name and
free ports, and is removed with its volumes afterwards. No engine is a failure, not a skip."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.integration.projects import project_with_own_images, reference_roles

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def pytest_collection_modifyitems(items):
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session", autouse=True)
def engine_present():
    probe = subprocess.run(["docker", "info"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail("no Docker engine answers: run bash scripts/setup.sh first", pytrace=False)


@pytest.fixture(scope="session", autouse=True)
def own_images_built_once():
    """The repository's own images (stackctl/api:dev, stackctl/web:dev), which every stack of the
    repository's project runs, built once per run before any test: side by side, each first
    `up` would build them at once, and a tag that moves while another test's `up` runs is not
    what that test is about. The first worker builds under a lock; the others find them built."""
    import fcntl

    state = ROOT / ".stackctl"
    state.mkdir(exist_ok=True)
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))
    with open(state / "test-images.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        marker = state / "test-images.built"
        if marker.exists() and marker.read_text() == run:
            return
        built = subprocess.run([sys.executable, "-m", "stackctl", "build"], capture_output=True, text=True,
                               env={**os.environ, "STACKCTL_PROJECT_DIR": str(ROOT)}, stdin=subprocess.DEVNULL)
        assert built.returncode == 0, built.stderr[-2000:]
        marker.write_text(run)


def _ports_to_hand_out() -> range:
    """Host ports below the kernel's ephemeral range: no client connection of any test takes one
    as its own local port (the range is read; 32768 when it cannot be)."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    return range(max(1024, low - 12000), low)


def free_ports(n: int) -> list[int]:
    """n host ports for one test's stack: never handed to another test of this run (a file per
    port, created exclusively, under .stackctl/test-ports/<run>), and nothing listens on them now.
    A port the kernel picked (bind to 0, then closed) was free only until another worker asked:
    CI once saw two tests given one port, the second `up` refused with 'port is already allocated'."""
    import random

    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))
    given = ROOT / ".stackctl" / "test-ports" / run
    given.mkdir(parents=True, exist_ok=True)
    candidates = _ports_to_hand_out()
    ports: list[int] = []
    while len(ports) < n:
        port = random.choice(candidates)
        try:
            os.close(os.open(given / str(port), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue  # another test of this run has it
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue  # something outside this run listens there
        ports.append(port)
    return ports


@dataclass
class StackRunner:
    name: str
    env: dict
    project_dir: Path

    @property
    def http_port(self) -> int:
        return int(self.env["HTTP_PORT"])

    @property
    def postgres_port(self) -> int:
        return int(self.env["POSTGRES_PORT"])

    def run(self, *args: str, timeout: float = 600, extra_env: dict | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, **self.env, **(extra_env or {})}
        return subprocess.run([sys.executable, "-m", "stackctl", *args], env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def popen(self, *args: str) -> subprocess.Popen:
        """As if started from a terminal: its own process group, Ctrl-C not ignored (a runner
        started in the background would otherwise pass SIG_IGN on, and Python keeps it)."""
        import signal

        env = {**os.environ, **self.env}
        return subprocess.Popen([sys.executable, "-m", "stackctl", *args], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def status(self) -> dict:
        out = self.run("status", "--json", "--no-stats")
        return json.loads(out.stdout)["result"]

    def containers(self) -> list[str]:
        out = subprocess.run(["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={self.name}",
                              "--format", "{{.Names}}"], capture_output=True, text=True, check=True)
        return out.stdout.split()

    def container_ids(self) -> list[str]:
        out = subprocess.run(["docker", "ps", "-aq", "--no-trunc", "--filter",
                              f"label=com.docker.compose.project={self.name}"], capture_output=True, text=True, check=True)
        return sorted(out.stdout.split())

    def started_at(self, service: str) -> str:
        out = subprocess.run(["docker", "inspect", "-f", "{{.State.StartedAt}}", f"{self.name}-{service}-1"],
                             capture_output=True, text=True, check=True)
        return out.stdout.strip()

    def volumes(self) -> list[str]:
        out = subprocess.run(["docker", "volume", "ls", "--filter", f"label=com.docker.compose.project={self.name}",
                              "--format", "{{.Name}}"], capture_output=True, text=True, check=True)
        return out.stdout.split()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def https(self, path: str) -> str:
        return f"https://127.0.0.1:{self.env['HTTPS_PORT']}{path}"


def make_runner(project_dir: Path, **env) -> StackRunner:
    name = f"it{uuid.uuid4().hex[:8]}"
    http, api, pg, rd = free_ports(4)
    base = {
        "STACK_NAME": name, "HTTP_PORT": str(http), "API_PORT": str(api), "POSTGRES_PORT": str(pg),
        "REDIS_PORT": str(rd), "STACKCTL_PROJECT_DIR": str(project_dir), "NO_COLOR": "1", "COLUMNS": "200",
        "STACKCTL_HEALTH_TIMEOUT": "180",
    }
    base.update(env)
    return StackRunner(name, base, project_dir)


def teardown(runner: StackRunner) -> None:
    down = runner.run("down", "--volumes", "--yes", timeout=180)
    leftovers = runner.containers()
    if leftovers:  # a failed down must not leak into the next test
        subprocess.run(["docker", "rm", "-f", *leftovers], capture_output=True)
    volumes = runner.volumes()
    if volumes:  # removed, and said: a test whose down cannot run leaks its data on every run
        subprocess.run(["docker", "volume", "rm", "-f", *volumes], capture_output=True)
        raise AssertionError(f"down --volumes left {volumes} (exit {down.returncode}: {down.stderr.strip()[-300:]})")


@pytest.fixture
def stack():
    """A stack of the repository's own project, under its own name and ports."""
    runner = make_runner(ROOT)
    yield runner
    teardown(runner)


@pytest.fixture
def data_stack(stack, tmp_path):
    """The repository's stack up, its backups in a folder of the test's own."""
    stack.env["STACKCTL_BACKUP_DIR"] = str(tmp_path / "backups")
    up = stack.run("up")
    assert up.returncode == 0, up.stderr
    return stack


@pytest.fixture
def prod_stack(tmp_path):
    """A production project of its own: real secrets, a self-signed certificate, and a copy of
    the images (tests change the API's source to make new releases)."""
    import secrets as tokens

    runner = make_runner(project_with_own_images(tmp_path))
    runner.env["HTTPS_PORT"] = str(free_ports(1)[0])
    runner.env["STACKCTL_HEALTH_TIMEOUT"] = "60"
    runner.env.pop("API_PORT")
    # Image names in the file, not the environment: the deployed release must be able to win.
    (tmp_path / ".env.production").write_text(
        f"POSTGRES_PASSWORD={tokens.token_hex(16)}\nREDIS_PASSWORD={tokens.token_hex(16)}\n"
        f"API_IMAGE=stackctl-it/{runner.name}-api:dev\nWEB_IMAGE=stackctl-it/{runner.name}-web:dev\n")
    made = runner.run("--env", "production", "certs", "self-signed")
    assert made.returncode == 0, made.stderr
    yield runner
    remove_everything(runner)


def remove_everything(runner: StackRunner) -> None:
    """What the test left on the engine, by its compose project's label whatever environments it
    ran (containers with their anonymous volumes, then named volumes and networks), the stack's
    lock, the images the test built (stackctl-it/<name>-*). Straight through docker: `stackctl
    down` in each environment a test might have used cost ~0.5 s of CPU each, mostly for
    environments that never ran (`down` itself is tested where it is the subject, and by
    `teardown` after every test of the reference stack)."""
    label = f"label=com.docker.compose.project={runner.name}"

    def listed(*what: str) -> list[str]:
        return subprocess.run(["docker", *what, "--filter", label], capture_output=True, text=True).stdout.split()

    containers = listed("ps", "-aq")
    if containers:
        subprocess.run(["docker", "rm", "-f", "-v", *containers], capture_output=True)
    volumes = listed("volume", "ls", "-q") + [f"stackctl-lock-{runner.name}"]
    subprocess.run(["docker", "volume", "rm", "-f", *volumes], capture_output=True)
    networks = listed("network", "ls", "-q")
    if networks:
        subprocess.run(["docker", "network", "rm", *networks], capture_output=True)
    images = subprocess.run(["docker", "images", "-q", "--filter", f"reference=stackctl-it/{runner.name}-*"],
                            capture_output=True, text=True).stdout.split()
    if images:
        subprocess.run(["docker", "rmi", "-f", *set(images)], capture_output=True)


@pytest.fixture
def scratch_project(tmp_path):
    """A project directory of its own (its own .env files) sharing the repo's compose and images."""
    (tmp_path / "compose").symlink_to(ROOT / "compose")
    (tmp_path / "images").symlink_to(ROOT / "images")
    (tmp_path / "stackctl.yaml").write_text(reference_roles())
    if (ROOT / ".stackctl" / "images.env").is_file():
        (tmp_path / ".stackctl").mkdir()
        shutil.copy(ROOT / ".stackctl" / "images.env", tmp_path / ".stackctl" / "images.env")
    runner = make_runner(tmp_path)
    yield runner
    teardown(runner)
