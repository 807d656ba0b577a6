"""The same deploy done locally and over ssh, alternating, in one run.

    .venv/bin/python bench/ssh_deploy.py [--runs 3]

The production stack (TLS nginx) of a copy of this project; each run deploys a one-line API
change once with the local engine and once with `--host ssh://root@127.0.0.1:2222` (this
machine's own engine through scripts/loopback-sshd.sh: the ssh path of docker-py, compose
and the docker CLI, without a network's latency). Reports each deploy's duration and the ratio
of the medians (issue 10's goal: ssh ≤ 2x local). Writes bench/results/ssh_deploy.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from run import PY, copy_project, free_ports  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sshd = subprocess.run(["bash", str(ROOT / "scripts" / "loopback-sshd.sh")], capture_output=True, text=True)
    if sshd.returncode != 0:
        raise SystemExit(f"loopback sshd: {sshd.stderr}")
    host = sshd.stdout.strip().splitlines()[-1]
    tmp = copy_project("stackctl-bench-ssh-")
    ports, https = free_ports(), free_ports()["HTTP_PORT"]
    (tmp / ".env.production").write_text(
        f"STACK_NAME=benchssh\nHTTP_PORT={ports['HTTP_PORT']}\nHTTPS_PORT={https}\nBIND_ADDRESS=0.0.0.0\n"
        f"POSTGRES_PORT={ports['POSTGRES_PORT']}\nREDIS_PORT={ports['REDIS_PORT']}\n"
        f"POSTGRES_PASSWORD={secrets.token_hex(16)}\nREDIS_PASSWORD={secrets.token_hex(16)}\n"
        f"API_IMAGE=stackctl-bench/ssh-api:dev\nWEB_IMAGE=stackctl-bench/ssh-web:dev\n")
    env = {**os.environ, "STACKCTL_PROJECT_DIR": str(tmp), "CI": "1"}

    def stackctl(*a):
        start = time.perf_counter()
        out = subprocess.run([PY, "-m", "stackctl", *a], env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"stackctl {' '.join(a)} failed:\n{out.stderr}")
        return time.perf_counter() - start

    init = tmp / "images" / "backend" / "app" / "__init__.py"
    local, remote = [], []
    try:
        stackctl("--env", "production", "certs", "self-signed")
        stackctl("deploy")
        for i in range(args.runs):
            for where, times, extra in (("local", local, ()), ("ssh", remote, ("--host", host))):
                init.write_text(re.sub(r'VERSION = ".*"', f'VERSION = "1.{i}.0-{where}"', init.read_text()))
                times.append(stackctl("deploy", *extra))
                print(f"  run {i + 1}: {where} deploy {times[-1]:.1f} s", file=sys.stderr)
    finally:
        subprocess.run([PY, "-m", "stackctl", "--env", "production", "down", "--volumes", "--yes"], env=env,
                       capture_output=True)
        subprocess.run(["docker", "rmi", "-f", *subprocess.run(
            ["docker", "images", "-q", "--filter", "reference=stackctl-bench/ssh-*"], capture_output=True,
            text=True).stdout.split()], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    result = {"host": host, "local_seconds": local, "ssh_seconds": remote,
              "ratio_of_medians": statistics.median(remote) / statistics.median(local)}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "ssh_deploy.json").write_text(json.dumps(result, indent=2))
    print("| figure | median (min–max) |\n|---|---|")
    for name, xs in (("deploy, local engine", local), ("deploy, over ssh", remote)):
        print(f"| {name} | {statistics.median(xs):.1f} s ({min(xs):.1f}–{max(xs):.1f}) |")
    print(f"| ssh / local | {result['ratio_of_medians']:.2f}x (goal ≤ 2x) |")


if __name__ == "__main__":
    main()
