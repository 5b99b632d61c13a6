"""Generated messages kept in Django's cache, and single-flight across processes through it.

One thread hop per batch (each cache call is one under ASGI): a page reads its keys in one get_many
and writes in one hop. When the cache is shared (Redis, through django-redis), a short-lived lock
(redis-py's, on the cache's connection pool) lets one process make a message while the others wait
for its value in the cache, and Gemini's "slow down" pause (llm.cooldown) travels to the other
processes: written at once, read with a page's messages and before a call is sent. Cache errors
never fail a page: a read that fails is a miss, a write that fails is skipped, a lock that cannot
be taken is taken anyway.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from redis import ConnectionPool
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockNotOwnedError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.lock import Lock

from llm.cooldown import Shared, cooldown

logger = logging.getLogger("llm")

LOCK_PREFIX = "llm_message_lock:"
# Gemini's "slow down" as the processes share it (llm.cooldown.Shared).
PAUSE_KEY = "llm_gemini_pause"
# A call about to be sent looks for another process's pause at most this often (monotonic seconds).
PAUSE_READ_SECONDS = 0.2
# django-redis's backend, or config.cache's (the same, its client made once per process).
_REDIS_BACKENDS = ("django_redis.cache.RedisCache", "config.cache.RedisCache")
_pause_read_at = 0.0
# What `lock` gives for a key this process is to make: the Redis lock it holds, or None (no lock
# needed, or none could be had).
Held = Lock | None


@dataclass(frozen=True, slots=True)
class Stored:
    """A message as the cache keeps it: the checked text, or None and the failure's outcome."""

    text: str | None
    outcome: str


def is_shared() -> bool:
    """Whether other processes see this cache (then single-flight needs locks in it)."""
    return settings.CACHES["default"]["BACKEND"] in _REDIS_BACKENDS


def redis_pool() -> ConnectionPool | None:
    """The cache's Redis connection pool (one per process), when the cache is Redis."""
    if not is_shared():
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default").connection_pool


async def read(keys: Iterable[str]) -> dict[str, Stored]:
    keys = list(keys)
    if not keys:
        return {}
    return await sync_to_async(read_now)(keys)


def read_now(keys: list[str]) -> dict[str, Stored]:
    """`read`, for a caller already in a thread (a request's one hop)."""
    if not keys:
        return {}
    try:
        found = cache.get_many([*keys, PAUSE_KEY] if is_shared() else keys)
    except Exception as error:  # noqa: BLE001
        log_cache_error(logger, "llm message cache unreadable (%s): treated as misses", error)
        return {}
    _adopt(found.pop(PAUSE_KEY, None))
    return {key: Stored(*value) for key, value in found.items() if isinstance(value, tuple)}


def _adopt(value: object) -> None:
    global _pause_read_at
    _pause_read_at = time.monotonic()
    pause = Shared.from_value(value)
    if pause is not None:
        cooldown().adopt(pause)  # another process was told to slow down


async def look_for_pause() -> None:
    """Takes in another process's pause, if there is one (read at most every PAUSE_READ_SECONDS)."""
    if is_shared() and time.monotonic() - _pause_read_at >= PAUSE_READ_SECONDS:
        await sync_to_async(_read_pause, thread_sensitive=False)()


def _read_pause() -> None:
    try:
        _adopt(cache.get(PAUSE_KEY))
    except Exception as error:  # noqa: BLE001 - without the cache, this process decides alone
        log_cache_error(logger, "llm pause unreadable (%s)", error)


async def share_pause(pause: Shared) -> None:
    """Tells the other processes at once that Gemini said slow down."""
    if is_shared():
        await sync_to_async(_write_pause, thread_sensitive=False)(pause)


def _write_pause(pause: Shared) -> None:
    seconds = pause.until - time.time()
    if seconds <= 0:
        return
    try:
        cache.set(PAUSE_KEY, pause.as_value(), timeout=seconds)
    except Exception as error:  # noqa: BLE001
        log_cache_error(logger, "llm pause unwritable (%s)", error)


