"""Fixtures for the llm tests: one event loop per session, and outfits (the stand-in is in the root
conftest)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from llm import service
from llm.facts import CoordiFacts, UserFacts

T = TypeVar("T")

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
