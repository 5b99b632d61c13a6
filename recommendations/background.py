"""Work that outlives its request: message generations still running when the client has gone or the
page stopped waiting. Strong references (asyncio keeps only weak ones) and, for the ASGI lifespan's
shutdown, a drain: a restart finishes, caches and records what was paid for instead of dropping it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from prometheus_client import Gauge

logger = logging.getLogger(__name__)

T = TypeVar("T")

_tasks: set[asyncio.Task[Any]] = set()

# Counted up and down (not read at scrape time), so that it adds up across workers too.
RUNNING = Gauge(
    "recommendations_background_tasks", "Message work that may outlive its request, still running.",
    multiprocess_mode="livesum",
)


def start(work: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    """Runs `work` on this event loop, owned here: it goes on whatever happens to its caller."""
    task = asyncio.get_running_loop().create_task(work, name=name)
    _tasks.add(task)
    RUNNING.inc()
    task.add_done_callback(_finished)
    return task


def _finished(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    RUNNING.dec()
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
