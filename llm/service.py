"""Messages for outfits: the cache, single-flight, the fan-out, its limits and deadline, one log line
per call.

Paid for once: a message is kept in the cache (llm.store) under a key carrying everything that
changes it (prompt version, model, language, the outfit's version and image, the reader's name and
gender, or only the gender in the shared scope); while one is being made, other requests for the same
key wait for it (llm.flights in the process, a lock key in Redis across processes); LLM_RATE_LIMIT
(llm.quota) caps the calls of every process together. Failures are kept for LLM_FAILURE_TTL_SECONDS.

Limits: at most LLM_MAX_CONCURRENCY calls at once for one generate_messages call (an asyncio
semaphore of its own) and at most LLM_MAX_IN_FLIGHT in the whole process (llm.limits, shared by
every event loop). Time: a call waits for its slots at most LLM_TIMEOUT_SECONDS from the start
(then gives up without asking Gemini), its image download gets LLM_IMAGE_TIMEOUT_SECONDS, and the
Gemini call LLM_TIMEOUT_SECONDS from its own start (then it is cancelled, its connection closed).
How long a page waits for all this is its caller's choice (LLM_RESPONSE_DEADLINE_SECONDS).
Remembered: only Gemini's own verdicts; a "slow down" pauses every call instead (llm.cooldown).
Settings are read once per generate_messages call.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings

from llm import cooldown as cooldowns
from llm import flights, gemini, images, limits, metrics, quota, store
from llm.cooldown import Permit, cooldown
from llm.checks import InvalidMessage, clean_message, clean_template, render_template
from llm.facts import CoordiFacts, UserFacts
from llm.gemini import Answer, Outcome
from llm.prompts import (
    LANGUAGES,
    NAME_PLACEHOLDER,
    PROMPT_VERSION,
    Prompt,
    build_prompt,
    build_shared_prompt,
)

logger = logging.getLogger("llm")

__all__ = [
    "MessageResult", "Outcome", "aclose", "generate_message", "generate_message_results",
    "generate_messages", "reset", "start", "stored_messages",
]

# Seconds between two looks at the cache while another process makes a message.
_POLL_SECONDS = 0.1
_flights: flights.Flights[store.Stored] = flights.Flights()


@dataclass(frozen=True, slots=True)
class MessageResult:
    """How the message for one outfit turned out: what to store, show and measure."""

    coordi_id: int
    text: str | None
    outcome: Outcome
    latency_ms: int
    # A short code saying why, for failures (e.g. "status_500", "too_long", "deadline"); never raw text.
    detail: str = ""
    # "sent" when the image went with the prompt, "none" without an image URL, else why not.
    image_status: str = "none"
    model: str = ""
    prompt_version: str = PROMPT_VERSION
    language: str = ""
    # "user": written for this reader; "shared": written for the outfit and gender, name put in here.
    scope: str = "user"
    # True when no call was made for this request: from the cache, or made by another request.
    cached: bool = False
    # True when the request went to Gemini (GeneratedMessage.reached_gemini: a call paid for).
    sent: bool = False
    # True when Gemini itself decided the outcome (llm.gemini.Answer.verdict): only such failures
    # are remembered, for LLM_FAILURE_TTL_SECONDS.
    verdict: bool = False


@dataclass(frozen=True, slots=True)
class _Config:
    api_key: str
    base_url: str
    model: str
    thinking_budget: int
    max_output_tokens: int
    timeout: float
    image_timeout: float
    image_max_bytes: int
    image_allowed_hosts: tuple[str, ...]
    max_concurrency: int
    max_in_flight: int
    language: str
    scope: str
    rate_limit: str
    cache_seconds: int
    failure_seconds: int

    @classmethod
    def from_settings(cls) -> _Config:
        return cls(
            api_key=(settings.GOOGLE_API_KEY or "").strip(),
            base_url=settings.GEMINI_BASE_URL or "",
            model=settings.GEMINI_MODEL,
            thinking_budget=settings.GEMINI_THINKING_BUDGET,
            max_output_tokens=settings.GEMINI_MAX_OUTPUT_TOKENS,
            timeout=float(settings.LLM_TIMEOUT_SECONDS),
            image_timeout=float(settings.LLM_IMAGE_TIMEOUT_SECONDS),
            image_max_bytes=settings.LLM_IMAGE_MAX_BYTES,
            image_allowed_hosts=tuple(settings.LLM_IMAGE_ALLOWED_HOSTS),
            max_concurrency=max(1, settings.LLM_MAX_CONCURRENCY),
            max_in_flight=max(1, settings.LLM_MAX_IN_FLIGHT),
            # An unknown language falls back to Korean, as the prompt does.
            language=settings.LLM_MESSAGE_LANGUAGE if settings.LLM_MESSAGE_LANGUAGE in LANGUAGES else "ko",
            scope=settings.LLM_MESSAGE_SCOPE,
            rate_limit=settings.LLM_RATE_LIMIT,
            cache_seconds=settings.LLM_CACHE_TTL_SECONDS,
            failure_seconds=settings.LLM_FAILURE_TTL_SECONDS,
        )

    def key(self, coordi: CoordiFacts, user: UserFacts) -> str:
        """The cache key of this outfit's message for this reader: it moves with all that changes it."""
        if self.scope == "shared":
            head = f"llm_message_shared:{coordi.id}:{user.gender}"
            varies = (coordi.version, coordi.image_url, self.language)
        else:
            head = f"llm_message:{coordi.id}:{user.id}"
            varies = (coordi.version, coordi.image_url, self.language, user.name, user.gender)
        digest = hashlib.blake2b(repr(varies).encode(), digest_size=8).hexdigest()
        return f"{head}:{PROMPT_VERSION}:{self.model}:{digest}"

    def prompt(self, coordi: CoordiFacts, user: UserFacts) -> Prompt:
        if self.scope == "shared":
            return build_shared_prompt(coordi=coordi, gender=user.gender, language=self.language)
        return build_prompt(coordi=coordi, user=user, language=self.language)

    def for_reader(self, text: str | None, user: UserFacts) -> str | None:
        """What this reader sees of a stored text: the shared scope's template gets their name."""
        if text is None or self.scope != "shared":
            return text
        return render_template(text, name=user.name.strip(), placeholder=NAME_PLACEHOLDER)


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
    stored: Mapping[str, store.Stored] | None = None,
) -> list[MessageResult]:
    """One MessageResult per distinct coordi id, in the order given.

    `use_cache=False` (staff only: the admin's and the preview command's "fresh" messages) skips the
    stored messages, though not another request's message being made right now; the new ones are
    stored. `on_result` is called as each outfit's result is known (a progress bar, a page that stops
    waiting at its deadline). `stored`: what `stored_messages` already read for these outfits (then
    the cache is not read again). Bounded: see _Page.
    """
    config = _Config.from_settings()
    unique: dict[int, CoordiFacts] = {}
    for coordi in coordis:
        unique.setdefault(coordi.id, coordi)
    page = _Page.start(config, on_result)

    if not config.api_key:
        # No key, no client, no request: the product runs without Gemini.
        for coordi in unique.values():
            page.settle(_finish(coordi, user, page, Answer(Outcome.NO_KEY))[1])
        return [page.results[coordi_id] for coordi_id in unique]

    keys = {coordi_id: config.key(coordi, user) for coordi_id, coordi in unique.items()}
    if not use_cache:
        found: Mapping[str, store.Stored] = {}
    else:
        found = stored if stored is not None else await store.read(keys.values())
    metrics.record_cache(hits=len(found), misses=len(keys) - len(found))
    for coordi_id, key in keys.items():
        if key in found:
            page.settle(_stored_result(unique[coordi_id], user, page, found[key]))

    owned, joined = _flights.claim(key for coordi_id, key in keys.items() if coordi_id not in page.results)
    by_key = {key: unique[coordi_id] for coordi_id, key in keys.items()}
    taken: set[str] = set()
    try:
        # With a shared cache, a key whose lock another process holds is waited for, not made.
        taken = (
            await store.lock(owned, seconds=math.ceil(page.finish_by - page.started) + 1)
            if store.is_shared()
            else set(owned)
        )
        async with asyncio.TaskGroup() as group:
            group.create_task(_make([by_key[key] for key in owned if key in taken], user, page, keys))
            for key in (key for key in owned if key not in taken):
                group.create_task(_await_other_process(by_key[key], key, user, page))
            for key, flight in joined.items():
                group.create_task(_await_flight(by_key[key], flight, user, page))
    finally:
        # Whatever happened here, nobody waits on this request's flights past this point. A flight
        # already landed is skipped: its key may be another request's flight by now.
        unlanded = [key for key in owned if key not in page.landed]
        for key in unlanded:
            _flights.land(key, store.Stored(None, Outcome.ERROR.value))
        # Cancelled before storing them: the locks this call took go too, so that other processes
        # make these messages now instead of waiting for the locks to expire.
        abandoned = [key for key in unlanded if key in taken]
        if abandoned and store.is_shared():
            await store.write(kept={}, kept_seconds=0, failed={}, failed_seconds=0, unlock=abandoned)
    return [page.results[coordi_id] for coordi_id in unique]


