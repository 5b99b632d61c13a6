"""Generated messages kept in Django's cache, and single-flight across processes through it.

One thread hop per batch (each cache call is one under ASGI): a page reads its keys in one get_many
and writes in one hop. When the cache is shared (Redis), a short-lived lock key (`cache.add`, a
`SET NX` with an expiry) lets one process make a message while the others wait for it. Cache errors
never fail a page: a read that fails is a miss, a write that fails is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.core.cache import cache

from llm.quota import redis_location

logger = logging.getLogger("llm")

LOCK_PREFIX = "llm_message_lock:"


@dataclass(frozen=True, slots=True)
class Stored:
    """A message as the cache keeps it: the checked text, or None and the failure's outcome."""

    text: str | None
    outcome: str


def is_shared() -> bool:
    """Whether other processes see this cache (then single-flight needs locks in it)."""
    return redis_location() is not None


async def read(keys: Iterable[str]) -> dict[str, Stored]:
    keys = list(keys)
    if not keys:
        return {}
    return await sync_to_async(_read)(keys)


def _read(keys: list[str]) -> dict[str, Stored]:
    try:
        found = cache.get_many(keys)
    except Exception as error:  # noqa: BLE001
        logger.warning("llm message cache unreadable (%s): treated as misses", type(error).__name__)
        return {}
    return {key: Stored(*value) for key, value in found.items() if isinstance(value, tuple)}


async def lock(keys: Iterable[str], *, seconds: int) -> set[str]:
    """The keys whose lock this process took; for the others, another process is at work."""
    keys = list(keys)
    if not keys:
        return set()
    return await sync_to_async(_lock)(keys, seconds)


def _lock(keys: list[str], seconds: int) -> set[str]:
    try:
        return {key for key in keys if cache.add(LOCK_PREFIX + key, 1, timeout=seconds)}
    except Exception as error:  # noqa: BLE001
        # Without the lock store, make the messages here: a duplicate call beats no message.
        logger.warning("llm message locks unavailable (%s)", type(error).__name__)
        return set(keys)


async def write(
    *, kept: dict[str, Stored], kept_seconds: int, failed: dict[str, Stored], failed_seconds: int,
    unlock: Iterable[str] = (),
) -> None:
    """Stores successes and (briefly) failures and releases locks, in one thread hop."""
    unlock = list(unlock)
    if kept or failed or unlock:
        await sync_to_async(_write)(kept, kept_seconds, failed, failed_seconds, unlock)


def _write(
    kept: dict[str, Stored], kept_seconds: int, failed: dict[str, Stored], failed_seconds: int,
    unlock: list[str],
) -> None:
    try:
        # Two TTLs, so two set_many calls at most; Django's set_many takes one timeout.
        if kept:
            cache.set_many({key: (s.text, s.outcome) for key, s in kept.items()}, timeout=kept_seconds)
        if failed and failed_seconds > 0:
            cache.set_many({key: (s.text, s.outcome) for key, s in failed.items()}, timeout=failed_seconds)
        if unlock:
            cache.delete_many([LOCK_PREFIX + key for key in unlock])
    except Exception as error:  # noqa: BLE001
        logger.warning("llm message cache unwritable (%s)", type(error).__name__)
