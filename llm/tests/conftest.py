"""Fixtures for the llm tests: one Gemini stand-in per session, settings pointing at it, and outfits."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from llm import limits, service
from llm.facts import CoordiFacts, UserFacts
from llm.standin import GeminiStandIn

T = TypeVar("T")

# Distinctive, so that a leak into a log line or an exception is easy to find.
FAKE_KEY = "AIzaFAKE-standin-key-0123456789"


@pytest.fixture(scope="session")
def standin_server() -> Iterator[GeminiStandIn]:
    with GeminiStandIn(api_key=FAKE_KEY) as server:
        yield server


@pytest.fixture
def standin(standin_server: GeminiStandIn, settings: Any) -> Iterator[GeminiStandIn]:
    """The stand-in, freshly reset, with the settings pointing at it."""
    standin_server.reset()
    settings.GOOGLE_API_KEY = FAKE_KEY
    settings.GEMINI_BASE_URL = standin_server.base_url
    settings.GEMINI_MODEL = "gemini-2.5-flash"
    settings.GEMINI_THINKING_BUDGET = 0
    settings.GEMINI_MAX_OUTPUT_TOKENS = 100
    settings.LLM_TIMEOUT_SECONDS = 10.0
    settings.LLM_IMAGE_TIMEOUT_SECONDS = 3.0
    settings.LLM_IMAGE_MAX_BYTES = 5 * 1024 * 1024
    settings.LLM_IMAGE_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.LLM_MAX_CONCURRENCY = 10
    settings.LLM_MAX_IN_FLIGHT = 100
    settings.LLM_MESSAGE_LANGUAGE = "ko"
    yield standin_server
    # Every slot taken by the test was given back, whatever happened to its calls.
    assert limits.in_flight_limiter().active == 0
    assert limits.in_flight_limiter().waiting == 0


@pytest.fixture(scope="session")
def _loop() -> Iterator[asyncio.Runner]:
    # One loop for the session, as a server has: its pooled connections are reused across tests
    # and closed once at the end (a loop per test would leave each test's sockets to the GC).
    with asyncio.Runner() as runner:
        yield runner
        runner.run(service.aclose())


@pytest.fixture
def run(_loop: asyncio.Runner) -> Callable[[Coroutine[Any, Any, T]], T]:
    """Runs a coroutine to completion on the session's event loop."""
    return _loop.run


_ids = itertools.count(1000)


@pytest.fixture
def make_coordi() -> Callable[..., CoordiFacts]:
    """Outfits whose description carries `coordi-<id>`, which the stand-in matches behaviours on."""

    def make(
        coordi_id: int | None = None,
        *,
        style: str = "casual",
        season: str = "spring",
        description: str = "Light knit and wide denim for a spring walk",
        image_url: str | None = None,
    ) -> CoordiFacts:
        coordi_id = next(_ids) if coordi_id is None else coordi_id
        return CoordiFacts(
            id=coordi_id,
            style=style,
            season=season,
            gender="female",
            description=f"{description} (coordi-{coordi_id})",
            image_url=image_url,
        )

    return make


@pytest.fixture
def user() -> UserFacts:
    return UserFacts(id=7, name="민지", gender="female")
