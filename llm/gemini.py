"""The process's one google-genai client and one generateContent call, reduced to an outcome and text."""

from __future__ import annotations

import dataclasses
import math
import re
import threading

import httpx
from google import genai
from google.genai import errors, types

from llm.images import Image
from llm.prompts import Prompt
from llm.results import Answer, Outcome, Usage

try:  # google-genai 3.x talks through httpx2 when it is installed (it is, as its dependency).
    import httpx2

    _HTTPX: tuple = (httpx, httpx2)
except ImportError:  # pragma: no cover
    _HTTPX = (httpx,)
# The request never left: no connection could be had. Not Gemini's answer, and not a call paid for.
_NOT_SENT_ERRORS: tuple[type[Exception], ...] = tuple(
    error for module in _HTTPX for error in (module.ConnectError, module.ConnectTimeout, module.PoolTimeout)
)
# The request went and the answer did not come in time (the call's own timeout).
_TIMEOUT_ERRORS: tuple[type[Exception], ...] = tuple(module.TimeoutException for module in _HTTPX)

# Finish reasons that mean "the answer was withheld", as opposed to "the answer is bad".
_BLOCKING_FINISH_REASONS = frozenset(
    {"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY",
     "IMAGE_PROHIBITED_CONTENT", "IMAGE_RECITATION"}
)


_client: genai.Client | None = None
_client_key: tuple[str, str] | None = None
_client_lock = threading.Lock()


def get_client(*, api_key: str, base_url: str) -> genai.Client:
    """The process's client, built on first use (~0.1 s of CPU) and again only if key or URL change.

    Its async transport keeps one connection pool per event loop, so one client serves them all.
    """
    global _client, _client_key
    with _client_lock:
        if _client is None or _client_key != (api_key, base_url):
            _client = genai.Client(
                vertexai=False,
                api_key=api_key,
                http_options=types.HttpOptions(
                    base_url=base_url or None,
                    # No retries: a retry after a 429 or a timeout would outlive the page's deadline.
                    retry_options=types.HttpRetryOptions(attempts=1),
                ),
            )
            _client_key = (api_key, base_url)
        return _client


def reset() -> None:
    """Forgets the client (tests); the next call builds a new one."""
    global _client, _client_key
    with _client_lock:
        _client = _client_key = None


async def aclose() -> None:
    """Closes the client's connections, every loop's (at shutdown); the next call builds a new one."""
    global _client, _client_key
    with _client_lock:
        client, _client, _client_key = _client, None, None
    if client is not None:
        await client.aio.aclose()


async def generate(
    *,
    prompt: Prompt,
    image: Image | None,
    api_key: str,
    base_url: str,
    model: str,
    timeout: float,
    thinking_budget: int,
    max_output_tokens: int,
    media_resolution: str = "low",
) -> Answer:
    """One generateContent call. Never raises for a failed call; cancellation still propagates.

    `timeout` (seconds) goes on the wire (X-Server-Timeout) and into httpx; the caller bounds the
    whole call with its own deadline as well, since httpx's timeout is per read. `media_resolution`
    (GEMINI_MEDIA_RESOLUTION: low, medium, high, unspecified) caps the tokens the image may use.
    """
    client = get_client(api_key=api_key, base_url=base_url)
    parts = [types.Part.from_text(text=prompt.text)]
    if image is not None:
        parts.append(types.Part.from_bytes(data=image.data, mime_type=image.mime_type))
    config = types.GenerateContentConfig(
        system_instruction=prompt.system,
        max_output_tokens=max_output_tokens,
        thinking_config=types.ThinkingConfig(thinking_budget=thinking_budget),
        candidate_count=1,
        media_resolution=MEDIA_RESOLUTIONS[media_resolution],
        # One request per call: no function-calling loop, no continuation requests.
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        automatic_continuation=False,
        http_options=types.HttpOptions(timeout=max(1, math.ceil(timeout * 1000))),
    )
    try:
        response = await client.aio.models.generate_content(
            model=model, contents=[types.Content(role="user", parts=parts)], config=config
        )
    except errors.APIError as error:
        # The SDK's messages quote the response and may carry request details: log codes only.
        if error.code in _SLOW_DOWN_STATUSES:
            return Answer(
                Outcome.RATE_LIMITED if error.code == 429 else Outcome.ERROR,
                detail=f"status_{error.code}", reached=True, overloaded=True,
                retry_after=_retry_after(error),
            )
        return Answer(Outcome.ERROR, detail=f"status_{error.code}", reached=True, verdict=True)
    except _NOT_SENT_ERRORS as error:
        return Answer(
            Outcome.TIMEOUT if isinstance(error, _TIMEOUT_ERRORS) else Outcome.ERROR,
            detail=type(error).__name__,
        )
    except _TIMEOUT_ERRORS as error:
        # httpx's timeout is the call's own (`timeout`): Gemini took longer than we allow a call.
        return Answer(Outcome.TIMEOUT, detail=type(error).__name__, reached=True, verdict=True)
    except Exception as error:  # noqa: BLE001 - garbage bodies, a dropped connection, SDK surprises
        return Answer(Outcome.ERROR, detail=type(error).__name__, reached=True)
    return _read(response)


