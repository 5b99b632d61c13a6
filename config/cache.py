"""Redis connections that fail fast while Redis does not answer (django-redis's CONNECTION_POOL_CLASS).

django-redis keeps one connection pool per Redis URL for the whole process (Django builds a cache
backend per request under ASGI; django-redis shares the pool behind them), and CACHE_TIMEOUT_SECONDS
bounds each socket operation. That alone would still cost every cache call of a page the timeout when
Redis hangs: a page makes several. So a pool that saw a connection fail or time out treats its Redis
as down for OUTAGE_SECONDS, and every command meanwhile fails at once (the callers treat a failing
cache as a miss, so a page is served without it); the first command after that tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from prometheus_client import Counter
from redis.connection import ConnectionPool
from redis.exceptions import ConnectionError, TimeoutError

logger = logging.getLogger("config.cache")

# How long a Redis that failed is left alone. Short: a cache outage should cost milliseconds a page,
# and a recovered Redis should be used again soon.
OUTAGE_SECONDS = 2.0

OUTAGES = Counter(
    "cache_outages_total", "Times a Redis of the cache stopped answering and was left alone for a moment."
)
# timeout: a command waited CACHE_TIMEOUT_SECONDS for nothing; refused: the connection failed;
# skipped: failed at once because its Redis is being left alone.
ERRORS = Counter("cache_errors_total", "Redis commands of the cache that failed, by kind.", ["kind"])


class Outage:
    """Whether one Redis is being left alone, and until when (monotonic seconds)."""

    def __init__(self, name: str, *, seconds: float | None = None) -> None:
        self.name = name
        self.seconds = OUTAGE_SECONDS if seconds is None else seconds
        self._lock = threading.Lock()
        self._until = 0.0

    def active(self) -> bool:
        with self._lock:
            return time.monotonic() < self._until

    def begin(self, error: Exception) -> None:
        with self._lock:
            already = time.monotonic() < self._until
            self._until = time.monotonic() + self.seconds
        if not already:
            OUTAGES.inc()
            logger.warning(
                "cache: Redis %s unreachable (%s): served without it for %.0f s",
                self.name, type(error).__name__, self.seconds,
            )

    def end(self) -> None:
        with self._lock:
            self._until = 0.0

    def raise_if_active(self) -> None:
        if self.active():
            ERRORS.labels("skipped").inc()
            raise ConnectionError(f"Redis {self.name} is being left alone after a failure")

    def failed(self, error: Exception) -> None:
        ERRORS.labels("timeout" if isinstance(error, TimeoutError) else "refused").inc()
        self.begin(error)


class _FailFast:
    """Mixed into the pool's connection class: checks and reports its pool's Outage."""

    outage: Outage

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        self.outage.raise_if_active()
        try:
            return super().connect(*args, **kwargs)  # type: ignore[misc]
        except (ConnectionError, TimeoutError) as error:
            self.outage.failed(error)
            raise

    def send_packed_command(self, *args: Any, **kwargs: Any) -> Any:
        self.outage.raise_if_active()
        try:
            return super().send_packed_command(*args, **kwargs)  # type: ignore[misc]
        except (ConnectionError, TimeoutError) as error:
            self.outage.failed(error)
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]
        except (ConnectionError, TimeoutError) as error:
            self.outage.failed(error)
            raise


class FailFastConnectionPool(ConnectionPool):
    """redis-py's pool whose connections share one Outage: one timeout, then fast failures."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        base = self.connection_class
        name = "{host}:{port}/{db}".format(**{
            "host": self.connection_kwargs.get("host", self.connection_kwargs.get("path", "?")),
            "port": self.connection_kwargs.get("port", ""),
            "db": self.connection_kwargs.get("db", 0),
        })
        self.outage = Outage(name)
        # A class of its own per pool: a stalled Redis leaves the others (another URL) alone.
        self.connection_class = type(f"FailFast{base.__name__}", (_FailFast, base), {"outage": self.outage})
