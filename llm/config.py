"""The message service's settings, read once per call into one immutable snapshot."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from llm.facts import CoordiFacts, UserFacts
from llm.prompts import LANGUAGES
from llm.results import Prices
from llm.scopes import SCOPES, Scope


@dataclass(frozen=True, slots=True)
class Config:
    api_key: str
    base_url: str
    model: str
    thinking_budget: int
    max_output_tokens: int
    media_resolution: str
    timeout: float
    image_timeout: float
    image_max_bytes: int
    image_max_side: int
    image_max_pixels: int
    image_decode_timeout: float
    image_allowed_hosts: tuple[str, ...]
    max_concurrency: int
    max_in_flight: int
    language: str
    scope: Scope
    rate_limit: str
    cache_seconds: int
    failure_seconds: int
    prices: Prices

    @classmethod
    def from_settings(cls) -> Config:
        return cls(
            api_key=(settings.GOOGLE_API_KEY or "").strip(),
            base_url=settings.GEMINI_BASE_URL or "",
            model=settings.GEMINI_MODEL,
            thinking_budget=settings.GEMINI_THINKING_BUDGET,
            max_output_tokens=settings.GEMINI_MAX_OUTPUT_TOKENS,
            media_resolution=settings.GEMINI_MEDIA_RESOLUTION,
            timeout=float(settings.LLM_TIMEOUT_SECONDS),
            image_timeout=float(settings.LLM_IMAGE_TIMEOUT_SECONDS),
            image_max_bytes=settings.LLM_IMAGE_MAX_BYTES,
            image_max_side=settings.LLM_IMAGE_MAX_SIDE,
            image_max_pixels=settings.LLM_IMAGE_MAX_PIXELS,
            image_decode_timeout=float(settings.LLM_IMAGE_DECODE_TIMEOUT_SECONDS),
            image_allowed_hosts=tuple(settings.LLM_IMAGE_ALLOWED_HOSTS),
            max_concurrency=max(1, settings.LLM_MAX_CONCURRENCY),
            max_in_flight=max(1, settings.LLM_MAX_IN_FLIGHT),
            # An unknown language falls back to Korean, as the prompt does.
            language=settings.LLM_MESSAGE_LANGUAGE if settings.LLM_MESSAGE_LANGUAGE in LANGUAGES else "ko",
            # The settings refuse any other name at start-up; a test's override is checked here.
            scope=SCOPES[settings.LLM_MESSAGE_SCOPE],
            rate_limit=settings.LLM_RATE_LIMIT,
            cache_seconds=settings.LLM_CACHE_TTL_SECONDS,
            failure_seconds=settings.LLM_FAILURE_TTL_SECONDS,
            prices=prices(),
        )

    @property
    def settle_seconds(self) -> float:
        """How long after a page starts its messages are settled at the latest: the slot waits, the
        image download and its downscaling, then the Gemini call's own timeout (llm.page.Page)."""
        return self.timeout + self.image_timeout + self.image_decode_timeout + self.timeout

    def key(self, coordi: CoordiFacts, user: UserFacts) -> str:
        """The cache key of this outfit's message for this reader, in the configured scope."""
        return self.scope.key(coordi, user, model=self.model, language=self.language)


def prices() -> Prices:
    """The price table of the settings (GEMINI_PRICE_*_PER_MTOK), for cost estimates."""
    return Prices(
        input=settings.GEMINI_PRICE_INPUT_PER_MTOK,
        output=settings.GEMINI_PRICE_OUTPUT_PER_MTOK,
        cached=settings.GEMINI_PRICE_CACHED_PER_MTOK,
    )
