"""One generate_message_results call in progress: its reader, settings, clock, bounds and results.

Everything a message of the call needs travels in this one object, so the helpers take an outfit
and the page, not a row of values.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from llm import store
from llm.config import Config
from llm.facts import CoordiFacts, UserFacts
from llm.flights import Flights
from llm.results import MessageResult, Outcome


@dataclass(slots=True)
class Page:
    """Bounds, each measured from `started`: a call waits for its slots until `slot_deadline`
    (LLM_TIMEOUT_SECONDS; then it gives up without having asked Gemini), its image download gets
    LLM_IMAGE_TIMEOUT_SECONDS and its downscaling LLM_IMAGE_DECODE_TIMEOUT_SECONDS, and the Gemini
    call itself LLM_TIMEOUT_SECONDS from the moment it is
    sent. So every message is settled by `finish_by`, which is also how long others wait for it.
    """

    config: Config
    user: UserFacts
    # The process's messages being made (llm.flights), by cache key.
    flights: Flights[store.Stored]
    started: float
    slot_deadline: float
    finish_by: float
    request_slots: asyncio.Semaphore
    # The page's image downloads at once: as many as its calls, taken in page order, so the first
    # wave's images come first and the next wave's are fetched while the first is at Gemini.
    image_slots: asyncio.Semaphore
    on_result: Callable[[MessageResult], None] | None
    results: dict[int, MessageResult] = field(default_factory=dict)
    # This call's flights already landed (a result may be settled before its flight lands).
    landed: set[str] = field(default_factory=set)

    @classmethod
    def start(
        cls,
        config: Config,
        user: UserFacts,
        *,
        flights: Flights[store.Stored],
        on_result: Callable[[MessageResult], None] | None = None,
    ) -> Page:
        started = asyncio.get_running_loop().time()
        return cls(
            config=config,
            user=user,
            flights=flights,
            started=started,
            slot_deadline=started + config.timeout,
            finish_by=started + config.settle_seconds,
            request_slots=asyncio.Semaphore(config.max_concurrency),
            image_slots=asyncio.Semaphore(config.max_concurrency),
            on_result=on_result,
        )

    def key(self, coordi: CoordiFacts) -> str:
        return self.config.key(coordi, self.user)

    @property
    def lock_seconds(self) -> int:
        """How long another process may wait on a message of this call: until it must be settled."""
        return math.ceil(self.finish_by - self.started) + 1

    def settle(self, result: MessageResult) -> None:
        self.results[result.coordi_id] = result
        if self.on_result is not None:
            self.on_result(result)

    def land(self, key: str, value: store.Stored) -> None:
        """Gives the value to every request of this process waiting on `key`."""
        self.flights.land(key, value)
        self.landed.add(key)

    def in_order(self, coordi_ids: Iterable[int]) -> list[MessageResult]:
        return [self.results[coordi_id] for coordi_id in coordi_ids]

    def elapsed_ms(self) -> int:
        return round((asyncio.get_running_loop().time() - self.started) * 1000)

    def seconds_left(self) -> float:
        return self.finish_by - asyncio.get_running_loop().time()

    def stored_result(self, coordi: CoordiFacts, value: store.Stored) -> MessageResult:
        """The result of a message this call did not make: from the cache or another request."""
        return known_result(
            self.config, coordi, self.user, Outcome(value.outcome), value.text,
            latency_ms=self.elapsed_ms(),
        )  # fmt: skip


def known_result(
    config: Config,
    coordi: CoordiFacts,
    user: UserFacts,
    outcome: Outcome,
    text: str | None,
    *,
    latency_ms: int = 0,
) -> MessageResult:
    """A result no call of this request's made: from the cache or another request (`cached`), or
    settled without a call (`no_key`)."""
    return MessageResult(
        coordi_id=coordi.id,
        text=config.scope.for_reader(text, user),
        outcome=outcome,
        latency_ms=latency_ms,
        model=config.model,
        language=config.language,
        scope=config.scope.name,
        cached=outcome is not Outcome.NO_KEY,
    )
