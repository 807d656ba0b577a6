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


class StrictLoad:
    """The strictest client: Python's own http.client over TLS, one keep-alive connection per
    worker, no retry of anything, no check of a pooled connection before reuse. Every other
    request is a write (POST /api/stops); the ids of the writes answered 201 are kept, so the
    test can look for each in the database. A failure is counted and the next request opens a
    new connection (a client has to), the failed one is never sent again."""

    def __init__(self, host: str, port: int, read_path: str, rate: float = 20.0, workers: int = 4,
                 max_seconds: float = 300.0, tls: bool = True):
        self.host, self.port, self.read_path, self.tls = host, port, read_path, tls
        self.rate, self.workers, self.max_seconds = rate, workers, max_seconds
        self.results: list[tuple[float, bool, str, float]] = []  # (t, ok, what, latency)
        self.written: list[int] = []  # ids of acknowledged writes
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> "StrictLoad":
        self.t0 = time.monotonic()
        for i in range(self.workers):
            t = threading.Thread(target=self._run, args=(i,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(15)

    def _connect(self):
        import http.client
        import ssl

        if not self.tls:
            return http.client.HTTPConnection(self.host, self.port, timeout=10)
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return http.client.HTTPSConnection(self.host, self.port, timeout=10, context=context)

    def _run(self, index: int) -> None:
        import json

        interval = self.workers / self.rate
        next_at = time.monotonic() + index * interval / self.workers
        conn, n = self._connect(), 0
        while not self._stop.is_set() and time.monotonic() - self.t0 < self.max_seconds:
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            next_at += interval
            n += 1
            write = n % 2 == 0
            start = time.monotonic()
            try:
                if write:
                    body = json.dumps({"name": f"load-{index}-{n}", "lat": 52.52, "lon": 13.405})
                    conn.request("POST", "/api/stops", body=body, headers={"Content-Type": "application/json"})
                else:
                    conn.request("GET", self.read_path)
                response = conn.getresponse()
                data = response.read()
                expected = 201 if write else 200
                ok, what = response.status == expected, f"{'POST' if write else 'GET'} HTTP {response.status}"
                if ok and write:
                    with self._lock:
                        self.written.append(json.loads(data)["id"])
            except Exception as exc:  # noqa: BLE001  (every way a request can fail counts)
                ok, what = False, f"{'POST' if write else 'GET'} {type(exc).__name__}"
                conn.close()
                conn = self._connect()
            with self._lock:
                self.results.append((start - self.t0, ok, what, time.monotonic() - start))
        conn.close()

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def failures(self) -> list[tuple[float, bool, str, float]]:
        return [r for r in self.results if not r[1]]
