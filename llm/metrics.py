"""Prometheus metrics of the message calls: outcomes, latency, calls in flight, tokens and cost."""

from prometheus_client import Counter, Gauge, Histogram

from llm import limits
from llm.results import Prices, Usage

MESSAGES = Counter(
    "llm_messages_total", "Outfit messages asked of Gemini, by outcome.", ["outcome"]
)
LATENCY = Histogram(
    "llm_message_latency_seconds",
    "Time to an outfit's message (queueing, image and Gemini call), by outcome.",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 6, 8, 10, 15, 30),
)
IN_FLIGHT = Gauge(
    "llm_calls_in_flight", "Gemini calls in flight in this process."
)
IN_FLIGHT.set_function(lambda: limits.in_flight_limiter().active)


def record(*, outcome: str, latency_ms: int) -> None:
    MESSAGES.labels(outcome).inc()
    LATENCY.labels(outcome).observe(latency_ms / 1000)


CACHE = Counter(
    "llm_message_cache_total", "Outfit messages looked up in the cache, by result.", ["result"]
)


def record_cache(*, hits: int, misses: int) -> None:
    if hits:
        CACHE.labels("hit").inc(hits)
    if misses:
        CACHE.labels("miss").inc(misses)


TOKENS = Counter(
    "llm_tokens_total",
    "Tokens Gemini reported for the message calls, by kind: input (all of the prompt), image (the "
    "image's share of input), cached (of input, at the cached price), output, thinking (billed as "
    "output).",
    ["kind"],
)
IMAGES = Counter(
    "llm_images_total",
    "Outfit images for the message calls, by result: made (downloaded and downscaled), reused (kept "
    "from an earlier call, or shared with one in progress), or why the call went without it.",
    ["result"],
)
IMAGE_BYTES = Counter("llm_image_bytes_sent_total", "Bytes of images sent with the message calls.")
COST = Counter(
    "llm_estimated_cost_dollars_total",
    "Estimated US dollars of the message calls, at the GEMINI_PRICE_*_PER_MTOK price table.",
)
for _kind in ("input", "image", "cached", "output", "thinking"):
    TOKENS.labels(_kind)  # every kind exported from the start, at 0


def record_usage(usage: Usage | None, *, image_bytes: int, prices: Prices) -> None:
    if image_bytes:
        IMAGE_BYTES.inc(image_bytes)
    if usage is None:
        return
    for kind in ("input", "image", "cached", "output", "thinking"):
        if tokens := getattr(usage, kind):
            TOKENS.labels(kind).inc(tokens)
    COST.inc(usage.cost(prices))
