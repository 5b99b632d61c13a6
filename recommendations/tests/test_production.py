"""On the production stack: uvicorn in a subprocess, PostgreSQL's pool, a Redis of the test's own,
clients that hang up, several workers, and shutdown. What needs PostgreSQL (its pool) or the
redis-server program is skipped without them, saying so; CI runs it all."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest
from django.db import connection
from redis.exceptions import RedisError

import config.cache
from conftest import FAKE_KEY
from llm.testing import GeminiStandIn
from recommendations.models import GeneratedMessage

from .factories import make_coordi, make_user, token_for
from .servers import (
    APPLICATION_NAME,
    AppServer,
    RedisServer,
    free_port,
    needs_redis_server,
    on_postgresql,
    poll,
)

URL = "/api/recommendations"
pytestmark = pytest.mark.django_db(transaction=True)
needs_postgresql = pytest.mark.skipif(
    not on_postgresql(), reason="the connection pool is PostgreSQL's (CI sets DATABASE_URL to it)"
)
# A small pool that a leak exhausts at once, and a short wait for it: a leak is a 500, not a hang.
SMALL_POOL = {"DATABASE_POOL_MIN_SIZE": "1", "DATABASE_POOL_MAX_SIZE": "2", "DATABASE_POOL_TIMEOUT": "2"}


def gemini(standin: GeminiStandIn) -> dict[str, str]:
    return {"GOOGLE_API_KEY": FAKE_KEY, "GEMINI_BASE_URL": standin.base_url}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def server_sessions() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [APPLICATION_NAME]
        )
        return cursor.fetchone()[0]


async def hang_up_when_held(url: str, tokens: list[str], standin: GeminiStandIn, *, held: int) -> None:
    """Asks for a page per token, then hangs up once Gemini holds `held` of their calls."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        pages = [asyncio.ensure_future(client.get(URL, headers=bearer(token))) for token in tokens]
        assert await asyncio.to_thread(standin.wait_until, lambda s: s.held == held, timeout=30)
        for page in pages:
            page.cancel()
        await asyncio.gather(*pages, return_exceptions=True)


@needs_postgresql
def test_clients_that_hang_up_leave_no_connection_checked_out(standin):
    for _ in range(2):
        make_coordi()
    tokens = [token_for(make_user()) for _ in range(10)]
    standin.hold()

    with AppServer(env=SMALL_POOL | gemini(standin)) as server:
        asyncio.run(hang_up_when_held(server.url, tokens, standin, held=20))
        standin.release()
        # What they left behind is made and recorded all the same...
        assert poll(lambda: GeneratedMessage.objects.filter(reached_gemini=True).count() == 20, timeout=30)
        assert poll(lambda: server.metric("recommendations_background_tasks") == 0, timeout=30)
        # ...and gives its connections back: none is checked out, the next pages are served.
        assert server.metric('db_pool_connections{state="in_use"}') == 0
        with httpx.Client(base_url=server.url, timeout=30) as client:
            statuses = [client.get(URL, headers=bearer(tokens[n % 10])).status_code for n in range(20)]
        assert statuses == [200] * 20
        assert server_sessions() <= 2


@needs_postgresql
def test_a_warm_page_is_served_while_cold_pages_wait_on_gemini_with_a_pool_of_two(standin):
    for _ in range(2):
        make_coordi()
    warm_token, *cold_tokens = [token_for(make_user()) for _ in range(7)]

    with AppServer(env=SMALL_POOL | gemini(standin)) as server:
        assert httpx.get(f"{server.url}{URL}", headers=bearer(warm_token), timeout=30).status_code == 200
        standin.hold()

        async def six_cold_and_one_warm():
            async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
                cold = [asyncio.ensure_future(client.get(URL, headers=bearer(t))) for t in cold_tokens]
                assert await asyncio.to_thread(standin.wait_until, lambda s: s.held == 12, timeout=30)
                warm = await client.get(URL, headers=bearer(warm_token))
                held_meanwhile = standin.held
                standin.release()
                return warm, held_meanwhile, await asyncio.gather(*cold)

        warm, held_meanwhile, cold = asyncio.run(six_cold_and_one_warm())

    assert warm.status_code == 200
    assert all(outfit["llmMessage"] for outfit in warm.json()["data"]["outfits"])
    assert held_meanwhile == 12  # answered while every cold page still waited on Gemini
    assert [response.status_code for response in cold] == [200] * 6
    assert all(o["llmMessage"] for r in cold for o in r.json()["data"]["outfits"])


