"""A release shipped through a registry to a swarm of three Docker-in-Docker nodes: every node pulls
it by digest; then a rolling update to a second release under a steady load.

    .venv/bin/python bench/swarm_registry.py [--rate 40] [--replicas 4]

The registry (the stand-in, with TLS: a certificate for its address that this machine's engine and
each node trust through /etc/docker/certs.d/ADDRESS/ca.crt, a private CA as users have one) sits
on the nodes' network at a fixed address, so one image reference names it from this machine
(which builds and pushes) and from the nodes (which pull). The data images are loaded into the
data node (as in bench/swarm_cluster.py); the API and web images only ever reach the nodes from
the registry. Measured with the strict client through nginx: `deploy --release` of the first
release (replicas spread, each node pulling), then `deploy --release` of a changed API: requests,
failures, p50/p99 before and during, and how long each took. Everything is removed afterwards,
the certificate this machine's engine was given too. Writes bench/results/swarm_registry.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from load import StrictLoad  # noqa: E402
from run import PY, copy_project  # noqa: E402
from swarm import NEAR, window  # noqa: E402
from swarm_cluster import NODES, PORT, docker, form_swarm, load_images, node, start_nodes  # noqa: E402

from stackctl.tls import self_signed  # noqa: E402

NETWORK, SUBNET, REGISTRY_IP = "stackctl-registry-cluster", "10.213.7.0/24", "10.213.7.250"
REGISTRY = f"{REGISTRY_IP}:5000"
CERTS_D = Path("/etc/docker/certs.d") / REGISTRY


def start(certs: Path) -> dict[str, str]:
    """The network, the registry with TLS at its fixed address, and the nodes trusting its certificate."""
    images = dict(line.split("=", 1) for line in (ROOT / ".stackctl" / "images.env").read_text().splitlines()
                  if "=" in line and not line.startswith("#"))
    docker("network", "create", "--subnet", SUBNET, NETWORK)
    self_signed(certs / "tls.crt", certs / "tls.key", [REGISTRY_IP], days=1)
    (certs / "tls.key").chmod(0o644)  # read by the registry's own user inside its container
    docker("run", "-d", "--name", "sc-registry", "--network", NETWORK, "--ip", REGISTRY_IP, "-v", f"{certs}:/certs:ro",
           "-e", "REGISTRY_HTTP_TLS_CERTIFICATE=/certs/tls.crt", "-e", "REGISTRY_HTTP_TLS_KEY=/certs/tls.key",
           images["REGISTRY_IMAGE"])
    CERTS_D.mkdir(parents=True, exist_ok=True)
    shutil.copy(certs / "tls.crt", CERTS_D / "ca.crt")  # this machine's engine pushes to it
    trust = f"type=bind,source={certs / 'tls.crt'},target=/etc/docker/certs.d/{REGISTRY}/ca.crt,readonly"
    return start_nodes(NETWORK, ("--mount", trust), create=False)


def stackctl(env: dict, *args: str) -> tuple[float, dict | None]:
    started = time.perf_counter()
    out = subprocess.run([PY, "-m", "stackctl", *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"stackctl {' '.join(args)} failed:\n{out.stderr}\n{out.stdout}")
    return time.perf_counter() - started, (json.loads(out.stdout)["result"] if "--json" in args else None)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--replicas", type=int, default=4)
    args = parser.parse_args()
    results: dict = {"nodes": len(NODES), "rate": args.rate, "replicas": args.replicas}
    tmp = copy_project("stackctl-bench-swarm-registry-")
    certs = Path(tempfile.mkdtemp(prefix="stackctl-bench-certs-"))
    env_images = dict(line.split("=", 1) for line in (ROOT / ".stackctl" / "images.env").read_text().splitlines()
                      if "=" in line and not line.startswith("#"))
    settings = {"STACK_NAME": "cluster", "HTTP_PORT": str(PORT), "API_IMAGE": "stackctl-bench/cluster-api:dev",
                "WEB_IMAGE": "stackctl-bench/cluster-web:dev", "STACKCTL_REGISTRY": f"{REGISTRY}/cluster"}
    (tmp / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    for command in (["init", "-q"], ["add", "-A"], ["-c", "user.email=b@example.com", "-c", "user.name=bench",
                                                    "commit", "-qm", "v1"]):
        subprocess.run(["git", *command], cwd=tmp, check=True, capture_output=True)
    # the swarm's commands read the stack as opened (development: .env), build --push included
    local = {**os.environ, "STACKCTL_PROJECT_DIR": str(tmp), "CI": "1", "STACKCTL_TARGET": "swarm"}
    try:
        ips = start(certs)
        form_swarm(ips)
        load_images(settings, {env_images["POSTGRES_IMAGE"]: NODES[:1], env_images["REDIS_IMAGE"]: NODES[:1]})
        results["push_seconds"], first = stackctl(local, "build", "--push", "--json")
        results["bytes_pushed"] = first["bytes_pushed"]
        remote = {**local, "DOCKER_HOST": f"tcp://{ips[NODES[0]]}:2375", "STACKCTL_HEALTH_TIMEOUT": "300"}
        results["first_deploy_seconds"], _ = stackctl(remote, "deploy", "--release", first["release"], "--replicas",
                                                      f"api={args.replicas}")
        pulled = {name: sorted(set(node(name, "images", "--digests", "--format", "{{.Repository}}@{{.Digest}}")
                                   .split()) & set(first["images"].values())) for name in NODES}
        results["nodes_that_pulled"] = {name.removeprefix("sc-"): refs for name, refs in pulled.items() if refs}
        status = json.loads(subprocess.run([PY, "-m", "stackctl", "status", "--json"], env=remote,
                                           capture_output=True, text=True).stdout)["result"]["services"]
        by_name = {s["name"]: s for s in status}
        results["api_tasks"] = by_name["api"]["tasks"]
        web_ip = ips[f"sc-{by_name['web']['tasks'][0].split(':')[0]}"]

        source = tmp / "images" / "backend" / "app" / "__init__.py"
        source.write_text(re.sub(r'VERSION = ".*"', 'VERSION = "2.0.0-registry"', source.read_text()))
        subprocess.run(["git", "-c", "user.email=b@example.com", "-c", "user.name=bench", "commit", "-qam", "v2"],
                       cwd=tmp, check=True, capture_output=True)
        _, second = stackctl(local, "build", "--push", "--json")
        load = StrictLoad(web_ip, PORT, NEAR, rate=args.rate, tls=False)
        with load:
            time.sleep(3)
            start_at = time.monotonic() - load.t0
            results["update_seconds"], _ = stackctl(remote, "deploy", "--release", second["release"])
            end_at = time.monotonic() - load.t0
            time.sleep(3)
        results["update"] = {"before": window(load, 0, start_at), "during": window(load, start_at, end_at + 3),
                             "acknowledged_writes": len(load.written)}
        print(json.dumps(results, indent=2), flush=True)
    finally:
        if os.environ.get("BENCH_KEEP"):  # left for a look: remove by hand (docker rm -f sc-node1 ...)
            return
        for name in (*NODES, "sc-registry"):
            docker("rm", "-f", "-v", name, check=False)
        docker("network", "rm", NETWORK, check=False)
        shutil.rmtree(CERTS_D, ignore_errors=True)
        shutil.rmtree(certs, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        for ref in docker("images", "--format", "{{.Repository}}:{{.Tag}}", check=False).split():
            if ref.startswith(f"{REGISTRY}/") or ref.startswith("stackctl-bench/cluster-"):
                docker("rmi", ref, check=False)
    out = ROOT / "bench" / "results" / "swarm_registry.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
