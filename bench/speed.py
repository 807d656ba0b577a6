"""Where users wait (issue 28), against the raw commands in the same run: one table, SVG charts.

    .venv/bin/python bench/speed.py [--runs 5] [--rows 1400000]

- `stackctl ps`, `status --no-stats` and `status` against `docker compose ps` on the same stack;
- a no-op `stackctl up` (absolute: under a second) and against compose's own no-op `up -d --wait`;
- `stackctl backup --no-redis` (dump + full read + manifest) against `docker exec db pg_dump -Fc`;
- restore's outage: the longest time without a successful answer to GET /api/health through the
  proxy (one keep-alive client asking every 10 ms, never retrying) during `restore --no-redis`,
  and the same with `restore --restart` (the services stopped and started through up, as every
  restore did before);
- restore's total time against raw `pg_restore` into an empty database.

Runs with Python's bytecode cache on (as an installed stackctl has it): PYTHONDONTWRITEBYTECODE
is dropped from the environment and each command runs once before it is timed. Writes
bench/results/speed.json and bench/results/speed-*.svg (matplotlib: `.venv/bin/pip install -r
bench/requirements.txt`; without it the table is still printed). Run by hand on an idle machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PY, ROOT, free_ports  # noqa: E402

STACK = "benchspeed"


class HealthWatch:
    """One keep-alive client asking GET /api/health every `every` seconds until stopped; each answer's
    (sent, answered, ok) kept. A failed request is counted, never retried (the next one opens anew)."""

    def __init__(self, port: int, every: float = 0.01):
        self.port, self.every = port, every
        self.answers: list[tuple[float, float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(30)

    def _run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self._stop.is_set():
            sent = time.monotonic()
            try:
                conn.request("GET", "/api/health")
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                ok = False
            self.answers.append((sent, time.monotonic(), ok))
            time.sleep(max(0.0, self.every - (time.monotonic() - sent)))
        conn.close()

    def longest_gap(self) -> float:
        """The longest time between two successful answers (the outage a user sees), and failures."""
        done = [answered for _, answered, ok in self.answers if ok]
        return max((b - a for a, b in zip(done, done[1:])), default=float("nan"))

    @property
    def failed(self) -> int:
        return sum(1 for *_, ok in self.answers if not ok)


def summary(xs: list[float]) -> dict:
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_400_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="stackctl-bench-speed-"))
    ports = free_ports()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update({k: str(v) for k, v in ports.items()})
    env.update({"STACK_NAME": STACK, "STACKCTL_PROJECT_DIR": str(ROOT), "STACKCTL_BACKUP_DIR": str(tmp / "backups"),
                "STACKCTL_BACKUP_KEEP_COUNT": "0", "STACKCTL_BACKUP_KEEP_DAYS": "0", "CI": "1"})
    images_env = ROOT / ".stackctl" / "images.env"
    compose = ["docker", "compose", *(["--env-file", str(images_env)] if images_env.is_file() else []),
               "-f", str(ROOT / "compose" / "compose.yaml"), "-p", STACK]

    def sh(argv, stdout=None) -> tuple[float, subprocess.CompletedProcess]:
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL)
        took = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(map(str, argv))} failed ({proc.returncode}): {proc.stderr[-2000:]!r}")
        return took, proc

    def stackctl(*a) -> list[str]:
        return [PY, "-m", "stackctl", *a]

    def timed(argv, runs=args.runs) -> list[float]:
        sh(argv)  # once untimed: bytecode cached, the engine's caches warm, as on a second call
        return [sh(argv)[0] for _ in range(runs)]

    def psql(sql, db="stackctl") -> str:
        return sh(["docker", "exec", f"{STACK}-db-1", "psql", "-X", "-At", "-U", "stackctl", "-d", db, "-c",
                   sql])[1].stdout.decode().strip()

    results: dict[str, dict] = {}

    def record(name, ours, theirs, goal, limit=None):
        entry = {"stackctl": summary(ours), "goal": goal}
        if theirs is not None:
            entry["baseline"] = summary(theirs)
            entry["ratio"] = statistics.median(ours) / statistics.median(theirs)
        entry["met"] = (entry["ratio"] if theirs is not None and limit and limit[0] == "ratio"
                        else statistics.median(ours)) <= limit[1] if limit else None
        results[name] = entry
        shown = f"{entry['ratio']:.2f}x" if "ratio" in entry else f"{statistics.median(ours):.3f} s"
        print(f"  {name}: {shown} (goal {goal})", file=sys.stderr, flush=True)

    try:
        print("· up", file=sys.stderr, flush=True)
        sh(stackctl("up"))
        compose_ps = timed([*compose, "ps"])
        print("· ps, status", file=sys.stderr, flush=True)
        record("ps vs docker compose ps", timed(stackctl("ps")), compose_ps, "<= 2x", ("ratio", 2.0))
        record("status --no-stats vs docker compose ps", timed(stackctl("status", "--no-stats")), compose_ps, "<= 3x",
               ("ratio", 3.0))
        record("status vs docker compose ps", timed(stackctl("status")), compose_ps, "(info)")
        print("· no-op up", file=sys.stderr, flush=True)
        noop = timed(stackctl("up"))
        compose_noop = timed([*compose, "up", "-d", "--wait", "--no-build"])
        record("no-op up", noop, None, "< 1 s", ("seconds", 1.0))
        record("no-op up vs compose no-op up -d --wait", noop, compose_noop, "(info)")

        print(f"· generating {args.rows} rows", file=sys.stderr, flush=True)
        psql("DROP TABLE IF EXISTS bench_rows")
        psql(f"CREATE TABLE bench_rows AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) "
             f"|| md5((g * 31)::text) AS payload, now() AS at FROM generate_series(1, {args.rows}) AS g")
        size = int(psql("SELECT pg_database_size('stackctl')"))
        print(f"· backup ({size / 1e6:.0f} MB database)", file=sys.stderr, flush=True)
        ours, raw = [], []
        for _ in range(args.runs):
            ours.append(sh(stackctl("backup", "--no-redis"))[0])
            with open(tmp / "raw.dump", "wb") as out:
                raw.append(sh(["docker", "exec", f"{STACK}-db-1", "pg_dump", "-Fc", "-U", "stackctl", "-d",
                               "stackctl"], stdout=out)[0])
        record("backup --no-redis (with its full read) vs pg_dump -Fc", ours, raw, "<= 1.3x", ("ratio", 1.3))
        listed = json.loads(sh(stackctl("backups", "--json"))[1].stdout)["result"]["backups"]
        backup_id = listed[0]["id"]
        results["sizes"] = {"database_bytes": size, "stackctl_dump_bytes": listed[0]["bytes"],
                            "raw_dump_bytes": (tmp / "raw.dump").stat().st_size}

        print("· restore outage", file=sys.stderr, flush=True)
        outage, outage_restart, paused, total, failed = [], [], [], [], {"paused": 0, "restart": 0}
        for _ in range(args.runs):
            with HealthWatch(ports["HTTP_PORT"]) as watch:
                time.sleep(0.5)
                took, proc = sh(stackctl("restore", backup_id, "--yes", "--no-redis", "--json"))
                time.sleep(0.5)
            total.append(took)
            paused.append(json.loads(proc.stdout)["result"]["paused_seconds"])
            outage.append(watch.longest_gap())
            failed["paused"] += watch.failed
            with HealthWatch(ports["HTTP_PORT"]) as watch:
                time.sleep(0.5)
                sh(stackctl("restore", backup_id, "--yes", "--no-redis", "--restart"))
                time.sleep(0.5)
            outage_restart.append(watch.longest_gap())
            failed["restart"] += watch.failed
        record("restore outage (longest time without a 200 through the proxy)", outage, None, "<= 1 s",
               ("seconds", 1.0))
        record("restore outage with --restart (stop, start through up)", outage_restart, None, "(before)")
        results["restore outage (longest time without a 200 through the proxy)"].update(
            {"paused_seconds": summary(paused), "failed_requests": failed["paused"]})
        results["restore outage with --restart (stop, start through up)"]["failed_requests"] = failed["restart"]
        raw_restore = []
        for _ in range(args.runs):
            psql("DROP DATABASE IF EXISTS rawrestore", db="postgres")
            psql("CREATE DATABASE rawrestore TEMPLATE template0", db="postgres")
            with open(tmp / "raw.dump", "rb") as dump:
                start = time.perf_counter()
                subprocess.run(["docker", "exec", "-i", f"{STACK}-db-1", "pg_restore", "--no-owner", "-U", "stackctl",
                                "-d", "rawrestore"], stdin=dump, check=True, capture_output=True)
                raw_restore.append(time.perf_counter() - start)
        record("restore --no-redis (total) vs pg_restore", total, raw_restore, "(info)")
    finally:
        subprocess.run(stackctl("down", "--volumes", "--yes"), env=env, capture_output=True)
        subprocess.run([*compose, "down", "--volumes"], env=env, capture_output=True)
        subprocess.run(["rm", "-rf", str(tmp)])
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "speed.json").write_text(json.dumps({"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                                                "runs": args.runs, "results": results}, indent=2))
    print(table(results))
    charts(results, out)


def table(results: dict) -> str:
    rows = ["| figure | stackctl median (min–max) | baseline median (min–max) | ratio | goal | met |",
            "|---|---|---|---|---|---|"]
    for name, r in results.items():
        if "stackctl" not in r:
            continue
        s = r["stackctl"]
        base = f"{r['baseline']['median']:.3f} s ({r['baseline']['min']:.3f}–{r['baseline']['max']:.3f})" \
            if "baseline" in r else "-"
        ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "-"
        met = {True: "yes", False: "no", None: ""}[r["met"]]
        rows.append(f"| {name} | {s['median']:.3f} s ({s['min']:.3f}–{s['max']:.3f}) | {base} | {ratio} | {r['goal']} "
                    f"| {met} |")
    return "\n".join(rows)


def charts(results: dict, out: Path) -> None:
    """Two SVGs: the ratios against their goals, and the seconds (no-op up, restore outages)."""
    try:
        import matplotlib

        matplotlib.use("svg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no charts: .venv/bin/pip install -r bench/requirements.txt)", file=sys.stderr)
        return
    ratios = [(n, r["ratio"], r["goal"]) for n, r in results.items() if "ratio" in r]
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(ratios) + 1.2))
    names = [n for n, *_ in ratios]
    ax.barh(names, [v for _, v, _ in ratios], color="#4c72b0")
    for i, (_, value, goal) in enumerate(ratios):
        ax.text(value, i, f" {value:.2f}x (goal {goal})", va="center", fontsize=8)
        if goal.startswith("<="):
            ax.plot([float(goal.split()[1].rstrip("x"))] * 2, [i - 0.4, i + 0.4], color="#c44e52")
    ax.invert_yaxis()
    ax.set_xlabel("stackctl / raw command (median of runs; red: the goal)")
    ax.set_xlim(0, max(v for _, v, _ in ratios) * 1.5)
    fig.tight_layout()
    fig.savefig(out / "speed-ratios.svg")
    seconds = [(n, r["stackctl"]["median"], r["goal"]) for n, r in results.items()
               if "stackctl" in r and "ratio" not in r]
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(seconds) + 1.2))
    ax.barh([n for n, *_ in seconds], [v for _, v, _ in seconds], color="#55a868")
    for i, (_, value, goal) in enumerate(seconds):
        ax.text(value, i, f" {value:.2f} s (goal {goal})", va="center", fontsize=8)
    ax.axvline(1.0, color="#c44e52", linewidth=1)
    ax.invert_yaxis()
    ax.set_xlabel("seconds (median of runs; red: one second)")
    ax.set_xlim(0, max(v for _, v, _ in seconds) * 1.5)
    fig.tight_layout()
    fig.savefig(out / "speed-seconds.svg")


if __name__ == "__main__":
    main()
