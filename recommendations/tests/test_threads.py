"""The threads of requests' thread-sensitive hops (recommendations.threads): reused from one request
to the next, one request's hops on one thread, and work that outlives its request on its own."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async

from recommendations import background, threads


def thread_of_hop() -> int:
    return threading.get_ident()


hop = sync_to_async(thread_of_hop)  # thread-sensitive, as Django's and ours are


async def request() -> tuple[int, int]:
    """A request's two hops, each on the thread it borrowed."""
    async with threads.borrowed_thread():
        return await hop(), await hop()


def test_one_requests_hops_share_a_thread_that_the_next_request_reuses():
    made = threads.made()

    async def scenario() -> list[tuple[int, int]]:
        return [await request() for _ in range(5)]

    hops = asyncio.run(scenario())

    assert all(first == second for first, second in hops)  # one request, one thread
    assert len({first for first, _ in hops}) == 1  # and the same for each request after
    assert threads.made() - made <= 1
    assert hops[0][0] != threading.get_ident()  # not the event loop's


def test_requests_at_once_each_have_a_thread_of_their_own():
    both_in = threading.Barrier(2, timeout=10)

    def meet() -> int:
        both_in.wait()  # neither returns unless the other runs at the same time, on another thread
        return threading.get_ident()

    async def one() -> int:
        async with threads.borrowed_thread():
            return await sync_to_async(meet)()

    async def scenario() -> list[int]:
        return list(await asyncio.gather(one(), one()))

    first, second = asyncio.run(scenario())
    assert first != second


def test_work_that_outlives_its_request_borrows_its_own_thread():
    async def scenario() -> tuple[int, int, int]:
        go = asyncio.Event()

        async def outliving() -> int:
            await go.wait()  # runs on after its request ended, then hops
            return await hop()

        async with threads.borrowed_thread():
            request_thread = await hop()
            assert threads.borrowing()
            task = background.start(outliving(), name="outliving")
        assert not threads.borrowing()
        next_request = asyncio.create_task(request())
        go.set()
        # asgiref refuses a thread-sensitive call from a task that outlived its context's executor:
        # without a thread of its own, this raised RuntimeError.
        return request_thread, await task, (await next_request)[0]

    request_thread, outliving_thread, next_request_thread = asyncio.run(scenario())
    # Three threads or two (a thread given back may be the next one borrowed), never one shared by
    # two borrowers at once.
    assert outliving_thread != next_request_thread
    assert len({request_thread, outliving_thread, next_request_thread}) >= 2


def test_outside_a_borrowed_thread_work_is_left_as_django_runs_it():
    async def scenario() -> bool:
        async def check() -> bool:
            return threads.borrowing()

        return await background.start(check(), name="check")

    assert asyncio.run(scenario()) is False


def test_idle_threads_are_bounded_and_stopped_at_shutdown(monkeypatch):
    monkeypatch.setattr(threads, "IDLE_MAX", 1)
    threads.shutdown()

    async def two_at_once() -> None:
        both_in = threading.Barrier(2, timeout=10)

        async def one() -> None:
            async with threads.borrowed_thread():
                await sync_to_async(both_in.wait)()

        await asyncio.gather(one(), one())

    asyncio.run(two_at_once())
    assert len(threads._idle) == 1  # the second went back beyond IDLE_MAX: shut down
    (kept,) = threads._idle
    threads.shutdown()
    assert threads._idle == []
    with pytest.raises(RuntimeError):
        kept.submit(threading.get_ident)  # stopped


def test_the_asgi_application_serves_each_request_on_a_borrowed_thread():
    import httpx

    from config.asgi import application

    threads.shutdown()  # none idle: the first request makes one
    made = threads.made()

    async def scenario() -> list[int]:
        transport = httpx.ASGITransport(app=application)  # type: ignore[arg-type]  # Django's own types
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return [(await client.get("/healthz")).status_code for _ in range(5)]

    assert asyncio.run(scenario()) == [200] * 5
    # Django's request_started and response.close hops of the five, on one thread made for them.
    assert threads.made() - made == 1
    assert len(threads._idle) == 1


def test_work_cancelled_before_it_began_is_closed_without_a_warning(recwarn):
    import gc

    async def never() -> None:
        raise AssertionError("never runs")

    async def scenario() -> bool:
        async with threads.borrowed_thread():
            task = background.start(never(), name="never")
        task.cancel()  # a drain, before the task ever ran
        await asyncio.gather(task, return_exceptions=True)
        return task.cancelled()

    assert asyncio.run(scenario())
    gc.collect()
    assert not [w for w in recwarn.list if "never awaited" in str(w.message)]
