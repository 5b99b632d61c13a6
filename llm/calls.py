"""One outfit's message: its image (fetched as soon as the page is known, outside the Gemini slots),
its slots, the pause and quota checks, the Gemini call, the answer's check, and one log line and
metric per attempt.

Limits: at most LLM_MAX_CONCURRENCY calls at once for one page (its own semaphore) and at most
LLM_MAX_IN_FLIGHT in the whole process (llm.limits). A call that finds Gemini paused (llm.cooldown)
or over LLM_RATE_LIMIT (llm.quota) is not sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from llm import gemini, images, limits, metrics, quota, store
from llm.checks import InvalidMessage, holds_secret
from llm.cooldown import Permit, cooldown
from llm.facts import CoordiFacts
from llm.page import Page
from llm.results import Answer, MessageResult, Outcome

logger = logging.getLogger("llm")


# An outfit's image download: the image, or None and why not (llm.images' reasons).
ImageTask = asyncio.Task[tuple[images.Image | None, str]]


def fetch_image_now(coordi: CoordiFacts, page: Page) -> ImageTask:
    """Starts this outfit's image download now, before its call has a slot: the page's downloads
    run LLM_MAX_CONCURRENCY at a time in page order (each within LLM_IMAGE_TIMEOUT_SECONDS), so a
    second wave of calls finds its images fetched while the first was at Gemini. Never raises."""
    return asyncio.get_running_loop().create_task(_image_for(coordi, page))


async def make_message(
    coordi: CoordiFacts, page: Page, image_task: ImageTask
) -> tuple[str | None, MessageResult]:
    """One outfit's call, its image being fetched by `image_task` (from fetch_image_now): what to
    store (the checked text, or the shared scope's template) and the result."""
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
                image, image_status = await image_task
                async with asyncio.timeout_at(page.slot_deadline):
                    await held.enter_async_context(
                        limits.in_flight_limiter().slot(limit=config.max_in_flight)
                    )
                # Taken last, right before the call: a probe is out only while it is at Gemini.
                permit = cooldown().permit()
                if permit is Permit.WAIT:
                    answer = Answer(Outcome.RATE_LIMITED, detail="cooldown")
                else:
                    answer = await _call(coordi, image, page)
    except TimeoutError:
        # Only the slot waits raise it here (the call has its own): Gemini was never asked.
        answer = Answer(Outcome.TIMEOUT, detail="no_slot")
    except Exception as error:  # noqa: BLE001 - one outfit's failure must not cost the page
        answer = Answer(Outcome.ERROR, detail=type(error).__name__)
    finally:
        image_task.cancel()  # not needed (not sent, or cancelled): not fetched for nothing
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
    return finish(coordi, page, answer, image=image_status)


async def _call(coordi: CoordiFacts, image: images.Image | None, page: Page) -> Answer:
    """The Gemini call itself, bounded by LLM_TIMEOUT_SECONDS from now (its own start)."""
    config = page.config
    try:
        async with asyncio.timeout(config.timeout):
            return await gemini.generate(
                prompt=config.scope.prompt(coordi, page.user, language=config.language),
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


async def _image_for(coordi: CoordiFacts, page: Page) -> tuple[images.Image | None, str]:
    if not coordi.image_url:
        return None, "none"
    config = page.config
    try:
        # Not past the moment its call must have started: then the call goes without it.
        async with asyncio.timeout_at(page.slot_deadline):
            await page.image_slots.acquire()
    except TimeoutError:
        return None, "no_slot"
    try:
        image = await images.fetch_image(
            coordi.image_url,
            timeout=config.image_timeout,
            max_bytes=config.image_max_bytes,
            allowed_hosts=config.image_allowed_hosts,
        )
    except images.ImageUnavailable as error:
        reason = error.reason
    except Exception as error:  # noqa: BLE001 - a message without its image beats none
        reason = f"error:{type(error).__name__}"
    else:
        return image, "sent"
    finally:
        page.image_slots.release()
    # The URL's path and query may be signed: log the reason and the coordi only.
    logger.debug("llm image skipped coordi=%s reason=%s", coordi.id, reason,
                 extra={"coordi_id": coordi.id, "image_status": reason})
    return None, reason


def finish(
    coordi: CoordiFacts, page: Page, answer: Answer, *, image: str = "none"
) -> tuple[str | None, MessageResult]:
    """Checks the answer, logs and counts the attempt once; returns what to store and the result."""
    config, user = page.config, page.user
    stored = None
    outcome, detail = answer.outcome, answer.detail
    if outcome is Outcome.OK:
        try:
            if holds_secret(answer.text, config.api_key):
                raise InvalidMessage("secret")  # never shown, stored or logged
            stored = config.scope.check(answer.text)
        except InvalidMessage as error:
            outcome, detail = Outcome.INVALID, error.reason
    latency_ms = page.elapsed_ms()
    result = MessageResult(
        coordi_id=coordi.id,
        text=config.scope.for_reader(stored, user),
        outcome=outcome,
        latency_ms=latency_ms,
        detail=detail,
        image_status=image,
        model=config.model,
        language=config.language,
        scope=config.scope.name,
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
