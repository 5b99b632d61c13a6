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

from llm import downscale, gemini, images, limits, metrics, prepared, quota, store
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
    second wave of calls finds its images fetched while the first was at Gemini. Each is then made
small (llm.downscale, within LLM_IMAGE_DECODE_TIMEOUT_SECONDS). Never raises."""
    return asyncio.get_running_loop().create_task(_image_for(coordi, page))


async def make_message(
    coordi: CoordiFacts, page: Page, image_task: ImageTask
) -> tuple[str | None, MessageResult]:
    """One outfit's call, its image being fetched by `image_task` (from fetch_image_now): what to
    store (the checked text, or the shared scope's template) and the result."""
    config = page.config
    image_status, image_bytes = "none", 0
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
                image_bytes = len(image.data) if image is not None else 0
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
    return finish(coordi, page, answer, image=image_status, image_bytes=image_bytes)


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
                media_resolution=config.media_resolution,
            )
    except TimeoutError:
        # Gemini took longer than a call may: its verdict, as much as an error status would be.
        return Answer(Outcome.TIMEOUT, detail="call_timeout", reached=True, verdict=True)


async def _image_for(coordi: CoordiFacts, page: Page) -> tuple[images.Image | None, str]:
    if not coordi.image_url:
        return None, "none"
    config = page.config
    # The limits it was fetched and made under are part of the key: a reload may change them, and an
    # image fetched from a host allowed then must not be reused once that host no longer is.
    key = (coordi.image_url, config.image_max_side, config.image_max_pixels, config.image_max_bytes,
           config.image_allowed_hosts)  # fmt: skip
    try:
        image, reused = await prepared.ready_image(key, lambda: _prepare(coordi.image_url or "", page))
    except images.ImageUnavailable as error:
        reason = error.reason
    except Exception as error:  # noqa: BLE001 - a message without its image beats none
        reason = f"error:{type(error).__name__}"
    else:
        metrics.IMAGES.labels(result="reused" if reused else "made").inc()
        return image, "sent"
    metrics.IMAGES.labels(result=reason.split(":", 1)[0]).inc()
    # The URL's path and query may be signed: log the reason and the coordi only.
    logger.debug("llm image skipped coordi=%s reason=%s", coordi.id, reason,
                 extra={"coordi_id": coordi.id, "image_status": reason})
    return None, reason


async def _prepare(url: str, page: Page) -> images.Image:
    """Downloads and downscales the image at `url` within this page's bounds (its image slots, the
    download's and the decode's timeouts), or raises ImageUnavailable."""
    config = page.config
    try:
        # Not past the moment its call must have started: then the call goes without it.
        async with asyncio.timeout_at(page.slot_deadline):
            await page.image_slots.acquire()
    except TimeoutError:
        raise images.ImageUnavailable("no_slot") from None
    try:
        downloaded = await images.fetch_image(
            url,
            timeout=config.image_timeout,
            max_bytes=config.image_max_bytes,
            allowed_hosts=config.image_allowed_hosts,
        )
    finally:
        page.image_slots.release()
    return await downscale.make_small(
        downloaded,
        max_side=config.image_max_side,
        max_pixels=config.image_max_pixels,
        timeout=config.image_decode_timeout,
    )


def finish(
    coordi: CoordiFacts, page: Page, answer: Answer, *, image: str = "none", image_bytes: int = 0
) -> tuple[str | None, MessageResult]:
    """Checks the answer, logs and counts the attempt once (its tokens too); returns what to store
    and the result."""
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
        usage=answer.usage,
        image_bytes=image_bytes if answer.reached else 0,
    )
    metrics.record(outcome=outcome.value, latency_ms=latency_ms)
    metrics.record_usage(answer.usage, image_bytes=result.image_bytes, prices=config.prices)
    logger.info(
        "llm message coordi=%s user=%s outcome=%s latency_ms=%d image=%s detail=%s",
        coordi.id, user.id, outcome.value, latency_ms, image, detail or "-",
        extra={
            "coordi_id": coordi.id, "user_id": user.id, "outcome": outcome.value,
            "latency_ms": latency_ms, "image_status": image, "detail": detail,
        },
    )
    return stored, result
