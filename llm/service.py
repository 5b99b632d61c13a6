"""Messages for outfits: what callers use (generate_message_results and friends), and how a page's
messages are found, made once and waited for.

Paid for once: a message is kept in the cache (llm.store) under its scope's key (llm.scopes), which
carries everything that changes it; while one is being made, other requests for the same key wait
for it (llm.flights in the process, a Redis lock across processes); LLM_RATE_LIMIT (llm.quota)
caps the calls of every process together. Failures Gemini itself decided are kept for
LLM_FAILURE_TTL_SECONDS; a "slow down" pauses every call instead (llm.cooldown). One outfit's call,
its limits and its log line are llm.calls; a call's bounds are llm.page. How long a page waits for
all this is its caller's choice (LLM_RESPONSE_DEADLINE_SECONDS). Settings are read once per call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

from llm import cooldown, flights, gemini, images, limits, metrics, quota, store
from llm.calls import fetch_image_now, make_message
from llm.config import Config
from llm.facts import CoordiFacts, UserFacts
from llm.page import Page, known_result
from llm.prompts import Prompt
from llm.results import Known, MessageResult, Outcome

__all__ = [
    "Known", "MessageResult", "Outcome", "aclose", "being_made", "generate_message",
    "generate_message_results", "generate_messages", "known_messages", "prompt_for", "reset", "start",
]

logger = logging.getLogger("llm")  # as llm.calls: the message lines in one stream

# Seconds between two looks at the cache while another process makes a message.
_POLL_SECONDS = 0.1
_flights: flights.Flights[store.Stored] = flights.Flights()


async def generate_message(
    coordi: CoordiFacts, user: UserFacts, *, use_cache: bool = True
) -> str | None:
    """The message for one outfit, or None when none could be made."""
    [result] = await generate_message_results([coordi], user, use_cache=use_cache)
    return result.text


async def generate_messages(
    coordis: Sequence[CoordiFacts], user: UserFacts, *, use_cache: bool = True
) -> dict[int, str | None]:
    """Messages for a page of outfits, by coordi id; None where none could be made. Never raises."""
    results = await generate_message_results(coordis, user, use_cache=use_cache)
    return {result.coordi_id: result.text for result in results}


async def generate_message_results(
    coordis: Sequence[CoordiFacts],
    user: UserFacts,
    *,
    use_cache: bool = True,
    on_result: Callable[[MessageResult], None] | None = None,
    on_claimed: Callable[[], None] | None = None,
    stored: Mapping[str, store.Stored] | None = None,
) -> list[MessageResult]:
    """One MessageResult per distinct coordi id, in the order given.

    `use_cache=False` (staff only: the admin's and the preview command's "fresh" messages) skips the
    stored messages, though not another request's message being made right now; the new ones are
    stored. `on_result` is called as each outfit's result is known (a progress bar, a page that stops
    waiting at its deadline). `on_claimed` is called once every message not settled yet is known to
    be in the making (its flight claimed in this process, its Redis lock taken), before any is
    awaited: from then on being_made() says so to any process. `stored`: what `known_messages`
    already read for these outfits (then the cache is not read again). Bounded: see llm.page.Page.
    """
    unique: dict[int, CoordiFacts] = {}
    for coordi in coordis:
        unique.setdefault(coordi.id, coordi)
    page = Page.start(Config.from_settings(), user, flights=_flights, on_result=on_result)

    if not page.config.api_key:
        # No key, no client, no request: the product runs without Gemini.
        for result in _not_configured(page.config, unique.values(), user):
            page.settle(result)
        if on_claimed is not None:
            on_claimed()
        return page.in_order(unique)

    by_key = {page.key(coordi): coordi for coordi in unique.values()}
    found = await _found(by_key, use_cache=use_cache, stored=stored)
    for key, coordi in by_key.items():
        if key in found:
            page.settle(page.stored_result(coordi, found[key]))

    # The rest: made here, waited for in this process, or waited for from another one.
    owned, joined = _flights.claim(key for key in by_key if key not in found)
    taken: dict[str, store.Held] = {}
    try:
        taken = await store.lock(owned, seconds=page.lock_seconds)
        if on_claimed is not None:
            on_claimed()
        async with asyncio.TaskGroup() as group:
            group.create_task(_make({key: by_key[key] for key in owned if key in taken}, page, taken))
            for key in (key for key in owned if key not in taken):
                group.create_task(_await_other_process(by_key[key], key, page))
            for key, flight in joined.items():
                group.create_task(_await_flight(by_key[key], flight, page))
    finally:
        await _abandon(owned, taken, page)
    return page.in_order(unique)


def _not_configured(
    config: Config, coordis: Iterable[CoordiFacts], user: UserFacts
) -> list[MessageResult]:
    """Without a key no call is made: each outfit's result is `no_key` (counted per outfit), said
    in one log line for them all, not one per outfit."""
    results = [known_result(config, coordi, user, Outcome.NO_KEY, None) for coordi in coordis]
    for _ in results:
        metrics.record(outcome=Outcome.NO_KEY.value, latency_ms=0)
    logger.info(
        "llm no_key: GOOGLE_API_KEY is empty, %d messages not made user=%s", len(results), user.id,
        extra={"outcome": Outcome.NO_KEY.value, "user_id": user.id, "messages": len(results)},
    )  # fmt: skip
    return results


def known_messages(
    coordis: Sequence[CoordiFacts], user: UserFacts, *, use_cache: bool = True
) -> Known:
    """What the cache holds of these outfits' messages for this reader, read now: for a caller
    already in a thread hop (the page's own), so that it costs no hop of its own. Never raises.

    `use_cache=False` (staff's fresh messages): nothing is looked up, every outfit is missing.
    """
    config = Config.from_settings()
    unique = list({coordi.id: coordi for coordi in coordis}.values())
    if not config.api_key:
        # No key, no call: every message is settled as it is.
        results = {result.coordi_id: result for result in _not_configured(config, unique, user)}
        return Known(results=results, missing=(), stored={})
    keys = {coordi.id: config.key(coordi, user) for coordi in unique}
    stored = store.read_now(list(keys.values())) if use_cache else {}
    if use_cache:
        metrics.record_cache(hits=len(stored), misses=len(keys) - len(stored))
    results = {
        coordi.id: known_result(config, coordi, user, Outcome(value.outcome), value.text)
        for coordi in unique
        if (value := stored.get(keys[coordi.id])) is not None
    }
    return Known(
        results=results,
        missing=tuple(coordi for coordi in unique if coordi.id not in results),
        stored=stored,
    )


def prompt_for(coordi: CoordiFacts, user: UserFacts) -> Prompt:
    """The prompt this outfit's message for this reader is (or would be) asked with, under the
    settings now: the configured scope's and language's (the admin shows it beside the message)."""
    config = Config.from_settings()
    return config.scope.prompt(coordi, user, language=config.language)


def being_made(coordis: Sequence[CoordiFacts], user: UserFacts) -> set[int]:
    """Which of these outfits' messages for this reader someone is making right now: a request or
    background task of this process, or another process holding the message's Redis lock. Read now,
    for a caller in a thread hop; never waits and never starts anything."""
    config = Config.from_settings()
    if not config.api_key:
        return set()
    keys = {coordi.id: config.key(coordi, user) for coordi in coordis}
    here = {coordi_id for coordi_id, key in keys.items() if _flights.flying(key)}
    elsewhere = store.locked_now([key for coordi_id, key in keys.items() if coordi_id not in here])
    return here | {coordi_id for coordi_id, key in keys.items() if key in elsewhere}


async def _found(
    by_key: Mapping[str, CoordiFacts], *, use_cache: bool, stored: Mapping[str, store.Stored] | None
) -> Mapping[str, store.Stored]:
    """The page's messages already in the cache (none when the caller wants fresh ones)."""
    if not use_cache:
        return {}
    if stored is not None:
        # Counted by known_messages, which read them.
        return {key: stored[key] for key in by_key if key in stored}
    found = await store.read(by_key)
    metrics.record_cache(hits=len(found), misses=len(by_key) - len(found))
    return found


async def _make(coordis: dict[str, CoordiFacts], page: Page, taken: Mapping[str, store.Held]) -> None:
    """Asks Gemini for the messages this request owns (by key), stores them, and lands their flights.

    Those made are stored also when the page is cancelled with other calls still out (a caller that
    stopped, Ctrl-C in a command): they were paid for. The others are left to _abandon.
    """
    if not coordis:
        return
    made: dict[str, tuple[str | None, MessageResult]] = {}

    async def made_and_settled(key: str, coordi: CoordiFacts) -> None:
        made[key] = await make_message(coordi, page, fetch_image_now(coordi, page))
        page.settle(made[key][1])  # seen at once by a page that stops waiting at its deadline

    try:
        async with asyncio.TaskGroup() as group:
            # Every call's image starts downloading now, before the calls wait for their slots.
            for key, coordi in coordis.items():
                group.create_task(made_and_settled(key, coordi))
    finally:
        await _store(made, page, taken)


async def _store(
    made: Mapping[str, tuple[str | None, MessageResult]], page: Page, taken: Mapping[str, store.Held]
) -> None:
    """Stores the messages made and lands their flights."""
    if not made:
        return
    stored = {key: store.Stored(text, result.outcome.value) for key, (text, result) in made.items()}
    await store.write(
        kept={key: value for key, value in stored.items() if value.text is not None},
        kept_seconds=page.config.cache_seconds,
        # Only Gemini's own verdicts: a call we gave up on, or that never reached it, may go through
        # next time.
        failed={key: value for key, value in stored.items()
                if value.text is None and made[key][1].verdict},
        failed_seconds=page.config.failure_seconds,
        unlock=[taken[key] for key in made],
    )
    # Landed once stored: a request arriving between the two would otherwise find neither.
    for key in made:
        page.land(key, stored[key])


async def _await_flight(coordi: CoordiFacts, flight: flights.Future[store.Stored], page: Page) -> None:
    """Another request of this process is making this message: its result is ours."""
    try:
        value = await flights.wait(flight, timeout=page.seconds_left())
    except TimeoutError:
        value = store.Stored(None, Outcome.TIMEOUT.value)
    page.settle(page.stored_result(coordi, value))


async def _await_other_process(coordi: CoordiFacts, key: str, page: Page) -> None:
    """Another process holds this message's lock: wait for its value in the cache, until it must be there."""
    value = store.Stored(None, Outcome.TIMEOUT.value)
    while page.seconds_left() > 0:
        await asyncio.sleep(min(_POLL_SECONDS, max(0, page.seconds_left())))
        found = await store.read([key])
        if key in found:
            value = found[key]
            break
    page.land(key, value)
    page.settle(page.stored_result(coordi, value))


async def _abandon(owned: list[str], taken: Mapping[str, store.Held], page: Page) -> None:
    """Whatever happened, nobody waits on this call's flights past its end. A flight already landed
    is skipped: its key may be another request's flight by now."""
    unlanded = [key for key in owned if key not in page.landed]
    for key in unlanded:
        _flights.land(key, store.Stored(None, Outcome.ERROR.value))
    # Cancelled before storing them: the locks this call took go too, so that other processes make
    # these messages now instead of waiting for the locks to expire.
    abandoned = [taken[key] for key in unlanded if key in taken]
    if abandoned:
        await store.write(kept={}, kept_seconds=0, failed={}, failed_seconds=0, unlock=abandoned)


def reset() -> None:
    """Drops the Gemini client, the image clients and the in-flight limiter (for tests)."""
    gemini.reset()
    images.reset()
    limits.reset()
    quota.reset()
    cooldown.reset()


def start() -> None:
    """Builds the process's Gemini client and this loop's image client before the first page needs
    them (the ASGI lifespan's start-up): ~0.1 s of CPU that no request should pay."""
    config = Config.from_settings()
    if config.api_key:
        gemini.get_client(api_key=config.api_key, base_url=config.base_url)
    images.prepare(config.image_allowed_hosts)


async def aclose() -> None:
    """Closes the Gemini client and this loop's image client (an ASGI lifespan shutdown, a test's end)."""
    await images.aclose()
    await gemini.aclose()
