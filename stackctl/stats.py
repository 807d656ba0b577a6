"""CPU and memory of running containers.

On a local engine the kernel's cgroup counters are read directly (found through the
container's pid): two samples a quarter-second apart cost ~0.25 s. The engine's own stats
endpoint waits for its collector's 1 s tick, so it is only the fallback (remote engines).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

WINDOW = 0.25
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Usage:
    cpu_percent: float | None  # 100 = one full core, as `docker stats` shows
    memory_bytes: int | None  # usage less inactive page cache, as `docker stats` shows
    memory_limit_bytes: int | None


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return None if text == "max" else int(text)


def _memory_stat(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except OSError:
        pass
    return 0


class CgroupSampler:
    """Counters of one process's cgroups, v1 or v2."""

    def __init__(self, pid: int):
        self.v2: Path | None = None
        self.cpu_dir: Path | None = None
        self.memory_dir: Path | None = None
        for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
            _, controllers, rel = line.split(":", 2)
            rel = rel.lstrip("/")
            if controllers == "" and (CGROUP_ROOT / rel / "cpu.stat").exists():
                self.v2 = CGROUP_ROOT / rel
            for c in controllers.split(","):
                if c == "cpuacct":
                    self.cpu_dir = CGROUP_ROOT / "cpuacct" / rel
                elif c == "memory":
                    self.memory_dir = CGROUP_ROOT / "memory" / rel
        if self.cpu_dir is None and self.memory_dir is None and self.v2 is None:
            raise OSError("no cgroup counters readable")

    def cpu_ns(self) -> int | None:
        if self.cpu_dir is not None:
            return _read_int(self.cpu_dir / "cpuacct.usage")
        if self.v2 is not None:
            usec = _memory_stat(self.v2 / "cpu.stat", "usage_usec")
            return usec * 1000
        return None

    def memory(self) -> tuple[int | None, int | None]:
        if self.memory_dir is not None:
            usage = _read_int(self.memory_dir / "memory.usage_in_bytes")
            limit = _read_int(self.memory_dir / "memory.limit_in_bytes")
            cache = _memory_stat(self.memory_dir / "memory.stat", "total_inactive_file")
        elif self.v2 is not None:
            usage = _read_int(self.v2 / "memory.current")
            limit = _read_int(self.v2 / "memory.max")
            cache = _memory_stat(self.v2 / "memory.stat", "inactive_file")
        else:
            return None, None
        if limit is not None and limit >= 1 << 60:  # "no limit" in cgroup v1
            limit = None
        return (None if usage is None else max(0, usage - cache)), limit


def sample_local(pids: dict[str, int], window: float = WINDOW) -> dict[str, Usage]:
    samplers = {}
    for key, pid in pids.items():
        try:
            samplers[key] = CgroupSampler(pid)
        except (OSError, ValueError):
            continue
    first = {k: (s.cpu_ns(), time.monotonic_ns()) for k, s in samplers.items()}
    time.sleep(window)
    usage = {}
    for key, sampler in samplers.items():
        cpu0, t0 = first[key]
        cpu1, t1 = sampler.cpu_ns(), time.monotonic_ns()
        pct = None if cpu0 is None or cpu1 is None else round(max(0, cpu1 - cpu0) / (t1 - t0) * 100, 2)
        usage[key] = Usage(pct, *sampler.memory())
    return usage


def cpu_percent_from_api(sample: dict) -> float | None:
    """From one engine stats sample (with precpu), as `docker stats` computes it."""
    try:
        cpu = sample["cpu_stats"]["cpu_usage"]["total_usage"] - sample["precpu_stats"]["cpu_usage"]["total_usage"]
        system = sample["cpu_stats"]["system_cpu_usage"] - sample["precpu_stats"]["system_cpu_usage"]
        cpus = sample["cpu_stats"].get("online_cpus") or 1
    except (KeyError, TypeError):
        return None
    return 0.0 if system <= 0 else round(max(0, cpu) / system * cpus * 100.0, 2)


def memory_from_api(sample: dict) -> tuple[int | None, int | None]:
    mem = sample.get("memory_stats") or {}
    if mem.get("usage") is None:
        return None, mem.get("limit")
    stats = mem.get("stats") or {}
    cache = stats.get("inactive_file", stats.get("total_inactive_file", 0))
    return max(0, mem["usage"] - cache), mem.get("limit")


def sample(engine, containers: dict[str, tuple[str, int]]) -> dict[str, Usage]:
    """containers: key -> (container id, pid). Local cgroups first, the engine for the rest."""
    local = engine.remote is None and CGROUP_ROOT.is_dir()
    usage = sample_local({k: pid for k, (_, pid) in containers.items() if pid}) if local else {}
    rest = {k: cid for k, (cid, _) in containers.items() if k not in usage}
    if rest:
        def one(cid: str) -> Usage:
            raw = engine.stats(cid)
            return Usage(cpu_percent_from_api(raw), *memory_from_api(raw))

        with ThreadPoolExecutor(max_workers=min(8, len(rest))) as pool:
            usage.update(zip(rest, pool.map(one, rest.values())))
    return usage
