"""The reference stack on a swarm of three Docker-in-Docker nodes on this machine (one manager, two
workers), deployed by stackctl over tcp to the manager; API replicas spread over the nodes; a
worker drained under a steady load, its replicas moved, and the failures counted.

    .venv/bin/python bench/swarm_cluster.py [--rate 40] [--replicas 4]

Nodes: the dind stand-in (scripts/standin/dind: Debian's docker.io) run with explicit capabilities (shared/ENGINE.md),
vfs on a tmpfs. There is no registry: images are flattened to one layer and `docker load`ed into
each node under the tags stackctl deploys. Everything is removed afterwards. Writes
bench/results/swarm_cluster.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from load import StrictLoad  # noqa: E402
from run import PY, copy_project  # noqa: E402
from swarm import NEAR, window  # noqa: E402

from stackctl.swarm.stackfile import content_tag  # noqa: E402

NODES = ("sc-node1", "sc-node2", "sc-node3")
NETWORK = "stackctl-cluster"
IMAGE = next((line.split("=", 1)[1] for line in (ROOT / ".stackctl" / "images.env").read_text().splitlines()
              if line.startswith("DIND_IMAGE=")), "docker:20.10-dind")  # scripts/standin-images.sh
CAPS = ("SYS_ADMIN", "NET_ADMIN", "NET_RAW", "SYS_PTRACE", "MKNOD", "SYS_MODULE", "DAC_READ_SEARCH", "SYS_CHROOT",
        "SETFCAP", "AUDIT_WRITE", "IPC_LOCK", "SYS_NICE", "LINUX_IMMUTABLE")
PORT = 8080


def docker(*args: str, stdin=None, check=True) -> str:
    out = subprocess.run(["docker", *args], capture_output=True, input=stdin, timeout=600)
    if check and out.returncode != 0:
        raise SystemExit(f"docker {' '.join(args[:4])}: {out.stderr.decode()[-400:]}")
    return out.stdout.decode().strip()


def node(name: str, *args: str, check=True, stdin: bytes | None = None) -> str:
    return docker("exec", *(("-i",) if stdin is not None else ()), name, "docker", *args, check=check, stdin=stdin)


def start_nodes(network: str = NETWORK, extra: tuple[str, ...] = (), create: bool = True) -> dict[str, str]:
    """The nodes on `network` (made here unless `create` is False), each answering; name -> address.
    `extra`: more `docker run` options for each node (a mount, say)."""
    if create:
        docker("network", "create", network)
    caps = [a for c in CAPS for a in ("--cap-add", c)]
    for name in NODES:
        docker("run", "-d", "--name", name, "--hostname", name.removeprefix("sc-"), "--network", network, *caps,
               "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
               "--tmpfs", "/var/lib/docker:exec", "--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup",
               *extra, IMAGE)
    for name in NODES:
        for _ in range(60):
            if node(name, "info", check=False):
                break
            time.sleep(0.5)
    return {name: docker("inspect", "-f", f"{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}", name)
            for name in NODES}


def form_swarm(ips: dict[str, str]) -> None:
    manager = NODES[0]
    node(manager, "swarm", "init", "--advertise-addr", ips[manager])
    token = node(manager, "swarm", "join-token", "-q", "worker")
    for worker in NODES[1:]:
        node(worker, "swarm", "join", "--token", token, f"{ips[manager]}:2377")


def flattened(image: str) -> tuple[bytes, str]:
    """The image as one layer (vfs copies every layer whole), with its run settings kept."""
    config = json.loads(docker("image", "inspect", "-f", "{{json .Config}}", image))
    changes = [f"ENV {e}" for e in config.get("Env") or []]
    if config.get("Cmd"):
        changes.append(f"CMD {json.dumps(config['Cmd'])}")
    if config.get("Entrypoint"):
        changes.append(f"ENTRYPOINT {json.dumps(config['Entrypoint'])}")
    if config.get("WorkingDir"):
        changes.append(f"WORKDIR {config['WorkingDir']}")
    if config.get("User"):
        changes.append(f"USER {config['User']}")
    container = docker("create", image)
    try:
        exported = subprocess.run(["docker", "export", container], capture_output=True, check=True).stdout
    finally:
        docker("rm", container)
    flat = f"stackctl-bench/flat:{abs(hash(image))}"
    docker("import", *[a for c in changes for a in ("--change", c)], "-", flat, stdin=exported)
    saved = subprocess.run(["docker", "save", flat], capture_output=True, check=True).stdout
    image_id = docker("image", "inspect", "-f", "{{.Id}}", flat)
    docker("rmi", flat)
    return saved, image_id


def load_images(settings: dict[str, str], nodes_for: dict[str, tuple[str, ...]]) -> None:
    for image, where in nodes_for.items():
        saved, image_id = flattened(image)
        for name in where:
            loaded = node(name, "load", "-q", stdin=saved).split()[-1]
            for tag in (image, content_tag(image, image_id)):
                node(name, "tag", loaded, tag)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--replicas", type=int, default=4)
    args = parser.parse_args()
    results: dict = {"nodes": len(NODES), "rate": args.rate, "replicas": args.replicas}
    tmp = copy_project("stackctl-bench-cluster-")
    env_images = dict(line.split("=", 1) for line in (ROOT / ".stackctl" / "images.env").read_text().splitlines()
                      if "=" in line and not line.startswith("#"))
    settings = {"STACK_NAME": "cluster", "HTTP_PORT": str(PORT), "API_IMAGE": "stackctl-bench/cluster-api:dev",
                "WEB_IMAGE": "stackctl-bench/cluster-web:dev"}
    (tmp / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    local = {**os.environ, "STACKCTL_PROJECT_DIR": str(tmp), "CI": "1"}
    started = time.perf_counter()
    try:
        subprocess.run([PY, "-m", "stackctl", "build"], env=local, check=True, capture_output=True)
        ips = start_nodes()
        form_swarm(ips)
        results["nodes_ready_seconds"] = round(time.perf_counter() - started, 1)
        mark = time.perf_counter()
        load_images(settings, {settings["API_IMAGE"]: NODES, settings["WEB_IMAGE"]: NODES,
                               env_images["POSTGRES_IMAGE"]: NODES[:1], env_images["REDIS_IMAGE"]: NODES[:1]})
        results["images_loaded_seconds"] = round(time.perf_counter() - mark, 1)
        remote = {**local, "DOCKER_HOST": f"tcp://{ips[NODES[0]]}:2375", "STACKCTL_TARGET": "swarm",
                  "STACKCTL_HEALTH_TIMEOUT": "300"}
        mark = time.perf_counter()
        up = subprocess.run([PY, "-m", "stackctl", "up", "--no-build", "--replicas", f"api={args.replicas}"],
                            env=remote, capture_output=True, text=True)
        if up.returncode != 0:
            raise SystemExit(f"up failed:\n{up.stderr}\n{up.stdout}")
        results["up_seconds"] = round(time.perf_counter() - mark, 1)
        status = json.loads(subprocess.run([PY, "-m", "stackctl", "status", "--json"], env=remote,
                                           capture_output=True, text=True).stdout)["result"]["services"]
        by_name = {s["name"]: s for s in status}
        results["api_tasks"] = by_name["api"]["tasks"]
        web_node = by_name["web"]["tasks"][0].split(":")[0]
        web_ip = ips[f"sc-{web_node}"]
        spread = {t.split(":")[0] for t in by_name["api"]["tasks"]}
        drained = next((n for n in NODES[1:] if n.removeprefix("sc-") in spread and n.removeprefix("sc-") != web_node),
                       None)
        if drained is None:
            raise SystemExit(f"no worker without the proxy runs an API replica: {by_name['api']['tasks']}")
        load = StrictLoad(web_ip, PORT, NEAR, rate=args.rate, tls=False)
        with load:
            time.sleep(3)
            start = time.monotonic() - load.t0
            node(NODES[0], "node", "update", "--availability", "drain", drained.removeprefix("sc-"))
            while True:
                tasks = node(NODES[0], "service", "ps", "cluster_api", "--filter", "desired-state=running",
                             "--format", "{{.Node}} {{.CurrentState}}").splitlines()
                if len(tasks) == args.replicas and all(t.split()[1] == "Running" and not t.startswith(drained.removeprefix("sc-"))
                                                        for t in tasks):
                    break
                time.sleep(0.5)
            end = time.monotonic() - load.t0
            time.sleep(3)
        results["drain"] = {"node": drained.removeprefix("sc-"), "seconds": round(end - start, 1),
                            "before": window(load, 0, start), "during": window(load, start, end + 3),
                            "api_tasks_after": tasks}
        print(json.dumps(results, indent=2), flush=True)
    finally:
        for name in NODES:
            docker("rm", "-f", "-v", name, check=False)
        docker("network", "rm", NETWORK, check=False)
    out = ROOT / "bench" / "results" / "swarm_cluster.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
