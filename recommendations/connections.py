"""Database connections under ASGI: each thread hop gives back the connections it used.

Django gives a request's connections back when the request ends. Under ASGI a view that read the
database and then awaits the network (Gemini, images) would hold its pooled connection for the whole
wait, and work that outlives its request would hold one for good, on a thread nobody closes. So the
rule here: a hop that touches the database ends by releasing its connections (to the pool, with
PostgreSQL), before the caller awaits anything else.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Iterator
from typing import ParamSpec, TypeVar

import psycopg
from asgiref.sync import sync_to_async
from django.db import connections
from django.db.backends.postgresql.base import DatabaseWrapper as PostgreSQLWrapper
from prometheus_client import REGISTRY, Metric
from prometheus_client.core import GaugeMetricFamily

P = ParamSpec("P")
T = TypeVar("T")


def release() -> None:
    """Gives this thread's database connections back (to the pool), unless a transaction is open.

    An open transaction is a test's (Django wraps each test in one); production code never awaits
    inside one.
    """
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


def database_hop(func: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """`sync_to_async(func)` whose thread releases its database connections when func ends."""

    @functools.wraps(func)
    def hop(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        finally:
            release()

    return sync_to_async(hop)


def database_problem() -> str | None:
    """Why the database does not answer, in one line; None when it does (run it in a hop)."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as error:  # noqa: BLE001 - any failure is the answer here
        text = str(error).strip()
        return text.splitlines()[0] if text else type(error).__name__
    return None


def first_look_problem() -> str | None:
    """database_problem() for start-up. On PostgreSQL it connects once on its own, not through the
    pool: a database that does not exist (or refuses the credentials) is then told at once, in the
    server's words, instead of after the pool's timeout, with a warning per retry on the way."""
    connection = connections["default"]
    if not isinstance(connection, PostgreSQLWrapper) or connection.pool is None:
        return database_problem()
    try:
        psycopg.connect(**connection.get_connection_params()).close()
    except psycopg.Error as error:
        text = " ".join(str(error).split())  # libpq's reason, on one line
        return text.rsplit(" failed: ", 1)[-1] if text else type(error).__name__
    # Then through the pool, as before: it opens now, warm for the first request.
    return database_problem()


class PoolCollector:
    """Prometheus figures of the PostgreSQL pool of this process: connections in use and idle, and
    requests waiting for one (all zero but idle when nothing holds a connection across a wait)."""

    def describe(self) -> list[Metric]:
        return []  # nothing read at registration: the pool is made on first use

    def collect(self) -> Iterator[Metric]:
        connection = connections["default"]
        if not isinstance(connection, PostgreSQLWrapper) or connection.pool is None:
            return
        stats = connection.pool.get_stats()
        size, idle = stats.get("pool_size", 0), stats.get("pool_available", 0)
        in_pool = GaugeMetricFamily(
            "db_pool_connections", "PostgreSQL connections of this process's pool, by state.",
            labels=["state"],
        )
        in_pool.add_metric(["in_use"], size - idle)
        in_pool.add_metric(["idle"], idle)
        yield in_pool
        yield GaugeMetricFamily(
            "db_pool_requests_waiting", "Requests waiting for a pooled PostgreSQL connection.",
            value=stats.get("requests_waiting", 0),
        )


REGISTRY.register(PoolCollector())