async def lock(keys: Iterable[str], *, seconds: int) -> dict[str, Held]:
    """The keys this process is to make, with the Redis lock it took for each (None when the cache
    is this process's own). For the keys left out, another process is at work."""
    keys = list(keys)
    if not keys:
        return {}
    if not is_shared():
        return dict.fromkeys(keys)
    return await sync_to_async(_lock)(keys, seconds)


def _lock(keys: list[str], seconds: int) -> dict[str, Held]:
    # redis-py's lock: taken with a token of its own (SET NX PX), released only by its holder, so a
    # lock that expired and was taken by another process is never deleted by a late release.
    taken: dict[str, Held] = {}
    try:
        from django_redis import get_redis_connection

        client = get_redis_connection("default")
        for key in keys:
            held = client.lock(cache.make_key(LOCK_PREFIX + key), timeout=seconds, thread_local=False)
            if held.acquire(blocking=False):
                taken[key] = held
        return taken
    except Exception as error:  # noqa: BLE001
        # Without the lock store, make the messages here: a duplicate call beats no message. The
        # locks already taken are kept, to be released as usual.
        log_cache_error(logger, "llm message locks unavailable (%s)", error)
        return {**dict.fromkeys(keys), **taken}


def locked_now(keys: list[str]) -> set[str]:
    """The keys another process holds a lock on (is making now), asked of Redis in one round trip;
    none when the cache is this process's own or Redis does not answer. For a caller in a thread."""
    if not keys or not is_shared():
        return set()
    try:
        from django_redis import get_redis_connection

        pipeline = get_redis_connection("default").pipeline(transaction=False)
        for key in keys:
            pipeline.exists(cache.make_key(LOCK_PREFIX + key))
        return {key for key, exists in zip(keys, pipeline.execute(), strict=True) if exists}
    except Exception as error:  # noqa: BLE001 - without Redis, nobody is known to be at work
        log_cache_error(logger, "llm message locks unreadable (%s)", error)
        return set()


async def write(
    *, kept: dict[str, Stored], kept_seconds: int, failed: dict[str, Stored], failed_seconds: int,
    unlock: Iterable[Held] = (),
) -> None:
    """Stores successes and (briefly) failures and releases locks (from `lock`), in one thread hop."""
    locks = [held for held in unlock if held is not None]
    if kept or failed or locks:
        await sync_to_async(_write)(kept, kept_seconds, failed, failed_seconds, locks)


def _write(
    kept: dict[str, Stored], kept_seconds: int, failed: dict[str, Stored], failed_seconds: int,
    unlock: list[Lock],
) -> None:
    try:
        # Two TTLs, so two set_many calls at most; Django's set_many takes one timeout.
        if kept:
            cache.set_many({key: (s.text, s.outcome) for key, s in kept.items()}, timeout=kept_seconds)
        if failed and failed_seconds > 0:
            cache.set_many({key: (s.text, s.outcome) for key, s in failed.items()}, timeout=failed_seconds)
    except Exception as error:  # noqa: BLE001
        log_cache_error(logger, "llm message cache unwritable (%s)", error)
    try:
        for held in unlock:
            with contextlib.suppress(LockNotOwnedError):  # expired: maybe another's by now
                held.release()
    except Exception as error:  # noqa: BLE001 - left to expire
        log_cache_error(logger, "llm message locks not released (%s)", error)


def log_cache_error(logger: logging.Logger, message: str, error: Exception) -> None:
    """A failed cache call, logged: a warning, but for a Redis that does not answer, which its
    connection pool (config.cache) reports once per outage rather than on every call."""
    unreachable = isinstance(error, (RedisConnectionError, RedisTimeoutError))
    logger.log(logging.DEBUG if unreachable else logging.WARNING, message, type(error).__name__)
