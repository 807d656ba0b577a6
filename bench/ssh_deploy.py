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
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from prod import ProdProject  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sshd = subprocess.run(["bash", str(ROOT / "scripts" / "loopback-sshd.sh")], capture_output=True, text=True)
    if sshd.returncode != 0:
        raise SystemExit(f"loopback sshd: {sshd.stderr}")
    host = sshd.stdout.strip().splitlines()[-1]
    project = ProdProject("ssh", extra="BIND_ADDRESS=0.0.0.0\n")
    local, remote = [], []
    try:
        project.stackctl("--env", "production", "certs", "self-signed")
        project.stackctl("deploy")
        for i in range(args.runs):
            for where, times, extra in (("local", local, ()), ("ssh", remote, ("--host", host))):
                source = project.api_source
                source.write_text(re.sub(r'VERSION = ".*"', f'VERSION = "1.{i}.0-{where}"', source.read_text()))
                times.append(project.stackctl("deploy", *extra))
                print(f"  run {i + 1}: {where} deploy {times[-1]:.1f} s", file=sys.stderr)
    finally:
        project.remove()

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
