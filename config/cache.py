"""Redis connections that fail fast while Redis does not answer (django-redis's CONNECTION_POOL_CLASS).

django-redis keeps one connection pool per Redis URL for the whole process (Django builds a cache
backend per request under ASGI; django-redis shares the pool behind them), and CACHE_TIMEOUT_SECONDS
bounds each socket operation. That alone would still cost every cache call of a page the timeout when
Redis hangs: a page makes several. So a pool that saw a connection fail or time out treats its Redis
as down for OUTAGE_SECONDS, and every command meanwhile fails at once (the callers treat a failing
cache as a miss, so a page is served without it); then one connection tries again while the others
keep failing at once, and its first answer ends the outage.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from django_redis.cache import RedisCache as DjangoRedisCache
from django_redis.client import DefaultClient
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
    """Whether one Redis is being left alone, and until when (monotonic seconds).

    After a failure, every command fails at once for `seconds`; then one caller is let through to
    try again (for at most `trial_seconds`) while the others keep failing at once, so a Redis that is
    still stalled costs one timeout per outage period, not one per waiting request.
    """

    def __init__(self, name: str, *, seconds: float | None = None, trial_seconds: float = 1.0) -> None:
        self.name = name
        self.seconds = OUTAGE_SECONDS if seconds is None else seconds
        self.trial_seconds = trial_seconds
        self._lock = threading.Lock()
        self._until = 0.0
        self._down = False
        self._trial: object | None = None  # the connection trying again

    def admits(self, connection: object) -> bool:
        """Whether `connection` may talk to Redis now."""
        with self._lock:
            now = time.monotonic()
            if now < self._until:
                return connection is self._trial
            if self._down:
                # This one tries again; the others keep failing at once until it is done.
                self._trial, self._until = connection, now + self.trial_seconds
            return True

    def begin(self, error: Exception) -> None:
        with self._lock:
            already, self._down, self._trial = self._down, True, None
            self._until = time.monotonic() + self.seconds
        if not already:
            OUTAGES.inc()
            logger.warning(
                "cache: Redis %s unreachable (%s): served without it, tried again every %.0f s",
                self.name, type(error).__name__, self.seconds,
            )

    def answered(self) -> None:
        if not self._down:  # the usual case, without the lock
            return
        with self._lock:
            was_down, self._down, self._until, self._trial = self._down, False, 0.0, None
        if was_down:
            logger.warning("cache: Redis %s answers again", self.name)

    def raise_unless_admitted(self, connection: object) -> None:
        if not self.admits(connection):
            ERRORS.labels("skipped").inc()
            raise ConnectionError(f"Redis {self.name} is being left alone after a failure")

    def failed(self, error: Exception) -> None:
        ERRORS.labels("timeout" if isinstance(error, TimeoutError) else "refused").inc()
        self.begin(error)


class _FailFast:
    """Mixed into the pool's connection class: checks and reports its pool's Outage."""

    outage: Outage

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        self.outage.raise_unless_admitted(self)
        with self._watched():
            return super().connect(*args, **kwargs)  # type: ignore[misc]

    def send_packed_command(self, *args: Any, **kwargs: Any) -> Any:
        self.outage.raise_unless_admitted(self)
        with self._watched():
            return super().send_packed_command(*args, **kwargs)  # type: ignore[misc]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        with self._watched():
            response = super().read_response(*args, **kwargs)  # type: ignore[misc]
        self.outage.answered()
        return response

    @contextmanager
    def _watched(self) -> Iterator[None]:
        try:
            yield
        except (ConnectionError, TimeoutError) as error:
            self.outage.failed(error)
            raise


class FailFastConnectionPool(ConnectionPool):
    """redis-py's pool whose connections share one Outage: one timeout, then fast failures."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        base = self.connection_class
        where = self.connection_kwargs
        name = f"{where.get('host', where.get('path', '?'))}:{where.get('port', '')}/{where.get('db', 0)}"
        timeout = self.connection_kwargs.get("socket_timeout") or 1.0
        self.outage = Outage(name, trial_seconds=2 * timeout)
        # A class of its own per pool: a stalled Redis leaves the others (another URL) alone.
        self.connection_class = type(f"FailFast{base.__name__}", (_FailFast, base), {"outage": self.outage})


class RedisCache(DjangoRedisCache):
    """django-redis's backend, its client made once per process for each configuration.

    Django makes a cache backend per request under ASGI (its cache handler is per context), and each
    backend made its django-redis client anew on first use (serializer, compressor, connection
    factory): ~0.1-0.2 ms of every page. The client keeps nothing of a request: its Redis clients
    are thread-safe and share the process's connection pool.
    """

    _clients: ClassVar[dict[str, DefaultClient]] = {}
    _clients_lock = threading.Lock()

    @property
    def client(self) -> DefaultClient:
        if self._client is None:  # type: ignore[has-type]  # django-redis types it through a TypeVar
            key = repr((self._server, self._params))
            with self._clients_lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._clients[key] = self._client_cls(self._server, self._params, self)
            self._client = client
        return self._client
