"""The threads a request's thread-sensitive hops run on, reused from one request to the next.

Django's ASGI handler gives each request a thread of its own for its synchronous work (asgiref's
ThreadSensitiveContext): a thread started at the request's first hop, and another started at its
end to join the first, each start waiting on the event loop for the new thread to run. Here each
request (and each piece of work that outlives one, recommendations.background) borrows a
single-thread executor from this process's pool instead, through asgiref's own
ThreadSensitiveContext(executor=); Django's per-request context then finds it and adds nothing.
Everything else is as before: one request's hops run on one thread, one at a time, and each hop that
touches the database gives its connections back when it ends (connections.py), so nothing of a
request stays on the thread for the next.

Only inside `borrowed_thread()` (requests under config.asgi, and their background work): Django's
test clients and management commands keep Django's own behaviour.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from asgiref.sync import ThreadSensitiveContext

# Executors kept idle beyond this are shut down as they come back: a burst does not leave a crowd.
IDLE_MAX = 64

_idle: list[ThreadPoolExecutor] = []
_lock = threading.Lock()
_made = 0
# Whether the running code borrowed its thread here (then work that outlives it borrows its own).
_borrowing: contextvars.ContextVar[bool] = contextvars.ContextVar("borrowing_thread", default=False)


def _checkout() -> ThreadPoolExecutor:
    global _made
    with _lock:
        if _idle:
            return _idle.pop()
        _made += 1
        number = _made
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"request-thread-{number}")


def _checkin(executor: ThreadPoolExecutor) -> None:
    with _lock:
        if len(_idle) < IDLE_MAX:
            _idle.append(executor)
            return
    executor.shutdown(wait=False)


@asynccontextmanager
async def borrowed_thread() -> AsyncIterator[None]:
    """The thread-sensitive hops of the code inside run on one borrowed thread, given back at the
    end. Tasks started inside that outlive the block must borrow their own (`borrowing()` says
    whether to): asgiref refuses their thread-sensitive calls otherwise."""
    executor = _checkout()
    token = _borrowing.set(True)
    try:
        async with ThreadSensitiveContext(executor=executor):
            yield
    finally:
        _borrowing.reset(token)
        _checkin(executor)


def borrowing() -> bool:
    """Whether the running code's thread is borrowed from the pool."""
    return _borrowing.get()


def made() -> int:
    """How many threads the pool has made in this process."""
    return _made


def shutdown() -> None:
    """Stops the idle threads (the lifespan's shutdown)."""
    with _lock:
        idle, _idle[:] = list(_idle), []
    for executor in idle:
        executor.shutdown(wait=True)
