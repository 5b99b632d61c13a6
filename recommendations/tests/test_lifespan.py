"""The ASGI lifespan in front of Django: start-up builds the shared clients, shutdown drains and closes."""

import asyncio
import gc

import pytest

from config import lifespan
from config.lifespan import LifespanApplication
from llm import gemini, images
from recommendations import background


def lifespan_events(application, *messages):
    """Plays lifespan messages to the application; returns what it sent back."""
    sent = []
    incoming = iter(messages)

    async def receive():
        return {"type": next(incoming)}

    async def send(message):
        sent.append(message)

    asyncio.run(application({"type": "lifespan"}, receive, send))
    return [message["type"] for message in sent]


async def no_django(scope, receive, send):
    raise AssertionError("the lifespan never reaches Django")


@pytest.fixture
def unfrozen():
    yield
    gc.unfreeze()


def test_start_up_and_shutdown_are_answered(monkeypatch, unfrozen):
    called = []

    async def startup():
        called.append("startup")

    async def shutdown():
        called.append("shutdown")

    monkeypatch.setattr(lifespan, "startup", startup)
    monkeypatch.setattr(lifespan, "shutdown", shutdown)

    sent = lifespan_events(LifespanApplication(no_django), "lifespan.startup", "lifespan.shutdown")

    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert called == ["startup", "shutdown"]


def test_a_failed_start_up_is_reported_to_the_server(monkeypatch):
    async def startup():
        raise RuntimeError("no")

    monkeypatch.setattr(lifespan, "startup", startup)

    assert lifespan_events(LifespanApplication(no_django), "lifespan.startup") == ["lifespan.startup.failed"]


def test_http_goes_to_django():
    seen = []

    async def django_application(scope, receive, send):
        seen.append((scope["type"], receive, send))

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        pass

    asyncio.run(LifespanApplication(django_application)({"type": "http"}, receive, send))

    assert seen == [("http", receive, send)]


@pytest.mark.django_db(transaction=True)
def test_start_up_builds_the_clients_and_shutdown_closes_them(standin, unfrozen):
    gemini.reset()

    async def serve():
        await lifespan.startup()
        built = gemini._client is not None, len(images._clients.get(asyncio.get_running_loop(), {}))
        await lifespan.shutdown()
        return built, gemini._client

    (client_built, image_clients), client_after = asyncio.run(serve())

    assert client_built and image_clients == 1
    assert client_after is None
    assert gc.get_freeze_count() > 0


def test_shutdown_waits_for_work_in_flight_then_cancels_what_outlives_its_bound():
    finished = []

    async def work(seconds):
        await asyncio.sleep(seconds)
        finished.append(seconds)

    async def serve():
        background.start(work(0), name="quick")
        background.start(work(3600), name="stuck")
        return await background.drain(timeout=0.5)

    cancelled = asyncio.run(serve())

    assert finished == [0]
    assert cancelled == 1
