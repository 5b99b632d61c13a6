"""The ASGI lifespan, which Django does not speak: start-up builds what requests share, shutdown
finishes the work still in flight and closes it all. uvicorn runs it in every worker process.

Start-up: the Gemini and image clients, a look at the database (one clear line if it does not
answer; the service still starts, /readyz says 503 until it does), then gc.freeze(). Shutdown (after
the server has stopped taking requests and the open ones have ended): waits for message work that
outlived its request (bounded by its own limits), so what was paid for is cached and recorded, then
closes the clients and the connection pools.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLWrapper

from llm import service, store
from llm.config import Config
from recommendations import background, page_views, threads
from recommendations.connections import database_hop, first_look_problem, release

logger = logging.getLogger("config.lifespan")

# As Django's ASGIHandler takes them: a message is any mapping.
Scope = dict[str, Any]
Receive = Callable[[], Awaitable[Mapping[str, Any]]]
Send = Callable[[Mapping[str, Any]], Awaitable[None]]


class LifespanApplication:
    """Django's ASGI application, with the lifespan protocol answered in front of it."""

    def __init__(self, django_application: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.django_application = django_application

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            # Its thread-sensitive hops on a thread reused from request to request.
            async with threads.borrowed_thread():
                await self.django_application(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await startup()
                except Exception as error:  # the server is told why it cannot start
                    logger.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": repr(error)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                try:
                    await shutdown()
                except Exception as error:
                    logger.exception("shutdown failed")
                    await send({"type": "lifespan.shutdown.failed", "message": repr(error)})
                    return
                await send({"type": "lifespan.shutdown.complete"})
                return


async def startup() -> None:
    service.start()
    await database_hop(_check_database)()
    # Everything loaded so far (Django, the SDKs, the URL map, the clients) lives as long as the
    # process: out of the collector's reach, each full collection is cheaper (60–80 ms p99s before).
    gc.collect()
    gc.freeze()


def _check_database() -> None:
    problem = first_look_problem()
    if problem is not None:
        database = settings.DATABASES["default"]
        where = f"{database.get('HOST')}:{database.get('PORT') or 5432}" if database.get("HOST") else "local"
        logger.error(
            "database %r at %s cannot be used at start-up (%s): serving anyway, /readyz answers "
            "503 until it can (a new database is created with createdb, then manage.py migrate)",
            database.get("NAME"), where, problem,
        )


def shutdown_seconds() -> float:
    """Long enough for a message started just now to settle on its own (llm.page.Page), then to be
    cached and recorded (a pooled connection's wait, a few cache timeouts)."""
    return (
        Config.from_settings().settle_seconds
        + settings.DATABASE_POOL_TIMEOUT + 4 * settings.CACHE_TIMEOUT_SECONDS + 1
    )


async def shutdown() -> None:
    await background.drain(timeout=shutdown_seconds())
    await page_views.write()  # the counts not written yet
    await service.aclose()
    await sync_to_async(_close_pools)()


def _close_pools() -> None:
    release()
    for alias in connections:
        connection = connections[alias]
        if isinstance(connection, PostgreSQLWrapper) and connection.pool is not None:
            connection.close_pool()
    redis_pool = store.redis_pool()
    if redis_pool is not None:
        redis_pool.disconnect()
    threads.shutdown()
