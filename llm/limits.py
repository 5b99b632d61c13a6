"""The process-wide cap on Gemini calls in flight, shared by every event loop of the process.

asyncio.Semaphore binds to the first loop that waits on it, and a process may run several loops:
uvicorn's, plus one per async_to_sync call from a sync view, a management command or a test. A
semaphore per loop would let each of them have LLM_MAX_IN_FLIGHT calls; this limiter counts under
a threading.Lock instead and wakes a waiter on its own loop (call_soon_threadsafe), so the cap
holds for the whole process.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class _Waiter:
    __slots__ = ("future", "granted", "limit", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.limit = limit
        self.granted = False


class InFlightLimiter:
    """A counting limiter, first come first served, usable from any thread's event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self._waiters: deque[_Waiter] = deque()

    @property
    def active(self) -> int:
        with self._lock:
            return self._active

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiters)

    @asynccontextmanager
    async def slot(self, *, limit: int) -> AsyncIterator[None]:
        """Holds one of `limit` slots for the block; wait for it under your own deadline."""
        await self.acquire(limit=limit)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, *, limit: int) -> None:
        limit = max(1, limit)
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._active < limit and not self._waiters:
                self._active += 1
                return
            waiter = _Waiter(loop, limit)
            self._waiters.append(waiter)
        try:
            await waiter.future
        except BaseException:
            with self._lock:
                granted = waiter.granted
                if not granted:
                    self._waiters.remove(waiter)
            if granted:
                # The slot was handed over as we gave up (a timeout): pass it on.
                self.release()
            raise

    def release(self) -> None:
        with self._lock:
            self._active -= 1
            self._grant_locked()

    def _grant_locked(self) -> None:
        while self._waiters and self._active < self._waiters[0].limit:
            waiter = self._waiters.popleft()
            try:
                waiter.loop.call_soon_threadsafe(_wake, waiter.future)
            except RuntimeError:
                continue  # Its loop is closed: nobody is waiting there any more.
            waiter.granted = True
            self._active += 1


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_limiter = InFlightLimiter()


def in_flight_limiter() -> InFlightLimiter:
    return _limiter


def reset() -> None:
    """A fresh limiter (tests): calls holding the old one release into it harmlessly."""
    global _limiter
    _limiter = InFlightLimiter()
