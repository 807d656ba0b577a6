"""Rolling updates of 3 API replicas on a one-node swarm under a steady load, in one run.

    .venv/bin/python bench/swarm.py [--runs 3] [--rate 40]

This engine is made a one-node swarm for the run (and a plain engine again after, unless it was
a swarm already). Measured, all through nginx on a host-mode port, with the strictest client
(http.client keep-alive, no retry, every other request a POST):
- cold `stackctl --target swarm up --replicas api=3` (waves gated on health), beside a raw
  `docker stack deploy` of the same compose files (which has none of the gating);
- `--runs` updates of a changed API with `stackctl --target swarm up` (start-first, gated):
  requests, failures, p50/p99 before and during, duration;
- the same change rolled out by swarm's own defaults (`docker service update --image`, stop-first),
  under the same load.
Writes bench/results/swarm.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench"))
from load import StrictLoad  # noqa: E402
from run import PY, copy_project, free_ports  # noqa: E402

NEAR = "/api/stops/near?lat=52.52&lon=13.405&radius=300"
STACK = "benchswarm"


def docker(*args: str, env=None, stdin=None) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, env=env, input=stdin, timeout=300)


def answers(port: int) -> bool:
    import http.client

    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        conn.request("GET", "/api/health")
        return conn.getresponse().status == 200
    except OSError:
        return False


def window(load: StrictLoad, start: float, end: float) -> dict:
    rows = [r for r in load.results if start <= r[0] <= end]
    ok = sorted(r[3] for r in rows if r[1])
    q = statistics.quantiles(ok, n=100) if len(ok) >= 2 else [0.0] * 99
    return {"requests": len(rows), "failed": len(rows) - len(ok), "p50_ms": round(1000 * q[49], 1),
            "p99_ms": round(1000 * q[98], 1), "failures": sorted({r[2] for r in rows if not r[1]})}


def under_load(port: int, rate: float, change) -> dict:
    """2 s of load, the change, 2 s more: the windows before and during, and the change's time."""
    load = StrictLoad("127.0.0.1", port, NEAR, rate=rate, tls=False)
    with load:
        time.sleep(2)
        start = time.monotonic() - load.t0
        change()
        end = time.monotonic() - load.t0
        time.sleep(2)
    return {"seconds": round(end - start, 2), "before": window(load, 0, start), "during": window(load, start, end + 2)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=40.0)
    args = parser.parse_args()
    was = docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()
    if was != "active":
        docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    tmp = copy_project("stackctl-bench-swarm-")
    port = free_ports()["HTTP_PORT"]
    settings = {"STACK_NAME": STACK, "HTTP_PORT": str(port), "API_IMAGE": f"stackctl-bench/{STACK}-api:dev",
                "WEB_IMAGE": f"stackctl-bench/{STACK}-web:dev"}
    (tmp / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    env = {**os.environ, "STACKCTL_PROJECT_DIR": str(tmp), "STACKCTL_TARGET": "swarm", "CI": "1"}
    init = tmp / "images" / "backend" / "app" / "__init__.py"
    results: dict = {"rate": args.rate, "replicas": 3}

    def stackctl(*a: str) -> float:
        start = time.perf_counter()
        out = subprocess.run([PY, "-m", "stackctl", *a], env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"stackctl {' '.join(a)} failed:\n{out.stderr}")
        return time.perf_counter() - start

    try:
        subprocess.run([PY, "-m", "stackctl", "--target", "compose", "build"], env=env, capture_output=True)
        results["raw_stack_deploy"] = raw_deploy(tmp, settings, port)
        start = time.perf_counter()
        stackctl("up", "--replicas", "api=3")
        results["cold_up_seconds"] = round(time.perf_counter() - start, 2)
        results["cold_up_answers"] = answers(port)
        updates = []
        for run in range(args.runs):
            init.write_text(re.sub(r'VERSION = ".*"', f'VERSION = "2.0.{run}-bench"', init.read_text()))
            updates.append(under_load(port, args.rate, lambda: stackctl("up")))
            print(f"stackctl update {run + 1}: {json.dumps(updates[-1])}", flush=True)
        results["stackctl_updates"] = updates
        init.write_text(re.sub(r'VERSION = ".*"', 'VERSION = "3.0.0-bench"', init.read_text()))
        stackctl("--target", "compose", "build", "api")
        image = settings["API_IMAGE"]

        def swarm_default():
            done = docker("service", "update", "--detach=false", "--update-order", "stop-first", "--image", image,
                          f"{STACK}_api")
            if done.returncode != 0:
                raise SystemExit(done.stderr)
        results["swarm_default_update"] = under_load(port, args.rate, swarm_default)
        print(f"swarm default update: {json.dumps(results['swarm_default_update'])}", flush=True)
    finally:
        subprocess.run([PY, "-m", "stackctl", "down", "--volumes", "--yes"], env=env, capture_output=True)
        docker("stack", "rm", f"{STACK}raw")
        if was != "active":
            docker("swarm", "leave", "--force")
    out = ROOT / "bench" / "results" / "swarm.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


def raw_deploy(tmp: Path, settings: dict, port: int) -> dict:
    """The user's compose files as `docker stack deploy` takes them (variables from the same env
    files): how long the command takes, and whether the app answers within 60 s."""
    env_file = {k: v for k, v in (line.split("=", 1) for line in (ROOT / ".stackctl" / "images.env").read_text()
                                  .splitlines() if "=" in line and not line.startswith("#"))} \
        if (ROOT / ".stackctl" / "images.env").is_file() else {}
    env = {**os.environ, **env_file, **settings, "STACK_NAME": f"{STACK}raw"}
    start = time.perf_counter()
    done = docker("stack", "deploy", "--resolve-image", "never", "-c", str(tmp / "compose" / "compose.yaml"),
                  f"{STACK}raw", env=env)
    took = time.perf_counter() - start
    first = None
    while time.perf_counter() - start < 60:
        if answers(port):
            first = round(time.perf_counter() - start, 2)
            break
        time.sleep(0.5)
    tasks = docker("stack", "ps", f"{STACK}raw", "--format", "{{.Name}} {{.CurrentState}} {{.Error}}").stdout
    docker("stack", "rm", f"{STACK}raw")
    time.sleep(5)
    return {"exit": done.returncode, "seconds": round(took, 2), "answered_after_seconds": first,
            "stderr": done.stderr.strip()[-300:], "tasks": tasks.strip().splitlines()[:12]}


if __name__ == "__main__":
    main()
