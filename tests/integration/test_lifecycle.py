"""up -> rows from PostGIS through nginx -> status -> logs -> down -> up: the data is still there."""

import json
import uuid

import httpx
import psycopg

# The reference stack's development passwords (compose/compose.yaml defaults).
DEV_SECRETS = {"postgres_password": "dev-only-postgres-password", "redis_password": "dev-only-redis-password"}


def db_rows(stack, sql, params=()):
    with psycopg.connect(host="127.0.0.1", port=stack.postgres_port, user="stackctl", dbname="stackctl",
                         password=DEV_SECRETS["postgres_password"]) as conn:
        return conn.execute(sql, params).fetchall()


def test_full_lifecycle_keeps_data(stack):
    up = stack.run("up")
    assert up.returncode == 0, up.stderr
    assert "stack is up" in up.stdout

    # Every service healthy, by stackctl's own JSON.
    status = stack.status()
    assert status["healthy"] is True
    assert {s["name"]: s["ok"] for s in status["services"]} == {
        "api": True, "db": True, "migrate": True, "redis": True, "web": True}
    web = next(s for s in status["services"] if s["name"] == "web")
    assert web["ports"][0]["host_port"] == stack.http_port
    assert {e["name"] for e in status["endpoints"] if e["ok"]} >= {"web /api/health", "db", "redis", "api", "web"}

    # Rows that came from PostGIS, through nginx's /api/ proxy, then from the Redis cache.
    near = httpx.get(stack.url("/api/stops/near"), params={"lat": 52.521918, "lon": 13.413215, "radius": 50})
    assert near.status_code == 200
    body = near.json()
    assert body["source"] == "postgis" and body["cached"] is False
    assert body["stops"][0]["name"] == "Alexanderplatz" and body["stops"][0]["distance_m"] == 0
    again = httpx.get(stack.url("/api/stops/near"), params={"lat": 52.521918, "lon": 13.413215, "radius": 50})
    assert again.json()["cached"] is True and again.json()["stops"] == body["stops"]
    assert near.headers["x-content-type-options"] == "nosniff"

    # A write through nginx lands in the database.
    name = f"Lifecycle {uuid.uuid4().hex[:8]}"
    created = httpx.post(stack.url("/api/stops"), json={"name": name, "lat": 48.137154, "lon": 11.576124})
    assert created.status_code == 201
    assert db_rows(stack, "SELECT count(*) FROM stops WHERE name = %s", (name,)) == [(1,)]

    # The API's own lines are in its logs.
    logs = stack.run("logs", "api", "--tail", "200")
    assert logs.returncode == 0
    assert "GET /stops/near" in logs.stdout and "POST /stops" in logs.stdout

    # restart is gated on health: the API answers through nginx when it returns.
    before = stack.started_at("api")
    restart = stack.run("restart", "api")
    assert restart.returncode == 0, restart.stderr
    assert stack.started_at("api") != before
    assert httpx.get(stack.url("/api/health")).json()["status"] == "ok"

    # down keeps the volumes; up brings the same data back.
    down = stack.run("down")
    assert down.returncode == 0, down.stderr
    assert stack.containers() == []
    assert len(stack.volumes()) == 2
    up2 = stack.run("up")
    assert up2.returncode == 0, up2.stderr
    found = httpx.get(stack.url("/api/stops/near"), params={"lat": 48.137154, "lon": 11.576124, "radius": 10}).json()
    assert [s["name"] for s in found["stops"]] == [name]
    assert db_rows(stack, "SELECT count(*) FROM alembic_version") == [(1,)]

    # Re-running up on a healthy stack changes nothing.
    ids_before = stack.container_ids()
    up3 = stack.run("up", "--json")
    assert up3.returncode == 0, up3.stderr
    result = json.loads(up3.stdout)["result"]
    assert result["built"] == [] and {s["outcome"] for s in result["services"]} == {"kept"}
    assert stack.container_ids() == ids_before

    # down --volumes deletes the data.
    gone = stack.run("down", "--volumes", "--yes")
    assert gone.returncode == 0 and stack.volumes() == []


def test_spa_fallback_assets_and_gzip(stack):
    assert stack.run("up").returncode == 0
    deep = httpx.get(stack.url("/some/client/route"))
    assert deep.status_code == 200 and "<title>stackctl reference stack</title>" in deep.text
    assert deep.headers["cache-control"] == "no-cache"
    missing = httpx.get(stack.url("/assets/nope.js"))
    assert missing.status_code == 404
    gz = httpx.get(stack.url("/"), headers={"Accept-Encoding": "gzip"})
    asset = gz.text.split('src="')[1].split('"')[0]
    js = httpx.get(stack.url(asset), headers={"Accept-Encoding": "gzip"})
    assert js.status_code == 200 and js.headers["content-encoding"] == "gzip"
    assert "immutable" in js.headers["cache-control"]
    health = httpx.get(stack.url("/health"))
    assert health.json() == {"status": "ok"}
