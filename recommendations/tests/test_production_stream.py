"""Respond first on a real server (uvicorn in a subprocess): the stream's events over the wire, a
client that drops the stream right after the page, 30 streams on a PostgreSQL pool of two, and a
deferred page in flight when the server is told to stop."""

from __future__ import annotations

import asyncio
import json
import signal

import httpx
import pytest

from recommendations.models import GeneratedMessage

from .factories import make_coordi, make_user, token_for
from .servers import AppServer, poll
from .test_production import SMALL_POOL, bearer, gemini, needs_postgresql

URL = "/api/recommendations"
STREAM = f"{URL}/stream"
POLL = f"{URL}/messages"
pytestmark = pytest.mark.django_db(transaction=True)


async def events(response: httpx.Response):
    """(event, data) pairs as they arrive; heartbeat comments are skipped."""
    name = None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            yield name, json.loads(line.removeprefix("data: "))


def test_the_stream_over_the_wire(standin):
    coordis = [make_coordi() for _ in range(3)]
    user = make_user(name="박서연")

    async def listen(url: str) -> tuple[httpx.Response, list]:
        async with (
            httpx.AsyncClient(base_url=url, timeout=60) as client,
            client.stream("GET", STREAM, headers=bearer(token_for_user)) as response,
        ):
            return response, [event async for event in events(response)]

    token_for_user = token_for(user)
    with AppServer(env=gemini(standin)) as server:
        response, received = asyncio.run(listen(server.url))
        page = httpx.get(f"{server.url}{URL}", headers=bearer(token_for_user), timeout=30).json()["data"]
        log = server.log()

    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["cache-control"] == "no-cache"
    names = [name for name, _ in received]
    assert names == ["outfits", "message", "message", "message", "done"]
    outfits = received[0][1]["outfits"]
    assert [o["llmMessageStatus"] for o in outfits] == ["pending"] * 3
    assert [o["id"] for o in outfits] == [o["id"] for o in page["outfits"]]
    landed = {data["id"]: data for name, data in received if name == "message"}
    assert set(landed) == {coordi.id for coordi in coordis}
    # What landed is what the next page serves from the cache.
    assert {o["id"]: o["llmMessage"] for o in page["outfits"]} == {
        coordi_id: data["llmMessage"] for coordi_id, data in landed.items()
    }
    assert all(data["llmMessageStatus"] == "ready" for data in landed.values())
    assert all("박서연" in data["llmMessage"] for data in landed.values())
    assert len(standin.requests) == 3
    assert " ERROR " not in log and "Traceback" not in log


def test_a_client_that_drops_the_stream_after_the_page_leaves_every_message_made(standin):
    coordis = [make_coordi() for _ in range(3)]
    ids = ",".join(str(coordi.id) for coordi in coordis)
    user = make_user()
    token = token_for(user)
    standin.hold()

    async def page_then_hang_up(url: str) -> dict:
        async with (
            httpx.AsyncClient(base_url=url, timeout=60) as client,
            client.stream("GET", STREAM, headers=bearer(token)) as response,
        ):
            async for name, data in events(response):
                assert name == "outfits"
                return data  # and the connection closes, the calls still at Gemini
        raise AssertionError("no outfits event")

    with AppServer(env=gemini(standin)) as server:
        first = asyncio.run(page_then_hang_up(server.url))
        assert standin.wait_until(lambda s: s.held == 3, timeout=30)
        standin.release()
        assert poll(lambda: GeneratedMessage.objects.filter(user=user).count() == 3, timeout=30)
        assert poll(lambda: server.metric("recommendations_background_tasks") == 0, timeout=30)
        polled = httpx.get(f"{server.url}{POLL}", params={"ids": ids}, headers=bearer(token), timeout=30)
        log = server.log()

    assert [o["llmMessageStatus"] for o in first["outfits"]] == ["pending"] * 3
    rows = GeneratedMessage.objects.filter(user=user)
    assert sorted((row.coordi_id, row.outcome, row.reached_gemini, bool(row.text)) for row in rows) == [
        (coordi.id, "ok", True, True) for coordi in sorted(coordis, key=lambda c: c.id)
    ]
    # Cached: the poll (which reads only the cache) has them all.
    assert [m["llmMessageStatus"] for m in polled.json()["data"]["messages"]] == ["ready"] * 3
    assert len(standin.requests) == 3
    assert " ERROR " not in log and "Traceback" not in log


@needs_postgresql
def test_thirty_streams_on_a_pool_of_two(standin):
    for _ in range(2):
        make_coordi()
    tokens = [token_for(make_user()) for _ in range(30)]
    standin.hold()

    async def thirty_streams(url: str) -> tuple[list[list[str]], bool]:
        pages_while_held = asyncio.Event()
        got_page = 0

        async def one(client: httpx.AsyncClient, token: str) -> list[str]:
            nonlocal got_page
            names = []
            async with client.stream("GET", STREAM, headers=bearer(token)) as response:
                assert response.status_code == 200, await response.aread()
                async for name, _ in events(response):
                    names.append(name)
                    if name == "outfits":
                        got_page += 1
                        if got_page == len(tokens):
                            pages_while_held.set()
            return names

        limits = httpx.Limits(max_connections=40)
        async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
            streams = [asyncio.ensure_future(one(client, token)) for token in tokens]
            # Every stream has its page while Gemini has answered nothing: no stream holds a
            # pooled connection while it waits (a stream that fails ends the wait at once).
            all_pages = asyncio.ensure_future(pages_while_held.wait())
            await asyncio.wait([all_pages, *streams], timeout=30, return_when=asyncio.FIRST_COMPLETED)
            all_pages.cancel()
            every_page_while_held = pages_while_held.is_set()
            standin.release()
            return await asyncio.gather(*streams), every_page_while_held

    with AppServer(env=SMALL_POOL | gemini(standin)) as server:
        received, every_page_while_held = asyncio.run(thirty_streams(server.url))
        assert poll(lambda: GeneratedMessage.objects.count() == 60, timeout=30)
        assert server.metric('db_pool_connections{state="in_use"}') == 0
        log = server.log()

    assert every_page_while_held
    assert len(standin.requests) == 60
    assert received == [["outfits", "message", "message", "done"]] * 30
    assert "PoolTimeout" not in log and " ERROR " not in log


def test_a_deferred_page_in_flight_at_shutdown_is_still_recorded(standin):
    coordis = [make_coordi() for _ in range(3)]
    user = make_user()
    token = token_for(user)
    standin.hold()

    with AppServer(env=gemini(standin)) as server:
        deferred = httpx.get(f"{server.url}{URL}", params={"messages": "defer"}, headers=bearer(token),
                             timeout=30)  # fmt: skip
        assert standin.wait_until(lambda s: s.held == 3, timeout=30)
        server.terminate()
        assert server.wait_for_log("shutdown: waiting")  # draining while Gemini still holds the calls
        standin.release()
        assert server.wait() == -signal.SIGTERM
        log = server.log()

    assert [o["llmMessageStatus"] for o in deferred.json()["data"]["outfits"]] == ["pending"] * 3
    rows = GeneratedMessage.objects.filter(user=user)
    assert sorted((row.coordi_id, row.outcome, row.reached_gemini) for row in rows) == [
        (coordi.id, "ok", True) for coordi in sorted(coordis, key=lambda c: c.id)
    ]
    assert "every message task finished" in log
    assert "Traceback" not in log and " ERROR " not in log
