"""The process-wide in-flight limiter, across tasks, timeouts and event loops in several threads."""

from __future__ import annotations

import asyncio
import threading

import pytest

from llm.limits import InFlightLimiter


class Gauge:
    """Counts holders at once across threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = self.peak = 0

    def enter(self) -> None:
        with self._lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self._lock:
            self.now -= 1


async def hold(limiter: InFlightLimiter, gauge: Gauge, *, limit: int, seconds: float) -> None:
    async with limiter.slot(limit=limit):
        gauge.enter()
        await asyncio.sleep(seconds)
        gauge.leave()


def test_the_limit_holds_across_event_loops_in_threads():
    limiter, gauge = InFlightLimiter(), Gauge()

    async def page() -> None:
        await asyncio.gather(*(hold(limiter, gauge, limit=3, seconds=0.03) for _ in range(8)))

    threads = [threading.Thread(target=asyncio.run, args=(page(),)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)

    assert gauge.peak == 3
    assert gauge.now == 0
    assert (limiter.active, limiter.waiting) == (0, 0)


def test_a_waiter_that_times_out_takes_no_slot():
    limiter = InFlightLimiter()

    async def scenario() -> None:
        await limiter.acquire(limit=1)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):
                await limiter.acquire(limit=1)
        assert limiter.waiting == 0
        limiter.release()

    asyncio.run(scenario())
    assert (limiter.active, limiter.waiting) == (0, 0)


def test_a_slot_granted_to_a_cancelled_waiter_is_passed_on():
    limiter = InFlightLimiter()

    async def scenario() -> None:
        await limiter.acquire(limit=1)
        second = asyncio.ensure_future(limiter.acquire(limit=1))
        third = asyncio.ensure_future(limiter.acquire(limit=1))
        await asyncio.sleep(0)
        # Hand the slot to `second`, then cancel it before it wakes up.
        limiter.release()
        second.cancel()
        await asyncio.wait_for(third, 1)
        assert limiter.active == 1
        limiter.release()

    asyncio.run(scenario())
    assert (limiter.active, limiter.waiting) == (0, 0)


def test_waiters_are_served_in_order():
    limiter = InFlightLimiter()
    order: list[int] = []

    async def scenario() -> None:
        await limiter.acquire(limit=1)

        async def take(number: int) -> None:
            async with limiter.slot(limit=1):
                order.append(number)

        tasks = [asyncio.ensure_future(take(number)) for number in range(5)]
        await asyncio.sleep(0)
        limiter.release()
        await asyncio.gather(*tasks)

    asyncio.run(scenario())
    assert order == [0, 1, 2, 3, 4]
