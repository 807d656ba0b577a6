"""An independent readiness prober: asks every service every 20 ms and records when each one
first really answers (SQL, PING, HTTP 200). The truth that `stackctl up` is measured against."""

from __future__ import annotations

import threading
import time

import httpx
import psycopg
import redis

INTERVAL = 0.02


def _postgres(port, password):
    try:
        with psycopg.connect(host="127.0.0.1", port=port, user="stackctl", dbname="stackctl", password=password,
                             connect_timeout=1) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:
        return False


def _redis(port, password):
    try:
        return redis.Redis(host="127.0.0.1", port=port, password=password, socket_timeout=0.5,
                           socket_connect_timeout=0.5).ping()
    except Exception:
        return False


def _http(url):
    try:
        return httpx.get(url, timeout=0.5).status_code == 200
    except Exception:
        return False


class Prober:
    """Start it, then start the command; read .first_ready (seconds from start) per service."""

    def __init__(self, ports: dict, pg_password: str, redis_password: str):
        self.checks = {
            "db": lambda: _postgres(ports["POSTGRES_PORT"], pg_password),
            "redis": lambda: _redis(ports["REDIS_PORT"], redis_password),
            "api": lambda: _http(f"http://127.0.0.1:{ports['API_PORT']}/health"),
            "web": lambda: _http(f"http://127.0.0.1:{ports['HTTP_PORT']}/api/health"),
        }
        self.first_ready: dict[str, float] = {}
        self._stop = threading.Event()
        self._threads = []

    def start(self) -> float:
        self.t0 = time.perf_counter()
        for name, check in self.checks.items():
            t = threading.Thread(target=self._loop, args=(name, check), daemon=True)
            t.start()
            self._threads.append(t)
        return self.t0

    def _loop(self, name, check):
        while not self._stop.is_set():
            if check():
                self.first_ready[name] = time.perf_counter() - self.t0
                return
            time.sleep(INTERVAL)

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(2)

    @property
    def all_ready(self) -> float | None:
        if len(self.first_ready) < len(self.checks):
            return None
        return max(self.first_ready.values())
