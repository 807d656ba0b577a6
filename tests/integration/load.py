"""A bounded, steady HTTP load through nginx on loopback, counting every failure."""

from __future__ import annotations

import statistics
import threading
import time

import httpx


class Load:
    def __init__(self, url: str, rate: float = 20.0, workers: int = 4, max_seconds: float = 300.0):
        self.url, self.rate, self.workers, self.max_seconds = url, rate, workers, max_seconds
        self.results: list[tuple[float, bool, str, float]] = []  # (t, ok, what, latency)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> "Load":
        self.t0 = time.monotonic()
        for i in range(self.workers):
            t = threading.Thread(target=self._run, args=(i,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)

    def _run(self, index: int) -> None:
        interval = self.workers / self.rate
        next_at = time.monotonic() + index * interval / self.workers
        with httpx.Client(verify=False, timeout=10) as client:
            while not self._stop.is_set() and time.monotonic() - self.t0 < self.max_seconds:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                next_at += interval
                start = time.monotonic()
                try:
                    response = client.get(self.url)
                    ok, what = response.status_code == 200, f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, what = False, type(exc).__name__
                with self._lock:
                    self.results.append((start - self.t0, ok, what, time.monotonic() - start))

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def failures(self) -> list[tuple[float, bool, str, float]]:
        return [r for r in self.results if not r[1]]

    def latency_ms(self, q: float) -> float:
        values = sorted(r[3] for r in self.results if r[1])
        return 1000 * (statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else values[0])
