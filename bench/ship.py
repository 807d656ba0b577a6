"""Build once, ship the same bytes: push and pull against the raw docker commands, and a deploy by
digest on a fresh host against a deploy that builds there, side by side in each run.

    .venv/bin/python bench/ship.py [--runs 3]

Each run starts an empty registry (the stand-in, scripts/standin/registry) and fresh engines in
containers (the dind stand-in, vfs on tmpfs: a host that has never built anything), the registry
in the first node's network namespace so `127.0.0.1:PORT` names it from this machine and from the
nodes alike (as tests/integration/test_ship.py does).

- push, the reference images (api, web): `docker compose build` + `docker push` of both, against
  `stackctl build --push` (which also builds, tags the release and the commit, and reads the
  digests back), each into an empty registry.
- pull, the reference images: `docker pull` by digest on a fresh node (the raw floor), against
  what a host that builds pays instead: `docker compose build` of both on a fresh node that has
  their base images (dependencies fetched from PyPI and npm, as on a real host).
- deploy, tests/projects/shipped (one API on the python stand-in): `stackctl deploy --release ID`
  on a fresh node (pull by digest, start, verify) against `stackctl deploy` on another fresh node
  with the sources (compose builds there over the engine's API); both nodes are given the python
  base image first (untimed: a host that builds needs it, one that pulls does not).

Writes bench/results/ship.json and prints a table of medians (min–max).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))
from run import PY, copy_project, free_ports  # noqa: E402

CAPS = ("SYS_ADMIN NET_ADMIN NET_RAW SYS_PTRACE MKNOD SYS_MODULE DAC_READ_SEARCH SYS_CHROOT SETFCAP AUDIT_WRITE "
        "IPC_LOCK SYS_NICE LINUX_IMMUTABLE").split()
IMAGES = {line.split("=", 1)[0]: line.split("=", 1)[1]
          for line in (ROOT / ".stackctl" / "images.env").read_text().splitlines() if "=" in line and line[0] != "#"}


def docker(*args: str, host: str | None = None, stdin=None) -> str:
    out = subprocess.run(["docker", *(["-H", host] if host else []), *args], capture_output=True, input=stdin,
                         timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"docker {' '.join(args[:4])}: {out.stderr.decode()[-600:]}")
    return out.stdout.decode().strip()


def timed(fn) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


class Node:
    """An engine in a container; with `registry_port`, an empty registry in its network namespace."""

    def __init__(self, registry_port: int | None = None, insecure: str | None = None):
        self.name = f"stackctl-bench-node-{uuid.uuid4().hex[:8]}"
        self.registry = None
        publish = ["-p", f"127.0.0.1:{registry_port}:{registry_port}"] if registry_port else []
        docker("run", "-d", "--name", self.name, *publish, *[f"--cap-add={c}" for c in CAPS],
               "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
               "--tmpfs", "/var/lib/docker:exec", "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup",
               IMAGES["DIND_IMAGE"], "--host=tcp://0.0.0.0:2375", "--tls=false",
               *([f"--insecure-registry={insecure}"] if insecure else []))
        if registry_port:
            self.registry = f"{self.name}-registry"
            docker("run", "-d", "--name", self.registry, "--network", f"container:{self.name}",
                   "-e", f"REGISTRY_HTTP_ADDR=:{registry_port}", IMAGES["REGISTRY_IMAGE"])
        self.ip = docker("inspect", "-f", "{{.NetworkSettings.IPAddress}}", self.name)
        self.host = f"tcp://{self.ip}:2375"
        deadline = time.monotonic() + 60
        while subprocess.run(["docker", "-H", self.host, "info"], capture_output=True).returncode != 0:
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.name} did not answer")
            time.sleep(0.3)

    def load(self, image: str) -> None:
        saved = subprocess.run(["docker", "save", image], capture_output=True, check=True).stdout
        docker("load", host=self.host, stdin=saved)

    def remove(self) -> None:
        subprocess.run(["docker", "rm", "-f", "-v", *([self.registry] if self.registry else []), self.name],
                       capture_output=True)


def stackctl(env: dict, *args: str) -> tuple[float, dict | None]:
    start = time.perf_counter()
    out = subprocess.run([PY, "-m", "stackctl", *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"stackctl {' '.join(args)} failed:\n{out.stderr}")
    seconds = time.perf_counter() - start
    return seconds, (json.loads(out.stdout)["result"] if "--json" in args else None)


def push_run(reference: Path, tag: str) -> dict:
    """Raw compose build + docker push of api and web, then stackctl build --push: each into an empty registry."""
    env = {**os.environ, "STACKCTL_PROJECT_DIR": str(reference), "API_IMAGE": f"stackctl-bench/{tag}-api:dev",
           "WEB_IMAGE": f"stackctl-bench/{tag}-web:dev", "COMPOSE_PROJECT_NAME": f"ship{tag}"}
    raw_port, ours_port = free_ports()["HTTP_PORT"], free_ports()["HTTP_PORT"]
    raw_node, ours_node = Node(raw_port), Node(ours_port)
    try:
        def raw():
            built = subprocess.run(["docker", "compose", "--env-file", str(reference / ".stackctl" / "images.env"),
                                    "-f", str(reference / "compose" / "compose.yaml"), "build", "api", "web"],
                                   env=env, capture_output=True, text=True)
            if built.returncode != 0:
                raise SystemExit(f"docker compose build: {built.stderr[-600:]}")
            pushed = []
            for image in (env["API_IMAGE"], env["WEB_IMAGE"]):
                target = f"127.0.0.1:{raw_port}/raw/{image.split('/')[1].split(':')[0]}:1"
                docker("tag", image, target)
                docker("push", "-q", target)
                pushed.append(target)
            return pushed
        raw_seconds, raw_refs = timed(raw)
        ours_seconds, shipped = stackctl({**env, "STACKCTL_REGISTRY": f"127.0.0.1:{ours_port}/team"},
                                         "build", "--push", "--json")
        digests = sorted(set(shipped["images"].values()))
        # a fresh engine: the raw pull floor for the same bytes (it reaches the registry at the first
        # node's address, over plain http: allowed for that address alone)
        puller = Node(insecure=f"{ours_node.ip}:{ours_port}")
        try:
            pull_seconds, _ = timed(lambda: [docker("pull", "-q", ref.replace(f"127.0.0.1:{ours_port}",
                                                                                f"{ours_node.ip}:{ours_port}"),
                                                    host=puller.host) for ref in digests])
        finally:
            puller.remove()
        for ref in raw_refs:
            subprocess.run(["docker", "rmi", ref], capture_output=True)
        return {"raw_push_seconds": raw_seconds, "stackctl_push_seconds": ours_seconds,
                "bytes_pushed": shipped["bytes_pushed"], "pull_seconds": pull_seconds,
                "build_there_seconds": build_there(reference, env)}
    finally:
        raw_node.remove()
        ours_node.remove()


def build_there(reference: Path, env: dict) -> float:
    """What a host that builds pays instead of the pull: compose building api and web on a fresh
    engine that has their base images (given untimed), dependencies fetched from PyPI and npm."""
    builder = Node()
    try:
        for image in (IMAGES["PYTHON_IMAGE"], IMAGES["NODE_IMAGE"], IMAGES["NGINX_IMAGE"]):
            builder.load(image)
        seconds, built = timed(lambda: subprocess.run(
            ["docker", "compose", "--env-file", str(reference / ".stackctl" / "images.env"), "-f",
             str(reference / "compose" / "compose.yaml"), "build", "api", "web"],
            env={**env, "DOCKER_HOST": builder.host}, capture_output=True, text=True))
        if built.returncode != 0:
            raise SystemExit(f"docker compose build on a fresh engine: {built.stderr[-600:]}")
        return seconds
    finally:
        builder.remove()


def deploy_run(run: int) -> dict:
    """deploy --release on a fresh node against deploy (building there) on another."""
    base = Path(tempfile.mkdtemp(prefix="stackctl-bench-ship-"))
    project = base / "shipped"
    shutil.copytree(ROOT / "tests" / "projects" / "shipped", project)
    (project / ".stackctl").mkdir()
    shutil.copy(ROOT / ".stackctl" / "images.env", project / ".stackctl" / "images.env")
    web = free_ports()["HTTP_PORT"]
    (project / ".env.live").write_text(f"WEB_PORT={web}\nBIND_ADDRESS=0.0.0.0\n")  # the host that pulls
    (project / ".env.built").write_text(f"WEB_PORT={web}\nBIND_ADDRESS=0.0.0.0\n")  # the host that builds
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.email=b@example.com", "-c", "user.name=bench",
                                                    "commit", "-qm", f"run {run}"]):
        subprocess.run(["git", *command], cwd=project, check=True, capture_output=True)
    port = free_ports()["HTTP_PORT"]
    pulls, builds = Node(port), Node()
    env = {**os.environ, "STACKCTL_PROJECT_DIR": str(project), "COMPOSE_PROJECT_NAME": f"ship{run}",
           "STACKCTL_REGISTRY": f"127.0.0.1:{port}/team"}
    try:
        for node in (pulls, builds):
            node.load(IMAGES["PYTHON_IMAGE"])
        _, shipped = stackctl(env, "build", "--push", "--json")
        by_digest, _ = stackctl(env, "--env", "live", "deploy", "--release", shipped["release"], "--host", pulls.host)
        building, _ = stackctl(env, "--env", "built", "deploy", "--host", builds.host)
        return {"deploy_by_digest_seconds": by_digest, "deploy_building_there_seconds": building}
    finally:
        pulls.remove()
        builds.remove()
        subprocess.run(["docker", "rmi", "-f", *docker("images", "-q", f"127.0.0.1:{port}/team/api").split()],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def row(name: str, xs: list[float]) -> str:
    return f"{statistics.median(xs):.1f} s ({min(xs):.1f}–{max(xs):.1f})" if xs else "-"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    reference = copy_project("stackctl-bench-ship-")
    runs = []
    try:
        for i in range(args.runs):
            tag = uuid.uuid4().hex[:6]
            figures = {**push_run(reference, tag), **deploy_run(i)}
            runs.append(figures)
            print(f"  run {i + 1}: " + ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                                                 for k, v in figures.items()), file=sys.stderr)
    finally:
        shutil.rmtree(reference, ignore_errors=True)
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "ship.json").write_text(json.dumps(runs, indent=2))

    def col(key):
        return [r[key] for r in runs if r.get(key) is not None]
    raw, ours = col("raw_push_seconds"), col("stackctl_push_seconds")
    by_digest, building = col("deploy_by_digest_seconds"), col("deploy_building_there_seconds")
    print("| figure | stackctl | baseline | ratio |\n|---|---|---|---|")
    print(f"| push api + web into an empty registry (build included) | {row('', ours)} | {row('', raw)} "
          f"(compose build + docker push) | {statistics.median(ours) / statistics.median(raw):.2f}x |")
    print(f"| bytes pushed (layers, uncompressed as docker counts them) | "
          f"{statistics.median(col('bytes_pushed')) / 1e6:.0f} MB | | |")
    print(f"| pull api + web by digest on a fresh engine | | {row('', col('pull_seconds'))} (docker pull) | |")
    print(f"| build api + web on a fresh engine (base images given) | | {row('', col('build_there_seconds'))} "
          "(docker compose build) | |")
    print(f"| deploy of one API on a fresh host | {row('', by_digest)} (deploy --release: pull by digest) | "
          f"{row('', building)} (deploy: builds there) | {statistics.median(by_digest) / statistics.median(building):.2f}x |")


if __name__ == "__main__":
    main()
