"""A small web app shaped like the ones stackctl is used on, configured by its environment.

  serve    HTTP on PORT (8000) after LISTEN_DELAY seconds: GET / and /health, GET/POST /items
  worker   never listens: counts items into Redis every few seconds
  migrate  creates its tables (the app's own migrations), then exits
Environment: DB_HOST, DB_NAME, DB_USER, DB_PASSWORD (Postgres), REDIS_HOST, REDIS_PASSWORD,
MIGRATE_ON_START and SEED_ON_START (an entrypoint that migrates and seeds), FLUSH_ON_START
(a table emptied at each start, as a framework's flush would), EXTRA_DB (a second database it
writes to: items go to both), VERSION (shown on /).
"""

import json
import os
import signal
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2

VERSION = os.environ.get("VERSION", "1")


def connect(database=None):
    return psycopg2.connect(host=os.environ.get("DB_HOST", "db"), dbname=database or os.environ.get("DB_NAME", "app"),
                            user=os.environ.get("DB_USER", "postgres"), password=os.environ.get("DB_PASSWORD", ""),
                            connect_timeout=3)


def databases():
    return [os.environ.get("DB_NAME", "app")] + ([os.environ["EXTRA_DB"]] if os.environ.get("EXTRA_DB") else [])


def migrate():
    for name in databases():
        with connect(name) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name text NOT NULL)")
            cur.execute("CREATE TABLE IF NOT EXISTS sessions (id serial PRIMARY KEY, token text)")
    print("migrated", databases(), flush=True)


def seed():
    with connect() as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM items")
        if cur.fetchone()[0] == 0:
            cur.executemany("INSERT INTO items (name) VALUES (%s)", [("seed-a",), ("seed-b",)])
    print("seeded", flush=True)


def flush(table):
    with connect() as conn, conn.cursor() as cur:
        cur.execute(f'DELETE FROM "{table}"')
    print("flushed", table, flush=True)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        try:
            if self.path in ("/", "/health"):
                with connect() as conn, conn.cursor() as cur:
                    cur.execute("SELECT 1")
                return self.reply(200, {"status": "ok", "version": VERSION})
            if self.path == "/items":
                with connect() as conn, conn.cursor() as cur:
                    cur.execute("SELECT count(*) FROM items")
                    return self.reply(200, {"items": cur.fetchone()[0], "version": VERSION})
            return self.reply(404, {"error": "not found"})
        except Exception as exc:  # noqa: BLE001
            return self.reply(503, {"error": str(exc)})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        try:
            ids = []
            for name in databases():
                with connect(name) as conn, conn.cursor() as cur:
                    cur.execute("INSERT INTO items (name) VALUES (%s) RETURNING id", (body.get("name", "x"),))
                    ids.append(cur.fetchone()[0])
            return self.reply(201, {"id": ids[0]})
        except Exception as exc:  # noqa: BLE001
            return self.reply(503, {"error": str(exc)})

    def log_message(self, *args):
        pass


def serve():
    if os.environ.get("MIGRATE_ON_START"):
        migrate()
    if os.environ.get("SEED_ON_START"):
        seed()
    if os.environ.get("FLUSH_ON_START"):
        flush(os.environ["FLUSH_ON_START"])
    time.sleep(float(os.environ.get("LISTEN_DELAY", "0")))
    server = ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8000"))), Handler)
    print("listening", flush=True)
    server.serve_forever()


def worker():
    import redis

    client = redis.Redis(host=os.environ.get("REDIS_HOST", "cache"), password=os.environ.get("REDIS_PASSWORD") or None)
    while True:
        try:
            with connect() as conn, conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM items")
                client.set("items", cur.fetchone()[0])
        except Exception as exc:  # noqa: BLE001
            print("worker:", exc, flush=True)
        time.sleep(2)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # as PID 1, stop when docker stop asks
    {"serve": serve, "worker": worker, "migrate": migrate}[sys.argv[1] if len(sys.argv) > 1 else "serve"]()
