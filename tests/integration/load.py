"""A bounded, steady HTTP load through nginx on loopback, counting every failure: httpx (Load)
and the strictest client there is (StrictLoad)."""

from __future__ import annotations

import json
import statistics
import threading
import time

import httpx


class Steady:
    """`workers` threads sending `rate` requests/s between them until the block ends (or
    `max_seconds`), never faster: a worker whose answers came slowly skips the turns it missed
    instead of catching up in a burst (a burst of a few hundred requests from one address is what
    nginx's rate limit is there to refuse: CI saw 429s right after a build had slowed the API);
    each request's (t, ok, what, latency) is kept. A subclass says how one worker
    connects (`connect`) and sends its n-th request (`send`: ok, what)."""

    def __init__(self, rate: float = 20.0, workers: int = 4, max_seconds: float = 300.0):
        self.rate, self.workers, self.max_seconds = rate, workers, max_seconds
        self.results: list[tuple[float, bool, str, float]] = []  # (t, ok, what, latency)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def __enter__(self):
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

    def _run(self, index: int) -> None:
        interval = self.workers / self.rate
        next_at = time.monotonic() + index * interval / self.workers
        client, n = self.connect(), 0
        try:
            while not self._stop.is_set() and time.monotonic() - self.t0 < self.max_seconds:
                delay = next_at - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                else:  # behind (slow answers): the turns missed are skipped, never sent back to back
                    next_at = time.monotonic()
                next_at += interval
                n += 1
                start = time.monotonic()
                ok, what, client = self.send(client, index, n)
                with self._lock:
                    self.results.append((start - self.t0, ok, what, time.monotonic() - start))
        finally:
            client.close()

    def connect(self):
        raise NotImplementedError

    def send(self, client, index: int, n: int):
        raise NotImplementedError

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def failures(self) -> list[tuple[float, bool, str, float]]:
        return [r for r in self.results if not r[1]]

    def latency_ms(self, q: float) -> float:
        values = sorted(r[3] for r in self.results if r[1])
        return 1000 * (statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else values[0])


class Load(Steady):
    """GETs of one URL through httpx (a pooled client)."""

    def __init__(self, url: str, rate: float = 20.0, workers: int = 4, max_seconds: float = 300.0):
        super().__init__(rate, workers, max_seconds)
        self.url = url

    def connect(self):
        return httpx.Client(verify=False, timeout=10)

    def send(self, client, index: int, n: int):
        try:
            response = client.get(self.url)
            return response.status_code == 200, f"HTTP {response.status_code}", client
        except httpx.HTTPError as exc:
            return False, type(exc).__name__, client


class StrictLoad(Steady):
    """The strictest client: Python's own http.client over TLS, one keep-alive connection per
    worker, no retry of anything, no check of a pooled connection before reuse. Every other
    request is a write (POST /api/stops); the ids of the writes answered 201 are kept, so the
    test can look for each in the database. A failure is counted and the next request opens a
    new connection (a client has to); the failed one is never sent again."""

    def __init__(self, host: str, port: int, read_path: str, rate: float = 20.0, workers: int = 4,
                 max_seconds: float = 300.0, tls: bool = True, write_path: str = "/api/stops"):
        super().__init__(rate, workers, max_seconds)
        self.host, self.port, self.read_path, self.tls, self.write_path = host, port, read_path, tls, write_path
        self.written: list[int] = []  # ids of acknowledged writes

    def connect(self):
        import http.client
        import ssl

        if not self.tls:
            return http.client.HTTPConnection(self.host, self.port, timeout=10)
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return http.client.HTTPSConnection(self.host, self.port, timeout=10, context=context)

    def send(self, conn, index: int, n: int):
        write = n % 2 == 0
        verb = "POST" if write else "GET"
        try:
            if write:
                # written far from what the reads ask for: the reads' answers stay the same size
                body = json.dumps({"name": f"load-{index}-{n}", "lat": 48.137, "lon": 11.575})
                conn.request("POST", self.write_path, body=body, headers={"Content-Type": "application/json"})
            else:
                conn.request("GET", self.read_path)
            response = conn.getresponse()
            data = response.read()
        except Exception as exc:  # noqa: BLE001  (every way a request can fail counts)
            conn.close()
            return False, f"{verb} {type(exc).__name__}", self.connect()
        ok = response.status == (201 if write else 200)
        if ok and write:
            with self._lock:
                self.written.append(json.loads(data)["id"])
        return ok, f"{verb} HTTP {response.status}", conn


def at_once(host: str, port: int, path: str, count: int) -> list[tuple[int, dict]]:
    """`count` GETs that reach the server within moments of each other however slow the machine or
    the app is: every connection is opened first, then each request is sent, then the answers are
    read ((status, headers) in sending order). A closed-loop client sends no faster than the app
    answers, so on a loaded machine it can stay under a rate limit it means to cross (CI once saw
    400 requests from 8 clients all answered 200 under nginx's 50 r/s, burst 100)."""
    import http.client

    connections = [http.client.HTTPConnection(host, port, timeout=60) for _ in range(count)]
    try:
        for conn in connections:
            conn.connect()
        for conn in connections:
            conn.request("GET", path, headers={"Connection": "close"})
        answers = []
        for conn in connections:
            response = conn.getresponse()
            response.read()
            answers.append((response.status, {k.lower(): v for k, v in response.getheaders()}))
        return answers
    finally:
        for conn in connections:
            conn.close()


def amid(action):
    """`action` run in the middle of a load already under way: a second of load before it and a
    second after, so what the load saw spans the whole change and what settles after it."""
    time.sleep(1)
    done = action()
    time.sleep(1)
    return done