def stored_messages(coordis: Sequence[CoordiFacts], user: UserFacts) -> dict[str, store.Stored]:
    """The messages already stored for these outfits and this reader, by key, read now: for a
    caller already in a thread hop (the page's own), so that reading them costs no hop of its own.
    Give them to generate_message_results as `stored`."""
    config = _Config.from_settings()
    if not config.api_key:
        return {}
    return store.read_now([config.key(coordi, user) for coordi in coordis])


@dataclass(slots=True)
class _Page:
    """One generate_message_results call: its settings, clock, bounds and results so far.

    Bounds, each measured from `started`: a call waits for its slots until `slot_deadline`
    (LLM_TIMEOUT_SECONDS; then it gives up without having asked Gemini), its image download gets
    LLM_IMAGE_TIMEOUT_SECONDS, and the Gemini call itself LLM_TIMEOUT_SECONDS from the moment it is
    sent. So every message is settled by `finish_by`, which is also how long others wait for it.
    """

    config: _Config
    started: float
    slot_deadline: float
    finish_by: float
    request_slots: asyncio.Semaphore
    on_result: Callable[[MessageResult], None] | None
    results: dict[int, MessageResult] = field(default_factory=dict)
    # This call's flights already landed (a result may be settled before its flight lands).
    landed: set[str] = field(default_factory=set)

    @classmethod
    def start(cls, config: _Config, on_result: Callable[[MessageResult], None] | None) -> _Page:
        started = asyncio.get_running_loop().time()
        return cls(
            config=config,
            started=started,
            slot_deadline=started + config.timeout,
            finish_by=started + config.timeout + config.image_timeout + config.timeout,
            request_slots=asyncio.Semaphore(config.max_concurrency),
            on_result=on_result,
        )

    def settle(self, result: MessageResult) -> None:
        self.results[result.coordi_id] = result
        if self.on_result is not None:
            self.on_result(result)

    def land(self, key: str, value: store.Stored) -> None:
        _flights.land(key, value)
        self.landed.add(key)

    def elapsed_ms(self) -> int:
        return round((asyncio.get_running_loop().time() - self.started) * 1000)


