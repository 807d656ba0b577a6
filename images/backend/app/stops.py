"""Stops near a point, from PostGIS (spatial index), cached in Redis by a generation key."""

import json

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


async def near(pool, redis, q: dict, ttl: int) -> dict:
    key = await cache_key(redis, q)
    hit = await redis.get(key)
    if hit is not None:
        return {**json.loads(hit), "cached": True}
    async with pool.connection() as conn:
        cur = await conn.execute(NEAR_SQL, q)
        cols = [c.name for c in cur.description]
        rows = [dict(zip(cols, r)) for r in await cur.fetchall()]
    result = {"count": len(rows), "stops": rows, "source": "postgis"}
    await redis.set(key, json.dumps(result), ex=ttl)
    return {**result, "cached": False}


async def create(pool, redis, stop: dict) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(INSERT_SQL, stop)
        (stop_id,) = await cur.fetchone()
    await redis.incr(GENERATION_KEY)  # every cached answer is now stale
    return stop_id