@needs_postgresql
def test_a_connection_the_server_closed_costs_no_request():
    make_coordi()
    token = token_for(make_user())

    with (
        AppServer(env={"DATABASE_POOL_MIN_SIZE": "2", "DATABASE_POOL_MAX_SIZE": "2"}) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        assert client.get(URL, headers=bearer(token)).status_code == 200
        assert poll(lambda: server_sessions() == 2, timeout=10)  # both pooled, idle
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = %s", [APPLICATION_NAME],
            )  # fmt: skip
            assert cursor.fetchone()[0] == 2
        statuses = [client.get(URL, headers=bearer(token)).status_code for _ in range(6)]

    assert statuses == [200] * 6


@needs_redis_server
def test_warm_pages_share_one_redis_pool_per_worker(standin):
    for _ in range(3):
        make_coordi()
    tokens = [token_for(make_user()) for _ in range(10)]

    async def pages(url: str, count: int) -> list[int]:
        async def client_loop(token: str, turns: int) -> list[int]:
            # A connection per request, so that both workers take their share.
            limits = httpx.Limits(max_keepalive_connections=0)
            async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
                return [(await client.get(URL, headers=bearer(token))).status_code for _ in range(turns)]

        results = await asyncio.gather(*(client_loop(token, count // 10) for token in tokens))
        return [status for statuses in results for status in statuses]

    with RedisServer() as redis_server, AppServer(
        workers=2, env={"CACHE_URL": redis_server.url, **gemini(standin)}
    ) as server:
        assert asyncio.run(pages(server.url, 100)) == [200] * 100  # messages made, pools filled
        before = redis_server.connections_received()
        statuses = asyncio.run(pages(server.url, 500))
        opened = redis_server.connections_received() - before

    assert statuses == [200] * 500
    # Django's own Redis backend opened one per request (~500); a pool per worker opens a handful.
    assert opened <= 2 * 10


@needs_redis_server
def test_a_stalled_redis_costs_a_page_one_timeout_then_nothing():
    coordis = [make_coordi() for _ in range(3)]
    token = token_for(make_user())

    with (
        RedisServer() as redis_server,
        # Fragments from Redis on every page, none kept in the worker's memory (a warm page would
        # then send Redis nothing at all, stalled or not).
        AppServer(env={"CACHE_URL": redis_server.url, "OUTFIT_FRAGMENT_MEMORY_ENTRIES": "0"}) as server,
        httpx.Client(base_url=server.url, headers=bearer(token), timeout=30) as client,
    ):
        first = client.get(URL)  # fragments now in Redis
        shown = [o["id"] for o in first.json()["data"]["outfits"]]
        redis_server.stop()
        responses = [client.get(URL) for _ in range(5)]
        timeouts = server.metric('cache_errors_total{kind="timeout"}')
        skipped = server.metric('cache_errors_total{kind="skipped"}')

    assert sorted(shown) == sorted(c.id for c in coordis)
    assert [response.status_code for response in responses] == [200] * 5
    assert all([o["id"] for o in r.json()["data"]["outfits"]] == shown for r in responses)
    # One command waited the cache timeout; every later one failed at once (each page makes two).
    assert timeouts == 1
    assert skipped >= 9


@needs_redis_server
@pytest.mark.django_db
def test_a_redis_that_answers_again_is_used_again(settings, monkeypatch):
    from django.core.cache import cache

    monkeypatch.setattr(config.cache, "OUTAGE_SECONDS", 0.2)
    with RedisServer() as redis_server:
        settings.CACHES = {"default": {
            "BACKEND": "django_redis.cache.RedisCache", "LOCATION": redis_server.url,
            "OPTIONS": {
                "SOCKET_TIMEOUT": 0.25, "CONNECTION_POOL_CLASS": "config.cache.FailFastConnectionPool"
            },
        }}  # fmt: skip
        cache.set("greeting", "hello")
        redis_server.stop()
        with pytest.raises(RedisError):  # django-redis re-raises redis-py's own error
            cache.get("greeting")
        redis_server.resume()

        def answers() -> bool:
            try:
                return cache.get("greeting") == "hello"
            except Exception:  # noqa: BLE001 - still being left alone
                return False

        assert poll(answers, timeout=10)


def test_after_an_outage_one_connection_tries_again_while_the_others_fail_at_once(monkeypatch):
    clock = [50.0]
    monkeypatch.setattr(config.cache.time, "monotonic", lambda: clock[0])
    outage = config.cache.Outage("test", seconds=2, trial_seconds=0.5)
    first, second = object(), object()
    outage.begin(TimeoutError())
    assert not outage.admits(first) and not outage.admits(second)

    clock[0] += 2
    assert outage.admits(first)  # the one trying again
    assert outage.admits(first) and not outage.admits(second)
    clock[0] += 0.5
    assert outage.admits(second)  # the first never said: another one tries
    outage.answered()
    assert outage.admits(first) and outage.admits(second)


@needs_redis_server
def test_shutdown_finishes_caches_and_records_the_work_in_flight(standin):
    coordis = [make_coordi() for _ in range(3)]
    user = make_user()
    standin.hold()

    with RedisServer() as redis_server, AppServer(
        env={"CACHE_URL": redis_server.url, **gemini(standin)}
    ) as server:
        asyncio.run(hang_up_when_held(server.url, [token_for(user)], standin, held=3))
        server.terminate()
        assert server.wait_for_log("shutdown: waiting")  # draining while Gemini still holds the calls
        standin.release()
        # uvicorn ends a graceful shutdown by raising the signal it caught again.
        assert server.wait() == -signal.SIGTERM
        cached = redis_server.client.keys("*llm_message:*")
        log = server.log()

    rows = GeneratedMessage.objects.filter(user=user).order_by("coordi_id")
    assert [(row.coordi_id, row.outcome, row.reached_gemini) for row in rows] == [
        (coordi.id, "ok", True) for coordi in coordis
    ]
    assert len(cached) == 3
    assert "every message task finished" in log
    assert "Traceback" not in log and " ERROR " not in log


def test_an_unreachable_database_is_one_line_at_start_up_and_a_quick_503():
    nowhere = f"postgres://postgres@127.0.0.1:{free_port()}/nowhere"
    with AppServer(env={"DATABASE_URL": nowhere, "DATABASE_POOL_TIMEOUT": "1"}) as server:
        ready = httpx.get(f"{server.url}/readyz", timeout=30)
        log = server.log()

    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "unavailable"
    said = [line for line in log.splitlines() if "cannot be used at start-up" in line]
    assert len(said) == 1 and "'nowhere'" in said[0]


@needs_postgresql
@pytest.mark.django_db(transaction=True)  # the server reads the test database
def test_start_up_opens_the_pool_for_the_first_request():
    with AppServer() as server:  # /healthz, which it waits on, touches no database
        idle = server.metric('db_pool_connections{state="idle"}')

    assert idle >= 1


@pytest.mark.skipif(not on_postgresql(), reason="needs a PostgreSQL server (CI sets DATABASE_URL)")
def test_a_missing_database_is_one_line_naming_it_at_start_up():
    settings = connection.settings_dict
    missing = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/no_such_database"
    with AppServer(env={"DATABASE_URL": missing}) as server:
        ready = httpx.get(f"{server.url}/readyz", timeout=30)
        started = server.log().split("Application startup complete")[0]

    assert ready.status_code == 503
    said = [line for line in started.splitlines() if " ERROR " in line or " WARNING " in line]
    assert len(said) == 1, started
    assert "'no_such_database'" in said[0] and 'database "no_such_database" does not exist' in said[0]
    assert "createdb" in said[0] and "Traceback" not in started


def test_the_cache_backends_of_requests_share_one_client_per_configuration(settings):
    from django.core.cache import caches

    from llm import store

    def backend(location: str):
        settings.CACHES = {"default": {"BACKEND": "config.cache.RedisCache", "LOCATION": location}}
        return caches.create_connection("default")  # what each request's context gets under ASGI

    first, second = backend("redis://127.0.0.1:1/0"), backend("redis://127.0.0.1:1/0")
    other = backend("redis://127.0.0.1:1/1")

    assert first is not second
    assert first.client is second.client  # made once (no connection is opened to make it)
    assert other.client is not first.client
    assert store.is_shared()  # locks and the pause still travel through it