async def _make(coordis: list[CoordiFacts], user: UserFacts, page: _Page, keys: dict[int, str]) -> None:
    """Asks Gemini for the messages this request owns, stores them, and lands their flights."""
    if not coordis:
        return
    config = page.config

    async def made_and_settled(coordi: CoordiFacts) -> tuple[str | None, MessageResult]:
        text, result = await _message(coordi, user, page)
        page.settle(result)  # seen at once by a page that stops waiting at its deadline
        return text, result

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(made_and_settled(coordi)) for coordi in coordis]
    made = {keys[result.coordi_id]: (text, result) for text, result in (task.result() for task in tasks)}
    stored = {key: store.Stored(text, result.outcome.value) for key, (text, result) in made.items()}
    await store.write(
        kept={key: value for key, value in stored.items() if value.text is not None},
        kept_seconds=config.cache_seconds,
        # Only Gemini's own verdicts: a call we gave up on, or that never reached it, may go through
        # next time.
        failed={key: value for key, value in stored.items()
                if value.text is None and made[key][1].verdict},
        failed_seconds=config.failure_seconds,
        unlock=made.keys() if store.is_shared() else (),
    )
    # Landed once stored: a request arriving between the two would otherwise find neither.
    for key in made:
        page.land(key, stored[key])


async def _await_flight(
    coordi: CoordiFacts, flight: flights.Future[store.Stored], user: UserFacts, page: _Page
) -> None:
    """Another request of this process is making this message: its result is ours."""
    try:
        value = await flights.wait(flight, timeout=page.finish_by - asyncio.get_running_loop().time())
    except TimeoutError:
        value = store.Stored(None, Outcome.TIMEOUT.value)
    page.settle(_stored_result(coordi, user, page, value))


