"""Messages for outfits: the cache, single-flight, the fan-out, its limits and deadline, one log line
per call.

Paid for once: a message is kept in the cache (llm.store) under a key carrying everything that
changes it (prompt version, model, language, the outfit's version and image, the reader's name and
gender, or only the gender in the shared scope); while one is being made, other requests for the same
key wait for it (llm.flights in the process, a lock key in Redis across processes); LLM_RATE_LIMIT
(llm.quota) caps the calls of every process together. Failures are kept for LLM_FAILURE_TTL_SECONDS.

Limits: at most LLM_MAX_CONCURRENCY calls at once for one generate_messages call (an asyncio
semaphore of its own) and at most LLM_MAX_IN_FLIGHT in the whole process (llm.limits, shared by
every event loop). Deadline: every call of one generate_messages gets LLM_TIMEOUT_SECONDS measured
from its start, queueing and the image download included; a call still waiting for a slot then
gives up, and one still running is cancelled (its connection closed). The image download gets at
most LLM_IMAGE_TIMEOUT_SECONDS and at most half the time left, so a stalled image leaves time for a
text-only message. Settings are read once per generate_messages call.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings

from llm import flights, gemini, images, limits, metrics, quota, store
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
    "generate_messages", "reset",
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
    # True when the request went to Gemini (a failure it never reached is not remembered).
    sent: bool = False


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
) -> list[MessageResult]:
    """One MessageResult per distinct coordi id, in the order given, under one shared deadline.

    `use_cache=False` (staff only: the admin's and the preview command's "fresh" messages) skips the
    stored messages, though not another request's message being made right now; the new ones are
    stored. `on_result` is called as each outfit's result is known (a progress bar).
    """
    config = _Config.from_settings()
    unique: dict[int, CoordiFacts] = {}
    for coordi in coordis:
        unique.setdefault(coordi.id, coordi)
    loop = asyncio.get_running_loop()
    started = loop.time()
    results: dict[int, MessageResult] = {}

    def settle(result: MessageResult) -> None:
        results[result.coordi_id] = result
        if on_result is not None:
            on_result(result)

    if not config.api_key:
        # No key, no client, no request: the product runs without Gemini.
        for coordi in unique.values():
            settle(_finish(coordi, user, config, Answer(Outcome.NO_KEY), started=started)[1])
        return [results[coordi_id] for coordi_id in unique]

    deadline = started + config.timeout
    keys = {coordi_id: config.key(coordi, user) for coordi_id, coordi in unique.items()}
    found = await store.read(keys.values()) if use_cache else {}
    metrics.record_cache(hits=len(found), misses=len(keys) - len(found))
    for coordi_id, key in keys.items():
        if key in found:
            settle(_stored_result(unique[coordi_id], user, config, found[key], started=started))

    owned, joined = _flights.claim(key for coordi_id, key in keys.items() if coordi_id not in results)
    by_key = {key: unique[coordi_id] for coordi_id, key in keys.items()}
    try:
        # With a shared cache, a key whose lock another process holds is waited for, not made.
        taken = (
            await store.lock(owned, seconds=math.ceil(config.timeout) + 1)
            if store.is_shared()
            else set(owned)
        )
        async with asyncio.TaskGroup() as group:
            group.create_task(_make(
                [by_key[key] for key in owned if key in taken], user, config=config, keys=keys, started=started,
                deadline=deadline, settle=settle,
            ))
            for key in (key for key in owned if key not in taken):
                group.create_task(_await_other_process(
                    by_key[key], key, user, config=config, started=started, deadline=deadline,
                    settle=settle,
                ))
            for key, flight in joined.items():
                group.create_task(_await_flight(
                    by_key[key], flight, user, config=config, started=started, deadline=deadline,
                    settle=settle,
                ))
    finally:
        # Whatever happened here, nobody waits on this request's flights past this point. A flight
        # already landed is skipped: its key may be another request's flight by now.
        for key in owned:
            if by_key[key].id not in results:
                _flights.land(key, store.Stored(None, Outcome.ERROR.value))
    return [results[coordi_id] for coordi_id in unique]


async def _make(
    coordis: list[CoordiFacts],
    user: UserFacts,
    *,
    config: _Config,
    keys: dict[int, str],
    started: float,
    deadline: float,
    settle: Callable[[MessageResult], None],
) -> None:
    """Asks Gemini for the messages this request owns, stores them, and lands their flights."""
    if not coordis:
        return
    request_slots = asyncio.Semaphore(config.max_concurrency)
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(_message(
                coordi, user, config=config, started=started, deadline=deadline,
                request_slots=request_slots,
            ))
            for coordi in coordis
        ]
    made = {keys[result.coordi_id]: (text, result) for text, result in (task.result() for task in tasks)}
    stored = {key: store.Stored(text, result.outcome.value) for key, (text, result) in made.items()}
    await store.write(
        kept={key: value for key, value in stored.items() if value.text is not None},
        kept_seconds=config.cache_seconds,
        # Only failures Gemini itself gave: one that never reached it may go through next time.
        failed={key: value for key, value in stored.items()
                if value.text is None and made[key][1].sent},
        failed_seconds=config.failure_seconds,
        unlock=made.keys() if store.is_shared() else (),
    )
    for key, (_, result) in made.items():
        _flights.land(key, stored[key])
        settle(result)


async def _await_flight(
    coordi: CoordiFacts,
    flight: flights.Future[store.Stored],
    user: UserFacts,
    *,
    config: _Config,
    started: float,
    deadline: float,
    settle: Callable[[MessageResult], None],
) -> None:
    """Another request of this process is making this message: its result is ours."""
    try:
        value = await flights.wait(flight, timeout=deadline - asyncio.get_running_loop().time())
    except TimeoutError:
        value = store.Stored(None, Outcome.TIMEOUT.value)
    settle(_stored_result(coordi, user, config, value, started=started))


async def _await_other_process(
    coordi: CoordiFacts,
    key: str,
    user: UserFacts,
    *,
    config: _Config,
    started: float,
    deadline: float,
    settle: Callable[[MessageResult], None],
) -> None:
    """Another process holds this message's lock: wait for its value in the cache, until our deadline."""
    loop = asyncio.get_running_loop()
    value = store.Stored(None, Outcome.TIMEOUT.value)
    while loop.time() < deadline:
        await asyncio.sleep(min(_POLL_SECONDS, max(0, deadline - loop.time())))
        found = await store.read([key])
        if key in found:
            value = found[key]
            break
    _flights.land(key, value)
    settle(_stored_result(coordi, user, config, value, started=started))


