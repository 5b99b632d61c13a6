"""LLM_RATE_LIMIT: Gemini calls allowed per window, across every process when the cache is Redis.

Enforced with the `limits` library (a moving window) on the cache's own Redis connection pool
(llm.store), so its socket timeouts and fail-fast apply here too; else in this process's memory. A
call over the limit is simply not sent.
"""

from __future__ import annotations

import logging
import threading

from asgiref.sync import sync_to_async
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from llm import store

logger = logging.getLogger("llm")

_NAMESPACE = "llm_gemini_calls"
_lock = threading.Lock()
# The limiter and the store it counts in (a Redis pool, or None for memory).
_limiter: tuple[object, MovingWindowRateLimiter] | None = None


def parse_rate(rate: str) -> RateLimitItem | None:
    """`1000/minute` as a limit; empty means off. Raises ValueError for a malformed rate."""
    return parse(rate) if rate.strip() else None


async def allow_call(rate: str) -> bool:
    """Counts one Gemini call against LLM_RATE_LIMIT; False when it would go over (do not send it).

    When the limit's store cannot be reached, the call is allowed: Gemini's own 429s still apply.
    """
    item = parse_rate(rate)
    if item is None:
        return True
    # No database here: any worker thread will do, not the request's own.
    return await sync_to_async(_hit, thread_sensitive=False)(item)


def _hit(item: RateLimitItem) -> bool:
    try:
        return _current_limiter().hit(item, _NAMESPACE)
    except Exception as error:  # noqa: BLE001 - the quota store is an aid, not a dependency
        store.log_cache_error(logger, "llm rate limit store unavailable (%s): call allowed", error)
        return True


def _current_limiter() -> MovingWindowRateLimiter:
    global _limiter
    pool = store.redis_pool()
    with _lock:
        if _limiter is None or _limiter[0] is not pool:
            storage: Storage = (
                MemoryStorage() if pool is None else RedisStorage("redis://", connection_pool=pool)
            )
            _limiter = (pool, MovingWindowRateLimiter(storage))
        return _limiter[1]


def reset() -> None:
    """Forgets the limiter and its counts in memory (tests)."""
    global _limiter
    with _lock:
        _limiter = None
