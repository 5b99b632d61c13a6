"""LLM_RATE_LIMIT: Gemini calls allowed per window, across every process when the cache is Redis.

Enforced with the `limits` library, on the Redis that CACHE_URL names (a moving window shared by every
worker and host), else in this process's memory. A call over the limit is simply not sent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref

from django.conf import settings
from limits import RateLimitItem, parse
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindowRateLimiter
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

logger = logging.getLogger("llm")

_NAMESPACE = "llm_gemini_calls"
_lock = threading.Lock()
_memory: tuple[str, MovingWindowRateLimiter] | None = None
# redis.asyncio connections belong to the loop that opened them: one limiter per loop.
_per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[str, AsyncMovingWindowRateLimiter]] = (
    weakref.WeakKeyDictionary()
)


def redis_location() -> str | None:
    """The Redis URL of the default cache, if it is Redis."""
    cache = settings.CACHES["default"]
    if cache["BACKEND"] != "django.core.cache.backends.redis.RedisCache":
        return None
    location = cache["LOCATION"]
    return location[0] if isinstance(location, (list, tuple)) else location


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
    try:
        location = redis_location()
        if location is None:
            return _memory_limiter().hit(item, _NAMESPACE)
        return await _redis_limiter(location).hit(item, _NAMESPACE)
    except Exception as error:  # noqa: BLE001 - the quota store is an aid, not a dependency
        logger.warning("llm rate limit store unavailable (%s): call allowed", type(error).__name__)
        return True


def _memory_limiter() -> MovingWindowRateLimiter:
    global _memory
    with _lock:
        if _memory is None:
            _memory = ("memory://", MovingWindowRateLimiter(storage_from_string("memory://")))
        return _memory[1]


def _redis_limiter(location: str) -> AsyncMovingWindowRateLimiter:
    loop = asyncio.get_running_loop()
    known = _per_loop.get(loop)
    if known is None or known[0] != location:
        storage = storage_from_string(f"async+{location}", implementation="redispy")
        known = (location, AsyncMovingWindowRateLimiter(storage))
        _per_loop[loop] = known
    return known[1]


def reset() -> None:
    """Forgets every limiter and its counts in memory (tests)."""
    global _memory
    with _lock:
        _memory = None
    _per_loop.clear()