async def _await_other_process(coordi: CoordiFacts, key: str, user: UserFacts, page: _Page) -> None:
    """Another process holds this message's lock: wait for its value in the cache, until it must be there."""
    loop = asyncio.get_running_loop()
    value = store.Stored(None, Outcome.TIMEOUT.value)
    while loop.time() < page.finish_by:
        await asyncio.sleep(min(_POLL_SECONDS, max(0, page.finish_by - loop.time())))
        found = await store.read([key])
        if key in found:
            value = found[key]
            break
    page.land(key, value)
    page.settle(_stored_result(coordi, user, page, value))


def _stored_result(coordi: CoordiFacts, user: UserFacts, page: _Page, value: store.Stored) -> MessageResult:
    config = page.config
    return MessageResult(
        coordi_id=coordi.id,
        text=config.for_reader(value.text, user),
        outcome=Outcome(value.outcome),
        latency_ms=page.elapsed_ms(),
        model=config.model,
        language=config.language,
        scope=config.scope,
        cached=True,
    )


def reset() -> None:
    """Drops the Gemini client, the image clients and the in-flight limiter (for tests)."""
    gemini.reset()
    images.reset()
    limits.reset()
    quota.reset()
    cooldowns.reset()


def start() -> None:
    """Builds the process's Gemini client and this loop's image client before the first page needs
    them (the ASGI lifespan's start-up): ~0.1 s of CPU that no request should pay."""
    config = _Config.from_settings()
    if config.api_key:
        gemini.get_client(api_key=config.api_key, base_url=config.base_url)
    images.prepare(config.image_allowed_hosts)


async def aclose() -> None:
    """Closes the Gemini client and this loop's image client (an ASGI lifespan shutdown, a test's end)."""
    await images.aclose()
    await gemini.aclose()


async def _message(coordi: CoordiFacts, user: UserFacts, page: _Page) -> tuple[str | None, MessageResult]:
    """One outfit's call: what to store (the checked text, or the shared scope's template) and the result."""
    config = page.config
    image_status = "none"
    permit = Permit.WAIT
    answer = Answer(Outcome.ERROR, detail="cancelled")
    pause = None
    try:
        async with contextlib.AsyncExitStack() as held:
            async with asyncio.timeout_at(page.slot_deadline):
                await held.enter_async_context(page.request_slots)
            await store.look_for_pause()
            if cooldown().remaining():
                answer = Answer(Outcome.RATE_LIMITED, detail="cooldown")
            elif not await quota.allow_call(config.rate_limit):
                answer = Answer(Outcome.RATE_LIMITED, detail="rate_limit")
            else:
                image, image_status = await _image_for(coordi, config=config)
                async with asyncio.timeout_at(page.slot_deadline):
                    await held.enter_async_context(
                        limits.in_flight_limiter().slot(limit=config.max_in_flight)
                    )
                # Taken last, right before the call: a probe is out only while it is at Gemini.
                permit = cooldown().permit()
                if permit is Permit.WAIT:
                    answer = Answer(Outcome.RATE_LIMITED, detail="cooldown")
                else:
                    answer = await _call(coordi, user, image, config=config)
    except TimeoutError:
        # Only the slot waits raise it here (the call has its own): Gemini was never asked.
        answer = Answer(Outcome.TIMEOUT, detail="no_slot")
    except Exception as error:  # noqa: BLE001 - one outfit's failure must not cost the page
        answer = Answer(Outcome.ERROR, detail=type(error).__name__)
    finally:
        # Gemini's answer decides the pause; no answer (cancelled, not sent) leaves a probe's place
        # to the next call.
        if answer.reached and answer.overloaded:
            pause = cooldown().refused(permit, retry_after=answer.retry_after)
        elif answer.reached and answer.verdict:
            cooldown().answered(permit)
        else:
            cooldown().abandoned(permit)
    if pause is not None:
        await store.share_pause(pause)
    return _finish(coordi, user, page, answer, image=image_status)


