"""Work that outlives its request: message generations still running when the client has gone, the
page stopped waiting, or never waited (a deferred page, a stream). Strong references (asyncio keeps
only weak ones), a cap on the messages being made at once in the process (LLM_BACKGROUND_MAX) and,
for the ASGI lifespan's shutdown, a drain: a restart finishes, caches and records what was paid for
instead of dropping it. No task queue: what a restart could lose is a few seconds of cache filling,
never a user's data.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from django.conf import settings
from prometheus_client import Counter, Gauge

from . import threads

logger = logging.getLogger(__name__)

T = TypeVar("T")

_tasks: set[asyncio.Task[Any]] = set()
# Messages the running tasks are making, by task; the sum is what LLM_BACKGROUND_MAX caps. Guarded:
# event loops of other threads (async_to_sync) start tasks too.
_messages: dict[asyncio.Task[Any], int] = {}
_messages_lock = threading.Lock()

# Counted up and down (not read at scrape time), so that it adds up across workers too.
RUNNING = Gauge(
    "recommendations_background_tasks", "Message work that may outlive its request, still running.",
    multiprocess_mode="livesum",
)
MESSAGES = Gauge(
    "recommendations_background_messages",
    "Messages being made by work that may outlive its request (capped by LLM_BACKGROUND_MAX).",
    multiprocess_mode="livesum",
)
REFUSED = Counter(
    "recommendations_background_refused_total",
    "Messages not started because LLM_BACKGROUND_MAX messages were being made already.",
)


def room(wanted: int) -> int:
    """How many of `wanted` more messages may start now (LLM_BACKGROUND_MAX); the others are counted
    as refused, and their outfits are to say unavailable."""
    with _messages_lock:
        free = max(0, settings.LLM_BACKGROUND_MAX - sum(_messages.values()))
    granted = min(wanted, free)
    if granted < wanted:
        REFUSED.inc(wanted - granted)
        logger.warning(
            "background full (LLM_BACKGROUND_MAX=%d): %d messages not started",
            settings.LLM_BACKGROUND_MAX, wanted - granted,
        )
    return granted


def start(work: Coroutine[Any, Any, T], *, name: str, messages: int = 0) -> asyncio.Task[T]:
    """Runs `work` on this event loop, owned here: it goes on whatever happens to its caller.
    `messages`: how many it makes (granted by `room` first), counted until it ends."""
    inner = None
    if threads.borrowing():
        # The request's thread goes back to the pool when the request ends: this work borrows its own.
        inner, work = work, _on_own_thread(work)
    task = asyncio.get_running_loop().create_task(work, name=name)
    if inner is not None:
        # Cancelled before it began (a drain), the wrapper never awaited it: closed, without a warning.
        task.add_done_callback(lambda _: inner.close())
    _tasks.add(task)
    with _messages_lock:
        _messages[task] = messages
    RUNNING.inc()
    MESSAGES.inc(messages)
    task.add_done_callback(_finished)
    return task


async def _on_own_thread(work: Coroutine[Any, Any, T]) -> T:
    async with threads.borrowed_thread():
        return await work


def _finished(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    with _messages_lock:
        messages = _messages.pop(task, 0)
    RUNNING.dec()
    MESSAGES.dec(messages)
    if not task.cancelled() and task.exception() is not None:
        logger.error("background %s failed", task.get_name(), exc_info=task.exception())


def running() -> int:
    """Tasks still running on this event loop."""
    loop = asyncio.get_running_loop()
    return sum(1 for task in _tasks if task.get_loop() is loop)


async def drain(*, timeout: float) -> int:
    """Waits up to `timeout` s for this loop's tasks, then cancels the rest; returns how many it cancelled."""
    loop = asyncio.get_running_loop()
    pending = {task for task in _tasks if task.get_loop() is loop}
    if not pending:
        return 0
    logger.info("shutdown: waiting up to %.0f s for %d message tasks", timeout, len(pending))
    _, left = await asyncio.wait(pending, timeout=timeout)
    for task in left:
        task.cancel()
    if left:
        await asyncio.wait(left)
        logger.warning("shutdown: %d message tasks cancelled after %.0f s", len(left), timeout)
    else:
        logger.info("shutdown: every message task finished")
    return len(left)