def _stored_result(
    coordi: CoordiFacts, user: UserFacts, config: _Config, value: store.Stored, *, started: float
) -> MessageResult:
    return MessageResult(
        coordi_id=coordi.id,
        text=config.for_reader(value.text, user),
        outcome=Outcome(value.outcome),
        latency_ms=round((asyncio.get_running_loop().time() - started) * 1000),
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


async def aclose() -> None:
    """Closes the Gemini client and this loop's image client (an ASGI lifespan shutdown, a test's end)."""
    await images.aclose()
    await gemini.aclose()


async def _message(
    coordi: CoordiFacts,
    user: UserFacts,
    *,
    config: _Config,
    started: float,
    deadline: float,
    request_slots: asyncio.Semaphore,
) -> tuple[str | None, MessageResult]:
    """One outfit's call: what to store (the checked text, or the shared scope's template) and the result."""
    loop = asyncio.get_running_loop()
    image_status = "none"
    sent = False
    try:
        async with asyncio.timeout_at(deadline):
            async with request_slots:
                if not await quota.allow_call(config.rate_limit):
                    answer = Answer(Outcome.RATE_LIMITED, detail="rate_limit")
                else:
                    image, image_status = await _image_for(coordi, config=config, deadline=deadline)
                    async with limits.in_flight_limiter().slot(limit=config.max_in_flight):
                        sent = True
                        answer = await gemini.generate(
                            prompt=config.prompt(coordi, user),
                            image=image,
                            api_key=config.api_key,
                            base_url=config.base_url,
                            model=config.model,
                            timeout=max(0.001, deadline - loop.time()),
                            thinking_budget=config.thinking_budget,
                            max_output_tokens=config.max_output_tokens,
                        )
    except TimeoutError:
        answer = Answer(Outcome.TIMEOUT, detail="deadline")
    except Exception as error:  # noqa: BLE001 - one outfit's failure must not cost the page
        answer = Answer(Outcome.ERROR, detail=type(error).__name__)
    return _finish(coordi, user, config, answer, started=started, image=image_status, sent=sent)


async def _image_for(
    coordi: CoordiFacts, *, config: _Config, deadline: float
) -> tuple[images.Image | None, str]:
    if not coordi.image_url:
        return None, "none"
    budget = min(config.image_timeout, (deadline - asyncio.get_running_loop().time()) / 2)
    if budget <= 0:
        return None, "no_time"
    try:
        image = await images.fetch_image(
            coordi.image_url,
            timeout=budget,
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
    config: _Config,
    answer: Answer,
    *,
    started: float,
    image: str = "none",
    sent: bool = False,
) -> tuple[str | None, MessageResult]:
    """Checks the answer, logs and counts the call once; returns what to store and the result."""
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
    latency_ms = round((asyncio.get_running_loop().time() - started) * 1000)
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
        sent=sent,
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
