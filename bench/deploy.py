"""Deploys under a steady load through nginx, in one run.

    .venv/bin/python bench/deploy.py [--runs 5] [--rate 50]

For each run: a new API release (a one-line change) is deployed while a bounded load
(`--rate` requests/s, loopback only) hits /api/stops/near through nginx over HTTPS. Reports
requests served and failed, p50/p99 latency before and during the deploy, and the deploy's
duration. Writes bench/results/deploy.json.
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
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench"))
from load import Load  # noqa: E402
from run import PY, copy_project, free_ports  # noqa: E402

URL_PATH = "/api/stops/near?lat=52.52&lon=13.405&radius=300"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rate", type=float, default=50.0)
    args = parser.parse_args()
    tmp = copy_project("stackctl-bench-deploy-")
    ports = free_ports()
    https = free_ports()["HTTP_PORT"]
    (tmp / ".env.production").write_text(
        f"STACK_NAME=benchdeploy\nHTTP_PORT={ports['HTTP_PORT']}\nHTTPS_PORT={https}\n"
        f"POSTGRES_PORT={ports['POSTGRES_PORT']}\nREDIS_PORT={ports['REDIS_PORT']}\n"
        f"POSTGRES_PASSWORD={secrets.token_hex(16)}\nREDIS_PASSWORD={secrets.token_hex(16)}\n"
        f"API_IMAGE=stackctl-bench/deploy-api:dev\nWEB_IMAGE=stackctl-bench/deploy-web:dev\n")
    env = {**os.environ, "STACKCTL_PROJECT_DIR": str(tmp), "CI": "1"}
    url = f"https://127.0.0.1:{https}{URL_PATH}"

    def stackctl(*a):
        start = time.perf_counter()
        out = subprocess.run([PY, "-m", "stackctl", *a], env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise SystemExit(f"stackctl {' '.join(a)} failed:\n{out.stderr}")
        return time.perf_counter() - start

    init = tmp / "images" / "backend" / "app" / "__init__.py"
    runs = []
    try:
        stackctl("--env", "production", "certs", "self-signed")
        stackctl("deploy")
        with Load(url, rate=args.rate, workers=8) as before:
            time.sleep(15)
        for i in range(args.runs):
            init.write_text(re.sub(r'VERSION = ".*"', f'VERSION = "1.0.{i + 1}-bench"', init.read_text()))
            with Load(url, rate=args.rate, workers=8) as during:
                time.sleep(1)
                took = stackctl("deploy")
                time.sleep(1)
            runs.append({"deploy_seconds": took, "requests": during.total, "failed": len(during.failures),
                         "failures": sorted({f[2] for f in during.failures}),
                         "p50_ms": during.latency_ms(50), "p99_ms": during.latency_ms(99)})
            print(f"  run {i + 1}: deploy {took:.1f}s, {during.total} requests, {len(during.failures)} failed, "
                  f"p50 {runs[-1]['p50_ms']:.1f} ms, p99 {runs[-1]['p99_ms']:.1f} ms", file=sys.stderr)
    finally:
        subprocess.run([PY, "-m", "stackctl", "--env", "production", "down", "--volumes", "--yes"], env=env,
                       capture_output=True)
        subprocess.run(["docker", "rmi", "-f", *subprocess.run(
            ["docker", "images", "-q", "--filter", "reference=stackctl-bench/deploy-*"], capture_output=True,
            text=True).stdout.split()], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)

    def med(key):
        values = [r[key] for r in runs]
        return {"median": statistics.median(values), "min": min(values), "max": max(values)}

    result = {"rate_per_second": args.rate, "before": {"requests": before.total, "failed": len(before.failures),
                                                       "p50_ms": before.latency_ms(50), "p99_ms": before.latency_ms(99)},
              "during": {"requests_total": sum(r["requests"] for r in runs),
                         "failed_total": sum(r["failed"] for r in runs),
                         "p50_ms": med("p50_ms"), "p99_ms": med("p99_ms")},
              "deploy_seconds": med("deploy_seconds"), "runs": runs}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "deploy.json").write_text(json.dumps(result, indent=2))
    d, b = result["during"], result["before"]
    print(f"load: {args.rate:.0f} req/s through nginx (HTTPS), {args.runs} deploys of a changed API image")
    print("| figure | value |\n|---|---|")
    print(f"| requests before / failed | {b['requests']} / {b['failed']} |")
    print(f"| latency before p50 / p99 | {b['p50_ms']:.1f} ms / {b['p99_ms']:.1f} ms |")
    print(f"| requests during deploys / failed | {d['requests_total']} / {d['failed_total']} |")
    print(f"| latency during p50 / p99 (median of runs) | {d['p50_ms']['median']:.1f} ms / {d['p99_ms']['median']:.1f} ms |")
    dep = result["deploy_seconds"]
    print(f"| deploy duration median (min–max) | {dep['median']:.1f} s ({dep['min']:.1f}–{dep['max']:.1f}) |")


if __name__ == "__main__":
    main()
