"""HTTP routes: /health (database + Redis), /stops/near, POST /stops, /version."""

import asyncio
import json
import logging
import time
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from . import VERSION, stops
from .config import Config

log = logging.getLogger("api")
CHECK_TIMEOUT_S = 1.0  # below the 2 s probers give us, so they see the 503, not a timeout


@asynccontextmanager
async def lifespan(app: Starlette):
    cfg = Config.from_env()
    # check: a pooled connection the server closed (a restore swaps the database under it) is
    # replaced before a request gets it, instead of failing that request.
    pool = AsyncConnectionPool(kwargs=cfg.db_kwargs(), min_size=1, max_size=8, open=False, timeout=5,
                               check=AsyncConnectionPool.check_connection)
    await pool.open(wait=False)  # serve /health (503) even while the database is away
    cache = aioredis.Redis(
        host=cfg.redis_host, port=cfg.redis_port, password=cfg.redis_password,
        socket_timeout=CHECK_TIMEOUT_S, socket_connect_timeout=CHECK_TIMEOUT_S,
    )
    app.state.cfg, app.state.pool, app.state.redis = cfg, pool, cache
    log.info("api %s starting", VERSION)
    try:
        yield
    finally:
        await pool.close()
        await cache.aclose()


async def _timed(check) -> dict:
    start = time.perf_counter()
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_S)
    except Exception as exc:  # a health endpoint reports failures, it does not raise them
        return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    return {"ok": True, "latency_ms": round((time.perf_counter() - start) * 1000, 1)}


async def health(request: Request) -> JSONResponse:
    state = request.app.state

    async def database():
        async with state.pool.connection(timeout=CHECK_TIMEOUT_S) as conn:
            await conn.execute("SELECT 1")

    db, cache = await asyncio.gather(_timed(database), _timed(state.redis.ping))
    ok = db["ok"] and cache["ok"]
    body = {"status": "ok" if ok else "unavailable", "version": VERSION,
            "checks": {"database": db, "redis": cache}}
    return JSONResponse(body, status_code=200 if ok else 503)


async def near(request: Request) -> JSONResponse:
    try:
        q = stops.parse_near(request.query_params)
    except stops.BadQuery as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    state = request.app.state
    return JSONResponse(await stops.near(state.pool, state.redis, q, state.cfg.cache_ttl))


async def create_stop(request: Request) -> JSONResponse:
    try:
        stop = stops.parse_new_stop(json.loads(await request.body() or b"null"))
    except json.JSONDecodeError:
        return JSONResponse({"error": "body must be JSON"}, status_code=400)
    except stops.BadQuery as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    state = request.app.state
    stop_id = await stops.create(state.pool, state.redis, stop)
    return JSONResponse({"id": stop_id, **stop}, status_code=201)


async def version(request: Request) -> JSONResponse:
    return JSONResponse({"version": VERSION})


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/version", version),
        Route("/stops/near", near),
        Route("/stops", create_stop, methods=["POST"]),
    ],
    lifespan=lifespan,
)
