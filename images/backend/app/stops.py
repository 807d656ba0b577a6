"""Stops near a point, from PostGIS (spatial index), cached in Redis by a generation key."""

import json

import psycopg

NEAR_SQL = """
SELECT id, name,
       ST_Y(geom::geometry) AS lat,
       ST_X(geom::geometry) AS lon,
       round(ST_Distance(geom, point.g)::numeric, 1)::float AS distance_m
FROM stops,
     LATERAL (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography AS g) AS point
WHERE ST_DWithin(geom, point.g, %(radius)s)
ORDER BY distance_m, id
LIMIT %(limit)s
"""

INSERT_SQL = """
INSERT INTO stops (name, geom)
VALUES (%(name)s, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)::geography)
RETURNING id
"""

GENERATION_KEY = "stops:generation"


class BadQuery(ValueError):
    """A query parameter is missing or out of range."""


def _number(params, name, low, high, default=None, kind=float):
    raw = params.get(name)
    if raw is None:
        if default is None:
            raise BadQuery(f"'{name}' is required")
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise BadQuery(f"'{name}' must be a number") from None
    if not low <= value <= high:
        raise BadQuery(f"'{name}' must be between {low} and {high}")
    return value


def parse_near(params) -> dict:
    return {
        "lat": _number(params, "lat", -90, 90),
        "lon": _number(params, "lon", -180, 180),
        "radius": _number(params, "radius", 1, 50_000, default=500),
        "limit": _number(params, "limit", 1, 200, default=20, kind=int),
    }


def parse_new_stop(body) -> dict:
    if not isinstance(body, dict):
        raise BadQuery("body must be a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise BadQuery("'name' must be a non-empty string of at most 200 characters")
    return {"name": name.strip(), "lat": _number(body, "lat", -90, 90), "lon": _number(body, "lon", -180, 180)}


async def cache_key(redis, q: dict) -> str:
    generation = int(await redis.get(GENERATION_KEY) or 0)
    return f"stops:near:{generation}:{q['lat']:.6f}:{q['lon']:.6f}:{q['radius']:g}:{q['limit']}"


class _EndedBeforeCommit(Exception):
    """The server ended the connection while the transaction was still open: nothing of it committed."""


async def in_transaction(pool, work):
    """`work(conn)` in one transaction, run once more on a fresh connection when the server ended
    the one it got before the commit. The pool's check replaces the connections a restore's swap
    ends while they wait in the pool; this covers one the request already held (taken out, not yet
    used) when the swap came. An error at the commit itself is never run again: that commit may
    have happened."""
    try:
        async with pool.connection() as conn:
            try:
                return await work(conn)
            except psycopg.OperationalError as exc:
                if not (conn.closed or isinstance(exc, psycopg.errors.AdminShutdown)):
                    raise
                raise _EndedBeforeCommit from exc
    except _EndedBeforeCommit:
        pass
    async with pool.connection() as conn:
        return await work(conn)


async def _near_rows(conn, q: dict) -> list[dict]:
    cur = await conn.execute(NEAR_SQL, q)
    cols = [c.name for c in cur.description]
    return [dict(zip(cols, r)) for r in await cur.fetchall()]


async def _insert(conn, stop: dict) -> int:
    cur = await conn.execute(INSERT_SQL, stop)
    (stop_id,) = await cur.fetchone()
    return stop_id


async def near(pool, redis, q: dict, ttl: int) -> dict:
    key = await cache_key(redis, q)
    hit = await redis.get(key)
    if hit is not None:
        return {**json.loads(hit), "cached": True}
    rows = await in_transaction(pool, lambda conn: _near_rows(conn, q))
    result = {"count": len(rows), "stops": rows, "source": "postgis"}
    await redis.set(key, json.dumps(result), ex=ttl)
    return {**result, "cached": False}


async def create(pool, redis, stop: dict) -> int:
    stop_id = await in_transaction(pool, lambda conn: _insert(conn, stop))
    await redis.incr(GENERATION_KEY)  # every cached answer is now stale
    return stop_id
