"""Messages for outfits: the fan-out, its limits and deadline, and one log line per call.

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
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings

from llm import gemini, images, limits, metrics
from llm.checks import InvalidMessage, clean_message
from llm.facts import CoordiFacts, UserFacts
from llm.gemini import Answer, Outcome
from llm.prompts import LANGUAGES, PROMPT_VERSION, build_prompt

logger = logging.getLogger("llm")

__all__ = [
    "MessageResult", "Outcome", "aclose", "generate_message", "generate_message_results",
    "generate_messages", "reset",
]


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
        )


async def generate_message(coordi: CoordiFacts, user: UserFacts) -> str | None:
    """The message for one outfit, or None when none could be made."""
    [result] = await generate_message_results([coordi], user)
    return result.text


async def generate_messages(coordis: Sequence[CoordiFacts], user: UserFacts) -> dict[int, str | None]:
    """Messages for a page of outfits, by coordi id; None where none could be made. Never raises."""
    return {result.coordi_id: result.text for result in await generate_message_results(coordis, user)}


async def generate_message_results(
    coordis: Sequence[CoordiFacts], user: UserFacts
) -> list[MessageResult]:
    """One MessageResult per distinct coordi id, in the order given, under one shared deadline."""
    config = _Config.from_settings()
    unique: dict[int, CoordiFacts] = {}
    for coordi in coordis:
        unique.setdefault(coordi.id, coordi)
    loop = asyncio.get_running_loop()
    started = loop.time()
    if not config.api_key:
        # No key, no client, no request: the product runs without Gemini.
        return [_finish(coordi, user, config, Answer(Outcome.NO_KEY), started=started)
                for coordi in unique.values()]
    deadline = started + config.timeout
    request_slots = asyncio.Semaphore(config.max_concurrency)
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(_message(
                coordi, user, config=config, started=started, deadline=deadline,
                request_slots=request_slots,
            ))
            for coordi in unique.values()
        ]
    return [task.result() for task in tasks]


def reset() -> None:
    """Drops the Gemini client, the image clients and the in-flight limiter (for tests)."""
    gemini.reset()
    images.reset()
    limits.reset()


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
) -> MessageResult:
    loop = asyncio.get_running_loop()
    image_status = "none"
    try:
        async with asyncio.timeout_at(deadline):
            async with request_slots:
                image, image_status = await _image_for(coordi, config=config, deadline=deadline)
                prompt = build_prompt(coordi=coordi, user=user, language=config.language)
                async with limits.in_flight_limiter().slot(limit=config.max_in_flight):
                    answer = await gemini.generate(
                        prompt=prompt,
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
    return _finish(coordi, user, config, answer, started=started, image=image_status)


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
) -> MessageResult:
    text = None
    outcome, detail = answer.outcome, answer.detail
    if outcome is Outcome.OK:
        try:
            text = clean_message(answer.text)
        except InvalidMessage as error:
            outcome, detail = Outcome.INVALID, error.reason
    latency_ms = round((asyncio.get_running_loop().time() - started) * 1000)
    result = MessageResult(
        coordi_id=coordi.id,
        text=text,
        outcome=outcome,
        latency_ms=latency_ms,
        detail=detail,
        image_status=image,
        model=config.model,
        language=config.language,
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
    return result