MEDIA_RESOLUTIONS = {
    "low": types.MediaResolution.MEDIA_RESOLUTION_LOW,
    "medium": types.MediaResolution.MEDIA_RESOLUTION_MEDIUM,
    "high": types.MediaResolution.MEDIA_RESOLUTION_HIGH,
    "unspecified": types.MediaResolution.MEDIA_RESOLUTION_UNSPECIFIED,
}

# "Slow down": 429 RESOURCE_EXHAUSTED (quota, rate) and 503 UNAVAILABLE ("the model is overloaded").
_SLOW_DOWN_STATUSES = frozenset({429, 503})
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)s\s*$")


def _retry_after(error: errors.APIError) -> float | None:
    """Seconds Gemini asked us to wait: google.rpc.RetryInfo's retryDelay ("37s"), else Retry-After."""
    body = error.details if isinstance(error.details, dict) else {}
    details = (body.get("error") or {}).get("details") or []
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            found = _DURATION.match(str(detail.get("retryDelay", "")))
            if found:
                return float(found.group(1))
    headers = getattr(error.response, "headers", None) or {}
    try:
        return float(headers.get("retry-after", ""))
    except (TypeError, ValueError):
        return None


def _read(response: types.GenerateContentResponse) -> Answer:
    answer = _verdict(response)
    usage = read_usage(response.usage_metadata)
    return answer if usage is None else dataclasses.replace(answer, usage=usage)


def read_usage(metadata: types.GenerateContentResponseUsageMetadata | None) -> Usage | None:
    """The tokens an answer says it used; the image's share from the prompt's per-modality counts."""
    if metadata is None:
        return None
    image = sum(
        detail.token_count or 0
        for detail in metadata.prompt_tokens_details or []
        if _name(detail.modality) == "IMAGE"
    )
    # Counts are never negative and the parts never exceed the whole, whatever the answer says:
    # a negative cost would fail the metric (and the page with it) and the row's unsigned columns.
    total = max(metadata.prompt_token_count or 0, 0)
    return Usage(
        input=total,
        output=max(metadata.candidates_token_count or 0, 0),
        thinking=max(metadata.thoughts_token_count or 0, 0),
        cached=min(max(metadata.cached_content_token_count or 0, 0), total),
        image=min(max(image, 0), total),
    )


def _verdict(response: types.GenerateContentResponse) -> Answer:
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        detail = f"block_reason_{_name(feedback.block_reason)}"
        return Answer(Outcome.BLOCKED, detail=detail, reached=True, verdict=True)
    if not response.candidates:
        return Answer(Outcome.INVALID, detail="no_candidates", reached=True, verdict=True)
    candidate = response.candidates[0]
    finish = _name(candidate.finish_reason)
    if finish in _BLOCKING_FINISH_REASONS:
        return Answer(Outcome.BLOCKED, detail=f"finish_{finish}", reached=True, verdict=True)
    if finish == "MAX_TOKENS":
        # A sentence cut off at the token cap is not shown, even if it happens to pass the checks.
        return Answer(Outcome.INVALID, detail="finish_MAX_TOKENS", reached=True, verdict=True)
    parts = candidate.content.parts if candidate.content and candidate.content.parts else []
    # response.text would do, but it warns on non-text parts and includes no thought filtering.
    text = "".join(part.text for part in parts if part.text and not part.thought)
    if not text:
        return Answer(Outcome.INVALID, detail="empty", reached=True, verdict=True)
    return Answer(Outcome.OK, text=text, reached=True, verdict=True)


def _name(value: object) -> str:
    return str(getattr(value, "value", value) or "")
