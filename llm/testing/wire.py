"""Gemini's generateContent wire format: reading a request, and the answers and errors Google sends."""

from __future__ import annotations

import base64
import io
import json
import math
import re
from dataclasses import dataclass
from typing import Any

import PIL.Image

_GENERATE_PATH = re.compile(r"^/(v1|v1beta)/models/([^/:]+):generateContent$")
_NAME_LINE = re.compile(r"^name: ?(.*)$", re.MULTILINE)
KINDS = frozenset(
    {"ok", "text", "rate_limited", "overloaded", "error", "hang", "safety", "block_reason", "garbage",
     "empty"}
)


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the stand-in answers one generateContent request.

    kind: ok (a valid message with the user's name), text (`text` verbatim as the model's answer),
    rate_limited (429 RESOURCE_EXHAUSTED), overloaded (503 UNAVAILABLE, "the model is overloaded"),
    error (500), hang (no answer until the client disconnects), safety (finishReason SAFETY, no
    parts), block_reason (promptFeedback.blockReason), garbage (a non-JSON 200), empty (a STOP
    candidate with no parts). `delay` is added to the server's latency. With rate_limited,
    overloaded and error, `text` replaces the error's message; `retry_delay` (seconds) adds Google's
    RetryInfo detail to a 429 or 503, as Gemini's quota errors carry it. `usage` replaces fields of
    the answer's usageMetadata (e.g. {"thoughtsTokenCount": 12}); otherwise it is counted by
    `usage_for`.
    """

    kind: str = "ok"
    delay: float = 0.0
    text: str | None = None
    retry_delay: float | None = None
    usage: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown behaviour {self.kind!r}; one of {sorted(KINDS)}")


@dataclass(frozen=True, slots=True)
class RecordedImage:
    """An inline image part as it arrived, base64 decoded."""

    mime_type: str
    data: bytes
    # Its pixel size as Pillow reads it; None when the bytes are not a readable image.
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One generateContent request as the stand-in received it."""

    api_version: str
    model: str
    api_key: str | None
    prompt: str
    system_instruction: str
    images: tuple[RecordedImage, ...]
    generation_config: dict[str, Any]
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Refusal:
    """What Google answers a request it will not take: unknown path, wrong method, key or JSON."""

    status: int
    body: dict[str, Any]


def read_request(
    *,
    method: str,
    path: str,
    raw_headers: list[tuple[bytes, bytes]],
    query_string: bytes,
    body: bytes,
    api_key: str | None,
) -> RecordedRequest | Refusal:
    """The request as Gemini would read it, or Google's refusal. `api_key` None accepts any key."""
    match = _GENERATE_PATH.match(path)
    if match is None:
        return Refusal(404, google_error(404, "NOT_FOUND", f"Path {path} not found."))
    if method != "POST":
        return Refusal(405, google_error(405, "METHOD_NOT_ALLOWED", "Use POST."))
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers}
    key = headers.get("x-goog-api-key") or _query_key(query_string)
    if not key:
        return Refusal(403, google_error(
            403, "PERMISSION_DENIED",
            "Method doesn't allow unregistered callers (callers without established identity)."
            " Please use API Key or other form of API consumer identity to call this API.",
        ))
    if api_key is not None and key != api_key:
        return Refusal(401, google_error(
            401, "UNAUTHENTICATED", "API key not valid. Please pass a valid API key."
        ))
    try:
        payload = json.loads(body)
    except ValueError:
        return Refusal(400, google_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received."))
    return _record(match.group(1), match.group(2), key, headers, payload)


def _record(
    api_version: str, model: str, key: str, headers: dict[str, str], payload: dict[str, Any]
) -> RecordedRequest:
    texts: list[str] = []
    images: list[RecordedImage] = []
    for content in payload.get("contents") or []:
        for part in content.get("parts") or []:
            if "text" in part:
                texts.append(part["text"])
            inline = part.get("inlineData") or part.get("inline_data")
            if inline:
                data = _b64decode(inline.get("data") or "")
                width, height = _pixel_size(data)
                images.append(RecordedImage(
                    mime_type=inline.get("mimeType") or inline.get("mime_type") or "",
                    data=data,
                    width=width,
                    height=height,
                ))
    system = payload.get("systemInstruction") or payload.get("system_instruction") or {}
    system_text = "\n".join(p.get("text", "") for p in system.get("parts") or [])
    return RecordedRequest(
        api_version=api_version,
        model=model,
        api_key=key,
        prompt="\n".join(texts),
        system_instruction=system_text,
        images=tuple(images),
        generation_config=payload.get("generationConfig") or {},
        headers=headers,
        body=payload,
    )


def _pixel_size(data: bytes) -> tuple[int | None, int | None]:
    try:
        with PIL.Image.open(io.BytesIO(data)) as image:
            return image.size
    except (OSError, ValueError, PIL.Image.DecompressionBombError):
        return None, None


def _b64decode(data: str) -> bytes:
    # The SDK sends the URL-safe alphabet; other clients send the standard one.
    data = data.replace("-", "+").replace("_", "/")
    return base64.b64decode(data + "=" * (-len(data) % 4))


def _query_key(query_string: bytes) -> str | None:
    for pair in query_string.decode("latin-1").split("&"):
        name, _, value = pair.partition("=")
        if name == "key" and value:
            return value
    return None


def answer(behaviour: Behaviour, record: RecordedRequest) -> tuple[int, dict[str, Any] | bytes]:
    """The status and body Gemini would send; bytes for a body that is not JSON."""
    kind = behaviour.kind
    if kind == "rate_limited":
        return 429, google_error(
            429, "RESOURCE_EXHAUSTED", behaviour.text
            or "You exceeded your current quota, please check your plan and billing details.",
            retry_delay=behaviour.retry_delay,
        )
    if kind == "overloaded":
        return 503, google_error(
            503, "UNAVAILABLE", behaviour.text or "The model is overloaded. Please try again later.",
            retry_delay=behaviour.retry_delay,
        )
    if kind == "error":
        return 500, google_error(
            500, "INTERNAL", behaviour.text or "An internal error has occurred. Please retry or"
            " report in https://developers.generativeai.google/guide/troubleshooting",
        )
    if kind == "garbage":
        return 200, b"<html><body>502 Bad Gateway (upstream hiccup)</body></html>"
    if kind in ("safety", "block_reason"):
        usage = usage_for(record, "", behaviour)
    if kind == "block_reason":
        return 200, {
            "promptFeedback": {"blockReason": "SAFETY", "safetyRatings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH"}]},
            "usageMetadata": usage, "modelVersion": record.model,
        }
    if kind == "safety":
        return 200, {
            "candidates": [{"finishReason": "SAFETY", "index": 0, "safetyRatings": [
                {"category": "HARM_CATEGORY_HARASSMENT", "probability": "MEDIUM"}]}],
            "usageMetadata": usage, "modelVersion": record.model,
        }
    if kind == "empty":
        parts: list[dict[str, str]] = []
    elif kind == "text":
        parts = [{"text": behaviour.text or ""}]
    else:
        parts = [{"text": _message_for(record)}]
    return 200, {
        "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP",
                        "index": 0}],
        "usageMetadata": usage_for(record, "".join(part["text"] for part in parts), behaviour),
        "modelVersion": record.model,
        "responseId": f"standin-{id(record):x}",
    }


