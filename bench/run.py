"""stackctl against the raw docker/compose commands, side by side in one run.

    .venv/bin/python bench/run.py [--runs 5] [--only cold,warm,...]

Prints a table and writes bench/results/latest.json: for each figure the median of the runs
with min and max, and the ratio of medians. Run by hand, on an otherwise idle machine; never
part of CI's pass/fail. See bench/README.md for the latest table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prober import Prober  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
DEV_PG, DEV_REDIS = "dev-only-postgres-password", "dev-only-redis-password"


def copy_project(prefix: str) -> Path:
    """A scratch project with a copy of the images (benches edit the API's source)."""
    sys.path.insert(0, str(ROOT / "tests" / "integration"))
    from projects import project_with_own_images

    return project_with_own_images(Path(tempfile.mkdtemp(prefix=prefix)))


def free_ports() -> dict[str, int]:
    socks = [socket.socket() for _ in range(4)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = dict(zip(("HTTP_PORT", "API_PORT", "POSTGRES_PORT", "REDIS_PORT"), (s.getsockname()[1] for s in socks)))
    for s in socks:
        s.close()
    return ports


class Bench:
    def __init__(self, project: Path, runs: int):
        self.project, self.runs = project, runs
        self.ports = free_ports()
        self.env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}, "STACK_NAME": "benchstack",
                    "STACKCTL_PROJECT_DIR": str(project), "API_IMAGE": "stackctl-bench/api:dev",
                    "WEB_IMAGE": "stackctl-bench/web:dev", "CI": "1"}
        env_files = [p for p in (project / ".stackctl" / "images.env",) if p.is_file()]
        self.compose = ["docker", "compose", *sum((["--env-file", str(p)] for p in env_files), []),
                        "-f", str(project / "compose" / "compose.yaml"), "-p", "benchcompose"]
        self.results: dict[str, dict] = {}

    def sh(self, argv, check=True) -> float:
        start = time.perf_counter()
        proc = subprocess.run(argv, env=self.env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
        took = time.perf_counter() - start
        if check and proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        return took

    def stackctl(self, *args) -> list[str]:
        return [PY, "-m", "stackctl", *args]

    def record(self, name, ours: list[float], theirs: list[float] | None, goal: str, unit="s"):
        def summary(xs):
            return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}

        entry = {"stackctl": summary(ours), "goal": goal, "unit": unit}
        if theirs:
            entry["baseline"] = summary(theirs)
            entry["ratio"] = statistics.median(ours) / statistics.median(theirs)
        self.results[name] = entry

    def reset(self):
        self.sh(self.stackctl("down", "--volumes", "--yes"), check=False)
        self.sh([*self.compose, "down", "--volumes", "--remove-orphans"], check=False)

    # 1 + 2: cold up vs compose --wait, and vs true readiness
    def cold(self):
        self.sh(self.stackctl("up", "--build"))  # images built before any timed run
        self.sh([*self.compose, "build"])
        ours, theirs, truth, ratios = [], [], [], []
        for _ in range(self.runs):
            self.reset()
            prober = Prober(self.ports, DEV_PG, DEV_REDIS)
            t0 = prober.start()
            self.sh(self.stackctl("up", "--no-build"))
            took = time.perf_counter() - t0
            time.sleep(0.1)
            prober.stop()
            ours.append(took)
            truth.append(prober.all_ready)
            ratios.append(took / prober.all_ready)
            self.reset()
            theirs.append(self.sh([*self.compose, "up", "-d", "--wait", "--no-build"]))
        self.reset()
        self.record("cold up vs compose up -d --wait", ours, theirs, "<= 0.8x")
        self.record("cold up vs true readiness (20 ms prober)", ours, truth, "<= 1.10x")
        self.results["cold up vs true readiness (20 ms prober)"]["per_run_ratios"] = ratios

    # 3: warm up (nothing to do) vs compose no-op
    def warm(self):
        self.reset()
        self.sh(self.stackctl("up", "--no-build"))
        ours = [self.sh(self.stackctl("up", "--no-build")) for _ in range(self.runs)]
        self.reset()  # the two stacks share ports: one at a time
        self.sh([*self.compose, "up", "-d", "--wait", "--no-build"])
        theirs = [self.sh([*self.compose, "up", "-d", "--wait", "--no-build"]) for _ in range(self.runs)]
        self.reset()
        self.record("warm up (no-op) vs compose up -d --wait no-op", ours, theirs, "<= 1.5 s")

    # 4: process start to exit
    def startup(self):
        runs = max(self.runs, 10)
        self.record("stackctl --help", [self.sh(self.stackctl("--help")) for _ in range(runs)], None, "<= 120 ms")
        self.record("stackctl --version", [self.sh(self.stackctl("--version")) for _ in range(runs)], None,
                    "<= 120 ms")

    # 5: status vs compose ps (stack up)
    def status(self):
        self.sh(self.stackctl("up", "--no-build"))
        ours = [self.sh(self.stackctl("status")) for _ in range(self.runs)]
        theirs = [self.sh([*self.compose[:-2], "-p", "benchstack", "ps"]) for _ in range(self.runs)]
        self.record("status vs compose ps", ours, theirs, "<= 2x")
        fast = [self.sh(self.stackctl("status", "--no-stats")) for _ in range(self.runs)]
        self.record("status --no-stats vs compose ps", fast, theirs, "<= 3x")
        listed = [self.sh(self.stackctl("ps")) for _ in range(self.runs)]
        self.record("ps vs compose ps", listed, theirs, "<= 2x")

    # 6: one-line backend change -> up rebuilds and restarts; dependency layers cached
    def rebuild(self):
        self.sh(self.stackctl("up"))
        before = self.layers("stackctl-bench/api:dev")
        main_py = self.project / "images" / "backend" / "app" / "main.py"
        original = main_py.read_text()
        times = []
        try:
            for i in range(self.runs):
                main_py.write_text(original + f"\n# bench edit {i} {time.time()}\n")
                times.append(self.sh(self.stackctl("up")))
        finally:
            main_py.write_text(original)
        after = self.layers("stackctl-bench/api:dev")
        shared = 0
        for a, b in zip(before, after):
            if a != b:
                break
            shared += 1
        self.record("up after a one-line backend change (rebuild + restart)", times, None, "(info)")
        self.results["up after a one-line backend change (rebuild + restart)"]["layers"] = {
            "total": len(after), "unchanged_from_before": shared,
            "changed": len(after) - shared,
            "note": "all layers up to and including the virtualenv (dependencies) are unchanged"
                    if len(after) - shared <= 2 else "dependency layers were rebuilt"}
        self.sh(self.stackctl("up"))

    def layers(self, image) -> list[str]:
        out = subprocess.run(["docker", "image", "inspect", "-f", "{{json .RootFS.Layers}}", image],
                             capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    # 7: image sizes, final stage vs build stage
    def sizes(self):
        override = self.project / "compose" / "bench-build-stages.yaml"
        override.write_text(
            "services:\n"
            "  api:\n    build: {target: deps}\n    image: stackctl-bench/api-build-stage\n"
            "  migrate:\n    build: {target: deps}\n    image: stackctl-bench/api-build-stage\n"
            "  web:\n    build: {target: build}\n    image: stackctl-bench/web-build-stage\n")
        try:
            self.sh([*self.compose[:-2], "-f", str(override), "-p", "benchsizes", "build", "api", "web"])
        finally:
            override.unlink()

        def size(image):
            out = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image], capture_output=True,
                                 text=True, check=True)
            return int(out.stdout)

        self.results["image sizes (bytes)"] = {
            "api final": size("stackctl-bench/api:dev"), "api build stage": size("stackctl-bench/api-build-stage"),
            "web final": size("stackctl-bench/web:dev"), "web build stage": size("stackctl-bench/web-build-stage"),
        }


