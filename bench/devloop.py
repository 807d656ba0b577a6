"""The dev loop's edit → change-served latency, against the manual way, in one run.

    .venv/bin/python bench/devloop.py [--runs 5]

On a copy of the reference project: each run edits the API's VERSION and times how long until
/api/health through nginx answers the new value. stackctl: `stackctl up --watch` running
(compose's develop.watch: sync+restart). Baseline: what a developer types by hand without a
watcher, `docker compose up -d --build api` right after the save. Writes bench/results/devloop.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PY, ROOT, copy_project, free_ports  # noqa: E402


def served(port: int) -> str | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).json().get("version")
    except (httpx.HTTPError, ValueError):
        return None


def time_until(port: int, value: str, since: float, limit: float = 300) -> float:
    while served(port) != value:
        if time.monotonic() - since > limit:
            raise SystemExit(f"{value} not served within {limit} s")
        time.sleep(0.05)
    return time.monotonic() - since


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    tmp = copy_project("stackctl-bench-devloop-")
    ports = free_ports()
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "STACK_NAME": "benchdevloop",
           "STACKCTL_PROJECT_DIR": str(tmp), "API_IMAGE": "stackctl-bench/devloop-api:dev", "CI": "1"}
    http = int(ports["HTTP_PORT"])
    init = tmp / "images" / "backend" / "app" / "__init__.py"

    def edit(value: str) -> float:
        init.write_text(re.sub(r'VERSION = ".*"', f'VERSION = "{value}"', init.read_text()))
        return time.monotonic()

    compose = ["docker", "compose", "-p", "benchdevloop",
               "--env-file", str(tmp / ".stackctl" / "images.env"), "-f", str(tmp / "compose" / "compose.yaml")]
    ours, raw = [], []
    loop = subprocess.Popen([PY, "-m", "stackctl", "up", "--watch"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        for line in loop.stdout:
            print(line.rstrip(), file=sys.stderr)
            if "Ctrl-C stops watching" in line:
                break
        else:
            raise SystemExit("stackctl up --watch ended before watching")
        threading.Thread(target=lambda: [None for _ in loop.stdout], daemon=True).start()  # keep the pipe drained
        for i in range(args.runs):
            ours.append(time_until(http, f"loop-{i}", edit(f"loop-{i}")))
            print(f"· stackctl up --watch: served {ours[-1]:.2f} s after the save", file=sys.stderr)
            time.sleep(2)
        os.killpg(loop.pid, signal.SIGINT)
        loop.wait(30)
        for i in range(args.runs):
            saved = edit(f"manual-{i}")
            built = subprocess.run([*compose, "up", "-d", "--build", "api"], env=env, capture_output=True, text=True)
            if built.returncode != 0:
                raise SystemExit(f"docker compose up -d --build api failed: {built.stderr[-2000:]}")
            raw.append(time_until(http, f"manual-{i}", saved))
            print(f"· docker compose up -d --build api: served {raw[-1]:.2f} s after the save", file=sys.stderr)
    finally:
        if loop.poll() is None:
            os.killpg(loop.pid, signal.SIGKILL)
        subprocess.run([PY, "-m", "stackctl", "down", "--volumes", "--yes"], env=env, capture_output=True)
        subprocess.run(["docker", "rmi", "-f", "stackctl-bench/devloop-api:dev"], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    result = {"runs": args.runs, "stackctl_watch_s": ours, "compose_build_s": raw,
              "median_ratio": statistics.median(ours) / statistics.median(raw)}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "devloop.json").write_text(json.dumps(result, indent=2))
    print(f"edit → served: stackctl up --watch {statistics.median(ours):.2f} s ({min(ours):.2f}–{max(ours):.2f}), "
          f"docker compose up -d --build api {statistics.median(raw):.2f} s ({min(raw):.2f}–{max(raw):.2f}), "
          f"ratio {result['median_ratio']:.2f}x")


if __name__ == "__main__":
    main()