async def _call(coordi: CoordiFacts, user: UserFacts, image: images.Image | None, *, config: _Config) -> Answer:
    """The Gemini call itself, bounded by LLM_TIMEOUT_SECONDS from now (its own start)."""
    try:
        async with asyncio.timeout(config.timeout):
            return await gemini.generate(
                prompt=config.prompt(coordi, user),
                image=image,
                api_key=config.api_key,
                base_url=config.base_url,
                model=config.model,
                timeout=config.timeout,
                thinking_budget=config.thinking_budget,
                max_output_tokens=config.max_output_tokens,
            )
    except TimeoutError:
        # Gemini took longer than a call may: its verdict, as much as an error status would be.
        return Answer(Outcome.TIMEOUT, detail="call_timeout", reached=True, verdict=True)


async def _image_for(coordi: CoordiFacts, *, config: _Config) -> tuple[images.Image | None, str]:
    if not coordi.image_url:
        return None, "none"
    try:
        image = await images.fetch_image(
            coordi.image_url,
            timeout=config.image_timeout,
            max_bytes=config.image_max_bytes,
            allowed_hosts=config.image_allowed_hosts,
        )
    except images.ImageUnavailable as error:
        # The URL's path and query may be signed: log the reason and the coordi only.
        logger.debug("llm image skipped coordi=%s reason=%s", coordi.id, error.reason,
                     extra={"coordi_id": coordi.id, "image_status": error.reason})
        return None, error.reason
    return image, "sent"


def _finish(
    coordi: CoordiFacts,
    user: UserFacts,
    page: _Page,
    answer: Answer,
    *,
    image: str = "none",
) -> tuple[str | None, MessageResult]:
    """Checks the answer, logs and counts the call once; returns what to store and the result."""
    config = page.config
    stored = None
    outcome, detail = answer.outcome, answer.detail
    if outcome is Outcome.OK:
        try:
            if config.scope == "shared":
                stored = clean_template(answer.text, placeholder=NAME_PLACEHOLDER)
            else:
                stored = clean_message(answer.text)
        except InvalidMessage as error:
            outcome, detail = Outcome.INVALID, error.reason
    latency_ms = page.elapsed_ms()
    result = MessageResult(
        coordi_id=coordi.id,
        text=config.for_reader(stored, user),
        outcome=outcome,
        latency_ms=latency_ms,
        detail=detail,
        image_status=image,
        model=config.model,
        language=config.language,
        scope=config.scope,
        sent=answer.reached,
        verdict=answer.verdict,
    )
    metrics.record(outcome=outcome.value, latency_ms=latency_ms)
    logger.info(
        "llm message coordi=%s user=%s outcome=%s latency_ms=%d image=%s detail=%s",
        coordi.id, user.id, outcome.value, latency_ms, image, detail or "-",
        extra={
            "coordi_id": coordi.id, "user_id": user.id, "outcome": outcome.value,
            "latency_ms": latency_ms, "image_status": image, "detail": detail,
        },
    )
    return stored, result