def table(results: dict) -> str:
    rows = ["| figure | stackctl median (min–max) | baseline median (min–max) | ratio | goal |",
            "|---|---|---|---|---|"]
    for name, r in results.items():
        if name == "image sizes (bytes)":
            continue
        s = r["stackctl"]
        ours = f"{s['median']:.3f} s ({s['min']:.3f}–{s['max']:.3f})"
        base = "-"
        if "baseline" in r:
            b = r["baseline"]
            base = f"{b['median']:.3f} s ({b['min']:.3f}–{b['max']:.3f})"
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "-"
        rows.append(f"| {name} | {ours} | {base} | {ratio} | {r['goal']} |")
    if "image sizes (bytes)" in results:
        for k, v in results["image sizes (bytes)"].items():
            rows.append(f"| image size: {k} | {v / 1e6:.1f} MB | | | |")
    for name, r in results.items():
        if "layers" in r:
            layers = r["layers"]
            rows.append(f"| {name}: layers unchanged | {layers['unchanged_from_before']} of {layers['total']} "
                        f"| | | {layers['note']} |")
    return "\n".join(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="cold,warm,startup,status,rebuild,sizes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stackctl-bench-") as tmp:
        project = Path(tmp)
        shutil.copytree(ROOT / "compose", project / "compose")
        shutil.copy(ROOT / "stackctl.yaml", project / "stackctl.yaml")
        shutil.copytree(ROOT / "images", project / "images", ignore=shutil.ignore_patterns("node_modules", "dist"))
        if (ROOT / ".stackctl" / "images.env").is_file():
            (project / ".stackctl").mkdir()
            shutil.copy(ROOT / ".stackctl" / "images.env", project / ".stackctl")
        bench = Bench(project, args.runs)
        try:
            for part in args.only.split(","):
                print(f"· {part}", file=sys.stderr, flush=True)
                getattr(bench, part)()
        finally:
            bench.reset()
    machine = {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
               "docker": subprocess.run(["docker", "version", "-f", "{{.Server.Version}}"], capture_output=True,
                                        text=True).stdout.strip(),
               "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps({"machine": machine, "results": bench.results}, indent=2))
    print(f"machine: {machine}")
    print(table(bench.results))


if __name__ == "__main__":
    main()
