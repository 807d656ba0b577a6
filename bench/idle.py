"""What a running stack costs the host while nobody asks it anything: CPU seconds per second
(cores busy), the whole machine and by process name, before and while the reference stack runs.

    .venv/bin/python bench/idle.py [--seconds 30] [--env development|production]

The reference stack's Docker healthchecks run every 5 s in each container (pg_isready, redis-cli,
a Python HTTP probe, bash /dev/tcp); each one is an exec through dockerd, containerd and runc.
This shows what they cost on this machine, beside a window with nothing of ours running. Run by
hand on an otherwise idle machine; never part of CI's pass/fail.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import PY, ROOT, free_ports  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def busy_seconds() -> float:
    """CPU seconds spent not idle since boot, all cores (/proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICK


def by_process() -> dict[int, tuple[str, float]]:
    """pid -> (name, CPU seconds it and its waited-for children used)."""
    seen = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2:].split()
        seen[int(entry.name)] = (name, sum(int(x) for x in rest[11:15]) / TICK)  # utime stime cutime cstime
    return seen


def window(seconds: float) -> tuple[float, list[tuple[str, float]]]:
    """Cores busy over the window, and CPU seconds per second by process name (processes that
    ended inside it are counted through their parent's children times)."""
    busy, before = busy_seconds(), by_process()
    time.sleep(seconds)
    after, total = by_process(), busy_seconds() - busy
    names: collections.Counter = collections.Counter()
    for pid, (name, used) in after.items():
        names[name] += used - (before[pid][1] if pid in before and before[pid][0] == name else 0.0)
    return total / seconds, [(n, v / seconds) for n, v in names.most_common(8)]


def show(title: str, result: tuple[float, list[tuple[str, float]]]) -> None:
    cores, top = result
    print(f"{title}: {cores:.3f} cores busy")
    for name, used in top:
        print(f"    {name:<20} {used:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    env = {**os.environ, **{k: str(v) for k, v in free_ports().items()}, "STACK_NAME": "benchidle",
           "STACKCTL_PROJECT_DIR": str(ROOT)}
    show("nothing of ours running", window(args.seconds))
    up = subprocess.run([PY, "-m", "stackctl", "up", "-q"], env=env, capture_output=True, text=True)
    if up.returncode != 0:
        raise SystemExit(up.stderr)
    try:
        time.sleep(10)  # past every start_period's first checks
        show("the reference stack up, idle", window(args.seconds))
    finally:
        subprocess.run([PY, "-m", "stackctl", "down", "--volumes", "--yes"], env=env, capture_output=True)


if __name__ == "__main__":
    main()
