"""Backups against the raw tools on a generated database of >= 200 MB, in one run.

    .venv/bin/python bench/backup.py [--runs 5] [--rows 1400000]

stackctl backup (dump + full read + manifest) vs `docker exec db pg_dump -Fc`; the cost of
`backups verify` (checksums, full read, scratch restore); stackctl restore (check, restore into
a new database while the stack serves, stop, Redis copied aside, swap, migrate, health) vs raw `pg_restore` into an
empty database. Writes bench/results/backup.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PY, ROOT, free_ports  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rows", type=int, default=1_400_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="stackctl-bench-backup-"))
    env = {**os.environ, **{k: str(v) for k, v in free_ports().items()}, "STACK_NAME": "benchbackup",
           "STACKCTL_PROJECT_DIR": str(ROOT), "STACKCTL_BACKUP_DIR": str(tmp / "backups"),
           "STACKCTL_BACKUP_KEEP_COUNT": "0", "STACKCTL_BACKUP_KEEP_DAYS": "0", "CI": "1"}

    def sh(argv, stdout=None):
        start = time.perf_counter()
        proc = subprocess.run(argv, env=env, stdout=stdout or subprocess.PIPE, stderr=subprocess.PIPE, text=stdout is None)
        took = time.perf_counter() - start
        if proc.returncode != 0:
            raise SystemExit(f"{argv} failed: {proc.stderr}")
        return took, proc

    def stackctl(*a):
        return sh([PY, "-m", "stackctl", *a])

    def psql(sql, db="stackctl"):
        return sh(["docker", "exec", "benchbackup-db-1", "psql", "-X", "-At", "-U", "stackctl", "-d", db, "-c", sql])[1].stdout.strip()

    results = {}
    try:
        stackctl("up")
        print("· generating data", file=sys.stderr)
        psql("DROP TABLE IF EXISTS bench_rows")
        psql(f"CREATE TABLE bench_rows AS SELECT g AS id, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) "
             f"|| md5((g * 31)::text) AS payload, now() AS at FROM generate_series(1, {args.rows}) AS g")
        size = int(psql("SELECT pg_database_size('stackctl')"))
        print(f"· database is {size / 1e6:.0f} MB", file=sys.stderr)
        ours, raw, verify, ids = [], [], [], []
        for i in range(args.runs):
            took, _ = stackctl("backup", "--no-redis")
            ours.append(took)
            with open(tmp / "raw.dump", "wb") as out:
                raw.append(sh(["docker", "exec", "benchbackup-db-1", "pg_dump", "-Fc", "-Z6", "-U", "stackctl", "-d",
                               "stackctl"], stdout=out)[0])
            print(f"  backup run {i + 1}: stackctl {ours[-1]:.1f}s, raw {raw[-1]:.1f}s", file=sys.stderr)
        listed = json.loads(stackctl("backups", "--json")[1].stdout)["result"]["backups"]
        ids = [b["id"] for b in listed]
        dump_bytes = listed[0]["bytes"]
        for i in range(args.runs):
            verify.append(stackctl("backups", "verify", ids[i % len(ids)])[0])
            print(f"  verify run {i + 1}: {verify[-1]:.1f}s", file=sys.stderr)
        restore, raw_restore = [], []
        for i in range(args.runs):
            restore.append(stackctl("restore", ids[0], "--yes", "--no-redis")[0])
            psql("DROP DATABASE IF EXISTS rawrestore", db="postgres")
            psql("CREATE DATABASE rawrestore TEMPLATE template0", db="postgres")
            with open(tmp / "raw.dump", "rb") as dump:
                start = time.perf_counter()
                subprocess.run(["docker", "exec", "-i", "benchbackup-db-1", "pg_restore", "--no-owner", "-U", "stackctl",
                                "-d", "rawrestore"], stdin=dump, check=True, capture_output=True)
                raw_restore.append(time.perf_counter() - start)
            print(f"  restore run {i + 1}: stackctl {restore[-1]:.1f}s, raw {raw_restore[-1]:.1f}s", file=sys.stderr)

        def summary(xs):
            return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "runs": xs}

        results = {
            "database_bytes": size, "dump_bytes": dump_bytes, "rows": args.rows,
            "backup": {"stackctl": summary(ours), "raw pg_dump -Fc via docker exec": summary(raw),
                       "ratio": statistics.median(ours) / statistics.median(raw)},
            "verify (checksums + full read + scratch restore)": summary(verify),
            "restore": {"stackctl": summary(restore), "raw pg_restore via docker exec": summary(raw_restore),
                        "ratio": statistics.median(restore) / statistics.median(raw_restore)},
        }
    finally:
        subprocess.run([PY, "-m", "stackctl", "down", "--volumes", "--yes"], env=env, capture_output=True)
        subprocess.run(["rm", "-rf", str(tmp)])
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "backup.json").write_text(json.dumps(results, indent=2))
    b, r, v = results["backup"], results["restore"], results["verify (checksums + full read + scratch restore)"]
    print(f"database {results['database_bytes'] / 1e6:.0f} MB, dump {results['dump_bytes'] / 1e6:.0f} MB")
    print("| figure | stackctl median (min–max) | raw median (min–max) | ratio |\n|---|---|---|---|")
    for name, ours, raw in (("backup", b["stackctl"], b["raw pg_dump -Fc via docker exec"]),
                            ("restore", r["stackctl"], r["raw pg_restore via docker exec"])):
        print(f"| {name} | {ours['median']:.1f} s ({ours['min']:.1f}–{ours['max']:.1f}) | "
              f"{raw['median']:.1f} s ({raw['min']:.1f}–{raw['max']:.1f}) | {ours['median'] / raw['median']:.2f}x |")
    print(f"| backups verify | {v['median']:.1f} s ({v['min']:.1f}–{v['max']:.1f}) | - | - |")


if __name__ == "__main__":
    main()