# Tokens per image by the request's mediaResolution, for Gemini 2.5 as Google documents it: low and
# medium cap an image at a fixed count; otherwise an image up to 384 px a side costs 258 tokens and a
# larger one 258 per 768 × 768 tile.
_IMAGE_TOKENS = {"MEDIA_RESOLUTION_LOW": 64, "MEDIA_RESOLUTION_MEDIUM": 256}
TILE_TOKENS, TILE_SIDE, SMALL_SIDE = 258, 768, 384


def image_tokens(width: int | None, height: int | None, media_resolution: str | None) -> int:
    """The tokens one image costs, as the stand-in counts them (mirroring Google's rules)."""
    if media_resolution in _IMAGE_TOKENS:
        return _IMAGE_TOKENS[media_resolution]
    if not width or not height or (width <= SMALL_SIDE and height <= SMALL_SIDE):
        return TILE_TOKENS
    return math.ceil(width / TILE_SIDE) * math.ceil(height / TILE_SIDE) * TILE_TOKENS


def text_tokens(text: str) -> int:
    """About four bytes of UTF-8 a token (Google: about four characters of English)."""
    return math.ceil(len(text.encode()) / 4)


def usage_for(record: RecordedRequest, output: str, behaviour: Behaviour) -> dict[str, Any]:
    """usageMetadata for this request and answer, with `behaviour.usage` laid over it."""
    text = text_tokens(record.system_instruction) + text_tokens(record.prompt)
    resolution = record.generation_config.get("mediaResolution")
    image = sum(image_tokens(i.width, i.height, resolution) for i in record.images)
    candidates = text_tokens(output)
    usage: dict[str, Any] = {
        "promptTokenCount": text + image,
        "candidatesTokenCount": candidates,
        "totalTokenCount": text + image + candidates,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": text}]
        + ([{"modality": "IMAGE", "tokenCount": image}] if record.images else []),
    }
    if not output:
        del usage["candidatesTokenCount"]  # as Gemini leaves it out when nothing was written
    return {**usage, **(behaviour.usage or {})}


def _message_for(record: RecordedRequest) -> str:
    found = _NAME_LINE.search(record.prompt)
    name = found.group(1).strip() if found else ""
    if not name and "{name}" in record.system_instruction:
        name = "{name}"  # the shared scope: a placeholder the server fills in per reader
    if "English" in record.system_instruction:
        return f"{name}, this look was made for you ✨" if name else "This look was made for you ✨"
    return f"{name}님, 오늘 딱 어울리는 코디예요 ✨" if name else "오늘 딱 어울리는 코디예요 ✨"


def google_error(
    code: int, status: str, message: str, *, retry_delay: float | None = None
) -> dict[str, Any]:
    """Google's error body; `retry_delay` adds the RetryInfo detail its quota errors carry."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if retry_delay is not None:
        error["details"] = [
            {"@type": "type.googleapis.com/google.rpc.Help",
             "links": [{"description": "Learn more about Gemini API quotas",
                        "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
            {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_delay:g}s"},
        ]
    return {"error": error}
